"""A comparison's summaries: one row per run read from its report.json, grouped by problem × layer ×
solver × setting, as summary.csv, summary.md and the comparison figures."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import runs
from ..errors import RunError
from ..solvers.registry import measures

SUMMARY_CSV, SUMMARY_MD = "summary.csv", "summary.md"
NUMBERS = ("rel_l2", "max_abs_error", "heldout_residual", "final_loss", "steps", "wall_s", "ms_per_step",
           "param_rel_error")
CSV_COLUMNS = ("problem", "layer", "solver", "seed", "status", *NUMBERS, "unknowns", "setting", "run")
# config keys that do not make runs unlike: the grouping columns themselves, and checkpoint cadence
NOT_A_SETTING = ("seed", "layer", "solver", "checkpoint_every")
MAX_SEEDS = 10_000  # the grid is listed before it runs: a bound keeps a mistyped count from filling memory
FINISHED = ("completed", "diverged")


def find_runs(paths: Iterable[str | Path]) -> list[Path]:
    """Run directories named directly, or found inside the given folders (e.g. compare outputs)."""
    found: list[Path] = []
    for p in paths:
        p = runs.check_path(p, "run directory")
        if not p.is_dir():
            raise RunError(runs.not_a_folder(p, "run directory"))
        if (p / runs.CONFIG).exists():
            found.append(p)
            continue
        inner = sorted(c.parent for c in p.rglob(runs.CONFIG))
        if (p / SUMMARY_CSV).exists():  # a compare folder: its grid order, so `report` prints summary.md's table
            order = {str(p / r["run"]): i for i, r in enumerate(read_summary_csv(p / SUMMARY_CSV))}
            inner.sort(key=lambda d: order.get(str(d), len(order)))
        if not inner:
            raise RunError(f"{str(p)!r} is neither a pinnlab run nor a folder of runs (no {runs.CONFIG} inside)")
        found += inner
    return list(dict.fromkeys(found))


def summary_rows(run_dirs: Sequence[Path], root: Path | None = None) -> list[dict[str, Any]]:
    """One row per run, numbers exactly as in its report.json (None where the run has not reported)."""
    rows = []
    for d in run_dirs:
        run = runs.load_run(d)
        r, c = run.report or {}, run.config.get("config", {})
        try:
            rel = str(Path(d).relative_to(root)) if root is not None else str(d)
        except ValueError:
            rel = str(d)
        row = {"problem": r.get("problem", run.config.get("problem")), "layer": r.get("layer", c.get("layer")),
               "solver": r.get("solver", c.get("solver")), "seed": r.get("seed", c.get("seed")),
               "status": run.status, "measure": r.get("measure")}
        for k in NUMBERS:
            row[k] = r.get(k)
        row.update(_recovered(r.get("unknowns")))
        params = run.config.get("problem_params", r.get("params", {}))  # as run: defaults and --set alike
        row["setting"], row["run"] = _flat_config(c, params), rel
        rows.append(row)
    return _name_settings(rows)


def _recovered(unknowns: Any) -> dict[str, Any]:
    """An inverse run's recovered values as text (``nu=0.003183 (rel error 1.2e-04)``) and its worst relative
    error over the unknowns whose truth is known (``param_rel_error``)."""
    if not isinstance(unknowns, dict) or not unknowns:
        return {"unknowns": None, "param_rel_error": None}
    parts, errs = [], []
    for k, u in unknowns.items():
        if not isinstance(u, dict) or not isinstance(u.get("learned"), (int, float)):
            continue
        err = u.get("rel_error")
        parts.append(f"{k}={u['learned']:.6g}" + (f" (rel error {err:.1e})" if isinstance(err, (int, float)) else ""))
        if isinstance(err, (int, float)):
            errs.append(err)
    return {"unknowns": "; ".join(parts) or None, "param_rel_error": max(errs) if errs else None}


def _flat_config(config: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A run's options as flat ``key: value`` pairs: config entries (``weights.residual``) and the
    problem's parameters by name (``nu``; the overrides in config["params"] are already among them)."""
    flat = {}
    for k, v in config.items():
        if k in NOT_A_SETTING or k == "params":
            continue
        if isinstance(v, dict):
            flat.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            flat[k] = v
    for k, v in (params or {}).items():
        flat[k if k not in flat else f"parameter {k}"] = v
    return flat


def _name_settings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace each row's flat config by the text of what sets it apart from the other runs of its problem,
    layer and solver ("" when nothing does), so that only like runs are pooled."""
    by_combo: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        by_combo.setdefault((r["problem"], r["layer"], r["solver"]), []).append(r)
    for same in by_combo.values():
        keys = sorted({k for r in same for k in r["setting"]})
        differ = [k for k in keys if len({repr(r["setting"].get(k)) for r in same}) > 1]
        for r in same:
            r["setting"] = ", ".join(f"{k}={r['setting'].get(k)}" for k in differ)
    return rows


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: ("" if row.get(k) is None else row[k]) for k in CSV_COLUMNS})
    return buf.getvalue()


def read_summary_csv(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="") as fh:
        return [{"setting": "", **{k: runs.csv_value(v) if k in NUMBERS else v for k, v in r.items()}}
                for r in csv.DictReader(fh)]  # summary.csv files written before the setting column have none


@dataclass
class Group:
    problem: str
    layer: str
    solver: str
    setting: str
    rows: list[dict[str, Any]]

    def stat(self, key: str) -> tuple[float, float, float] | None:
        """Median, min and max of ``key`` over the completed runs (a diverged or unfinished run's figures
        are those of a state it was not trained to: the status column counts those runs instead)."""
        vals = [r[key] for r in self.rows if r.get("status") == "completed" and isinstance(r.get(key), (int, float))
                and math.isfinite(r[key])]
        return (statistics.median(vals), min(vals), max(vals)) if vals else None

    @property
    def status(self) -> str:
        n, seeds = len(self.rows), len({r["seed"] for r in self.rows})
        bad = {}
        for r in self.rows:
            if r["status"] != "completed":
                bad[r["status"]] = bad.get(r["status"], 0) + 1
        count = str(n) if seeds == n else f"{n} runs of {seeds} seed{'s' if seeds > 1 else ''}"  # repeats
        return count + ("" if not bad else " (" + ", ".join(f"{v} {k}" for k, v in sorted(bad.items())) + ")")


def groups(rows: Sequence[dict[str, Any]]) -> list[Group]:
    """Rows grouped by problem × layer × solver × setting, in first-seen order of problems, sorted within."""
    out: dict[tuple, Group] = {}
    order = list(dict.fromkeys(r["problem"] for r in rows))
    for r in sorted(rows, key=lambda r: (order.index(r["problem"]), str(r["layer"]), str(r["solver"]),
                                         r.get("setting", ""))):
        key = (r["problem"], r["layer"], r["solver"], r.get("setting", ""))
        out.setdefault(key, Group(*key, rows=[])).rows.append(r)
    return list(out.values())


def _cell(s: tuple[float, float, float] | None, fmt: str, n: int) -> str:
    if s is None:
        return "–"
    med, lo, hi = s
    return format(med, fmt) if n == 1 or lo == hi else f"{med:{fmt}} [{lo:{fmt}}–{hi:{fmt}}]"


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """Median [min–max] over seeds per problem × layer × solver; the best median rel L2 per problem in bold."""
    gs = groups(rows)
    best: dict[str, float] = {}
    for g in gs:
        s = g.stat("rel_l2")
        if s is not None:
            best[g.problem] = min(best.get(g.problem, math.inf), s[0])
    settings = any(g.setting for g in gs)  # runs of one layer and solver with other options: a column says which
    inverse = any(g.stat("param_rel_error") is not None for g in gs)  # runs that learned unknown parameters
    lines = ["| problem | layer | solver |" + (" setting |" if settings else "")
             + " seeds | rel L2 |" + (" unknowns: worst rel error |" if inverse else "")
             + " wall time [s] | ms / Adam step |",
             "|---|---|---|" + ("---|" if settings else "") + "---|---|" + ("---|" if inverse else "") + "---|---|"]
    for g in gs:
        s, n = g.stat("rel_l2"), len(g.rows)
        err = _cell(s, ".2e", n)
        if s is not None and s[0] == best.get(g.problem):
            err = f"**{err}**"
        lines.append(f"| {g.problem} | {g.layer} | {g.solver} |" + (f" {g.setting or '–'} |" if settings else "")
                     + f" {g.status} | {err} | "
                     + (f"{_cell(g.stat('param_rel_error'), '.2e', n)} | " if inverse else "")
                     + f"{_cell(g.stat('wall_s'), '.1f', n)} | {_cell(g.stat('ms_per_step'), '.2f', n)} |")
    return "\n".join(lines) + "\n"


def summary_markdown(rows: Sequence[dict[str, Any]]) -> str:
    m = measures(rows)
    note = ""
    if len(set(m.values())) > 1:  # solvers whose errors are different measures side by side: say so where it is read
        note = ("\n\nNote: rel L2 is not the same measure for every solver here: "
                + "; ".join(f"{s}: {v}" for s, v in m.items()) + ".")
    return ("# Comparison summary\n\nMedian and [min–max] over seeds; the lowest median rel L2 per problem is in bold. "
            f"One row per run: summary.csv.{note}\n\n" + markdown_table(rows))


def _write_if_changed(path: Path, text: str) -> bool:
    data = text.encode()
    if path.exists() and path.read_bytes() == data:
        return False
    runs.atomic_write(path, data)
    return True


def write_summaries(out: Path, rows: Sequence[dict[str, Any]], plot: bool = True, fmt: str = "png") -> list[Path]:
    """summary.csv, summary.md and the comparison figures; files whose content would not change are left alone."""
    out = Path(out)
    changed = _write_if_changed(out / SUMMARY_CSV, csv_text(rows))
    changed |= _write_if_changed(out / SUMMARY_MD, summary_markdown(rows))
    written = [out / SUMMARY_CSV, out / SUMMARY_MD]
    if plot:
        from ..plots.comparison import comparison_figures, expected_figures
        expected = expected_figures(out, rows, fmt)[:2]  # per-problem field figures exist only where data does
        if changed or not all(p.exists() for p in expected):
            written += comparison_figures(out, rows, fmt)
        else:
            written += expected
    return written

