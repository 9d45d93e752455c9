"""The heat equation on the unit disk, u_t = α Δu, u = 0 on the circle, u(x, y, 0) = J0(j r).

j ≈ 2.405 is the first zero of the Bessel function J0, so the initial profile is the disk's slowest
mode: it keeps its shape and decays like exp(-α j² t). A time-dependent problem on a curved domain;
``--hard`` imposes the initial and boundary values exactly through distance functions.
"""


import torch

from pinnlab import Dirichlet, Initial, Problem, Recipe
from pinnlab.geometry import Disk, SpaceTime, distance_constraint

J01 = 2.404825557695773  # first zero of J0


def bessel_j0(z):
    """J0 by its power series (differentiable in torch; 30 terms reach rounding for |z| <= j)."""
    term, total, q = 1.0, 1.0, -(z * z) / 4  # plain numbers first: the jet engine runs it too
    for k in range(1, 30):
        term = term * q / (k * k)
        total = total + term
    return total


def mode(x, y):
    return bessel_j0(J01 * torch.sqrt(x * x + y * y + 1e-300))


domain = SpaceTime(Disk((0.0, 0.0), 1.0), t=(0.0, 1.0))
conditions = [Initial(u=mode), Dirichlet(u=0.0)]

problem = Problem(
    name="heat-disk",
    domain=domain,
    fields=("u",),
    params={"alpha": 0.1},
    residual=lambda f, p: f.u.t - p.alpha * (f.u.xx + f.u.yy),
    conditions=conditions,
    exact=lambda x, y, t, p: torch.exp(-p.alpha * J01**2 * t) * mode(x, y),
    equation="u_t = alpha (u_xx + u_yy) on the unit disk, u = 0 on the circle, u(x, y, 0) = J0(j01 r)",
    description="Heat equation on the unit disk x [0, 1]; exact solution exp(-alpha j01^2 t) J0(j01 r).",
    grid={"x": 41, "y": 41, "t": 21},
    recipe=Recipe(width=32, depth=3, steps=3000, lbfgs_steps=1000, lr=2e-3, points=3000, boundary_points=400),
    hard_constraint=distance_constraint(domain, "u", conditions),
)
