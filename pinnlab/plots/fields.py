"""Fields on a grid: heat maps and slices for two-coordinate problems (1-D + time, 2-D space), planes for three;
on a non-box domain, triangulated fields with the boundary drawn and holes left blank."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .data import GridPrediction, PointPrediction
from .style import ERROR_CMAP, FIELD_CMAP, figure, fmt_err, styled


def orientation(coords: list[str]) -> tuple[str, str]:
    """(horizontal, vertical) coordinate of a heat map: time runs left to right, else x then y."""
    if "t" in coords:
        other = next(c for c in coords if c != "t")
        return "t", other
    return coords[0], coords[1]


def slice_axes(coords: list[str]) -> tuple[str, str]:
    """(coordinate held fixed per slice, coordinate along the curve): t-slices, else slices in the last one."""
    fixed = "t" if "t" in coords else coords[-1]
    return fixed, next(c for c in coords if c != fixed)


def on_grid(g: GridPrediction, values: np.ndarray, horiz: str, vert: str) -> np.ndarray:
    """Values as a (len(vert), len(horiz)) array for pcolormesh."""
    arr = g.grid(values)
    return arr if g.coords.index(vert) == 0 else arr.T


def heat(ax: Axes, fig: Figure, g: GridPrediction, values: np.ndarray, title: str, cmap: str,
         vmin: float, vmax: float, label: str, colorbar: bool = True):
    horiz, vert = orientation(g.coords)
    mesh = ax.pcolormesh(g.axes[horiz], g.axes[vert], on_grid(g, values, horiz, vert), cmap=cmap,
                         vmin=vmin, vmax=vmax, shading="auto", rasterized=True)
    ax.set_xlabel(horiz)
    ax.set_ylabel(vert)
    ax.set_title(title)
    if "t" not in g.coords:
        ax.set_aspect("equal")
    if colorbar:
        fig.colorbar(mesh, ax=ax, label=label, shrink=0.9)
    return mesh


TIME_SLICES = (0.0, 1 / 3, 2 / 3, 1.0)
# Spatial slices avoid the edges (boundary values are imposed) and any two positions a half or whole
# domain apart or mirrored about its middle, which periodic or symmetric solutions make coincide.
SPACE_SLICES = (0.1, 0.35, 0.55, 0.8)


def slice_indices(n: int, fixed: str = "t") -> list[int]:
    """Grid indices of the slices along the ``fixed`` coordinate (of ``n`` grid values)."""
    fractions = TIME_SLICES if fixed == "t" else SPACE_SLICES
    return sorted({int(round(q * (n - 1))) for q in fractions})


@styled
def field_figure(g: GridPrediction | PointPrediction, title: str, reference: str = "reference",
                 per_field: dict | None = None) -> Figure:
    """One row per field: prediction | reference | |error| heat maps, and slices against the reference
    (triangulated fields on a non-box domain)."""
    if isinstance(g, PointPrediction):
        return _point_figure(g, title, reference, per_field)
    nf = len(g.fields)
    fig = figure(13.0, 2.9 * nf + 0.4)
    axes = fig.subplots(nf, 4, squeeze=False)
    fixed, along = slice_axes(g.coords)
    for j, name in enumerate(g.fields):
        p, r, e = g.pred[:, j], g.ref[:, j], g.error(j)
        lo, hi = float(min(p.min(), r.min())), float(max(p.max(), r.max()))
        err_j = (per_field or {}).get(name, {}).get("rel_l2")
        heat(axes[j, 0], fig, g, p, f"prediction {name}", FIELD_CMAP, lo, hi, name, colorbar=False)
        mesh = heat(axes[j, 1], fig, g, r, f"{reference} {name}", FIELD_CMAP, lo, hi, name, colorbar=False)
        # one scale for both panels, named above it: a label at its side would sit by the next panel's axis label
        fig.colorbar(mesh, ax=axes[j, :2], shrink=0.9).ax.set_title(name, fontsize=9)
        heat(axes[j, 2], fig, g, e, f"|error| {name} (rel L2 {fmt_err(err_j)})", ERROR_CMAP, 0.0,
             float(e.max()) or 1.0, f"|{name} − {name}_ref|")
        draw_slices(axes[j, 3], g, j, fixed, along, reference)
    fig.suptitle(title)
    return fig


def draw_slices(ax: Axes, g: GridPrediction, j: int, fixed: str, along: str, reference: str = "reference") -> None:
    pred, ref = g.grid(g.pred[:, j]), g.grid(g.ref[:, j])
    k = g.coords.index(fixed)
    xs = g.axes[along]
    for n, i in enumerate(slice_indices(len(g.axes[fixed]), fixed)):
        c = f"C{n}"  # a prediction in its reference's colour, so a misfit shows at which slice it is
        ax.plot(xs, np.take(ref, i, axis=k), color=c, lw=1.6, alpha=0.55, label=f"{fixed} = {g.axes[fixed][i]:.3g}")
        ax.plot(xs, np.take(pred, i, axis=k), color=c, lw=1.1, ls="--")
    ax.plot([], [], color="0.3", lw=1.6, alpha=0.55, label=reference)
    ax.plot([], [], color="0.3", lw=1.1, ls="--", label="prediction")
    ax.set_xlabel(along)
    ax.set_ylabel(g.fields[j])
    ax.set_title(f"{g.fields[j]} at fixed {fixed} (dashed: prediction)")
    ax.legend(loc="best", frameon=False, fontsize=7)


@styled
def volume_figure(g: GridPrediction | PointPrediction, title: str, reference: str = "reference",
                  per_field: dict | None = None) -> Figure:
    """Three-coordinate problems: prediction | reference | |error| over the two other coordinates at
    three values of t (or of the last coordinate), one scale per field across the rows."""
    if isinstance(g, PointPrediction):
        return _point_figure(g, title, reference, per_field)
    fixed = "t" if "t" in g.coords else g.coords[-1]
    k = g.coords.index(fixed)
    horiz, vert = [c for c in g.coords if c != fixed]
    picks = sorted({int(round(q * (len(g.axes[fixed]) - 1))) for q in ((0.0, 0.5, 1.0) if fixed == "t" else
                                                                          (0.1, 0.5, 0.9))})
    rows = [(j, i) for j in range(len(g.fields)) for i in picks]
    fig = figure(11.0, 2.9 * len(rows) + 0.4)
    axes = fig.subplots(len(rows), 3, squeeze=False)
    for r, (j, i) in enumerate(rows):
        name = g.fields[j]
        pred, ref, err = (np.take(g.grid(v), i, axis=k).T for v in (g.pred[:, j], g.ref[:, j], g.error(j)))
        lo, hi = float(min(g.pred[:, j].min(), g.ref[:, j].min())), float(max(g.pred[:, j].max(), g.ref[:, j].max()))
        at = f"{fixed} = {g.axes[fixed][i]:.3g}"
        err_j = (per_field or {}).get(name, {}).get("rel_l2")
        for c, (values, what, cmap, vmin, vmax) in enumerate((
                (pred, f"prediction {name}", FIELD_CMAP, lo, hi), (ref, f"{reference} {name}", FIELD_CMAP, lo, hi),
                (err, f"|error| {name}", ERROR_CMAP, 0.0, float(g.error(j).max()) or 1.0))):
            ax = axes[r, c]
            mesh = ax.pcolormesh(g.axes[horiz], g.axes[vert], values, cmap=cmap, vmin=vmin, vmax=vmax,
                                 shading="auto", rasterized=True)
            ax.set_title(f"{what}, {at}" + (f" (rel L2 {fmt_err(err_j)} overall)" if c == 2 and r % len(picks) == 0
                                           else ""), fontsize=8.5)
            ax.set_xlabel(horiz)
            ax.set_ylabel(vert)
            ax.set_aspect("equal")
            if c >= 1:  # prediction and reference share the reference panel's bar
                fig.colorbar(mesh, ax=ax, shrink=0.9).ax.set_title(name if c == 1 else f"|{name} − ref|", fontsize=8)
    fig.suptitle(title)
    return fig


# -- non-box domains: fields on a triangulation of the evaluation points ------------------------------

def triangulation(g: PointPrediction):
    from matplotlib.tri import Triangulation
    pts = g.points[: g.n_space]
    return Triangulation(pts[:, 0], pts[:, 1], g.triangles)


def tri_field(ax: Axes, g: PointPrediction, values: np.ndarray, cmap: str, vmin: float, vmax: float, tri=None):
    """``values`` at the spatial points drawn on their triangles (none in a hole), the boundary in black."""
    mesh = ax.tripcolor(tri if tri is not None else triangulation(g), values, shading="gouraud", cmap=cmap,
                        vmin=vmin, vmax=vmax, rasterized=True)
    if g.outline is not None and len(g.outline):
        ax.plot(g.outline[:, 0], g.outline[:, 1], color="black", lw=0.7)
    space = [c for c in g.coords if c != "t"]
    ax.set_xlabel(space[0])
    ax.set_ylabel(space[1])
    ax.set_aspect("equal")
    return mesh


@styled
def _point_figure(g: PointPrediction, title: str, reference: str = "reference",
                  per_field: dict | None = None) -> Figure:
    """prediction | reference | |error| per field (and, in space × time, at the first, middle and last time)."""
    if g.triangles is None or len([c for c in g.coords if c != "t"]) != 2:
        raise ValueError("triangulated figures need a 2-D spatial domain with triangles")
    times = [None] if g.times is None else sorted({0, len(g.times) // 2, len(g.times) - 1})
    rows = [(j, k) for j in range(len(g.fields)) for k in times]
    fig = figure(11.0, 3.1 * len(rows) + 0.4)
    axes = fig.subplots(len(rows), 3, squeeze=False)
    tri = triangulation(g)
    for r, (j, k) in enumerate(rows):
        name = g.fields[j]
        cut = (lambda v: v) if k is None else (lambda v, k=k: g.at_time(v, k))
        p, ref, err = cut(g.pred[:, j]), cut(g.ref[:, j]), cut(g.error(j))
        lo, hi = float(min(g.pred[:, j].min(), g.ref[:, j].min())), float(max(g.pred[:, j].max(), g.ref[:, j].max()))
        at = "" if k is None else f", t = {g.times[k]:.3g}"
        err_j = (per_field or {}).get(name, {}).get("rel_l2")
        tri_field(axes[r, 0], g, p, FIELD_CMAP, lo, hi, tri).axes.set_title(f"prediction {name}{at}")
        mesh = tri_field(axes[r, 1], g, ref, FIELD_CMAP, lo, hi, tri)
        axes[r, 1].set_title(f"{reference} {name}{at}")
        fig.colorbar(mesh, ax=axes[r, :2], shrink=0.9).ax.set_title(name, fontsize=9)
        emesh = tri_field(axes[r, 2], g, err, ERROR_CMAP, 0.0, float(g.error(j).max()) or 1.0, tri)
        axes[r, 2].set_title(f"|error| {name}{at}" + (f" (rel L2 {fmt_err(err_j)})" if r % len(times) == 0 else ""))
        fig.colorbar(emesh, ax=axes[r, 2], shrink=0.9).ax.set_title(f"|{name} − ref|", fontsize=8)
    fig.suptitle(title)
    return fig
