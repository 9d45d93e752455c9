"""Accuracy: each problem's recipe over seeds (median and worst rel L2, wall time), and an ablation.

The recipe table runs ``pinnlab solve NAME`` as a user would (no options) for each seed, for every
built-in PDE (``--problems`` picks some). ``--defaults`` runs the three user-written problems of
examples/ (no recipe) with the general default beside the default before it (``OLD_DEFAULT``). The ablation
(``--ablation``) runs burgers at a reduced budget (2000 Adam steps, 500 iterations after) in
configurations that differ in one technique each (the optimiser after Adam, causal weighting,
restarts on new points drawn by RAD, a smaller network), seed by seed with the configurations in
turn, so load drifts on a shared machine fall on all of them alike.

    python benchmarks/accuracy.py --quick                       # under a minute: short burgers runs
    nice -n 10 python benchmarks/accuracy.py --json accuracy.json
    nice -n 10 python benchmarks/accuracy.py --ablation --seeds 3 --json ablation.json
    nice -n 10 python benchmarks/accuracy.py --defaults --seeds 3 --json defaults.json

JSON: ``{"problems": {NAME: {"rel_l2_median", "rel_l2_worst", "wall_s", "rel_l2", ...}}, "ablation": {...}}``
(wall_s: the median over seeds of one run's training and evaluation); ``--defaults``:
``{"defaults": {FILE: {"new": {...}, "old": {...}, "error_ratio", "time_ratio"}}}``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, positive_int, setup, table, write_json  # noqa: E402

PROBLEMS = ("advection1d", "allen-cahn", "burgers", "heat1d", "helmholtz2d", "kdv", "kovasznay", "poisson1d",
            "poisson2d", "wave1d")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
USER_PROBLEMS = ("fisher_kpp.py", "poisson_exp.py", "decay_chain.py")  # written as a user would; not tuned on
# the general default (a Recipe() with nothing set) before issue 23 chose one: Adam then L-BFGS
OLD_DEFAULT = dict(width=32, depth=3, steps=3000, lbfgs_steps=500, lr=1e-3, points=2000, boundary_points=200,
                   optimizer="lbfgs", lr_decay=1.0)
# burgers at a reduced budget (2000 Adam steps, 500 iterations after), each row one change from the one
# it names; the first is today's schedule (Adam then L-BFGS)
ABLATION_BUDGET = dict(steps=2000, lbfgs_steps=500)
ABLATION = {
    "adam+lbfgs": dict(optimizer="lbfgs"),
    "adam+bfgs": dict(optimizer="bfgs"),
    "adam+ssbroyden": dict(optimizer="ssbroyden"),
    "ssbroyden+causal": dict(optimizer="ssbroyden", causal=1.0),
    "ssbroyden+rba": dict(optimizer="ssbroyden", rba=0.01),
    "ssbroyden+restart250+rad": dict(optimizer="ssbroyden", qn_restart=250, rad=1.0),
    "same, 3x20 net": dict(optimizer="ssbroyden", qn_restart=250, rad=1.0, width=20, depth=3),
}
QUICK = dict(steps=200, lbfgs_steps=40, points=500, boundary_points=50, compile="off")  # compiling would take most of it
QUICK_ABLATION = ("adam+lbfgs",)  # beside the recipe row (burgers: SSBroyden)


def run(problem: str, overrides: dict, seed: int, threads: int, device: str) -> tuple[float, float, str]:
    """One run: (rel L2, wall seconds, why its last stage stopped)."""
    import pinnlab as pl
    cfg = pl.SolveConfig(seed=seed, threads=threads, device=device, **overrides)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        res = pl.solve(problem, cfg, out=Path(tmp) / "run")
        wall = time.perf_counter() - start
    return float(res.report["rel_l2"]), wall, res.report["lbfgs_stop_reason"]


def summary(label: str, errs: list[float], walls: list[float], stops: list[str]) -> dict:
    return {"config": label, "seeds": len(errs), "rel_l2_median": statistics.median(errs), "rel_l2_worst": max(errs),
            "wall_s": statistics.median(walls), "rel_l2": errs, "walls": walls, "stop": stops[-1]}


COLUMNS = [("config", "configuration", ""), ("seeds", "seeds", "d"), ("rel_l2_median", "median rel L2", ".2e"),
           ("rel_l2_worst", "worst rel L2", ".2e"), ("wall_s", "median s", ".1f"), ("stop", "last stage stopped", "")]


def defaults(seeds: list[int], extra: dict, args) -> dict:
    """Each user problem with no options (the general default) and with OLD_DEFAULT, seed by seed in turn."""
    rows, out = [], {}
    for name in USER_PROBLEMS:
        path = str(EXAMPLES / name)
        got = {k: ([], [], []) for k in ("new", "old")}
        for seed in seeds:
            for k in got:
                e, w, why = run(path, {**(OLD_DEFAULT if k == "old" else {}), **extra}, seed, args.threads,
                                args.device)
                for acc, v in zip(got[k], (e, w, why)):
                    acc.append(v)
                print(f"  {name} {k} default seed {seed}: rel L2 {e:.3e} in {w:.1f} s ({why})", flush=True)
        new, old = summary(f"{name} (new)", *got["new"]), summary(f"{name} (old)", *got["old"])
        rows += [new, old]
        out[name] = {"new": new, "old": old, "error_ratio": old["rel_l2_median"] / new["rel_l2_median"],
                     "time_ratio": new["wall_s"] / old["wall_s"]}
    print("\nthe general default (new) against the one before it (old), user problems of examples/"
          + (" (quick: short runs)" if args.quick else ""))
    print(table(rows, COLUMNS))
    for name, r in out.items():
        print(f"{name}: {r['error_ratio']:.1f}x lower median error at {r['time_ratio']:.2f}x the time")
    return out


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated problem names (recipe table)")
    p.add_argument("--seeds", type=positive_int, default=5, help="seeds per cell (default 5)")
    p.add_argument("--ablation", action="store_true", help="the burgers ablation instead of the recipe table")
    p.add_argument("--configs", default="", help="comma-separated ablation rows (default: all)")
    p.add_argument("--defaults", action="store_true",
                   help="the general default against the one before it on the user problems of examples/")
    args = p.parse_args()
    setup(args)
    seeds = [0] if args.quick else list(range(args.seeds))
    extra = QUICK if args.quick else {}
    out: dict = {"quick": args.quick, "machine": "shared 2-core machine (loaded by other users)"}
    if args.defaults:
        out["defaults"] = defaults(seeds, extra, args)
        write_json(args.json, out)
        return
    if args.ablation or args.quick:
        names = QUICK_ABLATION if args.quick else [c for c in (args.configs.split(",") if args.configs else ABLATION)]
        unknown = [n for n in names if n not in ABLATION]
        if unknown:
            p.error(f"unknown ablation row {unknown[0]!r} (allowed: {', '.join(ABLATION)})")
        got: dict[str, tuple[list, list, list]] = {n: ([], [], []) for n in names}
        for seed in seeds:
            for n in names:
                e, w, why = run("burgers", {**ABLATION_BUDGET, **ABLATION[n], **extra}, seed, args.threads,
                                args.device)
                for acc, v in zip(got[n], (e, w, why)):
                    acc.append(v)
                print(f"  burgers {n} seed {seed}: rel L2 {e:.3e} in {w:.1f} s ({why})", flush=True)
        rows = [summary(n, *got[n]) for n in names]
        print("\nburgers ablation" + (" (quick: short runs)" if args.quick else ""))
        print(table(rows, COLUMNS))
        out["ablation"] = {r["config"]: r for r in rows}
    if not args.ablation:
        problems = ["burgers"] if args.quick else [n for n in args.problems.split(",") if n]
        rows = []
        for name in problems:
            errs, walls, stops = [], [], []
            for seed in seeds:
                e, w, why = run(name, extra, seed, args.threads, args.device)
                errs.append(e)
                walls.append(w)
                stops.append(why)
                print(f"  {name} recipe seed {seed}: rel L2 {e:.3e} in {w:.1f} s ({why})", flush=True)
            rows.append(summary(name, errs, walls, stops))
        print("\nrecipes" + (" (quick: short runs)" if args.quick else ""))
        print(table(rows, COLUMNS))
        out["problems"] = {r["config"]: r for r in rows}
    write_json(args.json, out)


if __name__ == "__main__":
    main()
