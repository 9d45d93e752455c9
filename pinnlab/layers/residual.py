"""Residual (skip-connection) layers: ``h + alpha * act(W h + b)``, the standard fix for very deep networks.

The skip carries the input and its gradient past the activation, so depth does not make the gradient
vanish. Where the widths differ (the first layer) the layer is the plain dense one.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError, one_of
from . import register_builtin
from .activations import ACTIVATIONS, Activation
from .init import init_weight, xavier_default


class Residual(nn.Module):
    """``h + alpha * act(W h + b)`` where the widths agree, else ``act(W h + b)``."""

    def __init__(self, in_features: int, out_features: int, activation: Activation, alpha: float = 1.0,
                 init: str | None = None):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.activation, self.alpha, self.skip = activation, float(alpha), in_features == out_features
        init_weight(self.linear.weight, init, xavier_default)
        nn.init.zeros_(self.linear.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        out = self.activation.forward(self.linear(h))
        return h + self.alpha * out if self.skip else out

    def forward_jet(self, jet):
        from ..jets import apply, linear
        out = apply(linear(jet, self.linear.weight, self.linear.bias), self.activation)
        return jet + out.scale(self.alpha) if self.skip else out


def _make(in_features: int, out_features: int, first: bool = False, init: str | None = None,
          activation: str = "tanh", alpha: float = 1.0) -> nn.Module:
    if activation not in ACTIVATIONS:
        raise ConfigError(one_of("residual layer activation", activation, sorted(ACTIVATIONS)))
    if not (math.isfinite(alpha) and alpha > 0):
        raise ConfigError(f"residual layer alpha must be a positive number, got {alpha!r}")
    return Residual(in_features, out_features, ACTIVATIONS[activation], alpha, init)


register_builtin("residual", _make, {"activation": "tanh", "alpha": 1.0},
                 "residual block h + alpha * act(W h + b) (--layer-opt activation=tanh alpha=1), Xavier-normal init")
