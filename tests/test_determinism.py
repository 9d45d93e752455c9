"""Determinism: the same command with the same seed on the CPU gives bit-identical report numbers
and parameters, in one process and across processes; another seed does change them."""

from __future__ import annotations

import json
import math

import pytest
import torch

import pinnlab as pl
from pinnlab import runs

# numbers that depend only on the computation (not on the clock or the machine)
TIMING = {"wall_s", "ms_per_step", "versions", "compiled"}

COMMANDS = {
    # resampling every 5 steps from Sobol, the Adam -> L-BFGS switch, float32 Adam then float64 L-BFGS
    "pinn-sobol-resample-lbfgs": ["solve", "heat1d", "--steps", "20", "--lbfgs-steps", "10", "--points", "64",
                                  "--boundary-points", "8", "--width", "8", "--depth", "2", "--resample-every", "5",
                                  "--eval-every", "5"],
    # random initialisation of another layer kind, Latin hypercube points, float64 throughout
    "pinn-sine-lhs-float64": ["solve", "burgers", "--layer", "sine", "--sampler", "lhs", "--dtype", "float64",
                              "--steps", "15", "--lbfgs-steps", "5", "--points", "64", "--boundary-points", "8",
                              "--width", "8", "--depth", "2", "--resample-every", "4", "--eval-every", "5"],
    # the neural ODE: random trajectories, noise and mini-batch windows
    "node-noise": ["solve", "lotka-volterra", "--solver", "node", "--steps", "15", "--lbfgs-steps", "5", "--width", "8",
                   "--depth", "2",
                   "--opt", "trajectories=3", "--opt", "samples=21", "--opt", "window=5", "--opt", "batch=8",
                   "--opt", "noise=0.01", "--eval-every", "5"],
}
COMMON = ["--quiet", "--no-plot", "--compile", "off"]


def _numbers(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in TIMING}


def _params(run_dir) -> list[torch.Tensor]:
    from pinnlab.solvers.base import model_state
    return list(model_state(runs.load_checkpoint(run_dir / "checkpoint.pt")["task"]).values())


def _history(run_dir) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in ("wall_s", "time_s")} for row in runs.read_history(
        run_dir / "history.csv")]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_same_command_twice_in_two_processes_is_bit_identical(name, tmp_path, launcher):
    args = COMMANDS[name] + COMMON
    jobs = [launcher.start([*args, "--seed", "7", "--out", tmp_path / r], tmp_path) for r in ("a", "b")]
    jobs.append(launcher.start([*args, "--seed", "8", "--out", tmp_path / "c"], tmp_path))
    assert [j.wait() for j in jobs] == [0, 0, 0], [j.stderr for j in jobs]
    a, b, c = (json.loads((tmp_path / r / "report.json").read_text()) for r in "abc")
    assert _numbers(a) == _numbers(b)  # exact equality of every float, not a tolerance
    assert _history(tmp_path / "a") == _history(tmp_path / "b")
    pa, pb, pc = (_params(tmp_path / r) for r in "abc")
    assert pa and len(pa) == len(pb)
    assert all(torch.equal(x, y) for x, y in zip(pa, pb))
    # the seed reaches the run: another seed gives other parameters and other numbers
    assert not all(torch.equal(x, y) for x, y in zip(pa, pc))
    assert a["final_loss"] != c["final_loss"] and math.isfinite(a["final_loss"])


def test_same_seed_twice_in_one_process_is_bit_identical(tmp_path):
    # in one process the global torch RNG has moved on between the runs: each run must reseed it
    cfg = pl.SolveConfig(width=10, depth=2, steps=30, lbfgs_steps=10, points=64, boundary_points=8, seed=11,
                         resample_every=7, eval_every=10, sampler="sobol", compile="off")
    a = pl.solve("burgers", cfg, out=tmp_path / "a")
    torch.rand(100)
    b = pl.solve("burgers", cfg, out=tmp_path / "b")
    assert _numbers(a.report) == _numbers(b.report)
    for x, y in zip(a.net.state_dict().values(), b.net.state_dict().values()):
        assert torch.equal(x, y)
