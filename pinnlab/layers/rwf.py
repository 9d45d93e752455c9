"""Random weight factorisation (Wang, Wang, Seidman & Perdikaris, "Random weight factorization improves
the training of continuous neural representations", 2022; jaxpi's ``FactorizedDense``).

Each weight matrix W (out, in) is trained as W = diag(exp(s)) V: a scale per output unit, s drawn from
N(μ, σ²) once, and V = W / exp(s) so that at initialisation the layer computes exactly what it did
(the paper's μ = 1, σ = 0.1 by default). Gradient descent on (s, V) rescales each unit's step.

Done with ``torch.nn.utils.parametrize``: every layer kind reads ``linear.weight`` as before (its
forward pass, its jet rule, the compiled step), and the trained tensors are ``s`` and ``V``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..errors import ConfigError


class Factorised(nn.Module):
    """The parametrisation V → diag(exp(s)) V (``s`` trainable, one entry per output unit)."""

    def __init__(self, s: torch.Tensor):
        super().__init__()
        self.s = nn.Parameter(s)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.s)[:, None] * v

    def right_inverse(self, w: torch.Tensor) -> torch.Tensor:
        return w / torch.exp(self.s.detach())[:, None]


def factorise(module: nn.Module, mu: float, sigma: float, generator: torch.Generator) -> int:
    """Factorise the weight of every ``nn.Linear`` inside ``module`` (in module order); returns how many."""
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    for lin in linears:
        w = lin.weight
        s = (mu + sigma * torch.randn(w.shape[0], generator=generator, dtype=torch.float64)).to(w.dtype)
        parametrize.register_parametrization(lin, "weight", Factorised(s.to(w.device)))
    return len(linears)


def parse_rwf(text: str) -> tuple[float, float] | None:
    """``"MU,SIGMA"`` (e.g. ``"1,0.1"``) → (μ, σ); ``""`` → None. One ConfigError naming a bad value."""
    if not text:
        return None
    parts = text.split(",")
    try:
        mu, sigma = float(parts[0]), float(parts[1])
        ok = len(parts) == 2 and math.isfinite(mu) and math.isfinite(sigma) and sigma >= 0 and abs(mu) <= 10
    except (ValueError, IndexError):
        ok = False
    if not ok:
        raise ConfigError(f"rwf {text!r}: expected MU,SIGMA (the mean and spread of the log-scales s, |MU| <= 10, "
                          f"SIGMA >= 0), e.g. 1,0.1")
    return mu, sigma


def check_rwf(text: str) -> None:
    parse_rwf(text)
