"""Finite-element references by scikit-fem (an optional extra: ``pip install 'pinnlab[fem]'``).

A reference states its element and mesh size; its solution is cached on disk (a user cache folder,
``$PINNLAB_CACHE`` or ``~/.cache/pinnlab/fem``) and comes with its own convergence check: the same
solve on a mesh twice as coarse, compared at the fine mesh's nodes (``pinnlab show`` prints it).
Meshes are boundary-fitted triangulations of the geometry (:func:`pinnlab.geometry.mesh.mesh`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ProblemError
from .fields import Params
from .geometry import Geometry
from .geometry.mesh import mesh as make_mesh
from .problem import Reference

INSTALL = "pip install 'pinnlab[fem]' (or: pip install scikit-fem)"
VERSION = 1  # bump when a solver changes its answer: cached solutions of another version are not used

# a solver: (skfem mesh, part name per boundary facet, parameters) -> {field: (element name, dofs)}
Solver = Callable[[object, np.ndarray, Params], Mapping[str, tuple[str, np.ndarray]]]


def skfem():
    """The scikit-fem module, or a one-line error saying how to install it."""
    try:
        import skfem as module
    except ImportError:
        raise ProblemError(f"this problem's finite-element reference needs scikit-fem, which is not installed: "
                           f"{INSTALL}") from None
    return module


def cache_dir() -> Path:
    root = os.environ.get("PINNLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "pinnlab")
    return Path(root) / "fem"


def element(name: str):
    sk = skfem()
    return {"P1": sk.ElementTriP1(), "P2": sk.ElementTriP2()}[name]


@dataclass
class FemSolution:
    """A solution on a mesh: nodal coefficients per field, evaluated anywhere in the mesh by its basis."""

    points: np.ndarray      # (N, 2) mesh vertices
    triangles: np.ndarray   # (T, 3)
    fields: dict[str, tuple[str, np.ndarray]]

    def at(self, pts: np.ndarray) -> dict[str, np.ndarray]:
        """Each field's values at ``pts`` (N, 2), by barycentric coordinates in the triangle holding each
        point (scikit-fem's own point finder tests every point against every triangle: seconds here)."""
        sk = skfem()
        m = sk.MeshTri(self.points.T.copy(), self.triangles.T.copy())
        elems, lam = _locate(self.points, self.triangles, np.asarray(pts, dtype=float))
        verts = self.triangles[elems]  # (N, 3)
        out = {}
        for name, (elem, dofs) in self.fields.items():
            nodal = sk.Basis(m, element(elem))
            vdofs = dofs[nodal.nodal_dofs[0][verts]]
            if elem == "P1":
                out[name] = (lam * vdofs).sum(axis=1)
                continue
            vals = (lam * (2 * lam - 1) * vdofs).sum(axis=1)  # P2: vertex shapes, then one per edge
            for k in range(3):
                f = m.t2f[k, elems]
                la = (lam * (verts == m.facets[0, f][:, None])).sum(axis=1)
                lb = (lam * (verts == m.facets[1, f][:, None])).sum(axis=1)
                vals = vals + 4 * la * lb * dofs[nodal.facet_dofs[0][f]]
            out[name] = vals
        return out


def _locate(vertices: np.ndarray, triangles: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The triangle holding each point and the point's barycentric coordinates (N, 3) in it; a point
    outside the mesh (a curved boundary's sliver between arc and chord) is taken at its nearest vertex."""
    from matplotlib.tri import Triangulation
    from scipy.spatial import cKDTree
    finder = Triangulation(vertices[:, 0], vertices[:, 1], triangles).get_trifinder()
    elems = finder(pts[:, 0], pts[:, 1])
    outside = elems < 0
    if outside.any():
        pts = pts.copy()
        pts[outside] = vertices[cKDTree(vertices).query(pts[outside])[1]]
        owner = np.empty(len(vertices), dtype=np.int64)
        owner[triangles.ravel()] = np.repeat(np.arange(len(triangles)), 3)  # some triangle at each vertex
        elems[outside] = owner[cKDTree(vertices).query(pts[outside])[1]]
    c = vertices[triangles[elems]]  # (N, 3, 2)
    t = np.stack([c[:, 1] - c[:, 0], c[:, 2] - c[:, 0]], axis=2)  # (N, 2, 2)
    l12 = np.linalg.solve(t, (pts - c[:, 0])[..., None])[..., 0]
    return elems, np.column_stack([1 - l12.sum(axis=1), l12])


def fem_reference(key: str, domain: Geometry, solver: Solver, h: float, method: str) -> Reference:
    """A :class:`~pinnlab.problem.Reference` by ``solver`` on a mesh of edge ``h`` (checked against ``2 h``).

    ``key`` names the problem and its setup for the cache (change it when the equations change);
    ``method`` states the discretisation (e.g. "P2 Lagrange"), completed here with the mesh size.
    """
    def solution(p: Params, size: float) -> FemSolution:
        return _cached(key, domain, solver, size, p)

    def at(p: Params, pts: np.ndarray):
        return solution(p, h).at(pts)

    def check(p: Params) -> str:
        fine, coarse = solution(p, h), solution(p, 2 * h)
        here, there = fine.at(fine.points), coarse.at(fine.points)
        diffs = []
        for name in fine.fields:
            a, b = here[name], there[name]
            diffs.append(f"{name} {np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-300):.1e}")
        return (f"mesh h = {h:g} ({len(fine.triangles)} triangles) against h = {2 * h:g} "
                f"({len(coarse.triangles)}): rel L2 difference at the fine mesh's nodes " + ", ".join(diffs))

    return Reference(f"finite elements (scikit-fem), {method}, boundary-fitted mesh h = {h:g}", at=at, check=check)


def _cached(key: str, domain: Geometry, solver: Solver, h: float, p: Params) -> FemSolution:
    params = sorted(vars(p).items())
    digest = hashlib.sha256(repr((VERSION, key, repr(domain), float(h), params)).encode()).hexdigest()[:24]
    path = cache_dir() / f"{digest}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as d:
                names = [str(n) for n in d["names"]]
                return FemSolution(d["points"], d["triangles"],
                                   {n: (str(d[f"elem_{n}"]), d[f"dofs_{n}"]) for n in names})
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is solved again
    sk = skfem()
    pts, tri = make_mesh(domain, h)
    m = sk.MeshTri(pts.T.copy(), tri.T.copy())
    facets = m.boundary_facets()
    mid = m.p[:, m.facets[:, facets]].mean(axis=1).T
    parts = np.full(m.facets.shape[1], "", dtype=object)
    parts[facets] = domain.part_of(mid)
    fields = {k: (e, np.asarray(v, dtype=float)) for k, (e, v) in solver(m, parts, p).items()}
    sol = FemSolution(pts, tri, fields)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, points=pts, triangles=tri, names=np.array(list(fields)),
                            **{f"elem_{k}": np.array(e) for k, (e, _) in fields.items()},
                            **{f"dofs_{k}": v for k, (_, v) in fields.items()})
        os.replace(tmp, path)
    except OSError:
        pass  # no writable cache: solved again next time
    return sol


def facets_of(parts: np.ndarray, names) -> np.ndarray:
    """Indices of the boundary facets on the named parts."""
    names = {names} if isinstance(names, str) else set(names)
    return np.flatnonzero([p in names for p in parts])


def poisson(dirichlet: Mapping[str, Callable[..., np.ndarray] | float], source: Callable | float = 0.0,
            order: int = 2) -> Solver:
    """-Δu = source with u given on the named boundary parts (the rest: zero normal derivative)."""
    def solve(m, parts, p):
        sk = skfem()
        from skfem.helpers import dot, grad
        basis = sk.Basis(m, element(f"P{order}"))

        @sk.BilinearForm
        def laplace(u, v, w):
            return dot(grad(u), grad(v))

        @sk.LinearForm
        def load(v, w):
            x, y = w.x
            f = source(x, y) if callable(source) else source + 0 * x
            return f * v

        A, b = laplace.assemble(basis), load.assemble(basis)
        u = basis.zeros()
        fixed = []
        for name, value in dirichlet.items():
            dofs = basis.get_dofs(facets=facets_of(parts, name)).all()
            x, y = basis.doflocs[:, dofs]
            u[dofs] = value(x, y) if callable(value) else value
            fixed.append(dofs)
        u = sk.solve(*sk.condense(A, b, x=u, D=np.unique(np.concatenate(fixed))))
        return {"u": (f"P{order}", u)}

    return solve
