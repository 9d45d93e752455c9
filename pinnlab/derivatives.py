"""The derivative engine's one interface: a network and points in, fields and partials out.

``compute_fields`` returns the :class:`~pinnlab.fields.Fields` a residual is written over.
Two engines fill it: forward-mode jets (``pinnlab.jets``) where every layer has jet rules and
the order is supported, and nested reverse-mode autograd for anything else.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .errors import ConfigError, one_of
from .fields import Fields, MultiIndex, close_under_prefixes

ENGINES = ("auto", "jets", "autograd")


def compute_fields(net: torch.nn.Module, points: torch.Tensor, requests: Mapping[str, set[MultiIndex]],
                   coords: tuple[str, ...], fields: tuple[str, ...], engine: str = "auto",
                   create_graph: bool = True) -> Fields:
    """Evaluate ``net`` at ``points`` (N, dim) with the partials in ``requests`` per field."""
    if engine not in ENGINES:
        raise ConfigError(one_of("derivative engine", engine, ENGINES))
    wanted = close_under_prefixes({f: set(requests.get(f, ())) for f in fields})
    chosen = resolve_engine(net, wanted, engine)
    if chosen == "jets":
        from .jets import jet_fields
        data = jet_fields(net, points, wanted, len(coords), create_graph)
    else:
        data = autograd_fields(net, points, wanted, create_graph)
    return Fields(coords, fields, points, data)


def resolve_engine(net: torch.nn.Module, wanted: Mapping[str, list[MultiIndex]], engine: str) -> str:
    """Which engine will serve: jets when asked (or auto) and supported, else autograd."""
    if engine == "autograd":
        return "autograd"
    try:
        from .jets import supports_jets
    except ImportError:
        supported = False
    else:
        supported = supports_jets(net, wanted)
    if engine == "jets" and not supported:
        return "autograd"  # documented fallback: same numbers, slower
    return "jets" if supported else "autograd"


def autograd_fields(net: torch.nn.Module, points: torch.Tensor, wanted: Mapping[str, list[MultiIndex]],
                    create_graph: bool = True) -> dict[str, dict[MultiIndex, torch.Tensor]]:
    """Nested reverse-mode autograd: one gradient per parent partial, reused for all its children."""
    x = points.detach().requires_grad_(True)
    with torch.enable_grad():
        out = net(x)
        data: dict[str, dict[MultiIndex, torch.Tensor]] = {}
        for j, f in enumerate(wanted):
            comp = {(): out[:, j]}
            grads: dict[MultiIndex, torch.Tensor] = {}
            for idx in wanted[f]:
                if not idx:
                    continue
                parent = idx[:-1]
                if parent not in grads:
                    g, = torch.autograd.grad(comp[parent].sum(), x, create_graph=True, allow_unused=True)
                    grads[parent] = g if g is not None else torch.zeros_like(x)
                comp[idx] = grads[parent][:, idx[-1]]
            data[f] = comp
    if not create_graph:
        data = {f: {i: v.detach() for i, v in d.items()} for f, d in data.items()}
    return data
