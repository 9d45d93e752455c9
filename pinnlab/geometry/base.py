"""The geometry interface: a domain with named coordinates, an interior and a boundary in named parts.

A boundary is a list of :class:`Piece` objects (a box face, a circle, a polygon's named edges, a
clipped copy of another geometry's piece in a set operation), each with its own uniform sampler,
outward normal and distance. A *part* is every piece of one name: ``on="hole"`` in a condition.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..errors import ProblemError, one_of
from .sampling import TIME, allocate, rejection, unit_sample

Columns = Sequence  # coordinate columns (N, 1) of tensors or jets, in the domain's order


class Piece:
    """One smooth piece of a boundary: sampled uniformly in arc length (area in 3-D)."""

    name: str
    measure: float   # its length (2-D) or area (3-D); 1 for an end point of an interval
    sign: float = 1.0

    def sample(self, n: int, method: str, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def dense(self, n: int) -> np.ndarray:
        """About ``n`` points spread evenly along the piece (for measures, meshes and outlines)."""
        return self.sample(n, "sobol", np.random.default_rng(0))

    def corners(self) -> np.ndarray:
        """Points a mesh must keep (a polygon's vertices); none for a smooth piece."""
        return np.zeros((0, self.dim))

    def distance_t(self, x: torch.Tensor) -> torch.Tensor:
        """Distance of each point to the piece, (N,)."""
        raise NotImplementedError

    def normal_t(self, x: torch.Tensor) -> torch.Tensor:
        """The outward unit normal at (the nearest point of the piece to) each point, (N, dim)."""
        raise NotImplementedError

    def adf(self, cols: Columns):
        """An approximate distance function: zero on the piece, smooth and of one sign off it."""
        raise ProblemError(f"boundary part {self.name!r} offers no distance function")

    def carrier(self) -> Piece:
        """The whole curve the piece lies on (itself, unless it is a clipped copy)."""
        return self

    def renamed(self, name: str) -> Piece:
        out = copy.copy(self)
        out.name = name
        return out


class Geometry:
    """A domain: named coordinates, a bounding box, containment, interior and boundary sampling.

    Subclasses give ``contains``, ``_pieces`` and, where they can do better than rejection from the
    bounding box, ``sample``. Geometries combine with ``|`` (union), ``-`` (difference) and ``&``
    (intersection); ``rename`` gives boundary parts other names.
    """

    def __init__(self, names: Sequence[str], lo: Sequence[float], hi: Sequence[float]):
        names = tuple(names)
        for n in names:
            if not isinstance(n, str) or not n.isidentifier():
                raise ProblemError(f"coordinate name {n!r} is not a Python identifier")
        if len(set(names)) != len(names):
            raise ProblemError(f"repeated coordinate names {names}")
        self._names, self._lo, self._hi = names, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        self._rename: dict[str, str] = {}

    # -- coordinates and bounding box ------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    @property
    def dim(self) -> int:
        return len(self._names)

    @property
    def lo(self) -> np.ndarray:
        """The bounding box's lower corner."""
        return self._lo.copy()

    @property
    def hi(self) -> np.ndarray:
        return self._hi.copy()

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """The bounding box per coordinate."""
        return {k: (float(a), float(b)) for k, a, b in zip(self._names, self._lo, self._hi)}

    @property
    def is_time_dependent(self) -> bool:
        return TIME in self._names

    @property
    def space_names(self) -> tuple[str, ...]:
        return tuple(n for n in self._names if n != TIME)

    def index(self, name: str) -> int:
        if name not in self._names:
            raise ProblemError(one_of("coordinate", name, self._names))
        return self._names.index(name)

    @property
    def scale(self) -> float:
        """The bounding box's diagonal: the length that tolerances are relative to."""
        return float(np.linalg.norm(self._hi - self._lo))

    # -- interior --------------------------------------------------------------------------------
    def contains(self, pts: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Whether each point (N, dim) lies in the closed domain, within ``tol`` times its size;
        a negative ``tol`` asks for points at least that far inside."""
        raise NotImplementedError

    def sample(self, n: int, method: str, rng: np.random.Generator) -> np.ndarray:
        """``n`` points inside, uniform in area (volume), shape (n, dim)."""
        lo, hi = self._lo, self._hi
        return rejection(lambda m: lo + (hi - lo) * unit_sample(m, self.dim, method, rng),
                         lambda p: self.contains(p, tol=0.0), n, self.fill_fraction, repr(self))

    @property
    def fill_fraction(self) -> float:
        """The fraction of the bounding box inside the domain (estimated once)."""
        if not hasattr(self, "_fill"):
            pts = self._lo + (self._hi - self._lo) * np.random.default_rng(0).random((8192, self.dim))
            self._fill = float(self.contains(pts, tol=0.0).mean())
        return self._fill

    # -- boundary --------------------------------------------------------------------------------
    def _pieces(self) -> list[Piece]:
        raise NotImplementedError

    def pieces(self, parts: Sequence[str] | None = None) -> list[Piece]:
        """The boundary's pieces (with this geometry's names), those of ``parts`` if given."""
        cache = self.__dict__.setdefault("_piece_cache", {})
        key = None if parts is None else tuple(parts)
        if key not in cache:
            if None not in cache:
                out = [p.renamed(self._rename[p.name]) if p.name in self._rename else p for p in self._pieces()]
                cache[None] = [p for p in out if p.measure > 0]
            if key is not None:
                self.check_parts(key)
                cache[key] = [p for p in cache[None] if p.name in key]
        return cache[key]

    @property
    def parts(self) -> tuple[str, ...]:
        """The names of the boundary's parts, in order."""
        return tuple(dict.fromkeys(p.name for p in self.pieces()))

    def check_parts(self, parts: Sequence[str], what: str = "boundary part") -> None:
        known = self.parts
        for name in parts:
            if name not in known:
                raise ProblemError(one_of(what, name, known))

    def boundary_measure(self, parts: Sequence[str] | None = None) -> float:
        return float(sum(p.measure for p in self.pieces(parts)))

    def sample_boundary(self, n: int, method: str, rng: np.random.Generator,
                        parts: Sequence[str] | None = None) -> np.ndarray:
        """``n`` points on the boundary (or on ``parts``), uniform in arc length (area)."""
        pieces = self.pieces(parts)
        if not pieces:
            raise ProblemError(f"{self!r} has no boundary to sample")
        counts = allocate(n, [p.measure for p in pieces])
        out = [p.sample(c, method, rng) for p, c in zip(pieces, counts) if c > 0]
        return np.concatenate(out) if out else np.zeros((0, self.dim))

    def sample_face(self, name: str, side: str, n: int, method: str, rng: np.random.Generator) -> np.ndarray:
        """Points on the face ``name = lo`` or ``hi`` of a box (or the time caps of space × time)."""
        raise ProblemError(f"{self!r} has no faces of coordinate {name!r}: name a boundary part "
                           f"(parts: {', '.join(self.parts)}) or give on=None for the whole boundary")

    def has_faces(self, name: str) -> bool:
        """Whether ``on=name`` may mean the faces of coordinate ``name`` (boxes, and time in space × time)."""
        return False

    def normal_t(self, x: torch.Tensor, parts: Sequence[str] | None = None) -> torch.Tensor:
        """Outward unit normals (N, dim) at boundary points ``x``: the nearest piece's (of ``parts``)."""
        pieces = self.pieces(parts)
        if len(pieces) == 1:
            return pieces[0].normal_t(x)
        dist = torch.stack([p.distance_t(x) for p in pieces], dim=1)
        normals = torch.stack([p.normal_t(x) for p in pieces], dim=1)
        pick = dist.argmin(dim=1)
        return normals[torch.arange(len(x), device=x.device), pick]

    def normals(self, pts: np.ndarray, parts: Sequence[str] | None = None) -> np.ndarray:
        """Outward unit normals at boundary points (numpy)."""
        with torch.no_grad():
            return self.normal_t(torch.as_tensor(pts, dtype=torch.float64), parts).numpy()

    def part_of(self, pts: np.ndarray) -> np.ndarray:
        """The name of the part each boundary point lies on (the nearest)."""
        pieces = self.pieces()
        with torch.no_grad():
            x = torch.as_tensor(pts, dtype=torch.float64)
            dist = torch.stack([p.distance_t(x) for p in pieces], dim=1).numpy()
        return np.array([pieces[i].name for i in dist.argmin(axis=1)])

    def normal_axis(self, parts: Sequence[str] | None = None) -> int | None:
        """The coordinate index every selected piece's normal lies along, if there is one (box faces)."""
        axes = {getattr(p, "axis", None) for p in self.pieces(parts)}
        return axes.pop() if len(axes) == 1 and None not in axes else None

    def rename(self, new: str | None = None, **mapping: str) -> Geometry:
        """A copy whose boundary parts have other names: ``rename("wall")`` names them all,
        ``rename(x_lo="inlet", x_hi="outlet")`` some."""
        known = self.parts
        if new is not None:
            mapping = {k: new for k in known}
        self.check_parts(list(mapping))
        for v in mapping.values():
            if not isinstance(v, str) or not v.isidentifier():
                raise ProblemError(f"boundary part name {v!r} is not an identifier")
            if v in self._names:
                raise ProblemError(f"boundary part name {v!r} is a coordinate's name")
        out = copy.copy(self)
        inverse = {}  # original piece name -> current name
        for p in self._pieces():
            inverse[p.name] = self._rename.get(p.name, p.name)
        out._rename = {orig: mapping.get(cur, cur) for orig, cur in inverse.items()}
        out._piece_cache = {}
        return out

    # -- set operations --------------------------------------------------------------------------
    def __or__(self, other: Geometry) -> Geometry:
        from .csg import Union
        return Union(self, other)

    def __sub__(self, other: Geometry) -> Geometry:
        from .csg import Difference
        return Difference(self, other)

    def __and__(self, other: Geometry) -> Geometry:
        from .csg import Intersection
        return Intersection(self, other)

    # -- drawing and evaluation ------------------------------------------------------------------
    def to_shapely(self, resolution: int = 256):
        """The domain as a shapely polygon (2-D; curved edges as polylines of ``resolution`` points)."""
        raise ProblemError(f"{self!r} has no 2-D polygon outline")

    def outline(self) -> list[np.ndarray]:
        """The boundary's closed rings (M, 2) for drawing (2-D)."""
        import shapely
        shape = self.to_shapely()
        rings = []
        for poly in getattr(shape, "geoms", [shape]):
            rings.append(np.asarray(poly.exterior.coords))
            rings += [np.asarray(r.coords) for r in poly.interiors]
        return rings if not shapely.is_empty(shape) else []

    def area(self) -> float:
        """The domain's area (volume): by its polygon in 2-D, else from the bounding box's fill fraction."""
        if self.dim == 2:
            return float(self.to_shapely(1024).area)
        return float(np.prod(self._hi - self._lo)) * self.fill_fraction

    def adf(self, parts: Sequence[str] | None = None) -> Callable[..., object]:
        """An approximate distance function of the boundary (or ``parts``): ``phi(x, y)`` of
        coordinate columns, zero there and positive inside (Sukumar & Srivastava 2022)."""
        from .distance import boundary_adf
        return boundary_adf(self, parts)

    def __repr__(self) -> str:
        return type(self).__name__ + "(" + ", ".join(self._names) + ")"


def circle_points(center: np.ndarray, radius: float, n: int) -> np.ndarray:
    theta = 2 * math.pi * np.arange(n) / n
    return center + radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)
