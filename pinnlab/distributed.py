"""Data-parallel training with torch.distributed, launched by ``torchrun`` (gloo on CPU, nccl on CUDA).

Every rank builds the same run (same seed: same network, same global point sets) and keeps a shard of
each point set: rows ``rank::size``. Each set's loss term is weighted so that the mean of the ranks'
losses is the one-process loss over the global set (:func:`shares`), and the gradient is averaged
over ranks once per step in the trainer's grad hook, so every rank takes the same step. The loss
itself, the interrupt flag and the evaluation figures are averaged too (:meth:`World.agree`): every
divergence, early-stop, best-state and stop decision is taken alike on every rank. Rank 0 alone
creates, locks and writes the run directory; a checkpoint holds no per-rank state, so a run resumes
on any number of ranks.

A rank that dies or stops answering makes the collective on the others fail (at once when its
process is gone, after ``PINNLAB_DIST_TIMEOUT`` seconds, default 120, when it hangs): the run fails
as :class:`RankLost`, which the runner reports as a failed run (exit 1).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from .errors import PinnlabError

T = TypeVar("T")


class RankLost(PinnlabError):
    """A collective failed: another rank died, hung past the timeout or left early."""


def timeout_s() -> float:
    return float(os.environ.get("PINNLAB_DIST_TIMEOUT", "120"))


def launched() -> bool:
    """Whether this process is one of several started by torchrun (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass(frozen=True)
class World:
    """This process's place among the run's processes (rank 0 of 1 when not distributed)."""

    rank: int = 0
    size: int = 1
    device: str = "cpu"

    @property
    def parallel(self) -> bool:
        return self.size > 1

    @property
    def writes(self) -> bool:
        """Whether this rank writes the run directory (rank 0 alone)."""
        return self.rank == 0

    # -- collectives ----------------------------------------------------------------------------
    def average_grads(self, params: Sequence[torch.nn.Parameter]) -> None:
        """The trainer's grad hook: every parameter's gradient replaced by its mean over ranks (one
        all-reduce of one flat buffer per step)."""
        if not self.parallel:
            return
        grads = [p.grad for p in params if p.grad is not None]
        flat = torch.cat([g.reshape(-1) for g in grads])
        _collective(dist.all_reduce, flat)
        flat /= self.size
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def agree(self, values: dict[str, float]) -> dict[str, float]:
        """``values`` averaged over ranks (float64): the inputs of every decision the ranks must take alike."""
        if not self.parallel:
            return values
        t = torch.tensor(list(values.values()), dtype=torch.float64, device=self.device)
        _collective(dist.all_reduce, t)
        return dict(zip(values, (t / self.size).tolist()))

    def from_rank0(self, make: Callable[[], T]) -> T:
        """``make()`` on rank 0, its value (or the PinnlabError it raised) given to every rank."""
        if not self.parallel:
            return make()
        box: list[Any] = [None]
        if self.rank == 0:
            try:
                box[0] = (True, make())
            except PinnlabError as e:
                box[0] = (False, e)
        _collective(dist.broadcast_object_list, box, src=0)
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def on_rank0(self, cm: AbstractContextManager) -> AbstractContextManager:
        """``cm`` on rank 0 (the run directory's lock), nothing elsewhere."""
        return cm if self.writes else nullcontext()

    # -- sharding ---------------------------------------------------------------------------
    def shard(self, n: int) -> slice:
        """The rows of a set of ``n`` points this rank trains on."""
        return slice(self.rank, n, self.size)

    def share(self, n: int) -> float:
        """The weight of this rank's mean over its shard of ``n`` points: the mean over ranks of the
        weighted shard means is the mean over all ``n`` (shards differ by one point where ``size`` does
        not divide ``n``)."""
        return len(range(self.rank, n, self.size)) * self.size / n if n else 1.0


def _collective(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except RuntimeError as e:  # gloo/nccl: a peer closed its connection or did not answer in time
        why = " ".join(str(e).split())[:200]
        raise RankLost(f"another rank of this distributed run died or stopped answering (rank {dist.get_rank()} of "
                       f"{dist.get_world_size()}: {why})") from None


_WORLD = World()


def world() -> World:
    """This process's :class:`World` (set by :func:`join`)."""
    return _WORLD


def join(device: str = "cpu") -> World:
    """Join the process group torchrun describes in the environment (``RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR``, ``MASTER_PORT``, ``LOCAL_RANK``), once; a single process stays rank 0 of 1.
    ``device`` cuda: nccl, rank mapped to the local GPU ``LOCAL_RANK``; cpu: gloo."""
    global _WORLD
    if not launched() or _WORLD.parallel:
        return _WORLD
    if not dist.is_available():
        raise PinnlabError("this torch build has no torch.distributed: run with one process")
    backend = "gloo"
    if device == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise PinnlabError(f"local rank {local} has no GPU: this machine has {torch.cuda.device_count()} "
                               f"(start at most that many processes per node with --device cuda)")
        torch.cuda.set_device(local)
        backend = "nccl"
    if not dist.is_initialized():
        try:
            dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s()))
        except (RuntimeError, ValueError) as e:
            raise RankLost(f"could not join the distributed run ({' '.join(str(e).split())[:200]})") from None
        atexit.register(_leave)
    _WORLD = World(dist.get_rank(), dist.get_world_size(), "cuda" if device == "cuda" else "cpu")
    return _WORLD


def _leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
