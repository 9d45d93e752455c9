"""Reusable high-accuracy reference solvers for problems without a closed-form solution.

Each builder returns a :class:`~pinnlab.problem.Reference` whose ``method`` states the method
and its accuracy settings, so a problem file stays a few lines long:

- :func:`ivp_reference`: ODE systems by ``scipy.integrate.solve_ivp`` (rtol 1e-10, atol 1e-12);
- :func:`burgers_cole_hopf`: viscous Burgers with u(x, 0) = -sin(πx) by the Cole–Hopf formula,
  integrated with Gauss–Hermite quadrature;
- :func:`allen_cahn_etdrk4`: a Fourier spectral solver with ETDRK4 time stepping for
  u_t = d u_xx - γ (u³ - u) on a periodic interval (Kassam & Trefethen 2005).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.polynomial.hermite import hermgauss
from scipy.integrate import solve_ivp
from scipy.special import logsumexp

from .errors import ProblemError
from .fields import Params
from .problem import Reference

# -- ODEs --------------------------------------------------------------------------------------

def ivp_reference(rhs: Callable[[float, np.ndarray, Params], Sequence[float]],
                  y0: Callable[[Params], Sequence[float]], fields: Sequence[str], t: tuple[float, float],
                  n: int = 1001, method: str = "DOP853", rtol: float = 1e-10, atol: float = 1e-12) -> Reference:
    """A reference for ``y' = rhs(t, y, p)``, ``y(t0) = y0(p)`` on ``n`` evenly spaced times.

    Use ``method="Radau"`` for stiff systems; DOP853 (8th order) otherwise.
    """
    fields = tuple(fields)

    def solve(p: Params):
        ts = np.linspace(t[0], t[1], n)
        start = np.asarray(y0(p), dtype=float).reshape(-1)
        if len(start) != len(fields):
            raise ProblemError(f"reference: {len(start)} initial values for {len(fields)} fields {fields}")
        sol = solve_ivp(lambda s, y: rhs(s, y, p), t, start, method=method,
                        t_eval=ts, rtol=rtol, atol=atol)
        if not sol.success:
            raise ProblemError(f"reference solve_ivp failed: {sol.message}")
        return {"t": ts}, dict(zip(fields, sol.y, strict=True))

    return Reference(f"scipy solve_ivp {method}, rtol {rtol:g}, atol {atol:g}, {n} times", solve)


# -- Burgers by Cole–Hopf ------------------------------------------------------------------------

BURGERS_NODES = 200  # measured at nu = 0.01/π: 100 → 200 nodes changes u by 1e-14 (hermgauss overflows past ~350)


def cole_hopf_burgers(x: np.ndarray, t: np.ndarray, nu: float, nodes: int = BURGERS_NODES) -> np.ndarray:
    """u(x, t) of u_t + u u_x = ν u_xx with u(x, 0) = -sin(πx), on the grid ``x × t`` (shape (nx, nt)).

    Cole–Hopf: u = -2ν φ_x / φ with φ the heat-equation solution from φ(x, 0) = exp(-cos(πx)/(2πν)).
    With η = x - y = √(4νt)·z the solution is a ratio of Gaussian integrals,
    u = -∫ sin(π(x-η)) F(x-η) e^{-z²} dz / ∫ F(x-η) e^{-z²} dz, F(y) = exp(-cos(πy)/(2πν)),
    summed in log space because F spans e^{±1/(2πν)}. The solution is odd and 2-periodic, so
    u(±1, t) = 0 holds on the line without boundary terms.
    """
    z, w = hermgauss(nodes)
    x = np.asarray(x, dtype=float).reshape(-1)
    out = np.empty((len(x), len(np.asarray(t).reshape(-1))))
    for j, tj in enumerate(np.asarray(t, dtype=float).reshape(-1)):
        if tj <= 0:
            out[:, j] = -np.sin(np.pi * x)
            continue
        y = x[:, None] - math.sqrt(4 * nu * tj) * z[None, :]
        logs = np.log(w)[None, :] - np.cos(np.pi * y) / (2 * np.pi * nu)
        num = logsumexp(logs, axis=1, b=np.sin(np.pi * y), return_sign=True)
        den = logsumexp(logs, axis=1)
        out[:, j] = -num[1] * np.exp(num[0] - den)
    return out


def burgers_cole_hopf(nx: int = 256, nt: int = 100, t_max: float = 0.99, nodes: int = BURGERS_NODES) -> Reference:
    """Cole–Hopf reference on x = linspace(-1, 1, nx), t = linspace(0, t_max, nt) (DeepXDE's grid)."""

    def solve(p: Params):
        x, t = np.linspace(-1.0, 1.0, nx), np.linspace(0.0, t_max, nt)
        return {"x": x, "t": t}, {"u": cole_hopf_burgers(x, t, p.nu, nodes)}

    return Reference(f"Cole–Hopf formula, {nodes}-node Gauss–Hermite quadrature, {nx}×{nt} grid "
                     f"(x in [-1, 1], t in [0, {t_max:g}])", solve)


# -- Allen–Cahn by ETDRK4 ------------------------------------------------------------------------

def etdrk4_coefficients(lin: np.ndarray, h: float, m: int = 64) -> tuple[np.ndarray, ...]:
    """ETDRK4 coefficients for diagonal linear part ``lin`` and step ``h``.

    The φ-functions are averaged over m points of a unit circle around each h·L (Kassam &
    Trefethen's contour integral), which avoids the cancellation of the direct formulas near 0.
    """
    r = np.exp(1j * np.pi * (np.arange(1, m + 1) - 0.5) / m)
    lr = h * lin[:, None] + r[None, :]
    e = np.exp(lr)
    q = h * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = h * np.real(np.mean((-4 - lr + e * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = h * np.real(np.mean((2 + lr + e * (lr - 2)) / lr**3, axis=1))
    f3 = h * np.real(np.mean((-4 - 3 * lr - lr**2 + e * (4 - lr)) / lr**3, axis=1))
    return np.exp(h * lin), np.exp(h * lin / 2), q, f1, f2, f3


def solve_allen_cahn(u0: Callable[[np.ndarray], np.ndarray], d: float, gamma: float, t_max: float = 1.0,
                     n: int = 1024, dt: float = 1e-4, saves: int = 201,
                     x_range: tuple[float, float] = (-1.0, 1.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """u_t = d u_xx - γ(u³ - u), periodic on ``x_range``, by Fourier collocation (n points) + ETDRK4.

    Returns the Fourier grid x (n points, the right end excluded), the ``saves`` output times and
    u of shape (n, saves).
    """
    lo, hi = x_range
    x = lo + (hi - lo) * np.arange(n) / n
    k = 2 * np.pi / (hi - lo) * np.fft.rfftfreq(n, 1.0 / n)
    lin = -d * k**2 + gamma
    ts = np.linspace(0.0, t_max, saves)
    per_save = round((ts[1] - ts[0]) / dt)
    if not math.isclose(per_save * dt, ts[1] - ts[0], rel_tol=1e-9):
        raise ProblemError(f"ETDRK4 step {dt:g} does not divide the output spacing {ts[1] - ts[0]:g}")
    e, e2, q, f1, f2, f3 = etdrk4_coefficients(lin, dt)

    def nonlin(v):
        return -gamma * np.fft.rfft(np.fft.irfft(v, n) ** 3)

    v = np.fft.rfft(u0(x))
    out = np.empty((n, saves))
    out[:, 0] = u0(x)
    for s in range(1, saves):
        for _ in range(per_save):
            nv = nonlin(v)
            a = e2 * v + q * nv
            na = nonlin(a)
            b = e2 * v + q * na
            nb = nonlin(b)
            c = e2 * a + q * (2 * nb - nv)
            nc = nonlin(c)
            v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
        out[:, s] = np.fft.irfft(v, n)
    return x, ts, out


def allen_cahn_etdrk4(u0: Callable[[np.ndarray], np.ndarray], n: int = 4096, dt: float = 5e-4,
                      saves: int = 201, every: int = 8) -> Reference:
    """Reference for a problem with params ``d`` and ``gamma`` on x ∈ [-1, 1], t ∈ [0, 1].

    Output on every ``every``-th Fourier point plus the periodic copy at x = 1 (513 × 201).
    Measured for u0 = x² cos πx, d = 1e-4, γ = 5: halving dt changes u by 1e-11; doubling n
    changes it by 2e-5 at most (at x = ±1 just after t = 0, where u0's slope is not periodic:
    spectral convergence is only algebraic there) and by 1e-7 in RMS.
    """

    def solve(p: Params):
        x, ts, u = solve_allen_cahn(u0, p.d, p.gamma, n=n, dt=dt, saves=saves)
        x_out = np.append(x[::every], 1.0)
        u_out = np.concatenate([u[::every], u[:1]], axis=0)
        return {"x": x_out, "t": ts}, {"u": u_out}

    return Reference(f"Fourier spectral ({n} modes) + ETDRK4 (dt {dt:g}, contour coefficients)", solve)
