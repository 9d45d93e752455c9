"""Figures for runs and comparisons (matplotlib, Agg): ``plot_run(run_dir)`` draws a run's figures.

Modules: ``fields`` (heat maps and slices for two-coordinate problems, planes at three times for
three-coordinate ones), ``curves`` (ODE and 1-D
curves, training histories), ``comparison`` (figures over many runs), ``node`` (neural-ODE runs).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..runs import load_run
from .style import check_format

FIGURES = "figures"


def run_title(report: dict | None, config: dict) -> str:
    """"problem — layer, solver, seed s: rel L2 e" from a run's report (or its config if unfinished)."""
    r = report or {}
    c = config.get("config", {})
    layer, solver, seed = r.get("layer", c.get("layer")), r.get("solver", c.get("solver")), r.get("seed", c.get("seed"))
    head = f"{r.get('problem', config.get('problem'))} — {layer}, {solver}, seed {seed}"
    err = r.get("rel_l2")
    return head + (f": rel L2 {err:.2e}" if isinstance(err, (int, float)) else "")


# figure kinds drawn by a module of their own (the solver's registration names the kind); "grid" is drawn here
OTHER_KINDS = {"node": (".node", "plot_node_run")}


def figure_kind(report: dict | None, config: dict) -> str:
    """How a run is drawn: its report's ``figure_kind``, else its registered solver's, else "grid"."""
    kind = (report or {}).get("figure_kind")
    if kind is None:
        from ..solvers.registry import find_solver
        spec = find_solver(str((report or {}).get("solver", config.get("config", {}).get("solver"))))
        kind = spec.figure_kind if spec is not None else "grid"
    return kind


def plot_run(run_dir: Path, fmt: str = "png") -> list[Path]:
    """(Re)draw a run's figures into ``run_dir/figures``; returns the files written."""
    from .curves import curve_figure, history_figure
    from .data import load_grid
    from .fields import field_figure, volume_figure
    from .style import save

    check_format(fmt)
    run = load_run(run_dir)
    run_dir = Path(run_dir)
    kind = figure_kind(run.report, run.config)
    if kind in OTHER_KINDS:
        module, function = OTHER_KINDS[kind]
        try:
            drawer = getattr(importlib.import_module(module, __package__), function)
        except ImportError:
            return []
        return list(drawer(run_dir, fmt))
    out_dir = run_dir / FIGURES
    title = run_title(run.report, run.config)
    written = []
    if run.history:
        written.append(save(history_figure(run.history, title), out_dir / f"history.{fmt}"))
        from .unknowns import unknown_names, unknowns_figure
        if unknown_names(run.history):  # an inverse run: the learned parameters' trajectories
            written.append(save(unknowns_figure(run.history, (run.report or {}).get("unknowns"), title),
                                out_dir / f"unknowns.{fmt}"))
    g = load_grid(run_dir)
    if g is not None:
        ref = (run.report or {}).get("reference") or "reference"
        ref = "exact" if ref == "exact solution" else "reference"
        per_field = (run.report or {}).get("per_field")
        if g.dim == 1:
            written.append(save(curve_figure(g, title, ref, per_field), out_dir / f"solution.{fmt}"))
        elif g.dim == 2:
            written.append(save(field_figure(g, title, ref, per_field), out_dir / f"solution.{fmt}"))
        elif g.dim == 3:
            written.append(save(volume_figure(g, title, ref, per_field), out_dir / f"solution.{fmt}"))
    return written


__all__ = ["plot_run", "run_title", "FIGURES"]
