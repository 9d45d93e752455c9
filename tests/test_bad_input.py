"""Bad input: one line on stderr naming the bad value and what is allowed, exit 2, no traceback.

Every case runs through the CLI (in process, the console script's own code path); a sample
also runs as a real subprocess. The same mistakes through the Python API raise the documented
pinnlab exception types instead of exiting.
"""

from __future__ import annotations

import json

import pytest
from conftest import TINY, VALID_PROBLEM

import pinnlab as pl

# (id, CLI arguments, substring the one-line message must contain). "{file:NAME}" is replaced by
# the path of a problem file written from BROKEN_FILES[NAME]; "{tmp}" by the test's tmp dir.
CASES = [
    ("unknown problem", ["solve", "nosuch"], "unknown problem 'nosuch'"),
    ("unknown layer", ["solve", "poisson1d", "--layer", "tanhh"], "unknown layer kind 'tanhh'"),
    ("unknown layer option", ["solve", "poisson1d", "--layer", "sine", "--layer-opt", "omega=3"],
     "unknown option 'omega' for layer 'sine'"),
    ("layer option not a number", ["solve", "poisson1d", "--layer", "sine", "--layer-opt", "omega0=fast"],
     "omega0"),
    ("layer option without =", ["solve", "poisson1d", "--layer-opt", "omega0"], "KEY=VALUE"),
    ("negative omega0", ["solve", "poisson1d", "--layer", "sine", "--layer-opt", "omega0=-1"], "omega0"),
    ("yat eps zero", ["solve", "poisson1d", "--layer", "yat", "--layer-opt", "eps=0"], "eps"),
    ("unknown solver", ["solve", "poisson1d", "--solver", "fem"], "'fem'"),
    ("unknown device", ["solve", "poisson1d", "--device", "tpu"], "'tpu'"),
    ("unknown dtype", ["solve", "poisson1d", "--dtype", "float16"], "'float16'"),
    ("unknown lbfgs dtype", ["solve", "poisson1d", "--lbfgs-dtype", "half"], "'half'"),
    ("unknown sampler", ["solve", "poisson1d", "--sampler", "grid"], "'grid'"),
    ("unknown init", ["solve", "poisson1d", "--init", "glorot"], "'glorot'"),
    ("unknown engine", ["solve", "poisson1d", "--derivatives", "symbolic"], "'symbolic'"),
    ("unknown compile mode", ["solve", "poisson1d", "--compile", "maybe"], "'maybe'"),
    ("zero width", ["solve", "poisson1d", "--width", "0"], "width"),
    ("negative depth", ["solve", "poisson1d", "--depth", "-2"], "depth"),
    ("zero steps", ["solve", "poisson1d", "--steps", "0"], "steps"),
    ("negative lbfgs steps", ["solve", "poisson1d", "--lbfgs-steps", "-1"], "lbfgs"),
    ("zero points", ["solve", "poisson1d", "--points", "0"], "points"),
    ("non-integer steps", ["solve", "poisson1d", "--steps", "ten"], "ten"),
    ("negative lr", ["solve", "poisson1d", "--lr", "-0.1"], "lr"),
    ("nan lr", ["solve", "poisson1d", "--lr", "nan"], "lr"),
    ("zero threads", ["solve", "poisson1d", "--threads", "0"], "threads"),
    ("unknown --set parameter", ["solve", "burgers", "--set", "mu=0.1"], "'mu'"),
    ("non-numeric --set value", ["solve", "burgers", "--set", "nu=fast"], "nu"),
    ("--set code is not evaluated", ["solve", "burgers", "--set", "nu=__import__('os').getcwd()"], "nu"),
    ("--set without =", ["solve", "burgers", "--set", "nu"], "KEY=VALUE"),
    ("unknown loss weight", ["solve", "poisson1d", "--weight", "pde=2"], "'pde'"),
    ("--hard without a constraint", ["solve", "poisson1d", "--hard"], "hard constraint"),
    ("problem file missing", ["solve", "{tmp}/nothere.py"], "nothere.py"),
    ("problem file fails to import", ["solve", "{file:syntax}"], "SyntaxError"),
    ("problem file raises on import", ["solve", "{file:raises}"], "ZeroDivisionError"),
    ("problem file defines no Problem", ["solve", "{file:empty}"], "no Problem"),
    ("problem file defines two Problems", ["solve", "{file:two}"], "2 Problems"),
    ("field named like a coordinate", ["solve", "{file:fieldname}"], "coordinate"),
    ("condition outside the domain", ["solve", "{file:outside}"], "outside"),
    ("residual of the wrong shape", ["solve", "{file:shape}"] + TINY, "shape"),
    ("residual raises", ["solve", "{file:resraise}"] + TINY, "KeyError"),
    ("residual asks for an unknown field", ["solve", "{file:unknownfield}"] + TINY, "'w'"),
    ("residual asks for an unknown partial", ["solve", "{file:badpartial}"] + TINY, "u.y"),
    ("node solver on a PDE", ["solve", "heat1d", "--solver", "node"], "ODE"),
    ("resume a missing run", ["solve", "--resume", "{tmp}/norun"], "norun"),
    ("resume a directory that is no run", ["solve", "--resume", "{tmp}/notarun"], "notarun"),
    ("resume an incomplete run", ["solve", "--resume", "{tmp}/halfrun"], "no checkpoint"),
    ("resume an incompatible run", ["solve", "--resume", "{tmp}/oldrun"], "incompatible"),
    ("resume a completed run", ["solve", "--resume", "{tmp}/donerun"], "already completed"),
    ("problem and --resume together", ["solve", "poisson1d", "--resume", "{tmp}/halfrun"], "not both"),
    ("neither problem nor --resume", ["solve"], "missing PROBLEM"),
    ("--out exists", ["solve", "poisson1d", "--out", "{tmp}/exists"] + TINY, "exists"),
    ("show unknown problem", ["show", "nosuch"], "unknown problem"),
    ("list unknown kind", ["list", "--kind", "sde"], "'sde'"),
    ("report of a missing dir", ["report", "{tmp}/nowhere"], "nowhere"),
    ("plot of a missing dir", ["plot", "{tmp}/nowhere"], "nowhere"),
    ("compare with an unknown layer", ["compare", "poisson1d", "--layers", "tanh,nope"], "'nope'"),
    ("compare with zero seeds", ["compare", "poisson1d", "--seeds", "0"], "seeds"),
]

BROKEN_FILES = {
    "syntax": "problem = Problem(\n",
    "raises": "x = 1 / 0\n",
    "empty": "x = 1\n",
    "two": VALID_PROBLEM.split("\n", 5)[-1] + "\nother = problem\nimport dataclasses\n"
           "other = dataclasses.replace(problem, name='tiny-decay-2')\n",
    "fieldname": VALID_PROBLEM.replace('fields=("u",)', 'fields=("t",)'),
    "outside": VALID_PROBLEM.replace("Initial(u=1.0)", "PointData(np.array([[5.0]]), u=np.array([1.0]))"),
    "shape": VALID_PROBLEM.replace("residual=lambda f, p: f.u.t + p.k * f.u",
                                   "residual=lambda f, p: (f.u.t + p.k * f.u)[:3]"),
    "resraise": VALID_PROBLEM.replace("residual=lambda f, p: f.u.t + p.k * f.u",
                                      "residual=lambda f, p: {}['missing']"),
    "unknownfield": VALID_PROBLEM.replace("residual=lambda f, p: f.u.t + p.k * f.u",
                                          "residual=lambda f, p: f.w.t + p.k * f.u"),
    "badpartial": VALID_PROBLEM.replace("residual=lambda f, p: f.u.t + p.k * f.u",
                                        "residual=lambda f, p: f.u.y + p.k * f.u"),
}


def _fill(args: list[str], tmp, files) -> list[str]:
    out = []
    for a in args:
        if a.startswith("{file:"):
            a = str(files[a[6:-1]])
        out.append(a.replace("{tmp}", str(tmp)))
    return out


@pytest.fixture
def broken(tmp_path, write_problem):
    files = {name: write_problem(body, name=f"{name}.py") for name, body in BROKEN_FILES.items()}
    (tmp_path / "notarun").mkdir()
    (tmp_path / "exists").mkdir()
    old = tmp_path / "oldrun"
    old.mkdir()
    (old / "config.json").write_text(json.dumps({"problem": "poisson1d", "config": {}}))
    cfg = pl.SolveConfig(steps=2, lbfgs_steps=0, points=16, boundary_points=2, width=4, depth=1)
    pl.solve("poisson1d", cfg, out=tmp_path / "donerun")
    half = pl.solve("poisson1d", cfg, out=tmp_path / "halfrun").run_dir
    for name in ("checkpoint.pt", "report.json"):  # as if killed before its first checkpoint
        (half / name).unlink()
    return files


def _check_one_line(rc: int, err: str, needle: str) -> None:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert rc == 2, f"exit {rc}: {err}"
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{err}"
    assert needle.lower() in lines[0].lower(), f"{needle!r} not in {lines[0]!r}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(case, run_cli, broken, tmp_path, in_tmp_cwd):
    _, args, needle = case
    rc, _, err = run_cli(_fill(args, tmp_path, broken))
    _check_one_line(rc, err, needle)


def test_at_least_thirty_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in (
    "unknown problem", "unknown layer option", "problem file fails to import", "residual raises", "--out exists")],
    ids=lambda c: c[0])
def test_bad_input_through_the_real_console_script(case, run_cli, broken, tmp_path, in_tmp_cwd):
    _, args, needle = case
    rc, _, err = run_cli(_fill(args, tmp_path, broken), subprocess=True)
    _check_one_line(rc, err, needle)


def test_cuda_without_cuda_is_one_line(run_cli, in_tmp_cwd):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    rc, _, err = run_cli(["solve", "poisson1d", "--device", "cuda"])
    _check_one_line(rc, err, "cuda")


# -- the Python API raises the documented exception types ------------------------------------------

API_CASES = [
    ("unknown problem", lambda t: pl.solve("nosuch", pl.SolveConfig(), out=t / "r"), pl.ProblemError),
    ("unknown layer", lambda t: pl.solve("poisson1d", pl.SolveConfig(layer="nope"), out=t / "r"), pl.ConfigError),
    ("bad width", lambda t: pl.Net(1, 1, width=0), pl.ConfigError),
    ("bad layer option", lambda t: pl.Net(1, 1, layer="yat", eps=-1.0), pl.ConfigError),
    ("field named like a coordinate", lambda t: pl.Problem(
        name="x", domain=pl.Box(t=(0, 1)), fields=("t",), residual=lambda f, p: f.t,
        exact=lambda t: t), pl.ProblemError),
    ("bad parameter value", lambda t: pl.Problem(
        name="x", domain=pl.Box(t=(0, 1)), fields=("u",), residual=lambda f, p: f.u, params={"k": "a"},
        exact=lambda t: t), pl.ProblemError),
    ("no exact and no reference", lambda t: pl.Problem(
        name="x", domain=pl.Box(t=(0, 1)), fields=("u",), residual=lambda f, p: f.u), pl.ProblemError),
    ("empty box", lambda t: pl.Box(x=(1.0, 0.0)), pl.ProblemError),
    ("resume missing", lambda t: pl.resume(t / "none"), pl.RunError),
    ("out exists", lambda t: (t / "e").mkdir() or pl.solve("poisson1d", pl.SolveConfig(steps=1), out=t / "e"),
     pl.RunError),
    ("node on a PDE", lambda t: pl.solve("heat1d", pl.SolveConfig(solver="node"), out=t / "r"), pl.ConfigError),
]


@pytest.mark.parametrize("case", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_raises_documented_errors(case, tmp_path):
    _, fn, exc = case
    with pytest.raises(exc) as info:
        fn(tmp_path)
    assert isinstance(info.value, pl.PinnlabError)
    assert "\n" not in str(info.value)
