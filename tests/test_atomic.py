"""Run files survive SIGKILL at any moment: every file left in a run directory loads."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from pinnlab import runs

# a run that writes its checkpoint and history at every step, for as long as it is let live;
# the last job gets a budget it can finish, so report.json and predictions.npz are written and
# checked too (a SIGKILL leaves no report: what each kill leaves is config, history and checkpoint)
WRITER = """
import pinnlab as pl
run, mode, steps = ARGS
cfg = pl.SolveConfig(width=16, depth=2, steps=int(steps), lbfgs_steps=0, points=64, boundary_points=4,
                     checkpoint_every=1, eval_every=5, compile="off", seed=3)
if mode == "new":
    pl.solve("poisson1d", cfg, out=run)
else:
    pl.resume(run)
"""
KILLS = 20


def _loads(path: Path) -> None:
    """Open a run file the way pinnlab reads it back; raises if it is torn."""
    if path.suffix == ".json":
        json.loads(path.read_text())
    elif path.suffix == ".csv":
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and all(None not in r and None not in r.values() for r in rows)
    elif path.suffix == ".pt":
        state = runs.load_checkpoint(path)
        assert {"trainer", "task"} <= set(state)
    elif path.suffix == ".npz":
        with np.load(path) as d:
            [d[k] for k in d.files]
    else:
        raise AssertionError(f"unexpected file {path.name}")


def _wait_for_new_checkpoint(ckpt: Path, before: int, job) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ckpt.exists() and ckpt.stat().st_mtime_ns != before:
            return
        assert job.returncode is None
        time.sleep(0.005)
    raise AssertionError(f"no checkpoint written within a minute: {job.stderr}")


def _kill_when_a_write_is_under_way(run: Path, job) -> None:
    """SIGKILL as soon as a temporary file shows up (polling without sleeping: writes are short)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(n.endswith(".tmp") for n in os.listdir(run)):
            break
    job.signal(signal.SIGKILL)


def test_sigkill_during_checkpoint_writes_leaves_only_loadable_files(tmp_path, launcher):
    run = tmp_path / "run"
    ckpt = run / "checkpoint.pt"
    rng = random.Random(0)
    torn = 0
    for attempt in range(KILLS):
        mode = "new" if attempt == 0 else "resume"
        before = ckpt.stat().st_mtime_ns if ckpt.exists() else 0
        job = launcher.start([str(run), mode, 10**6], tmp_path, script=WRITER)
        _wait_for_new_checkpoint(ckpt, before, job)
        if attempt % 2:
            _kill_when_a_write_is_under_way(run, job)
        else:
            time.sleep(rng.uniform(0.0, 0.05))  # a step and its checkpoint take milliseconds: land anywhere
            job.signal(signal.SIGKILL)
        assert job.wait() == -signal.SIGKILL
        files = [p for p in run.iterdir() if not p.name.startswith(".")]  # dot-files: lock, unfinished temporaries
        assert {"config.json", "checkpoint.pt", "history.csv"} <= {p.name for p in files}
        for p in files:
            _loads(p)
        leftovers = [p for p in run.glob(".*.tmp")]
        torn += bool(leftovers)
        for p in leftovers:  # what a kill in the middle of a write leaves: the half-written temporary
            p.unlink()
    # some kills landed inside a write (a temporary was left), so the test did meet torn writes
    assert torn >= 1
    # what was left still resumes to the end, and the finished run's files load too
    done = runs.load_checkpoint(ckpt)["trainer"]["step"]
    config = json.loads((run / "config.json").read_text())
    config["config"]["steps"] = done + 3
    (run / "config.json").write_text(json.dumps(config))
    job = launcher.start([str(run), "resume", 0], tmp_path, script=WRITER)
    assert job.wait() == 0, job.stderr
    for p in run.iterdir():
        if not p.name.startswith("."):
            _loads(p)
    assert json.loads((run / "report.json").read_text())["status"] == "completed"
    assert torch.load(ckpt, weights_only=False)["trainer"]["step"] == done + 3


def test_a_run_without_a_report_is_running_only_while_a_process_holds_it(tmp_path):
    from pinnlab import runs

    d = tmp_path / "run"
    d.mkdir()
    runs.write_json(d / runs.CONFIG, {"problem": "poisson1d", "config": {}})
    with runs.dir_lock(d):
        assert runs.load_run(d).status == "running"
    assert runs.load_run(d).status == "stopped"  # killed before its first report: not running forever


SMALL = ["--steps", "20", "--lbfgs-steps", "0", "--points", "16", "--width", "4", "--depth", "1",
         "--checkpoint-every", "5", "--compile", "off", "--no-plot", "--quiet"]


def _out_of_memory_from(call: int):
    """torch.save that runs out of memory from its ``call``-th use on, as it does under ``ulimit -v``: a
    MemoryError that torch's zip writer turns into a RuntimeError on its way out."""
    real, count = torch.save, [0]

    def save(obj, f, *args, **kwargs):
        count[0] += 1
        if count[0] < call:
            return real(obj, f, *args, **kwargs)
        try:
            raise MemoryError
        except MemoryError:
            raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64 vs 0") from None
    return save


def test_out_of_memory_at_the_first_checkpoint_is_one_line_and_leaves_no_folder(tmp_path, run_cli, monkeypatch):
    monkeypatch.setattr(runs.torch, "save", _out_of_memory_from(1))
    rc, _, err = run_cli(["solve", "decay", *SMALL, "--out", str(tmp_path / "run")])
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "not enough memory to write the checkpoint" in lines[0], err
    assert not (tmp_path / "run").exists()  # nothing could be kept: the folder could not be resumed


def test_out_of_memory_at_a_later_checkpoint_fails_the_run_and_keeps_the_last_one(tmp_path, run_cli, monkeypatch):
    monkeypatch.setattr(runs.torch, "save", _out_of_memory_from(2))
    run = tmp_path / "run"
    rc, _, err = run_cli(["solve", "decay", *SMALL, "--out", str(run)])
    assert rc == 1 and "Traceback" not in err and "not enough memory" in err, err
    assert json.loads((run / "report.json").read_text())["status"] == "failed"
    assert runs.load_checkpoint(run / "checkpoint.pt")["trainer"]["step"] == 5


LONG = ["--steps", "1000000", "--lbfgs-steps", "0", "--points", "16", "--width", "4", "--depth", "1",
        "--checkpoint-every", "20", "--compile", "off", "--no-plot", "--quiet"]


def test_a_resumed_run_killed_reads_stopped_not_interrupted_at_its_old_step(tmp_path, launcher):
    run, ckpt = tmp_path / "run", tmp_path / "run" / "checkpoint.pt"
    first = launcher.start(["solve", "decay", *LONG, "--out", run], tmp_path)
    _wait_for_new_checkpoint(ckpt, 0, first)
    first.signal(signal.SIGINT)
    assert first.wait() == 130, first.stderr
    assert runs.load_run(run).status == "interrupted"
    old = runs.load_checkpoint(ckpt)["trainer"]["step"]
    again = launcher.start(["solve", "--resume", run, "--quiet", "--no-plot"], tmp_path)
    _wait_for_new_checkpoint(ckpt, ckpt.stat().st_mtime_ns, again)
    again.signal(signal.SIGKILL)
    assert again.wait() == -signal.SIGKILL
    assert runs.load_checkpoint(ckpt)["trainer"]["step"] > old
    # the report of step `old` is gone: the run reads stopped (resume it), not interrupted long ago
    assert not (run / "report.json").exists() and runs.load_run(run).status == "stopped"
    last = launcher.start(["solve", "--resume", run, "--quiet", "--no-plot"], tmp_path)
    _wait_for_new_checkpoint(ckpt, ckpt.stat().st_mtime_ns, last)
    last.signal(signal.SIGINT)
    assert last.wait() == 130, last.stderr
    assert runs.load_run(run).status == "interrupted"


def test_a_full_disk_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    import errno

    path = tmp_path / "report.json"
    runs.write_json(path, {"status": "completed"})

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(runs.os, "fsync", full)
    with pytest.raises(runs.RunError, match="cannot be written \\(No space left on device\\)"):
        runs.write_json(path, {"status": "interrupted"})
    assert json.loads(path.read_text()) == {"status": "completed"}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary left behind
