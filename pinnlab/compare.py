"""Many runs at once: a grid of problems × layer kinds × solvers × seeds, and its summaries.

Each run lives in its own run directory ``OUT/<problem>/<layer>-<solver>-s<seed>``, so the grid is
restartable: finished runs (completed or diverged) are kept, interrupted ones resume from their
checkpoint, and a second identical command changes nothing on disk.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import runner, runs
from .config import SolveConfig
from .errors import ConfigError, PinnlabError, RunError, one_of
from .layers import layer_kind, layer_names
from .registry import get_problem
from .solvers.registry import solver_names

SUMMARY_CSV, SUMMARY_MD = "summary.csv", "summary.md"
NUMBERS = ("rel_l2", "max_abs_error", "heldout_residual", "final_loss", "steps", "wall_s", "ms_per_step")
CSV_COLUMNS = ("problem", "layer", "solver", "seed", "status", *NUMBERS, "setting", "run")
# config keys that do not make runs unlike: the grouping columns themselves, and checkpoint cadence
NOT_A_SETTING = ("seed", "layer", "solver", "checkpoint_every")
MAX_SEEDS = 10_000  # the grid is listed before it runs: a bound keeps a mistyped count from filling memory
FINISHED = ("completed", "diverged")


@dataclass(frozen=True)
class RunSpec:
    """One cell of the grid."""

    problem: str        # what get_problem takes: a built-in name or a .py path
    name: str           # the problem's own name (directory name)
    layer: str
    solver: str
    seed: int
    params: tuple = ()  # the problem's parameters as run, (name, value) pairs
    digest: str | None = None  # a problem file's SHA-256 (None for built-ins)

    @property
    def relpath(self) -> Path:
        return Path(self.name) / f"{self.layer}-{self.solver}-s{self.seed}"

    @property
    def label(self) -> str:
        return f"{self.name} {self.layer}/{self.solver} s{self.seed}"


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


# -- planning ---------------------------------------------------------------------------------

def split_list(text: str | Sequence[str] | None, what: str) -> list[str] | None:
    """``"a,b"`` → ``["a", "b"]``; an empty item is an error."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    items = [i.strip() for i in items]
    if not items or any(not i for i in items):
        raise ConfigError(f"--{what} {text!r} has an empty item (give a comma-separated list, e.g. tanh,sine)")
    return list(dict.fromkeys(items))


def plan(problems: Sequence[str], layers: Sequence[str] | None, solvers: Sequence[str], seeds: int,
         base: SolveConfig) -> tuple[list[tuple[RunSpec, SolveConfig]], list[str]]:
    """The grid's runs with their resolved configs, and notes on combinations that were left out."""
    if not problems:
        raise ConfigError("compare needs at least one PROBLEM (see `pinnlab list`)")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise ConfigError(f"--seeds must be an integer from 1 to {MAX_SEEDS} (the number of seeds 0..N-1), "
                          f"got {seeds!r}")
    for solver in solvers:
        if solver not in solver_names():
            raise ConfigError(one_of("solver in --solvers", solver, solver_names()))
    # problem files first: one may register a layer kind of its own (docs/layers.md)
    loaded = {runner.source_of(source): get_problem(source) for source in dict.fromkeys(problems)}
    known = layer_names()
    for layer in layers or ():
        if layer not in known:
            raise ConfigError(one_of("layer kind in --layers", layer, known))
    options = _options_per_kind(layers, base.layer_options)
    grid, notes, sources = [], [], {}
    for source, problem in loaded.items():
        if sources.setdefault(problem.name, source) != source:  # runs are filed under the problem's name
            raise ConfigError(f"{sources[problem.name]!r} and {source!r} are both problems named {problem.name!r}; "
                              f"compare them into separate --out folders")
        digest = runner.file_digest(source)
        for layer in layers or [None]:
            for solver in solvers:
                if solver == "node" and problem.kind != "ODE":
                    notes.append(f"skipped {problem.name} × node: the node solver needs an ODE problem")
                    continue
                # each cell is checked as `pinnlab solve` would check it, before any folder is made
                cell = replace(base, layer=layer, solver=solver, seed=0,
                               layer_options=options.get(layer, base.layer_options))
                as_run, cfg = runner.prepare(problem, cell)
                params = tuple(sorted(as_run.params.items()))
                for seed in range(seeds):
                    grid.append((RunSpec(source, problem.name, cfg.layer, solver, seed, params, digest),
                                 replace(cfg, seed=seed)))
    if not grid:
        raise ConfigError("the grid is empty: " + "; ".join(notes))
    return grid, notes


def _options_per_kind(layers: Sequence[str] | None, given: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each kind in ``layers`` gets the ``--layer-opt`` options it takes (``--layers tanh,sine --layer-opt
    omega0=2``: sine's ω0); an option no kind there takes is an error, as a typo would be."""
    if not layers or not given:
        return {}
    takes = {layer: set(layer_kind(layer).options) for layer in layers}
    unused = [k for k in given if not any(k in t for t in takes.values())]
    if unused:
        raise ConfigError(f"--layer-opt {unused[0]!r}: no layer kind in --layers ({', '.join(layers)}) takes it")
    return {layer: {k: v for k, v in given.items() if k in takes[layer]} for layer in layers}


def _json_roundtrip(d: dict) -> dict:
    return json.loads(json.dumps(d, default=runs.jsonable))


def run_state(path: Path, config: SolveConfig, spec: RunSpec | None = None) -> str:
    """``new``, ``done`` (completed or diverged), ``resume`` (has a checkpoint) or ``restart`` (nothing saved).
    A run there of another problem (``spec``'s source and parameters) or with other options is an error."""
    if not path.exists():
        return "new"
    if not (path / runs.CONFIG).exists():
        return "restart"
    run = runs.load_run(path)
    if spec is not None:
        source = run.config.get("problem_source")
        if source != spec.problem:
            raise RunError(f"{str(path)!r} holds a run of {source!r}, not of {spec.problem!r}; use another --out")
        digest = run.config.get("problem_sha256")
        if digest is not None and digest != spec.digest:
            raise RunError(f"{str(path)!r} holds a run of {spec.problem!r} as it was before it was edited; use "
                           f"another --out (or delete that run to run it again)")
        params = run.config.get("problem_params")
        if params is not None and _json_roundtrip(params) != _json_roundtrip(dict(spec.params)):
            raise RunError(f"{str(path)!r} holds a run of {spec.name!r} with other parameters ({params}); "
                           f"use another --out or the same parameters")
    stored = run.config.get("config", {})
    wanted = _json_roundtrip(config.to_dict())
    diff = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))  # a key added since: None
    if diff:
        raise RunError(f"{str(path)!r} holds a run made with other options ({', '.join(diff)} differ); "
                       f"use another --out or the same options")
    if run.status in FINISHED:
        return "done"
    return "resume" if (path / runs.CHECKPOINT).exists() else "restart"


# -- running ------------------------------------------------------------------------------------

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
        from .plots import plot_run
        plot_run(path)
    return status, message


_stop_requested = False


def _request_stop(signum, frame) -> None:
    global _stop_requested
    _stop_requested = True


def _worker_init() -> None:
    """Workers remember a stop request that arrives outside training (the trainer has its own handler)."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, _request_stop)


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
        from .plots.style import check_format
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
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx,
                               initializer=_worker_init)
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
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # interrupted workers write their checkpoints first
        manager.shutdown()


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Ask every worker to checkpoint and stop (they may not have seen the signal, e.g. after `kill PID`)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):  # the executor's only handle on them
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except (OSError, AttributeError):
            pass


# -- summaries --------------------------------------------------------------------------------

def find_runs(paths: Iterable[str | Path]) -> list[Path]:
    """Run directories named directly, or found inside the given folders (e.g. compare outputs)."""
    found: list[Path] = []
    for p in paths:
        p = runs.check_path(p, "run directory")
        if not p.is_dir():
            raise RunError(runs.not_a_folder(p, "run directory"))
        if (p / runs.CONFIG).exists():
            found.append(p)
            continue
        inner = sorted(c.parent for c in p.rglob(runs.CONFIG))
        if (p / SUMMARY_CSV).exists():  # a compare folder: its grid order, so `report` prints summary.md's table
            order = {str(p / r["run"]): i for i, r in enumerate(read_summary_csv(p / SUMMARY_CSV))}
            inner.sort(key=lambda d: order.get(str(d), len(order)))
        if not inner:
            raise RunError(f"{str(p)!r} is neither a pinnlab run nor a folder of runs (no {runs.CONFIG} inside)")
        found += inner
    return list(dict.fromkeys(found))


def summary_rows(run_dirs: Sequence[Path], root: Path | None = None) -> list[dict[str, Any]]:
    """One row per run, numbers exactly as in its report.json (None where the run has not reported)."""
    rows = []
    for d in run_dirs:
        run = runs.load_run(d)
        r, c = run.report or {}, run.config.get("config", {})
        try:
            rel = str(Path(d).relative_to(root)) if root is not None else str(d)
        except ValueError:
            rel = str(d)
        row = {"problem": r.get("problem", run.config.get("problem")), "layer": r.get("layer", c.get("layer")),
               "solver": r.get("solver", c.get("solver")), "seed": r.get("seed", c.get("seed")),
               "status": run.status}
        for k in NUMBERS:
            row[k] = r.get(k)
        params = run.config.get("problem_params", r.get("params", {}))  # as run: defaults and --set alike
        row["setting"], row["run"] = _flat_config(c, params), rel
        rows.append(row)
    return _name_settings(rows)


def _flat_config(config: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A run's options as flat ``key: value`` pairs: config entries (``weights.residual``) and the
    problem's parameters by name (``nu``; the overrides in config["params"] are already among them)."""
    flat = {}
    for k, v in config.items():
        if k in NOT_A_SETTING or k == "params":
            continue
        if isinstance(v, dict):
            flat.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            flat[k] = v
    for k, v in (params or {}).items():
        flat[k if k not in flat else f"parameter {k}"] = v
    return flat


def _name_settings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace each row's flat config by the text of what sets it apart from the other runs of its problem,
    layer and solver ("" when nothing does), so that only like runs are pooled."""
    by_combo: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        by_combo.setdefault((r["problem"], r["layer"], r["solver"]), []).append(r)
    for same in by_combo.values():
        keys = sorted({k for r in same for k in r["setting"]})
        differ = [k for k in keys if len({repr(r["setting"].get(k)) for r in same}) > 1]
        for r in same:
            r["setting"] = ", ".join(f"{k}={r['setting'].get(k)}" for k in differ)
    return rows


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: ("" if row.get(k) is None else row[k]) for k in CSV_COLUMNS})
    return buf.getvalue()


def read_summary_csv(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="") as fh:
        return [{"setting": "", **{k: runs._num(v) if k in NUMBERS else v for k, v in r.items()}}
                for r in csv.DictReader(fh)]  # summary.csv files written before the setting column have none


@dataclass
class Group:
    problem: str
    layer: str
    solver: str
    setting: str
    rows: list[dict[str, Any]]

    def stat(self, key: str) -> tuple[float, float, float] | None:
        """Median, min and max of ``key`` over the completed runs (a diverged or unfinished run's figures
        are those of a state it was not trained to: the status column counts those runs instead)."""
        vals = [r[key] for r in self.rows if r.get("status") == "completed" and isinstance(r.get(key), (int, float))
                and math.isfinite(r[key])]
        return (statistics.median(vals), min(vals), max(vals)) if vals else None

    @property
    def status(self) -> str:
        n, seeds = len(self.rows), len({r["seed"] for r in self.rows})
        bad = {}
        for r in self.rows:
            if r["status"] != "completed":
                bad[r["status"]] = bad.get(r["status"], 0) + 1
        count = str(n) if seeds == n else f"{n} runs of {seeds} seed{'s' if seeds > 1 else ''}"  # repeats
        return count + ("" if not bad else " (" + ", ".join(f"{v} {k}" for k, v in sorted(bad.items())) + ")")


def groups(rows: Sequence[dict[str, Any]]) -> list[Group]:
    """Rows grouped by problem × layer × solver × setting, in first-seen order of problems, sorted within."""
    out: dict[tuple, Group] = {}
    order = list(dict.fromkeys(r["problem"] for r in rows))
    for r in sorted(rows, key=lambda r: (order.index(r["problem"]), str(r["layer"]), str(r["solver"]),
                                         r.get("setting", ""))):
        key = (r["problem"], r["layer"], r["solver"], r.get("setting", ""))
        out.setdefault(key, Group(*key, rows=[])).rows.append(r)
    return list(out.values())


def _cell(s: tuple[float, float, float] | None, fmt: str, n: int) -> str:
    if s is None:
        return "–"
    med, lo, hi = s
    return format(med, fmt) if n == 1 or lo == hi else f"{med:{fmt}} [{lo:{fmt}}–{hi:{fmt}}]"


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """Median [min–max] over seeds per problem × layer × solver; the best median rel L2 per problem in bold."""
    gs = groups(rows)
    best: dict[str, float] = {}
    for g in gs:
        s = g.stat("rel_l2")
        if s is not None:
            best[g.problem] = min(best.get(g.problem, math.inf), s[0])
    settings = any(g.setting for g in gs)  # runs of one layer and solver with other options: a column says which
    lines = ["| problem | layer | solver |" + (" setting |" if settings else "")
             + " seeds | rel L2 | wall time [s] | ms / Adam step |",
             "|---|---|---|" + ("---|" if settings else "") + "---|---|---|---|"]
    for g in gs:
        s, n = g.stat("rel_l2"), len(g.rows)
        err = _cell(s, ".2e", n)
        if s is not None and s[0] == best.get(g.problem):
            err = f"**{err}**"
        lines.append(f"| {g.problem} | {g.layer} | {g.solver} |" + (f" {g.setting or '–'} |" if settings else "")
                     + f" {g.status} | {err} | "
                     f"{_cell(g.stat('wall_s'), '.1f', n)} | {_cell(g.stat('ms_per_step'), '.2f', n)} |")
    return "\n".join(lines) + "\n"


NODE_NOTE = ("node rows' rel L2 is over the training window of trajectories the network was fitted to "
             "(rel_l2_extrapolation in their report.json covers the rest); a PINN's is over the whole domain, "
             "learned without data: the two are not the same measure")


RAI_NOTE = ("rai rows' rel L2 and loss are the plain network's (no states); the auxiliary objective and the "
            "state tables' memory are in each run's report.json (rai_objective, rai_state_mib)")


def summary_markdown(rows: Sequence[dict[str, Any]]) -> str:
    note = f"\n\nNote: {NODE_NOTE}." if {"pinn", "node"} <= {r["solver"] for r in rows} else ""
    if "rai" in {r["solver"] for r in rows}:
        note += f"\n\nNote: {RAI_NOTE}."
    return ("# Comparison summary\n\nMedian and [min–max] over seeds; the lowest median rel L2 per problem is in bold. "
            f"One row per run: summary.csv.{note}\n\n" + markdown_table(rows))


def _write_if_changed(path: Path, text: str) -> bool:
    data = text.encode()
    if path.exists() and path.read_bytes() == data:
        return False
    runs.atomic_write(path, data)
    return True


def write_summaries(out: Path, rows: Sequence[dict[str, Any]], plot: bool = True, fmt: str = "png") -> list[Path]:
    """summary.csv, summary.md and the comparison figures; files whose content would not change are left alone."""
    out = Path(out)
    changed = _write_if_changed(out / SUMMARY_CSV, csv_text(rows))
    changed |= _write_if_changed(out / SUMMARY_MD, summary_markdown(rows))
    written = [out / SUMMARY_CSV, out / SUMMARY_MD]
    if plot:
        from .plots.comparison import comparison_figures, expected_figures
        expected = expected_figures(out, rows, fmt)[:2]  # per-problem field figures exist only where data does
        if changed or not all(p.exists() for p in expected):
            written += comparison_figures(out, rows, fmt)
        else:
            written += expected
    return written
