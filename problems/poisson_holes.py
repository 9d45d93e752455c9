"""Laplace's equation on a plate with four holes (PINNacle's Poisson2d-C setup), FEM reference.

The square [-0.5, 0.5]² minus four disks of radius 0.1 centred at (±0.3, ±0.3); u = 1 on the
outer edges and u = 0 on the holes. No closed form: the reference is a P2 finite-element solution
(scikit-fem, an optional extra) on a boundary-fitted mesh, checked against a mesh twice as coarse.
The recipe imposes both boundary values exactly, through the holes' and edges' distance functions:
with ``--soft`` (conditions as loss terms) the network stays at the constant 0.5 between the two
boundary values (rel L2 0.54, seed 0), a local minimum of the symmetric problem; hard, 7.3e-4
(median of seeds 0-2, docs/geometry.md).
"""

from pinnlab import Box, Dirichlet, Problem, Recipe
from pinnlab.fem import fem_reference, poisson
from pinnlab.geometry import Disk, distance_constraint

CENTRES = [(0.3, 0.3), (-0.3, 0.3), (0.3, -0.3), (-0.3, -0.3)]
domain = Box(x=(-0.5, 0.5), y=(-0.5, 0.5)).rename("outer")
for c in CENTRES:
    domain = domain - Disk(c, 0.1, name="hole")
conditions = [Dirichlet(u=1.0, on="outer"), Dirichlet(u=0.0, on="hole")]

problem = Problem(
    name="poisson-holes",
    domain=domain,
    fields=("u",),
    residual=lambda f, p: f.u.xx + f.u.yy,
    conditions=conditions,
    reference=fem_reference("poisson-holes/laplace-1-0", domain, poisson({"outer": 1.0, "hole": 0.0}), h=0.005,
                            method="P2 Lagrange triangles"),
    equation="u_xx + u_yy = 0 on a square plate with four holes, u = 1 on the outer edges, u = 0 on the holes",
    description="Laplace's equation on [-0.5, 0.5]^2 minus four disks (r = 0.1 at (+-0.3, +-0.3)); FEM reference.",
    grid=101,
    recipe=Recipe(width=32, depth=3, steps=3000, lbfgs_steps=1000, lr=2e-3, points=2000, boundary_points=400,
                  hard=True),
    hard_constraint=distance_constraint(domain, "u", conditions),  # u = 1 and 0 blended by distance
)
