"""Interrupt and resume: a resumed run ends bit-identical to one never interrupted; signals end a
real process with exit 130, a checkpoint and a partial report; divergence stops at its step with
exit 1, names the term and keeps the last good state."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import VALID_PROBLEM, console_script

import pinnlab as pl

# float64 throughout, resampling every 7 steps, the Adam -> L-BFGS switch inside the run
CONFIG = dict(width=10, depth=2, steps=40, lbfgs_steps=25, points=64, boundary_points=8, seed=11,
              dtype="float64", lbfgs_dtype="float64", resample_every=7, eval_every=10, checkpoint_every=10,
              sampler="sobol", optimizer="lbfgs")  # the L-BFGS stage resumes exactly (a dense one restarts)
NUMBERS = ("rel_l2", "max_abs_error", "final_loss", "best_loss", "heldout_residual", "train_residual",
           "adam_steps", "lbfgs_iterations", "lbfgs_stop_reason")


def _interrupt_at(step: int):
    """A progress callback that sends this process SIGINT when the run reaches ``step``."""
    def progress(state, row):
        if state.step + state.lbfgs_iters >= step and not progress.sent:
            progress.sent = True
            os.kill(os.getpid(), signal.SIGINT)
    progress.sent = False
    return progress


def _params(result) -> list[torch.Tensor]:
    return [p.detach().clone() for p in result.net.state_dict().values()]


@pytest.mark.parametrize("problem,stop_at,sampler,compile_", [
    ("poisson1d", 20, "sobol", "off"), ("heat1d", 30, "sobol", "off"), ("heat1d", 30, "lhs", "off"),
    ("heat1d", 50, "sobol", "off"), ("heat1d", 30, "sobol", "on")],
    ids=["adam-sobol", "adam-2d", "adam-2d-lhs", "inside-lbfgs", "adam-in-graph"])
def test_resumed_run_is_bit_identical(problem, stop_at, sampler, compile_, tmp_path):
    # resampling draws after the interruption must continue the sampler's stream exactly: scipy's
    # QMC engines spawn child generators, so the spawn count is part of the checkpointed state;
    # compiled, Adam's update runs inside the graph on the optimizer's checkpointed state
    cfg = pl.SolveConfig(**{**CONFIG, "sampler": sampler, "compile": compile_})
    full = pl.solve(problem, cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted) as info:
        pl.solve(problem, cfg, out=tmp_path / "cut", progress=_interrupt_at(stop_at))
    partial = json.loads((tmp_path / "cut" / "report.json").read_text())
    assert partial["status"] == "interrupted"
    assert info.value.result.report["status"] == "interrupted"
    resumed = pl.resume(tmp_path / "cut")
    assert resumed.report["status"] == "completed"
    assert resumed.report["adam_in_graph"] == full.report["adam_in_graph"] == (compile_ == "on")
    for key in NUMBERS:
        assert resumed.report[key] == full.report[key], key
    for a, b in zip(_params(full), _params(resumed)):
        assert torch.equal(a, b)
    losses = lambda r: [(h["step"], h.get("loss"), h.get("rel_l2")) for h in r.history]
    assert losses(resumed) == losses(full)


def test_a_run_resumes_the_problem_it_was_started_with(tmp_path):
    # parameters set with with_params (not through the config) and a Problem defined in Python
    cfg = pl.SolveConfig(**{**CONFIG, "steps": 20, "lbfgs_steps": 0})
    warm = pl.get_problem("heat1d").with_params(alpha=0.3)
    full = pl.solve(warm, cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve(warm, cfg, out=tmp_path / "cut", progress=_interrupt_at(10))
    resumed = pl.resume(tmp_path / "cut")
    assert resumed.problem.params == {"alpha": 0.3} and resumed.report["params"] == {"alpha": 0.3}
    assert resumed.report["rel_l2"] == full.report["rel_l2"]

    builtin = pl.get_problem("poisson1d")
    mine = pl.Problem(name="poisson1d", domain=pl.Box(x=(0.0, 2.0)), fields=("u",), conditions=builtin.conditions,
                      residual=lambda f, p: -f.u.xx - 1.0, exact=lambda x: x * (2 - x) / 2)
    with pytest.raises(pl.RunInterrupted):
        pl.solve(mine, cfg, out=tmp_path / "mine", progress=_interrupt_at(10))
    with pytest.raises(pl.RunError, match="defined in Python"):  # not the built-in of the same name
        pl.resume(tmp_path / "mine")
    with pytest.raises(pl.RunError, match="not 'heat1d'"):
        pl.resume(tmp_path / "mine", problem=pl.get_problem("heat1d"))
    resumed = pl.resume(tmp_path / "mine", problem=mine)
    assert resumed.problem.domain.ranges["x"] == (0.0, 2.0) and resumed.report["status"] == "completed"


def test_a_resumed_run_tells_its_progress_display_the_budget_and_where_it_restarts(tmp_path):
    cfg = pl.SolveConfig(**CONFIG)
    with pytest.raises(pl.RunInterrupted):
        pl.solve("poisson1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(20))
    stopped = json.loads((tmp_path / "cut" / "report.json").read_text())["adam_steps"]
    seen = []
    pl.resume(tmp_path / "cut", progress=lambda st, row: seen.append((st.step, dict(row))))
    assert seen[0] == (stopped, {"event": "start", "total_steps": 65}) and stopped >= 20
    assert [row for _, row in seen[1:] if "event" in row] == []  # eager: nothing compiles
    assert seen[1][0] > stopped


LONG = ["solve", "poisson1d", "--steps", "100000", "--lbfgs-steps", "0", "--points", "64", "--width", "8",
        "--depth", "2", "--compile", "off", "--quiet", "--no-plot"]


def _check_interrupted(out, rc: int, err: str) -> None:
    assert rc == 130, err
    assert "Traceback" not in err and f"--resume {out}" in err
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "interrupted" and 0 < report["steps"] < 100000
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert state["trainer"]["step"] == report["adam_steps"]  # the checkpoint is the state the report describes


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_to_a_running_process_checkpoints_exits_130_and_resumes(sig, tmp_path, launcher):
    out = tmp_path / "run"
    job = launcher.start([*LONG, "--out", out], tmp_path)
    while not (out / "checkpoint.pt").exists():
        assert job.returncode is None
        time.sleep(0.01)
    job.signal(sig)
    _check_interrupted(out, job.wait(), job.stderr)
    # --resume continues from there (and can itself be interrupted again)
    cut = json.loads((out / "report.json").read_text())["adam_steps"]
    job = launcher.start(["solve", "--resume", out, "--quiet", "--no-plot"], tmp_path)
    while torch.load(out / "checkpoint.pt", weights_only=False)["trainer"]["step"] <= cut:
        time.sleep(0.01)
    job.signal(sig)
    _check_interrupted(out, job.wait(), job.stderr)
    assert json.loads((out / "report.json").read_text())["adam_steps"] > cut


def test_ctrl_c_to_the_real_console_script(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*console_script(), *LONG, "--out", str(out)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (out / "checkpoint.pt").exists(), proc.communicate(timeout=10)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    _check_interrupted(out, proc.returncode, err)


# The residual turns NaN at training step 31: calls 1 and 2 are the Recorder's dry runs (the problem
# as loaded, then with its parameters applied), and with eval_every beyond the budget every later
# call is one training step.
DIVERGING = """
CALLS = [0]

def residual(f, p):
    CALLS[0] += 1
    return f.u.t + p.k * f.u + (float("nan") if CALLS[0] > 32 else 0.0)

problem = Problem(
    name="turns-nan",
    domain=Box(t=(0.0, 1.0)),
    fields=("u",),
    params={"k": 1.0},
    residual=residual,
    conditions=[Initial(u=1.0)],
    exact=lambda t, p: torch.exp(-p.k * t),
    recipe=Recipe(width=8, depth=2, steps=200, lbfgs_steps=0, lr=1e-2, points=32, boundary_points=1),
)
"""


def test_divergence_stops_at_its_step_with_exit_1_names_the_term_and_keeps_the_last_good_state(
        tmp_path, write_problem, launcher):
    path = write_problem(DIVERGING)
    out = tmp_path / "run"
    job = launcher.start(["solve", path, "--out", out, "--quiet", "--no-plot", "--eval-every", "1000",
                          "--checkpoint-every", "10", "--compile", "off"], tmp_path)
    assert job.wait() == 1, job.stderr
    err = job.stderr
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "non-finite loss term(s): residual at step 31" in err
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "diverged" and "residual at step 31" in report["message"]
    assert report["adam_steps"] == 30  # stopped at the step the NaN appeared, not later
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    flat = [t for t in _tensors(state["task"]) if t.is_floating_point()]
    assert flat and all(torch.isfinite(t).all() for t in flat)  # the last good state, not the NaN one
    assert state["trainer"]["step"] == 30 and math.isfinite(report["best_loss"])


def _tensors(obj):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _tensors(v)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_a_signal_while_the_run_is_set_up_leaves_no_dead_run_directory(sig, tmp_path, monkeypatch):
    """Between the run directory's creation and the first step there is no checkpoint: a run stopped
    there could be neither resumed nor its --out reused, so it is removed (nothing was computed)."""
    import pinnlab.runner as runner

    make_task, before = runner._make_task, signal.getsignal(signal.SIGTERM)

    def interrupted_set_up(problem, config):
        os.kill(os.getpid(), sig)
        time.sleep(1.0)  # the handler runs here
        raise AssertionError("the signal did not interrupt the set-up")

    monkeypatch.setattr(runner, "_make_task", interrupted_set_up)
    cfg = pl.SolveConfig(steps=5, lbfgs_steps=0, points=16, boundary_points=2)
    with pytest.raises(KeyboardInterrupt, match="before training started"):
        pl.solve("poisson1d", cfg, out=tmp_path / "run")
    assert not (tmp_path / "run").exists() and signal.getsignal(signal.SIGTERM) == before
    monkeypatch.setattr(runner, "_make_task", make_task)
    assert pl.solve("poisson1d", cfg, out=tmp_path / "run").report["status"] == "completed"


def test_a_problem_that_fails_after_training_started_is_a_failed_run_that_resumes_once_fixed(
        tmp_path, write_problem, run_cli):
    """Exit 2 means bad input and leaves nothing; an error at step 31 is a failed run (exit 1) with a report
    saying why and its last checkpoint, from which the fixed problem file resumes."""
    path = write_problem(DIVERGING.replace('(float("nan") if CALLS[0] > 32 else 0.0)',
                                           '(1 / 0 if CALLS[0] > 32 else 0.0)'))
    out = tmp_path / "run"
    rc, _, err = run_cli(["solve", str(path), "--out", str(out), "--quiet", "--no-plot", "--eval-every", "1000",
                          "--checkpoint-every", "10", "--compile", "off"])
    assert rc == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "failed" and "ZeroDivisionError" in report["message"], report
    assert "at step 31" in report["message"] and report["rel_l2"] is None
    assert torch.load(out / "checkpoint.pt", weights_only=False)["trainer"]["step"] == 30
    path.write_text(path.read_text().replace("1 / 0 if", "0.0 if"))  # the user fixes the file
    rc, _, err = run_cli(["solve", "--resume", str(out), "--quiet", "--no-plot"])
    assert rc == 0, err
    assert json.loads((out / "report.json").read_text())["status"] == "completed"


def test_resume_refuses_a_problem_file_that_now_defines_another_problem(tmp_path, write_problem):
    path = write_problem(VALID_PROBLEM.split("\n", 5)[-1].replace("steps=20", "steps=400"))
    with pytest.raises(pl.RunInterrupted):
        pl.solve(str(path), pl.SolveConfig(compile="off", checkpoint_every=10), out=tmp_path / "run",
                 progress=_interrupt_at(15))
    path.write_text(path.read_text().replace('"tiny-decay"', '"renamed"'))
    with pytest.raises(pl.RunError, match="now defines 'renamed'"):
        pl.resume(tmp_path / "run")


@pytest.mark.parametrize("lbfgs_steps", [0, 5], ids=["adam only", "with L-BFGS"])
def test_a_run_loads_back_with_its_trained_network(tmp_path, lbfgs_steps):
    cfg = pl.SolveConfig(steps=20, lbfgs_steps=lbfgs_steps, points=32, boundary_points=4, width=6, depth=2)
    done = pl.solve("heat1d", cfg, out=tmp_path / "run")
    loaded = pl.load_result(tmp_path / "run")
    x = torch.rand(7, 2, dtype=torch.float64)
    dtype = next(done.net.parameters()).dtype
    assert next(loaded.net.parameters()).dtype == dtype
    torch.testing.assert_close(loaded.net(x.to(dtype)), done.net(x.to(dtype)), rtol=0, atol=0)
    assert loaded.report == done.report and loaded.problem.name == "heat1d"


def test_resuming_from_an_edited_problem_file_says_so(tmp_path, write_problem):
    path = write_problem(VALID_PROBLEM.split("\n", 5)[-1].replace("steps=20", "steps=400"))
    with pytest.raises(pl.RunInterrupted):
        pl.solve(str(path), pl.SolveConfig(compile="off", checkpoint_every=10), out=tmp_path / "run",
                 progress=_interrupt_at(15))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert len(config["problem_sha256"]) == 64
    path.write_text(path.read_text().replace("grid=33", "grid=65"))
    with pytest.warns(UserWarning, match="has changed since run"):
        assert pl.resume(tmp_path / "run").report["status"] == "completed"


def test_a_run_starts_from_another_runs_trained_network(tmp_path):
    tiny = dict(points=32, boundary_points=4, width=6, depth=2, lbfgs_steps=0)
    first = pl.solve("heat1d", pl.SolveConfig(steps=30, **tiny), out=tmp_path / "a")
    # one Adam step at a negligible rate: the network it ends with is the one it started from
    second = pl.solve("heat1d", pl.SolveConfig(steps=1, lr=1e-12, init_from=str(tmp_path / "a"), **tiny),
                      out=tmp_path / "b")
    x = torch.rand(9, 2)
    torch.testing.assert_close(second.net(x), first.net(x), rtol=1e-5, atol=1e-6)
    assert second.report["rel_l2"] == pytest.approx(first.report["rel_l2"], rel=1e-4)
    with pytest.raises(pl.ConfigError, match="does not fit"):
        pl.solve("heat1d", pl.SolveConfig(steps=1, init_from=str(tmp_path / "a"), **{**tiny, "width": 7}),
                 out=tmp_path / "c")
    assert not (tmp_path / "c").exists()
    with pytest.raises(pl.PinnlabError, match="does not exist"):
        pl.solve("heat1d", pl.SolveConfig(steps=1, init_from=str(tmp_path / "nowhere"), **tiny), out=tmp_path / "d")
