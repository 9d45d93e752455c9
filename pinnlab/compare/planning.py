"""Planning a comparison: the grid of problems × layer kinds × solvers × seeds, each cell checked as
``pinnlab solve`` would check it, and the state of a cell's run directory (new, done, resume, restart)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import runner, runs
from ..config import SolveConfig
from ..errors import ConfigError, RunError, one_of
from ..layers import layer_kind, layer_names
from ..registry import get_problem
from ..solvers.registry import get_solver, solver_names

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
                spec = get_solver(solver)
                why = spec.applies_to(problem) if spec.applies_to is not None else None
                if why is not None:
                    notes.append(f"skipped {problem.name} × {solver}: {why}")
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
    stored = _json_roundtrip(SolveConfig.completed(run.config.get("config", {})))  # options added since: defaults
    wanted = _json_roundtrip(config.to_dict())
    diff = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
    if diff:
        raise RunError(f"{str(path)!r} holds a run made with other options ({', '.join(diff)} differ); "
                       f"use another --out or the same options")
    if run.status in FINISHED:
        return "done"
    return "resume" if (path / runs.CHECKPOINT).exists() else "restart"

