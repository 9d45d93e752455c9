"""One-coordinate problems (ODEs, 1-D boundary-value problems) and training histories."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .data import GridPrediction
from .style import figure, fmt_err, styled


@styled
def curve_figure(g: GridPrediction, title: str, reference: str = "reference",
                 per_field: dict | None = None) -> Figure:
    """Each field against its reference (top) and the absolute error on a log scale (bottom)."""
    coord = g.coords[0]
    x = g.axes[coord]
    fig = figure(6.4, 4.8)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
    for j, name in enumerate(g.fields):
        c = f"C{j}"
        top.plot(x, g.ref[:, j], color=c, lw=2.2, alpha=0.45, label=f"{name} {reference}")
        top.plot(x, g.pred[:, j], color=c, lw=1.0, ls="--", label=f"{name} prediction")
        err = (per_field or {}).get(name, {}).get("rel_l2")
        bottom.semilogy(x, np.maximum(g.error(j), 1e-16), color=c, lw=1.0,
                        label=f"{name} (rel L2 {fmt_err(err)})")
    top.set_ylabel(", ".join(g.fields))
    top.legend(frameon=False, ncols=2 if len(g.fields) > 1 else 1)
    top.set_title(title)
    bottom.set_xlabel(coord)
    bottom.set_ylabel("|prediction − reference|")
    bottom.legend(frameon=False)
    bottom.grid(True, which="major", alpha=0.3)
    return fig


def _column(history: list[dict], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = [r for r in history if isinstance(r.get(key), (int, float)) and r.get("phase") != "final"]
    return (np.array([r["step"] for r in rows], float), np.array([r["wall_s"] for r in rows], float),
            np.array([r[key] for r in rows], float))


def _lbfgs_start(history: list[dict]) -> tuple[float, float] | None:
    i = next((i for i, r in enumerate(history) if r.get("phase") == "lbfgs"), None)
    if i is None:
        return None
    # the switch happened at the last Adam row; the first L-BFGS row is logged a chunk of iterations later
    if i == 0:  # no Adam steps: L-BFGS from the start
        return 0.0, 0.0
    at = history[i - 1]
    return float(at["step"]), float(at["wall_s"])


ERRORS = (("rel_l2", "rel L2 error", "o-"), ("heldout_residual", "held-out residual RMS", "s--"))


@styled
def history_figure(history: list[dict], title: str, errors: tuple[tuple[str, str, str], ...] = ERRORS) -> Figure:
    """Loss terms (top) and the ``errors`` columns (key, label, style) below, against step (left) and wall time
    (right)."""
    fig = figure(10.0, 6.2)
    axes = fig.subplots(2, 2, sharex="col")
    terms = [k for k in (history[0] if history else {}) if k.startswith("loss")]
    boundary = _lbfgs_start(history)
    for col, (xi, xlabel) in enumerate(((0, "step (Adam steps, then L-BFGS iterations)"), (1, "wall time [s]"))):
        ax = axes[0, col]
        for k in terms:
            xs = _column(history, k)
            ok = xs[2] > 0
            ax.semilogy(xs[xi][ok], xs[2][ok], lw=1.5 if k == "loss" else 0.9, color="k" if k == "loss" else None,
                        label="total loss" if k == "loss" else k.removeprefix("loss_"))
        ax.set_ylabel("loss")
        ax.legend(frameon=False, fontsize=7)
        ax2 = axes[1, col]
        for k, label, style in errors:
            xs = _column(history, k)
            ok = xs[2] > 0
            if ok.any():
                ax2.semilogy(xs[xi][ok], xs[2][ok], style, ms=3, lw=1.0, label=label)
        ax2.set_xlabel(xlabel)
        ax2.set_ylabel("rel L2 error" + (" / residual RMS" if any("residual" in k for k, _, _ in errors) else ""))
        if ax2.get_legend_handles_labels()[0]:  # no evaluation yet: no legend (and no warning)
            ax2.legend(frameon=False, fontsize=7)
        for a in (ax, ax2):
            a.grid(True, which="major", alpha=0.3)
            if boundary is not None:
                a.axvline(boundary[xi], color="0.5", ls=":", lw=1.0)
        if boundary is not None:
            ax.text(boundary[xi], 1.0, " L-BFGS", transform=ax.get_xaxis_transform(), va="top", fontsize=7,
                    color="0.4")
    fig.suptitle(title)
    return fig


