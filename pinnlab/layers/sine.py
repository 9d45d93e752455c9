"""``sine`` (SIREN): y = sin(ω0 (W x + b)).

Initialisation (``init="default"``): first layer W ~ U(−1/n, 1/n), hidden layers
W ~ U(−√(6/n)/ω0, √(6/n)/ω0), n = in_features; bias ~ U(−1/√n, 1/√n) (PyTorch's Linear default,
which SIREN keeps). Any other ``--init`` scheme draws W by that scheme; ω0 still multiplies it.

ω0 = 30 is SIREN's image-fitting default; on PINNs it fits the collocation points with a
high-frequency function and the error stays near 1 (see docs/layers.md), so the default here is
the value measured best on the built-in problems.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from . import register_builtin
from .activations import ACTIVATIONS
from .init import init_weight

SIN = ACTIVATIONS["sin"]
OPTIONS = {"omega0": 3.0}  # the measured default (docs/layers.md)


class Sine(nn.Module):
    """One SIREN layer; ``first`` selects the first-layer initialisation."""

    def __init__(self, in_features: int, out_features: int, first: bool = False, init: str | None = None,
                 omega0: float = OPTIONS["omega0"]):
        super().__init__()
        if not (math.isfinite(omega0) and omega0 > 0):
            raise ConfigError(f"layer 'sine' option omega0={omega0!r}: expected a positive number")
        self.omega0 = float(omega0)
        self.first = bool(first)
        self.linear = nn.Linear(in_features, out_features)  # bias keeps PyTorch's U(±1/√n)
        self.init = init_weight(self.linear.weight, init, self._siren_init)

    def _siren_init(self, weight: torch.Tensor) -> None:
        n = weight.shape[1]
        bound = 1.0 / n if self.first else math.sqrt(6.0 / n) / self.omega0
        weight.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega0 * F.linear(x, self.linear.weight, self.linear.bias))

    def forward_jet(self, jet):
        from ..jets import apply, linear
        w = self.omega0
        return apply(linear(jet, w * self.linear.weight, w * self.linear.bias), SIN)

    def extra_repr(self) -> str:
        return f"omega0={self.omega0}, first={self.first}, init={self.init}"


def make_sine(in_features: int, out_features: int, first: bool = False, init: str | None = None,
              omega0: float = OPTIONS["omega0"]) -> nn.Module:
    return Sine(in_features, out_features, first, init, omega0)


register_builtin("sine", make_sine, OPTIONS,
               "SIREN: sin(omega0 (W x + b)), SIREN initialisation; omega0 measured on the built-in problems")
