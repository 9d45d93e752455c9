"""Inverse runs: each unknown parameter's trajectory during training, against its true value."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .style import figure, styled

PREFIX = "param_"


def unknown_names(history: list[dict]) -> list[str]:
    """The unknowns a history tracks (its ``param_<name>`` columns), in column order."""
    names: list[str] = []
    for row in history:
        names += [k.removeprefix(PREFIX) for k in row if k.startswith(PREFIX) and k.removeprefix(PREFIX) not in names]
    return names


@styled
def unknowns_figure(history: list[dict], unknowns: dict | None, title: str) -> Figure:
    """Per unknown: its value against step (top, the truth dashed) and its relative error on a log scale
    (bottom), where the truth is known."""
    names = unknown_names(history)
    report = unknowns or {}
    width = max(4.0, 3.4 * len(names))
    fig = figure(width, 5.2)
    axes = np.atleast_2d(fig.subplots(2, len(names), sharex=True, squeeze=False))
    for j, name in enumerate(names):
        rows = [r for r in history if isinstance(r.get(PREFIX + name), (int, float))]
        steps = np.array([r["step"] for r in rows], float)
        values = np.array([r[PREFIX + name] for r in rows], float)
        top, bottom = axes[0, j], axes[1, j]
        info = report.get(name, {}) if isinstance(report.get(name), dict) else {}
        if isinstance(info.get("guess"), (int, float)) and (not len(steps) or steps[0] > 0):  # where it started
            steps, values = np.r_[0.0, steps], np.r_[info["guess"], values]
        top.plot(steps, values, "o-", ms=2.5, lw=1.0, color="C0", label="learned")
        true = info.get("true")
        if isinstance(true, (int, float)):
            top.axhline(true, color="k", ls="--", lw=1.0, label=f"true {true:.4g}")
            err = np.abs(values - true) / (abs(true) if true else 1.0)
            ok = err > 0
            bottom.semilogy(steps[ok], err[ok], "o-", ms=2.5, lw=1.0, color="C3")
            learned = info.get("learned")
            if isinstance(learned, (int, float)):
                top.set_title(f"{name}: {learned:.5g} (rel error {info.get('rel_error', float('nan')):.1e})",
                              fontsize=9)
        else:
            bottom.text(0.5, 0.5, "no true value", ha="center", va="center", transform=bottom.transAxes)
            top.set_title(name, fontsize=9)
        top.set_ylabel(name)
        top.legend(frameon=False, fontsize=7)
        bottom.set_ylabel("relative error")
        bottom.set_xlabel("step (Adam, then L-BFGS)")
        for a in (top, bottom):
            a.grid(True, which="major", alpha=0.3)
    fig.suptitle(title if width >= 7 else title.replace(" — ", "\n", 1))  # a one-panel figure is too narrow for one line
    return fig
