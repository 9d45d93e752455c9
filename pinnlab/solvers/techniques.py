"""PINN training techniques that act on the residual term or on where its points lie.

- **Causal weighting** (Wang, Sankaran & Perdikaris, "Respecting causality for training physics-informed
  neural networks", CMAME 2024): the residual points are binned by time; bin i's mean squared residual
  L_i counts with weight w_i = exp(-ε Σ_{k<i} L_k), held constant in the gradient, so later times
  are fitted only once earlier ones are.
- **RBA point weights** (Anagnostopoulos et al., "Residual-based attention in physics-informed neural
  networks", CMAME 2024): each residual point carries a weight λ_i ← γ λ_i + η |r_i| / max |r|, updated
  from the residuals at every Adam step (from 0), and the residual term is mean((λ_i r_i)²).
- **RAD resampling** (Wu et al., "A comprehensive study of non-adaptive and residual-based adaptive
  sampling for PINNs", CMAME 2023): new residual points are drawn from a pool with probability
  proportional to |r|^k / mean |r|^k + c, so they gather where the residual is large.

They are pure functions of tensors here; :class:`~.pinn.PinnTask` applies them when the run's config
asks (``--causal EPS``, ``--rba ETA``, ``--rad K``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError

CAUSAL_BINS = 32      # time bins (jaxpi's default number of chunks)
RAD_POOL = 10         # candidates per point drawn for RAD
RBA_DECAY = 0.999     # γ of the RBA update (the paper's value; η is the option)
RAD_C = 1.0           # RAD's uniform share: p ∝ |r|^k / mean |r|^k + c (Wu et al.'s recommended c = 1)


def check_causal(names: tuple[str, ...] | list[str], problem_name: str) -> None:
    if "t" not in names:
        raise ConfigError(f"causal weighting needs a time coordinate 't'; problem {problem_name!r} has "
                          f"{', '.join(names)} (use --causal 0)")


def causal_weights(bin_losses: torch.Tensor, eps: float) -> torch.Tensor:
    """w_i = exp(-ε Σ_{k<i} L_i), no gradient through the weights."""
    done = bin_losses.detach()
    return torch.exp(-eps * (torch.cumsum(done, 0) - done))


def bin_losses(per_point: torch.Tensor, t: torch.Tensor, t_range: tuple[float, float],
               bins: int = CAUSAL_BINS) -> torch.Tensor:
    """The mean of ``per_point`` over each of ``bins`` equal time bins of ``t_range`` (0 for an empty bin)."""
    lo, hi = t_range
    idx = ((t - lo) * (bins / (hi - lo))).long().clamp(0, bins - 1)
    sums = torch.zeros(bins, dtype=per_point.dtype, device=per_point.device).index_add_(0, idx, per_point)
    counts = torch.zeros_like(sums).index_add_(0, idx, torch.ones_like(per_point))
    return sums / counts.clamp(min=1)


def causal_loss(per_point: torch.Tensor, t: torch.Tensor, t_range: tuple[float, float], eps: float,
                bins: int = CAUSAL_BINS, weights: torch.Tensor | None = None) -> torch.Tensor:
    """The causally weighted residual loss (1/M) Σ w_i L_i of squared residuals ``per_point`` at times ``t``;
    ``weights``: the w_i held fixed (a quasi-Newton stage), else computed from these losses."""
    losses = bin_losses(per_point, t, t_range, bins)
    return ((causal_weights(losses, eps) if weights is None else weights) * losses).mean()


def min_causal_weight(per_point: torch.Tensor, t: torch.Tensor, t_range: tuple[float, float], eps: float) -> float:
    """The last bin's weight: near 1 once the residual is small at all times (jaxpi's stopping figure)."""
    with torch.no_grad():
        return float(causal_weights(bin_losses(per_point, t, t_range), eps)[-1])


def rba_update(weights: torch.Tensor, residual_abs: torch.Tensor, eta: float, decay: float = RBA_DECAY
               ) -> torch.Tensor:
    """The RBA weights after one update from the points' residual magnitudes (no gradient)."""
    r = residual_abs.detach()
    return decay * weights + eta * r / r.max().clamp(min=torch.finfo(r.dtype).tiny)


def rad_probabilities(residual_abs: np.ndarray, k: float, c: float = RAD_C) -> np.ndarray:
    """RAD's sampling probabilities over a pool: ∝ |r|^k / mean |r|^k + c, normalised."""
    e = np.power(np.abs(residual_abs).astype(np.float64), k)
    mean = e.mean()
    dens = (e / mean if mean > 0 else np.zeros_like(e)) + c
    return dens / dens.sum()


def rad_choose(residual_abs: np.ndarray, n: int, k: float, rng: np.random.Generator, c: float = RAD_C) -> np.ndarray:
    """``n`` distinct pool rows drawn with RAD's probabilities."""
    return rng.choice(len(residual_abs), size=n, replace=False, p=rad_probabilities(residual_abs, k, c))
