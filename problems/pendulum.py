"""The nonlinear pendulum, θ'' = -(g/L) sin θ, as a first-order system in (θ, ω).

Released from θ0 = 2 rad (115°) the sin θ term matters: the period is about 30% longer than
the small-angle one. First-order form so the neural-ODE solver can learn it too.
"""

import math

import torch

from pinnlab import Box, Initial, Problem, Recipe
from pinnlab.references import ivp_reference

problem = Problem(
    name="pendulum",
    domain=Box(t=(0.0, 5.0)),
    fields=("theta", "omega"),
    params={"g": 9.81, "L": 1.0, "theta0": 2.0},
    residual=lambda f, p: (f.theta.t - f.omega, f.omega.t + p.g / p.L * torch.sin(f.theta)),
    conditions=[Initial(theta=lambda p: p.theta0, omega=0.0)],
    reference=ivp_reference(lambda t, u, p: [u[1], -p.g / p.L * math.sin(u[0])],
                            lambda p: [p.theta0, 0.0], ("theta", "omega"), (0.0, 5.0)),
    equation="theta' = omega, omega' = -(g/L) sin(theta)",
    description="Large-amplitude pendulum released from rest at theta0 = 2 rad, t in [0, 5] (about two swings).",
    recipe=Recipe(width=32, depth=3, steps=4000, lbfgs_steps=1000, lr=5e-3, points=512, boundary_points=1),
)
