"""The activation zoo: each activation with its first three derivatives (for jets)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Activation:
    name: str
    # derivs(z) → (f, f', f'', f''') as tensors; forward(z) is the plain value
    forward: Callable[[torch.Tensor], torch.Tensor]
    derivs: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]


def _tanh_derivs(z):
    y = torch.tanh(z)
    d1 = 1 - y * y
    return y, d1, -2 * y * d1, -2 * d1 * (1 - 3 * y * y)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", torch.tanh, _tanh_derivs),
}
