"""Layer kinds: the registry that maps ``--layer NAME`` to a hidden-layer factory.

A factory is called as ``factory(in_features, out_features, first=bool, **options)`` and returns
a ``torch.nn.Module``. A module that also has ``forward_jet(jet)`` gets fast forward-mode
derivatives; one without it works through the autograd fallback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import ConfigError, one_of


@dataclass(frozen=True)
class LayerKind:
    name: str
    factory: Callable[..., torch.nn.Module]
    options: Mapping[str, Any] = field(default_factory=dict)  # option → default (its type is the option's type)
    doc: str = ""


LAYER_KINDS: dict[str, LayerKind] = {}
BUILTIN_KINDS: set[str] = set()


def register_layer(name: str, factory: Callable[..., torch.nn.Module], options: Mapping[str, Any] | None = None,
                   doc: str = "") -> None:
    """Make ``--layer NAME`` (and ``Net(..., layer=NAME)``) build hidden layers with ``factory``.

    A kind of one's own may be registered again (a problem file is imported more than once); a
    built-in kind may not be replaced: reports and comparisons name runs by their kind."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"layer kind name {name!r}: use letters, digits, '_', '-' and '.' (it goes in --layers a,b)")
    _load_builtin()  # first: a later import of the built-ins must not replace a user's kind either
    if name in BUILTIN_KINDS:
        raise ConfigError(f"layer kind {name!r} is built in; register yours under another name")
    LAYER_KINDS[name] = LayerKind(name, factory, dict(options or {}), doc)


def register_builtin(name: str, factory: Callable[..., torch.nn.Module], options: Mapping[str, Any] | None = None,
                     doc: str = "") -> None:
    """How pinnlab's own layer modules register their kinds (which users may then not replace)."""
    BUILTIN_KINDS.add(name)
    LAYER_KINDS[name] = LayerKind(name, factory, dict(options or {}), doc)


def layer_kind(name: str) -> LayerKind:
    _load_builtin()
    if name not in LAYER_KINDS:
        raise ConfigError(one_of("layer kind", name, sorted(LAYER_KINDS)))
    return LAYER_KINDS[name]


def layer_names() -> list[str]:
    _load_builtin()
    return sorted(LAYER_KINDS)


def check_options(kind: LayerKind, options: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and coerce options against the kind's defaults."""
    out = dict(kind.options)
    for k, v in options.items():
        if k not in kind.options:
            raise ConfigError(f"unknown option {k!r} for layer {kind.name!r} "
                              f"(allowed: {', '.join(kind.options) or 'none'})")
        default = kind.options[k]
        try:
            if isinstance(default, bool):
                if isinstance(v, str):
                    if v.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError
                    v = v.lower() in ("true", "1", "yes")
                out[k] = bool(v)
            elif isinstance(default, (int, float)) and default is not None:
                val = float(v)
                if isinstance(default, int) and not val.is_integer():
                    raise ValueError
                out[k] = type(default)(val)
            else:
                out[k] = v
        except (TypeError, ValueError):
            raise ConfigError(f"layer {kind.name!r} option {k}={v!r}: expected a {type(default).__name__}") from None
    return out


_loaded = False


def _load_builtin() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from . import auto, dense, laaf, residual, sine, yat  # noqa: F401  (each registers its kinds)
