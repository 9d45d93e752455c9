"""The ``pinnlab`` command: a thin click shell over the Python API.

Exit codes: 0 done; 2 bad usage or input (one line on stderr, no traceback); 1 the run failed
(e.g. diverged); 130 interrupted (checkpoint and partial report saved first).
"""

from __future__ import annotations

import sys

try:  # torch loads here, the first second of every command: Ctrl-C then is an interrupt, not a traceback
    import ast
    import math
    import signal
    import threading
    import warnings
    from pathlib import Path

    import click

    from . import distributed, options, runner, runs
    from .config import SolveConfig
    from .errors import ConfigError, PinnlabError, PinnlabWarning
    from .options import Text
    from .registry import builtin_problems, get_problem
    from .runner import Result, RunFailed, RunInterrupted
except KeyboardInterrupt:
    if hasattr(sys, "ps1") or sys.flags.interactive:  # an interactive session keeps Python's own behaviour
        raise
    sys.stderr.write("interrupted\n")
    raise SystemExit(130) from None


def _pairs(items: tuple[str, ...], what: str) -> dict[str, object]:
    """Parse KEY=VALUE options; values are literals (numbers, booleans) or bare strings, never code."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} {item!r} is not KEY=VALUE")
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):  # not a literal: a bare string
            value = raw.strip()
        if key.strip() in out:  # which one was meant is a guess: refuse it
            raise ConfigError(f"{what} {key.strip()!r} is given twice")
        out[key.strip()] = value
    return out


def _numbers(items: tuple[str, ...], what: str) -> dict[str, float]:
    out = {}
    for k, v in _pairs(items, what).items():
        try:
            number = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
        except OverflowError:  # an integer literal too large for a float
            number = math.nan
        if not math.isfinite(number):
            shown = k if k.isprintable() else repr(k)  # a key with a newline must not break the one-line error
            raise ConfigError(f"{what} {shown}={v!r}: the value must be a finite number")
        out[k] = number
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pinnlab")
def cli() -> None:
    """Solve ODEs and PDEs with physics-informed networks and neural ODEs."""


@cli.command("list")
@click.option("--kind", type=str, default=None, help="Only ODE or PDE problems (ode|pde).")
def list_cmd(kind: str | None) -> None:
    """List the built-in problems."""
    if kind is not None and kind.lower() not in ("ode", "pde"):
        raise ConfigError(f"unknown kind {kind!r} (allowed: ode, pde)")
    rows = [(p.name, p.kind, f"{p.domain.dim}-D", p.equation,
             "exact" if p.exact is not None else "reference")
            for p in builtin_problems().values() if kind is None or p.kind == kind.upper()]
    widths = [max(len(r[i]) for r in rows + [("name", "kind", "dims", "equation", "solution")]) for i in range(5)]
    header = ("name", "kind", "dims", "equation", "solution")
    for r in [header, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


@cli.command()
@click.argument("problem")
def show(problem: str) -> None:
    """Describe a problem: equation, domain, conditions, parameters, reference, default recipe."""
    click.echo(get_problem(problem).summary())


class _RunOption(click.Option):
    """A click option whose help may be computed when it is shown (e.g. from the registered solvers)."""

    def __init__(self, *args, help_text=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._help_text = help_text

    def get_help_record(self, ctx):
        if self._help_text is not None:
            self.help, self._help_text = self._help_text(), None
        return super().get_help_record(ctx)


def _click_option(flag: str, name: str, help: Text, **kwargs):
    lazy = {"help_text": help} if callable(help) else {"help": help}
    return click.option(flag, name, cls=_RunOption, **lazy, **kwargs)


def run_options(command: str, cls: type = SolveConfig):
    """Attach the options of every field of ``cls`` (SolveConfig; :mod:`pinnlab.options`) to ``command``'s
    function: those of ``command`` alone first, then the ones ``solve`` and ``compare`` share."""
    opts = [ro for ro in options.run_options(cls) if ro.flag and ro.how.only in (None, command)]
    opts.sort(key=lambda ro: ro.how.only is None)

    def attach(fn):
        decorators = []
        for ro in opts:
            if ro.kind is bool:
                flag = f"{ro.flag}/{ro.how.off}" if ro.how.off else ro.flag  # a pair defaults to None: the recipe's
                decorators.append(_click_option(flag, ro.name, ro.how.help, is_flag=True, default=ro.default))
            elif ro.kind is dict:
                decorators.append(_click_option(ro.flag, ro.name, ro.how.help, multiple=True, metavar=ro.how.metavar))
            else:
                decorators.append(_click_option(ro.flag, ro.name, ro.how.help, type=ro.kind, default=ro.default,
                                                metavar=ro.how.metavar))
            for alias, key in ro.how.aliases.items():
                decorators.append(_click_option(alias, _alias_name(alias), _alias_help(ro, alias, key), is_flag=True))
        for deco in reversed(decorators):
            fn = deco(fn)
        return fn
    return attach


def _solver_names() -> list[str]:
    from .solvers.registry import solver_names
    return solver_names()


def _alias_name(alias: str) -> str:
    return alias.lstrip("-").replace("-", "_")


def _alias_help(ro, alias: str, key: str):
    def text() -> str:
        from .solvers.registry import get_solver
        taking = [(n, get_solver(n).options[key]) for n in _solver_names() if key in get_solver(n).options]
        what = taking[0][1].help if taking else key
        return f"{', '.join(n for n, _ in taking) or 'no solver'}: {what} (same as {ro.flag} {key}=true)."
    return text


_PARSE = {"pairs": _pairs, "numbers": _numbers}


def config_from_options(values: dict[str, object], cls: type = SolveConfig, **given: object) -> SolveConfig:
    """A validated ``cls`` (SolveConfig) from the command-line values of its fields (``values``, as click
    gives them: repeated KEY=VALUE options as tuples, alias flags by name) and fields ``given`` directly."""
    fields = dict(given)
    for ro in options.run_options(cls):
        if ro.name not in values:
            continue
        v = values[ro.name]
        if ro.how.parse is not None:
            v = _PARSE[ro.how.parse](v, ro.flag)
        for alias, key in ro.how.aliases.items():
            if values.get(_alias_name(alias)):
                v = {**v, key: True}
        fields[ro.name] = v
    return cls(**fields).validate()


def _only_resume_options(ctx: click.Context) -> None:
    """A resumed run keeps the options it was started with (that is what makes it bit-identical)."""
    given = [p.opts[0] for p in ctx.command.params if p.name not in ("resume", "quiet", "no_plot")
             and ctx.get_parameter_source(p.name) not in (click.core.ParameterSource.DEFAULT, None)]
    if given:
        raise ConfigError(f"--resume continues a run with the options it was started with; drop {', '.join(given)}")


@cli.command(name="solve")
@click.argument("problem", required=False)
@run_options("solve")
@click.option("--out", default=None, help="Run directory (must not exist). Default: runs/<problem>-...")
@click.option("--resume", default=None, help="Continue an interrupted run directory.")
@click.option("--no-plot", is_flag=True, help="Do not draw figures at the end.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; print only the run directory.")
def solve_cmd(problem, out, resume, no_plot, quiet, **run):
    """Train on PROBLEM (a built-in name or a .py file) and report the error against its reference."""
    progress = None if quiet else _Progress()
    try:
        if resume is not None:
            if problem is not None:
                raise ConfigError("give either PROBLEM or --resume DIR, not both")
            _only_resume_options(click.get_current_context())
            result = runner.resume(resume, progress=progress)
        else:
            if problem is None:
                raise ConfigError("missing PROBLEM (a built-in name, see `pinnlab list`, or a .py file)")
            config = config_from_options(run)
            result = runner.solve(problem, config, out=out, progress=progress)
    except RunInterrupted as e:
        _close(progress)
        click.echo(f"interrupted: checkpoint and partial report saved in {e.result.run_dir} "
                   f"(continue with: pinnlab solve --resume {e.result.run_dir})", err=True)
        sys.exit(130)
    except RunFailed as e:
        _close(progress)
        click.echo(f"failed: {e} (last good state and report in {e.result.run_dir})", err=True)
        sys.exit(1)
    _close(progress)
    if not distributed.world().writes:  # another process of a data-parallel run: rank 0 draws and says it
        return
    if not no_plot:
        try:
            _plot(result.run_dir)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"while drawing the figures; the run completed and its files are in "
                                    f"{result.run_dir} (draw them with: pinnlab plot {result.run_dir})") from None
    _summary(result, quiet)


class _Progress:
    """A tqdm bar over Adam steps + L-BFGS iterations, with the loss and last error."""

    def __init__(self):
        self.bar = None

    def __call__(self, state, row) -> None:
        from tqdm import tqdm
        done = state.step + state.lbfgs_iters
        if self.bar is None or row.get("event") == "start":
            _close(self)
            # the total is the budget: early stopping or a converged L-BFGS end the bar short of it
            self.bar = tqdm(total=row.get("total_steps"), initial=done, unit="step", file=sys.stderr,
                            dynamic_ncols=True, leave=False)
        if row.get("event") == "compiling":
            self.bar.set_postfix({"phase": row["phase"], "note": "compiling the step (cached for later runs)"})
            return
        post = {"phase": row.get("phase", "")}
        if row.get("loss") is not None:
            post["loss"] = f"{row['loss']:.2e}"
        if state.last_eval.get("rel_l2") is not None:
            post["rel_l2"] = f"{state.last_eval['rel_l2']:.2e}"
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(done - self.bar.n)


def _close(progress) -> None:
    if progress is not None and progress.bar is not None:
        progress.bar.close()


def _plot(run_dir: Path) -> None:
    try:
        from .plots import plot_run
    except ImportError:
        return
    plot_run(run_dir)


def _stage(report: dict) -> str:
    """The stage after Adam, as its report names it (runs from before the key existed ran L-BFGS)."""
    return f"{report.get('second_stage', 'L-BFGS')}: "


def _summary(result: Result, quiet: bool) -> None:
    r = result.report
    if quiet:
        click.echo(str(result.run_dir))
        return
    compiled = f", compiled in {r['compile_s']:.1f} s" if r.get("compiled") else ""
    adam = f" ({r['ms_per_step']:.2f} ms/Adam step{compiled})" if r.get("adam_steps") else ""
    click.echo(f"{r['problem']}: rel L2 {r['rel_l2']:.3e} (max abs {r['max_abs_error']:.2e}), "
               f"held-out residual {r['heldout_residual']:.2e}, {r['steps']} steps in {r['wall_s']:.1f} s{adam}; "
               f"{_stage(r)}{r['lbfgs_stop_reason']}")
    if r.get("rel_l2_extrapolation") is not None:  # node runs: the error past the training window
        click.echo(f"extrapolation window: rel L2 {r['rel_l2_extrapolation']:.3e}; learned vector field: "
                   f"rel L2 {r.get('vector_field_rel_l2', float('nan')):.3e} on held-out states")
    for name, u in (r.get("unknowns") or {}).items():  # an inverse problem: the recovered parameters
        truth = f" (true {u['true']:.6g}, rel error {u['rel_error']:.2e})" if u.get("true") is not None else ""
        click.echo(f"unknown {name} = {u['learned']:.6g}{truth}, from guess {u['guess']:.6g}")
    if r.get("rai_objective") is not None:  # rai runs: the figures above are the plain network's
        click.echo(f"plain network: PINN loss {r['plain_loss']:.3e}; auxiliary path (not evaluated): RAI objective "
                   f"{r['rai_objective']:.3e}, consistency {r['rai_consistency']:.2e}; state tables "
                   f"{r['rai_state_mib']:.2f} MiB")
    if r.get("adam_stop_reason", "").startswith("early stop"):
        click.echo(f"Adam: {r['adam_stop_reason']}")
    click.echo(f"run written to {result.run_dir}")


@cli.command(name="compare")
@click.argument("problems", nargs=-1, required=True)
@click.option("--layers", default=None, help="Comma-separated layer kinds, e.g. tanh,sine (default: the recipe's).")
@click.option("--solvers", default=SolveConfig.solver, cls=_RunOption,
              help_text=lambda: f"Comma-separated solvers, e.g. {','.join(_solver_names())}.")
@click.option("--seeds", type=int, default=3, help="Number of seeds per cell (seeds 0..N-1).")
@click.option("--jobs", type=int, default=1, help="Runs in parallel (processes).")
@run_options("compare")
@click.option("--out", default=None, help="Output folder (default runs/compare); re-running continues in it.")
@click.option("--format", "fmt", default="png", help="Figure format: png | pdf.")
@click.option("--no-plot", is_flag=True, help="Write the summaries only, no figures.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def compare_cmd(problems, layers, solvers, seeds, jobs, out, fmt, no_plot, quiet, **run):
    """Run PROBLEM... × layers × solvers × seeds; write summary.csv, summary.md and comparison figures."""
    from .compare import CompareInterrupted, compare, split_list
    base = config_from_options(run)
    try:
        comp = compare(list(problems), split_list(layers, "layers"), split_list(solvers, "solvers"), seeds, base,
                       out=out, jobs=jobs, progress=not quiet, plot=not no_plot, fmt=fmt)
    except CompareInterrupted as e:
        click.echo(str(e), err=True)
        sys.exit(130)
    c = comp.counts
    if not quiet:
        click.echo((Path(comp.out) / "summary.md").read_text().split("\n\n", 2)[-1], nl=False)
    click.echo(f"{len(comp.runs)} runs ({c['new']} new, {c['resume']} resumed, {c['restart']} restarted, "
               f"{c['done']} already done); summaries and figures in {comp.out}")
    failed = [r["run"] for r in comp.rows if r["status"] != "completed"]
    if failed:  # as `pinnlab solve` exits 1 for a run that diverged
        click.echo(f"{len(failed)} of {len(comp.rows)} runs did not complete ({', '.join(failed[:3])}"
                   f"{', ...' if len(failed) > 3 else ''}); their report.json says why", err=True)
        sys.exit(1)


@cli.command(name="report")
@click.argument("run_dirs", nargs=-1, required=True)
@click.option("--csv", "as_csv", is_flag=True, help="One row per run as CSV instead of the table.")
def report_cmd(run_dirs, as_csv):
    """Print the summary table (median [min–max] over seeds) of run directories or folders of runs."""
    from .compare import csv_text, find_runs, markdown_table, summary_rows
    rows = summary_rows(find_runs(run_dirs))
    click.echo(csv_text(rows) if as_csv else markdown_table(rows), nl=False)


@cli.command(name="plot")
@click.argument("run_dir")
@click.option("--format", "fmt", default="png", help="png | pdf.")
def plot_cmd(run_dir, fmt):
    """(Re)draw a run's figures into RUN_DIR/figures (or a compare folder's comparison figures)."""
    from .compare import SUMMARY_CSV, find_runs, summary_rows
    from .plots import plot_run
    from .plots.comparison import comparison_figures
    from .plots.style import check_format
    check_format(fmt)
    path = runs.check_path(run_dir, "run directory")
    if path.is_dir() and not (path / "config.json").exists() and (path / SUMMARY_CSV).exists():
        written = comparison_figures(path, summary_rows(find_runs([path]), root=path), fmt)
    else:
        find_runs([path])  # one clear line when it is not a run
        written = plot_run(path, fmt)
    for p in written:
        click.echo(str(p))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _show_warning(message, category, filename, lineno, file=None, line=None, _default=warnings.showwarning) -> None:
    """pinnlab's own notices as one ``warning: ...`` line; any other warning as Python shows it."""
    if issubclass(category, PinnlabWarning):
        click.echo(f"warning: {' '.join(str(message).split())}", err=True)
    else:
        _default(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input becomes one line on stderr and exit code 2, never a traceback; Ctrl-C and
    ``kill`` (SIGTERM) anywhere, a problem file's import and the figures included, are exit 130."""
    old = None
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        old = signal.signal(signal.SIGTERM, _interrupt)  # training installs its own, to stop at a step boundary
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", PinnlabWarning)
            warnings.showwarning = _show_warning
            _main(argv)
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _main(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="pinnlab", standalone_mode=False)
    except PinnlabError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except click.exceptions.Abort as e:  # click's form of a KeyboardInterrupt: what it said is its cause
        why = e.__cause__.args if isinstance(e.__cause__, KeyboardInterrupt) else ()
        click.echo(" ".join(("interrupted", *map(str, why))), err=True)
        sys.exit(130)
    except click.ClickException as e:
        click.echo(f"error: {e.format_message()}".replace("\n", " "), err=True)
        sys.exit(2)
    except KeyboardInterrupt as e:
        click.echo(" ".join(("interrupted", *map(str, e.args))), err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
