"""The trainer's dense quasi-Newton stage (``--optimizer bfgs | ssbroyden``), run where L-BFGS would be.

It drives :class:`~.quasi_newton.QuasiNewton` over all of the run's model (every trainable parameter
flattened into one float64 vector), with each loss and gradient taken through the task's
``step_mode("lbfgs")`` and :meth:`Trainer.gradients` (so a grad hook, e.g. a data-parallel all-reduce,
sees it), and keeps the trainer's guards: the best state, interrupt checks, a history row, an
evaluation and a checkpoint every :data:`~.training.LBFGS_CHUNK` iterations.

Every ``qn_restart`` iterations the task draws new collocation points (Urbán et al. 2025: every 500
iterations) and the method restarts there, from the identity (``qn_hessian="fresh"``) or from its
approximation so far (``"keep"``, as the references' code does: the curvature of the loss on new
points drawn from the same density is mostly the same; on burgers a fresh start cost ~150
iterations after each restart). A checkpoint holds the
parameters and the iteration count, not the n × n approximation (87 MB for burgers, written every ten
iterations, would cost more than it saves): a resumed stage restarts from its checkpointed
parameters with a fresh Hessian, as after a resampling restart.
"""

from __future__ import annotations

import math
import signal
import time
from typing import TYPE_CHECKING

import numpy as np
import torch

from .quasi_newton import QuasiNewton

if TYPE_CHECKING:
    from .training import StopFlag, Trainer

NAMES = {"lbfgs": "L-BFGS", "bfgs": "BFGS", "ssbroyden": "SSBroyden"}  # the stage after Adam, as reports name it


def _flat(tensors: list[torch.Tensor]) -> np.ndarray:
    return torch.cat([t.detach().reshape(-1) for t in tensors]).double().cpu().numpy()


def _grad(params: list[torch.nn.Parameter]) -> np.ndarray:
    return _flat([p.grad if p.grad is not None else torch.zeros_like(p) for p in params])


def _assign(params: list[torch.nn.Parameter], x: np.ndarray) -> None:
    flat = torch.from_numpy(x)
    at = 0
    with torch.no_grad():
        for p in params:
            p.copy_(flat[at:at + p.numel()].view_as(p))  # in place: a compiled step keeps its inputs
            at += p.numel()


def run_stage(trainer: Trainer, stop: StopFlag) -> None:
    """The quasi-Newton stage of ``trainer`` from its current parameters; sets ``state.lbfgs_stop``."""
    from .training import LBFGS_CHUNK, Diverged, Interrupted  # here: training imports this module

    s, st, task = trainer.s, trainer.state, trainer.task
    name = NAMES[s.optimizer]
    params = task.parameters()
    mode, compiling = trainer._mode("lbfgs", st.lbfgs_iters < s.lbfgs_steps)
    last: dict = {}

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        _assign(params, x)
        try:
            total, terms = trainer.gradients(mode, st.step + st.lbfgs_iters + 1)
        except Diverged:
            return math.inf, np.zeros_like(x)   # a probe too far: the line search backs off
        loss = total.item()
        trainer._track_best(loss)
        last.update(loss=loss, terms={f"loss_{k}": v.item() for k, v in terms.items()})
        return loss, _grad(params)

    def start() -> QuasiNewton | None:
        try:
            return QuasiNewton(fun, _flat(params), s.optimizer, gtol=1e-10, device=params[0].device)
        except FloatingPointError:
            trainer.load_best()
            raise Diverged(f"the loss is not finite in {str(s.lbfgs_dtype).replace('torch.', '')} at the state "
                           f"{name} starts from (step {st.step + st.lbfgs_iters + 1}); kept that state") from None

    def row() -> None:
        r = {"step": st.step + st.lbfgs_iters, "phase": "lbfgs", "wall_s": round(trainer.wall_s, 4),
             "loss": qn.f, **last.get("terms", {}), **trainer._evaluate()}
        st.history.append(r)
        trainer.on_progress(st, r)

    t0 = time.perf_counter()
    qn = start()
    if compiling:  # the first evaluation compiled
        st.compile_s += time.perf_counter() - t0
    while st.lbfgs_iters < s.lbfgs_steps:
        if stop:
            trainer._save()
            raise Interrupted(signal.Signals(stop.signum).name)
        if s.qn_restart and st.lbfgs_iters and st.lbfgs_iters % s.qn_restart == 0:
            # (a resumed stage whose checkpoint was written just before a restart restarts here too)
            trainer.load_best()                    # the best of this point set, not a line search's last probe
            task.resample(st.step + st.lbfgs_iters)
            st.best_loss = math.inf                # losses on other points do not compare
            qn.restart(_flat(params), keep_hessian=s.qn_hessian == "keep")
        result = qn.step()
        if result.stop:
            st.lbfgs_stop = f"{result.stop} after {st.lbfgs_iters} iterations"
            break
        _assign(params, qn.x)
        st.lbfgs_iters += 1
        if st.lbfgs_iters % LBFGS_CHUNK == 0 or st.lbfgs_iters == s.lbfgs_steps:
            row()
            trainer._save()
    else:
        st.lbfgs_stop = f"reached the iteration limit ({s.lbfgs_steps})"
    restarts = (st.lbfgs_iters - 1) // s.qn_restart if s.qn_restart and st.lbfgs_iters else 0
    if restarts:
        st.lbfgs_stop += f"; {restarts} restart{'s' * (restarts > 1)} on new points"
    trainer.load_best()
