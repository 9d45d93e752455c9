"""Domains (intervals, boxes, space × time) and seeded point sampling on them."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .errors import ProblemError, one_of

SAMPLERS = ("sobol", "lhs", "uniform")
TIME = "t"  # the coordinate that initial conditions refer to


class Box:
    """An axis-aligned box with named coordinates: ``Box(x=(-1, 1), t=(0, 1))``.

    The coordinate named ``t`` is time (initial conditions act at its lower end); an
    ODE domain is ``Box(t=(0, T))``.
    """

    def __init__(self, **ranges: tuple[float, float]):
        if not ranges:
            raise ProblemError("a Box needs at least one coordinate, e.g. Box(x=(0, 1))")
        for name, r in ranges.items():
            if not name.isidentifier():
                raise ProblemError(f"coordinate name {name!r} is not a Python identifier")
            try:
                lo, hi = (float(v) for v in r)
            except (TypeError, ValueError):
                raise ProblemError(f"coordinate {name!r}: range {r!r} is not a pair of numbers") from None
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ProblemError(f"coordinate {name!r}: range {r!r} must be finite with lo < hi")
        self.ranges = {k: (float(v[0]), float(v[1])) for k, v in ranges.items()}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.ranges)

    @property
    def dim(self) -> int:
        return len(self.ranges)

    @property
    def lo(self) -> np.ndarray:
        return np.array([r[0] for r in self.ranges.values()])

    @property
    def hi(self) -> np.ndarray:
        return np.array([r[1] for r in self.ranges.values()])

    @property
    def is_time_dependent(self) -> bool:
        return TIME in self.ranges

    @property
    def space_names(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n != TIME)

    def index(self, name: str) -> int:
        if name not in self.ranges:
            raise ProblemError(one_of("coordinate", name, self.names))
        return self.names.index(name)

    def contains(self, pts: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        scale = tol * (self.hi - self.lo)
        return np.all((pts >= self.lo - scale) & (pts <= self.hi + scale), axis=1)

    def sample(self, n: int, method: str, rng: np.random.Generator) -> np.ndarray:
        """``n`` points inside the box, shape (n, dim)."""
        return self.lo + (self.hi - self.lo) * unit_sample(n, self.dim, method, rng)

    def sample_face(self, name: str, side: str, n: int, method: str, rng: np.random.Generator) -> np.ndarray:
        """``n`` points on the face ``name = lo`` (side "lo") or ``name = hi`` (side "hi")."""
        i = self.index(name)
        u = unit_sample(n, max(self.dim - 1, 1), method, rng) if self.dim > 1 else np.zeros((n, 0))
        pts = np.empty((n, self.dim))
        others = [j for j in range(self.dim) if j != i]
        pts[:, others] = self.lo[others] + (self.hi[others] - self.lo[others]) * u[:, : len(others)]
        pts[:, i] = self.lo[i] if side == "lo" else self.hi[i]
        return pts

    def grid(self, sizes: int | Mapping[str, int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """A tensor-product grid: the 1-D axes per coordinate and the flattened points (N, dim),
        ordered with the first coordinate varying slowest (``indexing="ij"``)."""
        if isinstance(sizes, int):
            sizes = {k: sizes for k in self.names}
        axes = {k: np.linspace(lo, hi, int(sizes[k])) for k, (lo, hi) in self.ranges.items()}
        mesh = np.meshgrid(*axes.values(), indexing="ij")
        return axes, np.stack([m.ravel() for m in mesh], axis=1)

    def __repr__(self) -> str:
        return "Box(" + ", ".join(f"{k}=({lo:g}, {hi:g})" for k, (lo, hi) in self.ranges.items()) + ")"


def Interval(lo: float, hi: float, name: str = "x") -> Box:
    """A 1-D domain; ``Interval(0, 10, name="t")`` is the time axis of an ODE."""
    return Box(**{name: (lo, hi)})


def SpaceTime(space: Box, t: tuple[float, float]) -> Box:
    """The product of a spatial box and a time interval; time is the last coordinate."""
    if TIME in space.ranges:
        raise ProblemError("the spatial box already has a coordinate named 't'")
    return Box(**space.ranges, t=t)


def unit_sample(n: int, d: int, method: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` points in [0, 1]^d by a seeded sampler (Sobol is scrambled and need not be a power of 2)."""
    if method not in SAMPLERS:
        raise ProblemError(one_of("sampler", method, SAMPLERS))
    if n <= 0:
        return np.zeros((0, d))
    if method == "uniform":
        return rng.random((n, d))
    from scipy.stats import qmc  # imported on first use: scipy.stats adds seconds to every CLI start
    if method == "lhs":
        return qmc.LatinHypercube(d=d, rng=rng).random(n)
    m = math.ceil(math.log2(max(n, 2)))
    return qmc.Sobol(d=d, scramble=True, rng=rng).random_base2(m)[:n]
