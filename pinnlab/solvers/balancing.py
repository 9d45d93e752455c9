"""Loss balancing by gradient norms (``--balance gradnorm``): learning-rate annealing of Wang, Teng &
Perdikaris, "Understanding and mitigating gradient flow pathologies in physics-informed neural
networks" (SIAM J. Sci. Comput. 2021), in jaxpi's form (Wang et al., "An expert's guide to training
physics-informed neural networks", 2023).

Every ``--balance-every`` Adam steps each balanced term i (the residual and each condition) gets

    λ̂_i = Σ_j ‖∇L_j‖ / ‖∇L_i‖,    λ_i ← α λ_i + (1 − α) λ̂_i   (α = 0.9, λ = 1 at the start),

from each term's own gradient over all trainable parameters, so that terms of small gradient are not
drowned by one of large gradient. The weights λ live in the run's model as a buffer (checkpointed,
moved with its dtype); they multiply the ``--weight`` values, and are held fixed after Adam.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError

MODES = ("none", "gradnorm")
MOMENTUM = 0.9  # α: jaxpi's default


def gradnorm_weights(norms: torch.Tensor) -> torch.Tensor:
    """λ̂_i = Σ_j n_j / n_i; a term of zero gradient (nothing to balance) gets 1."""
    total = norms.sum()
    ok = norms > 0
    return torch.where(ok, total / torch.where(ok, norms, torch.ones_like(norms)), torch.ones_like(norms))


def moving_average(old: torch.Tensor, new: torch.Tensor, momentum: float = MOMENTUM) -> torch.Tensor:
    return momentum * old + (1 - momentum) * new


def grad_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """The Euclidean norm of one term's gradient over all parameters, in float64."""
    return torch.sqrt(sum((g.double() ** 2).sum() for g in grads))


def check_balance(mode: str, problem_name: str, n_terms: int) -> None:
    if mode == "gradnorm" and n_terms < 2:
        raise ConfigError(f"balance 'gradnorm' weighs loss terms against each other; problem {problem_name!r} "
                          f"has {n_terms} term (use --balance none)")
