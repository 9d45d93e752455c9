"""Training data for the neural-ODE solver: a problem's true right-hand side and trajectories of it.

A problem states its ODE as a residual over the field namespace, e.g. ``f.u.t + k f.u``. The
right-hand side is recovered generically: the residual is evaluated with the highest time
derivative of every field set to 0 and to unit vectors, which gives r = M·top + r0; the
dynamics are top = −M⁻¹ r0 (M is checked to be non-singular and the residual affine in the top
derivatives). Second-order fields (x'' = ...) become two state components, x and x_t, so a
damped oscillator is learned as the usual first-order system in (x, x').
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp

from ..conditions import Initial, InitialRate, evaluate_value
from ..errors import ConfigError, ProblemError
from ..fields import Fields
from ..problem import Problem

DATA_RTOL, DATA_ATOL = 1e-10, 1e-12


@dataclass
class OdeSystem:
    """A problem written as the first-order system y' = F(t, y) in the state ``names``."""

    problem: Problem
    names: tuple[str, ...]          # state components: the fields, then x_t for second-order fields x
    orders: dict[str, int]          # field → 1 or 2
    y0: np.ndarray                  # the problem's own initial state
    _minv: torch.Tensor | None      # M⁻¹ when M does not depend on the state (the usual case)

    @property
    def dim(self) -> int:
        return len(self.names)

    @property
    def t_span(self) -> tuple[float, float]:
        return self.problem.domain.ranges["t"]

    def _residual(self, t: torch.Tensor, y: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        """Residual terms, shape (N, n_fields), at states y with top derivatives ``top``."""
        p, data = self.problem, {}
        for j, name in enumerate(p.fields):
            i = self.names.index(name)
            if self.orders[name] == 1:
                data[name] = {(): y[:, i], (0,): top[:, j]}
            else:
                v = y[:, self.names.index(f"{name}_t")]
                data[name] = {(): y[:, i], (0,): v, (0, 0): top[:, j]}
        f = Fields(("t",), p.fields, t.reshape(-1, 1), data)
        return torch.stack(p.residual_terms(f), dim=1)

    def _matrix(self, t, y, r0) -> torch.Tensor:
        n = len(self.problem.fields)
        cols = []
        for j in range(n):
            e = torch.zeros(len(y), n, dtype=y.dtype)
            e[:, j] = 1.0
            cols.append(self._residual(t, y, e) - r0)
        return torch.stack(cols, dim=2)  # (N, n_eq, n_fields)

    def rhs(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """F(t, y) for states y of shape (N, dim) at times t of shape (N,)."""
        n = len(self.problem.fields)
        r0 = self._residual(t, y, torch.zeros(len(y), n, dtype=y.dtype))
        if self._minv is not None:
            top = -r0 @ self._minv.T.to(y.dtype)
        else:
            top = -torch.linalg.solve(self._matrix(t, y, r0), r0.unsqueeze(2)).squeeze(2)
        out = torch.empty_like(y)
        for j, name in enumerate(self.problem.fields):
            i = self.names.index(name)
            if self.orders[name] == 1:
                out[:, i] = top[:, j]
            else:
                iv = self.names.index(f"{name}_t")
                out[:, i] = y[:, iv]
                out[:, iv] = top[:, j]
        return out

    def depends_on_time(self) -> bool:
        """Whether F changes with t at fixed states (checked at a few random states and times)."""
        rng = np.random.default_rng(12345)
        lo, hi = self.t_span
        y = torch.as_tensor(self.y0 + rng.normal(0, 0.5, (4, self.dim)) * (1 + np.abs(self.y0)))
        f = [self.rhs(torch.full((4,), float(t), dtype=torch.float64), y) for t in (lo, 0.5 * (lo + hi), hi)]
        return not all(torch.allclose(g, f[0], rtol=1e-10, atol=1e-12) for g in f[1:])

    def rhs_numpy(self, t: float, y: np.ndarray) -> np.ndarray:
        """F for many states packed in one vector (what solve_ivp integrates)."""
        ys = torch.as_tensor(y, dtype=torch.float64).reshape(-1, self.dim)
        return self.rhs(torch.full((len(ys),), float(t), dtype=torch.float64), ys).reshape(-1).numpy()


def ode_system(problem: Problem) -> OdeSystem:
    """The first-order system of an ODE problem; ConfigError if it is not one node can learn."""
    if problem.kind != "ODE":
        raise ConfigError(f"solver 'node' needs an ODE problem; {problem.name!r} is a PDE (use --solver pinn)")
    req = problem.requests["residual"]
    orders = {}
    for name in problem.fields:
        order = max((len(i) for i in req[name]), default=0)
        if order not in (1, 2):
            raise ConfigError(f"node needs a first- or second-order system in time; field {name!r} of "
                              f"{problem.name!r} appears with time-derivative order {order} (allowed: 1, 2)")
        orders[name] = order
    names = tuple(problem.fields) + tuple(f"{n}_t" for n in problem.fields if orders[n] == 2)
    n_terms = len(problem.residual_terms(_probe_fields(problem, orders)))
    if n_terms != len(problem.fields):
        raise ConfigError(f"node needs one equation per field; {problem.name!r} has {n_terms} residual terms "
                          f"for {len(problem.fields)} fields")
    system = OdeSystem(problem, names, orders, _initial_state(problem, names, orders), None)
    system._minv = _check_matrix(system)
    return system


def _probe_fields(problem: Problem, orders: dict[str, int]) -> Fields:
    data = {n: {(): torch.zeros(2, dtype=torch.float64), (0,): torch.zeros(2, dtype=torch.float64),
                (0, 0): torch.zeros(2, dtype=torch.float64)} for n in problem.fields}
    return Fields(("t",), problem.fields, torch.zeros(2, 1, dtype=torch.float64), data)


def _initial_state(problem: Problem, names: tuple[str, ...], orders: dict[str, int]) -> np.ndarray:
    """y(t0) from the problem's Initial (values) and InitialRate (x_t of second-order fields) conditions."""
    t0 = problem.domain.ranges["t"][0]
    f = Fields(("t",), problem.fields, torch.tensor([[t0]], dtype=torch.float64), {})
    found = {}
    for c in problem.conditions:
        if isinstance(c, (Initial, InitialRate)):
            suffix = "_t" if isinstance(c, InitialRate) else ""
            for k, v in c.values.items():
                found[k + suffix] = float(evaluate_value(v, f, problem.p).reshape(-1)[0])
    missing = [n for n in names if n not in found]
    if missing:
        raise ConfigError(f"node needs an initial value for every state component of {problem.name!r}; "
                          f"missing: {', '.join(missing)} (give Initial(...) / InitialRate(...) conditions)")
    return np.array([found[n] for n in names])


def _check_matrix(system: OdeSystem) -> torch.Tensor | None:
    """Check r is affine and solvable in the top derivatives; return M⁻¹ if M is constant."""
    rng = np.random.default_rng(12345)
    n, lo, hi = len(system.problem.fields), *system.t_span
    mats = []
    for _ in range(3):
        y = torch.as_tensor(system.y0 + rng.normal(0, 0.5, (4, system.dim)) * (1 + np.abs(system.y0)))
        t = torch.as_tensor(rng.uniform(lo, hi, 4))
        r0 = system._residual(t, y, torch.zeros(4, n, dtype=torch.float64))
        m = system._matrix(t, y, r0)
        m2 = torch.stack([system._residual(t, y, 2 * torch.eye(n, dtype=torch.float64)[j].expand(4, n)) - r0
                          for j in range(n)], dim=2)
        if not torch.allclose(m2, 2 * m, rtol=1e-8, atol=1e-10):
            raise ConfigError(f"node needs {system.problem.name!r}'s residual to be linear in the highest "
                              "time derivatives (written as u_t - F(t, u))")
        if torch.linalg.matrix_rank(m).min() < n:
            raise ConfigError(f"node cannot solve {system.problem.name!r}'s residual for the time derivatives "
                              "(one equation per field, each containing its highest time derivative)")
        mats.append(m)
    m = torch.cat(mats)
    if torch.allclose(m, m[:1].expand_as(m), rtol=1e-12, atol=1e-14):
        return torch.linalg.inv(m[0])
    return None


def integrate(system: OdeSystem, y0s: np.ndarray, times: np.ndarray) -> np.ndarray:
    """True trajectories from initial states ``y0s`` (K, dim) at sorted ``times`` (T,): (K, T, dim).

    All trajectories go through one solve_ivp call (a packed system), so the RHS is evaluated
    batched; the times start at the problem's t0.
    """
    y0s = np.atleast_2d(y0s)
    t0 = system.t_span[0]
    span = (t0, float(times[-1]))
    if span[1] <= t0:
        return np.repeat(y0s[:, None, :], len(times), axis=1)
    sol = solve_ivp(system.rhs_numpy, span, y0s.reshape(-1), method="DOP853", t_eval=times,
                    rtol=DATA_RTOL, atol=DATA_ATOL)
    if not sol.success or sol.y.shape[1] != len(times):
        raise ProblemError(f"{system.problem.name}: solve_ivp failed on the training data: {sol.message}")
    return sol.y.reshape(len(y0s), system.dim, len(times)).transpose(0, 2, 1)


def initial_states(system: OdeSystem, count: int, spread: float, scale: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """The problem's own initial state first, then ``count - 1`` perturbed ones (uniform ± spread·scale)."""
    extra = system.y0 + spread * scale * rng.uniform(-1.0, 1.0, (count - 1, system.dim))
    return np.concatenate([system.y0[None, :], extra])
