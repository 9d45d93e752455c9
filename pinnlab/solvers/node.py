"""The neural-ODE solver: learn y' = f_θ(t, y) from trajectories of an ODE problem.

Training data come from the problem itself: its right-hand side (recovered from the residual,
see :mod:`.node_data`) is integrated with scipy from the problem's initial state and perturbed
ones, optionally sparsely / irregularly sampled and with noise. Training fits random short
windows (mini-batches of sub-trajectories) with torchdiffeq's ``odeint`` or ``odeint_adjoint``;
errors are measured by integrating the learned field from each true initial state over the
training window and over the extrapolation window after it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint
from torchdiffeq._impl.odeint import SOLVERS as ODE_METHODS

from ..conditions import PointData
from ..config import SolveConfig
from ..errors import ConfigError, one_of
from ..metrics import field_errors, rel_l2
from ..nets import Net
from ..problem import Problem, Recipe
from .base import Model, SolverTask
from .node_data import OdeSystem, initial_states, integrate, ode_system
from .registry import SolverOption, SolverSpec, register_solver

METHODS = tuple(m for m in ODE_METHODS if m != "scipy_solver")  # scipy_solver has no autograd
HELDOUT_TRAJECTORIES = 4
HELDOUT_STATES = 2000
VF_GRID = 21

OPTIONS: dict[str, SolverOption] = {
    "method": SolverOption(str, "dopri5", lambda v: v in METHODS, ", ".join(METHODS), "torchdiffeq integration method"),
    "rtol": SolverOption(float, 1e-5, lambda v: 0 < v < 1, "a number in (0, 1)", "relative tolerance"),
    "atol": SolverOption(float, 1e-6, lambda v: 0 < v < 1, "a number in (0, 1)", "absolute tolerance"),
    "adjoint": SolverOption(bool, False, lambda v: True, "true or false", "adjoint gradients (odeint_adjoint)"),
    "trajectories": SolverOption(int, 8, lambda v: v >= 1, "an integer >= 1", "training trajectories"),
    "noise": SolverOption(float, 0.0, lambda v: 0 <= v < 10, "a number in [0, 10)",
                          "Gaussian noise on observations, relative to each state's spread"),
    "samples": SolverOption(int, 101, lambda v: v >= 2, "an integer >= 2", "observations per trajectory"),
    "irregular": SolverOption(bool, False, lambda v: True, "true or false", "observation times drawn at random"),
    "window": SolverOption(int, 10, lambda v: v >= 2, "an integer >= 2", "observations per training window"),
    "batch": SolverOption(int, 64, lambda v: v >= 1, "an integer >= 1", "windows per step"),
    "train_until": SolverOption(float, 0.6, lambda v: 0 < v <= 1, "a number in (0, 1]",
                                "fraction of the time span trained on; the rest is extrapolation"),
    "ic_spread": SolverOption(float, 0.3, lambda v: v >= 0, "a number >= 0",
                              "spread of the perturbed initial states"),
    "time": SolverOption(bool, False, lambda v: True, "true or false (f depends on t as well as y)",
                         "f depends on t as well as y"),
}


def parse_options(given: Mapping[str, Any]) -> dict[str, Any]:
    """Node options with defaults filled in; ConfigError naming the bad option and what is allowed."""
    if given.get("method", "dopri5") not in METHODS and isinstance(given.get("method"), str):
        raise ConfigError(one_of("ODE method", given["method"], METHODS))
    out = SPEC.parse_options(given)
    if out["window"] > out["samples"]:
        raise ConfigError(f"node option window={out['window']} exceeds samples={out['samples']} "
                          "(allowed: window <= samples)")
    return out


def recipe(problem: Problem) -> Recipe:
    """Node defaults: the problem's layer kind, a small field network, Adam then float64 L-BFGS on fixed windows.

    Measured (seed 0, rel L2 training window / extrapolation): 1000 Adam + 200 L-BFGS against 2000
    Adam alone gave lotka-volterra 8.8e-4 / 1.7e-2 vs 5.9e-3 / 2.7e-2, pendulum 1.2e-2 / 4.1e-2 vs
    2.7e-2 / 7.1e-2, damped-oscillator 4.6e-3 / 2.4e-2 vs 1.9e-2 / 9.3e-2, in less CPU time.
    """
    return dataclasses.replace(problem.recipe, width=64, depth=2, steps=1000, lbfgs_steps=200, lr=5e-3)


class VectorField(nn.Module):
    """dy/dt = out_scale · Net(y) (or Net(t, y)); with time, the state carries t as its last entry."""

    def __init__(self, net: Net, out_scale: torch.Tensor, time_dependent: bool):
        super().__init__()
        self.net, self.time_dependent = net, time_dependent
        self.register_buffer("out_scale", out_scale)

    def field(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """f_θ(t, y) for states (N, dim) at times (N,)."""
        x = torch.cat([t.reshape(-1, 1), y], dim=1) if self.time_dependent else y
        return self.net(x) * self.out_scale

    def forward(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if not self.time_dependent:
            return self.net(z) * self.out_scale
        y, t = z[:, :-1], z[:, -1]
        return torch.cat([self.field(t, y), torch.ones_like(z[:, -1:])], dim=1)


class NodeTask(SolverTask):
    """Trajectory data, window losses and trajectory/vector-field errors of one neural-ODE run."""

    def __init__(self, problem: Problem, config: SolveConfig):
        self.problem, self.config = problem, config
        self.opt = o = parse_options(config.options)
        self.system: OdeSystem = ode_system(problem)
        self.device, self.dtype = torch.device(config.device), config.torch_dtype
        self.rng = np.random.default_rng(config.seed)
        sys_, k = self.system, o["trajectories"]
        t0, t1 = sys_.t_span
        self.t_end = t0 + o["train_until"] * (t1 - t0)

        # the evaluation grid: the problem's own reference times, with the window end on it. A window end
        # a rounding error away from a grid time is that time: two times 4e-16 apart are one in float32,
        # and odeint then returns NaN for every state (0.6 of [0, 2 pi] on a 101-point grid)
        ev = problem.evaluation()
        near = ev.axes["t"][np.argmin(np.abs(ev.axes["t"] - self.t_end))]
        if abs(near - self.t_end) <= 1e-9 * (t1 - t0):
            self.t_end = float(near)
        self.times = np.unique(np.append(ev.axes["t"], self.t_end))
        own = integrate(sys_, sys_.y0, self.times)[0]
        nf = len(problem.fields)
        ref_at = np.stack([np.interp(self.times, ev.axes["t"], ev.values[:, j]) for j in range(nf)], axis=1)
        on_grid = np.isin(self.times, ev.axes["t"])
        self.reference_diff = float(np.abs(own[on_grid, :nf] - ref_at[on_grid]).max())
        self.scale = np.where(own.std(axis=0) > 1e-12, own.std(axis=0), np.maximum(np.abs(own).max(axis=0), 1.0))

        # training trajectories: the problem's initial state and k - 1 perturbed ones
        self.y0s = initial_states(sys_, k, o["ic_spread"], self.scale, self.rng)
        if o["irregular"]:
            inner = np.sort(self.rng.uniform(t0, self.t_end, (k, o["samples"] - 1)), axis=1)
            self.obs_t = np.concatenate([np.full((k, 1), t0), inner], axis=1)
        else:
            self.obs_t = np.tile(np.linspace(t0, self.t_end, o["samples"]), (k, 1))
        all_t = np.unique(self.obs_t)
        clean = integrate(sys_, self.y0s, all_t)
        self.obs_clean = np.stack([clean[i, np.searchsorted(all_t, self.obs_t[i])] for i in range(k)])
        self.obs = self.obs_clean + o["noise"] * self.scale * self.rng.normal(size=self.obs_clean.shape)
        self.true = integrate(sys_, self.y0s, self.times)

        # held-out initial states from their own stream: never trained on
        held_rng = np.random.default_rng([config.seed, 7919])
        self.held_y0s = initial_states(sys_, HELDOUT_TRAJECTORIES + 1, o["ic_spread"], self.scale, held_rng)[1:]
        self.held_true = integrate(sys_, self.held_y0s, self.times)
        in_window = self.times <= self.t_end
        states = self.held_true[:, in_window].reshape(-1, sys_.dim)
        t_states = np.tile(self.times[in_window], HELDOUT_TRAJECTORIES)
        pick = held_rng.choice(len(states), min(HELDOUT_STATES, len(states)), replace=False)
        self.vf_t, self.vf_states = t_states[pick], states[pick]
        self.vf_true = self._true_field(self.vf_t, self.vf_states)
        self.train_t, self.train_states = self.obs_t.reshape(-1), self.obs_clean.reshape(-1, sys_.dim)
        self.train_field = self._true_field(self.train_t, self.train_states)

        self.model = Model(self._build_net())
        self.fixed_windows: tuple[np.ndarray, np.ndarray] | None = None

    # -- construction ---------------------------------------------------------------------
    def _true_field(self, t: np.ndarray, y: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.system.rhs(torch.as_tensor(t), torch.as_tensor(y)).numpy()

    def _build_net(self) -> VectorField:
        c, o = self.config, self.opt
        lo, hi = self.obs.min(axis=(0, 1)), self.obs.max(axis=(0, 1))
        pad = 0.1 * np.maximum(hi - lo, 1e-3)
        lo, hi = (lo - pad).tolist(), (hi + pad).tolist()
        if o["time"]:
            lo, hi = [self.system.t_span[0], *lo], [self.system.t_span[1], *hi]
        dim = self.system.dim
        net = Net(dim + o["time"], dim, c.width, c.depth, c.layer, bounds=(lo, hi), init=c.init,
                  layer_norm=c.layer_norm, **c.layer_options)
        # the output scale: RMS finite-difference slope of the observations, so the net outputs O(1)
        dt = np.diff(self.obs_t, axis=1)[..., None]
        slope = np.sqrt(np.mean((np.diff(self.obs, axis=1) / np.maximum(dt, 1e-12)) ** 2, axis=(0, 1)))
        out_scale = torch.as_tensor(np.where(slope > 1e-12, slope, 1.0))
        return VectorField(net, out_scale, o["time"]).to(device=self.device, dtype=self.dtype)

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    # -- the one integrate loop -------------------------------------------------------------
    def integrate(self, y0: torch.Tensor, t0: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
        """Learned trajectories from states y0 (B, dim) at times t0 (B,), at times t0 + rel (M,): (M, B, dim)."""
        z0 = torch.cat([y0, t0.reshape(-1, 1)], dim=1) if self.net.time_dependent else y0
        solve = odeint_adjoint if self.opt["adjoint"] else odeint
        z = solve(self.net, z0, rel, rtol=self.opt["rtol"], atol=self.opt["atol"], method=self.opt["method"])
        return z[..., :self.system.dim]

    def predict(self, y0s: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Learned trajectories (K, T, dim) from initial states at times[0]; NaN if integration fails."""
        try:
            with torch.no_grad():
                z = self.integrate(self._tensor(y0s), self._tensor(np.full(len(y0s), times[0])),
                                   self._tensor(times - times[0]))
            return z.double().cpu().numpy().transpose(1, 0, 2)
        except (AssertionError, RuntimeError):  # e.g. "underflow in dt": the learned field blew up
            return np.full((len(y0s), len(times), self.system.dim), np.nan)

    def field_values(self, t: np.ndarray, y: np.ndarray) -> np.ndarray:
        """f_θ(t, y) as float64 numpy."""
        with torch.no_grad():
            return self.net.field(self._tensor(t), self._tensor(y)).double().cpu().numpy()

    # -- the solver contract ------------------------------------------------------------------
    def _windows(self) -> tuple[np.ndarray, np.ndarray]:
        if self.fixed_windows is not None:
            return self.fixed_windows
        o = self.opt
        traj = self.rng.integers(0, len(self.obs), o["batch"])
        start = self.rng.integers(0, o["samples"] - o["window"] + 1, o["batch"])
        return traj, start

    def window_loss(self, traj: np.ndarray, start: np.ndarray) -> torch.Tensor:
        """Mean squared error (per component scaled) of windows integrated from their first observation."""
        w = self.opt["window"]
        idx = start[:, None] + np.arange(w)
        t_win = self.obs_t[traj[:, None], idx]
        # windows share one time axis relative to their start; rounding merges equal offsets
        rel = np.round(t_win - t_win[:, :1], 10)
        uniq, inv = np.unique(rel, return_inverse=True)
        inv = inv.reshape(rel.shape)
        target = self._tensor(self.obs[traj[:, None], idx])
        pred = self.integrate(target[:, 0], self._tensor(t_win[:, 0]), self._tensor(uniq))
        pred = pred[torch.as_tensor(inv), torch.arange(len(traj))[:, None]]
        err = (pred[:, 1:] - target[:, 1:]) / self._tensor(self.scale)
        return (err ** 2).mean()

    def loss_terms(self) -> dict[str, torch.Tensor]:
        try:
            loss = self.window_loss(*self._windows())
        except AssertionError:  # adaptive step underflow: report as a non-finite loss (the trainer stops)
            loss = torch.tensor(float("inf"), dtype=self.dtype, device=self.device, requires_grad=True)
        return {"trajectory": loss}

    def resample(self, step: int) -> None:
        """Windows are drawn afresh every step already."""

    def _errors(self, pred: np.ndarray, true: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
        nf = len(self.problem.fields)
        if not mask.any():
            return {"rel_l2": None, "max_abs_error": None, "per_field": {}}
        p, t = pred[:, mask].reshape(-1, self.system.dim), true[:, mask].reshape(-1, self.system.dim)
        errs = field_errors(p, t, self.system.names)
        errs["rel_l2"] = rel_l2(p[:, :nf], t[:, :nf])  # the problem's fields, as a PINN run reports
        return errs

    def _field_errors(self) -> dict[str, float]:
        held = self.field_values(self.vf_t, self.vf_states) - self.vf_true
        train = self.field_values(self.train_t, self.train_states) - self.train_field
        return {"heldout_residual": float(np.sqrt(np.mean(held ** 2))),
                "vector_field_rel_l2": rel_l2(held + self.vf_true, self.vf_true),
                "train_residual": float(np.sqrt(np.mean(train ** 2)))}

    def evaluate(self) -> dict[str, float]:
        pred = self.predict(self.y0s, self.times)
        train, extra = self.times <= self.t_end, self.times > self.t_end
        out = {"rel_l2": self._errors(pred, self.true, train)["rel_l2"]}
        if extra.any():
            out["rel_l2_extrapolation"] = self._errors(pred, self.true, extra)["rel_l2"]
        f = self._field_errors()
        return {**out, "heldout_residual": f["heldout_residual"], "vector_field_rel_l2": f["vector_field_rel_l2"]}

    def to_dtype(self, dtype: torch.dtype) -> None:
        """Switch precision; the trainer does so for L-BFGS, which needs a fixed objective, so windows freeze."""
        self.dtype = dtype
        self.model.to(dtype)
        o = self.opt
        starts = np.arange(0, o["samples"] - o["window"] + 1, o["window"] - 1)
        traj, start = np.meshgrid(np.arange(len(self.obs)), starts, indexing="ij")
        self.fixed_windows = (traj.ravel(), start.ravel())

    def extra_state(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "dtype": str(self.dtype)}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]

    def final_report(self) -> dict[str, Any]:
        pred = self.predict(self.y0s, self.times)
        train, extra = self.times <= self.t_end, self.times > self.t_end
        e_train, e_extra = self._errors(pred, self.true, train), self._errors(pred, self.true, extra)
        held = self.predict(self.held_y0s, self.times)
        return {
            "rel_l2": e_train["rel_l2"], "max_abs_error": e_train["max_abs_error"], "per_field": e_train["per_field"],
            "rel_l2_extrapolation": e_extra["rel_l2"], "max_abs_error_extrapolation": e_extra["max_abs_error"],
            "per_field_extrapolation": e_extra["per_field"],
            "rel_l2_heldout_trajectories": self._errors(held, self.held_true, np.ones_like(train))["rel_l2"],
            **self._field_errors(),
            "rel_l2_heldout_trajectories_meaning": "rel L2 of trajectories from held-out initial states, over the "
                                                   "whole time span (training window and extrapolation)",
            "heldout_residual_meaning": "RMS of f_theta(y) - F(y) on states of held-out trajectories (training window)",
            "train_residual_meaning": "RMS of f_theta(y) - F(y) on the training states",
            "derivatives": "n/a", "loss_terms": ["trajectory"],
            "node": {**self.opt, "state": list(self.system.names), "t_train_end": self.t_end,
                     "reference_max_abs_diff": self.reference_diff,
                     "note": "rel_l2 over the problem's fields; per_field over every state component"},
        }

    def predictions(self) -> dict[str, np.ndarray]:
        """Trajectories (truth and learned), the observations, and for 2-D systems the vector field on a grid."""
        out = {"kind": np.array("node"), "fields": np.array(self.system.names),
               "problem_fields": np.array(self.problem.fields), "times": self.times,
               "true": self.true, "pred": self.predict(self.y0s, self.times), "t_train_end": np.array(self.t_end),
               "obs_t": self.obs_t, "obs": self.obs, "heldout_true": self.held_true,
               "heldout_pred": self.predict(self.held_y0s, self.times)}
        if self.system.dim == 2:
            allv = np.concatenate([self.true, self.held_true]).reshape(-1, 2)
            lo, hi = allv.min(axis=0), allv.max(axis=0)
            pad = 0.1 * np.maximum(hi - lo, 1e-3)
            gx, gy = (np.linspace(lo[i] - pad[i], hi[i] + pad[i], VF_GRID) for i in range(2))
            pts = np.stack(np.meshgrid(gx, gy, indexing="ij"), axis=-1).reshape(-1, 2)
            t = np.full(len(pts), self.system.t_span[0])
            out.update(vf_x=gx, vf_y=gy, vf_true=self._true_field(t, pts).reshape(VF_GRID, VF_GRID, 2),
                       vf_pred=self.field_values(t, pts).reshape(VF_GRID, VF_GRID, 2))
        return out


def _applies_to(problem: Problem) -> str | None:
    return None if problem.kind == "ODE" else "the node solver needs an ODE problem"


def make_task(problem: Problem, config: SolveConfig) -> NodeTask:
    return NodeTask(problem, config)


# run options of the collocation solvers and the value that means "off"
COLLOCATION_ONLY = {"causal": 0, "rba": 0, "rad": 0, "batch_size": 0, "balance": "none", "periodic": "",
                    "fourier_features": "", "rwf": "", "arch": "mlp"}


def check_config(problem: Problem, config: SolveConfig) -> None:
    """Fail early (before a run directory exists) on bad options or a problem node cannot learn."""
    system = ode_system(problem)
    options = parse_options(config.options)
    if config.hard:
        raise ConfigError("solver 'node' has no hard constraints (--hard is for --solver pinn)")
    if any(isinstance(c, PointData) for c in problem.conditions):
        raise ConfigError(f"problem {problem.name!r} has PointData, which the node solver does not use (it trains "
                          f"on trajectories integrated from the equations); use --solver pinn to fit them")
    if problem.unknowns:
        raise ConfigError(f"solver 'node' learns no unknown parameters ({', '.join(problem.unknowns)}); "
                          f"use --solver pinn for an inverse problem")
    if config.weights:  # one loss term: a weight would be silently ignored
        raise ConfigError(f"solver 'node' has one loss term, the trajectory fit; --weight "
                          f"{', '.join(config.weights)} is for --solver pinn")
    ignored = [f"--{name.replace('_', '-')} {getattr(config, name)}" for name, off in COLLOCATION_ONLY.items()
               if getattr(config, name) not in (off, None)]
    if ignored:  # options of collocation training, which node would silently ignore
        raise ConfigError(f"solver 'node' trains on trajectories, not collocation points: "
                          f"{', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} for --solver pinn")
    if not options["time"] and system.depends_on_time():  # f(y) alone cannot represent it: a wrong fit, silently
        raise ConfigError(f"the right-hand side of {problem.name!r} depends on t, which f(y) cannot learn: "
                          f"pass --opt time=true (options={{'time': True}})")


SPEC = register_solver(SolverSpec(
    name="node", make_task=make_task, recipe=recipe, check_config=check_config, applies_to=_applies_to,
    options=OPTIONS, description="neural ODE: a vector field learned from trajectories, integrated with torchdiffeq",
    measure=("rel L2 over the training window of trajectories the network was fitted to (rel_l2_extrapolation "
             "covers the rest)"),
    figure_kind="node",
    report_keys=("rel_l2_extrapolation", "rel_l2_heldout_trajectories", "vector_field_rel_l2", "node")))
