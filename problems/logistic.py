"""Logistic growth, u' = r u (1 - u/K): the simplest nonlinear ODE.

An S-curve from u0 up to the carrying capacity K: slow start, fast middle, flat end, so a
network must place its resolution where the solution turns.
"""

import torch

from pinnlab import Box, Initial, Problem, Recipe

problem = Problem(
    name="logistic",
    domain=Box(t=(0.0, 10.0)),
    fields=("u",),
    params={"r": 1.0, "K": 1.0, "u0": 0.1},
    residual=lambda f, p: f.u.t - p.r * f.u * (1 - f.u / p.K),
    conditions=[Initial(u=lambda p: p.u0)],
    exact=lambda t, p: p.K / (1 + (p.K / p.u0 - 1) * torch.exp(-p.r * t)),
    equation="u' = r u (1 - u/K), u(0) = u0",
    description="Logistic growth on t in [0, 10]; exact solution K / (1 + (K/u0 - 1) exp(-r t)).",
    grid=1001,
    recipe=Recipe(width=32, depth=2, steps=2000, lbfgs_steps=500, lr=5e-3, points=256, boundary_points=1),
)
