"""Set operations of geometries: union, difference, intersection.

Containment is the boolean combination of the operands'; the boundary is made of the operands'
pieces clipped to where they bound the result, so sampling stays uniform in arc length and normals
stay the true ones (a hole's normal points into the hole). In 2-D, shapely gives the result's
polygon for its area (an empty result is an error) and its outline.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import ProblemError
from .base import Geometry, Piece
from .sampling import rejection

EDGE = 1e-9       # relative margin: a point this close to the other operand's boundary counts as on it
MEASURE_POINTS = 16384  # points per piece to measure the clipped share of it


class Clipped(Piece):
    """The share of another piece where ``keep`` holds; ``sign`` -1 turns its normal (a subtracted operand)."""

    def __init__(self, base: Piece, keep: Callable[[np.ndarray], np.ndarray], sign: float):
        self.base, self.keep, self.sign = base, keep, sign
        self.dim, self.name = base.dim, base.name
        self.fraction = float(keep(base.dense(MEASURE_POINTS)).mean())
        self.measure = base.measure * self.fraction

    def sample(self, n, method, rng):
        return rejection(lambda m: self.base.sample(m, method, rng), self.keep, n, self.fraction,
                         f"boundary part {self.name!r}")

    def dense(self, n):
        pts = self.base.dense(math.ceil(n / max(self.fraction, 1e-3)))
        return pts[self.keep(pts)]

    def corners(self):
        c = self.base.corners()
        return c[self.keep(c)] if len(c) else c

    def distance_t(self, x):
        return self.base.distance_t(x)

    def normal_t(self, x):
        return self.sign * self.base.normal_t(x)

    def adf(self, cols):
        return self.base.adf(cols)

    def carrier(self):
        return self.base.carrier()

    @property
    def axis(self):
        return getattr(self.base, "axis", None)


class _SetOperation(Geometry):
    symbol = "?"

    def __init__(self, a: Geometry, b: Geometry):
        for g in (a, b):
            if not isinstance(g, Geometry):
                raise ProblemError(f"a set operation needs two geometries, got {type(g).__name__}")
        if a.names != b.names:
            raise ProblemError(f"cannot combine geometries of coordinates {a.names} and {b.names}")
        self.a, self.b = a, b
        lo, hi = self._bounds()
        if not (lo < hi).all():
            raise ProblemError(f"{self._text()} is empty (the bounding boxes do not overlap)")
        super().__init__(a.names, lo, hi)
        if self.area() <= 1e-12 * float(np.prod(hi - lo)):
            raise ProblemError(f"{self._text()} is empty")

    def _bounds(self):
        raise NotImplementedError

    def _text(self) -> str:
        return f"{self.a!r} {self.symbol} {self.b!r}"

    def _shapely(self, sa, sb):
        raise NotImplementedError

    def to_shapely(self, resolution=256):
        if self.dim != 2:
            return super().to_shapely(resolution)
        return self._shapely(self.a.to_shapely(resolution), self.b.to_shapely(resolution))

    def _clip(self, pieces, keep, sign=1.0):
        out = [Clipped(p, keep, sign) for p in pieces]
        return [p for p in out if p.measure > 1e-12 * self.scale ** max(self.dim - 1, 1)]

    def _pieces(self):
        if not hasattr(self, "_clipped"):
            self._clipped = self._make_pieces()
        return self._clipped

    def _make_pieces(self):
        raise NotImplementedError

    def __repr__(self):
        return f"({self._text()})"


class Union(_SetOperation):
    symbol = "|"

    def _bounds(self):
        return np.minimum(self.a.lo, self.b.lo), np.maximum(self.a.hi, self.b.hi)

    def contains(self, pts, tol=1e-9):
        return self.a.contains(pts, tol) | self.b.contains(pts, tol)

    def _shapely(self, sa, sb):
        return sa.union(sb)

    def _make_pieces(self):
        return (self._clip(self.a.pieces(), lambda p: ~self.b.contains(p, -EDGE))
                + self._clip(self.b.pieces(), lambda p: ~self.a.contains(p, -EDGE)))


class Difference(_SetOperation):
    symbol = "-"

    def _bounds(self):
        return self.a.lo, self.a.hi

    def contains(self, pts, tol=1e-9):
        return self.a.contains(pts, tol) & ~self.b.contains(pts, -tol)

    def _shapely(self, sa, sb):
        return sa.difference(sb)

    def _make_pieces(self):
        return (self._clip(self.a.pieces(), lambda p: ~self.b.contains(p, -EDGE))
                + self._clip(self.b.pieces(), lambda p: self.a.contains(p, -EDGE), sign=-1.0))


class Intersection(_SetOperation):
    symbol = "&"

    def _bounds(self):
        return np.maximum(self.a.lo, self.b.lo), np.minimum(self.a.hi, self.b.hi)

    def contains(self, pts, tol=1e-9):
        return self.a.contains(pts, tol) & self.b.contains(pts, tol)

    def _shapely(self, sa, sb):
        return sa.intersection(sb)

    def _make_pieces(self):
        return (self._clip(self.a.pieces(), lambda p: self.b.contains(p, EDGE))
                + self._clip(self.b.pieces(), lambda p: self.a.contains(p, EDGE)))

