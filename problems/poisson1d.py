"""1-D Poisson, -u'' = π² sin πx on [-1, 1] with u(±1) = 0: the "hello world" of PINNs.

Exact solution sin πx. A small tanh network gets the relative L2 error under 1e-3 in seconds,
which makes it the smoke test for every layer kind and derivative engine.
"""

import math

import torch

from pinnlab import Box, Dirichlet, Problem, Recipe

problem = Problem(
    name="poisson1d",
    domain=Box(x=(-1.0, 1.0)),
    fields=("u",),
    residual=lambda f, p: -f.u.xx - math.pi**2 * torch.sin(math.pi * f.x),
    conditions=[Dirichlet(u=0.0, on="x")],
    exact=lambda x: torch.sin(math.pi * x),
    equation="-u'' = pi^2 sin(pi x) on [-1, 1], u(-1) = u(1) = 0",
    description="1-D Poisson problem with exact solution sin(pi x).",
    grid=1001,
    recipe=Recipe(width=32, depth=3, steps=2000, lbfgs_steps=500, lr=2e-3, points=256, boundary_points=2),
)
