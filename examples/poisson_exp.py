"""A user's problem: 2-D Poisson on the unit square with a non-symmetric forcing and boundary data.

-Δu = (π² - 1) eˣ sin πy with u = eˣ sin πy on the boundary (zero on y = 0, 1; eˣ-shaped lobes
elsewhere). Written as a user would (no recipe: the general default trains it); not used to choose
any recipe or default (docs/accuracy.md). Run: ``pinnlab solve examples/poisson_exp.py``.
"""

import math

import torch

from pinnlab import Box, Dirichlet, Problem


def solution(x, y):
    return torch.exp(x) * torch.sin(math.pi * y)


problem = Problem(
    name="poisson-exp",
    domain=Box(x=(0.0, 1.0), y=(0.0, 1.0)),
    fields=("u",),
    residual=lambda f, p: -(f.u.xx + f.u.yy) - (math.pi**2 - 1) * solution(f.x, f.y),
    conditions=[Dirichlet(u=solution, on="x"), Dirichlet(u=0.0, on="y")],
    exact=solution,
    equation="-(u_xx + u_yy) = (pi^2 - 1) e^x sin(pi y) on [0, 1]^2, u = e^x sin(pi y) on the boundary",
    description="2-D Poisson with exact solution e^x sin(pi y) (a user's problem, no recipe).",
)
