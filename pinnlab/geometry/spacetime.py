"""Space × time: any spatial geometry times a time interval (time is the last coordinate)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import ProblemError
from .base import Geometry, Piece
from .box import Box
from .sampling import TIME, unit_sample


def SpaceTime(space: Geometry, t: tuple[float, float]) -> Geometry:
    """The product of a spatial geometry and a time interval; a box stays a :class:`Box`."""
    if not isinstance(space, Geometry):
        raise ProblemError(f"SpaceTime needs a geometry, got {type(space).__name__}")
    if TIME in space.names:
        raise ProblemError("the spatial geometry already has a coordinate named 't'")
    if isinstance(space, Box):
        return Box(**space.ranges, t=t)
    return SpaceTimeGeometry(space, t)


class SpaceTimeGeometry(Geometry):
    """``space`` × [t0, t1]: its boundary parts are the spatial ones over all times; ``on="t"`` with
    side "lo" (an initial condition) is the spatial domain at t0."""

    def __init__(self, space: Geometry, t: tuple[float, float]):
        try:
            t0, t1 = (float(v) for v in t)
        except (TypeError, ValueError):
            raise ProblemError(f"time range {t!r} is not a pair of numbers") from None
        if not (math.isfinite(t0) and math.isfinite(t1) and t0 < t1):
            raise ProblemError(f"time range {t!r} must be finite with t0 < t1")
        self.space, self.t = space, (t0, t1)
        super().__init__((*space.names, TIME), [*space._lo, t0], [*space._hi, t1])

    def contains(self, pts, tol=1e-9):
        t = pts[:, -1]
        slack = tol * (self.t[1] - self.t[0])
        return self.space.contains(pts[:, :-1], tol) & (t >= self.t[0] - slack) & (t <= self.t[1] + slack)

    def times(self, n, method, rng):
        """``n`` times in the interval, sampled as the space points are (paired with them at random)."""
        u = unit_sample(n, 1, method, rng)[:, 0]
        return self.t[0] + (self.t[1] - self.t[0]) * rng.permutation(u)  # paired at random with the space points

    def sample(self, n, method, rng):
        return np.column_stack([self.space.sample(n, method, rng), self.times(n, method, rng)])

    def has_faces(self, name):
        return name == TIME

    def sample_face(self, name, side, n, method, rng):
        if name != TIME:
            return super().sample_face(name, side, n, method, rng)
        pts = self.space.sample(n, method, rng)
        return np.column_stack([pts, np.full(len(pts), self.t[0] if side == "lo" else self.t[1])])

    def _pieces(self):
        return [Lateral(p, self) for p in self.space.pieces()]

    @property
    def fill_fraction(self):
        return self.space.fill_fraction

    def area(self):
        return self.space.area() * (self.t[1] - self.t[0])

    def __repr__(self):
        return f"SpaceTime({self.space!r}, t=({self.t[0]:g}, {self.t[1]:g}))"


class Lateral(Piece):
    """A spatial piece over all times."""

    def __init__(self, base: Piece, st: SpaceTimeGeometry):
        self.base, self.st, self.dim, self.name = base, st, st.dim, base.name
        self.measure = base.measure * (st.t[1] - st.t[0])

    def sample(self, n, method, rng):
        return np.column_stack([self.base.sample(n, method, rng), self.st.times(n, method, rng)])

    def distance_t(self, x):
        return self.base.distance_t(x[:, :-1])

    def normal_t(self, x):
        return torch.cat([self.base.normal_t(x[:, :-1]), torch.zeros_like(x[:, -1:])], dim=1)

    def adf(self, cols):
        return self.base.adf(cols[:-1])

    def carrier(self):
        c = self.base.carrier()
        return self if c is self.base else Lateral(c, self.st)

    @property
    def axis(self):
        return getattr(self.base, "axis", None)
