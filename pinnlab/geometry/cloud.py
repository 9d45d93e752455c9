"""A point cloud as a geometry: boundary points with outward normals (and interior points) from a file."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import ProblemError
from .base import Geometry, Piece
from .shapes import coordinate_names


class PointCloud(Geometry):
    """A domain known by points: ``boundary`` (M, d) with outward unit ``normals`` (M, d), optional
    ``interior`` points (K, d) to sample the inside from and ``parts`` (M names) for the boundary.

    Inside is where a point lies behind its nearest boundary point's normal; without interior points
    the inside is sampled by rejection from the bounding box. Sampling draws from the points given
    (without replacement while there are enough), so it is as uniform as the file's points are.
    """

    def __init__(self, boundary: np.ndarray, normals: np.ndarray, interior: np.ndarray | None = None,
                 parts: Sequence[str] | None = None, names: Sequence[str] | None = None):
        b = np.asarray(boundary, dtype=float)
        nrm = np.asarray(normals, dtype=float)
        if b.ndim != 2 or len(b) < 3 or nrm.shape != b.shape:
            raise ProblemError(f"PointCloud: boundary points {b.shape} and normals {nrm.shape} must both be (M, d), M >= 3")
        if not (np.isfinite(b).all() and np.isfinite(nrm).all()):
            raise ProblemError("PointCloud: boundary points and normals must be finite")
        length = np.linalg.norm(nrm, axis=1)
        if (length < 1e-12).any():
            raise ProblemError(f"PointCloud: {(length < 1e-12).sum()} normals are zero")
        inner = None if interior is None else np.asarray(interior, dtype=float)
        if inner is not None and (inner.ndim != 2 or inner.shape[1] != b.shape[1] or not np.isfinite(inner).all()):
            raise ProblemError(f"PointCloud: interior points must be finite and (K, {b.shape[1]}), got {inner.shape}")
        labels = np.array(["boundary"] * len(b) if parts is None else [str(p) for p in parts])
        if len(labels) != len(b):
            raise ProblemError(f"PointCloud: {len(labels)} part names for {len(b)} boundary points")
        every = b if inner is None else np.concatenate([b, inner])
        super().__init__(coordinate_names(names, b.shape[1]), every.min(axis=0), every.max(axis=0))
        self.boundary, self.normals_given, self.interior, self.labels = b, nrm / length[:, None], inner, labels
        if inner is not None and not self.contains(inner).all():
            raise ProblemError(f"PointCloud: {(~self.contains(inner)).sum()} interior points lie outside its boundary")

    @classmethod
    def load(cls, path: str | Path, names: Sequence[str] | None = None) -> PointCloud:
        """From ``.npz`` (arrays ``boundary``, ``normals``, optional ``interior``, ``parts``) or ``.csv``
        (columns x, y[, z], nx, ny[, nz][, part]; a row with ``interior`` as its part is an interior point)."""
        path = Path(path)
        if not path.is_file():
            raise ProblemError(f"point cloud file {str(path)!r} does not exist")
        try:
            if path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as d:
                    return cls(d["boundary"], d["normals"], d["interior"] if "interior" in d else None,
                               d["parts"] if "parts" in d else None, names)
            if path.suffix == ".csv":
                return cls._from_csv(path, names)
        except KeyError as e:
            raise ProblemError(f"point cloud file {str(path)!r} lacks the array {e.args[0]!r}") from None
        except (OSError, ValueError) as e:
            if isinstance(e, ProblemError):
                raise
            raise ProblemError(f"point cloud file {str(path)!r} cannot be read: {e}") from None
        raise ProblemError(f"point cloud file {str(path)!r}: unknown format (allowed: .npz, .csv)")

    @classmethod
    def _from_csv(cls, path: Path, names):
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        if not rows:
            raise ProblemError(f"point cloud file {str(path)!r} has no rows")
        coords = [c for c in ("x", "y", "z") if c in rows[0]]
        missing = [f"n{c}" for c in coords if f"n{c}" not in rows[0]]
        if len(coords) < 2 or missing:
            raise ProblemError(f"point cloud file {str(path)!r} needs columns x, y[, z] and nx, ny[, nz]")
        part = [r.get("part") or "boundary" for r in rows]
        pts = np.array([[float(r[c]) for c in coords] for r in rows])
        inner = np.array([p == "interior" for p in part])
        nrm = np.array([[float(r[f"n{c}"] or 0) if not i else 0.0 for c in coords] for r, i in zip(rows, inner)])
        return cls(pts[~inner], nrm[~inner], pts[inner] if inner.any() else None,
                   [p for p, i in zip(part, inner) if not i], names)

    def contains(self, pts, tol=1e-9):
        from scipy.spatial import cKDTree
        tree = self.__dict__.setdefault("_tree", cKDTree(self.boundary))
        _, k = tree.query(pts)
        behind = ((pts - self.boundary[k]) * self.normals_given[k]).sum(axis=1)
        return behind <= tol * self.scale

    def sample(self, n, method, rng):
        if self.interior is None:
            return super().sample(n, method, rng)
        return self.interior[rng.choice(len(self.interior), n, replace=n > len(self.interior))]

    def _pieces(self):
        return [CloudPart(self, name) for name in dict.fromkeys(self.labels)]

    def __repr__(self):
        return f"PointCloud({len(self.boundary)} boundary points" + (
            f", {len(self.interior)} interior)" if self.interior is not None else ")")


class CloudPart(Piece):
    def __init__(self, cloud: PointCloud, name: str):
        mask = cloud.labels == name
        self.pts, self.nrm, self.dim, self.name = cloud.boundary[mask], cloud.normals_given[mask], cloud.dim, name
        self.measure = float(mask.sum())  # points stand for equal shares of the boundary

    def sample(self, n, method, rng):
        return self.pts[rng.choice(len(self.pts), n, replace=n > len(self.pts))]

    def dense(self, n):
        return self.pts

    def _nearest(self, x):
        p = torch.as_tensor(self.pts, dtype=x.dtype, device=x.device)
        return torch.cdist(x, p).min(dim=1)

    def distance_t(self, x):
        return self._nearest(x).values

    def normal_t(self, x):
        return torch.as_tensor(self.nrm, dtype=x.dtype, device=x.device)[self._nearest(x).indices]
