"""``auto``: autoactivated weights, then an activation (tanh by default).

The parameters are logarithms of weight magnitudes, so a gradient step on them acts
multiplicatively on the weights (Δw ≈ −η w² g to first order, for the ``pm`` form). A sign is
needed for negative weights; two forms:

- ``sign=pm`` (the EG± form): W = exp(A⁺) − exp(A⁻), with A± = log(max(±W0, 0) + c·σ);
- ``sign=soft`` (a softened sign): W = tanh(S) · exp(A), with A = log(|W0| + c·σ) and
  S = atanh(W0 / (|W0| + c·σ)), so the sign itself is learned smoothly.

W0 is drawn by the ``--init`` scheme (``default``: Xavier-normal) and σ is that scheme's standard
deviation; in both forms W = W0 exactly at initialisation, so W has Xavier's scale. The offset
c·σ keeps the logarithms finite and sets how fast small weights can grow. Bias: plain, zero.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, one_of
from . import register_builtin
from .activations import ACTIVATIONS
from .init import init_std, init_weight, xavier_default

SIGN_FORMS = ("pm", "soft")
OPTIONS = {"sign": "pm", "c": 0.5, "activation": "tanh"}  # the measured defaults (docs/layers.md)


class Auto(nn.Module):
    """A dense layer whose weights are parametrised by their logarithms."""

    def __init__(self, in_features: int, out_features: int, first: bool = False, init: str | None = None,
                 sign: str = OPTIONS["sign"], c: float = OPTIONS["c"], activation: str = OPTIONS["activation"]):
        super().__init__()
        if sign not in SIGN_FORMS:
            raise ConfigError(one_of("layer 'auto' sign form", sign, SIGN_FORMS))
        if not (math.isfinite(c) and c > 0):
            raise ConfigError(f"layer 'auto' option c={c!r}: expected a positive number")
        if activation not in ACTIVATIONS:
            raise ConfigError(one_of("layer 'auto' activation", activation, sorted(ACTIVATIONS)))
        self.sign, self.c, self.activation = sign, float(c), ACTIVATIONS[activation]
        w0 = torch.empty(out_features, in_features)
        self.init = init_weight(w0, init, xavier_default)
        sigma = init_std("xavier" if self.init == "default" else self.init, in_features, out_features)
        offset = self.c * sigma
        if sign == "pm":
            self.a_plus = nn.Parameter(torch.log(w0.clamp_min(0) + offset))
            self.a_minus = nn.Parameter(torch.log((-w0).clamp_min(0) + offset))
        else:
            m = w0.abs() + offset
            self.a = nn.Parameter(torch.log(m))
            self.s = nn.Parameter(torch.atanh(w0 / m))
        self.bias = nn.Parameter(torch.zeros(out_features))

    @property
    def weight(self) -> torch.Tensor:
        """The effective weight matrix W (out, in)."""
        if self.sign == "pm":
            return torch.exp(self.a_plus) - torch.exp(self.a_minus)
        return torch.tanh(self.s) * torch.exp(self.a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation.forward(F.linear(x, self.weight, self.bias))

    def forward_jet(self, jet):
        from ..jets import apply, linear
        return apply(linear(jet, self.weight, self.bias), self.activation)

    def extra_repr(self) -> str:
        return f"sign={self.sign}, c={self.c}, activation={self.activation.name}, init={self.init}"


def make_auto(in_features: int, out_features: int, first: bool = False, init: str | None = None,
              **options) -> nn.Module:
    return Auto(in_features, out_features, first, init, **options)


register_builtin("auto", make_auto, OPTIONS,
               "autoactivated weights W = exp(A+) - exp(A-) (or tanh(S) exp(A)), then an activation; sign, c, activation")
