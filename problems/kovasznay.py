"""Kovasznay flow: steady incompressible Navier–Stokes behind a grid of cylinders, Re = 20.

Three fields (u, v, p) and three equations (two momentum, one continuity). Velocity is given on
the whole box boundary; pressure, fixed only up to a constant otherwise, is given at the outlet.
"""

import math

import torch

from pinnlab import Box, Dirichlet, Problem, Recipe


def lam(p):
    return p.Re / 2 - math.sqrt(p.Re**2 / 4 + 4 * math.pi**2)


def exact(x, y, p):
    e = torch.exp(lam(p) * x)
    return (1 - e * torch.cos(2 * math.pi * y), lam(p) / (2 * math.pi) * e * torch.sin(2 * math.pi * y),
            (1 - e**2) / 2)


def navier_stokes(f, p):
    return (f.u * f.u.x + f.v * f.u.y + f.p.x - (f.u.xx + f.u.yy) / p.Re,
            f.u * f.v.x + f.v * f.v.y + f.p.y - (f.v.xx + f.v.yy) / p.Re,
            f.u.x + f.v.y)


velocity = {"u": lambda x, y, p: exact(x, y, p)[0], "v": lambda x, y, p: exact(x, y, p)[1]}

problem = Problem(
    name="kovasznay",
    domain=Box(x=(-0.5, 1.0), y=(-0.5, 1.5)),
    fields=("u", "v", "p"),
    params={"Re": 20.0},
    residual=navier_stokes,
    conditions=[Dirichlet(on="x", **velocity), Dirichlet(on="y", **velocity),
                Dirichlet(on="x", side="hi", p=lambda x, y, p: exact(x, y, p)[2])],
    exact=exact,
    equation="(u.grad) u + grad p = (1/Re) laplace u, div u = 0 (steady Navier-Stokes)",
    description="Kovasznay flow at Re = 20 on [-0.5, 1] x [-0.5, 1.5]; exact solution.",
    grid=101,
    # a 32 x 3 net, SSBroyden after Adam (docs/accuracy.md), seed 0: rel L2 1.5e-4 in 65 CPU s, where the old
    # 50 x 4 L-BFGS recipe cut to 1500 Adam + 450 L-BFGS steps reached 5.7e-3 in 103
    recipe=Recipe(width=32, depth=3, steps=1000, lbfgs_steps=1000, lr=2e-3, points=2000, boundary_points=200,
                  optimizer="ssbroyden"),
)
