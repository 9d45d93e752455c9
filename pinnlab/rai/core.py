"""RAI's state tables and consistency loss, on tensors and on jets.

Every cut of a :class:`~.chain.Chain` gets a table with one row per training point (indexed by
point id): the state z_t of that point at that cut — a value, or for a PINN a jet, the value and
the input partials the residual needs, all free. The auxiliary pass feeds stage t the previous
state, ``pred_t = stage_t(z_{t-1})``, and the consistency loss is the mismatch
``mean((z_t - pred_t)^2)`` summed over cuts (and over a jet's components). The task loss is taken on
``tail(z_last)``. Because each stage reads a free state, no gradient has to cross the whole depth.
The plain network is never changed: evaluation is always the plain forward pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..jets import Jet
from .chain import Chain

REDUCTIONS = ("mean", "sum")
UPDATES = ("joint", "alternating")
FREE = ("jet", "value")


def trained_block(update: str, step: int) -> str:
    """What RAI step ``step`` (1-based) moves: ``"all"`` (joint updates), or, alternating, the states on
    odd steps and the weights on even ones (block-coordinate descent: each block sees the other fixed)."""
    if update not in UPDATES:
        raise ConfigError(f"RAI update {update!r} is not valid (allowed: {', '.join(UPDATES)})")
    if update == "joint":
        return "all"
    return "states" if step % 2 else "weights"


def _full(c, like: torch.Tensor) -> torch.Tensor:
    if c is None:
        return like.new_zeros(()).expand(like.shape)
    return c if c.shape == like.shape else c.expand(like.shape)


def components(h) -> list[torch.Tensor]:
    """A tensor as one component, a jet as its components at the value's shape (zeros for None)."""
    if isinstance(h, Jet):
        v = h.comps[0]
        return [v] + [_full(c, v) for c in h.comps[1:]]
    return [h]


class StateTables(nn.Module):
    """One table per cut: ``tables[t]`` is (n_points, n_comps * width_t), the rows of the points' states.

    A row holds a point's components side by side (value, then the partials in the jet plan's order),
    so one row index reads or writes all of them; mini-batches gather their rows by point id.
    ``scale``: a state is ``scale`` times its parameter, so an optimiser whose step is the learning
    rate (Adam) moves states ``scale`` times faster than the weights it shares the rate with.
    """

    def __init__(self, n_points: int, widths: Sequence[int], n_comps: int = 1, *,
                 dtype: torch.dtype | None = None, device: torch.device | str | None = None, scale: float = 1.0):
        super().__init__()
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
            raise ConfigError(f"RAI state scale must be a positive number, got {scale!r}")
        self.scale = float(scale)
        for what, v in (("n_points", n_points), ("n_comps", n_comps)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"RAI {what} must be a positive integer, got {v!r}")
        self.n_points, self.widths, self.n_comps = n_points, [int(w) for w in widths], n_comps
        self.tables = nn.ParameterList(
            nn.Parameter(torch.zeros(n_points, n_comps * w, dtype=dtype, device=device)) for w in self.widths)

    def read(self, t: int, ids: torch.Tensor | None = None, sparse: bool = False) -> list[torch.Tensor]:
        """The components of cut ``t``'s states at rows ``ids`` (all rows when None).

        ``sparse``: gather with a sparse gradient (only the rows read appear in it), for optimisers
        that update only those rows (:class:`~.optim.RowAdam`, SGD); else the gradient is dense.
        """
        tab = self.tables[t]
        rows = tab if ids is None else F.embedding(ids, tab, sparse=sparse)
        if self.scale != 1.0:
            rows = rows * self.scale
        w = self.widths[t]
        if self.n_comps == 1:
            return [rows]
        return list(rows.view(rows.shape[0], self.n_comps, w).unbind(1))

    @torch.no_grad()
    def write(self, t: int, comps: Sequence[torch.Tensor], ids: torch.Tensor | None = None) -> None:
        """Set cut ``t``'s states at rows ``ids`` (all when None) to these components."""
        if len(comps) != self.n_comps:
            raise ValueError(f"cut {t}: {len(comps)} components for a table of {self.n_comps}")
        rows = torch.cat([c.to(self.tables[t].dtype) for c in comps], dim=1)
        if self.scale != 1.0:
            rows = rows / self.scale
        if ids is None:
            self.tables[t].copy_(rows)
        else:
            self.tables[t][ids] = rows

    def state(self, t: int, like, ids: torch.Tensor | None = None, sparse: bool = False):
        """Cut ``t``'s states as the kind of value ``like`` is: a tensor, or a jet of its plan."""
        comps = self.read(t, ids, sparse)
        if isinstance(like, Jet):
            if len(comps) != like.plan.size:
                raise ValueError(f"cut {t}: the table has {len(comps)} components, the jet {like.plan.size}")
            return type(like)(comps, like.plan)
        return comps[0]

    def memory(self) -> dict:
        """The tables' size: cuts, widths, points, components per state, numbers and bytes."""
        numel = sum(p.numel() for p in self.tables)
        itemsize = self.tables[0].element_size() if len(self.tables) else 0
        return {"cuts": len(self.widths), "widths": list(self.widths), "points": self.n_points,
                "components": self.n_comps, "numbers": numel, "bytes": numel * itemsize,
                "mib": numel * itemsize / 2 ** 20}


def state_memory(tables: StateTables | Sequence[StateTables]) -> dict:
    """The memory of one or several state tables (e.g. collocation and boundary points), summed."""
    if isinstance(tables, StateTables):
        return tables.memory()
    parts = [t.memory() for t in tables]
    total = sum(p["bytes"] for p in parts)
    return {"tables": parts, "numbers": sum(p["numbers"] for p in parts), "bytes": total, "mib": total / 2 ** 20}


def mismatch(state, pred, reduction: str = "mean", weights: Sequence[float] | None = None) -> torch.Tensor:
    """Squared mismatch of a state and the stage's prediction: the mean over points and features
    (``"mean"``, as ``MSELoss``) or the mean over points of the sum over features (``"sum"``), summed
    over a jet's components (each times its weight, if given)."""
    s, p = components(state), components(pred)
    total = None
    for k, (a, b) in enumerate(zip(s, p)):
        d = (a - b).square()
        term = d.mean() if reduction == "mean" else d.sum() / d.shape[0]
        if weights is not None:
            term = term * weights[k]
        total = term if total is None else total + term
    return total


@dataclass
class AuxPass:
    """The auxiliary path: the output from the last state and each cut's mismatch."""

    output: torch.Tensor | Jet
    mismatches: list[torch.Tensor]

    @property
    def consistency(self) -> torch.Tensor:
        return torch.stack(self.mismatches).sum()


def aux_forward(chain: Chain, tables: StateTables, x, ids: torch.Tensor | None = None, *, sparse: bool = False,
                reduction: str = "mean", weights: Sequence[float] | None = None, free: str = "jet") -> AuxPass:
    """The auxiliary pass at points ``x`` (rows ``ids`` of the tables; all rows, in order, when None).

    ``free="value"`` (jets only; the tables then hold one component): only a state's value is free; its
    partials are the stage's, pushed through from the previous state's jet. They then depend on every
    weight below, as in the plain network, and the residual cannot be met by free numbers.
    """
    if reduction not in REDUCTIONS:
        raise ConfigError(f"RAI reduction {reduction!r} is not valid (allowed: {', '.join(REDUCTIONS)})")
    if free not in FREE:
        raise ConfigError(f"RAI free {free!r} is not valid (allowed: {', '.join(FREE)})")
    h, mism = x, []
    for t, stage in enumerate(chain.stages):
        pred = stage(h, x)
        if free == "value" and isinstance(pred, Jet):
            value = tables.read(t, ids, sparse)[0]
            state = type(pred)([value, *pred.comps[1:]], pred.plan)
            mism.append(mismatch(value, pred.comps[0], reduction))
        else:
            state = tables.state(t, pred, ids, sparse)
            mism.append(mismatch(state, pred, reduction, weights))
        h = state
    return AuxPass(chain.tail(h, x), mism)


@torch.no_grad()
def sync_states(chain: Chain, tables: StateTables, x, ids: torch.Tensor | None = None) -> None:
    """Set the states at rows ``ids`` to the plain forward pass at ``x`` (initialisation, re-sync,
    resampled points): the auxiliary path then equals the plain network there."""
    _, cuts = chain.plain(x, keep=True)
    for t, h in enumerate(cuts):
        tables.write(t, components(h)[:tables.n_comps], ids)  # a value-only table keeps the value


class Schedule:
    """The consistency weight λ over training: constant, or rising geometrically from ``start`` to
    ``end`` over ``steps`` steps (then held), to drive the auxiliary path towards exact consistency."""

    def __init__(self, start: float, end: float | None = None, steps: int = 1):
        for what, v in (("start", start), ("end", end if end is not None else start)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"RAI lambda {what} must be a positive number, got {v!r}")
        self.start, self.end, self.steps = float(start), float(end if end is not None else start), max(1, int(steps))

    def __call__(self, step: int) -> float:
        if self.end == self.start:
            return self.start
        f = min(1.0, max(0.0, step / self.steps))
        return self.start * (self.end / self.start) ** f


__all__ = ["AuxPass", "FREE", "REDUCTIONS", "UPDATES", "Schedule", "trained_block", "StateTables", "aux_forward",
           "components", "mismatch",
           "state_memory", "sync_states"]
