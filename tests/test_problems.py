"""The built-in problems are correct on their own: exact solutions and references satisfy the
residual and every condition, checked independently of any solver.

Exact solutions are differentiated by autograd in float64; grid references by finite
differences (fourth order in the interior) on their own grid.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pinnlab.conditions import Dirichlet, Initial, InitialRate, Neumann, Periodic
from pinnlab.derivatives import compute_fields
from pinnlab.fields import Fields, close_under_prefixes
from pinnlab.references import cole_hopf_burgers, ivp_reference, solve_allen_cahn
from pinnlab.registry import builtin_problems, get_problem

PROBLEMS = builtin_problems()
EXACT = [n for n, p in PROBLEMS.items() if p.exact is not None]
REFERENCE = [n for n, p in PROBLEMS.items() if p.exact is None and p.reference.solve is not None]  # on a grid
FEM = [n for n, p in PROBLEMS.items() if p.exact is None and p.reference.at is not None]  # at scattered points
EXPECTED = {"decay", "logistic", "damped-oscillator", "lotka-volterra", "pendulum", "lorenz", "poisson1d",
            "poisson2d", "heat1d", "wave1d", "advection1d", "burgers", "helmholtz2d", "allen-cahn",
            "kovasznay", "kdv", "poisson-lshape", "poisson-disk", "poisson-holes", "heat-disk", "ns-cylinder"}


def test_registry_has_every_problem():
    assert EXPECTED <= set(PROBLEMS)


class ExactModule(torch.nn.Module):
    """A problem's exact solution as a network: points (N, dim) → fields (N, n_fields)."""

    def __init__(self, problem):
        super().__init__()
        self.problem = problem

    def forward(self, pts):
        prob = self.problem
        kwargs = {n: (prob.p if n == "p" else pts[:, prob.domain.index(n)])
                  for n in inspect.signature(prob.exact).parameters}
        out = prob.exact(**kwargs)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        return torch.stack([o + 0 * pts[:, 0] for o in outs], dim=1)


def _scale(f: Fields) -> float:
    """The size of the terms a residual is built from: the largest field or partial value."""
    return max(1.0, *(float(v.detach().abs().max()) for d in f.data.values() for v in d.values()))


def _autograd(problem, module, pts, requests):
    x = torch.as_tensor(pts, dtype=torch.float64)
    return compute_fields(module, x, requests, problem.domain.names, problem.fields, engine="autograd")


@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_satisfies_residual(name):
    prob = PROBLEMS[name]
    module = ExactModule(prob)
    pts = prob.domain.sample(512, "sobol", np.random.default_rng(0))
    f = _autograd(prob, module, pts, prob.requests["residual"])
    tol = 1e-10 * _scale(f) ** 2
    for i, r in enumerate(prob.residual_terms(f)):
        assert r.abs().max() < tol, f"{name}: residual term {i} is {r.abs().max():.2e}"


@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_satisfies_conditions(name):
    prob = PROBLEMS[name]
    module = ExactModule(prob)
    rng = np.random.default_rng(1)
    for i, cond in enumerate(prob.conditions):
        pts = cond.sample(prob.domain, 64, "sobol", rng)
        f = _autograd(prob, module, pts, prob.requests[f"cond{i}"])
        for r in cond.residuals(f, prob.p):
            assert r.abs().max() < 1e-10 * _scale(f), f"{name}: condition {i} ({cond.kind}) off by {r.abs().max():.2e}"


def test_a_wrong_exact_solution_is_caught():
    """The checks above can fail: the heat solution with the wrong decay rate breaks the residual."""
    prob = PROBLEMS["heat1d"]
    wrong = prob.with_params(alpha=0.2)
    module = ExactModule(wrong)
    pts = prob.domain.sample(64, "sobol", np.random.default_rng(0))
    f = _autograd(prob, module, pts, prob.requests["residual"])
    assert prob.residual_terms(f)[0].abs().max() > 0.1


# -- grid references, by finite differences ----------------------------------------------------

def _fd(values: np.ndarray, h: float, axis: int) -> np.ndarray:
    """d/dx along ``axis`` on a uniform grid: fourth-order central inside, second order at the ends."""
    d = np.gradient(values, h, axis=axis, edge_order=2)
    v = np.moveaxis(values, axis, 0)
    inner = (v[:-4] - 8 * v[1:-3] + 8 * v[3:-1] - v[4:]) / (12 * h)
    out = np.moveaxis(d, axis, 0).copy()
    out[2:-2] = inner
    return np.moveaxis(out, 0, axis)


def grid_fields(problem, requests=None):
    """Fields at every reference grid point with finite-difference partials; also the grid shape."""
    ev = problem.evaluation()
    axes = list(ev.axes.values())
    shape = ev.shape
    wanted = close_under_prefixes(requests or problem.all_requests())
    data = {}
    for j, name in enumerate(problem.fields):
        grids = {(): ev.values[:, j].reshape(shape)}
        for idx in wanted.get(name, [()]):
            for k in range(1, len(idx) + 1):
                sub = idx[:k]
                if sub not in grids:
                    a = sub[-1]
                    grids[sub] = _fd(grids[sub[:-1]], axes[a][1] - axes[a][0], a)
        data[name] = {i: g for i, g in grids.items()}
    return ev, shape, data


def _as_fields(problem, ev, data, mask=None):
    pts = ev.points if mask is None else ev.points[mask.ravel()]
    sel = (lambda g: g.ravel()) if mask is None else (lambda g: g[mask])
    tens = {f: {i: torch.as_tensor(sel(g)) for i, g in d.items()} for f, d in data.items()}
    return Fields(problem.domain.names, problem.fields, torch.as_tensor(pts), tens)


def relative_residual(problem, f: Fields) -> float:
    """RMS of each residual over the RMS of its field's time derivative (every reference problem is
    an evolution equation: u_t balances the other terms), worst over the equations."""
    ti = problem.domain.index("t")
    return max(float(r.pow(2).mean().sqrt() / f.data[k][(ti,)].pow(2).mean().sqrt())
               for k, r in zip(problem.fields, problem.residual_terms(f), strict=True))


def _inner_fields(problem):
    ev, shape, data = grid_fields(problem)
    inner = np.zeros(shape, dtype=bool)
    inner[tuple(slice(3, -3) for _ in shape)] = True
    return _as_fields(problem, ev, data, inner)


# Measured: ODEs 2e-8 (fourth-order differences on 1001 times); Allen–Cahn 7.5e-4 (its interfaces
# are about one grid cell wide). Burgers' front is thinner than its grid cell, so finite
# differences cannot resolve it there: its residual is checked at finer spacing below instead.
GRID_TOL = {"allen-cahn": 2e-3}
GRID_CHECKED = [n for n in REFERENCE if n not in ("burgers", "burgers-inverse")]  # the same reference as burgers


@pytest.mark.parametrize("name", GRID_CHECKED)
def test_reference_satisfies_residual(name):
    prob = PROBLEMS[name]
    f = _inner_fields(prob)
    worst = relative_residual(prob, f)
    assert worst < GRID_TOL.get(name, 1e-6), f"{name}: relative residual {worst:.2e} on the reference grid"
    # and the check discriminates: 1.2 times the first parameter gives a clearly larger residual
    key = next(iter(prob.params))
    bad = relative_residual(prob.with_params(**{key: prob.params[key] * 1.2}), f)
    assert bad > 3 * worst, f"{name}: residual check cannot tell {key} from 1.2 {key}"


@pytest.mark.parametrize("name", REFERENCE)
def test_reference_satisfies_conditions(name):
    prob = PROBLEMS[name]
    ev, shape, data = grid_fields(prob)
    for cond in prob.conditions:
        axis = prob.domain.index(cond.on)
        index = [slice(None)] * len(shape)
        blocks = []
        for side in cond.sides():
            mask = np.zeros(shape, dtype=bool)
            index[axis] = 0 if side == "lo" else -1
            mask[tuple(index)] = True
            blocks.append(mask)
        if isinstance(cond, Periodic):
            lo, hi = (_as_fields(prob, ev, data, m) for m in blocks)
            f = Fields(lo.coords, lo.fields, torch.cat([lo.points, hi.points]),
                       {k: {i: torch.cat([lo.data[k][i], hi.data[k][i]]) for i in lo.data[k]} for k in lo.data})
            # the periodic slope of Allen–Cahn's initial data is not periodic; later times are
            tol = {0: 1e-12, 1: 2e-2}
            for n, r in enumerate(cond.residuals(f, prob.p)):
                order = n % (cond.derivatives + 1)
                assert r[1:].abs().max() < tol[order] * _scale(f), f"{name}: periodic condition, order {order}"
            continue
        for mask in blocks:
            f = _as_fields(prob, ev, data, mask)
            for r in cond.residuals(f, prob.p):
                assert r.abs().max() < 1e-8, f"{name}: {cond.kind} off by {r.abs().max():.2e}"


# -- the reference methods themselves ------------------------------------------------------------

def test_burgers_reference_residual_with_exact_derivatives():
    """Cole–Hopf values differentiated by fine centred differences (h = 1e-4) at scattered points."""
    nu = 0.01 / np.pi
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.95, 0.95, 40)
    x = np.concatenate([x, [-0.01, 0.003, 0.02]])  # at the front
    h = 1e-4
    for t in (0.2, 0.5, 0.9):
        u = cole_hopf_burgers(x[:, None] + np.array([-h, 0, h]), np.array([t - h, t, t + h]), nu)
        u = u.reshape(len(x), 3, 3)  # [point, x offset, t offset]
        ut = (u[:, 1, 2] - u[:, 1, 0]) / (2 * h)
        ux = (u[:, 2, 1] - u[:, 0, 1]) / (2 * h)
        uxx = (u[:, 2, 1] - 2 * u[:, 1, 1] + u[:, 0, 1]) / h**2
        res = ut + u[:, 1, 1] * ux - nu * uxx
        scale = np.abs(u[:, 1, 1] * ux).max()
        assert np.abs(res).max() < 2e-4 * scale, f"t={t}: {np.abs(res).max():.2e} vs {scale:.2e}"


def test_burgers_hard_constraint_meets_its_conditions():
    prob = PROBLEMS["burgers"]
    hc = prob.hard_constraint
    assert {type(prob.conditions[i]) for i in hc.enforces} == {Initial, Dirichlet}
    x = torch.linspace(-1, 1, 11, dtype=torch.float64)
    raw = torch.randn(11, dtype=torch.float64)
    at_start = hc.transform(SimpleNamespace(x=x, t=torch.zeros_like(x)), raw)
    assert torch.allclose(at_start, -torch.sin(np.pi * x), atol=1e-15)
    ends = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    on_walls = hc.transform(SimpleNamespace(x=ends, t=torch.tensor([0.3, 0.7], dtype=torch.float64)), raw[:2])
    assert on_walls.abs().max() < 1e-14


def test_allen_cahn_etdrk4_converges_in_dt():
    u0 = lambda x: x**2 * np.cos(np.pi * x)
    _, _, a = solve_allen_cahn(u0, 1e-4, 5.0, n=512, dt=1e-3, saves=11)
    _, _, b = solve_allen_cahn(u0, 1e-4, 5.0, n=512, dt=5e-4, saves=11)
    assert np.abs(a - b).max() < 1e-6


def test_allen_cahn_reference_matches_a_finer_space_grid():
    """Doubling the Fourier modes changes the shipped reference little (algebraic at x = ±1, where the
    initial slope is not periodic)."""
    prob = PROBLEMS["allen-cahn"]
    ev = prob.evaluation()
    u = ev.values[:, 0].reshape(ev.shape)
    x, _, fine = solve_allen_cahn(lambda x: x**2 * np.cos(np.pi * x), 1e-4, 5.0, n=8192, dt=1e-3)
    fine = np.concatenate([fine[::16], fine[:1]])
    assert np.abs(u - fine).max() < 1e-4
    assert np.sqrt(np.mean((u - fine) ** 2)) < 1e-6


def test_ivp_reference_matches_a_closed_form():
    """The solve_ivp helper on the damped oscillator, whose exact solution is known."""
    prob = PROBLEMS["damped-oscillator"]
    p = prob.p
    ref = ivp_reference(lambda t, y, p: [y[1], -2 * p.zeta * p.omega * y[1] - p.omega**2 * y[0]],
                        lambda p: [1.0, 0.0], ("x", "v"), (0.0, 5.0))
    axes, vals = ref.solve(p)
    exact = prob.exact_values(axes["t"][:, None])[:, 0]
    assert np.abs(vals["x"] - exact).max() < 1e-9


def test_references_follow_parameter_overrides():
    prob = get_problem("burgers")
    other = prob.with_params(nu=0.05)
    a, b = prob.evaluation().values, other.evaluation().values
    assert np.abs(a - b).max() > 1e-2
    assert other.evaluation() is other.evaluation()  # cached per params
    assert relative_residual(other, _inner_fields(other)) < 2e-4  # measured 4.7e-5: the grid resolves this front


# -- descriptions --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_summary_and_metadata(name):
    prob = PROBLEMS[name]
    text = prob.summary()
    assert name in text and prob.equation and prob.description
    assert prob.reference_method and prob.reference_method in text
    r = prob.recipe
    assert r.width > 0 and r.depth > 0 and r.steps > 0 and r.points > 0 and r.lr > 0
    assert all(type(c) in (Dirichlet, Neumann, Initial, InitialRate, Periodic) for c in prob.conditions)
    doc = __import__(f"pinnlab.problems.{name.replace('-', '_')}", fromlist=["x"]).__doc__
    assert doc and len(doc.strip()) > 40


# -- references at scattered points (finite elements on non-box domains) --------------------------------

@pytest.mark.parametrize("name", FEM)
def test_fem_reference_meets_its_dirichlet_conditions_and_converges(name):
    pytest.importorskip("skfem")
    prob = PROBLEMS[name]
    rng = np.random.default_rng(3)
    for cond in prob.conditions:
        if not isinstance(cond, Dirichlet):
            continue
        pts = cond.sample(prob.domain, 200, "sobol", rng)
        vals = prob.reference.at(prob.p, pts)
        f = Fields(prob.domain.names, prob.fields, torch.as_tensor(pts),
                   {k: {(): torch.as_tensor(np.asarray(vals[k], dtype=float))} for k in cond.values})
        # exact at mesh nodes; between them a curved boundary's chord is off the curve by h^2 / 8R
        # (measured 4e-4 on poisson-holes' holes, h = 0.005); on ns-cylinder's cylinder that sagitta (2.5e-4
        # at h = 0.01) times the steep velocity gradient at the wall: measured 7.2e-3
        tol = {"ns-cylinder": 1e-2}.get(name, 1e-3)
        for r in cond.residuals(f, prob.p):
            assert r.abs().max() < tol, f"{name}: {cond.describe(prob.domain)} off by {r.abs().max():.2e}"
    text = prob.reference.check(prob.p)
    diffs = [float(w) for w in text.replace(",", " ").split() if w[:1].isdigit() and "e-" in w]
    # ns-cylinder: at h = 0.02 the chords of the r = 0.05 cylinder are off it by 1e-3 (2% of its radius)
    # and v is small, so the coarse mesh differs by 3e-2 there; its drag is checked in test_fem_flow
    assert diffs and max(diffs) < {"ns-cylinder": 4e-2}.get(name, 5e-3), text
    assert "reference check:" in prob.summary()


def test_fem_poisson_converges_to_an_exact_harmonic_function():
    """P2 on the L-shape (straight edges) against u = e^x sin y: third-order convergence in the mesh size."""
    pytest.importorskip("skfem")
    from pinnlab.fem import FemSolution, poisson, skfem
    from pinnlab.geometry import Polygon
    from pinnlab.geometry.mesh import mesh
    dom = Polygon([(-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)])
    exact = lambda x, y: np.exp(x) * np.sin(y)
    pts = dom.sample(4000, "sobol", np.random.default_rng(0))
    errs = []
    for h in (0.2, 0.1):
        p, t = mesh(dom, h)
        m = skfem().MeshTri(p.T.copy(), t.T.copy())
        parts = np.full(m.facets.shape[1], "", dtype=object)
        parts[m.boundary_facets()] = "boundary"
        sol = FemSolution(p, t, poisson({"boundary": exact})(m, parts, None))
        errs.append(np.abs(sol.at(pts)["u"] - exact(pts[:, 0], pts[:, 1])).max())
    assert errs[1] < 1e-4 and errs[0] / errs[1] > 5, errs
