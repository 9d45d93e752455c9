"""Input embeddings: maps applied to the scaled inputs before the first hidden layer.

- **Exact periodic embedding** (Dong & Ni, "A method for representing periodic functions and enforcing
  exactly periodic boundary conditions with deep neural networks", JCP 2021; jaxpi's ``PeriodEmbs``):
  a coordinate x of period L is replaced by cos(2πk x/L), sin(2πk x/L), k = 1..K, so the network's
  output, and every derivative of it, is exactly periodic in x. Other coordinates pass through.
- **Random Fourier features** (Tancik et al. 2020; Wang, Wang & Perdikaris, "On the eigenvector bias
  of Fourier feature networks", CMAME 2021): γ(x) = [cos(B x), sin(B x)] with a fixed B, B_ij ~ N(0, σ²),
  drawn from its own seeded stream and kept as a buffer (so checkpoints hold it).

Both are a linear map followed by cos and sin, so their jet rule is the engine's ``linear`` and
``elementwise`` rules; ``Chain`` applies several in turn (periodic first, as jaxpi does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ..errors import ConfigError


def _cos_sin(z):
    """[cos z, sin z] along the features, for tensors and jets."""
    if isinstance(z, torch.Tensor):
        return torch.cat([torch.cos(z), torch.sin(z)], dim=-1)
    from ..jets import ELEMENTARY, _cat, elementwise
    return _cat([elementwise(z, ELEMENTARY["cos"]), elementwise(z, ELEMENTARY["sin"])], dim=-1)


class PeriodicEmbedding(nn.Module):
    """Input ``i`` of period ``periods[i]`` (in the units it arrives in) → cos/sin of its K harmonics;
    the other inputs pass through first, in their order. ``out_dim`` = d - P + 2 K P."""

    def __init__(self, in_dim: int, periods: Mapping[int, float], modes: int = 1):
        super().__init__()
        if not periods:
            raise ConfigError("a periodic embedding needs at least one periodic coordinate")
        if not (isinstance(modes, int) and modes >= 1):
            raise ConfigError(f"periodic modes must be a positive integer, got {modes!r}")
        for i, L in periods.items():
            if not (0 <= i < in_dim and math.isfinite(L) and L > 0):
                raise ConfigError(f"periodic coordinate {i} with period {L!r}: expected 0 <= i < {in_dim} and L > 0")
        dtype = torch.get_default_dtype()
        axes = sorted(periods)
        # harmonics k as exact integers per axis, times 2π/L as a Python float at the run's precision: a
        # buffer holding 2πk/L would keep its float32 rounding in a float64 stage and break exactness
        for i in axes:
            k = torch.zeros(modes, in_dim, dtype=dtype)
            k[:, i] = torch.arange(1, modes + 1, dtype=dtype)
            self.register_buffer(f"k{i}", k)
        self.omegas = [2 * math.pi / periods[i] for i in axes]
        keep = [i for i in range(in_dim) if i not in periods]
        self.register_buffer("select", torch.eye(in_dim, dtype=dtype)[keep])
        self.axes, self.periods, self.modes, self.in_dim = axes, dict(periods), modes, in_dim
        self.out_dim = len(keep) + 2 * modes * len(axes)

    def forward(self, x):
        from ..jets import _cat, linear
        tensor = isinstance(x, torch.Tensor)
        zs = []
        for i, w in zip(self.axes, self.omegas):
            k = getattr(self, f"k{i}")
            zs.append((x @ k.T) * w if tensor else linear(x, k).scale(w))
        z = zs[0] if len(zs) == 1 else (torch.cat(zs, dim=-1) if tensor else _cat(zs, dim=-1))
        waves = _cos_sin(z)
        if not self.select.shape[0]:
            return waves
        if tensor:
            return torch.cat([x @ self.select.T, waves], dim=-1)
        return _cat([linear(x, self.select), waves], dim=-1)

    forward_jet = forward

    def extra_repr(self) -> str:
        return f"periods={self.periods}, modes={self.modes}"


class FourierFeatures(nn.Module):
    """γ(x) = [cos(B x), sin(B x)], B (M, in_dim) ~ N(0, σ²) fixed (a buffer), drawn from ``seed``."""

    def __init__(self, in_dim: int, m: int, sigma: float, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        b = torch.randn(m, in_dim, generator=gen, dtype=torch.float64) * sigma
        self.register_buffer("B", b.to(torch.get_default_dtype()))
        self.m, self.sigma, self.in_dim, self.out_dim = m, sigma, in_dim, 2 * m

    def forward(self, x):
        from ..jets import linear
        return _cos_sin(x @ self.B.T if isinstance(x, torch.Tensor) else linear(x, self.B))

    forward_jet = forward

    def extra_repr(self) -> str:
        return f"m={self.m}, sigma={self.sigma}"


class Chain(nn.Module):
    """Embeddings applied in turn (each has ``out_dim``); one ``forward`` for tensors and jets."""

    def __init__(self, parts: Sequence[nn.Module]):
        super().__init__()
        self.parts = nn.ModuleList(parts)
        self.out_dim = parts[-1].out_dim

    def forward(self, x):
        for p in self.parts:
            x = p(x)
        return x

    forward_jet = forward


def parse_fourier(text: str) -> tuple[int, float] | None:
    """``"M,SIGMA"`` (e.g. ``"64,1"``) → (M, σ); ``""`` → None. One ConfigError naming a bad value."""
    if not text:
        return None
    parts = text.split(",")
    try:
        m, sigma = int(parts[0]), float(parts[1])
        ok = len(parts) == 2 and m >= 1 and math.isfinite(sigma) and sigma > 0
    except (ValueError, IndexError):
        ok = False
    if not ok:
        raise ConfigError(f"fourier-features {text!r}: expected M,SIGMA with M a positive integer (features) and "
                          f"SIGMA a positive number (the spread of B), e.g. 64,1")
    return m, sigma


def check_fourier(text: str) -> None:
    parse_fourier(text)
