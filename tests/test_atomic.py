"""Run files survive SIGKILL at any moment, and parallel runs never share a directory."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from conftest import console_script

# a run that writes its checkpoint, history and report at every step, for a long time
WRITER = """
import sys
import pinnlab as pl
cfg = pl.SolveConfig(width=16, depth=2, steps=10**6, lbfgs_steps=0, points=64, boundary_points=4,
                     checkpoint_every=1, eval_every=5, compile="off")
run = sys.argv[1]
if sys.argv[2] == "new":
    pl.solve("poisson1d", cfg, out=run)
else:
    pl.resume(run)
"""


def _loads(path: Path) -> None:
    """Open a run file the way pinnlab reads it back; raises if it is torn."""
    if path.suffix == ".json":
        json.loads(path.read_text())
    elif path.suffix == ".csv":
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and all(None not in r for r in rows)
    elif path.suffix == ".pt":
        torch.load(path, weights_only=False)
    elif path.suffix == ".npz":
        with np.load(path) as d:
            [d[k] for k in d.files]


def test_sigkill_during_checkpoint_writes_leaves_only_loadable_files(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    run = tmp_path / "run"
    rng = random.Random(0)
    kills = 0
    for attempt in range(6):
        mode = "new" if attempt == 0 else "resume"
        proc = subprocess.Popen([sys.executable, str(script), str(run), mode], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        ckpt = run / "checkpoint.pt"
        before = ckpt.stat().st_mtime_ns if ckpt.exists() else 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until this process is writing checkpoints
            if ckpt.exists() and ckpt.stat().st_mtime_ns != before:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
        files = [p for p in run.iterdir() if not p.name.startswith(".")]  # dot-files are unfinished temporaries
        assert {"config.json", "checkpoint.pt", "history.csv"} <= {p.name for p in files}
        for p in files:
            _loads(p)
    assert kills == 6
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state  # and the run still resumes from what was left
    p = subprocess.run([*console_script(), "report", str(run)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "Traceback" not in p.stderr


def test_parallel_runs_under_one_root_never_share_a_directory(tmp_path):
    args = ["solve", "poisson1d", "--steps", "3", "--lbfgs-steps", "0", "--points", "16", "--width", "4",
            "--depth", "1", "--quiet", "--no-plot", "--seed", "5"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [subprocess.Popen([*console_script(), *args], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    dirs = sorted((tmp_path / "runs").iterdir())
    assert len(dirs) == 4  # same problem, layer, seed and second: still four directories
    for d in dirs:
        cfg = json.loads((d / "config.json").read_text())
        rep = json.loads((d / "report.json").read_text())
        assert cfg["problem"] == "poisson1d" and rep["status"] == "completed"


def test_parallel_runs_racing_for_one_out_dir_one_wins(tmp_path):
    target = tmp_path / "same"
    args = ["solve", "poisson1d", "--steps", "3", "--lbfgs-steps", "0", "--points", "16", "--width", "4",
            "--depth", "1", "--quiet", "--no-plot", "--out", str(target)]
    procs = [subprocess.Popen([*console_script(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=180) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2, 2, 2], outs
    assert all("exists" in err for p, (_, err) in zip(procs, outs) if p.returncode == 2)
    assert json.loads((target / "report.json").read_text())["status"] == "completed"
