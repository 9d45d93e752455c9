"""RAI on deep PINNs: plain training against RAI and a residual (skip) network of the same depth, at equal wall time.

For each problem, layer kind, depth and seed, plain training runs ``--steps`` Adam steps; its wall time is the
budget every other method gets (a run is stopped when its time is up). Every error is the plain network's
rel L2 against the reference, measured here from the network each run leaves. A second table compares
full-batch RAI with mini-batch RAI after the same number of epochs.

    python benchmarks/rai_deep_pinn.py --quick
    nice -n 5 python benchmarks/rai_deep_pinn.py --depths 4,16,32 --layers sigmoid,tanh --json runs/rai_deep.json
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import output_file, parser, positive_int, setup, table, write_json  # noqa: E402

import pinnlab as pl  # noqa: E402
import pinnlab.solvers.rai  # noqa: E402,F401  (registers --solver rai)
from pinnlab.registry import get_problem  # noqa: E402

# the RAI variant measured best on the deep sigmoid PINN (docs/rai.md), then its warm start for plain training
RAI_OPTS = {"state_scale": 20.0, "lam_end": 1e4}
METHODS = {
    "plain": {"solver": "pinn"},
    "skip": {"solver": "pinn", "skip": True},
    # residual branches scaled by 1/sqrt(depth): the sum of depth branches keeps its scale
    "skip-scaled": {"solver": "pinn", "skip": True, "scaled": True},
    "rai": {"solver": "rai", "options": RAI_OPTS},
    "rai-then-plain": {"solver": "rai", "options": RAI_OPTS, "then_lr": 1e-3, "fraction": 0.5},
    # one option at a time (--methods), for the options table of docs/rai.md
    "rai-ref": {"solver": "rai", "options": {}},
    "rai-scale20": {"solver": "rai", "options": {"state_scale": 20.0}},
    "rai-ramp": {"solver": "rai", "options": {"lam_end": 1e4}},
    "rai-hidden": {"solver": "rai", "options": {**RAI_OPTS, "layers": "hidden"}},
    "rai-every4": {"solver": "rai", "options": {**RAI_OPTS, "layers": "every:4"}},
    "rai-cut-layer": {"solver": "rai", "options": {**RAI_OPTS, "cut": "layer"}},
    "rai-sum": {"solver": "rai", "options": {**RAI_OPTS, "reduction": "sum"}},
    "rai-resync": {"solver": "rai", "options": {**RAI_OPTS, "resync": 50}},
    "rai-gap": {"solver": "rai", "options": {**RAI_OPTS, "gap": 1.0}},
    "rai-alternating": {"solver": "rai", "options": {**RAI_OPTS, "update": "alternating"}},
    # the fix for free partials: only a state's value is free, its partials come through the layer
    "rai-value": {"solver": "rai", "options": {**RAI_OPTS, "free": "value"}},
    "rai-value-const": {"solver": "rai", "options": {"state_scale": 20.0, "free": "value"}},
    "rai-value-then-plain": {"solver": "rai", "options": {**RAI_OPTS, "free": "value"}, "then_lr": 1e-3,
                             "fraction": 0.5},
    # RAI for a fixed number of Adam steps (this share of plain training's), so that λ's ramp to 1e4 is completed
    # (in a time-stopped run it ramps over steps it never takes), then plain training for the rest of the budget;
    # "fraction" caps the RAI phase's share of the budget
    "rai-ramp-then-plain": {"solver": "rai", "options": RAI_OPTS, "rai_steps": 0.25, "then_lr": 1e-3,
                            "fraction": 0.8},
    "rai-every16-ramp-then-plain": {"solver": "rai", "options": {**RAI_OPTS, "layers": "every:16"},
                                    "rai_steps": 0.25, "then_lr": 1e-3, "fraction": 0.8},
    "rai-every8-ramp-then-plain": {"solver": "rai", "options": {**RAI_OPTS, "layers": "every:8"},
                                   "rai_steps": 0.25, "then_lr": 1e-3, "fraction": 0.8},
    "rai-hidden-ramp-then-plain": {"solver": "rai", "options": {**RAI_OPTS, "layers": "hidden"},
                                   "rai_steps": 0.25, "then_lr": 1e-3, "fraction": 0.8},
    # Adam for this share of plain training's steps, then L-BFGS (float64) until the budget is spent: on the plain
    # loss for plain training, on the plain PINN loss (lbfgs=plain) or on the RAI objective (lbfgs=rai) after RAI
    "plain-lbfgs": {"solver": "pinn", "adam_share": 0.5},
    "rai-lbfgs-plain": {"solver": "rai", "options": {"state_scale": 20.0, "lbfgs": "plain"}, "adam_share": 0.25},
    "rai-lbfgs-rai": {"solver": "rai", "options": {"state_scale": 20.0, "lbfgs": "rai"}, "adam_share": 0.25},
    "rai-every16-then-plain": {"solver": "rai", "options": {**RAI_OPTS, "layers": "every:16"}, "then_lr": 1e-3,
                               "fraction": 0.5},
}
DEFAULT_METHODS = ["plain", "skip", "skip-scaled", "rai", "rai-then-plain"]


def plain_rel_l2(net: nn.Module, problem) -> float:
    """The plain network's rel L2 against the problem's reference over its evaluation points."""
    ev = problem.evaluation()
    dtype = next(net.parameters()).dtype
    with torch.no_grad():
        pred = net(torch.as_tensor(ev.points, dtype=dtype)).double().numpy()
    return float(np.linalg.norm(pred - ev.values) / np.linalg.norm(ev.values))


def _stop_after(seconds: float):
    """A progress callback that interrupts the run once its training wall time reaches ``seconds``."""
    def progress(state, row):
        if not progress.sent and row.get("wall_s", 0.0) >= seconds:
            progress.sent = True
            os.kill(os.getpid(), signal.SIGINT)
    progress.sent = False
    return progress


def _run(problem: str, cfg: pl.SolveConfig, out: Path, budget: float | None) -> tuple[pl.Result, bool]:
    try:
        return pl.solve(problem, cfg, out=out, progress=_stop_after(budget) if budget else None), False
    except pl.RunInterrupted:
        return pl.load_result(out), True


def one(problem: str, layer: str, depth: int, width: int, seed: int, method: str, steps: int, lr: float,
        budget: float | None, work: Path, options: dict | None = None, points: int | None = None) -> dict:
    m = METHODS[method]
    # the skip network: pinnlab's residual layer kind, h + act(W h + b), with this activation
    alpha = {"alpha": depth ** -0.5} if m.get("scaled") else {}
    kind = dict(layer="residual", layer_options={"activation": layer, **alpha}) if m.get("skip") else dict(layer=layer)
    base = dict(**kind, width=width, depth=depth, seed=seed, lbfgs_steps=0, lr=lr, compile="off",
                checkpoint_every=10 ** 6, eval_every=10 ** 6, **({"points": points} if points else {}))
    tag = f"{problem}-{layer}-{depth}-{seed}-{method}-{time.monotonic_ns()}"
    frac = m.get("fraction", 1.0)
    first_budget = budget * frac if budget else None
    # a stopped run trains until its time is up: give it far more steps than it can take
    first_steps = steps if budget is None else steps * 50
    if "rai_steps" in m:
        first_steps = max(1, round(steps * m["rai_steps"]))
    if "adam_share" in m:
        first_steps = max(1, round(steps * m["adam_share"]))
        base = {**base, "lbfgs_steps": 10 ** 5 if budget else steps - first_steps, "optimizer": "lbfgs"}
    opts = {**m.get("options", {}), **(options or {})}
    t0 = time.perf_counter()
    res, _ = _run(problem, pl.SolveConfig(solver=m["solver"], steps=first_steps, options=opts, **base),
                  work / tag, first_budget)
    rec = {"problem": problem, "layer": layer, "depth": depth, "width": width, "seed": seed, "method": method,
           "steps": res.report.get("adam_steps") or len([h for h in res.history if h.get("phase") == "adam"]),
           "rai_objective": res.report.get("rai_objective"), "rai_state_mib": res.report.get("rai_state_mib")}
    if "then_lr" in m:
        rest = budget - (time.perf_counter() - t0) if budget else None
        then_steps = steps * 50 if budget else first_steps
        res, _ = _run(problem, pl.SolveConfig(solver="pinn", steps=then_steps, init_from=str(work / tag),
                                              **{**base, "lr": m["then_lr"]}), work / (tag + "-then"), rest)
        rec["then_steps"] = res.report.get("adam_steps")
    rec["seconds"] = time.perf_counter() - t0
    rec["rel_l2"] = plain_rel_l2(res.net, get_problem(problem))
    return rec


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--problems", default="poisson1d", help="comma-separated (default poisson1d)")
    p.add_argument("--layers", default="sigmoid,tanh", help="activations (default sigmoid,tanh)")
    p.add_argument("--depths", default="4,16,32", help="hidden layers (default 4,16,32)")
    p.add_argument("--width", type=positive_int, default=20)
    p.add_argument("--seeds", type=positive_int, default=3)
    p.add_argument("--first-seed", type=int, default=0,
                   help="start at this seed (more seeds later in another process, summarised with --merge)")
    p.add_argument("--steps", type=positive_int, default=2000, help="plain training's Adam steps: the time budget")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--points", type=positive_int, default=None,
                   help="collocation points (default: each problem's recipe; fewer make a deep sweep affordable)")
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS), help=f"from {','.join(METHODS)}")
    p.add_argument("--batch-depth", type=int, default=32, help="depth of the full- vs mini-batch RAI comparison (0: none)")
    p.add_argument("--batch-epochs", type=positive_int, default=1000, help="epochs of that comparison")
    p.add_argument("--batch-size", type=positive_int, default=64, help="collocation points per mini-batch")
    p.add_argument("--batch-only", action="store_true", help="only the full- vs mini-batch comparison")
    p.add_argument("--fig", type=output_file, default=None, help="figure: plain-network rel L2 against depth per method")
    p.add_argument("--merge", default=None,
                   help="comma-separated JSON files of earlier runs of this script: no training, their runs "
                        "summarised together (e.g. one process per layer kind)")
    args = p.parse_args(argv)
    setup(args)
    if args.merge:
        rows, batch_rows = [], []
        for f in args.merge.split(","):
            try:
                old = json.loads(Path(f).read_text())
            except (OSError, ValueError) as e:
                p.error(f"--merge: cannot read {f!r} ({e})")
            rows += old.get("runs", [])
            batch_rows += old.get("batch", [])
        report(args, rows, batch_rows)
        return
    if args.quick:
        args.depths, args.layers, args.seeds, args.steps = "8", "sigmoid", 1, 150
        args.batch_depth, args.batch_epochs = 8, 40
    methods = args.methods.split(",")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        p.error(f"unknown method {bad[0]!r} (allowed: {', '.join(METHODS)})")
    rows = []
    with tempfile.TemporaryDirectory(prefix="rai-deep-") as tmp:
        work = Path(tmp)
        for problem in [] if args.batch_only else args.problems.split(","):
            for layer in args.layers.split(","):
                for depth in (int(d) for d in args.depths.split(",")):
                    for seed in range(args.first_seed, args.seeds):
                        plain = one(problem, layer, depth, args.width, seed, "plain", args.steps, args.lr, None, work,
                                    points=args.points)
                        budget = plain["seconds"]
                        runs = [plain] + [one(problem, layer, depth, args.width, seed, m, args.steps, args.lr, budget, work,
                                              points=args.points) for m in methods if m != "plain"]
                        for r in runs:
                            r["budget_s"] = budget
                            print(f"{problem} {layer:8s} depth {depth:3d} seed {seed} {r['method']:15s} rel L2 "
                                  f"{r['rel_l2']:.3e}  {r['seconds']:.0f} s  {r['steps']} steps", flush=True)
                        rows += runs
                        if args.json is not None:
                            args.json.write_text(json.dumps({"runs": rows}, indent=2) + "\n")
        batch_rows = []
        if args.batch_depth:
            problem, layer = args.problems.split(",")[0], args.layers.split(",")[0]
            n = get_problem(problem).recipe.points
            for seed in range(args.seeds):
                for b in (0, args.batch_size):
                    steps = args.batch_epochs * (1 if not b else -(-n // b))
                    r = one(problem, layer, args.batch_depth, args.width, seed, "rai", steps, args.lr, None, work,
                            options={"batch": b})
                    r.update(batch=b or n, epochs=args.batch_epochs)
                    batch_rows.append(r)
                    print(f"{problem} {layer} depth {args.batch_depth} seed {seed} batch {r['batch']}: rel L2 "
                          f"{r['rel_l2']:.3e} after {args.batch_epochs} epochs ({steps} steps, {r['seconds']:.0f} s)",
                          flush=True)
    report(args, rows, batch_rows)


def figure(summary: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = sorted({(s["problem"], s["layer"]) for s in summary})
    cols = min(3, len(panels))  # more panels wrap onto further rows
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4 * rows), squeeze=False, constrained_layout=True)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (problem, layer) in zip(axes.flat, panels):
        for method in METHODS:
            pts = sorted((s["depth"], s["rel_l2"], s["rel_l2s"]) for s in summary
                         if (s["problem"], s["layer"], s["method"]) == (problem, layer, method))
            if not pts:
                continue
            # one colour per method in every panel
            line, = ax.plot([d for d, _, _ in pts], [m for _, m, _ in pts], "o-", label=method,
                            color=f"C{list(METHODS).index(method) % 10}")
            for d, _, each in pts:  # every seed, faint, beside the median
                ax.plot([d] * len(each), each, ".", color=line.get_color(), alpha=0.4)
        ax.set_xscale("log", base=2)
        depths = sorted({s["depth"] for s in summary if (s["problem"], s["layer"]) == (problem, layer)})
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_yscale("log")
        ax.set_xlabel("hidden layers")
        ax.set_ylabel("plain network rel L2")
        ax.set_title(f"{problem}, {layer}: equal wall time")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"figure written to {path}")


def report(args, rows: list[dict], batch_rows: list[dict]) -> None:
    """The tables (medians over seeds), the JSON and the figure of these runs."""
    keys = sorted({(r["problem"], r["layer"], r["depth"], r["method"]) for r in rows},
                  key=lambda k: (k[0], k[1], k[2], list(METHODS).index(k[3])))
    summary = []
    for k in keys:
        rs = [r for r in rows if (r["problem"], r["layer"], r["depth"], r["method"]) == k]
        summary.append({"problem": k[0], "layer": k[1], "depth": k[2], "method": k[3],
                        "rel_l2": _median([r["rel_l2"] for r in rs]), "rel_l2s": [r["rel_l2"] for r in rs],
                        "seconds": _median([r["seconds"] for r in rs]), "steps": _median([r["steps"] for r in rs]),
                        "state_mib": _median([r["rai_state_mib"] for r in rs])})
    print()
    print(table(summary, [("problem", "problem", ""), ("layer", "layer", ""), ("depth", "depth", "d"),
                          ("method", "method", ""), ("rel_l2", "plain rel L2", ".2e"), ("seconds", "s", ".0f"),
                          ("steps", "Adam steps", ".0f"), ("state_mib", "state MiB", ".2f")]))
    seeds = len({r["seed"] for r in rows})
    print(f"(medians over {seeds} seeds; every method in the wall time of plain training's Adam steps; no L-BFGS; "
          "timings on a loaded shared machine)")
    if batch_rows:
        print()
        print(table(batch_rows, [("seed", "seed", "d"), ("batch", "batch", "d"), ("epochs", "epochs", "d"),
                                 ("steps", "Adam steps", "d"), ("rel_l2", "plain rel L2", ".2e"),
                                 ("seconds", "s", ".0f")]))
    bsum = {}
    for b in sorted({r["batch"] for r in batch_rows}):
        rs = [r for r in batch_rows if r["batch"] == b]
        bsum[str(b)] = {"rel_l2": _median([r["rel_l2"] for r in rs]), "seconds": _median([r["seconds"] for r in rs])}
    # the targets: plain over best RAI (>= 10 wanted) and skip at depth >= 32; mini-batch over full batch (<= 2)
    gains = {}
    for s in summary:
        if s["method"] != "plain" or s["depth"] < 32:
            continue
        same = {t["method"]: t["rel_l2"] for t in summary
                if (t["problem"], t["layer"], t["depth"]) == (s["problem"], s["layer"], s["depth"])}
        rai = [v for m, v in same.items() if m.startswith("rai") and v]
        skips = [v for m, v in same.items() if m.startswith("skip") and v]
        gains[f"{s['problem']}-{s['layer']}-{s['depth']}"] = {
            "plain_over_best_rai": s["rel_l2"] / min(rai) if rai else None,
            "plain_over_skip": s["rel_l2"] / same["skip"] if same.get("skip") else None,
            "plain_over_best_skip": s["rel_l2"] / min(skips) if skips else None}
        print(f"depth {s['depth']} {s['layer']}: plain / best RAI rel L2 = {gains[list(gains)[-1]]['plain_over_best_rai']}")
    full = bsum.get(str(max((int(b) for b in bsum), default=0)))
    mini = bsum.get(str(min((int(b) for b in bsum), default=0)))
    batch_ratio = mini["rel_l2"] / full["rel_l2"] if full and mini and len(bsum) > 1 else None
    if batch_ratio is not None:
        print(f"mini-batch / full-batch RAI rel L2 after the same epochs: {batch_ratio:.2f}")
    setting = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    write_json(args.json, {"setting": setting, "runs": rows, "summary": summary, "batch": batch_rows,
                           "batch_summary": bsum, "mini_over_full_batch": batch_ratio, "depth_gains": gains,
                           "rai_options": RAI_OPTS})
    if args.fig is not None and summary:
        figure(summary, args.fig)


if __name__ == "__main__":
    main()
