"""DeepXDE 1.15's own forward examples, each at its own recipe (network, initialiser, points, Adam steps,
then L-BFGS where the example has it), and the pinnlab run each is set beside.

Recipes as in DeepXDE's ``examples/pinn_forward``: ``Poisson_Dirichlet_1d.py`` (50 × 3, 16 + 2 points,
10 000 Adam steps), ``heat.py`` (a = 0.4, 20 × 3, 2540 + 80 + 160 points, 20 000 steps, L-BFGS),
``diffusion_1d.py`` (32 × 3, 40 + 20 + 10 points, 10 000 steps; pinnlab's side is the user-style
problem ``diffusion1d_problem`` with its own recipe), ``Allen_Cahn.py`` (d = 0.001,
20 × 3, 8000 + 400 + 800 points, the hard constraint x² cos πx + t(1 - x²) N, 40 000 steps, L-BFGS)
and ``Burgers.py`` (20 × 3, 2540 + 80 + 160 points, 15 000 steps, L-BFGS). Both tools are scored on
pinnlab's reference points of the same problem (for Allen–Cahn: pinnlab's periodic spectral
reference at d = 0.001; DeepXDE's example fixes u = -1 at x = ±1, which that solution keeps to
within its thin boundary layer). Used by ``benchmarks/vs_deepxde.py --examples``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

os.environ.setdefault("DDE_BACKEND", "pytorch")


@dataclass(frozen=True)
class Example:
    """One DeepXDE example and the pinnlab problem it is compared on."""

    pinnlab: str                    # a built-in name, or "diffusion1d" (defined below: not built in)
    layers: list[int]
    init: str
    steps: int
    lbfgs: bool
    build: Callable                 # (dde) -> (geometry-data, output transform or None)
    params: dict = field(default_factory=dict)  # pinnlab --set for the same problem


def _poisson1d(dde):
    import torch

    def pde(x, y):
        return -dde.grad.hessian(y, x) - math.pi**2 * torch.sin(math.pi * x)

    geom = dde.geometry.Interval(-1, 1)
    bc = dde.icbc.DirichletBC(geom, lambda x: np.sin(np.pi * x), lambda _, on: on)
    return dde.data.PDE(geom, pde, bc, 16, 2), None


def _heat(dde):
    a = 0.4

    def pde(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1) - a * dde.grad.hessian(y, x, i=0, j=0)

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(0, 1), dde.geometry.TimeDomain(0, 1))
    bc = dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on: on)
    ic = dde.icbc.IC(geom, lambda x: np.sin(np.pi * x[:, 0:1]), lambda _, on: on)
    return dde.data.TimePDE(geom, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160), None


def _diffusion1d(dde):
    import torch

    def pde(x, y):
        s = torch.sin(math.pi * x[:, 0:1])
        return (dde.grad.jacobian(y, x, j=1) - dde.grad.hessian(y, x, j=0)
                + torch.exp(-x[:, 1:]) * (s - math.pi**2 * s))

    def exact(x):
        return np.sin(np.pi * x[:, 0:1]) * np.exp(-x[:, 1:])

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    bcs = [dde.icbc.DirichletBC(geom, exact, lambda _, on: on), dde.icbc.IC(geom, exact, lambda _, on: on)]
    return dde.data.TimePDE(geom, pde, bcs, num_domain=40, num_boundary=20, num_initial=10), None


def _allen_cahn(dde):
    import torch
    d = 0.001

    def pde(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1) - d * dde.grad.hessian(y, x, i=0, j=0) - 5 * (y - y**3)

    def transform(x, y):
        return x[:, 0:1]**2 * torch.cos(math.pi * x[:, 0:1]) + x[:, 1:2] * (1 - x[:, 0:1]**2) * y

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    return dde.data.TimePDE(geom, pde, [], num_domain=8000, num_boundary=400, num_initial=800), transform


def _burgers(dde):
    nu = 0.01 / math.pi

    def pde(x, y):
        return (dde.grad.jacobian(y, x, i=0, j=1) + y * dde.grad.jacobian(y, x, i=0, j=0)
                - nu * dde.grad.hessian(y, x, i=0, j=0))

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    bc = dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on: on)
    ic = dde.icbc.IC(geom, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on: on)
    return dde.data.TimePDE(geom, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160), None


EXAMPLES = {
    "poisson1d": Example("poisson1d", [1, 50, 50, 50, 1], "Glorot uniform", 10000, False, _poisson1d),
    "heat": Example("heat1d", [2, 20, 20, 20, 1], "Glorot normal", 20000, True, _heat, {"alpha": 0.4}),
    "diffusion1d": Example("diffusion1d", [2, 32, 32, 32, 1], "Glorot uniform", 10000, False, _diffusion1d),
    "allen-cahn": Example("allen-cahn", [2, 20, 20, 20, 1], "Glorot normal", 40000, True, _allen_cahn,
                          {"d": 0.001}),
    "burgers": Example("burgers", [2, 20, 20, 20, 1], "Glorot normal", 15000, True, _burgers),
}


def diffusion1d_problem():
    """DeepXDE's diffusion_1d problem as a pinnlab Problem, written as a user would, with a recipe sized
    for it: a smooth solution needs few points and a short Adam start before SSBroyden."""
    import torch

    from pinnlab import Box, Dirichlet, Initial, Problem, Recipe

    def exact(x, t):
        return torch.sin(math.pi * x) * torch.exp(-t)

    return Problem(
        name="diffusion1d", domain=Box(x=(-1.0, 1.0), t=(0.0, 1.0)), fields=("u",),
        residual=lambda f, p: (f.u.t - f.u.xx
                               + torch.exp(-f.t) * (torch.sin(math.pi * f.x) - math.pi**2 * torch.sin(math.pi * f.x))),
        conditions=[Initial(u=lambda x: torch.sin(math.pi * x)), Dirichlet(u=exact, on="x")],
        exact=exact, equation="u_t = u_xx - e^{-t}(sin pi x - pi^2 sin pi x)",
        description="DeepXDE's diffusion_1d example.",
        # seed 0: rel L2 1.7e-5 in 14 CPU s, where the general default (3 000 Adam steps, 2 000 points)
        # reached 1.2e-5 in 198 s loaded and DeepXDE's example 3.6e-3 (docs/accuracy.md)
        recipe=Recipe(width=32, depth=3, steps=1000, lbfgs_steps=500, lr=2e-3, points=300, boundary_points=60,
                      optimizer="ssbroyden"))


def run_deepxde(name: str, seed: int, points: np.ndarray, values: np.ndarray, steps: int | None = None,
                lbfgs_cap: int | None = None) -> dict:
    """DeepXDE's example ``name`` at its recipe (``steps``/``lbfgs_cap`` shorten it: --quick), scored at
    ``points`` against ``values``: rel L2 and wall seconds (setup, training and the prediction)."""
    import deepxde as dde

    ex = EXAMPLES[name]
    t0 = time.perf_counter()
    dde.config.set_random_seed(seed)
    data, transform = ex.build(dde)
    net = dde.nn.FNN(ex.layers, "tanh", ex.init)
    if transform is not None:
        net.apply_output_transform(transform)
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3, verbose=0)
    n = steps if steps is not None else ex.steps
    model.train(iterations=n, display_every=max(n, 1), verbose=0)
    adam_steps = model.train_state.step
    if ex.lbfgs and lbfgs_cap != 0:
        opts = dde.optimizers.config.LBFGS_options
        saved = dict(opts)
        try:
            if lbfgs_cap is not None:  # the chunking as vs_deepxde.py's Burgers run (DeepXDE sizes it at import)
                opts.update(maxiter=lbfgs_cap, iter_per_step=min(1000, lbfgs_cap),
                            fun_per_step=opts["maxfun"] * min(1000, lbfgs_cap) // lbfgs_cap)
            model.compile("L-BFGS", verbose=0)
            model.train(display_every=10**9, verbose=0)
        finally:
            opts.clear()
            opts.update(saved)  # global to DeepXDE: the next example gets the default again
    pred = model.predict(points.astype(np.float32))
    wall = time.perf_counter() - t0
    pred, ref = np.asarray(pred).reshape(-1), np.asarray(values).reshape(-1)
    return {"deepxde_rel_l2": float(np.linalg.norm(pred - ref) / np.linalg.norm(ref)), "deepxde_wall_s": wall,
            "deepxde_adam_steps": adam_steps, "deepxde_lbfgs_iters": model.train_state.step - adam_steps}
