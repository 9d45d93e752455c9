"""A user's problem: Fisher–KPP reaction–diffusion, u_t = u_xx + u (1 - u), a travelling front.

Written as a user would (no recipe: the general default trains it). The exact solution is the
Ablowitz–Zeppetella wave u = (1 + exp(x/√6 - 5t/6))⁻², which fixes the initial and boundary values.
Not used to choose any recipe or default (docs/accuracy.md). Run: ``pinnlab solve examples/fisher_kpp.py``.
"""

import math

import torch

from pinnlab import Box, Dirichlet, Initial, Problem


def wave(x, t):
    return (1 + torch.exp(x / math.sqrt(6) - 5 * t / 6)) ** -2


problem = Problem(
    name="fisher-kpp",
    domain=Box(x=(-10.0, 10.0), t=(0.0, 4.0)),
    fields=("u",),
    residual=lambda f, p: f.u.t - f.u.xx - f.u * (1 - f.u),
    conditions=[Initial(u=lambda x: wave(x, torch.zeros_like(x))), Dirichlet(u=wave, on="x")],
    exact=wave,
    equation="u_t = u_xx + u (1 - u), u = (1 + exp(x/sqrt 6 - 5t/6))^-2 at t = 0 and x = -10, 10",
    description="Fisher-KPP travelling front (a user's problem, no recipe).",
)
