"""Dense quasi-Newton minimisers: BFGS and self-scaled Broyden (SSBroyden), with scipy's strong-Wolfe search.

PINN losses are badly conditioned; a full inverse-Hessian approximation, in float64, keeps curvature
that L-BFGS's few pairs forget (Urbán et al., "Unveiling the optimization process of physics informed
neural networks", JCP 2025). SSBroyden picks, per step, the Broyden-family member and a scaling of
the old approximation from the step's own curvature figures (the paper's eqs. 13-23, "SSBroyden2" in
its code); BFGS is the member with no scaling. The line search is ``scipy.optimize.line_search``
(strong Wolfe conditions); this module only keeps the approximation and decides when to stop.

The approximation is an n × n matrix: 8 n² bytes (87 MB for the 3 300 parameters of burgers' 4 × 32
network), so the dense methods are for networks up to :data:`MAX_PARAMS` parameters.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import torch

from ..errors import ConfigError

METHODS = ("bfgs", "ssbroyden")
MAX_PARAMS = 20_000          # a 3.2 GB approximation; beyond that use lbfgs
FIRST_STEPS = (1e-2, 1e-4, 1e-6, 1e-8)  # first step lengths tried where scipy's own guess fails
C1, C2 = 1e-4, 0.9           # the strong-Wolfe constants of scipy's BFGS and of the references

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]   # x -> (f(x), ∇f(x)), float64


def choose(method: str, n: int) -> str:
    """The stage ``method`` names for a model of ``n`` parameters: "auto" is SSBroyden where its dense
    matrix fits (the general default, docs/accuracy.md), else L-BFGS; any other name is itself."""
    if method != "auto":
        return method
    return "ssbroyden" if n <= MAX_PARAMS else "lbfgs"


def check_size(n: int, method: str) -> None:
    """ConfigError when a dense ``method`` over ``n`` parameters would not fit in memory."""
    if method in METHODS and n > MAX_PARAMS:
        raise ConfigError(f"optimizer {method!r} keeps a dense {n} x {n} matrix ({8 * n * n / 1e9:.1f} GB): "
                          f"at most {MAX_PARAMS} parameters; use --optimizer lbfgs for this network")


class InverseHessian:
    """H ≈ ∇²f⁻¹ and its update from a step ``s`` whose gradient change is ``y``.

    Updates keep the secant equation H⁺y = s and, while yᵀs > 0 (which a strong-Wolfe step
    guarantees), positive definiteness.
    """

    def __init__(self, n: int, method: str, device: torch.device | str = "cpu"):
        if method not in METHODS:
            raise ConfigError(f"unknown quasi-Newton method {method!r} (allowed: {', '.join(METHODS)})")
        self.n, self.method = n, method
        self.H = torch.eye(n, dtype=torch.float64, device=device)
        self.fresh = True    # no update since the identity: the next line search starts from steepest descent

    def reset(self) -> None:
        self.H = torch.eye(self.n, dtype=self.H.dtype, device=self.H.device)
        self.fresh = True

    def direction(self, g: torch.Tensor) -> torch.Tensor:
        return -(self.H @ g)

    def update(self, s: torch.Tensor, y: torch.Tensor, g: torch.Tensor, alpha: float) -> bool:
        """Update from step ``s`` (taken at gradient ``g`` with step length ``alpha``) and gradient change
        ``y``. False (and no update) where yᵀs ≤ 0: a curvature pair no positive-definite H can fit."""
        ys = float(y @ s)
        if not ys > 0:
            return False
        rho = 1.0 / ys
        Hy = self.H @ y
        yHy = float(y @ Hy)
        # every update here is H⁺ = β H + U M Uᵀ with U = [s, Hy]: one pass over H (a rank-2 GEMM)
        if self.method == "bfgs":
            # H⁺ = (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ
            beta, m = 1.0, [[rho * (1 + rho * yHy), -rho], [-rho, 0.0]]
        else:
            tau, phi = self._ssbroyden_coefficients(rho, yHy, float(s @ g), alpha)
            # H⁺ = (H - Hy yᵀH / yᵀHy + φ yᵀHy v vᵀ) / τ + ρ s sᵀ, v = ρ s - Hy / yᵀHy = U c
            c = (rho, -1.0 / yHy)
            beta = 1.0 / tau
            m = [[(phi * yHy * c[0] * c[0]) / tau + rho, (phi * yHy * c[0] * c[1]) / tau],
                 [(phi * yHy * c[0] * c[1]) / tau, (phi * yHy * c[1] * c[1] - 1.0 / yHy) / tau]]
        u = torch.stack([s, Hy], dim=1)
        self.H.addmm_(u, torch.tensor(m, dtype=u.dtype, device=u.device) @ u.T, beta=beta)
        self.fresh = False
        return True

    def _ssbroyden_coefficients(self, rho: float, yHy: float, sg: float, alpha: float) -> tuple[float, float]:
        """The scaling τ and Broyden parameter φ of one SSBroyden step (Urbán et al. 2025, eqs. 13-23)."""
        h = yHy * rho                      # yᵀHy / yᵀs
        b = -alpha * rho * sg              # sᵀBs / yᵀs, with B s = -α g
        a = b * h - 1                      # ≥ 0 by Cauchy-Schwarz (up to rounding)
        root = math.sqrt(abs(a) / (1 + a))
        rho_minus = min(1.0, h * (1 - root))
        theta_minus = (rho_minus - 1) / a if a != 0 else 0.0
        theta = max(theta_minus, min(1 / rho_minus, (1 - b) / b))
        sigma = 1 + theta * a
        # the n-th root keeps the determinant's growth in check on an n-dimensional problem
        sigma_root = abs(sigma) ** (1.0 / (1 - self.n)) if self.n > 1 else 1.0
        scale = min(1.0, 1.0 / b)
        if theta <= 0:
            tau = min(scale * sigma_root, sigma)
        else:
            tau = scale * min(sigma_root, 1 / theta)
        phi = (1 - theta) / sigma
        return tau, phi


@dataclass
class StepResult:
    """One iteration: ``stop`` is "" to go on, else why the method stopped."""

    stop: str = ""
    evaluations: int = 0


class QuasiNewton:
    """Minimises ``fun`` from ``x0`` one iteration at a time (so a caller can checkpoint, log, resample
    and restart between them). ``fun`` returns the loss and its gradient as float64; a non-finite
    loss is a probe too far (the line search backs off), unless it is at ``x0``."""

    def __init__(self, fun: Objective, x0: np.ndarray, method: str, gtol: float = 1e-10,
                 device: torch.device | str = "cpu"):
        self.fun, self.method, self.gtol, self.device = fun, method, gtol, device
        self.hess = InverseHessian(len(x0), method, device)
        self.evaluations = 0
        self.restart(x0)

    def restart(self, x0: np.ndarray, keep_hessian: bool = False) -> None:
        """Start again at ``x0`` (the objective may have changed: new points), from the identity or, with
        ``keep_hessian``, from the approximation so far (a step that fails from it retries from the identity)."""
        self.x = np.asarray(x0, dtype=np.float64).copy()
        self.f, self.g = self._eval(self.x)
        if not math.isfinite(self.f):
            raise FloatingPointError("the loss is not finite where the quasi-Newton stage starts")
        if not keep_hessian:
            self.hess.reset()
        self.f_old: float | None = None

    def _eval(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.evaluations += 1
        f, g = self.fun(x)
        return float(f), np.asarray(g, dtype=np.float64)

    def step(self) -> StepResult:
        """One iteration; where the line search fails from an updated H it retries once from the identity."""
        before = self.evaluations
        gmax = float(np.abs(self.g).max())
        if gmax <= self.gtol:
            return StepResult(f"gradient below tolerance (max |g| {gmax:.1e} <= {self.gtol:.0e})", 0)
        while True:
            found = self._line_search()
            if found is not None or self.hess.fresh:
                break
            self.hess.reset()   # a stale approximation: steepest descent once more before giving up
        for first in FIRST_STEPS if found is None else ():
            # scipy's first guess (a step of unit length) can be so far off that its bracketing gives up,
            # e.g. on new points after a restart: smaller first steps
            found = self._line_search(first)
            if found is not None:
                break
        if found is None:
            return StepResult("the line search found no step meeting the strong Wolfe conditions, from a fresh "
                              "Hessian too (the loss no longer decreases at float64 precision)",
                              self.evaluations - before)
        alpha, x_new, f_new, g_new = found
        g_t = torch.from_numpy(self.g).to(self.device)
        s = torch.from_numpy(x_new - self.x).to(self.device)
        y = torch.from_numpy(g_new - self.g).to(self.device)
        self.hess.update(s, y, g_t, alpha)
        self.f_old, self.x, self.f, self.g = self.f, x_new, f_new, g_new
        return StepResult("", self.evaluations - before)

    def _line_search(self, first: float | None = None) -> tuple[float, np.ndarray, float, np.ndarray] | None:
        p = self.hess.direction(torch.from_numpy(self.g).to(self.device)).cpu().numpy()
        slope = float(p @ self.g)
        if not slope < 0:   # not a descent direction (rounding in a stale H)
            return None
        cache: dict[bytes, tuple[float, np.ndarray]] = {}

        def both(x: np.ndarray) -> tuple[float, np.ndarray]:
            key = x.tobytes()
            if key not in cache:
                cache.clear()  # scipy asks f then ∇f at the same point: keep one
                cache[key] = self._eval(x)
            return cache[key]

        # scipy's BFGS guess for a first step from the identity: a step of about unit length
        old_old = self.f + float(np.linalg.norm(self.g)) / 2 if self.f_old is None or self.hess.fresh else self.f_old
        if first is not None:  # scipy's first step is 1.01 · 2 (f - f_old) / slope: make it ``first``
            old_old = self.f - first * slope / 2.02
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # scipy: "did not converge", a None we handle
            with np.errstate(invalid="ignore", over="ignore"):
                alpha, *_, f_new, _, _ = scipy.optimize.line_search(
                    lambda x: both(x)[0], lambda x: both(x)[1], self.x, p, gfk=self.g, old_fval=self.f,
                    old_old_fval=old_old, c1=C1, c2=C2)
        if alpha is None or f_new is None or not math.isfinite(f_new):
            return None
        x_new = self.x + alpha * p
        f_new, g_new = both(x_new)
        return alpha, x_new, f_new, g_new


def minimize(fun: Objective, x0: np.ndarray, method: str, max_iter: int, gtol: float = 1e-10
             ) -> tuple[np.ndarray, float, int, str]:
    """Run :class:`QuasiNewton` to a stop or ``max_iter`` iterations: ``(x, f, iterations, why it stopped)``."""
    qn = QuasiNewton(fun, x0, method, gtol)
    for k in range(max_iter):
        r = qn.step()
        if r.stop:
            return qn.x, qn.f, k, r.stop
    return qn.x, qn.f, max_iter, f"reached the iteration limit ({max_iter})"
