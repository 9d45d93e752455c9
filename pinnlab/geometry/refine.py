"""A geometry whose interior points crowd near a spot: the same domain, more collocation points where the
solution is hard to follow (a re-entrant corner, a small hole).

Only the interior sampling changes: containment, boundary parts, normals, distance functions, area
and evaluation points are the wrapped domain's, so a problem's reference and error do not move.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ProblemError
from .base import Geometry
from .shapes import Disk


class Refined(Geometry):
    """``domain`` with a fraction ``share`` of its interior points drawn, uniform in area, from the part
    of it within ``radius`` of ``at``; the rest uniform over the whole domain.

    ``Refined(Polygon(L), at=(0, 0), radius=0.2, share=0.2)`` puts a fifth of the points of
    ``--points`` near the L-shape's corner (a 2-D domain: the spot is a disk).
    """

    def __init__(self, domain: Geometry, at: Sequence[float], radius: float, share: float):
        if not isinstance(domain, Geometry) or domain.dim != 2:
            raise ProblemError(f"Refined: the domain must be a 2-D geometry, got {domain!r}")
        if not 0 < float(share) < 1:
            raise ProblemError(f"Refined: share must lie strictly between 0 and 1, got {share}")
        if not float(radius) > 0:
            raise ProblemError(f"Refined: radius must be positive, got {radius}")
        super().__init__(domain.names, domain.lo, domain.hi)
        self.domain, self.at, self.radius, self.share = domain, tuple(float(a) for a in at), float(radius), float(share)
        self.near = domain & Disk(self.at, self.radius)  # an empty overlap (a spot off the domain) is an error here

    def contains(self, pts: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        return self.domain.contains(pts, tol)

    def sample(self, n: int, method: str, rng: np.random.Generator) -> np.ndarray:
        k = int(round(self.share * n))
        return np.concatenate([self.domain.sample(n - k, method, rng), self.near.sample(k, method, rng)])

    def _pieces(self):
        return self.domain.pieces()

    def sample_face(self, name, side, n, method, rng):
        return self.domain.sample_face(name, side, n, method, rng)

    def has_faces(self, name: str) -> bool:
        return self.domain.has_faces(name)

    def to_shapely(self, resolution: int = 256):
        return self.domain.to_shapely(resolution)

    def area(self) -> float:
        return self.domain.area()

    def __repr__(self) -> str:
        return f"Refined({self.domain!r}, at={self.at}, radius={self.radius}, share={self.share})"
