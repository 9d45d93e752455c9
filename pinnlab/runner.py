"""solve() and resume(): run a solver into a run directory and write its report.

The run directory is created first (never overwriting), config.json is written before training
so an interrupted run can always be resumed, and report.json is written on every way out once
training has started: completed, interrupted (exit 130 in the CLI), diverged or failed (exit 1).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import platform
import shutil
import signal
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import distributed, runs
from .config import SolveConfig
from .data import run_data
from .errors import ConfigError, PinnlabError, PinnlabWarning, RunError
from .layers import check_options, layer_kind
from .problem import Problem
from .registry import builtin_problems, get_problem
from .solvers import qn_stage
from .solvers.base import SolverTask, model_state
from .solvers.registry import get_solver
from .solvers.training import Diverged, Interrupted, Schedule, Trainer, TrainState


class RunFailed(Exception):
    """The run ended without completing: it diverged, or the problem failed to evaluate after training
    had started (status ``failed``); ``result`` holds its report."""

    def __init__(self, message: str, result: Result):
        super().__init__(message)
        self.result = result


class RunInterrupted(Exception):
    """The run was interrupted; its checkpoint and partial report are on disk."""

    def __init__(self, message: str, result: Result):
        super().__init__(message)
        self.result = result


@dataclass
class Result:
    """What a finished (or stopped) run gives back.

    - ``run_dir``: the run directory; ``report``: report.json's figures (``rel_l2``, ``loss_terms``, ...);
      ``history``: history.csv's rows; ``problem``: the problem as run (its parameters applied);
    - ``net``: the trained network. A PINN's maps physical coordinates, an (N, dim) tensor in the
      domain's coordinate order, to the fields (N, n_fields), hard-constraint transform included;
      its dtype is ``lbfgs_dtype`` (float64) after L-BFGS, else ``dtype``: evaluate it as
      ``r.net(torch.as_tensor(points, dtype=next(r.net.parameters()).dtype))``. A neural ODE's is
      the learned vector field.
    """

    run_dir: Path
    report: dict[str, Any]
    net: torch.nn.Module
    problem: Problem
    history: list[dict[str, Any]]

    @property
    def rel_l2(self) -> float:
        return self.report["rel_l2"]


def versions() -> dict[str, str]:
    import scipy

    from . import __version__
    return {"pinnlab": __version__, "torch": torch.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "python": platform.python_version()}


def solve(problem: Problem | str, config: SolveConfig | None = None, out: str | Path | None = None,
          runs_root: str | Path = "runs", progress: Callable[[TrainState, dict], None] | None = None,
          problem_source: str | None = None) -> Result:
    """Train on ``problem`` with ``config`` into a new run directory and return the Result.

    ``problem`` is a Problem or a registered name / path of a ``.py`` file. Bad input raises
    :class:`~pinnlab.errors.PinnlabError` before the run directory is created (or, found at the
    first step, with the directory removed again); a run that diverges, or whose problem fails to
    evaluate later on, raises :class:`RunFailed`, one interrupted :class:`RunInterrupted`, each with
    the run's report.
    """
    world = distributed.join((config or SolveConfig()).device)  # rank 0 of 1 unless started by torchrun
    with _sigterm_interrupts():  # from the start: `kill` while a problem file loads or dry-runs is an interrupt
        if isinstance(problem, str):
            problem_source = problem_source or source_of(problem)
            problem = get_problem(problem)
        elif problem_source is None:
            problem_source = _builtin_source(problem)
        problem, config = prepare(problem, config or SolveConfig())
        problem.evaluation()  # a solution that raises fails here, before anything is written (it is cached)
        run_dir = world.from_rank0(lambda: runs.new_run_dir(out, f"{problem.name}-{config.layer}-s{config.seed}",
                                                            runs_root))
        with world.on_rank0(runs.dir_lock(run_dir)):
            try:
                # the parameters as run, so that a resume rebuilds the same equation however they were set
                if world.writes:
                    runs.write_json(run_dir / runs.CONFIG, {"problem": problem.name, "problem_source": problem_source,
                                                            "problem_sha256": file_digest(problem_source),
                                                            "problem_params": problem.params,
                                                            "data_sha256": data_digest(config.data),
                                                            "config": config.to_dict(), "versions": versions()})
                return _execute(problem, config, run_dir, None, progress)
            except (RunFailed, RunInterrupted):
                raise  # the run's report says what happened
            except Exception:
                # bad input found at the first step, or a failure (out of memory, say) before anything could be
                # kept: a folder without a checkpoint could be neither resumed nor reused as --out
                if world.writes and not (run_dir / runs.CHECKPOINT).exists():
                    shutil.rmtree(run_dir, ignore_errors=True)
                raise
            except KeyboardInterrupt:
                # training checkpoints itself when stopped; before it starts there is nothing to keep, and a
                # directory without a checkpoint could be neither resumed nor reused as --out
                if (run_dir / runs.CHECKPOINT).exists() or not world.writes:
                    raise
                shutil.rmtree(run_dir, ignore_errors=True)
                raise KeyboardInterrupt(f"before training started; nothing had been computed, so {str(run_dir)!r} "
                                        "was removed") from None


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """``kill`` (SIGTERM) interrupts like Ctrl-C while this runs (the trainer installs its own handlers
    while it trains), so that a run stopped while it is set up is cleaned up the same way."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    # a caller with a policy of its own (a compare worker records the request) keeps it
    old = None
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        try:
            old = signal.signal(signal.SIGTERM, handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
    if old is None:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def resume(run_dir: str | Path, progress: Callable[[TrainState, dict], None] | None = None,
           problem: Problem | None = None) -> Result:
    """Continue an interrupted run in place; it ends as if it had never been interrupted.

    A run of a built-in problem or a problem file rebuilds its problem itself; a run of a Problem
    defined in Python needs it again as ``problem`` (its name must match; the run's parameters apply).
    """
    run_dir = Path(run_dir)
    first = runs.load_run(run_dir)  # a missing or foreign directory is reported before it is locked
    world = distributed.join(str((first.config.get("config") or {}).get("device", "cpu")))
    with world.on_rank0(runs.dir_lock(run_dir)), _sigterm_interrupts():
        run = runs.load_run(run_dir)  # read again under the lock: another process may just have finished it
        if run.status == "completed":
            raise RunError(f"run {str(run_dir)!r} has already completed; nothing to resume")
        if run.status == "diverged":  # its checkpoint is the last good state: resuming repeats the same step
            raise RunError(f"run {str(run_dir)!r} diverged ({run.report.get('message', '')}); resuming would "
                           f"repeat the same step: start a new run with other options (e.g. a lower --lr)")
        problem, config = _rebuild(run_dir, run, problem)
        ckpt_path = run_dir / runs.CHECKPOINT
        if not ckpt_path.exists():
            raise RunError(f"run {str(run_dir)!r} has no checkpoint yet: it cannot be resumed (start it again)")
        ckpt = runs.load_checkpoint(ckpt_path)

        def started(state: TrainState, row: dict) -> None:
            # the old report speaks of a step the run is now past: once training goes on it is removed, so
            # that a kill -9 from here leaves a run that reads "stopped" (resumable), not "interrupted" long ago
            if row.get("event") == "start":
                (run_dir / runs.REPORT).unlink(missing_ok=True)
            if progress is not None:
                progress(state, row)

        return _execute(problem, config, run_dir, ckpt, started)


def load_result(run_dir: str | Path, problem: Problem | None = None) -> Result:
    """A finished or stopped run as a :class:`Result`, its network in the state of its checkpoint (for a
    completed run the one reported). The problem is rebuilt as :func:`resume` does (``problem`` for a
    Problem defined in Python)."""
    run_dir = Path(run_dir)
    run = runs.load_run(run_dir)
    problem, config = _rebuild(run_dir, run, problem)
    ckpt = runs.load_checkpoint(run_dir / runs.CHECKPOINT)
    task = _make_task(problem, config)
    try:
        saved = next(t.dtype for t in model_state(ckpt["task"]).values() if t.is_floating_point())
        task.to_dtype(saved)  # L-BFGS's dtype when it ran, else the Adam stage's
        task.load_state_dict(ckpt["task"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise RunError(f"run {str(run_dir)!r}: {runs.CHECKPOINT} is incompatible with its {runs.CONFIG} "
                       f"({type(e).__name__}: {' '.join(str(e).split())[:200]})") from None
    return Result(run_dir, run.report or {}, task.net, problem, run.history)


def source_of(name: str) -> str:
    """What config.json records as a problem's source: a problem file's absolute path, or a built-in name."""
    p = Path(name)
    return str(p.resolve()) if p.suffix == ".py" else name


def _builtin_source(problem: Problem) -> str | None:
    """The built-in name of ``problem`` if it is a built-in one (with any parameters), else None: a
    Problem defined in Python cannot be rebuilt from config.json, even if it borrows a built-in's name."""
    builtin = builtin_problems().get(problem.name)
    same = builtin is not None and all(getattr(builtin, f.name) == getattr(problem, f.name)
                                       for f in dataclasses.fields(Problem) if f.name != "params")
    return problem.name if same else None


def _rebuild(run_dir: Path, run: runs.Run, given: Problem | None) -> tuple[Problem, SolveConfig]:
    """A run's problem (with the parameters it ran with) and config, from its config.json."""
    try:
        config = SolveConfig.from_dict(run.config["config"]).validate()
        problem = _problem_of(run_dir, run.config, given).with_params(**run.config.get("problem_params", config.params))
        saved = run.config.get("data_sha256")
        if saved is not None and Path(config.data).is_file() and data_digest(config.data) != saved:
            # other measurements would make the trained state and the history a run of two data sets
            raise RunError(f"run {str(run_dir)!r}: its data file {config.data!r} has changed since the run started; "
                           f"restore it, or start a new run with --init-from {str(run_dir)!r}")
        problem = run_data(problem.with_unknowns(**config.unknowns), config)
    except (KeyError, TypeError) as e:
        raise RunError(f"run {str(run_dir)!r} has an incompatible config.json "
                       f"({'missing ' + str(e) if isinstance(e, KeyError) else e})") from None
    return problem, config


def _problem_of(run_dir: Path, saved: dict, given: Problem | None) -> Problem:
    """The problem to resume a run with: the one given (checked against the run's name), or rebuilt."""
    if given is not None:
        if given.name != saved["problem"]:
            raise RunError(f"run {str(run_dir)!r} is a run of problem {saved['problem']!r}, not {given.name!r}")
        return given
    if saved["problem_source"] is None:
        raise RunError(f"run {str(run_dir)!r} was started from a Problem defined in Python; resume it there with "
                       f"pinnlab.resume({str(run_dir)!r}, problem=...)")
    problem = get_problem(saved["problem_source"])
    if problem.name != saved["problem"]:  # a problem file edited since: the run would contradict itself
        raise RunError(f"run {str(run_dir)!r} is a run of problem {saved['problem']!r}, but "
                       f"{saved['problem_source']!r} now defines {problem.name!r}")
    digest = file_digest(saved["problem_source"])
    if saved.get("problem_sha256") not in (None, digest):
        # not refused: fixing a problem file that failed mid-run and resuming is what the checkpoint is for
        warnings.warn(f"problem file {saved['problem_source']!r} has changed since run {str(run_dir)!r} started; "
                      f"going on with the file as it is now", PinnlabWarning, stacklevel=3)
    return problem


def data_digest(path: str | None) -> str | None:
    """The SHA-256 of a --data file (None without one, or where it cannot be read: loading it says why)."""
    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_digest(source: str | None) -> str | None:
    """The SHA-256 of a problem file's text (None for built-in and Python-defined problems)."""
    if source is None or not source.endswith(".py") or not Path(source).is_file():
        return None
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


def prepare(problem: Problem, config: SolveConfig) -> tuple[Problem, SolveConfig]:
    """``problem`` with the run's parameters and ``config`` completed from its solver's recipe, both
    checked: every mistake that needs no training to find fails here, before anything is written."""
    spec = get_solver(config.validate().solver)
    config = config.resolved(spec.default_recipe(problem))
    if config.init_from is not None:  # a run to start from: one with a trained network, checked before any folder
        config = dataclasses.replace(config, init_from=str(Path(config.init_from).resolve()))
        if not (Path(config.init_from) / runs.CHECKPOINT).exists():
            runs.load_run(config.init_from)  # says what is wrong with the folder, if anything
            raise ConfigError(f"--init-from {config.init_from!r} has no checkpoint (a network) to start from")
    if config.data is not None:  # as config.json records it: a resume from another folder reads the same file
        config = dataclasses.replace(config, data=str(Path(config.data).resolve()))
    problem = run_data(problem.with_params(**config.params).with_unknowns(**config.unknowns), config)
    check_options(layer_kind(config.layer), config.layer_options)
    spec.check(problem, config)  # solver-specific options fail before the run directory exists
    _ = problem.requests  # the residual's dry run (cached)
    return problem, config


# what a checkpoint belongs to: a checkpoint whose run differs in any of these is not resumed
IDENTITY_KEYS = ("solver", "layer", "layer_options", "width", "depth", "hard", "seed", "dtype", "lbfgs_dtype",
                 "init", "layer_norm", "periodic", "periodic_modes", "fourier_features", "arch", "rwf",
                 "balance")


def _identity(problem: Problem, config: SolveConfig) -> dict[str, Any]:
    cfg = config.to_dict()
    return {"problem": problem.name, "params": dict(problem.params), **{k: cfg[k] for k in IDENTITY_KEYS}}


def _check_identity(run_dir: Path, ckpt: dict, problem: Problem, config: SolveConfig) -> None:
    """A checkpoint resumes only the run it was written by (checkpoints from before this record: any)."""
    saved, now = ckpt.get("belongs_to"), _identity(problem, config)
    if saved is None or saved == now:
        return
    saved = {**saved, **{k: v for k, v in SolveConfig.completed(saved).items() if k in now}}
    if saved == now:
        return
    diff = [k for k in now if saved.get(k) != now[k]]
    what = ", ".join(f"{k} {saved.get(k)!r} in the checkpoint, {now[k]!r} in {runs.CONFIG}" for k in diff[:3])
    raise RunError(f"run {str(run_dir)!r}: {runs.CHECKPOINT} is incompatible with its {runs.CONFIG}: it belongs "
                   f"to another run ({what}); it is not resumed")


def _execute(problem: Problem, config: SolveConfig, run_dir: Path, ckpt: dict | None,
             progress: Callable[[TrainState, dict], None] | None) -> Result:
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    if ckpt is not None:
        _check_identity(run_dir, ckpt, problem, config)
    try:
        task = _make_task(problem, config)
    except (MemoryError, RuntimeError) as e:  # e.g. --width 100000000: the allocator's refusal, as one line
        if not isinstance(e, MemoryError) and "alloc" not in str(e):
            raise
        raise ConfigError(f"not enough memory to build this run (width {config.width}, depth {config.depth}, "
                          f"{config.points} points): {' '.join(str(e).split())[:160]}") from None
    schedule = Schedule.from_config(config)
    identity = _identity(problem, config)
    world = distributed.world()  # of a data-parallel run, rank 0 alone writes
    if world.parallel and not task.shards:
        raise ConfigError(f"solver {config.solver!r} cannot split its work between {world.size} processes: "
                          f"run it in one process (without torchrun)")
    progress = progress if world.writes else None

    def on_checkpoint(state: dict) -> None:
        if not world.writes:
            return
        runs.save_checkpoint(run_dir / runs.CHECKPOINT, {**state, "belongs_to": identity})
        runs.write_history(run_dir / runs.HISTORY, state["trainer"]["history"])

    if ckpt is None and config.init_from is not None:
        _start_from(task, config.init_from)
    trainer = Trainer(task, schedule, on_checkpoint, progress, **({"grad_hook": world.average_grads,
                                                                   "agree": world.agree} if world.parallel else {}))
    if ckpt is not None:
        try:
            trainer.restore(ckpt)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:  # another network, problem or version
            why = " ".join(str(e).split())[:200]  # one line, however long torch's message is
            raise RunError(f"run {str(run_dir)!r}: {runs.CHECKPOINT} is incompatible with its {runs.CONFIG} "
                           f"({type(e).__name__}: {why})") from None
    status, message = "completed", ""
    try:
        trainer.run()
    except Interrupted as e:
        status, message = "interrupted", f"interrupted by {e}"
    except Diverged as e:
        status, message = "diverged", str(e)
        trainer.load_best()
        on_checkpoint(trainer.checkpoint())
    except PinnlabError as e:
        st = trainer.state
        if st.step + st.lbfgs_iters == 0 and not st.history and not isinstance(e, distributed.RankLost):
            raise  # found at the first step: bad input (solve removes the directory)
        # e.g. a residual that raises on later points: a failed run. The last checkpoint is kept (the state
        # at the failure may sit mid line search); before the first one, the state the failing step began
        # from is one (Adam's parameters are unchanged by a step that raised), so trained work is never lost
        if not (run_dir / runs.CHECKPOINT).exists():
            on_checkpoint(trainer.checkpoint())
        status = "failed"
        message = f"{e} (at step {st.step + st.lbfgs_iters + 1})"
    try:
        report = _report(problem, config, task, trainer, status, message)
    except PinnlabError as e:
        if status != "failed":  # the problem fails on the evaluation points or the report's own figures
            status, message = "failed", f"{e} (while measuring the trained {config.solver} for its report)"
        report = _report(problem, config, task, trainer, status, message, measured=False)
    _judge(report, config)
    status = report["status"]
    if world.writes:
        runs.write_json(run_dir / runs.REPORT, report)
    if status == "completed" and world.writes:
        _save_predictions(run_dir, task)
    result = Result(run_dir, report, task.net, problem, trainer.state.history)
    if status == "interrupted":
        raise RunInterrupted(report["message"], result)
    if status in ("diverged", "failed"):
        raise RunFailed(f"run {'stopped' if status == 'failed' else status}: {report['message']}", result)
    return result


def _judge(report: dict[str, Any], config: SolveConfig) -> None:
    """A completed run whose kept state has no finite loss or error is no result; one whose best state is
    its first never lowered its loss (said as a warning: e.g. --lr far too high)."""
    if report["status"] != "completed":
        return
    loss, err = report.get("final_loss"), report.get("rel_l2")
    if isinstance(loss, float) and not np.isfinite(loss):
        report["status"] = "diverged"
        report["message"] = f"the loss at the state kept is {loss}: the {config.solver} diverged"
    elif isinstance(err, float) and not np.isfinite(err):
        report["status"] = "failed"
        report["message"] = (f"the trained {config.solver} gives rel L2 {err} against the reference: its "
                             f"prediction is not finite at some evaluation points")
    elif report.get("best_step") == 1 and report["steps"] > 1:
        report.setdefault("warnings", []).append(
            f"the best state is the network after its first step: {report['steps']} steps never lowered the loss "
            f"(lr {config.lr}); the run has not trained")


def _start_from(task: SolverTask, run_dir: str) -> None:
    """The trained model of ``run_dir`` as the task's starting point, cast to the task's dtype: its network
    (which must fit), and any other part both runs' models have in the same shape."""
    state = model_state(runs.load_checkpoint(Path(run_dir) / runs.CHECKPOINT)["task"])
    dtype = next(p.dtype for p in task.net.parameters())
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
    try:
        task.net.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("net.")})
    except RuntimeError as e:  # another layer kind, width, depth or number of fields
        raise ConfigError(f"--init-from {run_dir!r}: its network does not fit this run's "
                          f"({' '.join(str(e).split())[:160]})") from None
    own = task.model.state_dict()
    extras = {k: v for k, v in state.items() if not k.startswith("net.") and k in own and own[k].shape == v.shape}
    task.model.load_state_dict(extras, strict=False)


def _make_task(problem: Problem, config: SolveConfig) -> SolverTask:
    return get_solver(config.solver).make_task(problem, config)


def _report(problem, config, task, trainer, status, message, measured: bool = True) -> dict[str, Any]:
    """report.json; ``measured=False`` leaves out the errors and losses (a problem that fails to evaluate)."""
    st = trainer.state
    spec = get_solver(config.solver)
    final = task.final_report() if measured else {"rel_l2": None, "max_abs_error": None, "heldout_residual": None}
    final_terms = {k: float(v.detach()) for k, v in task.loss_terms().items()} if measured else {}
    if measured and status != "failed":  # a data-parallel run's loss is its ranks' mean (a failed one may lack ranks)
        final_terms = distributed.world().agree(final_terms)
    return {
        "problem": problem.name, "solver": config.solver, "layer": config.layer, "seed": config.seed,
        "device": config.device, "dtype": config.dtype, "status": status, "message": message,
        "steps": st.step + st.lbfgs_iters, "adam_steps": st.step, "lbfgs_iterations": st.lbfgs_iters,
        "wall_s": round(st.wall_s, 3), "ms_per_step": round(1e3 * st.adam_s / max(st.step - st.compile_steps, 1), 4),
        "compile_s": round(st.compile_s, 3),
        **final, "final_loss": sum(final_terms.values()) if measured else None, "final_loss_terms": final_terms,
        "best_loss": st.best_loss if np.isfinite(st.best_loss) else None, "best_step": st.best_step,
        "adam_stop_reason": st.adam_stop or ("not reached" if st.step < config.steps else "step budget"),
        "lbfgs_stop_reason": st.lbfgs_stop or ("not run" if config.lbfgs_steps == 0 else "not reached"),
        "second_stage": qn_stage.NAMES[trainer.s.optimizer],  # "auto" resolved by the Trainer
        "params": problem.params, "reference": problem.reference_method,
        "width": config.width, "depth": config.depth, "figure_kind": spec.figure_kind, "measure": spec.measure,
        "versions": versions(),
    }


def _save_predictions(run_dir: Path, task) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **task.predictions())
    runs.atomic_write(run_dir / runs.PREDICTIONS, buf.getvalue())
