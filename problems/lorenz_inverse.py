"""The Lorenz system's three coefficients learned from a trajectory, as DeepXDE's Lorenz inverse example.

x' = σ (y - x), y' = x (ρ - z) - y, z' = x y - β z from (-8, 7, 27) on t in [0, 3], with the
example's truth σ = 10, ρ = 15, β = 8/3. All three start at 1 and are learned with the network from
200 points of the trajectory (an 8th-order Runge–Kutta solution), weighted 10 times the residual
(1500 Adam + 500 L-BFGS steps: worst parameter error 19% with equal weights, 1.3% with these).
"""

from pinnlab import Box, Initial, Problem, Recipe, Unknown
from pinnlab.references import ivp_reference

START = (-8.0, 7.0, 27.0)

problem = Problem(
    name="lorenz-inverse",
    domain=Box(t=(0.0, 3.0)),
    fields=("x", "y", "z"),
    params={"sigma": Unknown(1.0, positive=True, true=10.0), "rho": Unknown(1.0, positive=True, true=15.0),
            "beta": Unknown(1.0, positive=True, true=8 / 3)},
    residual=lambda f, p: (f.x.t - p.sigma * (f.y - f.x),
                           f.y.t - (f.x * (p.rho - f.z) - f.y),
                           f.z.t - (f.x * f.y - p.beta * f.z)),
    conditions=[Initial(x=START[0], y=START[1], z=START[2])],
    reference=ivp_reference(lambda t, u, p: [p.sigma * (u[1] - u[0]), u[0] * (p.rho - u[2]) - u[1],
                                             u[0] * u[1] - p.beta * u[2]],
                            lambda p: START, ("x", "y", "z"), (0.0, 3.0), rtol=1e-12, atol=1e-12),
    equation="x' = sigma (y - x), y' = x (rho - z) - y, z' = x y - beta z with sigma, rho, beta unknown",
    description="Lorenz coefficients identified from 200 samples of a trajectory on t in [0, 3].",
    recipe=Recipe(width=40, depth=3, steps=4000, lbfgs_steps=1500, lr=3e-3, points=600, boundary_points=1,
                  data_from_reference=200, weights={"point_data": 10.0}),
)
