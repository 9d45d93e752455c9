"""A PINN run's points: the residual set, one set per condition, the held-out set, and their seeded stream.

Every training set is a :class:`~.base.Points` batch whose ids are its rows (0..n-1): a resample
draws new points into the same rows, so a per-point table stays aligned with its set. With
``batch_size`` the residual set is a :class:`~.batches.BatchStream` and ``residual`` the current
step's batch. In a distributed run every rank draws the same global sets and keeps its shard of each
(:meth:`~pinnlab.distributed.World.shard`; ids stay the global rows), so nothing drawn depends on the
number of ranks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from ..config import SolveConfig
from ..distributed import world
from ..problem import Problem
from .base import Points
from .batches import BatchStream

HELDOUT_STREAM = 7919  # the held-out points' own stream: resampling the training points never moves them


class Collocation:
    """The seeded training and held-out points of one run, on its device and in its dtype."""

    def __init__(self, problem: Problem, config: SolveConfig, active: list[int], dtype: torch.dtype):
        self.problem, self.config, self.dtype = problem, config, dtype
        self.device = torch.device(config.device)
        self.world = world()
        self.rng = np.random.default_rng(config.seed)
        dom = problem.domain
        self.stream = (BatchStream(dom, config.points, config.batch_size, config.sampler, config.seed)
                       if config.batch_size else None)
        self.batch_step = 0          # the Adam step whose batch ``residual`` is (batched runs)
        self.before_resample = None  # the stream's state before the latest resample: a resume draws it again
        self.placed: tuple[np.ndarray, torch.dtype] | None = None  # points chosen by place(), and their dtype then
        if self.stream is None:
            self.residual = self._points(dom.sample(config.points, config.sampler, self.rng))
        else:
            self.residual = self._points(*self.stream.batch(0))
        cond_x = [problem.conditions[i].sample(dom, config.boundary_points, config.sampler, self.rng) for i in active]
        self.conditions = [self._points(x) for x in cond_x]
        # each set's loss weight on this rank (1 in one process): see pinnlab.distributed
        res_n = config.batch_size or config.points
        self.shares = [self.world.share(n) for n in (res_n, *(len(x) for x in cond_x))]
        held_rng = np.random.default_rng([config.seed, HELDOUT_STREAM])
        self.heldout = self._tensor(dom.sample(problem.heldout_points, "uniform", held_rng))

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def _points(self, a: np.ndarray, ids: np.ndarray | None = None, dtype: torch.dtype | None = None) -> Points:
        """This rank's shard of the set ``a`` (all of it in one process), with its rows in the set."""
        rows = self.world.shard(len(a))
        ids = np.arange(len(a)) if ids is None else ids
        x = torch.as_tensor(a[rows], dtype=dtype or self.dtype, device=self.device).to(self.dtype)
        return Points(x, torch.as_tensor(ids[rows], dtype=torch.int64, device=self.device))

    def select(self, step: int) -> None:
        """The batch of Adam step ``step`` (0-based) as ``residual``, in a batched run."""
        if self.stream is not None and step != self.batch_step:
            self.batch_step = step
            self.residual = self._points(*self.stream.batch(step), dtype=self.config.torch_dtype)

    def residual_sets(self) -> Iterator[Points]:
        """The training residual points a set at a time: the whole set, or each block of a batched run."""
        if self.stream is None:
            yield self.residual
            return
        for j in range(self.stream.blocks):
            yield self._points(*self.stream.block(j), dtype=self.config.torch_dtype)

    @property
    def training(self) -> list[Points]:
        """The residual set, then the conditions' sets, in loss-term order."""
        return [self.residual, *self.conditions]

    def resample(self) -> None:
        """New residual points, into the same rows."""
        self.before_resample = (self.rng.bit_generator.state, self.rng.bit_generator.seed_seq.n_children_spawned)
        self.placed = None
        self.residual = self._points(self.problem.domain.sample(self.config.points, self.config.sampler, self.rng))

    def place(self, x: np.ndarray) -> None:
        """Residual points chosen elsewhere (e.g. by residual density), into the same rows. They depend on
        the network at the time, so a checkpoint holds them (a resume cannot draw them again)."""
        self.placed = (np.asarray(x), self.dtype)
        self.before_resample = None
        self.residual = self._points(self.placed[0])

    def to_dtype(self, dtype: torch.dtype) -> None:
        self.dtype = dtype
        self.residual, self.heldout = self.residual.to(dtype), self.heldout.to(dtype)
        self.conditions = [c.to(dtype) for c in self.conditions]

    def state(self) -> dict[str, Any]:
        # scipy's QMC samplers spawn child generators: the spawn count is part of the stream's state
        # no points: they are drawn again on resume, so that any number of ranks can resume the run
        return {"rng": self.rng.bit_generator.state, "rng_spawned": self.rng.bit_generator.seed_seq.n_children_spawned,
                "before_resample": self.before_resample, "batch_step": self.batch_step,
                **({"x_placed": torch.from_numpy(self.placed[0]), "placed_dtype": str(self.placed[1]).removeprefix("torch.")}
                   if self.placed is not None else {})}

    def load_state(self, state: Mapping[str, Any]) -> None:
        if "before_resample" not in state:  # a checkpoint from before: it holds the residual points themselves
            self.rng = _restore_rng(self.rng, state["rng"], state.get("rng_spawned"))
            self.residual = Points(state["x_res"].to(device=self.device, dtype=self.dtype), self.residual.ids)
            return
        if state["before_resample"] is not None:
            self.rng = _restore_rng(self.rng, *state["before_resample"])
            self.before_resample = state["before_resample"]
            # drawn in the dtype it was drawn in (Adam's), then cast: the same values as before the checkpoint
            x = self.problem.domain.sample(self.config.points, self.config.sampler, self.rng)
            self.residual = self._points(x, dtype=self.config.torch_dtype)
        if state.get("x_placed") is not None:
            dtype = getattr(torch, state["placed_dtype"])
            self.placed = (state["x_placed"].numpy(), dtype)
            self.residual = self._points(self.placed[0], dtype=dtype)
        self.rng = _restore_rng(self.rng, state["rng"], state.get("rng_spawned"))
        self.select(int(state.get("batch_step", 0)))


def _restore_rng(rng: np.random.Generator, state: dict, spawned: int | None) -> np.random.Generator:
    """A generator at ``state`` whose seed sequence has spawned ``spawned`` children (as the saved one had)."""
    if spawned is not None:
        ss = rng.bit_generator.seed_seq
        seq = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key, pool_size=ss.pool_size,
                                     n_children_spawned=spawned)
        rng = np.random.Generator(type(rng.bit_generator)(seq))
    rng.bit_generator.state = state
    return rng
