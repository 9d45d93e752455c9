"""Korteweg–de Vries, u_t + 6 u u_x + u_xxx = 0, with a travelling soliton.

Third order in space: the problem that exercises third derivatives (u_xxx) in the derivative
engines. The soliton u = (c/2) sech²(√c/2 (x - c t - x0)) keeps its shape while moving.
"""

import torch

from pinnlab import Box, Dirichlet, Initial, Neumann, Problem, Recipe


def soliton(x, t, p):
    return p.c / 2 / torch.cosh(p.c**0.5 / 2 * (x - p.c * t - p.x0)) ** 2


def soliton_x(x, t, p):
    s = p.c**0.5 / 2 * (x - p.c * t - p.x0)
    return -p.c**1.5 / 2 * torch.tanh(s) / torch.cosh(s) ** 2


problem = Problem(
    name="kdv",
    domain=Box(x=(-8.0, 8.0), t=(0.0, 2.0)),
    fields=("u",),
    params={"c": 2.0, "x0": -2.0},
    residual=lambda f, p: f.u.t + 6 * f.u * f.u.x + f.u.xxx,
    conditions=[Initial(u=lambda x, p: soliton(x, 0.0, p)), Dirichlet(u=soliton, on="x"),
                Neumann(u=soliton_x, on="x", side="hi")],
    exact=soliton,
    equation="u_t + 6 u u_x + u_xxx = 0, soliton u = (c/2) sech^2(sqrt(c)/2 (x - c t - x0))",
    description="KdV soliton moving from x = -2 to x = 2 on [-8, 8] x [0, 2]; exact solution.",
    grid=101,
    recipe=Recipe(width=48, depth=4, steps=5000, lbfgs_steps=1500, lr=2e-3, points=3000, boundary_points=300),
)
