"""The neural-ODE solver: training data, adjoint gradients, a learned rate, bad options, resume, outputs."""

import json
import os
import signal

import numpy as np
import pytest
import torch

import pinnlab as pl
from pinnlab.solvers.node import NodeTask, parse_options
from pinnlab.solvers.node_data import integrate, ode_system

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
    """u' = -k u with k = 1: the learned field's least-squares rate over u in [0.2, 1] is k to 1e-2.

    Adam, then float64 L-BFGS on the frozen windows: the rate lands within 1e-3 for seeds 1-4
    (Adam alone gets within 1e-2 only for some seeds).
    """
    k = 1.0
    config = pl.SolveConfig(solver="node", width=16, depth=2, steps=150, lbfgs_steps=40, lr=1e-2, eval_every=10**6,
                            seed=1, options={"trajectories": 4, "ic_spread": 1.0, "samples": 41, "window": 5,
                                             "batch": 32})
    result = pl.solve("decay", config, out=tmp_path / "run")
    assert result.report["lbfgs_iterations"] > 0
    y = np.linspace(0.2, 1.0, 50)[:, None]
    dtype = next(result.net.parameters()).dtype
    with torch.no_grad():
        f = result.net.field(torch.zeros(50, dtype=dtype), torch.as_tensor(y, dtype=dtype)).double().numpy()
    k_fit = -float((f * y).sum() / (y * y).sum())
    assert abs(k_fit - k) < 1e-2, k_fit
    assert np.abs(f / y + k).max() < 1e-2  # pointwise, not just on average
    assert result.report["rel_l2"] < 2e-3


BAD_OPTIONS = [
    (["decay", "--solver", "node", "--opt", "method=foo"], "unknown ODE method 'foo' (allowed: dopri8, dopri5"),
    (["heat1d", "--solver", "node"], "needs an ODE problem"),
    (["decay", "--solver", "node", "--opt", "bogus=1"], "unknown node option 'bogus' (allowed: method"),
    (["decay", "--solver", "node", "--opt", "window=50", "--opt", "samples=10"], "window <= samples"),
    (["decay", "--solver", "node", "--opt", "rtol=2"], "rtol=2.0 is not valid (allowed: a number in (0, 1))"),
    (["decay", "--solver", "node", "--opt", "trajectories=0"], "trajectories=0 is not valid"),
    (["decay", "--solver", "node", "--opt", "adjoint=maybe"], "adjoint='maybe' is not valid (allowed: true or false)"),
    (["decay", "--solver", "node", "--opt", "noise=-0.5"], "noise=-0.5 is not valid"),
    # collocation options the node solver would otherwise ignore without a word
    (["decay", "--solver", "node", "--causal", "1"], "--causal 1.0 is for --solver pinn"),
    (["decay", "--solver", "node", "--arch", "modified", "--balance", "ntk"],
     "--balance ntk, --arch modified are for --solver pinn"),
    (["decay", "--solver", "node", "--periodic", "auto"], "--periodic auto is for --solver pinn"),
]


@pytest.mark.parametrize("args, needle", BAD_OPTIONS)
def test_bad_options_exit_2_with_one_line(run_cli, tmp_path, args, needle):
    out = tmp_path / "run"
    rc, _, err = run_cli(["solve", *args, "--out", str(out)])
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert not out.exists()  # checked before the run directory is made


@pytest.mark.parametrize("body, needle", [
    ("residual=lambda f, p: f.u.ttt + f.u,", "time-derivative order 3 (allowed: 1, 2)"),
    ("residual=lambda f, p: f.u.t ** 2 + f.u,", "linear in the highest time derivatives"),
])
def test_odes_node_cannot_learn_exit_2(run_cli, write_problem, tmp_path, body, needle):
    path = write_problem(f"""
        problem = Problem(name="bad-ode", domain=Box(t=(0.0, 1.0)), fields=("u",), {body}
                          conditions=[Initial(u=1.0)], exact=lambda t, p: torch.exp(-t), grid=17)
        """)
    rc, _, err = run_cli(["solve", str(path), "--solver", "node", "--out", str(tmp_path / "run")])
    assert rc == 2 and len(err.strip().splitlines()) == 1 and needle in err, err


def test_bad_option_through_the_console_script(run_cli, tmp_path):
    """The same through a real process: exit status 2, one line on stderr, no traceback."""
    out = tmp_path / "run"
    rc, _, err = run_cli(["solve", "decay", "--solver", "node", "--opt", "method=foo", "--out", str(out)],
                         subprocess=True)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "unknown ODE method 'foo'" in err, err
    assert not out.exists()


def test_bad_options_raise_config_error_through_the_api(tmp_path):
    with pytest.raises(pl.ConfigError, match="unknown ODE method"):
        pl.solve("decay", pl.SolveConfig(solver="node", options={"method": "foo"}), out=tmp_path / "a")
    with pytest.raises(pl.ConfigError, match="needs an ODE problem"):
        pl.solve("heat1d", pl.SolveConfig(solver="node"), out=tmp_path / "b")
    with pytest.raises(pl.ConfigError, match="noise"):
        parse_options({"noise": -1})
    assert parse_options({"adjoint": "true", "irregular": 1})["adjoint"] is True


def test_resumed_run_is_bit_identical(tmp_path):
    """Cut during Adam, resumed through the switch to float64 L-BFGS on frozen windows: the same weights."""
    config = pl.SolveConfig(solver="node", width=8, depth=2, steps=40, lbfgs_steps=5, eval_every=20,
                            checkpoint_every=1000, options=SMALL)
    full = pl.solve("lotka-volterra", config, out=tmp_path / "full")

    def interrupt(state, row):
        if state.step == 20:
            os.kill(os.getpid(), signal.SIGINT)  # caught by the trainer: checkpoint at the next step boundary

    with pytest.raises(pl.RunInterrupted):
        pl.solve("lotka-volterra", config, out=tmp_path / "cut", progress=interrupt)
    resumed = pl.resume(tmp_path / "cut")
    assert resumed.report["adam_steps"] == 40
    assert resumed.report["lbfgs_iterations"] == full.report["lbfgs_iterations"] > 0
    for (name, a), b in zip(full.net.state_dict().items(), resumed.net.state_dict().values()):
        assert torch.equal(a, b), name
    assert resumed.report["rel_l2"] == full.report["rel_l2"]
    assert resumed.report["final_loss"] == full.report["final_loss"]


def test_report_predictions_and_figures(tmp_path):
    from pinnlab.plots.node import plot_node_run

    config = pl.SolveConfig(solver="node", width=8, depth=2, steps=10, lbfgs_steps=0,
                            options={**SMALL, "noise": 0.01, "irregular": True, "time": True})
    r = pl.solve("lotka-volterra", config, out=tmp_path / "run")
    rep = r.report
    for key in ("rel_l2", "rel_l2_extrapolation", "max_abs_error", "per_field", "heldout_residual",
                "vector_field_rel_l2", "train_residual"):
        assert rep[key] is not None, key
    assert rep["lbfgs_iterations"] == 0
    assert rep["lbfgs_stop_reason"] == "not run"
    with np.load(r.run_dir / "predictions.npz") as d:
        assert str(d["kind"]) == "node"
        assert d["true"].shape == d["pred"].shape and d["vf_pred"].shape == (21, 21, 2)
        assert float(d["t_train_end"]) == pytest.approx(6.0)
    names = sorted(p.name for p in plot_node_run(r.run_dir))
    assert names == ["history.png", "phase.png", "trajectories.png", "vector_field.png"]


def test_cli_summary_states_the_extrapolation_error(run_cli, tmp_path):
    out = tmp_path / "run"
    rc, stdout, err = run_cli(["solve", "decay", "--solver", "node", "--steps", "3", "--lbfgs-steps", "0", "--no-plot",
                               "--out", str(out),
                               "--opt", "trajectories=2", "--opt", "samples=11", "--opt", "window=3"])
    assert rc == 0, err
    assert "extrapolation window: rel L2" in stdout and "learned vector field: rel L2" in stdout, stdout
    report = json.loads((out / "report.json").read_text())
    assert report["rel_l2_extrapolation"] > 0 and report["node"]["t_train_end"] == pytest.approx(0.6 * 4.0)


def test_readme_lists_every_node_option_with_its_default():
    import re
    from pathlib import Path

    from pinnlab.solvers.node import OPTIONS

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"## Neural ODEs.*?```\n(.*?)```", text, re.S).group(1)
    documented = dict(re.findall(r"(?:^|\s)(\w+)=(\S+)", block))
    assert set(documented) == set(OPTIONS)
    for key, opt in OPTIONS.items():
        kind, default, shown = opt.kind, opt.default, documented[key]
        value = shown == "true" if kind is bool else kind(shown)
        assert value == default, (key, shown, default)


def test_a_window_end_a_rounding_error_from_a_grid_time_is_that_time(tmp_path):
    """0.6 of [0, 2 pi] lies 4e-16 from a point of the 101-point grid: two times one in float32, which
    made odeint return NaN for every state of a float32 run."""
    import math

    problem = pl.Problem(name="rot", domain=pl.Box(t=(0.0, 2 * math.pi)), fields=("u", "v"),
                         residual=lambda f, p: (f.u.t + f.v, f.v.t - f.u), conditions=[pl.Initial(u=1.0, v=0.0)],
                         exact=lambda t: (torch.cos(t), torch.sin(t)))
    r = pl.solve(problem, pl.SolveConfig(solver="node", width=8, steps=5, lbfgs_steps=0), out=tmp_path / "r")
    assert np.isfinite(r.report["rel_l2"]) and np.isfinite(r.report["rel_l2_extrapolation"])


def test_a_run_whose_error_is_nan_has_failed(tmp_path, monkeypatch):
    from pinnlab.solvers.pinn import PinnTask

    final = PinnTask.final_report
    monkeypatch.setattr(PinnTask, "final_report", lambda self: {**final(self), "rel_l2": float("nan")})
    with pytest.raises(pl.RunFailed) as info:
        pl.solve("poisson1d", pl.SolveConfig(steps=3, lbfgs_steps=0, points=16, boundary_points=2), out=tmp_path / "r")
    assert info.value.result.report["status"] == "failed" and "not finite" in info.value.result.report["message"]
