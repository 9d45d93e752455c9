"""1-D wave equation, u_tt = c² u_xx, from rest with two standing-wave modes.

Second order in time: needs the initial value and the initial rate u_t(x, 0) = 0. The two
modes (1 and 3) oscillate at different frequencies, so the error shows whether the network
resolves both.
"""

import math

import torch

from pinnlab import Box, Dirichlet, Initial, InitialRate, Problem, Recipe


def exact(x, t, p):
    return (torch.sin(math.pi * x) * torch.cos(p.c * math.pi * t)
            + 0.5 * torch.sin(3 * math.pi * x) * torch.cos(3 * p.c * math.pi * t))


problem = Problem(
    name="wave1d",
    domain=Box(x=(0.0, 1.0), t=(0.0, 1.0)),
    fields=("u",),
    params={"c": 1.0},
    residual=lambda f, p: f.u.tt - p.c**2 * f.u.xx,
    conditions=[Initial(u=lambda x: torch.sin(math.pi * x) + 0.5 * torch.sin(3 * math.pi * x)),
                InitialRate(u=0.0), Dirichlet(u=0.0, on="x")],
    exact=exact,
    equation="u_tt = c^2 u_xx, u(0, t) = u(1, t) = 0, u(x, 0) = sin(pi x) + sin(3 pi x)/2, u_t(x, 0) = 0",
    description="Wave equation on [0, 1] x [0, 1] with two standing modes; exact solution.",
    grid=101,
    # a 32 x 3 net, SSBroyden after Adam (docs/accuracy.md), seed 0: rel L2 4.5e-3 in 56 CPU s, where the old
    # 48 x 4 L-BFGS recipe cut to 1000 Adam + 300 L-BFGS steps (67 CPU s) was still at 0.21
    recipe=Recipe(width=32, depth=3, steps=1000, lbfgs_steps=1000, lr=2e-3, points=2000, boundary_points=200,
                  optimizer="ssbroyden"),
)
