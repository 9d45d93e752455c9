"""Figures of a neural-ODE run: trajectories, phase portraits and the learned vector field.

Reads the run's predictions.npz (kind "node"): true and learned trajectories per initial
state, the observations trained on, the end of the training window, and for 2-D systems the
true and learned vector field on a grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ..runs import load_run
from .data import load_predictions
from .style import check_format, figure, fmt_err, save, styled

SHOWN = 3  # trajectories drawn in the time plots: the problem's own and two perturbed ones
PHASE_SHOWN = 4  # and in the phase portraits (more overlap into a tangle on spirals)
# the history's error panel: the errors a node run measures (trajectories on both windows, the field itself)
ERRORS = (("rel_l2", "rel L2, training window", "o-"), ("rel_l2_extrapolation", "rel L2, extrapolation", "^-"),
          ("vector_field_rel_l2", "vector field rel L2 (held-out states)", "s--"))


def load_node(run_dir: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a node run's predictions.npz, or None when there are none (unfinished run)."""
    return load_predictions(run_dir, "node")


def _title(report: dict | None, problem: str) -> str:
    r = report or {}
    # two lines: one would be cut off by the narrower figures
    return (f"{r.get('problem', problem)} — neural ODE ({r.get('layer', '?')}, seed {r.get('seed', '?')})\n"
            f"rel L2 training window {fmt_err(r.get('rel_l2'))}, "
            f"extrapolation {fmt_err(r.get('rel_l2_extrapolation'))}")


def _window(ax, t_end: float, t_max: float) -> None:
    ax.axvspan(t_end, t_max, color="0.92", zorder=0)
    ax.axvline(t_end, color="0.5", ls=":", lw=1.0)


@styled
def trajectory_figure(d: dict[str, np.ndarray], title: str) -> Figure:
    """Each state component against time, truth vs learned, the extrapolation window shaded; errors below."""
    names, t, t_end = [str(n) for n in d["fields"]], d["times"], float(d["t_train_end"])
    n, shown = len(names), min(SHOWN, len(d["true"]))
    fig = figure(7.0, 1.9 * n + 1.9)
    axes = fig.subplots(n + 1, 1, sharex=True, height_ratios=[2] * n + [1.6])
    for j, name in enumerate(names):
        ax = axes[j]
        _window(ax, t_end, t[-1])
        for i in range(shown):
            c = f"C{i}"
            ax.plot(t, d["true"][i, :, j], color=c, lw=2.4, alpha=0.4, label="truth" if i == 0 else None)
            ax.plot(t, d["pred"][i, :, j], color=c, lw=1.0, ls="--", label="learned" if i == 0 else None)
        ax.plot(d["obs_t"][0], d["obs"][0, :, j], ".", color="C0", ms=2.5, alpha=0.7,
                label="observations (trajectory 0)")
        ax.set_ylabel(name)
        if j == 0:
            ax.legend(frameon=False, ncols=3, loc="lower left", bbox_to_anchor=(0, 1.0), borderaxespad=0.2)
    ax = axes[-1]
    _window(ax, t_end, t[-1])
    for i in range(shown):
        err = np.sqrt(((d["pred"][i, 1:] - d["true"][i, 1:]) ** 2).sum(axis=1))  # t0 is exact
        ax.semilogy(t[1:], np.maximum(err, 1e-12), color=f"C{i}", lw=1.0, label=f"trajectory {i}")
    for x, text, ha in ((t_end, "training window  ", "right"), (t_end, "  extrapolation", "left")):
        ax.text(x, 0.04, text, transform=ax.get_xaxis_transform(), ha=ha, va="bottom", fontsize=7, color="0.35")
    ax.set_ylabel("|learned − truth|")
    ax.set_xlabel("t")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(frameon=False, ncols=shown, fontsize=7, loc="upper left")
    fig.suptitle(title)
    return fig


@styled
def phase_figure(d: dict[str, np.ndarray], title: str) -> Figure:
    """Phase portraits (state pairs) of the first training trajectories: truth vs learned over the whole span."""
    names = [str(n) for n in d["fields"]]
    pairs = [(0, 1)] if len(names) == 2 else [(0, 1), (0, 2), (1, 2)]
    fig = figure(4.6 * len(pairs), 4.4)
    axes = np.atleast_1d(fig.subplots(1, len(pairs)))
    train = d["times"] <= float(d["t_train_end"])
    end = int(np.flatnonzero(train)[-1])
    shown = min(PHASE_SHOWN, len(d["true"]))
    for ax, (a, b) in zip(axes, pairs):
        for i in range(shown):
            c = f"C{i % 10}"
            ax.plot(d["true"][i, :, a], d["true"][i, :, b], color=c, lw=2.4, alpha=0.35,
                    label="truth" if i == 0 else None)
            ax.plot(d["pred"][i, train, a], d["pred"][i, train, b], color=c, lw=0.9,
                    label="learned (training window)" if i == 0 else None)
            ax.plot(d["pred"][i, ~train, a], d["pred"][i, ~train, b], color=c, lw=0.9, ls="--",
                    label="learned (extrapolation)" if i == 0 else None)
            ax.plot(d["true"][i, 0, a], d["true"][i, 0, b], "o", color=c, ms=3,
                    label="initial state" if i == 0 else None)
            ax.plot(d["true"][i, end, a], d["true"][i, end, b], "x", color=c, ms=5, mew=1.2,
                    label="end of training window (truth)" if i == 0 else None)
        ax.set_xlabel(names[a])
        ax.set_ylabel(names[b])
        ax.set_title(f"{shown} of {len(d['true'])} training trajectories", fontsize=8)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2 if len(pairs) == 1 else 5,
               frameon=False,
               fontsize=7)  # below the axes: inside, it covers orbits
    fig.suptitle(title)
    return fig


@styled
def vector_field_figure(d: dict[str, np.ndarray], title: str, report: dict | None = None) -> Figure:
    """True and learned vector field (streamlines over |F|) and the error |f_θ − F| on the grid."""
    names = [str(n) for n in d["fields"]]
    x, y, true, pred = d["vf_x"], d["vf_y"], d["vf_true"], d["vf_pred"]
    fig = figure(13.0, 4.2)
    axes = fig.subplots(1, 3)
    speed = np.sqrt((true ** 2).sum(axis=-1))
    vmax = float(speed.max())
    for ax, field, label in ((axes[0], true, "true F(y)"), (axes[1], pred, "learned f_θ(y)")):
        mag = np.sqrt((field ** 2).sum(axis=-1))
        im = ax.pcolormesh(x, y, mag.T, shading="gouraud", cmap="Blues", vmin=0, vmax=vmax)
        ax.streamplot(x, y, field[..., 0].T, field[..., 1].T, color="k", linewidth=0.6, density=1.0, arrowsize=0.7)
        ax.set_title(label)
        fig.colorbar(im, ax=ax, label="|field|")
    err = np.sqrt(((pred - true) ** 2).sum(axis=-1))
    im = axes[2].pcolormesh(x, y, np.maximum(err, 1e-6 * vmax).T, shading="gouraud", cmap="magma",
                            norm=LogNorm())
    for i in range(len(d["true"])):
        axes[2].plot(d["true"][i, :, 0], d["true"][i, :, 1], color="w", lw=0.6, alpha=0.7,
                     label="training trajectories" if i == 0 else None)
    fig.colorbar(im, ax=axes[2], label="|f_θ − F|")
    vf = (report or {}).get("vector_field_rel_l2")
    on_grid = float(np.sqrt((err ** 2).sum() / (true ** 2).sum()))  # the map's own figure; the report's is elsewhere
    axes[2].set_title(f"error, rel L2 {fmt_err(on_grid)} on this grid\n({fmt_err(vf)} on held-out trajectories' states)")
    axes[2].legend(fontsize=7, labelcolor="w", loc="upper right", facecolor="0.15", edgecolor="none",
                   framealpha=0.85)  # a dark box: the error map is bright where the text would sit
    for ax in axes:
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(y[0], y[-1])
    fig.suptitle(title)
    return fig


def plot_node_run(run_dir: Path, fmt: str = "png") -> list[Path]:
    """Draw a node run's figures into ``run_dir/figures``; returns the files written (none if unfinished)."""
    from .curves import history_figure

    check_format(fmt)
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    out_dir = run_dir / "figures"
    title = _title(run.report, run.config.get("problem", "?"))
    written = []
    if run.history:
        written.append(save(history_figure(run.history, title, ERRORS), out_dir / f"history.{fmt}"))
    d = load_node(run_dir)
    if d is None:
        return written
    written.append(save(trajectory_figure(d, title), out_dir / f"trajectories.{fmt}"))
    if len(d["fields"]) in (2, 3):
        written.append(save(phase_figure(d, title), out_dir / f"phase.{fmt}"))
    if "vf_true" in d:
        written.append(save(vector_field_figure(d, title, run.report), out_dir / f"vector_field.{fmt}"))
    return written
