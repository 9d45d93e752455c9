"""Bad input: one line on stderr naming the bad value and what is allowed, exit 2, no traceback.

Every case runs through the CLI (in process, the console script's own code path); a sample
also runs as a real subprocess. The same mistakes through the Python API raise the documented
pinnlab exception types instead of exiting.
"""

from __future__ import annotations

import json
import shutil
import textwrap

import numpy as np
import pytest
import torch
from conftest import PROBLEM_HEADER, TINY, VALID_PROBLEM

import pinnlab as pl
from pinnlab import runs

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
    ("zero steps of both optimisers", ["solve", "poisson1d", "--steps", "0", "--lbfgs-steps", "0"],
     "nothing would be trained"),
    ("negative steps", ["solve", "poisson1d", "--steps", "-3"], "steps must be a non-negative integer"),
    ("negative lbfgs steps", ["solve", "poisson1d", "--lbfgs-steps", "-1"], "lbfgs"),
    ("zero points", ["solve", "poisson1d", "--points", "0"], "points"),
    ("non-integer steps", ["solve", "poisson1d", "--steps", "ten"], "ten"),
    ("negative lr", ["solve", "poisson1d", "--lr", "-0.1"], "lr"),
    ("nan lr", ["solve", "poisson1d", "--lr", "nan"], "lr"),
    ("zero threads", ["solve", "poisson1d", "--threads", "0"], "threads"),
    ("absurd thread count", ["solve", "poisson1d", "--threads", "100000"], "threads must be at most 1024"),
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
    ("compare with an absurd seed count", ["compare", "poisson1d", "--seeds", "99999999999"], "from 1 to 10000"),
    # options only a run checks: refused before compare makes its folder (the test checks runs/ stays empty)
    ("compare with an unknown loss weight", ["compare", "poisson1d", "--seeds", "1", "--weight", "foo=1"],
     "unknown loss weight 'foo'"),
    ("compare with an option the layer lacks", ["compare", "poisson1d", "--seeds", "1", "--layer-opt", "omega0=3"],
     "unknown option 'omega0' for layer 'tanh'"),
    ("compare of two problems with one name", ["compare", "{file:samename}", "{file:samename2}",
                                               "--seeds", "1"], "both problems named 'tiny-decay'"),
    ("--weight on the node solver", ["solve", "decay", "--solver", "node", "--weight", "residual=2"],
     "one loss term"),
    ("resume a diverged run", ["solve", "--resume", "{tmp}/divergedrun"], "repeat the same step"),
    ("exact solution of the wrong shape", ["solve", "{file:exactshape}"] + TINY, "exact() gave (2,) values"),
    ("exact solution raises", ["solve", "{file:exactraise}"] + TINY, "exact() raised ZeroDivisionError"),
    ("evaluation grid of one point", ["solve", "{file:grid1}"] + TINY, "grid size for 't'"),
    ("condition on an unknown field", ["solve", "{file:condfield}"], "unknown field 'w'"),
    ("condition on an unknown coordinate", ["solve", "{file:condcoord}"], "unknown coordinate 'x'"),
    ("residual returns None", ["solve", "{file:resnone}"], "NoneType"),
    ("residual with the wrong signature", ["solve", "{file:ressig}"], "TypeError"),
    ("domain that is not a Box", ["solve", "{file:notbox}"], "must be a Box"),
    ("infinite domain", ["solve", "{file:infbox}"], "finite"),
    ("repeated field names", ["solve", "{file:dupfields}"], "repeated field"),
    ("condition value not finite", ["solve", "{file:nancond}"], "Initial u: values must be finite"),
    ("point data not finite", ["solve", "{file:nandata}"], "50 non-finite values"),
    ("problem file calls sys.exit", ["solve", "{file:exits}"], "SystemExit"),
    ("problem file is not .py", ["solve", "{tmp}/problem.txt"], ".py"),
    ("--out is a file", ["solve", "poisson1d", "--out", "{tmp}/afile"] + TINY, "exists"),
    ("--out inside a file", ["solve", "poisson1d", "--out", "{tmp}/afile/run"] + TINY, "is a file, not a folder"),
    ("compare --out is a file", ["compare", "poisson1d", "--seeds", "1", "--out", "{tmp}/afile"],
     "is a file, not a folder"),
    ("report of a file", ["report", "{tmp}/afile"], "afile' is a file, not a folder"),
    ("problem file is a folder", ["solve", "{tmp}/afolder.py"], "is a folder, not a .py file"),
    ("report of a run with a damaged history", ["report", "{tmp}/tornhistory"], "history.csv line"),
    ("plot of a run with damaged predictions", ["plot", "{tmp}/tornnpz"], "predictions.npz cannot be read"),
    ("network too large for memory", ["solve", "poisson1d", "--width", "100000000"] + TINY, "not enough memory"),
    ("zero eval-every", ["solve", "poisson1d", "--eval-every", "0"], "eval-every"),
    ("negative resample-every", ["solve", "poisson1d", "--resample-every", "-1"], "resample-every"),
    ("negative loss weight", ["solve", "poisson1d", "--weight", "residual=-1"], "non-negative"),
    ("negative seed", ["solve", "poisson1d", "--seed", "-1"], "seed"),
    ("seed beyond 64 bits", ["solve", "poisson1d", "--seed", str(2**70)], "seed must be below"),
    ("--set overflowing to inf", ["solve", "burgers", "--set", "nu=1e400"], "finite"),
    ("--set integer too big for a float", ["solve", "burgers", "--set", f"nu={10**400}"], "finite"),
    ("--set given twice", ["solve", "burgers", "--set", "nu=0.1", "--set", "nu=0.2"], "twice"),
    ("--layer-opt given twice", ["solve", "poisson1d", "--layer", "sine", "--layer-opt", "omega0=1",
                                 "--layer-opt", "omega0=2"], "twice"),
    ("--opt on the pinn solver", ["solve", "poisson1d", "--opt", "foo=1"], "solver 'pinn' takes no --opt"),
    ("options beside --resume", ["solve", "--resume", "{tmp}/halfrun", "--steps", "5"], "drop --steps"),
    ("resume a corrupt checkpoint", ["solve", "--resume", "{tmp}/corruptrun"], "cannot be read"),
    ("resume a checkpoint of another network", ["solve", "--resume", "{tmp}/widerrun"], "incompatible"),
    ("resume with a torn config.json", ["solve", "--resume", "{tmp}/tornrun"], "not valid JSON"),
    ("resume a run another process holds", ["solve", "--resume", "{tmp}/busyrun"], "in use"),
    ("compare into a folder another compare holds", ["compare", "poisson1d", "--out", "{tmp}/busycompare",
                                                      "--seeds", "1"], "in use"),
    # issue 27: each was a traceback, a left-over folder or a run that could not end
    ("problem name that is a path", ["solve", "{file:pathname}"] + TINY, "problem name '../../../outside' is not"),
    ("problem name with a slash", ["solve", "{file:slashname}"] + TINY, "problem name 'a/b' is not allowed"),
    ("problem name of 300 characters", ["solve", "{file:longname}"] + TINY, "at most 100"),
    ("problem name with a newline", ["solve", "{file:newlinename}"] + TINY, "problem name 'bad\\nname'"),
    ("complex residual", ["solve", "{file:complexres}"] + TINY, "residual term 0 is complex64"),
    ("integer residual", ["solve", "{file:intres}"] + TINY, "residual term 0 is int64"),
    ("report of a config.json that is a list", ["report", "{tmp}/listconfig"], "holds a JSON list"),
    ("plot of a config.json whose config is a string", ["plot", "{tmp}/strconfig"], "needs 'problem'"),
    ("report of a config.json that is {}", ["report", "{tmp}/emptyconfig"], "needs 'problem'"),
    ("report of a report.json that is a list", ["report", "{tmp}/listreport"], "report.json"),
    ("report of an unknown status", ["report", "{tmp}/status7"], "its status 7 is none of"),
    ("resume of a config.json that is a list", ["solve", "--resume", "{tmp}/listconfig"], "holds a JSON list"),
    ("plot of a report whose per_field is a string", ["plot", "{tmp}/strperfield"], "'per_field' is 'x'"),
    ("report of a report whose solver is a list", ["report", "{tmp}/listsolver"], "'solver' is ['a']"),
    ("absurd step count", ["solve", "poisson1d", "--steps", "99999999999999999999"], "steps must be at most 1000000000"),
    ("absurd L-BFGS count", ["solve", "poisson1d", "--lbfgs-steps", "99999999999999999999"], "lbfgs-steps must be at"),
    ("absurd point count", ["solve", "poisson1d", "--points", "99999999999999999999"], "points must be at most"),
    ("absurd boundary point count", ["solve", "poisson1d", "--boundary-points", "10000000000"], "boundary-points must"),
    ("absurd depth", ["solve", "poisson1d", "--depth", "100000000"], "depth must be at most 1000000,"),
    ("absurd eval cadence", ["solve", "poisson1d", "--eval-every", "99999999999999999999"], "eval-every must be at"),
    ("compare with an absurd step count", ["compare", "poisson1d", "--seeds", "1", "--steps", str(10**12)],
     "steps must be at most"),
]

BROKEN_FILES = {
    "syntax": "problem = Problem(\n",
    "raises": "x = 1 / 0\n",
    "empty": "x = 1\n",
    # two Problems, neither named `problem` (which would say which one is meant)
    "two": VALID_PROBLEM.split("\n", 5)[-1].replace("problem = Problem(", "slow = Problem(")
           + "\nimport dataclasses\nfast = dataclasses.replace(slow, name='tiny-decay-2')\n",
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
    "exactshape": VALID_PROBLEM.replace("torch.exp(-p.k * t)", "torch.exp(-p.k * t)[:2]"),
    "exactraise": VALID_PROBLEM.replace("torch.exp(-p.k * t)", "1 / 0"),
    "grid1": VALID_PROBLEM.replace("grid=33", "grid=1"),
    "condfield": VALID_PROBLEM.replace("Initial(u=1.0)", "Initial(w=1.0)"),
    "condcoord": VALID_PROBLEM.replace("Initial(u=1.0)", "Dirichlet(u=0.0, on='x')"),
    "resnone": VALID_PROBLEM.replace("residual=lambda f, p: f.u.t + p.k * f.u", "residual=lambda f, p: None"),
    "ressig": VALID_PROBLEM.replace("residual=lambda f, p: f.u.t + p.k * f.u", "residual=lambda f: f.u.t"),
    "notbox": VALID_PROBLEM.replace("domain=Box(t=(0.0, 1.0))", "domain=(0.0, 1.0)"),
    "infbox": VALID_PROBLEM.replace("domain=Box(t=(0.0, 1.0))", "domain=Box(t=(0.0, math.inf))"),
    "dupfields": VALID_PROBLEM.replace('fields=("u",)', 'fields=("u", "u")'),
    "exits": "import sys\nsys.exit(3)\n",
    "samename": VALID_PROBLEM.split("\n", 5)[-1],
    "samename2": VALID_PROBLEM.split("\n", 5)[-1].replace('"k": 1.0', '"k": 2.0'),
    "nancond": VALID_PROBLEM.replace("Initial(u=1.0)", "Initial(u=float('nan'))"),
    "nandata": VALID_PROBLEM.replace("Initial(u=1.0)", "PointData(np.linspace(0, 1, 50)[:, None], u=np.full(50, np.inf))"),
    "pathname": VALID_PROBLEM.replace('name="tiny-decay"', 'name="../../../outside"'),
    "slashname": VALID_PROBLEM.replace('name="tiny-decay"', 'name="a/b"'),
    "longname": VALID_PROBLEM.replace('name="tiny-decay"', 'name="n" * 300'),
    "newlinename": VALID_PROBLEM.replace('name="tiny-decay"', 'name="bad\\nname"'),
    "complexres": VALID_PROBLEM.replace("residual=lambda f, p: f.u.t + p.k * f.u",
                                        "residual=lambda f, p: (f.u.t + p.k * f.u).to(torch.complex64)"),
    "intres": VALID_PROBLEM.replace("residual=lambda f, p: f.u.t + p.k * f.u",
                                    "residual=lambda f, p: (f.u.t + p.k * f.u).long()"),
}


def _fill(args: list[str], tmp, files) -> list[str]:
    out = []
    for a in args:
        if a.startswith("{file:"):
            a = str(files[a[6:-1]])
        out.append(a.replace("{tmp}", str(tmp)))
    return out


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """(folder, problem files): the broken files and run folders the cases refer to, made once."""
    tmp = tmp_path_factory.mktemp("bad")
    files = {}
    for name, body in BROKEN_FILES.items():
        files[name] = tmp / f"{name}.py"
        files[name].write_text(PROBLEM_HEADER + textwrap.dedent(body))
    (tmp / "problem.txt").write_text(VALID_PROBLEM)
    (tmp / "afile").write_text("not a folder")
    (tmp / "afolder.py").mkdir()
    (tmp / "notarun").mkdir()
    (tmp / "exists").mkdir()
    old = tmp / "oldrun"
    old.mkdir()
    (old / "config.json").write_text(json.dumps({"problem": "poisson1d", "config": {}}))
    cfg = pl.SolveConfig(steps=2, lbfgs_steps=0, points=16, boundary_points=2, width=4, depth=1)
    done = pl.solve("poisson1d", cfg, out=tmp / "donerun").run_dir
    half = tmp / "halfrun"
    shutil.copytree(done, half)
    for name in ("checkpoint.pt", "report.json"):  # as if killed before its first checkpoint
        (half / name).unlink()
    shutil.copytree(done, tmp / "corruptrun")
    (tmp / "corruptrun" / "report.json").unlink()
    (tmp / "corruptrun" / "checkpoint.pt").write_bytes(b"\x80\x02 torn")
    shutil.copytree(tmp / "corruptrun", tmp / "widerrun")
    shutil.copy(done / "checkpoint.pt", tmp / "widerrun" / "checkpoint.pt")
    wider = json.loads((done / "config.json").read_text())
    wider["config"]["width"] = 9
    (tmp / "widerrun" / "config.json").write_text(json.dumps(wider))
    shutil.copytree(half, tmp / "tornrun")
    (tmp / "tornrun" / "config.json").write_text('{"problem": "poiss')
    shutil.copytree(half, tmp / "busyrun")
    shutil.copytree(done, tmp / "tornhistory")
    with open(tmp / "tornhistory" / "history.csv", "a") as fh:
        fh.write("5,adam\n")  # a row shorter than the header
    shutil.copytree(done, tmp / "divergedrun")
    rep = json.loads((done / "report.json").read_text())
    rep.update(status="diverged", message="non-finite loss term(s): residual at step 2")
    (tmp / "divergedrun" / "report.json").write_text(json.dumps(rep))
    shutil.copytree(done, tmp / "tornnpz")
    (tmp / "tornnpz" / "predictions.npz").write_bytes((done / "predictions.npz").read_bytes()[:300])
    (tmp / "busycompare").mkdir()
    for name, config, report in (("listconfig", [], None), ("strconfig", {"problem": "decay", "config": "hello"}, None),
                                 ("emptyconfig", {}, None), ("listreport", None, []), ("status7", None, {"status": 7}),
                                 ("strperfield", None, {**json.loads((done / "report.json").read_text()), "per_field": "x"}),
                                 ("listsolver", None, {**json.loads((done / "report.json").read_text()), "solver": ["a"]})):
        shutil.copytree(done, tmp / name)
        if config is not None:
            (tmp / name / "config.json").write_text(json.dumps(config))
        if report is not None:
            (tmp / name / "report.json").write_text(json.dumps(report))
    # flock locks belong to an open file, so the in-process CLI meets these as another process would
    with runs.dir_lock(tmp / "busyrun"), runs.dir_lock(tmp / "busycompare", "compare"):
        yield tmp, files


def _check_one_line(rc: int, err: str, needle: str) -> None:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert rc == 2, f"exit {rc}: {err}"
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{err}"
    assert needle.lower() in lines[0].lower(), f"{needle!r} not in {lines[0]!r}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(case, run_cli, broken, in_tmp_cwd):
    _, args, needle = case
    tmp, files = broken
    rc, _, err = run_cli(_fill(args, tmp, files))
    _check_one_line(rc, err, needle)
    left = list((in_tmp_cwd / "runs").glob("*")) if (in_tmp_cwd / "runs").exists() else []
    assert left == [], "bad input must leave no run directory behind"


def test_at_least_thirty_distinct_cases():
    assert len(CASES) >= 30 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in (
    "unknown problem", "unknown layer option", "problem file fails to import", "residual raises", "--out exists")],
    ids=lambda c: c[0])
def test_bad_input_through_the_real_console_script(case, run_cli, broken, in_tmp_cwd):
    _, args, needle = case
    tmp, files = broken
    rc, _, err = run_cli(_fill(args, tmp, files), subprocess=True)
    _check_one_line(rc, err, needle)


def test_cuda_without_cuda_is_one_line(run_cli, in_tmp_cwd):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    rc, _, err = run_cli(["solve", "poisson1d", "--device", "cuda"])
    _check_one_line(rc, err, "cuda")


# -- the Python API raises the documented exception types ------------------------------------------

API_CASES = [
    # code of the user's that training would hide: checked on the untrained network before the first step
    ("layer whose jet rules are wrong", lambda t: pl.solve("poisson1d", pl.SolveConfig(
        layer=_wrong_jet_kind(), **TINY_CONFIG_ARGS), out=t / "r"), pl.ConfigError),
    ("layer kind whose factory takes no first/init", lambda t: pl.solve("poisson1d", pl.SolveConfig(
        layer=_kind("no-first", lambda a, b: torch.nn.Linear(a, b)), **TINY_CONFIG_ARGS), out=t / "r"),
     pl.ConfigError),
    ("layer kind of the wrong width", lambda t: pl.solve("poisson1d", pl.SolveConfig(
        layer=_kind("too-wide", lambda a, b, first=False, init=None: torch.nn.Linear(a, b + 1)), **TINY_CONFIG_ARGS),
        out=t / "r"), pl.ConfigError),
    ("layer kind whose forward_jet raises", lambda t: pl.solve("poisson1d", pl.SolveConfig(
        layer=_kind("torch-sin-of-jet", lambda a, b, first=False, init=None: _TorchSinOfJet(a, b)), **TINY_CONFIG_ARGS),
        out=t / "r"), pl.ConfigError),
    ("a layer kind replacing a built-in one", lambda t: _kind("tanh", lambda a, b, first=False, init=None: None),
     pl.ConfigError),
    ("a layer kind name --layers cannot take", lambda t: _kind("a,b", lambda a, b, first=False, init=None: None),
     pl.ConfigError),
    ("reference axis outside the domain", lambda t: pl.Problem(
        name="x", domain=pl.Box(t=(0, 1)), fields=("u",), residual=lambda f, p: f.u.t,
        reference=pl.Reference("linspace", lambda p: ({"t": np.linspace(-1, 2, 31)}, {"u": np.zeros(31)}))
    ).evaluation(), pl.ProblemError),
    ("node on a problem with point data", lambda t: pl.solve(pl.Problem(
        name="x", domain=pl.Box(t=(0, 1)), fields=("u",), residual=lambda f, p: f.u.t + f.u,
        conditions=[pl.Initial(u=1.0), pl.PointData(np.array([[0.5]]), u=np.array([0.6]))],
        exact=lambda t: torch.exp(-t)), pl.SolveConfig(solver="node"), out=t / "r"), pl.ConfigError),
    ("hard constraint missing a condition it enforces", lambda t: pl.solve(_ode(hard=lambda c, u: c.t * u),
                                                                            pl.SolveConfig(hard=True, **TINY_CONFIG_ARGS),
                                                                            out=t / "r"), pl.ProblemError),
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
    ("grid of one point", lambda t: pl.Problem(
        name="x", domain=pl.Box(t=(0, 1)), fields=("u",), residual=lambda f, p: f.u, exact=lambda t: t, grid=1),
     pl.ProblemError),
    ("exact solution raises", lambda t: pl.solve(pl.Problem(
        name="x", domain=pl.Box(t=(0, 1)), fields=("u",), residual=lambda f, p: f.u.t, exact=lambda t: t / 0.0 + {}),
        pl.SolveConfig(steps=1), out=t / "r"), pl.ProblemError),
    ("seed beyond 64 bits", lambda t: pl.SolveConfig(seed=2**70).validate(), pl.ConfigError),
    ("solver option on pinn", lambda t: pl.solve("poisson1d", pl.SolveConfig(options={"adjoint": True}),
                                                 out=t / "r"), pl.ConfigError),
    ("resume a run in use", lambda t: _resume_while_locked(t), pl.RunError),
    # a mistake that would otherwise give a wrong answer without a word, or fail only after training
    ("reference values transposed", lambda t: pl.solve(_with_reference(transpose=True), TINY_CONFIG, out=t / "r"),
     pl.ProblemError),
    ("reference without a field", lambda t: pl.solve(_with_reference(drop="u"), TINY_CONFIG, out=t / "r"),
     pl.ProblemError),
    ("reference without an axis", lambda t: pl.solve(_with_reference(drop="t"), TINY_CONFIG, out=t / "r"),
     pl.ProblemError),
    ("reference not finite", lambda t: pl.solve(_with_reference(nan=True), TINY_CONFIG, out=t / "r"),
     pl.ProblemError),
    ("exact solution not finite on the grid", lambda t: pl.solve(_ode(exact=lambda t: t / t), TINY_CONFIG,
                                                                  out=t / "r"), pl.ProblemError),
    ("f.u.T (a tensor property) is not a partial", lambda t: _ode(residual=lambda f, p: f.u.T - f.u), pl.ProblemError),
    ("f.u.x without x", lambda t: _ode(residual=lambda f, p: f.u.x - f.u), pl.ProblemError),
    ("f.u.t without t", lambda t: pl.Problem(name="s", domain=pl.Box(x=(0, 1)), fields="u",
                                             residual=lambda f, p: f.u.t - f.u, exact=lambda x: x), pl.ProblemError),
    ("hard constraint with two outputs for one field", lambda t: _ode(hard=lambda c, u: (u, u)), pl.ProblemError),
    ("hard constraint on an unknown coordinate", lambda t: _ode(hard=lambda c, u: c.x * u), pl.ProblemError),
    ("hard constraint of the wrong arity", lambda t: _ode(hard=lambda c: c.t), pl.ProblemError),
    ("hard constraint of the wrong shape", lambda t: _ode(hard=lambda c, u: (c.t * u).reshape(-1)), pl.ProblemError),
    ("nan loss weight", lambda t: pl.solve("poisson1d", pl.SolveConfig(weights={"residual": float("nan")}),
                                           out=t / "r"), pl.ConfigError),
    ("inf loss weight", lambda t: pl.SolveConfig(weights={"residual": float("inf")}).validate(), pl.ConfigError),
    ("layer norm given as a string", lambda t: pl.SolveConfig(layer_norm="no").validate(), pl.ConfigError),
    ("hard given as a string", lambda t: pl.SolveConfig(hard="false").validate(), pl.ConfigError),
    ("layer options not a dict", lambda t: pl.solve("poisson1d", pl.SolveConfig(layer_options=[("a", 1)]),
                                                    out=t / "r"), pl.ConfigError),
    ("one boundary point for two faces", lambda t: pl.solve("poisson1d", pl.SolveConfig(boundary_points=1),
                                                            out=t / "r"), pl.ConfigError),
    ("node on a time-dependent right-hand side", lambda t: pl.solve(_ode(residual=lambda f, p: f.u.t - f.t),
                                                                    pl.SolveConfig(solver="node"), out=t / "r"),
     pl.ConfigError),
    ("node with a hard constraint", lambda t: pl.solve(_ode(hard=lambda c, u: c.t * u),
                                                       pl.SolveConfig(solver="node", hard=True), out=t / "r"),
     pl.ConfigError),
    ("Robin coefficient not a number", lambda t: pl.Robin(u=0.0, a="x"), pl.ProblemError),
    ("Net bounds of zero width", lambda t: pl.Net(2, 1, bounds=([0, 0], [0, 1])), pl.ConfigError),
]

TINY_CONFIG_ARGS = dict(steps=2, lbfgs_steps=0, points=16, width=4, depth=1)
TINY_CONFIG = pl.SolveConfig(**TINY_CONFIG_ARGS)


def _kind(name: str, factory) -> str:
    from pinnlab.layers import register_layer
    register_layer(name, factory, {})
    return name


class _TorchSinOfJet(torch.nn.Module):
    """sin(W x + b), its forward_jet written with torch.sin (jets take .sin())."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.lin = torch.nn.Linear(n_in, n_out)

    def forward(self, x):
        return torch.sin(self.lin(x))

    def forward_jet(self, jet):
        from pinnlab.jets import linear
        return torch.sin(linear(jet, self.lin.weight, self.lin.bias))


def _wrong_jet_kind() -> str:
    """A layer kind z / sqrt(1 + a z^2) whose forward_jet forgets a (docs/layers.md's example, miscopied)."""
    from pinnlab.jets import linear
    from pinnlab.layers import register_layer

    class Isru(torch.nn.Module):
        def __init__(self, n_in, n_out, a):
            super().__init__()
            self.linear, self.a = torch.nn.Linear(n_in, n_out), a

        def forward(self, x):
            z = self.linear(x)
            return z * torch.rsqrt(1 + self.a * z * z)

        def forward_jet(self, jet):
            z = linear(jet, self.linear.weight, self.linear.bias)
            return z * (z * z).shift(1.0).rsqrt()

    register_layer("isru-miscopied", lambda n_in, n_out, first=False, init=None, a=4.0: Isru(n_in, n_out, a), {"a": 4.0})
    return "isru-miscopied"


def _ode(residual=lambda f, p: f.u.t + f.u, exact=lambda t: torch.exp(-t), hard=None):
    """u' = -u on [0, 1], u(0) = 1, with pieces replaced by a test case's mistake."""
    return pl.Problem(name="ode", domain=pl.Box(t=(0, 1)), fields=("u",), residual=residual,
                      conditions=[pl.Initial(u=1.0)], exact=exact,
                      hard_constraint=pl.HardConstraint(hard, enforces=(0,)) if hard else None)


def _with_reference(transpose=False, drop=None, nan=False):
    """Advection u_t + u_x = 0, with a Reference on a 5 x 7 (x, t) grid holding a test case's mistake."""
    def solve(p):
        x, t = np.linspace(0, 1, 5), np.linspace(0, 1, 7)
        u = np.sin(x[:, None] - t[None, :])
        u = u.T if transpose else u
        if nan:
            u[2, 3] = np.nan
        axes, values = {"x": x, "t": t}, {"u": u}
        axes.pop(drop, None), values.pop(drop, None)
        return axes, values
    return pl.Problem(name="adv", domain=pl.Box(x=(0, 1), t=(0, 1)), fields=("u",),
                      residual=lambda f, p: f.u.t + f.u.x, reference=pl.Reference("test grid", solve))


def _resume_while_locked(tmp):
    run = pl.solve("poisson1d", pl.SolveConfig(steps=2, lbfgs_steps=0, points=16, width=4, depth=1), out=tmp / "r")
    (run.run_dir / "report.json").unlink()  # as if still running
    with runs.dir_lock(run.run_dir):
        pl.resume(run.run_dir)


@pytest.mark.parametrize("case", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_raises_documented_errors(case, tmp_path):
    _, fn, exc = case
    with pytest.raises(exc) as info:
        fn(tmp_path)
    assert isinstance(info.value, pl.PinnlabError)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "r").exists() or case[0] == "resume a run in use"  # nothing written on bad input


def test_the_problem_file_changed_notice_is_one_warning_line(tmp_path, run_cli):
    path = tmp_path / "prob.py"
    path.write_text(VALID_PROBLEM)
    run = tmp_path / "run"
    rc, _, err = run_cli(["solve", str(path), *TINY, "--out", str(run)])
    assert rc == 0, err
    (run / "report.json").unlink()  # as if killed: it can be resumed
    path.write_text(VALID_PROBLEM + "\n# edited\n")
    rc, _, err = run_cli(["solve", "--resume", str(run), "--quiet", "--no-plot"])
    assert rc == 0, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: problem file ") and "has changed" in lines[0], err
    assert "UserWarning" not in err and "runner.py" not in err
