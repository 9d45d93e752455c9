"""The neural-ODE solver: training data, adjoint gradients, a learned rate, bad options, resume, outputs."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

import pinnlab as pl
from pinnlab.solvers.node import NodeTask, parse_options
from pinnlab.solvers.node_data import integrate, ode_system

PINNLAB = [sys.executable, "-m", "pinnlab.cli"]
SMALL = {"trajectories": 3, "samples": 21, "window": 5, "batch": 8}


@pytest.mark.parametrize("name", ["decay", "damped-oscillator", "lotka-volterra", "pendulum"])
def test_training_data_match_the_problem_reference(name):
    """The RHS recovered from the residual, integrated by scipy, reproduces the problem's own solution."""
    problem = pl.get_problem(name)
    system = ode_system(problem)
    ev = problem.evaluation()
    traj = integrate(system, system.y0, ev.axes["t"])[0]
    assert np.abs(traj[:, :len(problem.fields)] - ev.values).max() < 1e-7
    if name == "damped-oscillator":  # second order: the state gains the velocity x_t
        assert system.names == ("x", "x_t")


def test_adjoint_and_direct_gradients_agree_in_float64():
    config = pl.SolveConfig(solver="node", width=8, depth=2, layer="tanh", dtype="float64",
                            options={**SMALL, "rtol": 1e-10, "atol": 1e-12}).resolved(pl.get_problem("pendulum").recipe)
    task = NodeTask(pl.get_problem("pendulum"), config)
    traj, start = np.array([0, 1, 2, 1]), np.array([0, 3, 10, 16])
    grads = {}
    for adjoint in (False, True):
        task.opt["adjoint"] = adjoint
        task.net.zero_grad()
        task.window_loss(traj, start).backward()
        grads[adjoint] = torch.cat([p.grad.reshape(-1) for p in task.parameters()])
    assert grads[False].abs().max() > 1e-6  # a real gradient, not zeros
    torch.testing.assert_close(grads[True], grads[False], rtol=1e-6, atol=1e-9)


def test_learned_decay_recovers_its_rate(tmp_path):
    k = 1.0
    config = pl.SolveConfig(solver="node", width=16, depth=2, steps=400, lr=1e-2, eval_every=10**6, seed=1,
                            options={"trajectories": 4, "ic_spread": 1.0, "samples": 41, "window": 5, "batch": 32})
    result = pl.solve("decay", config, out=tmp_path / "run")
    y = np.linspace(0.2, 1.0, 50)[:, None]
    with torch.no_grad():
        f = result.net.field(torch.zeros(50), torch.as_tensor(y, dtype=torch.float32)).double().numpy()
    k_fit = -float((f * y).sum() / (y * y).sum())
    assert abs(k_fit - k) < 1e-2, k_fit
    assert np.abs(f / y + k).max() < 3e-2
    assert result.report["rel_l2"] < 1e-2


@pytest.mark.parametrize("args, needle", [
    (["decay", "--solver", "node", "--opt", "method=foo"], "unknown ODE method 'foo' (allowed: dopri8, dopri5"),
    (["heat1d", "--solver", "node"], "needs an ODE problem"),
    (["decay", "--solver", "node", "--opt", "bogus=1"], "unknown node option 'bogus' (allowed: method"),
    (["decay", "--solver", "node", "--opt", "window=50", "--opt", "samples=10"], "window <= samples"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, args, needle):
    out = tmp_path / "run"
    proc = subprocess.run([*PINNLAB, "solve", *args, "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert not out.exists()  # checked before the run directory is made


def test_bad_options_raise_config_error_through_the_api(tmp_path):
    with pytest.raises(pl.ConfigError, match="unknown ODE method"):
        pl.solve("decay", pl.SolveConfig(solver="node", options={"method": "foo"}), out=tmp_path / "a")
    with pytest.raises(pl.ConfigError, match="needs an ODE problem"):
        pl.solve("heat1d", pl.SolveConfig(solver="node"), out=tmp_path / "b")
    with pytest.raises(pl.ConfigError, match="noise"):
        parse_options({"noise": -1})
    assert parse_options({"adjoint": "true", "irregular": 1})["adjoint"] is True


def test_resumed_run_is_bit_identical(tmp_path):
    config = pl.SolveConfig(solver="node", width=8, depth=2, steps=40, eval_every=20, checkpoint_every=1000,
                            options=SMALL)
    full = pl.solve("lotka-volterra", config, out=tmp_path / "full")

    def interrupt(state, row):
        if state.step == 20:
            os.kill(os.getpid(), signal.SIGINT)  # caught by the trainer: checkpoint at the next step boundary

    with pytest.raises(pl.RunInterrupted):
        pl.solve("lotka-volterra", config, out=tmp_path / "cut", progress=interrupt)
    resumed = pl.resume(tmp_path / "cut")
    assert resumed.report["adam_steps"] == 40
    for (name, a), b in zip(full.net.state_dict().items(), resumed.net.state_dict().values()):
        assert torch.equal(a, b), name
    assert resumed.report["rel_l2"] == full.report["rel_l2"]
    assert resumed.report["final_loss"] == full.report["final_loss"]


def test_report_predictions_and_figures(tmp_path):
    from pinnlab.plots.node import plot_node_run

    config = pl.SolveConfig(solver="node", width=8, depth=2, steps=10,
                            options={**SMALL, "noise": 0.01, "irregular": True, "time": True})
    r = pl.solve("lotka-volterra", config, out=tmp_path / "run")
    rep = r.report
    for key in ("rel_l2", "rel_l2_extrapolation", "max_abs_error", "per_field", "heldout_residual",
                "vector_field_rel_l2", "train_residual"):
        assert rep[key] is not None, key
    assert rep["lbfgs_iterations"] == 0
    assert rep["lbfgs_stop_reason"] == "not run"  # node's default: Adam only
    with np.load(r.run_dir / "predictions.npz") as d:
        assert str(d["kind"]) == "node"
        assert d["true"].shape == d["pred"].shape and d["vf_pred"].shape == (21, 21, 2)
        assert float(d["t_train_end"]) == pytest.approx(6.0)
    names = sorted(p.name for p in plot_node_run(r.run_dir))
    assert names == ["history.png", "phase.png", "trajectories.png", "vector_field.png"]
