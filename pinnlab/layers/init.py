"""Weight initialisation schemes for ``--init``.

Every scheme draws a weight matrix of shape (out, in) in place:

- ``xavier``: normal, std √(2 / (fan_in + fan_out)) (Glorot);
- ``he``: normal, std √(2 / fan_in) (Kaiming, for ReLU-like units);
- ``lecun``: normal, std √(1 / fan_in);
- ``orthogonal``: a (semi-)orthogonal matrix, gain 1 (rows or columns orthonormal);
- ``default``: the layer kind's own scheme (Xavier for dense layers, SIREN's uniform for ``sine``, ...).

Biases are not touched here: each layer kind states its bias initialisation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..errors import ConfigError, one_of

INIT_SCHEMES = ("default", "xavier", "he", "lecun", "orthogonal")


def init_std(scheme: str, fan_in: int, fan_out: int) -> float:
    """The standard deviation a normal scheme draws with (used by tests and by ``auto``'s offset)."""
    if scheme == "xavier":
        return math.sqrt(2.0 / (fan_in + fan_out))
    if scheme == "he":
        return math.sqrt(2.0 / fan_in)
    if scheme == "lecun":
        return math.sqrt(1.0 / fan_in)
    if scheme == "orthogonal":
        # entries of an orthogonal (out, in) matrix have mean square 1 / max(in, out)
        return math.sqrt(1.0 / max(fan_in, fan_out))
    raise ConfigError(one_of("init scheme", scheme, INIT_SCHEMES[1:]))


def check_scheme(scheme: str | None) -> str:
    """Validate an ``--init`` value (``None`` means ``default``)."""
    scheme = "default" if scheme is None else str(scheme)
    if scheme not in INIT_SCHEMES:
        raise ConfigError(one_of("init scheme", scheme, INIT_SCHEMES))
    return scheme


def init_weight(weight: torch.Tensor, scheme: str | None, default: Callable[[torch.Tensor], None]) -> str:
    """Fill ``weight`` (out, in) by ``scheme``; ``default`` is the kind's own. Returns the scheme used."""
    scheme = check_scheme(scheme)
    fan_out, fan_in = weight.shape
    with torch.no_grad():
        if scheme == "default":
            default(weight)
        elif scheme == "orthogonal":
            torch.nn.init.orthogonal_(weight)
        else:
            weight.normal_(0.0, init_std(scheme, fan_in, fan_out))
    return scheme


def xavier_default(weight: torch.Tensor) -> None:
    """The dense layers' own scheme: Xavier-normal."""
    fan_out, fan_in = weight.shape
    with torch.no_grad():
        weight.normal_(0.0, init_std("xavier", fan_in, fan_out))
