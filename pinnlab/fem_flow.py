"""Steady incompressible Navier–Stokes references by scikit-fem: Taylor–Hood (P2 velocity, P1 pressure).

    (w · ∇)u - ν Δu + ∇p = 0,   ∇ · u = 0

The convection term is linearised from the Stokes solution by a few Picard (Oseen) iterations (the
previous velocity w advects) and then Newton's method, until the velocity changes by less than
``tol`` (relative). Velocity is given on the ``velocity`` parts; on the ``outlet`` parts
p = 0 and the velocity is left free, so the weak form's natural condition there is ν ∂u/∂n = 0: the
same outflow a PINN states as ``Dirichlet(p=0)`` and ``Neumann(u=0, v=0)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .errors import ProblemError
from .fem import Solver, facets_of, skfem
from .fields import Params

Value = float | Callable[..., np.ndarray]


def _bases(m):
    sk = skfem()
    ub = sk.Basis(m, sk.ElementVectorH1(sk.ElementTriP2()), intorder=5)  # the convection term is of degree 5
    return ub, ub.with_element(sk.ElementTriP1())


def _forms():
    sk = skfem()
    from skfem.helpers import ddot, div, dot, grad, mul

    @sk.BilinearForm
    def viscous(u, v, w):
        return w.nu * ddot(grad(u), grad(v))

    @sk.BilinearForm
    def convection(u, v, w):
        return dot(mul(grad(u), w.w), v)  # ((w · ∇) u) · v

    @sk.BilinearForm
    def reaction(u, v, w):
        return dot(mul(grad(w.w), u), v)  # ((u · ∇) w) · v: Newton's half of the linearised convection

    @sk.LinearForm
    def newton_rhs(v, w):
        return dot(mul(grad(w.w), w.w), v)

    @sk.BilinearForm
    def divergence(u, q, w):
        return div(u) * q

    return viscous, convection, divergence, reaction, newton_rhs


def _values(value: Value, x: np.ndarray, y: np.ndarray, p: Params) -> np.ndarray:
    if not callable(value):
        return np.full_like(x, float(value))
    args = (x, y, p) if len(inspect.signature(value).parameters) == 3 else (x, y)
    return np.asarray(value(*args), dtype=float) + 0 * x


def navier_stokes(nu: float | Callable[[Params], float], velocity: Mapping[str, tuple[Value, Value]],
                  outlet: Sequence[str], tol: float = 1e-10, max_iter: int = 30, picard: int = 3) -> Solver:
    """A FEM solver (for :func:`pinnlab.fem.fem_reference`) of steady Navier–Stokes: fields u, v (P2), p (P1).

    ``velocity`` maps boundary parts to their (u, v) values (numbers or functions of x, y[, p]);
    ``outlet`` parts get p = 0 with the velocity free; ``nu`` is a number or a function of the parameters.
    """
    def solve(m, parts, p):
        sk = skfem()
        from scipy.sparse import bmat
        ub, pb = _bases(m)
        viscous, convection, divergence, reaction, newton_rhs = _forms()
        visc = float(nu(p) if callable(nu) else nu)
        A = viscous.assemble(ub, nu=visc)
        B = divergence.assemble(ub, pb)
        nu_dofs, np_dofs = ub.N, pb.N
        x = np.zeros(nu_dofs + np_dofs)
        fixed = []
        for name, (gu, gv) in velocity.items():
            dofs = ub.get_dofs(facets=facets_of(parts, name))
            for comp, g in (("u^1", gu), ("u^2", gv)):
                idx = np.concatenate([dofs.nodal[comp], dofs.facet[comp]])
                xs, ys = ub.doflocs[:, idx]
                x[idx] = _values(g, xs, ys, p)
                fixed.append(idx)
        out_dofs = pb.get_dofs(facets=facets_of(parts, outlet)).all() + nu_dofs
        if not len(out_dofs):
            raise ProblemError(f"navier_stokes: no boundary facet on the outlet parts {list(outlet)}")
        fixed.append(out_dofs)
        D = np.unique(np.concatenate(fixed))
        w = np.zeros(nu_dofs)  # Stokes first
        for it in range(max_iter):
            wf = ub.interpolate(w)
            C = convection.assemble(ub, w=wf)
            rhs = np.zeros(len(x))
            if it >= picard:  # Newton: (w·∇)u + (u·∇)w = (w·∇)w
                C = C + reaction.assemble(ub, w=wf)
                rhs[:nu_dofs] = newton_rhs.assemble(ub, w=wf)
            K = bmat([[A + C, -B.T], [-B, None]], format="csr")
            x = sk.solve(*sk.condense(K, rhs, x=x, D=D))
            change = np.linalg.norm(x[:nu_dofs] - w) / max(np.linalg.norm(x[:nu_dofs]), 1e-300)
            w = x[:nu_dofs].copy()
            if change < tol:
                break
        else:
            raise ProblemError(f"navier_stokes: the iterations did not converge in {max_iter} "
                               f"(last relative change {change:.1e}); the Reynolds number may be too high")
        comps = ub.split(x[:nu_dofs])
        return {"u": ("P2", comps[0][0]), "v": ("P2", comps[1][0]), "p": ("P1", x[nu_dofs:])}

    return solve


def forces(m, fields: Mapping[str, tuple[str, np.ndarray]], nu: float, parts: np.ndarray,
           body: Sequence[str] | str) -> tuple[float, float]:
    """(drag, lift): the force the flow exerts on the ``body`` parts, per unit depth (density 1).

    Computed from the weak form's residual tested with a field that is (1, 0) or (0, 1) on the body
    and zero on the rest of the boundary (John's volume formula, more accurate than integrating
    stresses over the curve).
    """
    from scipy.sparse import bmat
    ub, pb = _bases(m)
    viscous, convection, divergence, _, _ = _forms()
    comps = [fields["u"][1], fields["v"][1]]
    uvec = np.zeros(ub.N)
    for dofs, c in zip(ub.split_indices(), comps):
        uvec[dofs] = c
    A = viscous.assemble(ub, nu=nu) + convection.assemble(ub, w=ub.interpolate(uvec))
    B = divergence.assemble(ub, pb)
    K = bmat([[A, -B.T], [-B, None]], format="csr")
    res = K @ np.concatenate([uvec, fields["p"][1]])
    body_dofs = ub.get_dofs(facets=facets_of(parts, body))
    out = []
    for comp in ("u^1", "u^2"):
        idx = np.concatenate([body_dofs.nodal[comp], body_dofs.facet[comp]])
        out.append(-float(res[idx].sum()))
    return out[0], out[1]


__all__ = ["navier_stokes", "forces"]
