"""DeepXDE (pytorch backend) on two of pinnlab's inverse problems, set up as DeepXDE's own examples
(diffusion_1d_inverse and Lorenz inverse: dde.Variable unknowns starting at the same guesses, a tanh
FNN, their point counts), given pinnlab's measurements and a budget: the examples' own (``EXAMPLE_STEPS``
Adam steps at lr 1e-3, no L-BFGS) or pinnlab's (Adam steps, then L-BFGS iterations). Every ``TRACK_EVERY``
steps the run records its wall time and worst parameter error, so the error DeepXDE had reached at any
wall time can be read off; ``max_wall`` stops it early. Used by benchmarks/inverse.py --peers; needs
``pip install 'pinnlab[peers]'``.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

os.environ.setdefault("DDE_BACKEND", "pytorch")

EXAMPLE_STEPS = {"diffusion": 50000, "lorenz": 60000}  # the examples' model.train(iterations=...), Adam at 1e-3
TRACK_EVERY = 500


def available() -> str | None:
    """None where DeepXDE with the pytorch backend imports, else why not."""
    try:
        import deepxde as dde
    except Exception as e:  # noqa: BLE001 - any import failure means: no peer run
        return f"deepxde does not import ({type(e).__name__}: {e})"
    if dde.backend.backend_name != "pytorch":
        return f"deepxde runs on {dde.backend.backend_name!r}, not pytorch (set DDE_BACKEND=pytorch)"
    return None


def _train(model, variables: dict, truth: dict, steps: int, lbfgs: int, lr: float,
           max_wall: float | None) -> dict:
    """Adam then L-BFGS; the learned values, their worst rel error, wall time and error trajectory."""
    import deepxde as dde

    def worst() -> float:
        return max(abs(float(variables[k].detach()) - v) / abs(v) for k, v in truth.items())

    t0 = time.perf_counter()
    trajectory: list[tuple[int, float, float]] = [(0, 0.0, worst())]
    stopped = []

    class Track(dde.callbacks.Callback):
        def on_batch_end(self):
            step = int(self.model.train_state.step)
            if step >= trajectory[-1][0] + TRACK_EVERY:
                wall = time.perf_counter() - t0
                trajectory.append((step, wall, worst()))
                if max_wall is not None and wall > max_wall:
                    stopped.append(step)
                    self.model.stop_training = True

    vs = list(variables.values())
    if steps:
        model.compile("adam", lr=lr, external_trainable_variables=vs, verbose=0)
        model.train(iterations=steps, display_every=max(steps, 1), verbose=0, callbacks=[Track()])
    if lbfgs and not stopped:
        dde.optimizers.config.set_LBFGS_options(maxiter=lbfgs)
        model.compile("L-BFGS", external_trainable_variables=vs, verbose=0)
        model.train(display_every=max(lbfgs, 1), verbose=0, callbacks=[Track()])
    wall = time.perf_counter() - t0
    trajectory.append((int(model.train_state.step), wall, worst()))
    return {"learned": {k: float(v.detach()) for k, v in variables.items()}, "param_rel_error": worst(),
            "wall_s": wall, "steps_done": int(model.train_state.step), "stopped_at_max_wall": bool(stopped),
            "trajectory": trajectory}


def error_at(result: dict, wall: float) -> float | None:
    """The worst parameter error DeepXDE had reached by ``wall`` seconds (its guess's at first)."""
    return [err for _, w, err in result["trajectory"] if w <= wall][-1]


def diffusion(points: np.ndarray, values: np.ndarray, steps: int, lbfgs: int, seed: int,
              max_wall: float | None = None) -> dict:
    """C of y_t = C y_xx - e^{-t}(sin πx - π² sin πx) from measurements ``values`` at ``points`` (x, t)."""
    import deepxde as dde
    import torch
    dde.config.set_random_seed(seed)
    C = dde.Variable(2.0)

    def pde(x, y):
        y_t = dde.grad.jacobian(y, x, i=0, j=1)
        y_xx = dde.grad.hessian(y, x, i=0, j=0)
        s = torch.sin(math.pi * x[:, 0:1])
        return y_t - C * y_xx + torch.exp(-x[:, 1:]) * (s - math.pi**2 * s)

    def exact(x):
        return np.sin(np.pi * x[:, 0:1]) * np.exp(-x[:, 1:])

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    bcs = [dde.icbc.DirichletBC(geom, exact, lambda _, on: on), dde.icbc.IC(geom, exact, lambda _, on: on),
           dde.icbc.PointSetBC(points, values[:, None])]
    data = dde.data.TimePDE(geom, pde, bcs, num_domain=40, num_boundary=20, num_initial=10, anchors=points,
                            solution=exact, num_test=1000)
    model = dde.Model(data, dde.nn.FNN([2, 32, 32, 32, 1], "tanh", "Glorot uniform"))
    return _train(model, {"C": C}, {"C": 1.0}, steps, lbfgs, 1e-3, max_wall)


def lorenz(times: np.ndarray, values: np.ndarray, steps: int, lbfgs: int, seed: int,
           max_wall: float | None = None) -> dict:
    """σ, ρ, β of the Lorenz system on [0, 3] from (-8, 7, 27), from measurements ``values`` (x, y, z) at ``times``."""
    import deepxde as dde
    dde.config.set_random_seed(seed)
    c1, c2, c3 = dde.Variable(1.0), dde.Variable(1.0), dde.Variable(1.0)

    def pde(t, u):
        x, y, z = u[:, 0:1], u[:, 1:2], u[:, 2:3]
        return [dde.grad.jacobian(u, t, i=0) - c1 * (y - x), dde.grad.jacobian(u, t, i=1) - (x * (c2 - z) - y),
                dde.grad.jacobian(u, t, i=2) - (x * y - c3 * z)]

    geom = dde.geometry.TimeDomain(0, 3)
    start = (-8.0, 7.0, 27.0)
    def constant(v):  # one argument: DeepXDE reads a second one as auxiliary variables
        return lambda t: np.full((len(t), 1), v)

    bcs = [dde.icbc.IC(geom, constant(v), lambda _, on: on, component=i) for i, v in enumerate(start)]
    bcs += [dde.icbc.PointSetBC(times[:, None], values[:, i:i + 1], component=i) for i in range(3)]
    data = dde.data.PDE(geom, pde, bcs, num_domain=400, num_boundary=2, anchors=times[:, None])
    model = dde.Model(data, dde.nn.FNN([1, 40, 40, 40, 3], "tanh", "Glorot uniform"))
    return _train(model, {"sigma": c1, "rho": c2, "beta": c3}, {"sigma": 10.0, "rho": 15.0, "beta": 8 / 3},
                  steps, lbfgs, 1e-3, max_wall)
