"""Burgers' viscosity learned from measurements, as in Raissi et al. (2019): u_t + u u_x = ν u_xx.

The equation, initial and boundary conditions are those of ``burgers``; ν is unknown. The run starts
from ν = 0.01 (three times the truth 0.01/π) and learns it with the network from 2000 points drawn
from the Cole–Hopf reference (``--noise 0.01`` adds 1% noise, ``--data FILE`` takes your own).
"""

import math

import torch

from pinnlab import Box, Dirichlet, Initial, Problem, Recipe, Unknown
from pinnlab.references import burgers_cole_hopf

problem = Problem(
    name="burgers-inverse",
    domain=Box(x=(-1.0, 1.0), t=(0.0, 1.0)),
    fields=("u",),
    params={"nu": Unknown(0.01, positive=True, true=0.01 / math.pi)},
    residual=lambda f, p: f.u.t + f.u * f.u.x - p.nu * f.u.xx,
    conditions=[Initial(u=lambda x: -torch.sin(math.pi * x)), Dirichlet(u=0.0, on="x")],
    reference=burgers_cole_hopf(),
    equation="u_t + u u_x = nu u_xx with nu unknown, u(x, 0) = -sin(pi x), u(-1, t) = u(1, t) = 0",
    description="Viscosity of Burgers' equation identified from 2000 samples of its solution.",
    # SSBroyden after Adam: nu within 0.033 % on seeds 0-2 where L-BFGS left 0.55-2.8 % (docs/inverse.md)
    recipe=Recipe(width=32, depth=4, steps=3000, lbfgs_steps=1500, lr=2e-3, points=2000, boundary_points=200,
                  data_from_reference=2000, optimizer="ssbroyden"),
)
