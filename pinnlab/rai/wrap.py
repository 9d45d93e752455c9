"""The public RAI wrapper for a torch MLP (an ``nn.Sequential`` of Linear layers and activations).

    rai = RAI(model, n_points=len(x))        # every Linear wrapped, the output layer included
    rai.sync(x)                             # states from the plain forward pass
    aux = rai.aux(x)                        # auxiliary path: aux.output, aux.consistency
    loss = task(aux.output, y) + lam * aux.consistency
    rai(x_new)                              # always the plain network

``rai.parameters()`` holds the model's weights and the state tables, so one optimiser trains both
(joint updates); ``rai.parameter_groups()`` gives them apart, for alternating updates.
Mini-batches pass their point ids: ``rai.aux(x[ids], ids)`` reads (and, through the gradient,
updates) only those rows.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .chain import Chain, sequential_chain
from .core import REDUCTIONS, AuxPass, StateTables, aux_forward, sync_states


class RAI(nn.Module):
    """An MLP with a state table per wrapped Linear (chosen by ``layers``: "all", "hidden" or positions).

    ``sparse``: mini-batch reads give sparse row gradients (use :class:`~.optim.RowAdam` or SGD).
    """

    def __init__(self, model: nn.Sequential, n_points: int, layers="all", *, reduction: str = "mean",
                 sparse: bool = False, n_comps: int = 1):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ConfigError(f"RAI reduction {reduction!r} is not valid (allowed: {', '.join(REDUCTIONS)})")
        self.model = model
        self.layers, self.reduction, self.sparse = layers, reduction, bool(sparse)
        chain = sequential_chain(model, layers)
        p = next(model.parameters())
        self.states = StateTables(n_points, chain.widths, n_comps, dtype=p.dtype, device=p.device)

    @property
    def chain(self) -> Chain:
        # built on demand, not stored: its ops close over this module's layers, and a deep copy
        # (best state, a second run) must not keep calling the original's
        cached = self.__dict__.get("_chain")
        if cached is None or cached[0] is not self:
            cached = (self, sequential_chain(self.model, self.layers))
            self.__dict__["_chain"] = cached
        return cached[1]

    def __deepcopy__(self, memo):
        import copy
        self.__dict__.pop("_chain", None)  # a fresh copy builds its own
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            new.__dict__[k] = copy.deepcopy(v, memo)
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The plain network (no states)."""
        return self.model(x)

    def sync(self, x, ids: torch.Tensor | None = None) -> None:
        """States at rows ``ids`` (all rows when None) from the plain forward pass at ``x``."""
        sync_states(self.chain, self.states, x, ids)

    def aux(self, x, ids: torch.Tensor | None = None) -> AuxPass:
        """The auxiliary path at ``x`` (rows ``ids``): its output and the per-layer mismatches."""
        return aux_forward(self.chain, self.states, x, ids, sparse=self.sparse and ids is not None,
                           reduction=self.reduction)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """The network's weights and the state tables apart, for alternating updates (one optimiser each,
        stepped as :func:`~.core.trained_block` says)."""
        return {"weights": list(self.model.parameters()), "states": list(self.states.parameters())}

    def state_memory(self) -> dict:
        """Cuts, widths, points, components and bytes of the state tables."""
        return self.states.memory()


__all__ = ["RAI"]
