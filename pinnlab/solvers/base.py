"""The solver contract: what every solver gives the trainer, the runner, compare, report and plot.

A solver owns one trainable container (:class:`Model`, an ``nn.Module``): the network plus whatever
else the run trains (unknown coefficients, per-point RAI states). Adam, L-BFGS, every step mode, the
best state, the NaN guard, checkpoints, resume and ``--init-from`` act on all of it. A training step
is done by a :class:`StepMode` chosen once per phase; its gradient passes through one place, the
trainer's ``grad_hook``. Batches of points carry ids (:class:`Points`), so per-point state is indexed
by the rows of the batch it belongs to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

Terms = dict[str, torch.Tensor]


class Points(NamedTuple):
    """A batch of points and each point's row in its set (``ids``, int64): chunking and resampling
    keep the pairing, so a per-point table is read and written at ``ids``."""

    x: torch.Tensor
    ids: torch.Tensor

    def split(self, size: int) -> list[Points]:
        return [Points(x, i) for x, i in zip(self.x.split(size), self.ids.split(size))]

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def to(self, dtype: torch.dtype) -> Points:
        return Points(self.x.to(dtype), self.ids)


class Model(nn.Module):
    """One run's trainable container: ``net`` (what predicts the fields) and any extras added with
    :meth:`add`. Everything trainable in a run lives here; nothing trainable lives outside it."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def add(self, name: str, value: nn.Module | torch.Tensor) -> nn.Module | nn.Parameter:
        """Add a trainable module or tensor (a tensor becomes an ``nn.Parameter``) under ``name``."""
        if name in dict(self.named_children()) or name in dict(self.named_parameters(recurse=False)):
            raise ValueError(f"the run's model already has a part named {name!r}")
        if isinstance(value, nn.Module):
            self.add_module(name, value)
            return value
        param = value if isinstance(value, nn.Parameter) else nn.Parameter(value.detach().clone())
        self.register_parameter(name, param)
        return param

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class StepMode(ABC):
    """How one optimiser step's loss and gradient are computed: eagerly, compiled, in chunks, or with
    Adam's update inside the compiled graph. Chosen once per phase by :meth:`SolverTask.step_mode`."""

    name = "eager"
    compiles = False         # its first call compiles (the trainer says so before it)
    can_hook_grads = True    # the gradient comes out where a grad hook can see it

    @abstractmethod
    def loss_and_grads(self, check: Callable[[Terms], torch.Tensor]) -> Terms:
        """The loss terms, with the gradient of their sum in every trainable parameter's ``.grad``
        (replacing what was there). ``check(terms)`` gives their sum, raising if it is not finite;
        a mode calls it before it backpropagates a loss it computed eagerly."""

    def fused_adam_step(self, optimizer: torch.optim.Optimizer
                        ) -> tuple[torch.Tensor, Terms, list[torch.Tensor]] | None:
        """A whole Adam step (loss, gradient and update) in one call: ``(total, terms, values)``, the
        values being the parameters the loss was computed at; None where this mode does not (the
        trainer then calls :meth:`loss_and_grads` and ``optimizer.step()``)."""
        return None

    @property
    def active(self) -> bool:
        """Whether it still runs as named (a compiled mode that fell back to eager is not)."""
        return True


class EagerStep(StepMode):
    """``task.loss_terms()`` and ``backward()``: works for every solver."""

    def __init__(self, task: SolverTask):
        self.task = task

    def loss_and_grads(self, check: Callable[[Terms], torch.Tensor]) -> Terms:
        for p in self.task.parameters():
            p.grad = None
        terms = self.task.loss_terms()
        check(terms).backward()
        return terms


class SolverTask(ABC):
    """One run of a solver: its trainable :class:`Model`, loss, evaluation and report.

    Subclasses set ``self.model`` in ``__init__`` and implement the abstract methods. State that is
    not a trainable tensor (random streams, the current points) goes in :meth:`extra_state`.
    """

    model: Model
    # whether a data-parallel run may give each process a shard of the points (pinnlab.distributed): the
    # loss is a weighted sum of per-set means and point-free terms, and no state is kept per point
    shards: bool = False

    @property
    def net(self) -> nn.Module:
        """The trained network the user gets back (``Result.net``)."""
        return self.model.net

    def parameters(self) -> list[nn.Parameter]:
        """The model's trainable parameters, in a fixed order (optimisers and best states rely on it)."""
        return [p for p in self.model.parameters() if p.requires_grad]

    # -- training -----------------------------------------------------------------------------
    @abstractmethod
    def loss_terms(self) -> Terms:
        """The weighted loss terms at the current parameters (with their graph); their sum is minimised."""

    def step_mode(self, phase: str) -> StepMode:
        """The step mode for ``phase`` ("adam" or "lbfgs"); eager unless a solver does better."""
        return EagerStep(self)

    def resample(self, step: int) -> None:
        """Draw new training points (``--resample-every``); nothing by default."""
        return None

    def select_batch(self, step: int) -> None:
        """Train Adam step ``step`` (0-based) on its mini-batch (``--batch-size``); nothing by default."""
        return None

    def rebalance(self, step: int, term_gradients: Callable[[Terms], dict[str, list[torch.Tensor]]],
                  agree: Callable[[dict[str, float]], dict[str, float]] = lambda d: d) -> None:
        """Before Adam step ``step`` (on its batch): adjust loss-term weights (``--balance``);
        ``term_gradients(terms)`` gives each term's own gradient, as the trainer's hook sees it, and
        ``agree(figures)`` averages figures over the processes of a data-parallel run."""
        return None

    @abstractmethod
    def to_dtype(self, dtype: torch.dtype) -> None:
        """Switch the model and the data to ``dtype`` (the trainer does so for L-BFGS)."""

    # -- measuring ----------------------------------------------------------------------------
    @abstractmethod
    def evaluate(self) -> dict[str, float]:
        """The figures logged during training: at least ``rel_l2`` and ``heldout_residual``."""

    @abstractmethod
    def final_report(self) -> dict[str, Any]:
        """report.json's solver figures (``rel_l2``, ``max_abs_error``, ``per_field``, ``loss_terms``, ...)."""

    @abstractmethod
    def predictions(self) -> dict[str, np.ndarray]:
        """The arrays of predictions.npz (its ``kind`` tells the plots how to draw them)."""

    def adam_optimizer(self, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer | None:
        """The Adam phase's optimiser, or None for the trainer's Adam (a task whose mini-batches touch
        only some rows of a parameter gives one that leaves the other rows and their moments alone)."""
        return None

    # -- persistence --------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        """What a checkpoint needs beyond the model's tensors to resume bit-identically."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`extra_state` gave."""
        return None

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), **self.extra_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.model.load_state_dict(model_state(state))
        self.load_extra_state(state)


def model_state(task_state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The model tensors of a checkpoint's task state (checkpoints from before the model container
    held only the network, under ``net``)."""
    if "model" in task_state:
        return dict(task_state["model"])
    return {f"net.{k}": v for k, v in task_state["net"].items()}
