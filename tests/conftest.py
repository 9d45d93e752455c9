"""Shared fixtures: tiny problem files, a CLI runner (in-process and as a real subprocess), tiny budgets."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The smallest budget that still starts a run (bad-input tests must fail before training anyway).
TINY = ["--steps", "2", "--lbfgs-steps", "0", "--points", "16", "--boundary-points", "4", "--no-plot", "--quiet"]

PROBLEM_HEADER = """\
import math
import numpy as np
import torch
from pinnlab import Box, Dirichlet, Initial, PointData, Problem, Recipe
"""

# A 1-D ODE problem file that is valid; tests derive broken variants from it.
VALID_PROBLEM = PROBLEM_HEADER + """
problem = Problem(
    name="tiny-decay",
    domain=Box(t=(0.0, 1.0)),
    fields=("u",),
    params={"k": 1.0},
    residual=lambda f, p: f.u.t + p.k * f.u,
    conditions=[Initial(u=1.0)],
    exact=lambda t, p: torch.exp(-p.k * t),
    grid=33,
    recipe=Recipe(width=8, depth=2, steps=20, lbfgs_steps=0, lr=1e-2, points=32, boundary_points=1),
)
"""


def console_script() -> list[str]:
    """The installed ``pinnlab`` entry point next to this interpreter, or ``python -m pinnlab.cli``."""
    exe = Path(sys.executable).parent / "pinnlab"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pinnlab.cli"]


def run_cli_subprocess(args: list[str], cwd: Path | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """Run the real console script; returns (exit code, stdout, stderr)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.run([*console_script(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def run_cli_inprocess(args: list[str]) -> tuple[int, str, str]:
    """Run ``pinnlab.cli.main(args)`` in this process (the console script's own code path, minus the
    interpreter start-up). An exception escaping ``main`` is what a user would see as a traceback: it is
    returned as exit code 1 with the traceback text on stderr, so assertions on it fail loudly."""
    from pinnlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    rc = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:  # noqa: BLE001 - reported as the traceback a user would see
            err.write(traceback.format_exc())
            rc = 1
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def run_cli() -> Callable[..., tuple[int, str, str]]:
    """``run_cli(args, subprocess=False)`` → (rc, stdout, stderr)."""

    def run(args: list[str], subprocess: bool = False, cwd: Path | None = None) -> tuple[int, str, str]:
        return run_cli_subprocess(args, cwd=cwd) if subprocess else run_cli_inprocess(args)

    return run


@pytest.fixture
def write_problem(tmp_path) -> Callable[[str, str], Path]:
    """``write_problem(body, name="prob.py")`` writes a problem file (the header imports come first)."""

    def write(body: str, name: str = "prob.py", header: bool = True) -> Path:
        path = tmp_path / name
        path.write_text((PROBLEM_HEADER if header else "") + textwrap.dedent(body))
        return path

    return write


# A process that imports pinnlab once and then forks a child per job: each job is a real process
# (its own signals, files and exit code) that starts in milliseconds instead of the seconds an
# interpreter needs to import torch and scipy. That is what lets a test kill 20 runs or start
# several at the same instant. The parent never runs torch code, so forking it is safe.
LAUNCHER = r"""
import json, os, sys, traceback
import torch._dynamo  # torch.optim imports it (seconds) on first use: once here, not in every job
import pinnlab.solvers.pinn
from pinnlab.cli import main
print("ready", flush=True)
for line in sys.stdin:
    req = json.loads(line)
    if "wait" in req:
        _, status = os.waitpid(req["wait"], 0)
        print(json.dumps(os.waitstatus_to_exitcode(status)), flush=True)
        continue
    pid = os.fork()
    if pid:
        print(json.dumps(pid), flush=True)
        continue
    code = 1
    try:
        os.chdir(req["cwd"])
        for fd, name in ((1, req["stdout"]), (2, req["stderr"])):
            os.dup2(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        if req.get("script"):
            exec(compile(req["script"], "<job>", "exec"), {"__name__": "__job__", "ARGS": req["args"]})
        else:
            main(req["args"])
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
"""


class Job:
    """One forked ``pinnlab`` process: ``pid``, and its stdout/stderr once it has ended."""

    def __init__(self, launcher: Launcher, pid: int, out: Path, err: Path):
        self.launcher, self.pid, self._out, self._err = launcher, pid, out, err
        self.returncode: int | None = None

    def wait(self) -> int:
        """Exit code (negative: killed by that signal), as ``subprocess`` reports it."""
        if self.returncode is None:
            self.returncode = self.launcher._ask({"wait": self.pid})
        return self.returncode

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    @property
    def stdout(self) -> str:
        return self._out.read_text()

    @property
    def stderr(self) -> str:
        return self._err.read_text()


class Launcher:
    """Starts ``pinnlab`` CLI commands (or a Python ``script`` given ``ARGS``) as forked processes."""

    def __init__(self, logs: Path):
        self.logs, self.count = logs, 0
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.proc.stdout.readline().strip() == "ready"

    def _ask(self, req: dict):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def start(self, args: list[str], cwd: Path, script: str | None = None) -> Job:
        self.count += 1
        out, err = self.logs / f"job{self.count}.out", self.logs / f"job{self.count}.err"
        pid = self._ask({"args": [str(a) for a in args], "cwd": str(cwd), "stdout": str(out), "stderr": str(err),
                         "script": script})
        return Job(self, pid, out, err)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="session")
def launcher(tmp_path_factory):
    """A session-wide :class:`Launcher` (one interpreter start-up for every forked job)."""
    la = Launcher(tmp_path_factory.mktemp("jobs"))
    yield la
    la.close()


@pytest.fixture
def in_tmp_cwd(tmp_path, monkeypatch) -> Path:
    """Run with ``tmp_path`` as the working directory (the default ``runs/`` root lands there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    "not __import__('torch').cuda.is_available()", reason="no CUDA device on this machine"))])
def device(request) -> str:
    """Each device this machine has: the CPU always, CUDA where present. A check that passes on the
    CPU and fails on a GPU is then the device path, not the check."""
    return request.param


@pytest.fixture
def compile_device(device) -> str:
    """:func:`device`, where torch.compile can run there (CUDA needs triton)."""
    import importlib.util
    if device == "cuda" and importlib.util.find_spec("triton") is None:
        pytest.skip("torch.compile on CUDA needs triton")
    return device
