"""An unknown coefficient function: k(x) in -(k u')' = f on [0, 1], learned from measurements of u.

k is a second output of the network, a field like u with its own error against the truth
k = 1 + sin(2πx)/2 (report.json's per_field). The data are 50 samples of u = sin πx alone; k is
known at the two ends. Where u' = 0 (x = 1/2), k u' = -∫f fixes k by continuity only. The data and
end values weigh 100 and 10 times the residual: with equal weights the run settled for a small u and
a large k (k rel L2 6.3 after 1500 Adam + 300 L-BFGS steps; 0.0077 with these weights).
"""

import math

import torch

from pinnlab import Box, Dirichlet, Problem, Recipe

PI = math.pi


def source(x):
    """f = -(k u')' for u = sin πx, k = 1 + sin(2πx)/2."""
    return -(PI * torch.cos(2 * PI * x) * PI * torch.cos(PI * x)
             - (1 + 0.5 * torch.sin(2 * PI * x)) * PI**2 * torch.sin(PI * x))


problem = Problem(
    name="poisson-inverse-k",
    domain=Box(x=(0.0, 1.0)),
    fields=("u", "k"),
    residual=lambda f, p: -(f.k.x * f.u.x + f.k * f.u.xx) - source(f.x),
    conditions=[Dirichlet(u=0.0, k=1.0, on="x")],
    exact=lambda x: (torch.sin(PI * x), 1 + 0.5 * torch.sin(2 * PI * x)),
    equation="-(k u')' = f on [0, 1] with k(x) unknown, u(0) = u(1) = 0, k(0) = k(1) = 1",
    description="Coefficient function k(x) identified from 50 samples of u.",
    grid=1001,
    recipe=Recipe(width=32, depth=3, steps=3000, lbfgs_steps=1000, lr=2e-3, points=256, boundary_points=2,
                  data_from_reference=50, measured=("u",), weights={"point_data": 100.0, "dirichlet": 10.0}),
)
