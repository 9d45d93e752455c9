"""The activation zoo: each activation with its first three derivatives (for jets).

Every entry registers a layer kind of the same name (Linear + activation, see ``dense.py``).
``derivs(z)`` returns (f, f', f'', f''') computed from shared intermediates, so a jet pays for
one evaluation of the expensive part (exp, erf, tanh) per layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..jets import ELEMENTARY

Derivs = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Activation:
    name: str
    # forward(z) is the plain value; derivs(z) → (f, f', f'', f''')
    forward: Callable[[torch.Tensor], torch.Tensor]
    derivs: Callable[[torch.Tensor], Derivs]
    smooth: bool = True   # False: some derivative up to order 3 is discontinuous or identically zero
    doc: str = ""


def _softplus(z):
    # F.softplus is z itself above its threshold (20), and so its autograd derivatives 1, 0, 0 there:
    # the same here, so that both engines give the same numbers (they differ by e^-20 from σ's)
    s, d2, d3, _ = ELEMENTARY["sigmoid"](z)
    linear = z > 20.0
    return (F.softplus(z), torch.where(linear, torch.ones_like(s), s), torch.where(linear, torch.zeros_like(d2), d2),
            torch.where(linear, torch.zeros_like(d3), d3))


def _silu(z):
    # f = z s, s = σ(z): f' = s + z s', f'' = 2 s' + z s'', f''' = 3 s'' + z s'''
    s, s1, s2, s3 = ELEMENTARY["sigmoid"](z)
    return z * s, s + z * s1, 2 * s1 + z * s2, 3 * s2 + z * s3


_INV_SQRT_2PI = 1.0 / math.sqrt(2 * math.pi)


def _gelu(z):
    # f = z Φ(z): f' = Φ + z φ, f'' = (2 − z²) φ, f''' = z (z² − 4) φ
    phi = _INV_SQRT_2PI * torch.exp(-0.5 * z * z)
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    z2 = z * z
    return z * cdf, cdf + z * phi, (2 - z2) * phi, z * (z2 - 4) * phi


def _elu(z):
    e = torch.expm1(torch.clamp(z, max=0))
    neg = z <= 0
    one, zero = torch.ones_like(z), torch.zeros_like(z)
    d = torch.where(neg, e + 1, zero)
    return torch.where(neg, e, z), torch.where(neg, d, one), d, d




def _gaussian(z):
    g = torch.exp(-z * z)
    z2 = z * z
    return g, -2 * z * g, (4 * z2 - 2) * g, (12 * z - 8 * z2 * z) * g


def _softsign(z):
    a = 1 + z.abs()
    sgn = torch.sign(z)
    return z / a, 1 / a**2, -2 * sgn / a**3, 6 / a**4


def _atan(z):
    r = 1 / (1 + z * z)
    return torch.atan(z), r, -2 * z * r * r, (6 * z * z - 2) * r * r * r


def _relu(z):
    step = (z > 0).to(z.dtype)
    zero = torch.zeros_like(z)
    return torch.relu(z), step, zero, zero


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in [
    Activation("tanh", torch.tanh, ELEMENTARY["tanh"], doc="tanh z"),
    Activation("sigmoid", torch.sigmoid, ELEMENTARY["sigmoid"], doc="1 / (1 + e^-z)"),
    Activation("softplus", F.softplus, _softplus, doc="log(1 + e^z)"),
    Activation("silu", F.silu, _silu, doc="z sigmoid(z) (swish)"),
    Activation("swish", F.silu, _silu, doc="alias of silu"),
    Activation("gelu", F.gelu, _gelu, doc="z Phi(z), exact erf form"),
    Activation("elu", F.elu, _elu, smooth=False, doc="z for z > 0, e^z - 1 otherwise; f'' jumps at 0"),
    Activation("sin", torch.sin, ELEMENTARY["sin"], doc="sin z"),
    Activation("cos", torch.cos, ELEMENTARY["cos"], doc="cos z"),
    Activation("gaussian", lambda z: torch.exp(-z * z), _gaussian, doc="exp(-z^2)"),
    Activation("softsign", F.softsign, _softsign, smooth=False, doc="z / (1 + |z|); f'' jumps at 0"),
    Activation("atan", torch.atan, _atan, doc="arctan z"),
    Activation("relu", torch.relu, _relu, smooth=False,
               doc="max(z, 0): its second derivative is zero, second-order PDEs cannot be solved with it"),
]}
