"""A PINN run's points: the residual set, one set per condition, the held-out set, and their seeded stream.

Every training set is a :class:`~.base.Points` batch whose ids are its rows (0..n-1): a resample
draws new points into the same rows, so a per-point table stays aligned with its set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..config import SolveConfig
from ..problem import Problem
from .base import Points

HELDOUT_STREAM = 7919  # the held-out points' own stream: resampling the training points never moves them


class Collocation:
    """The seeded training and held-out points of one run, on its device and in its dtype."""

    def __init__(self, problem: Problem, config: SolveConfig, active: list[int], dtype: torch.dtype):
        self.problem, self.config, self.dtype = problem, config, dtype
        self.device = torch.device(config.device)
        self.rng = np.random.default_rng(config.seed)
        dom = problem.domain
        self.residual = self._points(dom.sample(config.points, config.sampler, self.rng))
        self.conditions = [self._points(problem.conditions[i].sample(dom, config.boundary_points, config.sampler,
                                                                      self.rng)) for i in active]
        held_rng = np.random.default_rng([config.seed, HELDOUT_STREAM])
        self.heldout = self._tensor(dom.sample(problem.heldout_points, "uniform", held_rng))

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def _points(self, a: np.ndarray) -> Points:
        return Points(self._tensor(a), torch.arange(len(a), device=self.device))

    @property
    def training(self) -> list[Points]:
        """The residual set, then the conditions' sets, in loss-term order."""
        return [self.residual, *self.conditions]

    def resample(self) -> None:
        """New residual points, into the same rows."""
        x = self.problem.domain.sample(self.config.points, self.config.sampler, self.rng)
        self.residual = Points(self._tensor(x), self.residual.ids)

    def place(self, x: np.ndarray) -> None:
        """Residual points chosen elsewhere (e.g. by residual density), into the same rows."""
        self.residual = Points(self._tensor(x), self.residual.ids)

    def to_dtype(self, dtype: torch.dtype) -> None:
        self.dtype = dtype
        self.residual, self.heldout = self.residual.to(dtype), self.heldout.to(dtype)
        self.conditions = [c.to(dtype) for c in self.conditions]

    def state(self) -> dict[str, Any]:
        # scipy's QMC samplers spawn child generators: the spawn count is part of the stream's state
        return {"rng": self.rng.bit_generator.state, "rng_spawned": self.rng.bit_generator.seed_seq.n_children_spawned,
                "x_res": self.residual.x.cpu()}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.rng = _restore_rng(self.rng, state["rng"], state.get("rng_spawned"))
        self.residual = Points(state["x_res"].to(device=self.device, dtype=self.dtype), self.residual.ids)


def _restore_rng(rng: np.random.Generator, state: dict, spawned: int | None) -> np.random.Generator:
    """A generator at ``state`` whose seed sequence has spawned ``spawned`` children (as the saved one had)."""
    if spawned is not None:
        ss = rng.bit_generator.seed_seq
        seq = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key, pool_size=ss.pool_size,
                                     n_children_spawned=spawned)
        rng = np.random.Generator(type(rng.bit_generator)(seq))
    rng.bit_generator.state = state
    return rng
