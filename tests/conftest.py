"""Shared fixtures: tiny problem files, a CLI runner (in-process and as a real subprocess), tiny budgets."""

from __future__ import annotations

import contextlib
import io
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


@pytest.fixture
def in_tmp_cwd(tmp_path, monkeypatch) -> Path:
    """Run with ``tmp_path`` as the working directory (the default ``runs/`` root lands there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
