"""The optimisation schedule shared by the PINN-type solvers: Adam, then L-BFGS.

One loop, with the guards users expect from long runs: the best state seen is kept (Adam's loss
spikes late), a non-finite loss stops the run at the step it appears and names the term,
SIGINT/SIGTERM checkpoint at the next step boundary, and a resumed run replays exactly.
"""

from __future__ import annotations

import copy
import math
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import ConfigError
from . import qn_stage, schedules, soap
from .base import SolverTask, StepMode
from .quasi_newton import check_size, choose

LBFGS_CHUNK = 10       # L-BFGS iterations between interrupt checks and checkpoints
LBFGS_EVALS = 25       # loss evaluations allowed per iteration (strong-Wolfe line searches)
# curvature pairs L-BFGS keeps (DeepXDE's default too; measured against 50: docs/derivatives.md, "L-BFGS")
LBFGS_HISTORY = 100
LOG_EVERY = 10         # history rows during Adam
EVAL_FINITE = ("heldout_residual",)  # evaluation figures that must stay finite while training


class Interrupted(Exception):
    """Training stopped by SIGINT/SIGTERM; the checkpoint and partial report are written."""


class Diverged(Exception):
    """A loss term or a parameter became non-finite."""


@dataclass
class Schedule:
    steps: int
    lbfgs_steps: int
    lr: float
    lbfgs_dtype: torch.dtype
    resample_every: int = 0
    eval_every: int = 250
    checkpoint_every: int = 500
    early_stop: int = 0     # evaluations without improvement of the "heldout" metric before Adam stops
    optimizer: str = "lbfgs"  # the stage after Adam: lbfgs, or a dense quasi-Newton method (qn_stage.py)
    qn_restart: int = 0       # dense quasi-Newton: new points every N iterations
    qn_hessian: str = "fresh"  # ... and a Hessian from the identity (fresh) or carried over (keep)
    warmup: int = 0           # Adam steps of linear warm-up, then the rate falls by lr_decay every 1000 steps
    lr_decay: float = 1.0
    first_stage: str = "adam"  # the optimiser of the --steps stage: adam, or soap (soap.py)

    @classmethod
    def from_config(cls, config: Any) -> Schedule:
        """The schedule of a resolved :class:`~pinnlab.config.SolveConfig` (each field its namesake)."""
        return cls(steps=config.steps, lbfgs_steps=config.lbfgs_steps, lr=config.lr,
                   lbfgs_dtype=config.torch_lbfgs_dtype, resample_every=config.resample_every or 0,
                   eval_every=config.eval_every, checkpoint_every=config.checkpoint_every,
                   early_stop=config.early_stop, optimizer=config.optimizer or "lbfgs",
                   qn_restart=config.qn_restart or 0, qn_hessian=config.qn_hessian or "fresh",
                   warmup=config.warmup or 0,
                   lr_decay=1.0 if config.lr_decay is None else config.lr_decay,
                   first_stage=config.first_stage)


@dataclass
class TrainState:
    step: int = 0                  # Adam steps done
    lbfgs_iters: int = 0
    phase: str = "adam"            # adam | lbfgs | done
    best_loss: float = math.inf
    best_params: list[torch.Tensor] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    lbfgs_stop: str = ""
    adam_stop: str = ""            # why Adam ended before its step budget ("" when it ran them all)
    early_stop_best: float = math.inf
    early_stop_wait: int = 0
    last_eval: dict[str, float] = field(default_factory=dict)
    adam_s: float = 0.0            # time in Adam steps alone (no evaluation), compiling steps apart
    compile_s: float = 0.0         # a compiled run's first Adam step and first L-BFGS evaluation, each session
    compile_steps: int = 0         # how many steps that was: ms/step = adam_s / (step - compile_steps)
    best_step: int = 0             # the step (Adam steps + L-BFGS iterations) whose parameters are the best state
    adam_cpu_s: float = 0.0        # this process's CPU time in the steps adam_s counts (load-independent cost)


def _signal_name(stop: StopFlag) -> str:
    # another process of a data-parallel run may have been the one signalled
    return signal.Signals(stop.signum).name if stop.signum is not None else "a signal to another process"


class StopFlag:
    """Set by SIGINT/SIGTERM; checked at step boundaries."""

    def __init__(self):
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None


@contextmanager
def catch_signals() -> Iterator[StopFlag]:
    flag = StopFlag()

    def handler(signum, frame):
        flag.signum = signum

    old = {}
    try:
        for s in (signal.SIGINT, signal.SIGTERM):
            old[s] = signal.signal(s, handler)
    except ValueError:  # not the main thread: run without signal handling
        pass
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def make_adam(params: list[torch.nn.Parameter], lr: float | torch.Tensor) -> torch.optim.Adam:
    """Adam with its fused kernel (one per parameter: 3x less time per step than the for-loop
    version on a small net), or the default implementation where fused is not supported."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


def check_finite(task: SolverTask, terms: dict[str, torch.Tensor], step: int, loss: float) -> None:
    """Diverged, naming the non-finite terms (or the parameters), if ``loss`` is not finite."""
    if not math.isfinite(loss):
        bad = [k for k, v in terms.items() if not torch.isfinite(v)]
        params_bad = any(not torch.isfinite(p).all() for p in task.parameters())
        what = "parameters became non-finite" if params_bad else f"non-finite loss term(s): {', '.join(bad)}"
        raise Diverged(f"{what} at step {step}")


class Trainer:
    """Runs a :class:`~.base.SolverTask` through the schedule; ``on_checkpoint(state_dict)`` persists progress.

    Every parameter gradient passes through :meth:`gradients`, where ``grad_hook(params)`` (if given)
    sees it before the optimiser does: the one place a data-parallel run all-reduces it. A hook rules
    out step modes whose gradient never leaves a compiled graph (Adam in the graph). ``agree(values)``
    (if given) averages a dict of floats over the processes of a data-parallel run: the loss, the
    interrupt flag and the evaluation figures pass through it, so every process decides alike.

    ``on_progress(state, row)`` sees every history row as it is written, and two event rows that
    are not history: ``{"event": "start", "total_steps": n}`` when a run (or a resumed one) starts,
    and ``{"event": "compiling", "phase": ...}`` before a step that compiles (seconds to a minute
    with a cold cache, during which nothing else reports).
    """

    def __init__(self, task: SolverTask, schedule: Schedule, on_checkpoint: Callable[[dict], None],
                 on_progress: Callable[[TrainState, dict], None] | None = None,
                 grad_hook: Callable[[list[torch.nn.Parameter]], None] | None = None,
                 agree: Callable[[dict[str, float]], dict[str, float]] | None = None):
        self.task, self.s = task, schedule
        # "auto" becomes the method itself here, before a resume re-creates the stage's optimiser
        schedule.optimizer = choose(schedule.optimizer, sum(p.numel() for p in task.parameters()))
        self.on_checkpoint = on_checkpoint
        self.on_progress = on_progress or (lambda st, row: None)
        self.grad_hook = grad_hook
        self.agree = agree
        self._stop: StopFlag | None = None
        self._stop_agreed = False  # the interrupt flag, as all processes saw it at the latest loss
        self.state = TrainState()
        self.optimizer: torch.optim.Optimizer | None = None
        self.modes: dict[str, StepMode] = {}   # the step mode of each phase run in this session
        self._t0 = 0.0

    # -- persistence ------------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        st = copy.copy(self.state)
        st.wall_s = self.wall_s
        return {"trainer": vars(st), "optimizer": self.optimizer.state_dict() if self.optimizer else None,
                "task": self.task.state_dict(), "torch_rng": torch.get_rng_state()}

    def restore(self, ckpt: Mapping[str, Any]) -> None:
        self.state = TrainState(**ckpt["trainer"])
        if self.state.phase != "adam":
            self.task.to_dtype(self.s.lbfgs_dtype)
        self.task.load_state_dict(ckpt["task"])
        torch.set_rng_state(ckpt["torch_rng"])
        self.optimizer = self._make_optimizer(self.state.phase)
        if ckpt["optimizer"] is not None and self.optimizer is not None:
            self.optimizer.load_state_dict(ckpt["optimizer"])

    @property
    def wall_s(self) -> float:
        return self.state.wall_s + (time.perf_counter() - self._t0 if self._t0 else 0.0)

    def _save(self) -> None:
        self.on_checkpoint(self.checkpoint())

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> TrainState:
        if self.s.lbfgs_steps:
            check_size(sum(p.numel() for p in self.task.parameters()), self.s.optimizer)
        self._t0 = time.perf_counter()
        self.on_progress(self.state, {"event": "start", "total_steps": self.s.steps + self.s.lbfgs_steps})
        with catch_signals() as stop:
            self._stop = stop
            try:
                if self.state.phase == "adam":
                    if self.optimizer is None:
                        self.optimizer = self._make_optimizer("adam")
                    self._adam(stop)
                    self._finish_adam()
                if self.state.phase == "lbfgs":
                    if self.s.optimizer == "lbfgs":
                        self._lbfgs(stop)
                    else:
                        qn_stage.run_stage(self, stop)
                    self.state.phase = "done"
            finally:
                self.state.wall_s, self._t0 = self.wall_s, 0.0
        self._record_eval(self.state.step + self.state.lbfgs_iters, "final")
        self._save()
        return self.state

    def _make_optimizer(self, phase: str) -> torch.optim.Optimizer | None:
        params = self.task.parameters()
        if phase == "adam":
            # a scheduled rate is a tensor, set in place each step: Adam-in-the-graph (which compiles
            # the rate in) is then not used, rather than recompiled at every step
            sched = schedules.scheduled(self.s.warmup, self.s.lr_decay)
            lr = torch.tensor(self.s.lr, device=params[0].device) if sched else self.s.lr
            own = self.task.adam_optimizer(params, lr)
            if self.s.first_stage == "soap":
                if own is not None:
                    raise ConfigError("first-stage 'soap' cannot replace this solver's own first-stage optimiser "
                                      "(its mini-batches move only some rows); use --first-stage adam")
                return soap.make_soap(params, self.s.lr)  # a float rate: SOAP steps with it as a number
            return own or make_adam(params, lr)
        if phase == "lbfgs" and self.s.optimizer == "lbfgs":
            fp64 = self.s.lbfgs_dtype == torch.float64
            return torch.optim.LBFGS(params, lr=1.0, max_iter=LBFGS_CHUNK, max_eval=LBFGS_CHUNK * LBFGS_EVALS,
                                     history_size=LBFGS_HISTORY, line_search_fn="strong_wolfe",
                                     tolerance_grad=1e-10 if fp64 else 1e-7,
                                     tolerance_change=1e-13 if fp64 else 1e-9)
        return None

    def _track_best(self, loss: float, values: list[torch.Tensor] | None = None) -> None:
        """Keep the parameters as the best state if ``loss`` is the lowest yet: ``values`` (new
        tensors, the parameters' values at that loss) or else copies of the parameters."""
        if loss < self.state.best_loss:
            self.state.best_loss, self.state.best_step = loss, self.state.step + self.state.lbfgs_iters
            self.state.best_params = values or [p.detach().clone() for p in self.task.parameters()]

    def _mode(self, phase: str, steps_left: bool) -> tuple[StepMode, bool]:
        """The step mode of ``phase``, chosen once, and whether its first call compiles (the progress
        display is told so before it starts: seconds to a minute with a cold cache)."""
        mode = self.modes[phase] = self.task.step_mode(phase)
        compiling = steps_left and mode.compiles and mode.active
        if compiling:
            self.on_progress(self.state, {"event": "compiling", "phase": phase})
        return mode, compiling

    def _check(self, terms: dict[str, torch.Tensor], step: int) -> tuple[torch.Tensor, float]:
        total = sum(terms.values())
        loss = float(total.detach())  # one scalar read: a third of isfinite's cost
        if self.agree is not None:
            seen = self.agree({"loss": loss, "stop": float(bool(self._stop))})
            loss, self._stop_agreed = seen["loss"], seen["stop"] > 0
        check_finite(self.task, terms, step, loss)
        return total, loss

    def _stopping(self, stop: StopFlag) -> bool:
        """Whether to stop at this step boundary (where processes must agree: as of the latest loss)."""
        return self._stop_agreed if self.agree is not None else bool(stop)

    def gradients(self, mode: StepMode, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss and its terms, with the gradient in every parameter's ``.grad``: the one gradient path."""
        seen: list[tuple[torch.Tensor, float]] = []

        def check(terms: dict[str, torch.Tensor]) -> torch.Tensor:
            seen.append(self._check(terms, step))
            return seen[-1][0]
        terms = mode.loss_and_grads(check)
        if self.grad_hook is not None:
            self.grad_hook(self.task.parameters())
        total, loss = seen[-1]
        if self.agree is not None:  # the loss of the whole run (L-BFGS's line search reads it): the same everywhere
            total = torch.tensor(loss, dtype=total.dtype, device=total.device)
        return total, terms

    def term_gradients(self, terms: dict[str, torch.Tensor]) -> dict[str, list[torch.Tensor]]:
        """Each term's own gradient in every parameter, passed through ``grad_hook`` as the loss's is (so a
        data-parallel run balances on the whole run's gradients); the parameters' ``.grad`` are left as found."""
        params = self.task.parameters()
        kept, out = [p.grad for p in params], {}
        for name, term in terms.items():
            grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
            for p, g in zip(params, grads):
                p.grad = torch.zeros_like(p) if g is None else g
            if self.grad_hook is not None:
                self.grad_hook(params)
            out[name] = [p.grad.detach().clone() for p in params]
        for p, g in zip(params, kept):
            p.grad = g
        return out

    def adam_step(self, mode: StepMode, step: int) -> tuple[float, dict[str, torch.Tensor]]:
        """One Adam step; the best state is tracked at the parameters the loss was computed at.
        Raises Diverged with the parameters unchanged when the loss is not finite."""
        done = mode.fused_adam_step(self.optimizer) if self.grad_hook is None else None
        if done is not None:
            total, terms, before = done
            loss = total.item()
            check_finite(self.task, terms, step, loss)
            self._track_best(loss, before)
            return loss, terms
        total, terms = self.gradients(mode, step)
        loss = total.item()
        self._track_best(loss)
        self.optimizer.step()
        return loss, terms

    def _adam(self, stop: StopFlag) -> None:
        s, st = self.s, self.state
        mode, compiling = self._mode("adam", st.step < s.steps)
        while st.step < s.steps:
            if self._stopping(stop):
                self._save()
                raise Interrupted(_signal_name(stop))
            if s.resample_every and st.step > 0 and st.step % s.resample_every == 0:
                self.task.resample(st.step)
            if schedules.scheduled(s.warmup, s.lr_decay):
                group, rate = self.optimizer.param_groups[0], s.lr * schedules.lr_factor(st.step, s.warmup, s.lr_decay)
                if isinstance(group["lr"], torch.Tensor):
                    group["lr"].fill_(rate)
                else:
                    group["lr"] = rate
            t0, c0 = time.perf_counter(), time.process_time()
            self.task.select_batch(st.step)  # drawing a batch is part of a batched step's time
            self.task.rebalance(st.step, self.term_gradients, self.agree or (lambda d: d))
            loss, terms = self.adam_step(mode, st.step + st.lbfgs_iters + 1)
            if compiling:
                st.compile_s += time.perf_counter() - t0
                st.compile_steps += 1
                compiling = False
            else:
                st.adam_s += time.perf_counter() - t0
                st.adam_cpu_s += time.process_time() - c0
            st.step += 1
            if st.step % LOG_EVERY == 0 or st.step == 1:
                row = {"step": st.step, "phase": "adam", "wall_s": round(self.wall_s, 4), "loss": loss,
                       **{f"loss_{k}": v.item() for k, v in terms.items()}}
                if st.step % s.eval_every == 0:
                    row.update(self._evaluate())
                st.history.append(row)
                self.on_progress(st, row)
            elif st.step % s.eval_every == 0:
                self._record_eval(st.step, "adam")
            if st.step % s.checkpoint_every == 0:
                self._save()
            if s.early_stop and st.step % s.eval_every == 0 and self._early_stop_due():
                st.adam_stop = (f"early stop at step {st.step}: held-out residual not improved in {s.early_stop} "
                                f"evaluations (best {st.early_stop_best:.3g})")
                break

    def _early_stop_due(self) -> bool:
        st = self.state
        h = st.last_eval.get("heldout_residual", math.inf)
        if h < st.early_stop_best * (1 - 1e-3):
            st.early_stop_best, st.early_stop_wait = h, 0
            return False
        st.early_stop_wait += 1
        return st.early_stop_wait >= self.s.early_stop

    def _finish_adam(self) -> None:
        self.load_best()
        self.state.phase = "lbfgs" if self.s.lbfgs_steps > 0 else "done"
        if self.state.phase == "lbfgs":
            self.task.to_dtype(self.s.lbfgs_dtype)
            self.state.best_params = [p.detach().clone() for p in self.task.parameters()]
            self.state.best_loss = math.inf
            self.optimizer = self._make_optimizer("lbfgs")
        self._save()

    def load_best(self) -> None:
        if self.state.best_params is not None:
            with torch.no_grad():
                for p, b in zip(self.task.parameters(), self.state.best_params):
                    p.copy_(b)

    def _lbfgs(self, stop: StopFlag) -> None:
        s, st, opt = self.s, self.state, self.optimizer
        diverged = False
        mode, compiling = self._mode("lbfgs", st.lbfgs_iters < s.lbfgs_steps)
        last: dict = {}  # the latest evaluation: its parameters, loss and terms
        finite_seen = math.isfinite(st.best_loss)  # a resumed L-BFGS phase has evaluated before

        def closure():
            nonlocal diverged, compiling, finite_seen
            t0 = time.perf_counter() if compiling else 0.0
            try:
                total, terms = self.gradients(mode, st.step + st.lbfgs_iters + 1)
                if compiling:
                    st.compile_s += time.perf_counter() - t0
                    compiling = False
            except Diverged as e:
                # a probe too far (an overflow) is non-finite again at the same parameters: the search ends there
                # and the best state is kept; a loss that is finite there now was a broken evaluation: diverged
                diverged = diverged or ("probe" if self._diverges_again(mode) else str(e))
                return torch.tensor(float("inf"), dtype=self.s.lbfgs_dtype)
            finite_seen = True
            self._track_best(total.item())
            last.update(at=self._flat_params(), loss=total.item(),
                        terms={f"loss_{k}": v.item() for k, v in terms.items()})
            return total

        while st.lbfgs_iters < s.lbfgs_steps:
            if self._stopping(stop):
                self._save()
                raise Interrupted(_signal_name(stop))
            pstate = opt.state[opt.param_groups[0]["params"][0]]
            before, evals_before = pstate.get("n_iter", 0), pstate.get("func_evals", 0)
            chunk = min(LBFGS_CHUNK, s.lbfgs_steps - st.lbfgs_iters)
            opt.param_groups[0]["max_iter"] = chunk
            opt.param_groups[0]["max_eval"] = chunk * LBFGS_EVALS
            opt.step(closure)
            pstate = opt.state[opt.param_groups[0]["params"][0]]
            done = pstate.get("n_iter", 0) - before
            hit_eval_limit = pstate.get("func_evals", 0) - evals_before >= chunk * LBFGS_EVALS
            st.lbfgs_iters += done
            # step() returns the loss from before its iterations; the row's loss is the one at the
            # parameters it ends with: the line search's last evaluation, unless it settled elsewhere
            if not diverged and not ("at" in last and torch.equal(last["at"], self._flat_params())):
                closure()
            row = {"step": st.step + st.lbfgs_iters, "phase": "lbfgs", "wall_s": round(self.wall_s, 4),
                   "loss": last.get("loss"), **last.get("terms", {})}
            row.update(self._evaluate())
            st.history.append(row)
            self.on_progress(st, row)
            if diverged:
                if not finite_seen:  # not a probe too far: the loss is not finite where L-BFGS starts
                    self.load_best()
                    raise Diverged(f"the loss is not finite in {str(s.lbfgs_dtype).replace('torch.', '')} at the "
                                   f"state Adam ended with (L-BFGS's first evaluation, step {st.step + 1}); "
                                   f"kept that state")
                if diverged != "probe":
                    self.load_best()
                    raise Diverged(f"L-BFGS met a {diverged}, and a finite loss at the same parameters when evaluated "
                                   f"again: the loss is not a function of the parameters; kept the best state "
                                   f"(step {st.best_step})")
                st.lbfgs_stop = "a line-search probe reached a non-finite loss (an overflow; kept the best state)"
                break
            if done < chunk and not (hit_eval_limit and done > 0):
                st.lbfgs_stop = self._lbfgs_reason(opt)
                break
            self._save()
        else:
            st.lbfgs_stop = f"reached the iteration limit ({s.lbfgs_steps})"
        self.load_best()

    def _diverges_again(self, mode: StepMode) -> bool:
        """Whether the loss at the current parameters is non-finite when evaluated once more."""
        try:
            self.gradients(mode, self.state.step + self.state.lbfgs_iters + 1)
        except Diverged:
            return True
        return False

    def _flat_params(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.task.parameters()])

    def _lbfgs_reason(self, opt) -> str:
        grads = [p.grad for p in self.task.parameters() if p.grad is not None]
        gmax = max((g.abs().max().item() for g in grads), default=0.0)
        tol = opt.param_groups[0]["tolerance_grad"]
        if gmax <= tol:
            return f"gradient below tolerance ({gmax:.1e} <= {tol:.0e})"
        why = (f"no further progress: loss or step change below tolerance "
               f"({opt.param_groups[0]['tolerance_change']:.0e}) after {self.state.lbfgs_iters} iterations")
        if self.s.lbfgs_dtype == torch.float32:
            # measured: a float32 strong-Wolfe search stalled within 1-3 iterations where float64 ran on
            why += "; float32 line searches often stall, --lbfgs-dtype float64 continues"
        return why

    # -- evaluation -----------------------------------------------------------------------
    def _evaluate(self) -> dict[str, float]:
        """The task's evaluation (agreed across ranks in a data-parallel run); Diverged if the held-out residual
        is not finite (the training loss is: a NaN the training points happen to miss is still a broken run).
        A non-finite error is judged at the end."""
        figures = self.task.evaluate()
        ev = self.agree(figures) if self.agree is not None else figures
        bad = [k for k in EVAL_FINITE if isinstance(ev.get(k), float) and not math.isfinite(ev[k])]
        if bad:
            raise Diverged(f"the {' and '.join(k.replace('_', ' ') for k in bad)} is not finite at step "
                           f"{self.state.step + self.state.lbfgs_iters}")
        self.state.last_eval = ev
        return dict(ev)

    def _record_eval(self, step: int, phase: str) -> None:
        row = {"step": step, "phase": phase, "wall_s": round(self.wall_s, 4), **self._evaluate()}
        self.state.history.append(row)
        self.on_progress(self.state, row)
