"""Figures over many runs: error per layer kind / solver (seed spread), error vs wall time, error fields."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..solvers.registry import measures
from .data import GridPrediction, PointPrediction, load_grid
from .fields import orientation, tri_field, triangulation
from .style import ERROR_CMAP, figure, fmt_err, save, styled

MARKERS = "osD^v<>pP*Xh"
MAX_COLUMNS = 3  # panels per row of the per-problem figure; more problems wrap onto further rows


def _ok(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


def combo(row: dict[str, Any], solvers: Sequence[str]) -> str:
    """The label of a run's layer (and solver, when the grid has several)."""
    return f"{row['layer']}/{row['solver']}" if len(solvers) > 1 else str(row["layer"])


def _combos(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[str]]:
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    return list(dict.fromkeys(combo(r, solvers) for r in rows)), solvers  # grid order: --layers as given


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def expected_figures(out: Path, rows: Sequence[dict[str, Any]], fmt: str = "png") -> list[Path]:
    fig_dir = Path(out) / "figures"
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    return ([fig_dir / f"compare_rel_l2.{fmt}", fig_dir / f"compare_time.{fmt}"]
            + [fig_dir / f"compare_fields_{_slug(p)}.{fmt}" for p in problems])


@styled
def error_by_layer(rows: Sequence[dict[str, Any]]) -> Figure:
    """One panel per problem: rel L2 per layer kind / solver, a box over seeds and every seed as a dot."""
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    labels, solvers = _combos(rows)
    n = len(problems)
    ncols = min(n, MAX_COLUMNS)
    nrows = -(-n // ncols)
    fig = figure(min(3.0 + 2.6 * ncols, 16.0), 3.6 + 3.0 * (nrows - 1))
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = grid.ravel()[:n]
    for ax in grid.ravel()[n:]:
        ax.set_visible(False)
    rng = np.random.default_rng(0)  # fixed jitter: equal data draws equal figures
    for ax, prob in zip(axes, problems):
        cell = [[r for r in rows if r["problem"] == prob and combo(r, solvers) == lab and _ok(r["rel_l2"])]
                for lab in labels]
        data = [[r["rel_l2"] for r in c if r["status"] == "completed"] for c in cell]
        failed = [[r["rel_l2"] for r in c if r["status"] != "completed"] for c in cell]
        pos = [i for i, d in enumerate(data) if d]
        if pos:
            ax.boxplot([data[i] for i in pos], positions=pos, widths=0.5, showfliers=False,
                       medianprops={"color": "k"}, boxprops={"color": "0.5"}, whiskerprops={"color": "0.5"},
                       capprops={"color": "0.5"})
        for i, (d, f) in enumerate(zip(data, failed)):
            ax.scatter(i + rng.uniform(-0.12, 0.12, len(d)), d, s=18, color=f"C{i}", zorder=3,
                       edgecolors="k", linewidths=0.4)
            # runs that diverged or did not finish: their error is not a trained result, so apart from the box
            ax.scatter(i + rng.uniform(-0.12, 0.12, len(f)), f, s=28, color=f"C{i}", marker="x", zorder=3)
        ax.set_yscale("log")
        ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 3 else 0)
        ax.set_xlim(-0.6, len(labels) - 0.4)  # every label's slot, with or without a box in it
        ax.set_title(prob)
        ax.set_xlabel("layer kind" + (" / solver" if len(solvers) > 1 else ""))
        ax.grid(True, axis="y", which="major", alpha=0.3)
    for row in grid:
        row[0].set_ylabel("rel L2 error vs reference")
    n_seeds = max((sum(1 for r in rows if (r["problem"], combo(r, solvers)) == (p, c))
                   for p in problems for c in labels), default=0)
    how = "dots: one run each" if n_seeds <= 1 else f"box: spread over up to {n_seeds} seeds, dots: runs"
    if any(r["status"] != "completed" and _ok(r.get("rel_l2")) for r in rows):
        how += "; ×: diverged or unfinished"
    if len(set(measures(rows).values())) > 1:  # different measures on one axis: say so where it is read
        how += "; solvers' rel L2 are different measures (summary.md)"
    fig.suptitle(f"Relative L2 error per layer kind\n({how})")  # two lines: one panel is only 5.6 in wide
    return fig


@styled
def error_vs_time(rows: Sequence[dict[str, Any]]) -> Figure:
    """rel L2 against wall time, one point per run; colour = layer kind / solver, marker = problem."""
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    labels, solvers = _combos(rows)
    fig = figure(6.4, 4.4)
    ax = fig.subplots()
    for r in rows:
        if _ok(r.get("rel_l2")) and _ok(r.get("wall_s")):
            ax.scatter(r["wall_s"], r["rel_l2"], color=f"C{labels.index(combo(r, solvers))}",
                       marker=MARKERS[problems.index(r["problem"]) % len(MARKERS)], s=30, edgecolors="k",
                       linewidths=0.4, zorder=3)
    # colour entries as patches: a square marker would read as the problem drawn with squares
    handles = [Patch(facecolor=f"C{i}", edgecolor="k", linewidth=0.4, label=lab) for i, lab in enumerate(labels)]
    handles += [Line2D([], [], ls="", color="0.6", marker=MARKERS[j % len(MARKERS)], markeredgecolor="k",
                       markeredgewidth=0.4, label=prob) for j, prob in enumerate(problems)]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("wall time [s]")
    ax.set_ylabel("rel L2 error vs reference")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(handles=handles, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5),
              title="colour: layer kind" + (" / solver" if len(solvers) > 1 else "") + "\nmarker: problem")
    ax.set_title("Error against cost, one point per run")
    return fig


@styled
def error_fields(out: Path, rows: Sequence[dict[str, Any]], problem: str) -> Figure | None:
    """One panel per layer kind / solver for ``problem`` at its lowest seed: the pointwise error, on one scale."""
    labels, solvers = _combos(rows)
    mine = [r for r in rows if r["problem"] == problem and r["status"] in ("completed", "diverged")]
    if not mine:
        return None
    seed = min(r["seed"] for r in mine)
    panels: list[tuple[str, dict, GridPrediction | PointPrediction]] = []
    for lab in labels:
        r = next((r for r in mine if r["seed"] == seed and combo(r, solvers) == lab), None)
        g = load_grid(Path(out) / r["run"]) if r is not None else None
        if isinstance(g, PointPrediction) and g.triangles is None:
            g = None  # scattered points with no triangulation (a 3-D domain): nothing to draw the field on
        if g is not None and g.dim in (1, 2, 3):
            panels.append((lab, r, g))
    if not panels:
        return None
    n, dim = len(panels), panels[0][2].dim
    fields = panels[0][2].fields
    what = f"|{fields[0]} − {fields[0]}_ref|" if len(fields) == 1 else f"‖error‖ over ({', '.join(fields)})"
    at = ""
    if isinstance(panels[0][2], PointPrediction):
        fig, at = _point_error_fields(panels, what)
    elif dim == 1:
        fig = figure(min(2.0 + 3.2 * n, 16.0), 3.2)
        axes = fig.subplots(1, n, squeeze=False, sharey=True)[0]
        for ax, (lab, r, g) in zip(axes, panels):
            x = g.axes[g.coords[0]]
            ax.semilogy(x, np.maximum(g.error_norm(), 1e-16), color="C3", lw=1.0)
            ax.set_xlabel(g.coords[0])
            ax.set_title(f"{lab}: rel L2 {fmt_err(r['rel_l2'])}")
            ax.grid(True, which="major", alpha=0.3)
        axes[0].set_ylabel(what)
    else:
        coords = panels[0][2].coords
        if dim == 3:  # the plane at the last t (or last value of the last coordinate): where errors have grown
            fixed = "t" if "t" in coords else coords[-1]
            at = f" at {fixed} = {panels[0][2].axes[fixed][-1]:.3g}"
            horiz, vert = [c for c in coords if c != fixed]
        else:
            horiz, vert = orientation(coords)
        arrays = []
        for _, _, g in panels:
            arr = g.grid(g.error_norm())
            if dim == 3:
                arrays.append(np.take(arr, -1, axis=coords.index(fixed)).T)  # (vert, horiz)
            else:
                arrays.append(arr if g.coords.index(vert) == 0 else arr.T)
        vmax = max(float(a.max()) for a in arrays) or 1.0
        fig = figure(min(1.5 + 3.2 * n, 17.0), 3.3)
        axes = fig.subplots(1, n, squeeze=False)[0]
        mesh = None
        for ax, (lab, r, g), arr in zip(axes, panels, arrays):
            mesh = ax.pcolormesh(g.axes[horiz], g.axes[vert], arr, cmap=ERROR_CMAP, vmin=0.0, vmax=vmax,
                                 shading="auto", rasterized=True)
            ax.set_xlabel(horiz)
            ax.set_ylabel(vert)
            if "t" not in g.coords:
                ax.set_aspect("equal")
            ax.set_title(f"{lab}: rel L2 {fmt_err(r['rel_l2'])}")
        fig.colorbar(mesh, ax=list(axes), label=what, shrink=0.9)
    fig.suptitle(f"{problem}: pointwise error per layer kind{at} (seed {seed}, shared scale)")
    return fig


def _point_error_fields(panels: Sequence[tuple[str, dict, PointPrediction]], what: str) -> tuple[Figure, str]:
    """Non-box domains: the error on each run's triangulated evaluation points (boundary drawn, holes blank),
    in space × time at the last time, where errors have grown."""
    errors, at = [], ""
    for _, _, g in panels:
        e = g.error_norm()
        if g.times is not None:
            e = g.at_time(e, len(g.times) - 1)
            at = f" at t = {g.times[-1]:.3g}"
        errors.append(e)
    vmax = max(float(e.max()) for e in errors) or 1.0
    n = len(panels)
    fig = figure(min(1.5 + 3.2 * n, 17.0), 3.3)
    axes = fig.subplots(1, n, squeeze=False)[0]
    mesh = None
    for ax, (lab, r, g), e in zip(axes, panels, errors):
        mesh = tri_field(ax, g, e, ERROR_CMAP, 0.0, vmax, triangulation(g))
        ax.set_title(f"{lab}: rel L2 {fmt_err(r['rel_l2'])}")
    fig.colorbar(mesh, ax=list(axes), label=what, shrink=0.9)
    return fig, at


def comparison_figures(out: Path, rows: Sequence[dict[str, Any]], fmt: str = "png") -> list[Path]:
    """Draw every comparison figure into ``out/figures``; returns the files written."""
    fig_dir = Path(out) / "figures"
    written = [save(error_by_layer(rows), fig_dir / f"compare_rel_l2.{fmt}"),
               save(error_vs_time(rows), fig_dir / f"compare_time.{fmt}")]
    for prob in dict.fromkeys(r["problem"] for r in rows):
        fig = error_fields(out, rows, prob)
        if fig is not None:
            written.append(save(fig, fig_dir / f"compare_fields_{_slug(prob)}.{fmt}"))
    return written
