"""Figures: a run's figures and a compare folder's figures are valid images of the size the figure
code asks for; `pinnlab plot` redraws them byte for byte; compare redraws nothing when nothing changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from pinnlab import runner
from pinnlab.compare import compare
from pinnlab.config import SolveConfig
from pinnlab.plots import plot_run
from pinnlab.plots.style import DPI

CFG = dict(width=8, depth=2, steps=12, lbfgs_steps=2, points=40, boundary_points=6, eval_every=4)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels of a PNG, read through matplotlib (raises on a broken file)."""
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert img.std() > 0.01  # not a blank canvas
    return img.shape[1], img.shape[0]


def inches(width: float, height: float) -> tuple[int, int]:
    return round(width * DPI), round(height * DPI)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plots")
    for name in ("decay", "heat1d"):
        runner.solve(name, SolveConfig(layer="tanh", **CFG), out=root / name)
    return root


def test_one_coordinate_run_draws_curves_and_history(runs_dir):
    written = plot_run(runs_dir / "decay")
    names = sorted(p.name for p in written)
    assert names == ["history.png", "solution.png"]
    assert png_size(runs_dir / "decay" / "figures" / "solution.png") == inches(6.4, 4.8)
    assert png_size(runs_dir / "decay" / "figures" / "history.png") == inches(10.0, 6.2)


def test_two_coordinate_run_draws_heat_maps(runs_dir):
    plot_run(runs_dir / "heat1d")
    assert png_size(runs_dir / "heat1d" / "figures" / "solution.png") == inches(13.0, 2.9 + 0.4)


def test_three_coordinate_run_draws_planes_at_three_times_on_a_coarser_grid(tmp_path):
    import math

    import torch

    import pinnlab as pl
    problem = pl.Problem(name="heat2d", domain=pl.Box(x=(0.0, 1.0), y=(0.0, 1.0), t=(0.0, 0.5)), fields=("u",),
                         residual=lambda f, p: f.u.t - 0.1 * (f.u.xx + f.u.yy),
                         conditions=[pl.Dirichlet(u=0.0, on="x"), pl.Dirichlet(u=0.0, on="y")],
                         exact=lambda x, y, t: torch.exp(-0.2 * math.pi**2 * t) * torch.sin(math.pi * x)
                         * torch.sin(math.pi * y))
    assert problem.grid_sizes == {"x": 41, "y": 41, "t": 41}  # 101^3 would be a million points
    runner.solve(problem, SolveConfig(**CFG), out=tmp_path / "run")
    assert sorted(p.name for p in plot_run(tmp_path / "run")) == ["history.png", "solution.png"]
    assert png_size(tmp_path / "run" / "figures" / "solution.png") == inches(11.0, 3 * 2.9 + 0.4)


def test_cli_plot_redraws_the_same_bytes(runs_dir, run_cli):
    figs = runs_dir / "heat1d" / "figures"
    plot_run(runs_dir / "heat1d")
    before = {p.name: digest(p) for p in figs.iterdir()}
    for p in figs.iterdir():
        p.unlink()
    rc, out, err = run_cli(["plot", str(runs_dir / "heat1d")])
    assert rc == 0, err
    assert sorted(Path(line).name for line in out.split()) == sorted(before)
    assert {p.name: digest(p) for p in figs.iterdir()} == before


def test_cli_plot_pdf(runs_dir, run_cli):
    rc, out, err = run_cli(["plot", str(runs_dir / "decay"), "--format", "pdf"])
    assert rc == 0, err
    pdfs = sorted((runs_dir / "decay" / "figures").glob("*.pdf"))
    assert [p.name for p in pdfs] == ["history.pdf", "solution.pdf"]
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)


@pytest.mark.parametrize("args, match", [(["--format", "svg"], "svg"), ([], "neither a pinnlab run")])
def test_cli_plot_bad_input(tmp_path, runs_dir, run_cli, args, match):
    target = runs_dir / "decay" if args else tmp_path
    rc, _, err = run_cli(["plot", str(target), *args])
    assert rc == 2 and match in err and len(err.strip().splitlines()) == 1


def test_compare_figures_sizes_and_redraw(tmp_path, run_cli):
    out = tmp_path / "cmp"
    comp = compare(["heat1d"], ["tanh", "sine"], seeds=1, config=SolveConfig(**CFG), out=out, progress=False)
    figs = out / "figures"
    assert sorted(p.name for p in figs.iterdir()) == ["compare_fields_heat1d.png", "compare_rel_l2.png",
                                                      "compare_time.png"]
    assert png_size(figs / "compare_rel_l2.png") == inches(3.0 + 2.6, 3.6)
    w, h = png_size(figs / "compare_time.png")
    assert h == inches(6.4, 4.4)[1] and w == inches(6.4, 4.4)[0]
    assert png_size(figs / "compare_fields_heat1d.png") == inches(1.5 + 3.2 * 2, 3.3)
    for run in comp.runs:
        assert {p.name for p in (run / "figures").iterdir()} == {"history.png", "solution.png"}
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    compare(["heat1d"], ["tanh", "sine"], seeds=1, config=SolveConfig(**CFG), out=out, progress=False)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == mtimes  # nothing redrawn
    before = {p.name: digest(p) for p in figs.iterdir()}
    rc, stdout, err = run_cli(["plot", str(out)])  # a compare folder: its comparison figures
    assert rc == 0, err
    assert sorted(Path(line).name for line in stdout.split()) == sorted(before)
    assert {p.name: digest(p) for p in figs.iterdir()} == before


def test_many_problems_wrap_onto_rows_in_grid_order(tmp_path):
    """Four problems: two rows of at most three panels; the layer kinds keep the order they were given."""
    from pinnlab.plots.comparison import error_by_layer, error_vs_time
    from pinnlab.plots.style import save

    rows = [{"problem": f"p{i}", "layer": k, "solver": "pinn", "seed": s, "status": "completed",
             "rel_l2": 10.0 ** -(i + s + 1), "wall_s": 1.0 + i + s}
            for i in range(4) for k in ("tanh", "sine") for s in range(2)]
    fig = error_by_layer(rows)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4
    assert [t.get_text() for t in visible[0].get_xticklabels()] == ["tanh", "sine"]
    assert all(ax.get_yscale() == "log" for ax in visible)
    assert png_size(save(fig, tmp_path / "wrap.png")) == inches(3.0 + 2.6 * 3, 3.6 + 3.0)
    fig = error_vs_time(rows)
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["tanh", "sine", "p0", "p1", "p2", "p3"]


def test_compare_fields_on_a_plate_with_a_hole_are_triangulated(tmp_path, write_problem):
    """A non-box domain's comparison figure draws each run's error on its triangles (none over the hole),
    the boundary in black, on one scale: the values drawn are the runs' |u - u_ref| at their points."""
    import numpy as np
    from matplotlib.collections import QuadMesh, TriMesh

    from pinnlab.plots.comparison import error_fields
    from pinnlab.plots.data import load_points

    path = write_problem("""
        from pinnlab.geometry import Disk
        problem = Problem(name="plate", domain=Box(x=(-1, 1), y=(-1, 1)) - Disk((0, 0), 0.5, name="hole"),
                          fields=("u",), residual=lambda f, p: f.u.xx + f.u.yy,
                          conditions=[Dirichlet(u=lambda x, y: x + y)], exact=lambda x, y: x + y, grid=21)
    """)
    out = tmp_path / "cmp"
    comp = compare([str(path)], ["tanh", "sine"], seeds=1, config=SolveConfig(**CFG), out=out, progress=False)
    assert png_size(out / "figures" / "compare_fields_plate.png") == inches(1.5 + 3.2 * 2, 3.3)
    fig = error_fields(out, comp.rows, "plate")
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split(":")[0] for ax in panels] == ["tanh", "sine"]
    for ax, run in zip(panels, comp.runs):
        g = load_points(run)
        meshes = [c for c in ax.collections if isinstance(c, TriMesh)]
        assert len(meshes) == 1 and not any(isinstance(c, QuadMesh) for c in ax.collections)
        tri = meshes[0].get_paths()  # one closed path per triangle
        assert len(tri) == len(g.triangles) > 0
        centroids = np.array([p.vertices[:3].mean(axis=0) for p in tri])
        assert (np.hypot(centroids[:, 0], centroids[:, 1]) > 0.5).all()  # the hole is left blank
        np.testing.assert_allclose(meshes[0].get_array(), np.abs(g.pred[:, 0] - g.ref[:, 0]), rtol=1e-6)
        outline = ax.lines[0].get_xydata()
        assert np.nanmax(np.abs(outline)) == pytest.approx(1.0)  # the outer square drawn
        assert np.nanmin(np.hypot(outline[:, 0], outline[:, 1])) == pytest.approx(0.5, abs=1e-3)  # and the hole
    assert len({tuple(m.get_clim()) for ax in panels for m in ax.collections if isinstance(m, TriMesh)}) == 1
