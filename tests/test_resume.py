"""Interrupt and resume: a resumed run ends bit-identical to one never interrupted; signals end a
real process with exit 130, a checkpoint and a partial report; divergence stops with exit 1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import console_script

import pinnlab as pl

# float64 throughout, resampling every 7 steps, the Adam -> L-BFGS switch inside the run
CONFIG = dict(width=10, depth=2, steps=40, lbfgs_steps=25, points=64, boundary_points=8, seed=11,
              dtype="float64", lbfgs_dtype="float64", resample_every=7, eval_every=10, checkpoint_every=10,
              sampler="sobol")
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


@pytest.mark.parametrize("problem,stop_at", [("poisson1d", 20), ("heat1d", 30), ("heat1d", 50)],
                         ids=["adam-sobol", "adam-2d", "inside-lbfgs"])
def test_resumed_run_is_bit_identical(problem, stop_at, tmp_path):
    cfg = pl.SolveConfig(**CONFIG)
    full = pl.solve(problem, cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted) as info:
        pl.solve(problem, cfg, out=tmp_path / "cut", progress=_interrupt_at(stop_at))
    partial = json.loads((tmp_path / "cut" / "report.json").read_text())
    assert partial["status"] == "interrupted"
    assert info.value.result.report["status"] == "interrupted"
    resumed = pl.resume(tmp_path / "cut")
    assert resumed.report["status"] == "completed"
    for key in NUMBERS:
        assert resumed.report[key] == full.report[key], key
    for a, b in zip(_params(full), _params(resumed)):
        assert torch.equal(a, b)
    losses = lambda r: [(h["step"], h.get("loss"), h.get("rel_l2")) for h in r.history]
    assert losses(resumed) == losses(full)


def test_same_seed_twice_is_bit_identical(tmp_path):
    cfg = pl.SolveConfig(**{**CONFIG, "dtype": "float32"})
    a = pl.solve("burgers", cfg, out=tmp_path / "a")
    b = pl.solve("burgers", cfg, out=tmp_path / "b")
    for key in NUMBERS:
        assert a.report[key] == b.report[key], key
    for x, y in zip(_params(a), _params(b)):
        assert torch.equal(x, y)
    c = pl.solve("burgers", pl.SolveConfig(**{**CONFIG, "dtype": "float32", "seed": 12}), out=tmp_path / "c")
    assert c.report["final_loss"] != a.report["final_loss"]  # the seed does reach the run


def _start(args: list[str], cwd) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([*console_script(), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_to_a_real_process_checkpoints_and_exits_130(sig, tmp_path):
    out = tmp_path / "run"
    proc = _start(["solve", "poisson1d", "--steps", "100000", "--lbfgs-steps", "0", "--points", "64",
                   "--width", "8", "--depth", "2", "--compile", "off", "--out", str(out), "--quiet",
                   "--no-plot"], tmp_path)
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (out / "checkpoint.pt").exists(), proc.communicate(timeout=10)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "interrupted" and 0 < report["steps"] < 100000
    assert torch.load(out / "checkpoint.pt", weights_only=False)


DIVERGING = """
problem = Problem(
    name="blows-up",
    domain=Box(t=(0.0, 1.0)),
    fields=("u",),
    residual=lambda f, p: f.u.t - torch.exp(1e4 * f.u.value.detach().abs().max()) * f.u,
    conditions=[Initial(u=1.0)],
    exact=lambda t, p: torch.exp(t),
    recipe=Recipe(width=8, depth=2, steps=50, lbfgs_steps=0, lr=1e-2, points=32, boundary_points=1),
)
"""


def test_divergence_stops_with_exit_1_and_names_the_term(tmp_path, write_problem):
    path = write_problem(DIVERGING)
    out = tmp_path / "run"
    p = subprocess.run([*console_script(), "solve", str(path), "--out", str(out), "--quiet", "--no-plot"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert "residual" in p.stderr and "non-finite" in p.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "diverged" and "residual" in report["message"]
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    flat = [t for t in _tensors(state) if t.is_floating_point()]
    assert flat and all(torch.isfinite(t).all() for t in flat)  # the last good state, not the NaN one


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
