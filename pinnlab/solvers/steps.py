"""The compiled step modes: a loss's gradient compiled whole, in chunks of points, or with Adam's update.

Each is a small strategy over a run's :class:`~.base.Model` and a function giving its loss terms;
a solver picks one per phase (:meth:`~.base.SolverTask.step_mode`). They differentiate every
trainable parameter of the model, not only the network's. How the compiling itself works and
what it buys: :mod:`.compiling` and docs/derivatives.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from . import adam_in_graph
from .base import Model, StepMode, Terms
from .compiling import Compiled, grads_into, sum_over_chunks, value_and_grad

Args = Callable[[], tuple]  # the loss function's current arguments (points), read at each call


def _params(model: Model) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]  # value_and_grad's order


class CompiledStep(StepMode):
    """``terms_fn(*args())`` and its gradient as one compiled function of the model's parameters."""

    name, compiles = "compiled", True

    def __init__(self, model: Model, terms_fn: Callable[..., Terms], args: Args, options: dict[str, Any]):
        self.model, self.args = model, args
        self.fn = Compiled(value_and_grad(model, terms_fn), options)

    @property
    def active(self) -> bool:
        return not self.fn.failed

    def loss_and_grads(self, check: Callable[[Terms], torch.Tensor]) -> Terms:
        terms = grads_into(self.fn, _params(self.model), *self.args())
        check(terms)
        return terms


class ChunkedStep(StepMode):
    """The residual's share computed over chunks of its points, one compiled call each, gradients
    summed, and the other terms apart: the mean of a per-point loss, computed a cache-sized piece at
    a time. ``holds(terms)`` (asked once, at the first finite loss) says whether the chunks' sum is the
    whole set's; where it is not (a residual coupling points) the mode hands over to ``whole()``."""

    name, compiles = "chunked", True

    def __init__(self, model: Model, share_fn: Callable[..., Terms], points: Args, chunk: int,
                 others_fn: Callable[..., Terms] | None, others: Args, holds: Callable[[Terms], bool | None],
                 whole: Callable[[], StepMode], options: dict[str, Any]):
        self.model, self.points, self.chunk, self.others, self.holds = model, points, chunk, others, holds
        self.share = Compiled(value_and_grad(model, share_fn), options)
        self.rest = Compiled(value_and_grad(model, others_fn), options) if others_fn is not None else None
        self._whole_factory, self.whole, self.checked = whole, None, False

    @property
    def active(self) -> bool:
        if self.whole is not None:
            return self.whole.active
        return not (self.share.failed or (self.rest is not None and self.rest.failed))

    def _chunked(self, values: list[torch.Tensor], *_: Any) -> tuple[list[torch.Tensor], Terms]:
        points, *live = self.points()  # the residual's points, then inputs every chunk takes whole
        grads, terms = sum_over_chunks(self.share, values, points, self.chunk, *live)
        if self.rest is not None:
            more, others = self.rest(values, *self.others())
            torch._foreach_add_(grads, list(more))
            terms.update(others)
        return grads, terms

    def loss_and_grads(self, check: Callable[[Terms], torch.Tensor]) -> Terms:
        if self.whole is not None:
            return self.whole.loss_and_grads(check)
        terms = grads_into(self._chunked, _params(self.model))
        if not self.checked:
            ok = self.holds(terms)
            self.checked = ok is not None
            if ok is False:
                self.whole = self._whole_factory()
                return self.whole.loss_and_grads(check)
        check(terms)
        return terms


class AdamInGraphStep(StepMode):
    """The compiled loss-and-gradient with Adam's update in the same graph: one call per step
    (:mod:`.adam_in_graph`). Its gradient never leaves the graph, so a grad hook rules it out; where
    the optimizer is not a plain Adam over the model, or compiling fails, ``fallback`` steps instead."""

    name, compiles, can_hook_grads = "adam_in_graph", True, False

    def __init__(self, model: Model, terms_fn: Callable[..., Terms], args: Args, fallback: StepMode,
                 options: dict[str, Any]):
        self.model, self.terms_fn, self.args, self.fallback, self.options = model, terms_fn, args, fallback, options
        self._step: tuple[tuple, Compiled] | None = None

    @property
    def active(self) -> bool:
        return not (self._step is not None and self._step[1].failed)

    @property
    def built(self) -> bool:
        """Whether a step has run in the graph (the optimizer was a plain Adam over the model)."""
        return self._step is not None

    def fused_adam_step(self, optimizer: torch.optim.Optimizer
                        ) -> tuple[torch.Tensor, Terms, list[torch.Tensor]] | None:
        params = _params(self.model)
        if len(params) != len(list(self.model.parameters())) or not adam_in_graph.supported(optimizer, params):
            return None
        key = adam_in_graph.hyperparameters(optimizer)
        if self._step is None or self._step[0] != key:
            fn = adam_in_graph.with_adam_update(value_and_grad(self.model, self.terms_fn), *key)
            self._step = (key, Compiled(fn, self.options))
        step = self._step[1]
        if step.failed:
            return None
        return step([p.detach() for p in params], *adam_in_graph.state_tensors(optimizer, params), *self.args())

    def loss_and_grads(self, check: Callable[[Terms], torch.Tensor]) -> Terms:
        return self.fallback.loss_and_grads(check)
