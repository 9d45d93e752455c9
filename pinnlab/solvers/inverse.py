"""A run's unknown numbers as a part of its model, and the parameters its loss reads them through.

Each :class:`~pinnlab.unknowns.Unknown` of a problem becomes one trainable scalar (its raw number:
the logarithm of a positive unknown) in ``model.unknowns``, so every optimiser, step mode, best
state, checkpoint, resume and ``--init-from`` covers it like the network's weights. The residual
reads ``p.nu`` through :class:`LiveParams`, which looks the value up in the model at each access:
a compiled step substitutes the model's parameters functionally while it traces, and a value
captured once would be a constant there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..fields import Params
from ..unknowns import Unknown


class UnknownValues(nn.Module):
    """The trained raw numbers of a run's unknowns (``raw[name]``, 0-d) and how each maps to its value."""

    def __init__(self, unknowns: Mapping[str, Unknown], dtype: torch.dtype, device: torch.device | str):
        super().__init__()
        self.specs = dict(unknowns)
        self.raw = nn.ParameterDict({k: nn.Parameter(torch.tensor(u.raw_guess(), dtype=dtype, device=device))
                                     for k, u in self.specs.items()})

    def value(self, name: str) -> torch.Tensor:
        return self.specs[name].value(self.raw[name])

    def values(self) -> dict[str, float]:
        """The current values, as numbers."""
        with torch.no_grad():
            return {k: float(self.value(k)) for k in self.specs}


class LiveParams(Params):
    """The problem's parameters with each unknown read from the run's model when it is accessed."""

    def __init__(self, fixed: Mapping[str, float], unknowns: UnknownValues):
        super().__init__(**{k: v for k, v in fixed.items() if k not in unknowns.specs})
        object.__setattr__(self, "_unknowns", unknowns)

    def __getattr__(self, name: str):
        live = object.__getattribute__(self, "_unknowns")
        if name in live.specs:
            return live.value(name)
        if name.startswith("__"):
            raise AttributeError(name)
        known = [k for k in vars(self) if not k.startswith("_")] + list(live.specs)
        from ..errors import ProblemError
        raise ProblemError(f"unknown parameter {name!r} (known: {', '.join(known) or 'none'})")


def add_unknowns(model: nn.Module, unknowns: Mapping[str, Unknown], dtype: torch.dtype,
                 device: torch.device | str) -> nn.Module:
    """``model`` with ``model.unknowns`` holding ``unknowns`` (nothing added where there are none)."""
    if unknowns:
        model.add("unknowns", UnknownValues(unknowns, dtype, device))
    return model


def live_params(problem: Any, model: nn.Module) -> Params:
    """What the run's loss reads as ``p``: the problem's numbers, its unknowns live from ``model``."""
    part = getattr(model, "unknowns", None)
    return LiveParams(problem.params, part) if isinstance(part, UnknownValues) else problem.p


def trajectory_row(model: nn.Module) -> dict[str, float]:
    """The unknowns' current values as history columns (``param_nu``)."""
    part = getattr(model, "unknowns", None)
    return {f"param_{k}": v for k, v in part.values().items()} if isinstance(part, UnknownValues) else {}


def unknowns_report(model: nn.Module) -> dict[str, dict[str, float | str | None]]:
    """report.json's ``unknowns``: each one's learned value, guess, true value and relative error."""
    part = getattr(model, "unknowns", None)
    if not isinstance(part, UnknownValues):
        return {}
    out = {}
    for k, v in part.values().items():
        u = part.specs[k]
        err = None if u.true is None else abs(v - u.true) / abs(u.true) if u.true != 0 else abs(v)
        out[k] = {"learned": v, "true": u.true, "rel_error": err, "guess": u.guess,
                  "parametrisation": u.parametrisation}
    return out
