"""Adam's learning-rate schedule: a linear warm-up, then exponential decay (``--warmup``, ``--lr-decay``).

As in jaxpi's recipes (Wang et al., "An expert's guide to training physics-informed neural networks",
2023): the rate rises from 0 over the first ``warmup`` steps, which keeps the first large gradients
of a random network from throwing it far, then falls by ``decay`` every :data:`DECAY_EVERY` steps
(continuously), so Adam settles before the quasi-Newton stage takes over.
"""

from __future__ import annotations

DECAY_EVERY = 1000


def lr_factor(step: int, warmup: int = 0, decay: float = 1.0, decay_every: int = DECAY_EVERY) -> float:
    """The multiple of the base rate at Adam step ``step`` (0 for the first step)."""
    if step < warmup:
        return (step + 1) / warmup
    return decay ** ((step - warmup) / decay_every)


def scheduled(warmup: int, decay: float) -> bool:
    return bool(warmup) or decay != 1.0
