"""The Navier–Stokes finite-element reference (Taylor–Hood, Newton) against independent facts: Poiseuille
flow exactly, mass conservation through every cross-section, the DFG 2D-1 drag; ns-cylinder dry-runs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("skfem")

from pinnlab import Box, SolveConfig, solve  # noqa: E402
from pinnlab.fem import FemSolution, skfem  # noqa: E402
from pinnlab.fem_flow import forces, navier_stokes  # noqa: E402
from pinnlab.fields import Params  # noqa: E402
from pinnlab.geometry import Disk  # noqa: E402
from pinnlab.geometry.mesh import mesh  # noqa: E402

H, U, NU = 0.41, 0.3, 1e-3


def inflow(x, y):
    return 4 * U * y * (H - y) / H**2


def _solve(domain, h, velocity):
    pts, tri = mesh(domain, h)
    m = skfem().MeshTri(pts.T.copy(), tri.T.copy())
    facets = m.boundary_facets()
    parts = np.full(m.facets.shape[1], "", dtype=object)
    parts[facets] = domain.part_of(m.p[:, m.facets[:, facets]].mean(axis=1).T)
    fields = navier_stokes(NU, velocity, outlet=["outlet"])(m, parts, Params(nu=NU))
    return m, parts, fields, FemSolution(pts, tri, fields)


def channel(length):
    return Box(x=(0.0, length), y=(0.0, H)).rename(x_lo="inlet", x_hi="outlet", y_lo="wall", y_hi="wall")


def test_an_empty_channel_is_poiseuille_flow_to_rounding():
    """u = 4U y(H - y)/H², v = 0, p = 8νU(L - x)/H² solves Navier–Stokes and lies in P2/P1 exactly."""
    sol = _solve(channel(0.5), 0.05, {"inlet": (inflow, 0.0), "wall": (0.0, 0.0)})[3]
    pts = channel(0.5).sample(500, "sobol", np.random.default_rng(0))
    got = sol.at(pts)
    x, y = pts[:, 0], pts[:, 1]
    np.testing.assert_allclose(got["u"], inflow(x, y), atol=1e-10)
    np.testing.assert_allclose(got["v"], 0.0, atol=1e-10)
    np.testing.assert_allclose(got["p"], 8 * NU * U * (0.5 - x) / H**2, atol=1e-10)


@pytest.fixture(scope="module")
def cylinder():
    domain = channel(1.1) - Disk((0.2, 0.2), 0.05, name="cylinder")
    return _solve(domain, 0.02, {"inlet": (inflow, 0.0), "wall": (0.0, 0.0), "cylinder": (0.0, 0.0)})


def test_the_flow_past_the_cylinder_conserves_mass_through_every_cross_section(cylinder):
    sol = cylinder[3]
    y = np.linspace(0.0, H, 801)
    flux_in = 2 / 3 * U * H  # the parabola's integral
    for x in (0.05, 0.4, 0.7, 1.05):  # upstream, behind the cylinder, downstream, at the outlet
        u = sol.at(np.column_stack([np.full_like(y, x), y]))["u"]
        flux = float(np.sum((u[1:] + u[:-1]) / 2 * np.diff(y)))
        assert flux == pytest.approx(flux_in, rel=2e-3), x


def test_the_drag_matches_the_dfg_benchmark(cylinder):
    """Schäfer & Turek (1996), 2D-1: c_D = 5.5795, c_L = 0.0106 (their channel is 2.2 long; the
    disturbance of the cylinder decays within this shorter one, h = 0.02 here)."""
    m, parts, fields, _ = cylinder
    drag, lift = forces(m, fields, NU, parts, "cylinder")
    mean, diameter = 2 / 3 * U, 0.1
    cd, cl = 2 * drag / (mean**2 * diameter), 2 * lift / (mean**2 * diameter)
    assert cd == pytest.approx(5.5795, rel=0.03)
    assert abs(cl) < 0.03


@pytest.mark.parametrize("hard", [False, True])
def test_ns_cylinder_dry_runs(tmp_path, hard):
    res = solve("ns-cylinder", SolveConfig(width=8, depth=2, steps=3, lbfgs_steps=0, points=64, boundary_points=16,
                                           hard=hard), out=tmp_path / "run")
    assert res.report["status"] == "completed"
    assert set(res.report["per_field"]) == {"u", "v", "p"}
    assert 0 < res.report["rel_l2"] < 10
