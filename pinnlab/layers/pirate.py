"""PirateNet's residual block (Wang, Sankaran, Wang & Perdikaris, "PirateNets: physics-informed deep
learning with residual adaptive networks", JMLR 2024; jaxpi's ``PirateNet``).

A block maps the embedded inputs' space to itself through three dense layers of the run's layer kind,
the first two gated by the network-wide encoders U and V as in the modified MLP, and mixes the result
with its input by a trainable α initialised at 0:

    f = σ(W₁ h + b₁),  z₁ = f U + (1 − f) V,  g = σ(W₂ z₁ + b₂),  z₂ = g U + (1 − g) V,
    k = σ(W₃ z₂ + b₃),  h ← α k + (1 − α) h.

With α = 0 every block is the identity, so an untrained PirateNet is a linear read-out of its input
embedding; each block's nonlinearity enters as its α grows. The arithmetic is the same on tensors and
on jets, so one method serves both.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class PirateBlock(nn.Module):
    """Three layers ``dim → width → width → dim`` (made by ``build(n_in, n_out, first)``), gated by U, V,
    and the skip weight ``alpha`` (a parameter of one entry, 0 at initialisation)."""

    def __init__(self, dim: int, width: int, build: Callable[[int, int, bool], nn.Module]):
        super().__init__()
        self.layers = nn.ModuleList([build(dim, width, False), build(width, width, False), build(width, dim, False)])
        self.alpha = nn.Parameter(torch.zeros(1))

    def run(self, h, v, d, method: str):
        """The block on ``h`` with the encoders' outputs as ``v`` and ``d = u - v``; ``method``: ``"forward"``
        on tensors, ``"forward_jet"`` on jets."""
        z = h
        for layer in self.layers[:2]:
            f = getattr(layer, method)(z)
            z = v + f * d  # f U + (1 - f) V with one product
        k = getattr(self.layers[2], method)(z)
        step = k - h
        return h + (step * self.alpha if isinstance(step, torch.Tensor) else step.scale(self.alpha))
