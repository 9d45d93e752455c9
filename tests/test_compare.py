"""compare / report on a tiny grid: summaries equal the runs' report.json values, a second identical
call changes nothing on disk, removed or interrupted runs are redone, `pinnlab report` prints the same
table, and a folder holding runs made with other options is refused. Figures: test_plots.py."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import statistics
from pathlib import Path

import pytest
from conftest import VALID_PROBLEM

from pinnlab.compare import compare, markdown_table, summary_rows
from pinnlab.config import SolveConfig
from pinnlab.errors import ConfigError, RunError
from pinnlab.runner import solve

PROBLEMS, LAYERS, SEEDS = ["poisson1d", "heat1d"], ["tanh", "sine"], 2
TINY = SolveConfig(width=8, depth=2, steps=15, lbfgs_steps=3, points=48, boundary_points=8, eval_every=5)
TINY_ARGS = ["--width", "8", "--depth", "2", "--steps", "15", "--lbfgs-steps", "3", "--points", "48",
             "--boundary-points", "8", "--eval-every", "5"]


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under root: (mtime in ns, sha256 of the content); the folder's lock file (which names
    the process holding it) is bookkeeping, not output, and is left out."""
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("cmp") / "grid"
    comp = compare(PROBLEMS, LAYERS, seeds=SEEDS, config=TINY, out=out, progress=False, plot=False)
    return out, comp


def _reports(out: Path) -> dict[str, dict]:
    return {str(p.parent.relative_to(out)): json.loads(p.read_text()) for p in out.rglob("report.json")}


def test_grid_has_one_run_directory_per_cell(grid):
    out, comp = grid
    expected = {f"{p}/{layer}-pinn-s{s}" for p in PROBLEMS for layer in LAYERS for s in range(SEEDS)}
    assert set(_reports(out)) == expected
    assert comp.counts == {"new": 8, "resume": 0, "restart": 0, "done": 0}
    for rel, rep in _reports(out).items():
        assert rep["status"] == "completed"
        assert f"{rep['problem']}/{rep['layer']}-{rep['solver']}-s{rep['seed']}" == rel
        assert rep["adam_steps"] == 15 and rep["width"] == 8  # the shared budget reached every run


def test_summary_csv_equals_report_json(grid):
    out, _ = grid
    reports = _reports(out)
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(reports) == 8
    for row in rows:
        rep = reports[row["run"]]
        for key in ("problem", "layer", "solver", "status"):
            assert row[key] == str(rep[key]), key
        assert int(row["seed"]) == rep["seed"]
        for key in ("rel_l2", "max_abs_error", "heldout_residual", "final_loss", "wall_s", "ms_per_step"):
            assert float(row[key]) == rep[key], key  # exact: CSV keeps Python's round-trip repr
        assert int(row["steps"]) == rep["steps"]


def test_summary_md_medians_and_best_are_the_reports(grid):
    out, _ = grid
    reports = list(_reports(out).values())
    md = (out / "summary.md").read_text()
    lines = {tuple(c.strip() for c in line.strip("|").split("|")[:3]): line for line in md.splitlines()
             if line.startswith("| ") and not line.startswith("| problem")}
    assert len(lines) == 4
    for prob in PROBLEMS:
        medians = {}
        for layer in LAYERS:
            mine = [r for r in reports if r["problem"] == prob and r["layer"] == layer]
            errs, walls = [r["rel_l2"] for r in mine], [r["wall_s"] for r in mine]
            medians[layer] = statistics.median(errs)
            line = lines[(prob, layer, "pinn")]
            assert f"{statistics.median(errs):.2e} [{min(errs):.2e}–{max(errs):.2e}]" in line
            assert f"{statistics.median(walls):.1f}" in line
        best = min(medians, key=medians.get)
        assert lines[(prob, best, "pinn")].count("**") == 2
        other = next(k for k in LAYERS if k != best)
        assert "**" not in lines[(prob, other, "pinn")]


def test_second_identical_call_changes_nothing(grid):
    out, _ = grid
    before = snapshot(out)
    again = compare(PROBLEMS, LAYERS, seeds=SEEDS, config=TINY, out=out, progress=False, plot=False)
    assert again.counts == {"new": 0, "resume": 0, "restart": 0, "done": 8}
    assert snapshot(out) == before


def test_cli_report_prints_the_summary_table(grid, run_cli):
    out, _ = grid
    rc, stdout, err = run_cli(["report", str(out)])
    assert rc == 0, err
    table = (out / "summary.md").read_text().split("\n\n", 2)[-1]
    assert stdout == table
    # the same table from the run directories named one by one, in another order
    dirs = sorted((str(p.parent) for p in out.rglob("report.json")), reverse=True)
    rc, stdout2, _ = run_cli(["report", *dirs])
    assert rc == 0 and sorted(stdout2.splitlines()) == sorted(table.splitlines())
    rc, csv_out, _ = run_cli(["report", "--csv", str(out / "heat1d")])
    assert rc == 0 and len(csv_out.splitlines()) == 1 + 4


def test_report_of_a_non_run_is_one_line(tmp_path, run_cli):
    rc, _, err = run_cli(["report", str(tmp_path)])
    assert rc == 2 and "neither a pinnlab run" in err and len(err.strip().splitlines()) == 1


def test_missing_and_interrupted_runs_are_redone(tmp_path):
    out = tmp_path / "g"
    cfg = SolveConfig(width=8, depth=2, steps=10, lbfgs_steps=0, points=32, boundary_points=4, eval_every=5)
    compare(["poisson1d"], ["tanh"], seeds=3, config=cfg, out=out, progress=False, plot=False)
    keep = snapshot(out / "poisson1d" / "tanh-pinn-s0")
    import shutil
    shutil.rmtree(out / "poisson1d" / "tanh-pinn-s1")
    rep_path = out / "poisson1d" / "tanh-pinn-s2" / "report.json"
    rep = json.loads(rep_path.read_text())
    rep["status"] = "interrupted"  # what a killed run leaves, minus its checkpoint: it restarts
    rep_path.write_text(json.dumps(rep))
    (out / "poisson1d" / "tanh-pinn-s2" / "checkpoint.pt").unlink(missing_ok=True)
    comp = compare(["poisson1d"], ["tanh"], seeds=3, config=cfg, out=out, progress=False, plot=False)
    assert comp.counts == {"new": 1, "resume": 0, "restart": 1, "done": 1}
    assert snapshot(out / "poisson1d" / "tanh-pinn-s0") == keep
    assert [r["status"] for r in comp.rows] == ["completed"] * 3
    assert all(math.isfinite(r["rel_l2"]) for r in comp.rows)


def test_other_options_in_the_same_folder_are_refused(tmp_path):
    out = tmp_path / "g"
    cfg = SolveConfig(width=8, depth=2, steps=5, lbfgs_steps=0, points=16, boundary_points=2)
    compare(["poisson1d"], ["tanh"], seeds=1, config=cfg, out=out, progress=False, plot=False)
    with pytest.raises(RunError, match="other options.*steps"):
        compare(["poisson1d"], ["tanh"], seeds=1, config=SolveConfig(width=8, depth=2, steps=6, lbfgs_steps=0,
                points=16, boundary_points=2), out=out, progress=False, plot=False)


def test_a_run_from_before_an_option_existed_is_kept_as_done(tmp_path):
    # a folder made by an older pinnlab lacks the options added since: that run had their defaults
    out = tmp_path / "g"
    cfg = SolveConfig(width=8, depth=2, steps=5, lbfgs_steps=0, points=16, boundary_points=2)
    compare(["poisson1d"], ["tanh"], seeds=1, config=cfg, out=out, progress=False, plot=False)
    record = next(out.rglob("config.json"))
    saved = json.loads(record.read_text())
    for key in ("arch", "balance", "periodic", "rwf"):
        del saved["config"][key]
    record.write_text(json.dumps(saved))
    again = compare(["poisson1d"], ["tanh"], seeds=1, config=cfg, out=out, progress=False, plot=False)
    assert again.counts["done"] == 1
    with pytest.raises(RunError, match="other options.*arch"):  # a non-default value is another run
        compare(["poisson1d"], ["tanh"], seeds=1, config=SolveConfig(**{**cfg.to_dict(), "arch": "modified"}),
                out=out, progress=False, plot=False)


@pytest.mark.parametrize("kwargs, match", [
    ({"seeds": 0}, "seeds"), ({"layers": ["tanh", "nope"]}, "nope"), ({"solvers": ["pinn", "x"]}, "'x'"),
    ({"jobs": 0}, "jobs"),
])
def test_bad_grid_options(tmp_path, kwargs, match):
    args = {"layers": ["tanh"], "seeds": 1, **kwargs}
    with pytest.raises(ConfigError, match=match):
        compare(["poisson1d"], out=tmp_path / "g", progress=False, plot=False, **args)
    assert not (tmp_path / "g").exists()


@pytest.mark.slow  # two spawned workers each import torch: ~10 s alone, minutes on a loaded machine
def test_cli_compare_with_two_jobs(tmp_path, run_cli):
    """Two worker processes; the table printed equals summary.md, and a rerun reports every run as done."""
    out = tmp_path / "j"
    args = ["compare", "poisson1d", "--layers", "tanh", "--seeds", "2", "--jobs", "2", "--out", str(out),
            "--quiet", "--no-plot", *TINY_ARGS]
    rc, stdout, err = run_cli(args)
    assert rc == 0, err
    assert "2 runs (2 new" in stdout
    rows = summary_rows([out / "poisson1d" / "tanh-pinn-s0", out / "poisson1d" / "tanh-pinn-s1"])
    assert (out / "summary.md").read_text().endswith(markdown_table(rows))
    before = snapshot(out)
    rc, stdout, _ = run_cli(args)
    assert rc == 0 and "2 already done" in stdout and snapshot(out) == before


def test_report_pools_only_like_runs_and_names_what_differs(tmp_path):
    """Runs of one layer and solver but other options (steps, a parameter) are rows of their own, with a
    setting column; the same options and seed twice is a repeat, not a second seed."""
    tiny = dict(lbfgs_steps=0, points=16, boundary_points=1, width=4, depth=1)
    made = {}
    for name, extra in {"a": dict(steps=5), "b": dict(steps=5), "c": dict(steps=5, seed=1), "d": dict(steps=8),
                        "e": dict(steps=5, params={"k": 3.0})}.items():
        made[name] = solve("decay", SolveConfig(**tiny, **extra), out=tmp_path / name).run_dir
    rows = summary_rows([made[k] for k in "abcde"])
    assert [r["setting"] for r in rows] == ["k=1.0, steps=5"] * 3 + ["k=1.0, steps=8", "k=3.0, steps=5"]
    table = markdown_table(rows).splitlines()
    assert "| setting |" in table[0] and len(table) == 5
    assert "| k=1.0, steps=5 | 3 runs of 2 seeds |" in table[2]
    # runs that differ only in their seed have no setting column
    assert "setting" not in markdown_table(summary_rows([made["a"], made["c"]]))


def test_a_compare_folder_keeps_its_problems_apart_from_others_of_the_same_name(tmp_path, write_problem):
    """A problem file named like a built-in is another problem: its finished run in a compare folder is not
    taken for the built-in's (before, the built-in was "already done" with the file's numbers)."""
    tiny = SolveConfig(width=4, depth=1, steps=3, lbfgs_steps=0, points=16, boundary_points=1)
    impostor = write_problem(VALID_PROBLEM.split("\n", 5)[-1].replace('"tiny-decay"', '"decay"')
                             .replace('"k": 1.0', '"k": 3.0'), name="impostor.py")
    compare([str(impostor)], ["tanh"], seeds=1, config=tiny, out=tmp_path / "c", progress=False, plot=False)
    with pytest.raises(RunError, match="holds a run of .*impostor.py.*, not of 'decay'"):
        compare(["decay"], ["tanh"], seeds=1, config=tiny, out=tmp_path / "c", progress=False, plot=False)


def test_compare_exits_1_when_runs_diverge_and_leaves_them_out_of_the_medians(tmp_path, run_cli):
    out = tmp_path / "d"
    rc, stdout, err = run_cli(["compare", "decay", "--layers", "tanh", "--seeds", "2", "--out", str(out), "--lr",
                               "1e30", "--steps", "5", "--lbfgs-steps", "0", "--points", "16", "--width", "4",
                               "--depth", "1", "--no-plot", "--quiet"])
    assert rc == 1 and "2 of 2 runs did not complete" in err, err
    rows = summary_rows([out / "decay" / "tanh-pinn-s0", out / "decay" / "tanh-pinn-s1"])
    assert {r["status"] for r in rows} == {"diverged"} and all(r["rel_l2"] is not None for r in rows)
    assert "| 2 (2 diverged) | – |" in markdown_table(rows)  # no median of untrained states


def test_compare_takes_a_layer_kind_its_problem_file_registers(tmp_path, write_problem):
    path = write_problem('''
from torch import nn
from pinnlab.layers import register_layer
from pinnlab.problems.poisson1d import problem


def make_tanh_plain(n_in, n_out, first=False, init=None):
    return nn.Sequential(nn.Linear(n_in, n_out), nn.Tanh())  # no jet rules: nested autograd


register_layer("tanh-plain-from-file", make_tanh_plain, {}, "a file's own kind")
''', name="own_kind.py")
    tiny = SolveConfig(width=4, depth=1, steps=3, lbfgs_steps=0, points=16, boundary_points=2)
    comp = compare([str(path)], ["tanh-plain-from-file"], seeds=1, config=tiny, out=tmp_path / "c",
                   progress=False, plot=False)
    assert [r["status"] for r in comp.rows] == ["completed"]


def test_a_summary_of_pinn_and_node_runs_says_their_errors_are_other_measures():
    from pinnlab.compare import summary_markdown
    row = dict(problem="decay", layer="tanh", seed=0, status="completed", rel_l2=0.1, wall_s=1.0, ms_per_step=1.0,
               setting="")
    both = summary_markdown([{**row, "solver": "pinn"}, {**row, "solver": "node"}])
    assert "not the same measure" in both
    assert "not the same measure" not in summary_markdown([{**row, "solver": "pinn"}])


def test_a_compare_folder_refuses_runs_of_a_problem_file_as_it_was_before_an_edit(tmp_path, write_problem):
    tiny = SolveConfig(width=4, depth=1, steps=3, lbfgs_steps=0, points=16, boundary_points=1)
    path = write_problem(VALID_PROBLEM.split("\n", 5)[-1], name="edited.py")
    compare([str(path)], ["tanh"], seeds=1, config=tiny, out=tmp_path / "c", progress=False, plot=False)
    path.write_text(path.read_text().replace("f.u.t + p.k * f.u", "f.u.t + 5 * p.k * f.u"))
    with pytest.raises(RunError, match="before it was edited"):
        compare([str(path)], ["tanh"], seeds=1, config=tiny, out=tmp_path / "c", progress=False, plot=False)


def test_layer_options_go_to_the_kinds_that_take_them(tmp_path):
    tiny = SolveConfig(width=4, depth=1, steps=2, lbfgs_steps=0, points=16, boundary_points=2,
                       layer_options={"omega0": 2.0})
    comp = compare(["poisson1d"], ["tanh", "sine"], seeds=1, config=tiny, out=tmp_path / "c", progress=False,
                   plot=False)
    given = {json.loads((d / "config.json").read_text())["config"]["layer"]:
             json.loads((d / "config.json").read_text())["config"]["layer_options"] for d in comp.runs}
    assert given == {"tanh": {}, "sine": {"omega0": 2.0}}
    with pytest.raises(ConfigError, match="no layer kind in --layers"):
        compare(["poisson1d"], ["tanh", "yat"], seeds=1, config=tiny, out=tmp_path / "d", progress=False, plot=False)
