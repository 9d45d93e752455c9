"""Parallel pinnlab processes under one runs/ folder never share or clobber a directory."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from pinnlab import runs

SMALL = ["--steps", "3", "--lbfgs-steps", "0", "--points", "16", "--boundary-points", "2", "--width", "4",
         "--depth", "1", "--quiet", "--no-plot", "--compile", "off"]
# long enough to still be running when a second process arrives (it is stopped by a signal)
LONG = ["--steps", "100000", "--lbfgs-steps", "0", "--points", "32", "--width", "8", "--depth", "2", "--quiet",
        "--no-plot", "--compile", "off"]


def _wait_for(path: Path, job, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} not written: {job.stderr}"
        time.sleep(0.01)


def test_parallel_solves_and_a_compare_under_one_root_never_share_a_directory(tmp_path, launcher):
    # same problem, layer, seed and second for every solve: the names can only differ by their random part
    jobs = [launcher.start(["solve", "poisson1d", *SMALL, "--seed", "5"], tmp_path) for _ in range(5)]
    jobs.append(launcher.start(["compare", "poisson1d", "--seeds", "2", *SMALL], tmp_path))
    codes = [j.wait() for j in jobs]
    assert codes == [0] * 6, [j.stderr for j in jobs]
    dirs = sorted(p for p in (tmp_path / "runs").iterdir() if p.name != "compare")
    assert len(dirs) == 5
    for d in dirs:
        assert json.loads((d / "config.json").read_text())["config"]["seed"] == 5
        assert json.loads((d / "report.json").read_text())["status"] == "completed"
    reports = sorted((tmp_path / "runs" / "compare").rglob("report.json"))
    assert len(reports) == 2 and all(json.loads(r.read_text())["status"] == "completed" for r in reports)
    # the five identical runs are bit-identical: no process wrote into another's files
    finals = {json.loads((d / "report.json").read_text())["final_loss"] for d in dirs}
    assert len(finals) == 1


def test_processes_racing_for_one_out_dir_have_one_winner(tmp_path, launcher):
    target = tmp_path / "same"
    jobs = [launcher.start(["solve", "poisson1d", *SMALL, "--out", target], tmp_path) for _ in range(4)]
    codes = sorted(j.wait() for j in jobs)
    assert codes == [0, 2, 2, 2], [j.stderr for j in jobs]
    assert all("exists" in j.stderr and len(j.stderr.strip().splitlines()) == 1 for j in jobs if j.returncode == 2)
    assert json.loads((target / "report.json").read_text())["status"] == "completed"


def test_a_run_being_resumed_cannot_be_resumed_twice(tmp_path, launcher):
    run = tmp_path / "run"
    first = launcher.start(["solve", "poisson1d", *LONG, "--out", run], tmp_path)
    _wait_for(run / "checkpoint.pt", first)
    first.signal(signal.SIGINT)
    assert first.wait() == 130, first.stderr
    a = launcher.start(["solve", "--resume", run, "--quiet", "--no-plot"], tmp_path)
    before = (run / "checkpoint.pt").stat().st_mtime_ns
    while (run / "checkpoint.pt").stat().st_mtime_ns == before:  # a is training
        assert a.returncode is None
        time.sleep(0.01)
    b = launcher.start(["solve", "--resume", run, "--quiet", "--no-plot"], tmp_path)
    assert b.wait() == 2
    assert "in use" in b.stderr and len(b.stderr.strip().splitlines()) == 1
    a.signal(signal.SIGTERM)
    assert a.wait() == 130, a.stderr
    assert json.loads((run / "report.json").read_text())["status"] == "interrupted"
    assert runs.load_checkpoint(run / "checkpoint.pt")["trainer"]["step"] > 0


def test_a_second_compare_into_a_busy_folder_is_refused_and_the_first_finishes(tmp_path, launcher):
    out = tmp_path / "cmp"
    args = ["compare", "poisson1d", "--seeds", "2", "--out", out, "--no-plot", "--quiet", "--steps", "300",
            "--lbfgs-steps", "0", "--points", "32", "--width", "8", "--depth", "2", "--compile", "off"]
    a = launcher.start(args, tmp_path)
    _wait_for(out / "poisson1d", a)
    b = launcher.start(args, tmp_path)
    assert b.wait() == 2, b.stderr
    assert "in use by another pinnlab compare" in b.stderr
    assert a.wait() == 0, a.stderr
    assert len(list(out.rglob("report.json"))) == 2
    again = launcher.start(args, tmp_path)  # once the first is done the folder is free: nothing left to run
    assert again.wait() == 0, again.stderr
