"""``laaf``: locally adaptive activations, y = σ(n · a · (W x + b)) (Jagtap et al.).

``a`` is learnable, one scalar per layer (``mode=layer``) or one per neuron (``mode=neuron``),
initialised to 1/n so the slope n·a starts at 1 and the layer starts as a plain dense one;
n ≥ 1 is a fixed scale factor that speeds up the slope's learning. W: the ``--init`` scheme
(``default``: Xavier-normal); bias zero.

Slope recovery: the loss term S = 1 / mean_k exp(mean_i n·a_i^k) over the network's LAAF layers k
(mean over the neurons i of layer k) rewards steeper slopes. :func:`extra_loss` returns it
weighted by the ``recovery`` option, and ``Net.extra_loss()`` passes it to the PINN solver, which
adds every term it is given to the loss (it shows in history.csv as ``loss_slope_recovery``).
The default weight is 0 (off): S has no minimum (it falls as the slopes grow without bound), and
with weight 1 the error was 1.4x (burgers) to 38x (poisson1d) larger at an equal budget (docs/layers.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, one_of
from . import register_builtin
from .activations import ACTIVATIONS
from .init import init_weight, xavier_default

MODES = ("layer", "neuron")
OPTIONS = {"activation": "tanh", "mode": "neuron", "n": 10.0, "recovery": 0.0}  # measured (docs/layers.md)


class LAAF(nn.Module):
    """Dense layer with a learnable activation slope."""

    def __init__(self, in_features: int, out_features: int, first: bool = False, init: str | None = None,
                 activation: str = OPTIONS["activation"], mode: str = OPTIONS["mode"], n: float = OPTIONS["n"],
                 recovery: float = OPTIONS["recovery"]):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ConfigError(one_of("layer 'laaf' activation", activation, sorted(ACTIVATIONS)))
        if mode not in MODES:
            raise ConfigError(one_of("layer 'laaf' mode", mode, MODES))
        if not (math.isfinite(n) and n >= 1):
            raise ConfigError(f"layer 'laaf' option n={n!r}: expected a number >= 1")
        if not (math.isfinite(recovery) and recovery >= 0):
            raise ConfigError(f"layer 'laaf' option recovery={recovery!r}: expected a number >= 0")
        self.activation, self.mode, self.n, self.recovery = ACTIVATIONS[activation], mode, float(n), float(recovery)
        self.linear = nn.Linear(in_features, out_features)
        self.init = init_weight(self.linear.weight, init, xavier_default)
        nn.init.zeros_(self.linear.bias)
        self.a = nn.Parameter(torch.full((out_features,) if mode == "neuron" else (), 1.0 / self.n))

    def slope(self) -> torch.Tensor:
        """n·a: a scalar (layer-wise) or one slope per neuron."""
        return self.n * self.a

    def _scaled(self) -> tuple[torch.Tensor, torch.Tensor]:
        # σ(n a (Wx + b)) = σ((n a ⊙ W) x + n a b): fold the slope into one matmul
        k = self.slope()
        w = k[:, None] * self.linear.weight if self.mode == "neuron" else k * self.linear.weight
        return w, k * self.linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation.forward(F.linear(x, *self._scaled()))

    def forward_jet(self, jet):
        from ..jets import apply, linear
        return apply(linear(jet, *self._scaled()), self.activation)

    def extra_repr(self) -> str:
        return f"activation={self.activation.name}, mode={self.mode}, n={self.n}, init={self.init}"


def slope_recovery(layers: Iterable[nn.Module]) -> torch.Tensor | None:
    """S = 1 / mean_k exp(mean n·a^k) over the LAAF layers among ``layers``; ``None`` if there are none."""
    means = [m.slope().mean() for m in layers if isinstance(m, LAAF)]
    if not means:
        return None
    return 1.0 / torch.stack([torch.exp(v) for v in means]).mean()


def extra_loss(layers: Iterable[nn.Module]) -> dict[str, torch.Tensor]:
    """The loss terms adaptive layers ask for: ``{"slope_recovery": weight · S}``, or nothing."""
    layers = [m for m in layers if isinstance(m, LAAF)]
    weight = layers[0].recovery if layers else 0.0
    if weight == 0.0:
        return {}
    return {"slope_recovery": weight * slope_recovery(layers)}


def make_laaf(in_features: int, out_features: int, first: bool = False, init: str | None = None,
              **options) -> nn.Module:
    return LAAF(in_features, out_features, first, init, **options)


register_builtin("laaf", make_laaf, OPTIONS,
               "adaptive activation act(n a (W x + b)), a per layer or per neuron, slope recovery; "
               "activation, mode, n, recovery")
