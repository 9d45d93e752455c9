"""Net: inputs scaled from the domain to [-1, 1], hidden layers of one kind, a plain Linear head."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .errors import ConfigError
from .layers import check_options, layer_kind


class Net(nn.Module):
    """A fully connected network ``in_dim → width × depth → out_dim``.

    ``bounds`` (lo, hi per input) maps inputs affinely to [-1, 1]; ``transform(x, out)``, if
    given, turns the raw output into the final one (a problem's hard constraint).
    """

    def __init__(self, in_dim: int, out_dim: int, width: int = 32, depth: int = 3, layer: str = "tanh", *,
                 bounds: tuple[Sequence[float], Sequence[float]] | None = None,
                 transform: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                 init: str | None = None, layer_norm: bool = False, **layer_options: Any):
        super().__init__()
        for what, v in (("in_dim", in_dim), ("out_dim", out_dim), ("width", width), ("depth", depth)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{what} must be a positive integer, got {v!r}")
        kind = layer_kind(layer)
        self.layer, self.layer_options = layer, check_options(kind, layer_options)
        lo, hi = bounds if bounds is not None else ([-1.0] * in_dim, [1.0] * in_dim)
        lo, hi = (torch.as_tensor(v, dtype=torch.get_default_dtype()) for v in (lo, hi))
        if lo.shape != (in_dim,) or hi.shape != (in_dim,):
            raise ConfigError(f"bounds must give {in_dim} lower and upper values")
        if not (torch.isfinite(lo).all() and torch.isfinite(hi).all() and (hi > lo).all()):
            raise ConfigError(f"bounds must be finite with each lower below its upper, got lo={lo.tolist()}, "
                              f"hi={hi.tolist()}")
        # x_scaled = (x - mid) / half, stored as buffers so .to(dtype/device) carries them
        self.register_buffer("in_shift", (lo + hi) / 2)
        self.register_buffer("in_scale", 2 / (hi - lo))
        sizes = [in_dim] + [width] * depth
        extra = {"init": init} if init is not None else {}
        self.hidden = nn.ModuleList(
            kind.factory(a, b, first=(i == 0), **extra, **self.layer_options)
            for i, (a, b) in enumerate(zip(sizes, sizes[1:]))
        )
        self.layer_norm = bool(layer_norm)
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(depth)) if layer_norm else None
        self.head = nn.Linear(width, out_dim)
        nn.init.xavier_normal_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.transform = transform

    def scale_inputs(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.in_shift) * self.in_scale

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.scale_inputs(x)
        for i, layer in enumerate(self.hidden):
            h = layer(h)
            if self.norms is not None:
                h = layer_norm(h, self.norms[i])
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(x))
        return self.transform(x, out) if self.transform is not None else out

    def supports_jets(self) -> bool:
        """Whether every part of the forward pass has jet rules (a transform is tried on jets once)."""
        if not all(callable(getattr(m, "forward_jet", None)) for m in self.hidden):
            return False
        if self.transform is None:
            return True
        if getattr(self, "_transform_on_jets", None) is None:
            from .jets import check_transform
            self._transform_on_jets = check_transform(self.transform, len(self.in_shift), self.head.out_features)
        return self._transform_on_jets

    def forward_jet(self, jet):
        """The forward pass on a :class:`~pinnlab.jets.Jet` of the inputs (values and partials)."""
        from .jets import Jet, TorchJet, linear
        h = jet.shift(-self.in_shift).scale(self.in_scale)
        for i, layer in enumerate(self.hidden):
            h = layer.forward_jet(h)
            if self.norms is not None:
                h = layer_norm(h, self.norms[i])
        out = linear(h, self.head.weight, self.head.bias)
        if self.transform is None:
            return out
        # users' transforms call torch functions (torch.sin(c.x)): give them jets that torch accepts
        res = self.transform(TorchJet(jet.comps, jet.plan), TorchJet(out.comps, out.plan))
        return Jet(res.comps, res.plan)

    def extra_loss(self) -> dict[str, torch.Tensor]:
        """Loss terms the hidden layers ask for (adaptive activations' slope recovery); usually none."""
        from .layers.laaf import extra_loss
        return extra_loss(self.hidden)


def layer_norm(h, norm: nn.LayerNorm):
    """``nn.LayerNorm`` over the last dimension, written out so it runs on tensors and jets alike.

    Written out rather than calling the fused kernel: PyTorch's layer-norm triple backward gives
    wrong third derivatives (checked against finite differences), which autograd-engine PINNs of
    third-order PDEs would silently train on.
    """
    c = h - h.mean(dim=-1, keepdim=True)
    out = c * ((c * c).mean(dim=-1, keepdim=True) + norm.eps).rsqrt()
    return _affine(out, norm)


def _affine(out, norm: nn.LayerNorm):
    if norm.weight is not None:
        out = out * norm.weight if isinstance(out, torch.Tensor) else out.scale(norm.weight)
    if norm.bias is not None:
        out = out + norm.bias if isinstance(out, torch.Tensor) else out.shift(norm.bias)
    return out
