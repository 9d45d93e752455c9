"""Lotka–Volterra rates learned from a predator–prey trajectory.

x' = α x - β x y, y' = δ x y - γ y from x = y = 1 on t in [0, 10], the truth as in
``lotka-volterra`` (α = 2/3, β = 4/3, γ = δ = 1). All four rates start at 0.5 and are learned with
the network from 200 points of the trajectory.
"""

from pinnlab import Box, Initial, Problem, Recipe, Unknown
from pinnlab.references import ivp_reference

problem = Problem(
    name="lotka-volterra-inverse",
    domain=Box(t=(0.0, 10.0)),
    fields=("x", "y"),
    params={"alpha": Unknown(0.5, positive=True, true=2 / 3), "beta": Unknown(0.5, positive=True, true=4 / 3),
            "gamma": Unknown(0.5, positive=True, true=1.0), "delta": Unknown(0.5, positive=True, true=1.0)},
    residual=lambda f, p: (f.x.t - (p.alpha * f.x - p.beta * f.x * f.y),
                           f.y.t - (p.delta * f.x * f.y - p.gamma * f.y)),
    conditions=[Initial(x=1.0, y=1.0)],
    reference=ivp_reference(lambda t, u, p: [p.alpha * u[0] - p.beta * u[0] * u[1],
                                             p.delta * u[0] * u[1] - p.gamma * u[1]],
                            lambda p: [1.0, 1.0], ("x", "y"), (0.0, 10.0)),
    equation="x' = alpha x - beta x y, y' = delta x y - gamma y with the four rates unknown",
    description="Predator-prey rates identified from 200 samples of a trajectory on t in [0, 10].",
    recipe=Recipe(width=32, depth=3, steps=4000, lbfgs_steps=1500, lr=5e-3, points=512, boundary_points=1,
                  data_from_reference=200),
)
