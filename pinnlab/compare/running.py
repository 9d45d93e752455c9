"""Running a comparison: every cell of the planned grid in this process or a pool of workers, with
progress bars; a stop (Ctrl-C, SIGTERM) leaves checkpoints that the same command resumes."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import runner, runs
from ..config import SolveConfig
from ..errors import ConfigError, PinnlabError, RunError
from .planning import RunSpec, plan, run_state
from .summaries import summary_rows, write_summaries


@dataclass
class Comparison:
    """What :func:`compare` gives back: the grid's run directories, summary rows and files written."""

    out: Path
    runs: list[Path]
    rows: list[dict[str, Any]]
    counts: dict[str, int]          # new / resumed / restarted / skipped
    written: list[Path]


class CompareInterrupted(Exception):
    """The grid was interrupted; unfinished runs keep their checkpoints (re-run the command to go on)."""


def _execute(spec: RunSpec, config: SolveConfig, path: Path, state: str, plot: bool,
             queue: Any = None) -> tuple[str, str]:
    """Run (or resume) one grid cell; returns (status, message). Runs in a worker process or in-process."""
    key = str(spec.relpath)
    last = [0.0]

    def progress(st, row) -> None:
        now = time.monotonic()
        if queue is not None and (now - last[0] > 0.3 or row.get("phase") == "final"):
            last[0] = now
            try:
                queue.put((key, st.step + st.lbfgs_iters))
            except Exception:  # progress display is optional; a closed queue must not stop training
                pass

    try:
        if state == "restart":
            shutil.rmtree(path)
        if state == "resume":
            result = runner.resume(path, progress=progress)
        else:
            result = runner.solve(spec.problem, config, out=path, progress=progress, problem_source=spec.problem)
        status, message = "completed", f"rel L2 {result.rel_l2:.3e}"
    except runner.RunInterrupted:
        return "interrupted", "interrupted (checkpoint saved)"
    except runner.RunFailed as e:
        status, message = e.result.report["status"], str(e)
    if plot:
        from ..plots import plot_run
        plot_run(path)
    return status, message


_stop_requested = False


def _request_stop(signum, frame) -> None:
    global _stop_requested
    _stop_requested = True


def _worker_init(pids: Any = None) -> None:
    """Workers remember a stop request that arrives outside training (the trainer has its own handler),
    and say who they are (``pids``, a shared list) so the parent can ask each of them to stop."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, _request_stop)
    if pids is not None:
        pids.append(os.getpid())


def _worker(args: tuple) -> tuple[str, str]:
    if _stop_requested:
        return "interrupted", "not started (stop requested)"
    return _execute(*args)


class _Bars:
    """An overall tqdm bar over runs and one bar per run in progress (steps)."""

    def __init__(self, total: int, done: int, enabled: bool):
        from tqdm import tqdm
        self.tqdm, self.enabled = tqdm, enabled
        self.overall = tqdm(total=total, initial=done, unit="run", desc="compare", file=sys.stderr,
                            dynamic_ncols=True, disable=not enabled, position=0)
        self.bars: dict[str, Any] = {}
        self.free: list[int] = []

    def start(self, key: str, total_steps: int) -> None:
        pos = self.free.pop(0) if self.free else len(self.bars) + 1
        self.bars[key] = self.tqdm(total=total_steps, desc=key, unit="step", file=sys.stderr, leave=False,
                                   dynamic_ncols=True, disable=not self.enabled, position=pos)

    def update(self, key: str, done: int) -> None:
        bar = self.bars.get(key)
        if bar is not None:
            bar.update(max(0, min(done, bar.total or done) - bar.n))

    def finish(self, key: str, line: str) -> None:
        bar = self.bars.pop(key, None)
        if bar is not None:
            self.free.append(bar.pos)
            bar.close()
        self.overall.update(1)
        if self.enabled:
            self.overall.write(line, file=sys.stderr)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.overall.close()


def compare(problems: Sequence[str], layers: Sequence[str] | None = None, solvers: Sequence[str] = ("pinn",),
            seeds: int = 3, config: SolveConfig | None = None, out: str | Path | None = None, jobs: int = 1,
            progress: bool = True, plot: bool = True, fmt: str = "png",
            echo: Callable[[str], None] | None = None) -> Comparison:
    """Run the grid problems × layers × solvers × seeds (``jobs`` processes) and write its summaries.

    ``layers=None`` uses each problem's recipe layer. Every option of ``config`` except layer,
    solver and seed applies to every run. Returns the :class:`Comparison`; raises
    :class:`CompareInterrupted` on Ctrl-C (re-running the same call continues where it stopped).
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs must be a positive integer, got {jobs!r}")
    if plot:
        from ..plots.style import check_format
        check_format(fmt)
    echo = echo or (lambda s: print(s, file=sys.stderr))
    grid, notes = plan(problems, layers, solvers, seeds, (config or SolveConfig()).validate())
    out = runs.check_new_path(out if out is not None else Path("runs") / "compare", "--out")
    _check_out(out)
    for note in notes:
        echo(note)
    made = not out.exists()
    runs.make_dirs(out, "--out")
    try:
        return _compare_in(out, grid, jobs, progress, plot, fmt)
    except PinnlabError:
        if made and not any(out.rglob(runs.CONFIG)):  # bad input found at a first step: leave nothing behind
            shutil.rmtree(out, ignore_errors=True)
        raise


def _check_out(out: Path) -> None:
    """A compare folder is its own: never a run directory, nor inside one (it would add folders to that run)."""
    if (out / runs.CONFIG).exists():
        raise RunError(f"--out {str(out)!r} is a run directory, not a compare folder; give compare a folder of its own")
    inside = runs.run_above(out)
    if inside is not None:
        raise RunError(f"--out {str(out)!r} is inside the run {str(inside)!r}; give compare a folder outside it")


def _compare_in(out: Path, grid: list[tuple[RunSpec, SolveConfig]], jobs: int, progress: bool, plot: bool,
                fmt: str) -> Comparison:
    with runs.dir_lock(out, "compare"):  # two compares in one folder would restart each other's runs
        states = {spec: run_state(out / spec.relpath, cfg, spec) for spec, cfg in grid}
        todo = [(spec, cfg) for spec, cfg in grid if states[spec] != "done"]
        counts = {k: sum(1 for s in states.values() if s == k) for k in ("new", "resume", "restart", "done")}
        if todo:
            _run_all(todo, states, out, jobs, progress, plot, len(grid))
        run_dirs = [out / spec.relpath for spec, _ in grid]
        rows = summary_rows(run_dirs, root=out)
        written = write_summaries(out, rows, plot=plot, fmt=fmt)
    return Comparison(out, run_dirs, rows, counts, written)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _run_all(todo, states, out: Path, jobs: int, progress: bool, plot: bool, total: int) -> None:
    bars = _Bars(total, total - len(todo), progress)
    interrupted = False
    old = None
    if threading.current_thread() is threading.main_thread():
        old = signal.signal(signal.SIGTERM, _raise_interrupt)  # `kill` stops a grid as cleanly as Ctrl-C
    try:
        if jobs == 1:
            for spec, cfg in todo:
                key = str(spec.relpath)
                bars.start(key, cfg.steps + cfg.lbfgs_steps)
                q = _DirectQueue(bars)
                status, message = _execute(spec, cfg, out / spec.relpath, states[spec], plot, q)
                bars.finish(key, f"{spec.label}: {status}, {message}")
                if status == "interrupted":
                    interrupted = True
                    break
        else:
            interrupted = _run_pool(todo, states, out, jobs, plot, bars)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bars.close()
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    if interrupted:
        raise CompareInterrupted("compare interrupted: finished runs are kept and unfinished ones have "
                                 "checkpoints; run the same command again to continue")


class _DirectQueue:
    def __init__(self, bars: _Bars):
        self.bars = bars

    def put(self, item: tuple[str, int]) -> None:
        self.bars.update(*item)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_pool(todo, states, out: Path, jobs: int, plot: bool, bars: _Bars) -> bool:
    import multiprocessing as mp
    from multiprocessing.managers import SyncManager
    from queue import Empty

    ctx = mp.get_context("spawn")  # fork after torch has started threads can deadlock
    manager = SyncManager(ctx=ctx)
    manager.start(_ignore_sigint)  # the progress queue must outlive Ctrl-C, which reaches the whole group
    pids = manager.list()
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx,
                               initializer=_worker_init, initargs=(pids,))
    try:
        queue = manager.Queue()
        futures = {pool.submit(_worker, (spec, cfg, out / spec.relpath, states[spec], plot, queue)): (spec, cfg)
                   for spec, cfg in todo}
        by_key = {str(spec.relpath): cfg for spec, cfg in todo}
        pending, interrupted = set(futures), False
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            while True:
                try:
                    key, steps = queue.get_nowait()
                except Empty:
                    break
                if key not in bars.bars:
                    bars.start(key, by_key[key].steps + by_key[key].lbfgs_steps)
                bars.update(key, steps)
            for fut in done:
                spec, _ = futures[fut]
                status, message = fut.result()
                bars.finish(str(spec.relpath), f"{spec.label}: {status}, {message}")
                interrupted |= status == "interrupted"
        return interrupted
    except KeyboardInterrupt:
        _stop_workers(list(pids))
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # interrupted workers write their checkpoints first
        manager.shutdown()


def _stop_workers(pids: Sequence[int]) -> None:
    """Ask every worker to checkpoint and stop (they may not have seen the signal, e.g. after `kill PID`)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:  # already gone
            pass
