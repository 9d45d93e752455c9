"""Laplace's equation on the L-shape with the corner-singular exact solution r^(2/3) sin(2θ/3).

The square [-1, 1]² without its lower right quarter. At the re-entrant corner (the origin) the
solution's gradient is unbounded (it grows like r^(-1/3)): the classic test of how a method copes
with a singularity. u is given on the whole boundary by the same formula (zero on the two edges
that meet at the corner).
"""

import math

import torch

from pinnlab import Dirichlet, Problem, Recipe
from pinnlab.geometry import Polygon


def exact(x, y):
    theta = torch.atan2(y, x)
    theta = torch.where(theta < 0, theta + 2 * math.pi, theta)  # θ in [0, 3π/2] on the L
    return (x * x + y * y) ** (1 / 3) * torch.sin(2 * theta / 3)


problem = Problem(
    name="poisson-lshape",
    domain=Polygon([(-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)]),
    fields=("u",),
    residual=lambda f, p: f.u.xx + f.u.yy,
    conditions=[Dirichlet(u=exact)],
    exact=exact,
    equation="u_xx + u_yy = 0 on the L-shape, u = r^(2/3) sin(2 theta/3) on its boundary",
    description="Laplace's equation on [-1, 1]^2 minus [0, 1] x [-1, 0]; exact solution r^(2/3) sin(2 theta/3).",
    grid=101,
    recipe=Recipe(width=32, depth=3, steps=3000, lbfgs_steps=2000, lr=2e-3, points=2000, boundary_points=400),
)
