"""Axis-aligned boxes (intervals, rectangles, space × time boxes) and their faces."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from ..errors import ProblemError
from .base import Geometry, Piece
from .sampling import TIME, unit_sample


class Box(Geometry):
    """An axis-aligned box with named coordinates: ``Box(x=(-1, 1), t=(0, 1))``.

    The coordinate named ``t`` is time (initial conditions act at its lower end); an
    ODE domain is ``Box(t=(0, T))``. Its boundary parts are the faces of the space coordinates,
    ``x_lo``, ``x_hi``, ``y_lo``, ... (``rename`` gives them other names).
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
        super().__init__(tuple(ranges), [float(v[0]) for v in ranges.values()], [float(v[1]) for v in ranges.values()])

    def contains(self, pts: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        scale = tol * (self._hi - self._lo)
        return np.all((pts >= self._lo - scale) & (pts <= self._hi + scale), axis=1)

    def sample(self, n: int, method: str, rng: np.random.Generator) -> np.ndarray:
        """``n`` points inside the box, shape (n, dim)."""
        return self._lo + (self._hi - self._lo) * unit_sample(n, self.dim, method, rng)

    def has_faces(self, name: str) -> bool:
        return name in self._names

    def sample_face(self, name: str, side: str, n: int, method: str, rng: np.random.Generator) -> np.ndarray:
        """``n`` points on the face ``name = lo`` (side "lo") or ``name = hi`` (side "hi")."""
        i = self.index(name)
        u = unit_sample(n, max(self.dim - 1, 1), method, rng) if self.dim > 1 else np.zeros((n, 0))
        pts = np.empty((n, self.dim))
        others = [j for j in range(self.dim) if j != i]
        pts[:, others] = self._lo[others] + (self._hi[others] - self._lo[others]) * u[:, : len(others)]
        pts[:, i] = self._lo[i] if side == "lo" else self._hi[i]
        return pts

    def _pieces(self) -> list[Piece]:
        return [Face(self, i, side) for i, n in enumerate(self._names) if n != TIME for side in ("lo", "hi")]

    def grid(self, sizes: int | Mapping[str, int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """A tensor-product grid: the 1-D axes per coordinate and the flattened points (N, dim),
        ordered with the first coordinate varying slowest (``indexing="ij"``)."""
        if isinstance(sizes, int):
            sizes = {k: sizes for k in self._names}
        axes = {k: np.linspace(lo, hi, int(sizes[k])) for k, (lo, hi) in self.ranges.items()}
        mesh = np.meshgrid(*axes.values(), indexing="ij")
        return axes, np.stack([m.ravel() for m in mesh], axis=1)

    def area(self) -> float:
        return float(np.prod(self._hi - self._lo))

    @property
    def fill_fraction(self) -> float:
        return 1.0

    def to_shapely(self, resolution: int = 256):
        import shapely
        if self.dim != 2:
            return super().to_shapely(resolution)
        return shapely.box(*self._lo, *self._hi)

    def __repr__(self) -> str:
        return "Box(" + ", ".join(f"{k}=({lo:g}, {hi:g})" for k, (lo, hi) in self.ranges.items()) + ")"


class Face(Piece):
    """The face ``coordinate i = lo`` (or ``hi``) of a box, over the other coordinates (time included)."""

    def __init__(self, box: Box, i: int, side: str):
        self.box, self.axis, self.side = box, i, side
        self.dim = box.dim
        self.name = f"{box.names[i]}_{side}"
        others = [j for j in range(box.dim) if j != i and box.names[j] != TIME]
        self.measure = float(np.prod((box._hi - box._lo)[others])) if others else 1.0
        self.value = float(box._lo[i] if side == "lo" else box._hi[i])

    def sample(self, n, method, rng):
        return self.box.sample_face(self.box.names[self.axis], self.side, n, method, rng)

    def dense(self, n):
        if self.dim != 2:
            return super().dense(n)
        j = 1 - self.axis
        pts = np.empty((max(n, 2), 2))
        pts[:, j] = np.linspace(self.box._lo[j], self.box._hi[j], max(n, 2))
        pts[:, self.axis] = self.value
        return pts

    def corners(self):
        if self.dim != 2:
            return super().corners()
        d = self.dense(2)
        return d

    def distance_t(self, x):
        lo = torch.as_tensor(self.box._lo, dtype=x.dtype, device=x.device)
        hi = torch.as_tensor(self.box._hi, dtype=x.dtype, device=x.device)
        excess = torch.clamp(lo - x, min=0) + torch.clamp(x - hi, min=0)
        excess[:, self.axis] = (x[:, self.axis] - self.value).abs()
        return torch.sqrt((excess * excess).sum(dim=1))

    def normal_t(self, x):
        n = torch.zeros_like(x)
        n[:, self.axis] = -self.sign if self.side == "lo" else self.sign
        return n

    def adf(self, cols):
        if self.dim == 2:  # a segment: the trimmed distance keeps zero off the face's ends
            from .distance import segment_adf
            a, b = self.dense(2)
            return segment_adf(cols, a, b)
        d = cols[self.axis] - self.value
        return d if self.side == "lo" else -d


def Interval(lo: float, hi: float, name: str = "x") -> Box:
    """A 1-D domain; ``Interval(0, 10, name="t")`` is the time axis of an ODE."""
    return Box(**{name: (lo, hi)})
