"""Dense layers: Linear followed by an activation from the zoo, Xavier initialisation."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from . import register_builtin
from .activations import ACTIVATIONS, Activation
from .init import init_weight, xavier_default


class Dense(nn.Module):
    def __init__(self, in_features: int, out_features: int, activation: Activation, init: str | None = None):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.activation = activation
        init_weight(self.linear.weight, init, xavier_default)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation.forward(self.linear(x))

    def forward_jet(self, jet):
        from ..jets import apply, linear
        return apply(linear(jet, self.linear.weight, self.linear.bias), self.activation)


def _factory(act: Activation):
    def make(in_features: int, out_features: int, first: bool = False, init: str | None = None) -> nn.Module:
        if act.name == "relu" and first:
            warnings.warn("layer 'relu': its second derivative is zero everywhere, so a PINN cannot solve "
                          "second-order PDEs with it; use tanh, silu, gelu or softplus", UserWarning, stacklevel=3)
        return Dense(in_features, out_features, act, init)
    return make


for _name, _act in ACTIVATIONS.items():
    register_builtin(_name, _factory(_act), {}, f"Linear + {_act.doc or _name}, Xavier-normal init")
