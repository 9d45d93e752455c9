"""Steady channel flow past a cylinder at Reynolds number 20 (the DFG 2D-1 setup, channel cut at x = 1.1).

A channel 0.41 high with a cylinder of diameter 0.1 at (0.2, 0.2), a parabolic inflow of peak 0.3
(mean 0.2: Re = 0.2 · 0.1 / ν = 20 at ν = 1e-3), no slip on the walls and the cylinder, and at the
outlet p = 0 with ∂u/∂n = ∂v/∂n = 0. A steady recirculation sits behind the cylinder. The reference
is a Taylor–Hood (P2/P1) finite-element solution (scikit-fem, Newton iterations from Stokes).
``--hard`` imposes the velocity on the inlet, walls and cylinder through distance functions.
"""

from pinnlab import Box, Dirichlet, Neumann, Problem, Recipe
from pinnlab.fem import fem_reference
from pinnlab.fem_flow import navier_stokes
from pinnlab.geometry import Disk, distance_constraint

H, L, U = 0.41, 1.1, 0.3  # channel height and length, peak inflow speed
domain = (Box(x=(0.0, L), y=(0.0, H)).rename(x_lo="inlet", x_hi="outlet", y_lo="wall", y_hi="wall")
          - Disk((0.2, 0.2), 0.05, name="cylinder"))


def inflow(y):
    return 4 * U * y * (H - y) / H**2


conditions = [
    Dirichlet(u=inflow, v=0.0, on="inlet"),
    Dirichlet(u=0.0, v=0.0, on=("wall", "cylinder")),
    Dirichlet(p=0.0, on="outlet"),
    Neumann(u=0.0, v=0.0, on="outlet"),
]


def residual(f, p):
    u, v = f.u, f.v
    return (u * u.x + v * u.y + f.p.x - p.nu * (u.xx + u.yy),
            u * v.x + v * v.y + f.p.y - p.nu * (v.xx + v.yy),
            u.x + v.y)


problem = Problem(
    name="ns-cylinder",
    domain=domain,
    fields=("u", "v", "p"),
    params={"nu": 1e-3},
    residual=residual,
    conditions=conditions,
    reference=fem_reference(
        f"ns-cylinder/L{L}", domain,
        navier_stokes(lambda p: p.nu, {"inlet": (lambda x, y: inflow(y), 0.0), "wall": (0.0, 0.0),
                                       "cylinder": (0.0, 0.0)}, outlet=["outlet"]),
        h=0.01, method="Taylor-Hood P2/P1, Newton"),
    equation="(u.grad) u + grad p = nu laplace u, div u = 0 past a cylinder in a channel (Re 20), outlet p = 0",
    description="Steady flow past a cylinder at Re 20 (DFG 2D-1 geometry, channel [0, 1.1] x [0, 0.41]); FEM reference.",
    grid={"x": 221, "y": 83},  # 0.005 apart
    recipe=Recipe(width=48, depth=4, steps=4000, lbfgs_steps=1000, lr=2e-3, points=4000, boundary_points=400),
    # velocity only: p = 0 on the outlet stays a loss term, as the outflow's Neumann condition is evaluated
    # there and the outlet's distance function has no finite derivative on its own zero set
    hard_constraint=distance_constraint(domain, ("u", "v", "p"), conditions[:2]),
)
