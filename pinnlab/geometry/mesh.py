"""Scattered evaluation points with a triangulation for plots, and boundary-fitted triangle meshes for FEM."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import ProblemError
from .base import Geometry


@dataclass(frozen=True)
class PointSet:
    """Points inside a domain: ``points`` (N, dim); in 2-D ``triangles`` (T, 3) over them and ``outline``
    (the boundary's rings, NaN rows between rings) for drawing."""

    points: np.ndarray
    triangles: np.ndarray | None = None
    outline: np.ndarray | None = None


def evaluation_points(geom: Geometry, sizes: Mapping[str, int]) -> PointSet:
    """The bounding box's grid (``sizes`` per coordinate) clipped to the domain, plus boundary points at the
    grid's spacing; triangulated in 2-D (triangles off the domain, as in a hole or a notch, left out)."""
    axes = [np.linspace(lo, hi, int(sizes[k])) for k, (lo, hi) in geom.ranges.items()]
    grid = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    inside = grid[geom.contains(grid, tol=0.0)]
    if geom.dim != 2:
        return PointSet(inside)
    h = min(float(a[1] - a[0]) for a in axes)
    edge = boundary_points(geom, h)
    # grid points closer than a fraction of h to a boundary point make slivers: drop them
    from scipy.spatial import cKDTree
    if len(edge):
        d, _ = cKDTree(edge).query(inside)
        inside = inside[d > 0.3 * h]
    pts = np.concatenate([edge, inside])
    return PointSet(pts, triangulate(geom, pts, h), outline_array(geom))


def boundary_points(geom: Geometry, h: float) -> np.ndarray:
    """Points along every boundary piece about ``h`` apart, corners included, without duplicates."""
    parts = [p.dense(max(8, math.ceil(p.measure / h))) for p in geom.pieces()]
    parts += [p.corners() for p in geom.pieces()]
    pts = np.concatenate(parts) if parts else np.zeros((0, 2))
    key = np.round(pts / (1e-9 * geom.scale)).astype(np.int64)
    _, first = np.unique(key, axis=0, return_index=True)
    return pts[np.sort(first)]


def triangulate(geom: Geometry, pts: np.ndarray, h: float) -> np.ndarray:
    """Delaunay triangles of ``pts`` (about ``h`` apart) whose centroid lies in the domain, and the midpoints
    of their long edges (a chord of a curved boundary, about ``h`` long, may leave it by a sliver)."""
    from scipy.spatial import Delaunay
    tri = Delaunay(pts).simplices
    corners = pts[tri]
    keep = geom.contains(corners.mean(axis=1), tol=0.0)
    for a, b in ((0, 1), (1, 2), (2, 0)):
        long = np.linalg.norm(corners[:, a] - corners[:, b], axis=1) > 2 * h
        keep &= ~long | geom.contains(0.5 * (corners[:, a] + corners[:, b]), tol=0.0)
    v1, v2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    area = 0.5 * np.abs(v1[:, 0] * v2[:, 1] - v1[:, 1] * v2[:, 0])
    keep &= area > 1e-12 * geom.scale**2
    return tri[keep].astype(np.int64)


def outline_array(geom: Geometry) -> np.ndarray:
    """The boundary's rings as one (M, 2) array with a NaN row between rings (for plotting)."""
    rings = geom.outline()
    if not rings:
        return np.zeros((0, 2))
    out = []
    for r in rings:
        out += [r, np.full((1, 2), np.nan)]
    return np.concatenate(out[:-1])


def mesh(geom: Geometry, h: float, smooth: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """A boundary-fitted triangle mesh of a 2-D domain with edges about ``h`` long: points (N, 2) and
    triangles (T, 3). Boundary points every ``h`` along each piece (corners kept), a hexagonal lattice
    inside, Delaunay triangles, then a few Laplacian smoothing sweeps of the interior nodes."""
    if geom.dim != 2:
        raise ProblemError(f"meshing is for 2-D domains; {geom!r} is {geom.dim}-D")
    from scipy.spatial import cKDTree
    edge = boundary_points(geom, h)
    lo, hi = geom.lo, geom.hi
    dy = h * math.sqrt(3) / 2
    ys = np.arange(lo[1], hi[1] + dy, dy)
    rows = []
    for i, y in enumerate(ys):
        xs = np.arange(lo[0] + (i % 2) * h / 2, hi[0] + h, h)
        rows.append(np.column_stack([xs, np.full(len(xs), y)]))
    lattice = np.concatenate(rows)
    lattice = lattice[geom.contains(lattice, tol=0.0)]
    d, _ = cKDTree(edge).query(lattice)
    inner = lattice[d > 0.7 * h]
    pts = np.concatenate([edge, inner])
    nb = len(edge)
    tri = triangulate(geom, pts, h)
    for _ in range(smooth):  # move each interior node to the mean of its neighbours
        acc = np.zeros_like(pts)
        cnt = np.zeros(len(pts))
        for a, b in ((0, 1), (1, 2), (2, 0)):
            np.add.at(acc, tri[:, a], pts[tri[:, b]])
            np.add.at(cnt, tri[:, a], 1)
            np.add.at(acc, tri[:, b], pts[tri[:, a]])
            np.add.at(cnt, tri[:, b], 1)
        moved = acc[nb:] / np.maximum(cnt[nb:, None], 1)
        ok = geom.contains(moved, tol=-1e-6)
        pts[nb:][ok] = moved[ok]
        tri = triangulate(geom, pts, h)
    used = np.unique(tri)
    remap = -np.ones(len(pts), dtype=np.int64)
    remap[used] = np.arange(len(used))
    return pts[used], remap[tri]
