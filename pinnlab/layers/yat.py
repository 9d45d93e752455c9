"""``yat``: the Yat-product neuron, y_j = α · (w_j·x + b_j)² / (‖x − w_j‖² + ε).

No activation function: the ratio is the non-linearity, and y ≥ 0 (so a Net's head stays a
plain Linear). The distance is computed as d = ‖x‖² + ‖w_j‖² − 2 w_j·x, which shares the
matmul w_j·x with the numerator; rounding can make it slightly negative when x ≈ w_j, so its
*value* is clamped at 0. The clamp changes the value only: the derivatives (in autograd and in
jets alike) are those of the unclamped expression, which is exactly ‖x − w_j‖² ≥ 0, so they are
the true ones. With ε > 0 the layer is finite at x = w_j and smooth (C∞) everywhere.

ε is a squared length in input units. Net maps inputs to [−1, 1], which is what makes one ε work
across problems; nmn's 1e-5 makes the ratio nearly singular and does not train PINNs.

Options:
- ``eps``: ε (or, with ``learn_eps``, its initial value);
- ``learn_eps``: learn ε = softplus(ρ) (one ρ per layer), keeping it positive;
- ``alpha``: ``learn`` (one learnable scalar α, init 1), ``fixed`` (α = 1), or ``nmn`` (α learnable,
  the output multiplied by (√F / log(1 + F))^α as in the nmn package, F = out_features).

Initialisation (``init="default"``): W LeCun-normal (std √(1/in)), as nmn; bias zero.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, one_of
from . import register_builtin
from .init import init_std, init_weight

ALPHA_MODES = ("learn", "fixed", "nmn")
OPTIONS = {"eps": 1.0, "learn_eps": False, "alpha": "learn"}  # the measured defaults (docs/layers.md)


def _inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))


class Yat(nn.Module):
    """One layer of Yat-product neurons."""

    # On the CPU, inductor writes out an intermediate that more kernels than this read, instead of
    # recomputing it in each (its default is 4). Yat's squared distances and quotients feed many
    # kernels of the compiled step; at 3 the Burgers 20x3 step was 9-12% faster (medians of 300-500
    # interleaved steps, four runs; 2: 4-8%, 8: 32% slower). tanh, sine and auto steps did not
    # move. Inductor's graph pattern rewrites off: 2.5-5.5% faster again (three runs). Not measured
    # on a GPU, so not set there.
    inductor_options = {"cpu": {"realize_reads_threshold": 3, "pattern_matcher": False}}

    def __init__(self, in_features: int, out_features: int, first: bool = False, init: str | None = None,
                 eps: float = OPTIONS["eps"], learn_eps: bool = OPTIONS["learn_eps"],
                 alpha: str = OPTIONS["alpha"]):
        super().__init__()
        if not (math.isfinite(eps) and eps > 0):
            raise ConfigError(f"layer 'yat' option eps={eps!r}: expected a positive number")
        if alpha not in ALPHA_MODES:
            raise ConfigError(one_of("layer 'yat' alpha mode", alpha, ALPHA_MODES))
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.init = init_weight(self.weight, init, self._lecun)
        self.alpha_mode, self.learn_eps = alpha, bool(learn_eps)
        self.alpha = nn.Parameter(torch.ones(())) if alpha != "fixed" else None
        # nmn's output scale: a constant base raised to the learnable α
        self.log_base = math.log(math.sqrt(out_features) / math.log1p(out_features)) if alpha == "nmn" else 0.0
        if self.learn_eps:
            self.eps_raw = nn.Parameter(torch.tensor(_inverse_softplus(float(eps))))
        else:
            self.register_buffer("eps_value", torch.tensor(float(eps)))

    @staticmethod
    def _lecun(weight: torch.Tensor) -> None:
        weight.normal_(0.0, init_std("lecun", weight.shape[1], weight.shape[0]))

    def eps(self) -> torch.Tensor:
        return F.softplus(self.eps_raw) if self.learn_eps else self.eps_value

    def scale(self) -> torch.Tensor | None:
        """The factor α (or nmn's base^α) multiplying the ratio; ``None`` when it is 1."""
        if self.alpha is None:
            return None
        if self.alpha_mode == "nmn":
            return torch.exp(self.alpha * self.log_base)
        return self.alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wx = F.linear(x, self.weight)
        s = wx + self.bias
        d = (x * x).sum(-1, keepdim=True) + (self.weight * self.weight).sum(-1) - 2 * wx
        d = d + (d.clamp_min(0) - d).detach()  # clamp the value only (see the module docstring)
        y = s * s / (d + self.eps())
        a = self.scale()
        return y if a is None else a * y

    def forward_jet(self, jet):
        from ..jets import linear
        wx = linear(jet, self.weight, None)
        s = wx.shift(self.bias)
        xx = (jet * jet).sum(dim=-1, keepdim=True)
        d = (wx.scale(-2.0) + xx).shift((self.weight * self.weight).sum(-1))
        # the value is clamped at 0; the partials stay those of ‖x − w‖² (a constant shift has none)
        d = d.shift((d.value.clamp_min(0) - d.value).detach())
        y = (s * s) / d.shift(self.eps())
        a = self.scale()
        return y if a is None else y.scale(a)

    def extra_repr(self) -> str:
        eps = f"learned, now {float(self.eps().detach()):.3g}" if self.learn_eps else f"{float(self.eps_value):.3g}"
        return (f"in={self.weight.shape[1]}, out={self.weight.shape[0]}, eps={eps}, alpha={self.alpha_mode}, "
                f"init={self.init}")


def make_yat(in_features: int, out_features: int, first: bool = False, init: str | None = None,
             **options) -> nn.Module:
    return Yat(in_features, out_features, first, init, **options)


register_builtin("yat", make_yat, OPTIONS,
               "Yat-product neuron alpha (w.x + b)^2 / (|x - w|^2 + eps), no activation; eps, learn_eps, alpha")
