"""The Lorenz system (σ = 10, ρ = 28, β = 8/3) over a short horizon.

Chaotic: nearby trajectories separate like e^{0.9 t}, so only a short window [0, 1] is a fair
test. Fast swings (|x'| is 150 at the start, |z'| up to 141) make it the hardest of the ODEs here.
"""

from pinnlab import Box, Initial, Problem, Recipe
from pinnlab.references import ivp_reference

START = (-8.0, 7.0, 27.0)  # a point near the attractor

problem = Problem(
    name="lorenz",
    domain=Box(t=(0.0, 1.0)),
    fields=("x", "y", "z"),
    params={"sigma": 10.0, "rho": 28.0, "beta": 8 / 3},
    residual=lambda f, p: (f.x.t - p.sigma * (f.y - f.x),
                           f.y.t - (f.x * (p.rho - f.z) - f.y),
                           f.z.t - (f.x * f.y - p.beta * f.z)),
    conditions=[Initial(x=START[0], y=START[1], z=START[2])],
    reference=ivp_reference(lambda t, u, p: [p.sigma * (u[1] - u[0]), u[0] * (p.rho - u[2]) - u[1],
                                             u[0] * u[1] - p.beta * u[2]],
                            lambda p: START, ("x", "y", "z"), (0.0, 1.0), rtol=1e-12, atol=1e-12),
    equation="x' = sigma (y - x), y' = x (rho - z) - y, z' = x y - beta z",
    description="Lorenz system from (-8, 7, 27) on t in [0, 1].",
    recipe=Recipe(width=64, depth=4, steps=5000, lbfgs_steps=1500, lr=2e-3, points=1024, boundary_points=1),
)
