"""Exponential decay, u' = -k u: the smallest possible PINN problem.

A first check that a layer kind or solver works at all: one field, one coordinate, one initial
value and a closed-form solution, so any error is the method's, not the problem's.
"""

import torch

from pinnlab import Box, Initial, Problem, Recipe

problem = Problem(
    name="decay",
    domain=Box(t=(0.0, 4.0)),
    fields=("u",),
    params={"k": 1.0},
    residual=lambda f, p: f.u.t + p.k * f.u,
    conditions=[Initial(u=1.0)],
    exact=lambda t, p: torch.exp(-p.k * t),
    equation="u' = -k u, u(0) = 1",
    description="Exponential decay on t in [0, 4]; exact solution exp(-k t).",
    grid=401,
    recipe=Recipe(width=16, depth=2, steps=1000, lbfgs_steps=300, lr=1e-2, points=128, boundary_points=1),
)
