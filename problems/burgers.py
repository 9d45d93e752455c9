"""Viscous Burgers, u_t + u u_x = ν u_xx with ν = 0.01/π: the classic PINN benchmark.

A sine steepens into a near-shock at x = 0 (its slope there is -34 at t = 1/π, about -150 at
t = 0.5 and -85 at t = 1). The reference is the Cole–Hopf formula by Gauss–Hermite quadrature on
DeepXDE's 256 × 100 grid (t from 0 to 0.99).
The hard constraint u = -sin πx + t(1 - x²) N satisfies the initial and boundary conditions.
"""

import math

import torch

from pinnlab import Box, Dirichlet, HardConstraint, Initial, Problem, Recipe
from pinnlab.references import burgers_cole_hopf

problem = Problem(
    name="burgers",
    domain=Box(x=(-1.0, 1.0), t=(0.0, 1.0)),
    fields=("u",),
    params={"nu": 0.01 / math.pi},
    residual=lambda f, p: f.u.t + f.u * f.u.x - p.nu * f.u.xx,
    conditions=[Initial(u=lambda x: -torch.sin(math.pi * x)), Dirichlet(u=0.0, on="x")],
    reference=burgers_cole_hopf(),
    equation="u_t + u u_x = nu u_xx, u(x, 0) = -sin(pi x), u(-1, t) = u(1, t) = 0",
    description="Viscous Burgers equation forming a steep front at x = 0.",
    # SSBroyden after Adam (docs/accuracy.md): seed 0, rel L2 2.5e-4 where L-BFGS's 2000 iterations reach 1.3e-3
    recipe=Recipe(width=32, depth=4, steps=5000, lbfgs_steps=2000, lr=2e-3, points=4000, boundary_points=400,
                  optimizer="ssbroyden"),
    hard_constraint=HardConstraint(lambda c, u: -torch.sin(math.pi * c.x) + c.t * (1 - c.x**2) * u, enforces=(0, 1)),
)
