"""1-D heat equation, u_t = α u_xx, with u = 0 at both ends and u(x, 0) = sin πx.

The simplest time-dependent PDE: the initial sine keeps its shape and decays like
exp(-απ²t). Time is just another input coordinate for a PINN.
"""

import math

import torch

from pinnlab import Box, Dirichlet, Initial, Problem, Recipe

problem = Problem(
    name="heat1d",
    domain=Box(x=(0.0, 1.0), t=(0.0, 1.0)),
    fields=("u",),
    params={"alpha": 0.1},
    residual=lambda f, p: f.u.t - p.alpha * f.u.xx,
    conditions=[Initial(u=lambda x: torch.sin(math.pi * x)), Dirichlet(u=0.0, on="x")],
    exact=lambda x, t, p: torch.exp(-p.alpha * math.pi**2 * t) * torch.sin(math.pi * x),
    equation="u_t = alpha u_xx, u(0, t) = u(1, t) = 0, u(x, 0) = sin(pi x)",
    description="Heat equation on [0, 1] x [0, 1]; exact solution exp(-alpha pi^2 t) sin(pi x).",
    grid=101,
    # SSBroyden after Adam (docs/accuracy.md), seed 0: rel L2 9.6e-7 in 55 CPU s, where 1000 L-BFGS
    # iterations reached 1.5e-4 in 71
    recipe=Recipe(width=32, depth=3, steps=3000, lbfgs_steps=500, lr=2e-3, points=2000, boundary_points=200,
                  optimizer="ssbroyden"),
)
