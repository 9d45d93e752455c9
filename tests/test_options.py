"""Run options are declared once, on SolveConfig's fields (pinnlab.options): every field is an option of
`pinnlab solve` (and, but for solver, layer and seed, of `compare`) with its help and bounds; the values
given on the command line are the config's; and a new field is a new option with no other edit."""

from __future__ import annotations

import dataclasses

import click
import pytest
from click.testing import CliRunner

import pinnlab as pl
from pinnlab import cli, options
from pinnlab.config import SolveConfig


def _flags(command: click.Command) -> set[str]:
    return {opt for p in command.params for opt in p.opts}


def test_every_field_is_an_option_of_solve_and_compare_shares_the_run_ones():
    solve, compare = _flags(cli.cli.commands["solve"]), _flags(cli.cli.commands["compare"])
    declared = options.run_options(SolveConfig)
    assert [ro.name for ro in declared] == [f.name for f in dataclasses.fields(SolveConfig)]  # none left out
    for ro in declared:
        assert ro.flag in solve and ro.text(ro.how.help).strip(), ro.name
        assert (ro.flag in compare) == (ro.how.only is None), ro.name
    # every option name of before the options were declared on the fields, and the --adjoint alias
    assert {"--layer", "--solver", "--seed", "--layer-opt", "--init", "--layer-norm", "--width", "--depth", "--steps",
            "--lbfgs-steps", "--lr", "--points", "--boundary-points", "--sampler", "--resample-every", "--device",
            "--dtype", "--lbfgs-dtype", "--threads", "--derivatives", "--compile", "--hard", "--set", "--weight",
            "--eval-every", "--checkpoint-every", "--early-stop", "--opt", "--adjoint", "--init-from"} <= solve


def test_defaults_on_the_command_line_are_the_fields_defaults():
    for p in cli.cli.commands["solve"].params:
        field = next((ro for ro in options.run_options(SolveConfig) if ro.name == p.name), None)
        if field is not None and field.kind not in (bool, dict):
            assert p.default == field.default, p.name


def test_command_line_values_are_the_config(monkeypatch):
    seen = {}

    def fake_solve(problem, config, **kw):
        seen["config"] = config
        raise pl.ConfigError("stop here")
    monkeypatch.setattr(cli.runner, "solve", fake_solve)
    args = ["solve", "decay", "--solver", "node", "--seed", "7", "--width", "9", "--depth", "2", "--steps", "11",
            "--lbfgs-steps", "0", "--lr", "0.02", "--points", "33", "--sampler", "lhs", "--dtype", "float64",
            "--compile", "off", "--set", "k=2", "--eval-every", "3", "--checkpoint-every", "4", "--early-stop", "5",
            "--opt", "method=rk4", "--adjoint", "--init-from", "somewhere", "--layer-norm"]
    with pytest.raises(pl.ConfigError, match="stop here"):
        cli.cli.main(args=args, standalone_mode=False)
    expected = SolveConfig(solver="node", seed=7, width=9, depth=2, steps=11, lbfgs_steps=0, lr=0.02, points=33,
                           sampler="lhs", dtype="float64", compile="off", params={"k": 2.0}, eval_every=3,
                           checkpoint_every=4, early_stop=5, options={"method": "rk4", "adjoint": True},
                           init_from="somewhere", layer_norm=True)
    assert seen["config"] == expected


@dataclasses.dataclass
class Extended(SolveConfig):
    warmup: int = options.option(0, "Adam steps at a rising learning rate.", low=0, high=100)


def test_a_new_field_is_a_new_option_with_its_help_and_bounds():
    @click.command()
    @cli.run_options("solve", Extended)
    def command(**values):
        click.echo(repr(cli.config_from_options(values, Extended)))

    runner = CliRunner()
    out = runner.invoke(command, ["--warmup", "12", "--width", "5"])
    assert out.exit_code == 0, out.output
    assert "warmup=12" in out.output and "width=5" in out.output
    assert "--warmup INTEGER" in runner.invoke(command, ["--help"]).output
    assert "Adam steps at a rising learning rate." in runner.invoke(command, ["--help"]).output
    with pytest.raises(pl.ConfigError, match="warmup must be a non-negative integer, got -1"):
        Extended(warmup=-1).validate()
    with pytest.raises(pl.ConfigError, match="warmup must be at most 100, got 101"):
        Extended(warmup=101).validate()


def test_the_solver_help_and_choices_come_from_the_registry():
    from pinnlab.solvers.registry import solver_names
    help_text = CliRunner().invoke(cli.cli, ["solve", "--help"], terminal_width=200).output
    assert " | ".join(solver_names()) in help_text
    with pytest.raises(pl.ConfigError, match="unknown solver 'nope'"):
        SolveConfig(solver="nope").validate()
