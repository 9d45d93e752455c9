"""Shared figure settings: the Agg backend, one look for every figure, and atomic saving."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")  # files only: never needs a display, safe in worker processes

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import ScalarFormatter  # noqa: E402

from ..errors import ConfigError, one_of  # noqa: E402
from ..runs import atomic_write  # noqa: E402

DPI = 170
FORMATS = ("png", "pdf")
RC = {
    "font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.grid": False, "figure.dpi": DPI,
    "savefig.dpi": DPI, "image.cmap": "viridis",
}
FIELD_CMAP, ERROR_CMAP = "viridis", "magma"
P, R = ParamSpec("P"), TypeVar("R")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError(one_of("figure format", fmt, FORMATS))
    return fmt


def styled(fn: Callable[P, R]) -> Callable[P, R]:
    """Draw inside pinnlab's rc settings (fonts are fixed when each text is created)."""
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with plt.rc_context(RC):
            return fn(*args, **kwargs)
    return wrapper


def figure(width: float, height: float) -> Figure:
    """A constrained-layout figure, size in inches."""
    return plt.figure(figsize=(width, height), layout="constrained")


def readable_log_axes(fig: Figure) -> None:
    """Make every log axis that spans less than a decade linear: matplotlib labels such an axis by its
    minor ticks only, and their long labels (4.4x10^-1, 4.45x10^-1, ...) run into each other."""
    for ax in fig.axes:
        for axis, get_lim, set_scale in ((ax.xaxis, ax.get_xlim, ax.set_xscale), (ax.yaxis, ax.get_ylim, ax.set_yscale)):
            lo, hi = sorted(get_lim())
            if axis.get_scale() == "log" and lo > 0 and hi / lo < 10.0:
                set_scale("linear")
                ax.relim()
                ax.autoscale_view()
                axis.set_major_formatter(ScalarFormatter(useMathText=True))
                axis.get_major_formatter().set_powerlimits((-2, 3))


def save(fig: Figure, path: Path) -> Path:
    """Write the figure atomically (metadata without dates, so redrawing equal data gives equal bytes)."""
    readable_log_axes(fig)
    buf = io.BytesIO()
    fmt = path.suffix.lstrip(".")
    meta = {"Software": None} if fmt == "png" else {"Creator": None, "Producer": None, "CreationDate": None}
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=meta)
    plt.close(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buf.getvalue())
    return path


def fmt_err(v: float | None) -> str:
    return "n/a" if v is None or v != v else f"{v:.2e}"
