"""Unknown numbers: parametrisations, their gradient against finite differences, every step mode moving them
as the eager step does, checkpoints and resume, and the one-line errors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from test_resume import _interrupt_at

import pinnlab as pl
from pinnlab.runs import load_checkpoint
from pinnlab.solvers.pinn import make_task

SMALL = dict(width=8, depth=2, points=64, boundary_points=16, dtype="float64", seed=3, eval_every=5,
             checkpoint_every=5)


def _heat(guess=0.05, **given):
    return pl.get_problem("heat1d").with_unknowns(alpha=guess), pl.SolveConfig(**{**SMALL, **given})


@pytest.mark.parametrize("u", [pl.Unknown(0.05, positive=True), pl.Unknown(-2.0), pl.Unknown(0.3, bounds=(0.1, 0.9))])
def test_each_parametrisation_starts_at_its_guess_and_maps_back(u):
    raw = torch.tensor(u.raw_guess(), dtype=torch.float64)
    assert float(u.value(raw)) == pytest.approx(u.guess, rel=1e-12)
    if u.positive:
        assert float(u.value(torch.tensor(-50.0, dtype=torch.float64))) > 0
    if u.bounds:
        lo, hi = u.bounds
        ends = [float(u.value(torch.tensor(r, dtype=torch.float64))) for r in (-40.0, 40.0)]
        assert lo <= ends[0] < ends[1] <= hi


@pytest.mark.parametrize("kwargs,match", [
    (dict(guess=-1.0, positive=True), "positive guess"),
    (dict(guess=0.5, bounds=(0.6, 1.0)), "strictly inside"),
    (dict(guess=0.5, bounds=(1.0, 0.0)), "lo < hi"),
    (dict(guess=0.5, positive=True, bounds=(0.0, 1.0)), "not both"),
    (dict(guess=math.nan), "finite"),
])
def test_bad_unknowns_are_one_line_errors(kwargs, match):
    with pytest.raises(pl.ProblemError, match=match):
        pl.Unknown(**kwargs)


def test_declared_unknowns_move_out_of_params_and_keep_the_truth_for_the_reference():
    base = pl.get_problem("heat1d")
    prob = pl.Problem(**{**{f: getattr(base, f) for f in ("name", "domain", "fields", "residual", "conditions",
                                                              "exact")},
                         "params": {"alpha": pl.Unknown(0.05, positive=True, true=0.1)}})
    assert prob.params == {"alpha": 0.1} and prob.unknowns["alpha"].guess == 0.05
    assert "alpha (guess 0.05, positive, true 0.1)" in prob.summary()
    # a new value of an unknown parameter is its new truth
    assert prob.with_params(alpha=0.2).unknowns["alpha"].true == 0.2


def test_an_unknown_no_residual_reads_is_refused():
    lv = pl.get_problem("lotka-volterra")
    with pytest.raises(pl.ProblemError, match="unknown parameter 'x0' is used by no residual or condition"):
        dataclasses.replace(lv, conditions=(), params={**lv.params, "x0": pl.Unknown(1.0)})
    assert dataclasses.replace(lv, params={**lv.params, "x0": pl.Unknown(1.0)}).unknowns  # the condition reads it
    with pytest.raises(pl.ProblemError, match="has no parameter 'kappa'"):
        pl.get_problem("heat1d").with_unknowns(kappa=1.0)


def test_a_problem_file_with_an_unknown_no_residual_reads_is_one_line_from_the_cli(tmp_path, run_cli):
    from conftest import TINY, VALID_PROBLEM
    path = tmp_path / "unused.py"
    path.write_text("from pinnlab import Unknown\n" + VALID_PROBLEM.replace(
        'params={"k": 1.0}', 'params={"k": 1.0, "c": Unknown(2.0, true=3.0)}'))
    code, out, err = run_cli(["solve", str(path), *TINY, "--out", str(tmp_path / "run")])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "unknown parameter 'c' is used by no residual or condition" in err
    assert not (tmp_path / "run").exists()

def test_the_unknowns_gradient_equals_finite_differences_of_the_loss():
    prob, cfg = _heat(compile="off")
    task = make_task(prob, cfg.resolved(prob.recipe))
    raw = task.model.unknowns.raw["alpha"]
    sum(task.loss_terms().values()).backward()
    h = 1e-6
    with torch.no_grad():
        raw += h
        up = float(sum(task.loss_terms().values()))
        raw -= 2 * h
        down = float(sum(task.loss_terms().values()))
        raw += h
    assert float(raw.grad) == pytest.approx((up - down) / (2 * h), rel=1e-6)
    assert float(raw.grad) != 0


def test_adam_and_lbfgs_move_the_unknown_and_report_its_trajectory(tmp_path):
    prob, cfg = _heat(compile="off", steps=30, lbfgs_steps=10, lr=0.05)
    res = pl.solve(prob, cfg, out=tmp_path / "run")
    rep = res.report["unknowns"]["alpha"]
    assert rep["guess"] == 0.05 and rep["true"] == 0.1 and rep["learned"] != 0.05
    assert rep["rel_error"] == pytest.approx(abs(rep["learned"] - 0.1) / 0.1)
    traj = [r["param_alpha"] for r in res.history if "param_alpha" in r]
    assert len(traj) >= 4 and traj[-1] == pytest.approx(rep["learned"])
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")["task"]["model"]
    assert math.exp(float(state["unknowns.raw.alpha"])) == pytest.approx(rep["learned"])
    header = (tmp_path / "run" / "history.csv").read_text().splitlines()[0].split(",")
    assert "param_alpha" in header
    # the summaries and the figure show the recovered value
    from pinnlab.compare import markdown_table, summary_rows
    from pinnlab.plots import plot_run
    row = summary_rows([tmp_path / "run"])[0]
    assert row["param_rel_error"] == rep["rel_error"] and row["unknowns"].startswith(f"alpha={rep['learned']:.6g}")
    assert "unknowns: worst rel error" in markdown_table([row])
    assert tmp_path / "run" / "figures" / "unknowns.png" in plot_run(tmp_path / "run")


@pytest.mark.parametrize("stop_at", [12, 35], ids=["in-adam", "in-lbfgs"])
def test_unknowns_resume_bit_identically(tmp_path, stop_at):
    prob, cfg = _heat(compile="off", steps=30, lbfgs_steps=20, lr=0.05, optimizer="lbfgs")  # L-BFGS resumes exactly
    full = pl.solve(prob, cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve(prob, cfg, out=tmp_path / "cut", progress=_interrupt_at(stop_at))
    pl.resume(tmp_path / "cut", problem=prob)
    a = load_checkpoint(tmp_path / "full" / "checkpoint.pt")["task"]["model"]
    b = load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["task"]["model"]
    assert "unknowns.raw.alpha" in a and set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert full.report["unknowns"] == pl.load_run(tmp_path / "cut").report["unknowns"]


def test_the_cli_unknown_option_resumes_and_init_from_carries_the_unknown(tmp_path, run_cli):
    args = ["solve", "heat1d", "--unknown", "alpha=0.05", "--width", "8", "--depth", "2", "--points", "64",
            "--boundary-points", "16", "--steps", "20", "--lbfgs-steps", "0", "--lr", "0.05", "--no-plot"]
    code, out, err = run_cli([*args, "--out", str(tmp_path / "a")])
    assert code == 0, err
    assert "unknown alpha = " in out and "(true 0.1, rel error " in out and "from guess 0.05" in out
    code, out, err = run_cli(["show", "heat1d"])
    assert code == 0 and "parameters: alpha = 0.1" in out
    learned = pl.load_run(tmp_path / "a").report["unknowns"]["alpha"]["learned"]
    res = pl.solve("heat1d", pl.SolveConfig(unknowns={"alpha": 0.05}, width=8, depth=2, points=64,
                                            boundary_points=16, steps=1, lbfgs_steps=0, lr=1e-9,
                                            init_from=str(tmp_path / "a")), out=tmp_path / "b")
    assert res.report["unknowns"]["alpha"]["learned"] == pytest.approx(learned, rel=1e-6)


@pytest.mark.parametrize("args,match", [
    (["--unknown", "kappa=1.0"], "has no parameter 'kappa'"),
    (["--unknown", "alpha=abc"], "must be a finite number"),
])
def test_bad_unknown_options_are_one_line_and_write_nothing(tmp_path, run_cli, args, match):
    from conftest import TINY
    code, out, err = run_cli(["solve", "heat1d", *args, *TINY, "--out", str(tmp_path / "run")])
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_every_compiled_step_mode_moves_the_unknown_as_the_eager_step(tmp_path, monkeypatch):
    from pinnlab.solvers import compiling
    from pinnlab.solvers.steps import ChunkedStep
    # chunked: the residual over chunks of 8 points, gradients summed, against the eager gradient
    monkeypatch.setattr(compiling, "CHUNK_BYTES", 1024)
    prob, cfg = _heat(compile="on", steps=3, lbfgs_steps=0)
    task = make_task(prob, cfg.resolved(prob.recipe))
    assert task.chunk is not None
    eager = task.loss_terms()
    sum(eager.values()).backward()
    grads = [p.grad.clone() for p in task.parameters()]
    task.model.zero_grad(set_to_none=True)
    mode = task.step_mode("adam")
    assert isinstance(mode, ChunkedStep)
    mode.loss_and_grads(lambda t: sum(t.values()))
    assert mode.active and mode.whole is None
    for p, g in zip(task.parameters(), grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)
    assert float(grads[-1]) != 0
    monkeypatch.undo()
    # whole: Adam's update in the graph, then the compiled L-BFGS step, against the eager run
    runs = {c: pl.solve(prob, pl.SolveConfig(**{**SMALL, "compile": c, "steps": 20, "lbfgs_steps": 5, "lr": 0.05}),
                        out=tmp_path / c) for c in ("off", "on")}
    assert runs["on"].report["adam_in_graph"] and runs["on"].report["compiled"]
    on, off = (runs[c].report["unknowns"]["alpha"]["learned"] for c in ("on", "off"))
    assert on != 0.05 and on == pytest.approx(off, rel=1e-8)
    np.testing.assert_allclose([r["param_alpha"] for r in runs["on"].history if "param_alpha" in r],
                               [r["param_alpha"] for r in runs["off"].history if "param_alpha" in r], rtol=1e-8)


# -- data ------------------------------------------------------------------------------------------

def test_unknown_is_recovered_from_reference_data():
    # heat1d: alpha from 200 samples of its exact solution, starting at half the truth
    cfg = pl.SolveConfig(unknowns={"alpha": 0.05}, data_from_reference=200, width=16, depth=2, points=128,
                         boundary_points=32, steps=150, lbfgs_steps=60, lr=0.01, compile="off", eval_every=50)
    from pinnlab.runner import prepare
    prob, cfg = prepare(pl.get_problem("heat1d"), cfg)
    task = make_task(prob, cfg)
    from pinnlab.solvers.training import Schedule, Trainer
    Trainer(task, Schedule.from_config(cfg), lambda state: None).run()
    assert abs(task.model.unknowns.values()["alpha"] - 0.1) < 0.002  # from 0.05: 1% off after 210 steps


def _exact_heat(x, t, alpha=0.1):
    return np.exp(-alpha * np.pi**2 * t) * np.sin(np.pi * x)


def test_reference_data_are_reference_values_with_noise_of_the_asked_size():
    from pinnlab.data import reference_data
    prob = pl.get_problem("heat1d")
    clean = reference_data(prob, 500, seed=4)
    x, t = clean.points[:, 0], clean.points[:, 1]
    np.testing.assert_allclose(clean.values["u"], _exact_heat(x, t), atol=1e-12)
    assert len({tuple(p) for p in clean.points}) == 500  # without replacement
    noisy = reference_data(prob, 500, noise=0.05, seed=4)
    np.testing.assert_array_equal(noisy.points, clean.points)  # the same sensors, whatever the noise
    ev = prob.evaluation().values[:, 0]
    ratio = np.std(noisy.values["u"] - clean.values["u"]) / np.sqrt(np.mean(ev**2))
    assert 0.045 < ratio < 0.055
    assert not np.array_equal(reference_data(prob, 500, seed=5).points, clean.points)


@pytest.mark.parametrize("fmt", ["csv", "npz"])
def test_data_files_become_point_data(tmp_path, fmt):
    from pinnlab.data import read_columns
    prob = pl.get_problem("heat1d")
    rng = np.random.default_rng(0)
    x, t = rng.uniform(0, 1, 40), rng.uniform(0, 1, 40)
    path = tmp_path / f"m.{fmt}"
    if fmt == "csv":
        rows = [f"{float(b)!r},{float(_exact_heat(a, b))!r},{float(a)!r}\n" for a, b in zip(x, t)]
        path.write_text("t,u,x\n" + "".join(rows))
    else:
        np.savez(path, x=x, t=t, u=_exact_heat(x, t))
    assert set(read_columns(path)) == {"x", "t", "u"}
    data = pl.PointData.from_file(path, prob)
    np.testing.assert_array_equal(data.points, np.stack([x, t], axis=1))
    np.testing.assert_allclose(data.values["u"], _exact_heat(x, t), rtol=1e-15)


@pytest.mark.parametrize("body,match", [
    ("x,u\n0.5,1.0\n", "no column for coordinate 't'"),
    ("x,t,v\n0.5,0.5,1.0\n", "column 'v' is neither a coordinate nor a field"),
    ("x,t,u\n0.5,0.5,nan\n", "column 'u' has 1 non-finite value"),
    ("x,t,u\n1.5,0.5,1.0\n", "point 0 (x=1.5, t=0.5) is outside the domain"),
    ("x,t,u\n0.5,0.5\n", "line 2: 2 values for 3 columns"),
    ("x,t,u\n0.5,zero,1\n", "are not all numbers"),
    ("x,t\n0.5,0.5\n", "no column for any field"),
])
def test_bad_data_files_are_one_line_and_write_nothing(tmp_path, run_cli, body, match):
    from conftest import TINY
    (tmp_path / "d.csv").write_text(body)
    code, out, err = run_cli(["solve", "heat1d", "--data", str(tmp_path / "d.csv"), *TINY, "--out",
                              str(tmp_path / "run")])
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()


def test_a_file_that_is_not_npz_and_noise_without_samples_are_refused(tmp_path, run_cli):
    from conftest import TINY
    (tmp_path / "d.npz").write_text("not a zip")
    for args, match in ((["--data", str(tmp_path / "d.npz")], "does not parse as .npz"),
                        (["--noise", "0.01"], "give --data-from-reference N"),
                        (["--data-from-reference", "5", "--noise", "-1"], "noise must be a non-negative"),
                        (["--data-from-reference", "99999999"], "has 10201 points")):
        code, out, err = run_cli(["solve", "heat1d", *args, *TINY, "--out", str(tmp_path / "run")])
        assert code == 2 and match in err and len(err.strip().splitlines()) == 1, (args, err)
        assert not (tmp_path / "run").exists()


def test_a_run_whose_data_file_changed_is_not_resumed_on_other_data(tmp_path):
    rng = np.random.default_rng(1)
    x, t = rng.uniform(0, 1, 30), rng.uniform(0, 1, 30)
    path = tmp_path / "m.npz"
    np.savez(path, x=x, t=t, u=_exact_heat(x, t))
    cfg = pl.SolveConfig(width=8, depth=1, steps=30, lbfgs_steps=0, points=32, boundary_points=4, compile="off",
                         data=str(path), unknowns={"alpha": 0.2}, eval_every=10, checkpoint_every=10)
    with pytest.raises(pl.RunInterrupted):
        pl.solve("heat1d", cfg, out=tmp_path / "run", progress=_interrupt_at(15))
    np.savez(path, x=x, t=t, u=2 * _exact_heat(x, t))  # other measurements under the same name
    with pytest.raises(pl.RunError, match="data file .* has changed since the run started"):
        pl.resume(tmp_path / "run")
    np.savez(path, x=x, t=t, u=_exact_heat(x, t))  # restored: the run goes on
    assert pl.resume(tmp_path / "run").report["status"] == "completed"
