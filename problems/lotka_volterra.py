"""Lotka–Volterra predator–prey: two coupled nonlinear ODEs with a periodic orbit.

x is prey, y predator. There is no closed form, so the reference is an 8th-order Runge–Kutta
solution at rtol 1e-10. Over [0, 10] the system goes round its cycle a bit more than once.
"""

from pinnlab import Box, Initial, Problem, Recipe
from pinnlab.references import ivp_reference

problem = Problem(
    name="lotka-volterra",
    domain=Box(t=(0.0, 10.0)),
    fields=("x", "y"),
    params={"alpha": 2 / 3, "beta": 4 / 3, "gamma": 1.0, "delta": 1.0, "x0": 1.0, "y0": 1.0},
    residual=lambda f, p: (f.x.t - (p.alpha * f.x - p.beta * f.x * f.y),
                           f.y.t - (p.delta * f.x * f.y - p.gamma * f.y)),
    conditions=[Initial(x=lambda p: p.x0, y=lambda p: p.y0)],
    reference=ivp_reference(lambda t, u, p: [p.alpha * u[0] - p.beta * u[0] * u[1],
                                             p.delta * u[0] * u[1] - p.gamma * u[1]],
                            lambda p: [p.x0, p.y0], ("x", "y"), (0.0, 10.0)),
    equation="x' = alpha x - beta x y, y' = delta x y - gamma y",
    description="Predator-prey cycle on t in [0, 10] from x = y = 1.",
    recipe=Recipe(width=32, depth=3, steps=4000, lbfgs_steps=1000, lr=5e-3, points=512, boundary_points=1),
)
