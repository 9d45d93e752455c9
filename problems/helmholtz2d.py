"""2-D Helmholtz, u_xx + u_yy + k² u = q on [-1, 1]², with u = sin(a1 πx) sin(a2 πy).

The manufactured solution of Wang, Teng & Perdikaris (2021) with a1 = 1, a2 = 4: four times
more oscillation in y than in x, a standard test of gradient pathologies in PINN training.
"""

import math

import torch

from pinnlab import Box, Dirichlet, Problem, Recipe


def exact(x, y, p):
    return torch.sin(p.a1 * math.pi * x) * torch.sin(p.a2 * math.pi * y)


def source(f, p):
    return (p.k**2 - (p.a1**2 + p.a2**2) * math.pi**2) * exact(f.x, f.y, p)


problem = Problem(
    name="helmholtz2d",
    domain=Box(x=(-1.0, 1.0), y=(-1.0, 1.0)),
    fields=("u",),
    params={"a1": 1.0, "a2": 4.0, "k": 1.0},  # integer a1, a2 keep u = 0 on the boundary
    residual=lambda f, p: f.u.xx + f.u.yy + p.k**2 * f.u - source(f, p),
    conditions=[Dirichlet(u=0.0, on="x"), Dirichlet(u=0.0, on="y")],
    exact=exact,
    equation="u_xx + u_yy + k^2 u = q on [-1, 1]^2, u = 0 on the boundary, u = sin(a1 pi x) sin(a2 pi y)",
    description="Helmholtz equation with a manufactured solution (a1 = 1, a2 = 4, k = 1).",
    grid=101,
    # a 32 x 3 net, SSBroyden after Adam (docs/accuracy.md), seed 0: rel L2 2.6e-3 in 57 CPU s, where the old
    # 64 x 4 L-BFGS recipe cut to 700 Adam + 210 L-BFGS steps (96 CPU s) was still at 0.62
    recipe=Recipe(width=32, depth=3, steps=1000, lbfgs_steps=1000, lr=2e-3, points=2000, boundary_points=200,
                  optimizer="ssbroyden"),
)
