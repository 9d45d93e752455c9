"""Data-parallel runs (gloo, 2 processes on CPU, launched with torchrun's environment contract): the
same parameters as one process over the same global points, SIGTERM then resume on another number of
ranks, and a rank that dies failing the run cleanly instead of hanging."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import pinnlab as pl

# odd set sizes: the shards differ by a point, which the loss weighting must account for
TINY = dict(width=6, depth=2, points=41, boundary_points=9, seed=4, dtype="float64", lbfgs_dtype="float64",
            eval_every=5, checkpoint_every=5)
ARGS = ["--width", "6", "--depth", "2", "--points", "41", "--boundary-points", "9", "--seed", "4", "--dtype",
        "float64", "--eval-every", "5", "--checkpoint-every", "5", "--quiet", "--no-plot"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args: list[str], cwd: Path, nproc: int = 2, **env: str) -> list[subprocess.Popen]:
    """``nproc`` processes of ``python -m pinnlab ARGS`` with the environment torchrun gives its workers."""
    base = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": str(nproc),
            "LOCAL_WORLD_SIZE": str(nproc), "PINNLAB_DIST_TIMEOUT": "30", "PYTHONUNBUFFERED": "1", **env}
    return [subprocess.Popen([sys.executable, "-m", "pinnlab", *map(str, args)], cwd=cwd, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**base, "RANK": str(r), "LOCAL_RANK": str(r)}) for r in range(nproc)]


def finish(procs: list[subprocess.Popen], timeout: float = 120) -> list[tuple[int, str]]:
    out = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise AssertionError("a rank hung") from None
        out.append((p.returncode, err))
    return out


def params(run: Path) -> list[torch.Tensor]:
    return list(torch.load(run / "checkpoint.pt", weights_only=False)["task"]["model"].values())


@pytest.mark.parametrize("steps,lbfgs,batch,compile_", [
    (12, 8, 0, "off"), (12, 4, 16, "off"),
    # compiled (Adam's update in the graph in one process, the compiled step and fused Adam on two)
    pytest.param(6, 3, 0, "on", marks=pytest.mark.slow)], ids=["adam+lbfgs", "mini-batches", "compiled"])
def test_two_ranks_give_the_parameters_of_one_process_over_the_same_points(steps, lbfgs, batch, compile_, tmp_path):
    one = pl.solve("heat1d", pl.SolveConfig(**TINY, steps=steps, lbfgs_steps=lbfgs, batch_size=batch,
                                            compile=compile_), out=tmp_path / "one")
    two = tmp_path / "two"
    results = finish(launch(["solve", "heat1d", *ARGS, "--steps", steps, "--lbfgs-steps", lbfgs, "--batch-size",
                             batch, "--compile", compile_, "--out", two], tmp_path), timeout=600)
    assert [rc for rc, _ in results] == [0, 0], results
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]  # one run directory, written by rank 0
    report = json.loads((two / "report.json").read_text())
    assert report["steps"] == one.report["steps"] == steps + lbfgs
    for a, b in zip(params(tmp_path / "one"), params(two)):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-11)
    assert report["rel_l2"] == pytest.approx(one.report["rel_l2"], rel=1e-9)
    assert report["final_loss"] == pytest.approx(one.report["final_loss"], rel=1e-9)


def test_sigterm_stops_both_ranks_at_one_step_and_one_process_resumes_the_run(tmp_path):
    run = tmp_path / "run"
    procs = launch(["solve", "heat1d", *ARGS, "--compile", "off", "--steps", 100000, "--lbfgs-steps", 0, "--out",
                    run], tmp_path)
    deadline = time.monotonic() + 120
    while not (run / "checkpoint.pt").exists():
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.05)
    for p in procs:  # as torchrun passes on a Ctrl-C or kill
        p.send_signal(signal.SIGTERM)
    results = finish(procs)
    assert [rc for rc, _ in results] == [130, 130], results
    report = json.loads((run / "report.json").read_text())
    ckpt = torch.load(run / "checkpoint.pt", weights_only=False)
    assert report["status"] == "interrupted" and ckpt["trainer"]["step"] == report["adam_steps"] > 0
    # go on with one process (the checkpoint holds no per-rank state) and a budget just past the cut
    config = json.loads((run / "config.json").read_text())
    config["config"]["steps"] = report["adam_steps"] + 5
    (run / "config.json").write_text(json.dumps(config))
    resumed = pl.resume(run)
    assert resumed.report["status"] == "completed" and resumed.report["adam_steps"] == report["adam_steps"] + 5


def test_a_rank_that_dies_fails_the_run_with_exit_1_and_does_not_hang(tmp_path):
    run = tmp_path / "run"
    # a timeout far beyond the test's: rank 0 must notice the closed connection, not wait the timeout out
    procs = launch(["solve", "heat1d", *ARGS, "--compile", "off", "--steps", 100000, "--lbfgs-steps", 0, "--out",
                    run], tmp_path, PINNLAB_DIST_TIMEOUT="600")
    deadline = time.monotonic() + 120
    while not (run / "checkpoint.pt").exists():
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.05)
    procs[1].kill()
    (rc, err), _ = finish(procs, timeout=120)
    assert rc == 1 and "Traceback" not in err, err
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "failed" and "another rank" in report["message"]
    assert (run / "checkpoint.pt").exists()  # the work done is kept


def test_a_solver_that_keeps_no_shards_is_refused_on_several_processes_with_one_line(tmp_path):
    run = tmp_path / "run"
    results = finish(launch(["solve", "decay", "--solver", "node", "--steps", 2, "--lbfgs-steps", 0, "--quiet",
                             "--no-plot", "--out", run], tmp_path))
    for rc, err in results:
        assert rc == 2 and "cannot split its work between 2 processes" in err and "Traceback" not in err, err
    assert not run.exists()
