"""Underdamped oscillator, x'' + 2ζω x' + ω² x = 0: a second-order ODE started from rest.

Needs both an initial value and an initial rate (x'(0) = 0), and the decaying oscillation
makes errors in phase and amplitude easy to see.
"""

import torch

from pinnlab import Box, Initial, InitialRate, Problem, ProblemError, Recipe


def exact(t, p):
    if not 0 <= p.zeta < 1:
        raise ProblemError(f"damped-oscillator: zeta={p.zeta:g} is not underdamped (allowed: 0 <= zeta < 1)")
    wd = p.omega * (1 - p.zeta**2) ** 0.5
    return torch.exp(-p.zeta * p.omega * t) * (torch.cos(wd * t) + p.zeta * p.omega / wd * torch.sin(wd * t))


problem = Problem(
    name="damped-oscillator",
    domain=Box(t=(0.0, 5.0)),
    fields=("x",),
    params={"zeta": 0.1, "omega": 4.0},
    residual=lambda f, p: f.x.tt + 2 * p.zeta * p.omega * f.x.t + p.omega**2 * f.x,
    conditions=[Initial(x=1.0), InitialRate(x=0.0)],
    exact=exact,
    equation="x'' + 2 zeta omega x' + omega^2 x = 0, x(0) = 1, x'(0) = 0",
    description="Damped oscillator (zeta = 0.1: about three periods on t in [0, 5]); exact solution.",
    grid=1001,
    recipe=Recipe(width=32, depth=3, steps=3000, lbfgs_steps=1000, lr=5e-3, points=512, boundary_points=1),
)
