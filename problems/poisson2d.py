"""2-D Poisson, -Δu = 2π² sin πx sin πy on [-1, 1]² with u = 0 on the boundary.

Exact solution sin πx sin πy (four lobes of alternating sign). The first problem here with two
space coordinates and boundary conditions on four faces.
"""

import math

import torch

from pinnlab import Box, Dirichlet, Problem, Recipe

problem = Problem(
    name="poisson2d",
    domain=Box(x=(-1.0, 1.0), y=(-1.0, 1.0)),
    fields=("u",),
    residual=lambda f, p: -(f.u.xx + f.u.yy) - 2 * math.pi**2 * torch.sin(math.pi * f.x) * torch.sin(math.pi * f.y),
    conditions=[Dirichlet(u=0.0, on="x"), Dirichlet(u=0.0, on="y")],
    exact=lambda x, y: torch.sin(math.pi * x) * torch.sin(math.pi * y),
    equation="-(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on [-1, 1]^2, u = 0 on the boundary",
    description="2-D Poisson problem with exact solution sin(pi x) sin(pi y).",
    grid=101,
    # SSBroyden after Adam (docs/accuracy.md), seed 0: rel L2 3.1e-4 in 60 CPU s, where 1000 L-BFGS
    # iterations reached 2.3e-3 in 72
    recipe=Recipe(width=32, depth=3, steps=3000, lbfgs_steps=500, lr=2e-3, points=2000, boundary_points=200,
                  optimizer="ssbroyden"),
)
