"""Layer kinds on the built-in problems: accuracy per option at an equal step budget, and cost per step.

For each kind the main option is swept (ω0 for sine; ε and the α/ε handling for yat; sign form,
offset c and init for auto; mode and slope-recovery weight for laaf) on poisson1d, heat1d and
burgers, several seeds each, every run with the same width, depth, points, number of Adam steps
and L-BFGS iterations (the same budget for all). Reported per problem and configuration: median,
min and max relative L2 error over seeds, the median final loss, and, measured separately with
the steps of all configurations interleaved in one process, the time per Adam step and the memory
the step keeps for its backward pass (bytes of saved tensors), both relative to tanh.

    python benchmarks/layers.py --quick            # under a minute on 2 cores
    python benchmarks/layers.py --jobs 2 --steps 600 --lbfgs-steps 100 --json layers.json
    python benchmarks/layers.py ... --cache runs.jsonl  # resumable: finished runs are kept and reused
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import adam_steppers, count, output_file, positive_int  # noqa: E402

# (label, kind, options, init): the sweep; the first entry is the baseline
CONFIGS: list[tuple[str, str, dict, str | None]] = [
    ("tanh", "tanh", {}, None),
    ("sine w0=1", "sine", {"omega0": 1.0}, None),
    ("sine w0=3", "sine", {"omega0": 3.0}, None),
    ("sine w0=10", "sine", {"omega0": 10.0}, None),
    ("sine w0=30", "sine", {"omega0": 30.0}, None),
    ("yat eps=1e-5", "yat", {"eps": 1e-5}, None),
    ("yat eps=0.1", "yat", {"eps": 0.1}, None),
    ("yat eps=1", "yat", {"eps": 1.0}, None),
    ("yat eps=10", "yat", {"eps": 10.0}, None),
    ("yat eps=learn", "yat", {"eps": 1.0, "learn_eps": True}, None),
    ("yat alpha=fixed", "yat", {"eps": 1.0, "alpha": "fixed"}, None),
    ("yat alpha=nmn", "yat", {"eps": 1.0, "alpha": "nmn"}, None),
    ("auto pm c=0.5", "auto", {"sign": "pm", "c": 0.5}, None),
    ("auto pm c=0.1", "auto", {"sign": "pm", "c": 0.1}, None),
    ("auto soft c=0.5", "auto", {"sign": "soft", "c": 0.5}, None),
    ("auto pm he", "auto", {"sign": "pm", "c": 0.5}, "he"),
    ("laaf neuron", "laaf", {"mode": "neuron"}, None),
    ("laaf layer", "laaf", {"mode": "layer"}, None),
    ("laaf neuron rec=0", "laaf", {"mode": "neuron", "recovery": 0.0}, None),
]
QUICK = ["tanh", "sine w0=3", "yat eps=1", "auto pm c=0.5", "laaf neuron"]
# equal width and depth for every kind; points reduced from the recipes to fit the budget
SIZES = {"poisson1d": {"points": 256, "boundary_points": 2},
         "heat1d": {"points": 400, "boundary_points": 64},
         "burgers": {"points": 600, "boundary_points": 100}}


@dataclass
class Run:
    problem: str
    label: str
    seed: int
    rel_l2: float
    final_loss: float
    status: str
    wall_s: float
    engine: str = ""


@dataclass
class Cost:
    problem: str
    label: str
    ms_per_step: float
    saved_mb: float
    engine: str
    ratio: float = 1.0
    mem_ratio: float = 1.0
    samples: list[float] = field(default_factory=list)


def _cache_key(problem: str, label: str, seed: int, steps: int, width: int, depth: int, lbfgs: int) -> tuple:
    return (problem, label, seed, steps, width, depth, lbfgs)


def _load_cache(path: Path | None) -> dict[tuple, Run]:
    """Finished runs from earlier invocations with the same settings (and the same problem sizes)."""
    out: dict[tuple, Run] = {}
    if path and path.exists():
        for line in path.read_text().splitlines():
            d = json.loads(line)
            if d.pop("sizes") == SIZES[d["problem"]]:
                key = tuple(d.pop(k) for k in ("steps", "width", "depth", "lbfgs"))
                out[_cache_key(d["problem"], d["label"], d["seed"], *key)] = Run(**d)
    return out


def _append_cache(path: Path | None, r: Run, a) -> None:
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({**vars(r), "steps": a.steps, "width": a.width, "depth": a.depth,
                                "lbfgs": a.lbfgs_steps, "sizes": SIZES[r.problem]}) + "\n")


class _Serial:
    """The executor interface, in this process (for --jobs 1)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def map(fn, items):
        return map(fn, items)


def _config(label: str):
    for c in CONFIGS:
        if c[0] == label:
            return c
    raise SystemExit(f"unknown configuration {label!r} (allowed: {', '.join(c[0] for c in CONFIGS)})")


def solve_config(problem: str, label: str, seed: int, steps: int, width: int, depth: int, lbfgs: int = 0,
                 compile_: str = "off"):
    import pinnlab as pl
    _, kind, opts, init = _config(label)
    return pl.SolveConfig(layer=kind, layer_options=dict(opts), init=init, width=width, depth=depth, steps=steps,
                          lbfgs_steps=lbfgs, seed=seed, compile=compile_, eval_every=steps, checkpoint_every=steps,
                          threads=1,
                          **SIZES[problem])


def train_one(args: tuple[str, str, int, int, int, int, int]) -> Run:
    """One training run through the PINN solver (fresh process state, one thread)."""
    problem, label, seed, steps, width, depth, lbfgs = args
    torch.set_num_threads(1)
    import pinnlab as pl
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            res = pl.solve(problem, solve_config(problem, label, seed, steps, width, depth, lbfgs), out=Path(tmp) / "run")
            rep = res.report
        except pl.RunFailed as e:
            rep = e.result.report
    return Run(problem, label, seed, float(rep.get("rel_l2", float("nan"))), float(rep.get("final_loss", float("nan"))),
               rep.get("status", "?"), time.perf_counter() - t0, str(rep.get("derivatives", "")))


def measure_cost(problem: str, labels: list[str], steps: int, width: int, depth: int,
                 compiled: bool = False) -> list[Cost]:
    """Time per Adam step and saved-tensor bytes, the configurations' steps interleaved round-robin
    (``compiled``: the solver's compiled loss-and-gradient, compiled during the warm-up step)."""
    torch.set_num_threads(1)
    from pinnlab.registry import get_problem
    prob = get_problem(problem)
    tasks, step = adam_steppers(prob, {
        label: replace(solve_config(problem, label, 0, steps, width, depth, compile_="on" if compiled else "off"),
                       lr=1e-3).resolved(prob.recipe)
        for label in labels})

    saved = {}
    for label in labels:  # warm-up, and the bytes kept for backward by one loss evaluation
        step(label)
        total = [0]

        def pack(t, total=total):
            total[0] += t.numel() * t.element_size()
            return t
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = sum(tasks[label].loss_terms().values())
        del loss
        saved[label] = total[0]
    times = {label: [] for label in labels}
    for _ in range(steps):
        for label in labels:
            t0 = time.perf_counter()
            step(label)
            times[label].append(time.perf_counter() - t0)
    out = [Cost(problem, label, 1e3 * statistics.median(times[label]), saved[label] / 2**20, tasks[label].engine,
                samples=times[label]) for label in labels]
    base = out[0]
    for c in out:
        # ratio of medians of per-round ratios: each round ran every configuration back to back
        c.ratio = statistics.median(a / b for a, b in zip(c.samples, base.samples))
        c.mem_ratio = c.saved_mb / base.saved_mb
    for c in out:
        c.samples = []
    return out


def summarise(runs: list[Run], costs: list[Cost], labels: list[str], problems: list[str]) -> list[dict]:
    rows = []
    for p in problems:
        for label in labels:
            rs = [r for r in runs if r.problem == p and r.label == label]
            errs = [r.rel_l2 for r in rs]
            finite = [e for e in errs if e == e and e != float("inf")]
            c = next((c for c in costs if c.problem == p and c.label == label), None)
            rows.append({"problem": p, "config": label, "kind": _config(label)[1], "options": _config(label)[2],
                         "init": _config(label)[3] or "default", "seeds": len(rs), "rel_l2": errs,
                         "median": statistics.median(finite) if finite else None,
                         "min": min(finite) if finite else None, "max": max(finite) if finite else None,
                         "nonfinite": len(errs) - len(finite),
                         "loss": statistics.median(r.final_loss for r in rs) if rs else None,
                         "statuses": sorted({r.status for r in rs}),
                         "ms_per_step": c.ms_per_step if c else None, "cost_ratio": c.ratio if c else None,
                         "mem_ratio": c.mem_ratio if c else None, "engine": c.engine if c else None})
    return rows


def table(rows: list[dict]) -> str:
    head = (f"{'problem':<10} {'config':<17} {'median L2':>10} {'min':>9} {'max':>9} {'ms/step':>8} {'×tanh':>6} "
            f"{'mem×':>6} {'loss':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        def f(v, fmt):
            return format(v, fmt) if v is not None else "-".rjust(int(fmt.split(".")[0]))
        lines.append(f"{r['problem']:<10} {r['config']:<17} {f(r['median'], '10.2e')} {f(r['min'], '9.1e')} "
                     f"{f(r['max'], '9.1e')} {f(r['ms_per_step'], '8.2f')} {f(r['cost_ratio'], '6.2f')} "
                     f"{f(r['mem_ratio'], '6.2f')} {f(r['loss'], '8.1e')}"
                     + (f"  ({r['nonfinite']} non-finite)" if r["nonfinite"] else "")
                     + (f"  [{', '.join(x for x in r['statuses'] if x != 'completed')}]"
                        if set(r["statuses"]) - {"completed"} else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="poisson1d, one configuration per kind, 1 seed, 300 steps")
    ap.add_argument("--json", type=output_file, metavar="FILE", help="write the figures as JSON")
    ap.add_argument("--problems", default="poisson1d,heat1d,burgers")
    ap.add_argument("--configs", default=None, help="comma-separated labels (default: all)")
    ap.add_argument("--seeds", type=positive_int, default=3)
    ap.add_argument("--steps", type=positive_int, default=1000, help="Adam steps per run")
    ap.add_argument("--lbfgs-steps", type=count, default=100, help="L-BFGS iterations after Adam")
    ap.add_argument("--timing-steps", type=positive_int, default=30, help="interleaved steps per configuration for cost")
    ap.add_argument("--width", type=positive_int, default=32)
    ap.add_argument("--depth", type=positive_int, default=3)
    ap.add_argument("--jobs", type=positive_int, default=1, help="training runs in parallel processes (one thread each)")
    ap.add_argument("--cache", type=output_file, metavar="FILE",
                    help="JSON lines of finished runs: reused, and appended to as runs end")
    ap.add_argument("--no-cost", action="store_true", help="skip the cost (ms/step, memory) measurement")
    ap.add_argument("--cost-compiled", action="store_true", help="measure the cost with the loss compiled")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    problems = a.problems.split(",")
    labels = a.configs.split(",") if a.configs else [c[0] for c in CONFIGS]
    if a.quick:
        problems, labels, a.seeds, a.steps, a.lbfgs_steps, a.timing_steps = ["poisson1d"], QUICK, 1, 300, 20, 15
    if labels[0] != "tanh":
        labels = ["tanh"] + [x for x in labels if x != "tanh"]
    for label in labels:
        _config(label)
    from pinnlab.errors import PinnlabError
    from pinnlab.registry import get_problem
    for p in problems:
        try:
            get_problem(p)
        except PinnlabError as e:
            ap.error(str(e))
    t0 = time.perf_counter()
    # configuration-major order: with --cache, an interrupted sweep has whole configurations done
    jobs = [(p, label, s, a.steps, a.width, a.depth, a.lbfgs_steps)
            for label in labels for p in problems for s in range(a.seeds)]
    cached = _load_cache(a.cache)
    runs = [cached[j] for j in jobs if j in cached]
    todo = [j for j in jobs if j not in cached]
    with ProcessPoolExecutor(a.jobs) if a.jobs > 1 else _Serial() as ex:
        for r in ex.map(train_one, todo):  # one line per run, so a long run shows its figures as it goes
            runs.append(r)
            _append_cache(a.cache, r, a)
            print(f"  [{len(runs)}/{len(jobs)}] {r.problem} {r.label} seed {r.seed}: rel L2 {r.rel_l2:.3g}, "
                  f"loss {r.final_loss:.3g}, {r.status}, {r.wall_s:.1f} s", file=sys.stderr, flush=True)
    if a.no_cost:
        costs = []
    else:
        costs = [c for p in problems for c in measure_cost(p, labels, a.timing_steps, a.width, a.depth,
                                                             a.cost_compiled)]
    labels = [c[0] for c in CONFIGS if c[0] in labels]  # the table in kind order
    rows = summarise(runs, costs, labels, problems)
    print(f"layers: width {a.width}, depth {a.depth}, {a.steps} Adam steps (lr from each recipe) + "
          f"{a.lbfgs_steps} L-BFGS iterations, "
          f"{a.seeds} seed(s), torch threads 1, derivatives: {sorted({c.engine for c in costs})}"
          + (", cost with the loss compiled" if a.cost_compiled else ""))
    print(table(rows))
    print(f"wall {time.perf_counter() - t0:.0f} s")
    if a.json:
        Path(a.json).write_text(json.dumps({
            "issue": 5, "benchmark": "layers", "width": a.width, "depth": a.depth, "steps": a.steps,
            "lbfgs_steps": a.lbfgs_steps, "seeds": a.seeds, "threads": 1, "sizes": {p: SIZES[p] for p in problems},
            "results": rows, "runs": [vars(r) for r in runs]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
