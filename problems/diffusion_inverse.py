"""A diffusion coefficient learned from ten measurements, as DeepXDE's diffusion_1d_inverse example.

y_t = C y_xx - e^{-t} (sin πx - π² sin πx) on [-1, 1] × [0, 1], y = 0 at both ends and sin πx at
t = 0; the solution is e^{-t} sin πx when C = 1. C starts at 2 and is learned with the network from
ten points of the solution. 1500 Adam steps then 300 of SSBroyden on 200 points: C within 2.1e-4 and
1.7e-5 of the truth in 37 s and 31 s (seeds 0, 1) where 3000 Adam + 1000 L-BFGS on 1000 points gave
6.4e-4 and 1.2e-4 in 89 s and 122 s (docs/inverse.md).
"""

import math

import torch

from pinnlab import Box, Dirichlet, Initial, Problem, Recipe, Unknown

problem = Problem(
    name="diffusion-inverse",
    domain=Box(x=(-1.0, 1.0), t=(0.0, 1.0)),
    fields=("y",),
    params={"C": Unknown(2.0, positive=True, true=1.0)},
    residual=lambda f, p: (f.y.t - p.C * f.y.xx
                           + torch.exp(-f.t) * (torch.sin(math.pi * f.x) - math.pi**2 * torch.sin(math.pi * f.x))),
    conditions=[Initial(y=lambda x: torch.sin(math.pi * x)), Dirichlet(y=0.0, on="x")],
    exact=lambda x, t: torch.exp(-t) * torch.sin(math.pi * x),
    equation="y_t = C y_xx - exp(-t) (sin(pi x) - pi^2 sin(pi x)) with C unknown",
    description="Diffusion coefficient identified from 10 samples of the solution (true C = 1).",
    recipe=Recipe(width=32, depth=3, steps=1500, lbfgs_steps=300, lr=2e-3, points=200, boundary_points=40,
                  data_from_reference=10, optimizer="ssbroyden"),
)
