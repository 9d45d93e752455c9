"""A recipe can choose hard constraints; --hard / --soft override it either way."""

from __future__ import annotations

import json

import pytest

import pinnlab as pl
from pinnlab.registry import get_problem
from pinnlab.runner import prepare


@pytest.mark.parametrize("given, expected", [(None, True), (False, False), (True, True)])
def test_poisson_holes_recipe_is_hard_unless_told_soft(given, expected):
    # soft conditions leave poisson-holes at the constant 0.5 (rel L2 0.54): its recipe imposes them
    _, config = prepare(get_problem("poisson-holes"), pl.SolveConfig(hard=given))
    assert config.hard is expected


@pytest.mark.parametrize("flag, expected", [([], True), (["--hard"], True), (["--soft"], False)])  # burgers' recipe: hard
def test_cli_hard_soft_reach_the_run_record(run_cli, tmp_path, flag, expected):
    out = tmp_path / "run"
    rc, _, err = run_cli(["solve", "burgers", *flag, "--steps", "2", "--lbfgs-steps", "0", "--points", "16",
                          "--boundary-points", "8", "--width", "4", "--depth", "1", "--compile", "off",
                          "--no-plot", "--out", str(out)])
    assert rc == 0, err
    assert json.loads((out / "config.json").read_text())["config"]["hard"] is expected


def test_hard_on_a_problem_without_a_transform_is_one_line(run_cli, tmp_path):
    rc, _, err = run_cli(["solve", "decay", "--hard", "--out", str(tmp_path / "run")])
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "offers no hard constraint" in err
    assert not (tmp_path / "run").exists()
