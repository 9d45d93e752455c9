"""Ctrl-C and ``kill`` outside training: while pinnlab itself loads, while a problem file imports or
dry-runs, and while the figures of a finished run are drawn. Each is exit 130 with one line, no
traceback, and leaves what was written intact (docs/safety.md, "When a run goes wrong")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import PROBLEM_HEADER, console_script

SMALL = ["--steps", "2", "--lbfgs-steps", "0", "--points", "16", "--width", "4", "--depth", "1", "--compile", "off",
         "--quiet"]

SLOW_IMPORT = PROBLEM_HEADER + """
import pathlib, time
pathlib.Path({marker!r}).touch()
time.sleep(60)
"""

SLOW_DRY_RUN = PROBLEM_HEADER + """
import pathlib, time
CALLS = [0]


def residual(f, p):
    CALLS[0] += 1
    if CALLS[0] == 2:  # the first call is the Problem's own check; the second, the run's before it starts
        pathlib.Path({marker!r}).touch()
        time.sleep(60)
    return f.u.t + f.u


problem = Problem(name="slow", domain=Box(t=(0.0, 1.0)), fields=("u",), residual=residual,
                  conditions=[Initial(u=1.0)], exact=lambda t: torch.exp(-t), grid=9)
"""

# a finished run whose figures take long to draw: the CLI's own code, with plot_run slowed down
SLOW_PLOT = """
import pathlib, time
import pinnlab.plots
from pinnlab.cli import main
marker, *args = ARGS


def slow(run_dir, fmt="png"):
    pathlib.Path(marker).touch()
    time.sleep(60)


pinnlab.plots.plot_run = slow
main(args)
"""


def _wait(marker: Path, job, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert time.monotonic() < deadline, f"{marker.name} never appeared: {job.stderr}"
        time.sleep(0.01)


def _one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("body", [SLOW_IMPORT, SLOW_DRY_RUN], ids=["while it imports", "while it dry-runs"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["kill", "Ctrl-C"])
def test_a_problem_file_stopped_while_it_loads_is_an_interrupt(body, sig, tmp_path, launcher):
    marker = tmp_path / "loading"
    path = tmp_path / "prob.py"
    path.write_text(body.format(marker=str(marker)))
    job = launcher.start(["solve", str(path), *SMALL], tmp_path)
    _wait(marker, job)
    job.signal(sig)
    assert job.wait() == 130, job.stderr
    assert "interrupted" in _one_line(job.stderr)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["kill", "Ctrl-C"])
def test_a_run_stopped_while_its_figures_are_drawn_is_an_interrupt_and_keeps_the_run(sig, tmp_path, launcher):
    marker, run = tmp_path / "drawing", tmp_path / "run"
    args = ["solve", "decay", *SMALL, "--out", str(run)]
    job = launcher.start([str(marker), *args], tmp_path, script=SLOW_PLOT)
    _wait(marker, job)
    job.signal(sig)
    assert job.wait() == 130, job.stderr
    line = _one_line(job.stderr)
    assert "while drawing the figures" in line and f"pinnlab plot {run}" in line, line
    assert json.loads((run / "report.json").read_text())["status"] == "completed"


def _torch_is_loading(pid: int) -> bool:
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see torch loading")
@pytest.mark.parametrize("command", [console_script(), [sys.executable, "-m", "pinnlab"]],
                         ids=["pinnlab", "python -m pinnlab"])
def test_ctrl_c_while_pinnlab_loads_is_one_line(command, tmp_path):
    proc = subprocess.Popen([*command, "list"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    while not _torch_is_loading(proc.pid):  # torch's libraries are mapped: its Python modules load next
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, err)
    assert _one_line(err) == "interrupted" and out == ""
