"""Laplace's equation on the L-shape with the corner-singular exact solution r^(2/3) sin(2θ/3).

The square [-1, 1]² without its lower right quarter. At the re-entrant corner (the origin) the
solution's gradient is unbounded (it grows like r^(-1/3)): the classic test of how a method copes
with a singularity. u is given on the whole boundary by the same formula (zero on the two edges
that meet at the corner).

The residual is r² Δu, the same equation away from the corner: a smooth network cannot follow the
singularity, and the plain residual's mean square is dominated by the few points next to the
corner, which drags the fit everywhere else. r² Δu = (r ∂r)² u + ∂θ² u weighs every ring around
the corner alike. That weight leaves the network loose right at the corner, so the recipe puts a
fifth of the points within 0.25 of it (``Refined``) and ends with SSBroyden on new points every 500
iterations. rel L2, seed 0, on a loaded shared 2-core machine (docs/geometry.md has all the runs):
L-BFGS 4.0e-3; SSBroyden 1.6e-3, and 2.8e-3 with new points every 500 iterations (the corner
drifts); that with the corner points too 4.8e-4, in about 6 minutes.
"""

import math

import torch

from pinnlab import Dirichlet, Problem, Recipe
from pinnlab.geometry import Polygon, Refined


def exact(x, y):
    theta = torch.atan2(y, x)
    theta = torch.where(theta < 0, theta + 2 * math.pi, theta)  # θ in [0, 3π/2] on the L
    return (x * x + y * y) ** (1 / 3) * torch.sin(2 * theta / 3)


problem = Problem(
    name="poisson-lshape",
    # a fifth of the points within 0.25 of the corner, where the error lives (the rest uniform)
    domain=Refined(Polygon([(-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)]), at=(0, 0), radius=0.25, share=0.2),
    fields=("u",),
    residual=lambda f, p: (f.x * f.x + f.y * f.y) * (f.u.xx + f.u.yy),
    conditions=[Dirichlet(u=exact)],
    exact=exact,
    equation="r^2 (u_xx + u_yy) = 0 on the L-shape, u = r^(2/3) sin(2 theta/3) on its boundary",
    description="Laplace's equation on [-1, 1]^2 minus [0, 1] x [-1, 0]; exact solution r^(2/3) sin(2 theta/3).",
    grid=101,
    recipe=Recipe(width=32, depth=3, steps=3000, lbfgs_steps=2000, lr=2e-3, points=2000, boundary_points=400,
                  optimizer="ssbroyden", qn_restart=500),
)
