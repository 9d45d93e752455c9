"""Curved and polygonal primitives: disks (balls), ellipses and polygons."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from ..errors import ProblemError
from .base import Geometry, Piece, circle_points
from .sampling import unit_sample

DEFAULT_NAMES = ("x", "y", "z")


def coordinate_names(names: Sequence[str] | None, dim: int) -> tuple[str, ...]:
    """A shape's coordinate names: ``names`` checked, or the default ones (x, y, z) for ``dim``."""
    if names is None:
        if dim > len(DEFAULT_NAMES):
            raise ProblemError(f"give the coordinate names of a {dim}-D shape (names=...)")
        return DEFAULT_NAMES[:dim]
    names = tuple(names)
    if len(names) != dim:
        raise ProblemError(f"{len(names)} coordinate names {names} for a {dim}-D shape")
    return names


def _finite(value, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ProblemError(f"{what} {value!r} is not numeric") from None
    if (shape is not None and a.shape != shape) or not np.isfinite(a).all():
        raise ProblemError(f"{what} {value!r} must be {'finite' if shape is None else f'{shape[0]} finite numbers'}")
    return a


class Disk(Geometry):
    """A disk (a ball in 3-D): ``Disk((0, 0), 1.0)``; its boundary is one part, ``name`` ("circle")."""

    def __init__(self, center: Sequence[float], radius: float, name: str | None = None,
                 names: Sequence[str] | None = None):
        c = _finite(center, "Disk center")
        if c.ndim != 1 or len(c) < 2:
            raise ProblemError(f"Disk center {center!r} must have 2 or more coordinates")
        r = float(_finite(radius, "Disk radius"))
        if r <= 0:
            raise ProblemError(f"Disk radius {radius!r} must be positive")
        super().__init__(coordinate_names(names, len(c)), c - r, c + r)
        self.center, self.radius = c, r
        self.part_name = name or ("circle" if len(c) == 2 else "sphere")

    def contains(self, pts, tol=1e-9):
        return np.linalg.norm(pts - self.center, axis=1) <= self.radius * (1 + tol)

    def sample(self, n, method, rng):
        d = self.dim
        if d == 2:  # area-preserving map of the unit square: low discrepancy survives it
            u = unit_sample(n, 2, method, rng)
            r, th = self.radius * np.sqrt(u[:, 0]), 2 * math.pi * u[:, 1]
            return self.center + np.stack([r * np.cos(th), r * np.sin(th)], axis=1)
        u = unit_sample(n, d + 1, method, rng)
        return self.center + self.radius * _sphere(u[:, :d]) * u[:, d:] ** (1 / d)

    def _pieces(self):
        return [Sphere(self)]

    def to_shapely(self, resolution=256):
        import shapely
        if self.dim != 2:
            return super().to_shapely(resolution)
        return shapely.Polygon(circle_points(self.center, self.radius, resolution))

    def area(self):
        d = self.dim
        return math.pi ** (d / 2) / math.gamma(d / 2 + 1) * self.radius**d

    def __repr__(self):
        return f"Disk(({', '.join(f'{v:g}' for v in self.center)}), {self.radius:g})"


def _sphere(u: np.ndarray) -> np.ndarray:
    """Unit-cube points to points uniform on the unit sphere (normalised Gaussians)."""
    from scipy.special import ndtri
    g = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


class Sphere(Piece):
    def __init__(self, disk: Disk):
        self.disk, self.dim, self.name = disk, disk.dim, disk.part_name
        d, r = disk.dim, disk.radius
        self.measure = 2 * math.pi ** (d / 2) / math.gamma(d / 2) * r ** (d - 1)

    def sample(self, n, method, rng):
        if self.dim == 2:
            th = 2 * math.pi * unit_sample(n, 1, method, rng)[:, 0]
            return self.disk.center + self.disk.radius * np.stack([np.cos(th), np.sin(th)], axis=1)
        return self.disk.center + self.disk.radius * _sphere(unit_sample(n, self.dim, method, rng))

    def dense(self, n):
        if self.dim == 2:
            return circle_points(self.disk.center, self.disk.radius, max(n, 8))
        return super().dense(n)

    def distance_t(self, x):
        c = torch.as_tensor(self.disk.center, dtype=x.dtype, device=x.device)
        return ((x - c).norm(dim=1) - self.disk.radius).abs()

    def normal_t(self, x):
        c = torch.as_tensor(self.disk.center, dtype=x.dtype, device=x.device)
        v = x - c
        return v / v.norm(dim=1, keepdim=True).clamp_min(1e-300)

    def adf(self, cols):
        # (r² - |x - c|²) / 2r: a distance to first order at the circle, smooth everywhere
        r = self.disk.radius
        s = sum((col - float(c)) * (col - float(c)) for col, c in zip(cols, self.disk.center))
        return (r * r - s) / (2 * r)


class Ellipse(Geometry):
    """An axis-aligned ellipse: ``Ellipse((0, 0), (2, 1))`` (semi-axes along x and y); one part, ``name``."""

    TABLE = 4096  # arc-length table points: the trapezoid rule is spectrally accurate on a periodic integrand

    def __init__(self, center: Sequence[float], semi_axes: Sequence[float], name: str = "ellipse",
                 names: Sequence[str] | None = None):
        c = _finite(center, "Ellipse center", (2,))
        a = _finite(semi_axes, "Ellipse semi-axes", (2,))
        if (a <= 0).any():
            raise ProblemError(f"Ellipse semi-axes {semi_axes!r} must be positive")
        super().__init__(coordinate_names(names, 2), c - a, c + a)
        self.center, self.axes, self.part_name = c, a, name
        th = np.linspace(0, 2 * math.pi, self.TABLE + 1)
        speed = np.hypot(a[0] * np.sin(th), a[1] * np.cos(th))
        self._theta = th
        self._arc = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * np.diff(th))])

    def contains(self, pts, tol=1e-9):
        q = (((pts - self.center) / self.axes) ** 2).sum(axis=1)
        return q <= (1 + tol) ** 2

    def sample(self, n, method, rng):
        u = unit_sample(n, 2, method, rng)
        r, th = np.sqrt(u[:, 0]), 2 * math.pi * u[:, 1]
        return self.center + self.axes * np.stack([r * np.cos(th), r * np.sin(th)], axis=1)

    def at_arc(self, s: np.ndarray) -> np.ndarray:
        """Points at arc lengths ``s`` (from the +x vertex, counter-clockwise)."""
        th = np.interp(s, self._arc, self._theta)
        return self.center + self.axes * np.stack([np.cos(th), np.sin(th)], axis=1)

    def _pieces(self):
        return [EllipseCurve(self)]

    def to_shapely(self, resolution=256):
        import shapely
        return shapely.Polygon(self.at_arc(np.linspace(0, self._arc[-1], resolution, endpoint=False)))

    def area(self):
        return math.pi * self.axes[0] * self.axes[1]

    def __repr__(self):
        return f"Ellipse(({self.center[0]:g}, {self.center[1]:g}), ({self.axes[0]:g}, {self.axes[1]:g}))"


class EllipseCurve(Piece):
    def __init__(self, e: Ellipse):
        self.e, self.dim, self.name, self.measure = e, 2, e.part_name, float(e._arc[-1])

    def sample(self, n, method, rng):
        return self.e.at_arc(self.measure * unit_sample(n, 1, method, rng)[:, 0])

    def dense(self, n):
        return self.e.at_arc(np.linspace(0, self.measure, max(n, 8), endpoint=False))

    def _implicit(self, x):
        c = torch.as_tensor(self.e.center, dtype=x.dtype, device=x.device)
        a = torch.as_tensor(self.e.axes, dtype=x.dtype, device=x.device)
        v = (x - c) / a
        return (v * v).sum(dim=1) - 1, 2 * v / a

    def distance_t(self, x):
        f, g = self._implicit(x)  # first-order distance |F| / |grad F|: enough to tell pieces apart
        return f.abs() / g.norm(dim=1).clamp_min(1e-300)

    def normal_t(self, x):
        _, g = self._implicit(x)
        return g / g.norm(dim=1, keepdim=True).clamp_min(1e-300)

    def adf(self, cols):
        (a, b), (cx, cy) = self.e.axes, self.e.center
        q = (cols[0] - float(cx)) * (cols[0] - float(cx)) / (a * a) + (cols[1] - float(cy)) * (cols[1] - float(cy)) / (b * b)
        return (1 - q) * (min(a, b) / 2)


class Polygon(Geometry):
    """A simple polygon: ``Polygon([(0, 0), (1, 0), (0, 1)])``. Edge i runs from vertex i to vertex i+1;
    ``parts={"inlet": [0], "wall": [1, 2]}`` names groups of edges (the rest are ``"boundary"``)."""

    def __init__(self, vertices: Sequence[Sequence[float]], parts: Mapping[str, Sequence[int]] | None = None,
                 names: Sequence[str] | None = None):
        import shapely
        v = _finite(vertices, "Polygon vertices")
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ProblemError(f"a Polygon needs 3 or more (x, y) vertices, got shape {v.shape}")
        if np.allclose(v[0], v[-1]):
            v = v[:-1]  # a closed ring given with its first vertex repeated
        same = np.flatnonzero((v == np.roll(v, -1, axis=0)).all(axis=1))
        if len(same):  # shapely accepts a repeated vertex, but its zero-length edge has no normal
            i = int(same[0])
            raise ProblemError(f"Polygon vertices {i} and {(i + 1) % len(v)} are the same point "
                               f"({v[i, 0]:g}, {v[i, 1]:g}): an edge of zero length")
        poly = shapely.Polygon(v)
        if not poly.is_valid or poly.area <= 0:
            why = shapely.is_valid_reason(poly) if not poly.is_valid else "zero area"
            raise ProblemError(f"Polygon is not simple: {why} (its edges must not cross or touch)")
        super().__init__(coordinate_names(names, 2), v.min(axis=0), v.max(axis=0))
        self.vertices, self.poly = v, poly
        shapely.prepare(poly)
        self.edge_part = ["boundary"] * len(v)
        for name, edges in (parts or {}).items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ProblemError(f"Polygon part name {name!r} is not an identifier")
            for e in edges:
                if not isinstance(e, (int, np.integer)) or not 0 <= e < len(v):
                    raise ProblemError(f"Polygon part {name!r}: edge {e!r} is not one of 0..{len(v) - 1}")
                self.edge_part[e] = name

    def contains(self, pts, tol=1e-9):
        import shapely
        inside = shapely.contains_xy(self.poly, pts[:, 0], pts[:, 1])
        if tol == 0:
            return inside
        pick = ~inside if tol > 0 else inside
        if pick.any():
            d = shapely.distance(self.poly.exterior, shapely.points(pts[pick]))
            near = d <= abs(tol) * self.scale
            inside[np.flatnonzero(pick)[near if tol > 0 else near]] = tol > 0
        return inside

    def _pieces(self):
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(self.edge_part):
            groups.setdefault(name, []).append(i)
        return [Edges(self, name, idx) for name, idx in groups.items()]

    def to_shapely(self, resolution=256):
        return self.poly

    def area(self):
        return float(self.poly.area)

    def __repr__(self):
        return "Polygon([" + ", ".join(f"({a:g}, {b:g})" for a, b in self.vertices) + "])"


def _signed_area(v: np.ndarray) -> float:
    x, y = v[:, 0], v[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


class Edges(Piece):
    """Some edges of a polygon, sampled uniformly in arc length over all of them."""

    def __init__(self, poly: Polygon, name: str, edges: list[int]):
        v = poly.vertices
        self.dim, self.name, self.edges = 2, name, edges
        self.a = v[edges]
        self.b = v[[(e + 1) % len(v) for e in edges]]
        d = self.b - self.a
        self.length = np.linalg.norm(d, axis=1)
        self.measure = float(self.length.sum())
        out = np.stack([d[:, 1], -d[:, 0]], axis=1) / self.length[:, None]  # right of the direction: outward if ccw
        self.outward = out if _signed_area(v) > 0 else -out
        self._cum = np.concatenate([[0.0], np.cumsum(self.length)])

    def _at(self, s: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(self._cum, s, side="right") - 1, 0, len(self.length) - 1)
        w = ((s - self._cum[k]) / self.length[k])[:, None]
        return self.a[k] + w * (self.b[k] - self.a[k])

    def sample(self, n, method, rng):
        return self._at(self.measure * unit_sample(n, 1, method, rng)[:, 0])

    def dense(self, n):
        # every edge cut into equal steps, its ends included: a mesh keeps the corners
        h = self.measure / max(n, 1)
        pts = [self.a[k] + np.linspace(0, 1, max(2, math.ceil(L / h) + 1))[:, None] * (self.b[k] - self.a[k])
               for k, L in enumerate(self.length)]
        return np.concatenate(pts)

    def corners(self):
        return np.concatenate([self.a, self.b])

    def _project(self, x):
        a = torch.as_tensor(self.a, dtype=x.dtype, device=x.device)
        b = torch.as_tensor(self.b, dtype=x.dtype, device=x.device)
        d = b - a
        w = (((x[:, None, :] - a) * d).sum(-1) / (d * d).sum(-1)).clamp(0, 1)
        return ((x[:, None, :] - a - w[..., None] * d) ** 2).sum(-1).sqrt()  # (N, edges)

    def distance_t(self, x):
        return self._project(x).min(dim=1).values

    def normal_t(self, x):
        nrm = torch.as_tensor(self.outward, dtype=x.dtype, device=x.device)
        return nrm[self._project(x).argmin(dim=1)]

    def adf(self, cols):
        from .distance import join, segment_adf
        return join([segment_adf(cols, a, b) for a, b in zip(self.a, self.b)])
