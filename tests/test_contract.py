"""The solver contract: trainable parts beyond the network are trained by every path (Adam and L-BFGS,
eager and compiled), checkpointed and resumed bit-identically; a solver registered from a file outside
pinnlab runs through solve, compare, report, plot and resume."""

from __future__ import annotations

import json

import pytest
import solver_plugin
import torch
from click.testing import CliRunner
from test_resume import _interrupt_at

import pinnlab as pl
from pinnlab.cli import cli
from pinnlab.compare import compare
from pinnlab.runs import load_checkpoint
from pinnlab.solvers.registry import get_solver, solver_names

BASE = dict(solver="tabled", width=8, depth=2, points=32, boundary_points=2, seed=5, dtype="float64",
            eval_every=10, checkpoint_every=10)


def _gaps(run_dir):
    model = load_checkpoint(run_dir / "checkpoint.pt")["task"]["model"]
    return abs(float(model["scale"]) - solver_plugin.SCALE_TARGET), model["table"]


@pytest.mark.parametrize("compile_", ["off", "on"])
@pytest.mark.parametrize("steps,lbfgs", [(60, 0), (0, 40)], ids=["adam", "lbfgs"])
def test_extra_trainable_parts_are_trained_by_every_path(tmp_path, compile_, steps, lbfgs):
    cfg = pl.SolveConfig(**BASE, steps=steps, lbfgs_steps=lbfgs, compile=compile_, lr=0.05)
    res = pl.solve("poisson1d", cfg, out=tmp_path / "run")
    assert res.report["compiled"] == (compile_ == "on")
    # untrained, the scalar is 2 from its minimum and the table (all 0) up to 0.5 from its targets
    assert res.report["scale_gap"] < (0.5 if lbfgs == 0 else 0.05)
    assert res.report["table_gap"] < (0.45 if lbfgs == 0 else 0.05)
    assert "scale" in res.report["final_loss_terms"] and "table" in res.report["final_loss_terms"]
    gap, table = _gaps(tmp_path / "run")  # the checkpoint holds them: the state reported
    assert gap == pytest.approx(res.report["scale_gap"]) and table.shape == (32, 1)


@pytest.mark.parametrize("compile_,stop_at", [("off", 20), ("on", 20), ("off", 33)],
                         ids=["eager-adam", "adam-in-graph", "inside-lbfgs"])
def test_extra_parts_resume_bit_identically(tmp_path, compile_, stop_at):
    cfg = pl.SolveConfig(**BASE, steps=30, lbfgs_steps=20, compile=compile_, resample_every=7)
    full = pl.solve("poisson1d", cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve("poisson1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(stop_at))
    resumed = pl.resume(tmp_path / "cut")
    a = load_checkpoint(tmp_path / "full" / "checkpoint.pt")["task"]["model"]
    b = load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["task"]["model"]
    assert set(a) == set(b) and {"scale", "table"} <= set(a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert resumed.report["final_loss"] == full.report["final_loss"]


def test_init_from_carries_the_extra_parts(tmp_path):
    cfg = pl.SolveConfig(**BASE, steps=40, lbfgs_steps=0, compile="off", lr=0.05)
    first = pl.solve("poisson1d", cfg, out=tmp_path / "first")
    import dataclasses
    again = pl.solve("poisson1d", dataclasses.replace(cfg, steps=1, lr=1e-9, init_from=str(tmp_path / "first")),
                     out=tmp_path / "again")
    assert again.report["scale_gap"] == pytest.approx(first.report["scale_gap"], rel=1e-6)


def test_a_registered_solver_runs_through_solve_compare_report_plot_and_resume(tmp_path):
    assert "tabled" in solver_names() and get_solver("tabled").report_keys == ("scale_gap", "table_gap")
    cfg = pl.SolveConfig(**{**BASE, "solver": "pinn"}, steps=20, lbfgs_steps=5, compile="off")
    comp = compare(["poisson1d"], solvers=["pinn", "tabled"], seeds=1, config=cfg, out=tmp_path / "cmp",
                      progress=False, plot=True)
    rows = {r["solver"]: r for r in comp.rows}
    assert set(rows) == {"pinn", "tabled"} and all(r["status"] == "completed" for r in rows.values())
    run = next(p.parent for p in (tmp_path / "cmp").rglob("report.json")
               if json.loads(p.read_text())["solver"] == "tabled")
    runner = CliRunner()
    out = runner.invoke(cli, ["report", str(run)])
    assert out.exit_code == 0 and "tabled" in out.output, out.output
    out = runner.invoke(cli, ["plot", str(run)])
    assert out.exit_code == 0, out.output
    assert (run / "figures" / "solution.png").exists() and (run / "figures" / "history.png").exists()
    with pytest.raises(pl.RunInterrupted):
        pl.solve("poisson1d", pl.SolveConfig(**BASE, steps=30, lbfgs_steps=0, compile="off"), out=tmp_path / "cut",
                 progress=_interrupt_at(15))
    assert pl.resume(tmp_path / "cut").report["status"] == "completed"


def test_unknown_solver_names_the_registered_ones():
    with pytest.raises(pl.ConfigError, match="node, pinn"):
        pl.SolveConfig(solver="nope").validate()
