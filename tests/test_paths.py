"""Names and paths: a problem's name never leaves runs/, no command writes outside its run (or compare)
folder, and a path no file system can hold is one line, exit 2, before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from conftest import PROBLEM_HEADER
from hypothesis import given, settings
from hypothesis import strategies as st

import pinnlab as pl

SMALL = ["--steps", "2", "--lbfgs-steps", "0", "--points", "16", "--boundary-points", "1", "--width", "4",
         "--depth", "1", "--compile", "off", "--no-plot", "--quiet"]

NASTY = ["../../../outside", "a/b", "/tmp/abs", "..", ".", ".hidden", "bad\nname", "tab\tname", "nul\x00name",
         "esc\x1b[31m", "with space", "back\\slash", "ünï", "x" * 101, "a:b", "star*", "~home", "$HOME",
         "\u202eevil"]
SAFE = ["decay", "a.b", "A_1-x", "-dash", "-", "_", "9", "x" * 100, "v1.2.3"]


def _problem(name: str) -> pl.Problem:
    return pl.Problem(name=name, domain=pl.Box(t=(0.0, 1.0)), fields=("u",), residual=lambda f, p: f.u.t + f.u,
                      conditions=[pl.Initial(u=1.0)], exact=lambda t: torch.exp(-t), grid=9)


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def _problem_file(tmp: Path, name: str) -> Path:
    path = tmp / "prob.py"
    path.write_text(PROBLEM_HEADER + f"""
problem = Problem(name={name!r}, domain=Box(t=(0.0, 1.0)), fields=("u",), residual=lambda f, p: f.u.t + f.u,
                  conditions=[Initial(u=1.0)], exact=lambda t: torch.exp(-t), grid=9)
""")
    return path


@pytest.mark.parametrize("name", NASTY, ids=repr)
def test_a_name_that_is_not_a_plain_word_is_one_line(name):
    with pytest.raises(pl.ProblemError, match="problem name .* is not allowed") as info:
        _problem(name)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", SAFE)
def test_plain_names_are_taken(name):
    assert _problem(name).name == name


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=120))
def test_every_name_taken_is_one_plain_folder_name(name):
    try:
        _problem(name)
    except pl.ProblemError:
        return
    folder = f"{name}-tanh-s0-20260101-000000-abcdef"
    assert Path(folder).name == folder and not name.startswith(".") and name.isprintable()
    assert os.sep not in name and len(name.encode()) <= 100


def test_a_problem_file_whose_name_is_a_path_writes_nothing(tmp_path, run_cli, monkeypatch):
    cwd = tmp_path / "a" / "b" / "c" / "cwd"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    path = _problem_file(tmp_path, "../../../outside")
    before = _tree(tmp_path)
    rc, _, err = run_cli(["solve", str(path), *SMALL])
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "is not allowed" in err, err
    assert _tree(tmp_path) == before


# (problem name, --out relative to the working directory or None for runs/<name>-...)
WRITES = [("decay", None), ("a.b", None), ("-dash", None), ("x" * 100, None), ("decay", "r"), ("decay", "new/deep/r"),
          ("decay", "../sibling"), ("decay", "r/../r2"), ("decay", "./r3/"), ("decay", "my run é")]


@pytest.mark.parametrize("name, out", WRITES, ids=[f"{n[:12]} --out {o}" for n, o in WRITES])
def test_a_run_writes_only_inside_its_run_directory(name, out, tmp_path, run_cli, monkeypatch):
    cwd = tmp_path / "work" / "cwd"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    path = _problem_file(tmp_path, name)
    before = _tree(tmp_path)
    rc, stdout, err = run_cli(["solve", str(path), *SMALL, *(["--out", out] if out else [])])
    assert rc == 0, err
    run = Path(os.path.abspath(stdout.strip()))
    assert run.is_dir() and (run / "report.json").exists()
    if out is None:
        assert run.parent == cwd / "runs" and run.name.startswith(f"{name}-")
    new = {Path(os.path.abspath(p)) for p in _tree(tmp_path) - before}
    outside = [p for p in new if run not in (p, *p.parents) and not (p.is_dir() and p in run.parents)]
    assert outside == [], outside


@pytest.mark.parametrize("out", ["cmp", "c/../cmp"])
def test_compare_writes_only_inside_its_folder(out, tmp_path, run_cli, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    path = _problem_file(tmp_path, "a.b")
    before = _tree(tmp_path)
    rc, _, err = run_cli(["compare", str(path), "--seeds", "1", *SMALL[:-2], "--quiet", "--no-plot",
                          "--out", out])
    assert rc == 0, err
    new = _tree(tmp_path) - before
    assert new and all((cwd / "cmp") in (p, *p.parents) for p in new), sorted(new)


def test_compare_into_a_solve_run_or_inside_one_is_refused(tmp_path, run_cli):
    run = tmp_path / "run"
    rc, _, err = run_cli(["solve", "decay", *SMALL, "--out", str(run)])
    assert rc == 0, err
    before = _tree(tmp_path)
    for args, needle in ((["compare", "decay", "--out", str(run)], "is a run directory"),
                         (["compare", "decay", "--out", str(run / "cmp")], "is inside the run"),
                         (["solve", "decay", "--out", str(run / "inner")], "is inside the run"),
                         (["solve", "decay", "--out", str(run / "figures" / "x")], "is inside the run")):
        rc, _, err = run_cli([*args, *(["--seeds", "1"] if args[0] == "compare" else []), *SMALL])
        assert rc == 2 and len(err.strip().splitlines()) == 1 and needle in err, (args, err)
    assert _tree(tmp_path) == before


LONG = "x" * 300


@pytest.mark.parametrize("args, needle", [
    (["solve", "decay", "--out", LONG], "--out"),
    (["solve", "decay", "--out", f"d/{LONG}/r"], "--out"),
    (["solve", "decay", "--out", "/".join(["y" * 200] * 21)], "longer than file systems take"),
    (["solve", "--resume", LONG], "run directory"),
    (["report", LONG], "run directory"),
    (["plot", LONG], "run directory"),
    (["solve", f"{LONG}.py"], "problem file"),
    (["solve", f"a/{LONG}.py"], "problem file"),
    (["compare", "decay", "--seeds", "1", "--out", LONG], "--out"),
    (["solve", "decay", "--init-from", LONG], "--init-from"),
], ids=["solve --out", "--out's folder", "a path over 4096 bytes", "--resume", "report", "plot", "problem file",
        "problem file in a folder", "compare --out", "--init-from"])
def test_a_path_no_file_system_takes_is_one_line(args, needle, run_cli, in_tmp_cwd):
    extra = SMALL if args[0] in ("solve", "compare") and "--resume" not in args else []
    rc, _, err = run_cli([*args, *extra])
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and needle in lines[0] and "Traceback" not in err, err
    assert list(in_tmp_cwd.iterdir()) == []


def test_an_out_with_a_control_character_is_refused(run_cli, in_tmp_cwd):
    rc, _, err = run_cli(["solve", "decay", *SMALL, "--out", "bad\nname"])
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "control character" in err, err
    assert list(in_tmp_cwd.iterdir()) == []
