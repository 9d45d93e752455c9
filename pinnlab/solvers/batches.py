"""Mini-batches of residual points, regenerated on demand: the set is never held whole.

A run with ``--batch-size B`` and ``--points N`` has ``ceil(N / B)`` blocks of B points (N rounded up
to whole blocks, so every batch has the same shape). Block j is drawn from its own seeded stream
``(seed, BLOCK_STREAM, j)``, and the blocks' order in epoch e is a permutation drawn from
``(seed, ORDER_STREAM, e)``. Adam step s (0-based) trains on block ``order(s // blocks)[s % blocks]``:
the batch depends on the seed and the step alone, so memory is one block, and a resumed run (on any
number of processes) draws the very same batches.

- a **step** is one Adam update on one batch: B residual points and every condition point;
- an **epoch** is ``blocks`` steps: each residual point once, in a fresh order;
- L-BFGS needs the full-batch loss at every line-search point: :class:`StreamedStep` computes it a
  block at a time (gradients summed), so each of its loss evaluations costs an epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch

from ..config import SolveConfig
from ..errors import ConfigError
from ..geometry.base import Geometry
from .base import Points, SolverTask, StepMode, Terms

BLOCK_STREAM, ORDER_STREAM = 6007, 6011  # streams of their own: the run's other draws stay as they are


class BatchStream:
    """The residual points of a mini-batched run, one block at a time (see the module's docstring)."""

    def __init__(self, domain: Geometry, points: int, size: int, sampler: str, seed: int):
        self.domain, self.size, self.sampler, self.seed = domain, size, sampler, seed
        self.blocks = -(-points // size)
        self._order: tuple[int, np.ndarray] | None = None

    @property
    def n(self) -> int:
        """Residual points in the whole set (``points`` rounded up to whole blocks)."""
        return self.blocks * self.size

    def order(self, epoch: int) -> np.ndarray:
        """The blocks in the order epoch ``epoch`` trains on them."""
        if self._order is None or self._order[0] != epoch:
            perm = np.random.default_rng([self.seed, ORDER_STREAM, epoch]).permutation(self.blocks)
            self._order = (epoch, perm)
        return self._order[1]

    def block(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Block ``j``'s points and their rows in the whole set."""
        rng = np.random.default_rng([self.seed, BLOCK_STREAM, j])
        return self.domain.sample(self.size, self.sampler, rng), j * self.size + np.arange(self.size)

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The points (and rows) of Adam step ``step`` (0-based)."""
        epoch, k = divmod(step, self.blocks)
        return self.block(int(self.order(epoch)[k]))


class StreamedStep(StepMode):
    """The full-batch loss and gradient of a batched run, one block of residual points at a time, the
    gradients summed by autograd (L-BFGS's step mode): memory stays one block, time is one epoch.
    ``share(block)`` is a block's share of the residual term as a mean over that block; ``others()``
    the condition and other terms."""

    name = "streamed"

    def __init__(self, task: SolverTask, blocks: Callable[[], Iterable[Points]], share: Callable[[Points], Terms],
                 others: Callable[[], Terms]):
        self.task, self.blocks, self.share, self.others = task, blocks, share, others

    def loss_and_grads(self, check: Callable[[Terms], torch.Tensor]) -> Terms:
        for p in self.task.parameters():
            p.grad = None
        shares = []
        for block in self.blocks():
            part = self.share(block)["residual"]
            part.backward()
            shares.append(part.detach())
        residual = sum(shares) / len(shares)  # every block the same size: the mean of the block means
        for p in self.task.parameters():
            if p.grad is not None:
                p.grad /= len(shares)
        rest = self.others()
        if rest:
            sum(rest.values()).backward()
        terms = {"residual": residual, **{k: v.detach() for k, v in rest.items()}}
        check(terms)  # after the backward passes: the trainer discards the gradient of a non-finite loss
        return terms


def check_batching(config: SolveConfig) -> None:
    """One line for option combinations a mini-batched run cannot honour."""
    if not config.batch_size:
        return
    if config.resample_every:
        raise ConfigError(f"batch-size {config.batch_size} with resample-every {config.resample_every}: a batched run "
                          f"already draws each batch from its own seeded stream (leave out --resample-every)")
