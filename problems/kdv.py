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
    # a 32 x 3 net, SSBroyden after Adam (docs/accuracy.md), seed 0: rel L2 8.0e-8 in 76 CPU s, where the old
    # 48 x 4 L-BFGS recipe cut to 1000 Adam + 300 L-BFGS steps reached 7.3e-4 in 96
    recipe=Recipe(width=32, depth=3, steps=1000, lbfgs_steps=1000, lr=2e-3, points=2000, boundary_points=200,
                  optimizer="ssbroyden"),
)
