"""The seed claims, settled with numbers: writes docs/claims.md (and optionally JSON).

Each claim is one function registered with ``@claim(...)``: it measures, and returns a
:class:`Section` (setup, a table, a verdict, the raw figures). Adding a claim is adding one such
function. Training runs of the layer-kind claim are ordinary pinnlab run directories made by
``pinnlab.compare`` under ``runs/claims/`` (re-running the script skips the finished ones).

    python benchmarks/claims.py --quick                 # under a minute; prints, writes nothing unless --md
    python benchmarks/claims.py --jobs 2                # the full report → docs/claims.md
    python benchmarks/claims.py --only memory --md /tmp/m.md
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from pinnlab.errors import PinnlabError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import adam_steppers, alloc_peak_mb, interleaved_ms, output_file, peak_mb, positive_int, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "python benchmarks/claims.py"


# -- the report's structure ------------------------------------------------------------------

@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""

    def text(self) -> str:
        cells = [self.columns, *self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return (self.caption + "\n" if self.caption else "") + "\n".join(lines)

    def markdown(self) -> str:
        head = "| " + " | ".join(self.columns) + " |\n|" + "|".join("---" for _ in self.columns) + "|\n"
        body = "".join("| " + " | ".join(r) + " |\n" for r in self.rows)
        return (f"{self.caption}\n\n" if self.caption else "") + head + body


@dataclass
class Section:
    """What a claim function returns."""

    setup: str
    tables: list[Table]
    verdict: str
    data: dict = field(default_factory=dict)
    measured: bool = True


@dataclass
class Claim:
    key: str
    title: str
    statement: str
    fn: Callable[[Context], Section]


@dataclass
class Context:
    quick: bool
    jobs: int
    runs: Path          # where run directories go

    def command(self, key: str) -> str:
        return f"{SCRIPT} --only {key}" + (" --quick" if self.quick else "") + (
            f" --jobs {self.jobs}" if self.jobs > 1 else "")


CLAIMS: list[Claim] = []


def claim(key: str, title: str, statement: str) -> Callable[[Callable[[Context], Section]], Callable]:
    """Register a claim function (in report order)."""
    def register(fn: Callable[[Context], Section]) -> Callable[[Context], Section]:
        CLAIMS.append(Claim(key, title, statement, fn))
        return fn
    return register


def e(v: float | None) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.2e}"


def span(vals: Sequence[float], fmt: str = ".1f") -> str:
    """"a" or "a–b" for the range of the values."""
    lo, hi = format(min(vals), fmt), format(max(vals), fmt)
    return lo if lo == hi else f"{lo}–{hi}"


def spread(vals: Sequence[float]) -> str:
    vals = [v for v in vals if math.isfinite(v)]
    if not vals:
        return "–"
    return f"{statistics.median(vals):.2e} [{min(vals):.1e}–{max(vals):.1e}]" if len(vals) > 1 else e(vals[0])


def sign_test(wins: int, n: int) -> float:
    """Two-sided sign-test p-value for ``wins`` out of ``n`` paired comparisons (no ties)."""
    from scipy.stats import binomtest
    return float(binomtest(wins, n, 0.5).pvalue) if n else float("nan")


def p_text(p: float) -> str:
    return "n/a (too few pairs)" if not math.isfinite(p) else f"{p:.2g}"


def shown(path: Path) -> str:
    """A path as the report shows it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def wilcoxon_p(log_ratios: Sequence[float]) -> float:
    from scipy.stats import wilcoxon
    x = [v for v in log_ratios if math.isfinite(v) and v != 0.0]
    return float(wilcoxon(x).pvalue) if len(x) >= 6 else float("nan")


# -- claim 1: yat beats tanh on PDEs ---------------------------------------------------------

LAYERS = ["tanh", "sine", "yat", "auto"]
PDES = ["poisson1d", "poisson2d", "heat1d", "advection1d", "wave1d", "burgers"]


def _budget(quick: bool) -> dict:
    if quick:
        return dict(width=16, depth=2, steps=80, lbfgs_steps=10, points=200, boundary_points=32)
    # sized for 2 shared cores (120 runs in well under an hour); equal for every kind
    return dict(width=24, depth=3, steps=500, lbfgs_steps=50, points=500, boundary_points=64)


@claim("layers", "Yat-product layers beat tanh on PDEs",
       "A PINN whose hidden layers are Yat-product neurons reaches a lower error than the same PINN with tanh "
       "layers, on PDE problems, at an equal budget.")
def yat_beats_tanh(ctx: Context) -> Section:
    from pinnlab.compare import compare
    from pinnlab.config import SolveConfig

    problems, seeds = (["poisson1d", "heat1d"], 2) if ctx.quick else (PDES, 5)
    b = _budget(ctx.quick)
    cfg = SolveConfig(**b, eval_every=b["steps"], checkpoint_every=b["steps"], compile="off")
    out = ctx.runs / "layers"
    t0 = time.perf_counter()
    comp = compare(problems, LAYERS, seeds=seeds, config=cfg, out=out, jobs=ctx.jobs, progress=False, plot=False,
                   echo=lambda s: print(s, file=sys.stderr))
    wall = time.perf_counter() - t0
    err = {(r["problem"], r["layer"], r["seed"]): (r["rel_l2"] if isinstance(r["rel_l2"], float) else math.nan)
           for r in comp.rows}
    bad = [r for r in comp.rows if r["status"] != "completed"]
    run_time = sum(r["wall_s"] for r in comp.rows if isinstance(r.get("wall_s"), (int, float)))

    rows, per_problem, all_logs, total_wins, total_n = [], {}, [], 0, 0
    for p in problems:
        med = {k: statistics.median(err[p, k, s] for s in range(seeds)) for k in LAYERS}
        pairs = [(err[p, "yat", s], err[p, "tanh", s]) for s in range(seeds)]
        wins = sum(1 for y, t in pairs if y < t)
        ratio = med["yat"] / med["tanh"]
        logs = [math.log(y / t) for y, t in pairs if y > 0 and t > 0 and math.isfinite(y / t)]
        all_logs += logs
        total_wins, total_n = total_wins + wins, total_n + len(pairs)
        if wins >= math.ceil(0.8 * seeds) and ratio < 1:
            v = "yat better"
        elif wins <= math.floor(0.2 * seeds) and ratio > 1:
            v = "tanh better"
        else:
            v = "no consistent difference"
        best = min(LAYERS, key=lambda k: med[k])
        per_problem[p] = {"median": med, "yat_over_tanh": ratio, "yat_wins": wins, "seeds": seeds, "verdict": v,
                          "best": best, "rel_l2": {k: [err[p, k, s] for s in range(seeds)] for k in LAYERS}}
        rows.append([p, *[spread([err[p, k, s] for s in range(seeds)]) for k in LAYERS], f"{ratio:.2f}",
                     f"{wins}/{seeds}", best, v])
    t1 = Table(["problem", *[f"{k} rel L2" for k in LAYERS], "yat/tanh (medians)", "yat wins", "best", "verdict"],
               rows, "Relative L2 error vs the reference: median [min–max] over seeds; yat wins = seeds where "
                     "yat's error is below tanh's (same seed, same points)")

    # every kind against tanh, over all problems × seeds
    rows2, vs = [], {}
    for k in LAYERS[1:]:
        lr = [math.log(err[p, k, s] / err[p, "tanh", s]) for p in problems for s in range(seeds)
              if err[p, k, s] > 0 and err[p, "tanh", s] > 0 and math.isfinite(err[p, k, s] / err[p, "tanh", s])]
        w = sum(1 for p in problems for s in range(seeds) if err[p, k, s] < err[p, "tanh", s])
        n = len(problems) * seeds
        pm = sum(1 for p in problems if per_problem[p]["median"][k] < per_problem[p]["median"]["tanh"])
        gm = math.exp(statistics.mean(lr)) if lr else math.nan
        vs[k] = {"wins": w, "n": n, "problems_better": pm, "geo_mean_ratio": gm, "sign_p": sign_test(w, n),
                 "wilcoxon_p": wilcoxon_p(lr)}
        rows2.append([k, f"{w}/{n}", f"{pm}/{len(problems)}", f"{gm:.2f}", f"{vs[k]['sign_p']:.2g}",
                      p_text(vs[k]["wilcoxon_p"])])
    t2 = Table(["kind", "runs better than tanh", "problems with lower median", "geometric mean error ratio vs tanh",
                "sign test p", "Wilcoxon p"], rows2,
               "Each kind against tanh over all problems × seeds (paired by problem and seed; ratio < 1: lower error)")

    y = vs["yat"]
    n_better = sum(1 for p in problems if per_problem[p]["verdict"] == "yat better")
    n_worse = sum(1 for p in problems if per_problem[p]["verdict"] == "tanh better")
    if y["sign_p"] < 0.05 and y["geo_mean_ratio"] < 1 and n_better > n_worse:
        overall = "supported" if y["sign_p"] < 0.01 else "weakly supported (p < 0.05, not < 0.01)"
    elif y["sign_p"] < 0.05 and y["geo_mean_ratio"] > 1:
        overall = "refuted (tanh is better)"
    else:
        overall = "not supported (no consistent difference)"
    verdict = (f"**{overall}.** Per problem: yat better on {n_better}, tanh better on {n_worse}, no consistent "
               f"difference on {len(problems) - n_better - n_worse} of {len(problems)}. Over all "
               f"{y['n']} paired runs yat had the lower error in {y['wins']} (sign test p = {y['sign_p']:.2g}, "
               f"Wilcoxon p = {p_text(y['wilcoxon_p'])}); geometric mean of yat/tanh error ratios "
               f"{y['geo_mean_ratio']:.2f}.")
    best_count = {k: sum(1 for p in problems if per_problem[p]["best"] == k) for k in LAYERS}
    unsolved = [p for p in problems if min(per_problem[p]["median"].values()) > 0.1]
    solved = [p for p in problems if p not in unsolved]
    w_solved = sum(per_problem[p]["yat_wins"] for p in solved)
    verdict += (" Caveats: the lowest median error per problem went to "
                + ", ".join(f"{k} on {n}" for k, n in best_count.items() if n)
                + f" of {len(problems)}, so yat beats tanh without being the best kind here.")
    if unsolved:
        verdict += (f" No kind solved {', '.join(unsolved)} at this budget (every median rel L2 > 0.1), so those "
                    f"comparisons are between unconverged runs; on the other {len(solved)} problems yat won "
                    f"{w_solved} of {len(solved) * seeds} pairs.")
    verdict += " The budget is small (sized for 2 shared cores); a longer one may change the ranking."
    if bad:
        verdict += f" {len(bad)} run(s) did not complete: " + ", ".join(f"{r['run']} ({r['status']})" for r in bad)
    setup = (f"{len(problems)} built-in PDE problems × {len(LAYERS)} layer kinds ({', '.join(LAYERS)}, each with "
             f"its documented default options) × {seeds} seeds, every run with the same budget: width "
             f"{b['width']}, depth {b['depth']}, {b['points']} interior and {b['boundary_points']} points per "
             f"condition (Sobol, the same points for every kind at a given seed), {b['steps']} Adam steps at the "
             f"problem's recipe learning rate then up to {b['lbfgs_steps']} L-BFGS iterations (float64), "
             f"derivatives by the default engine (jets where the kind supports them). Error: relative L2 against "
             f"the exact or reference solution on the problem's evaluation grid. Runs: `{shown(out)}` (ordinary run "
             f"directories; `pinnlab report {shown(out)}` prints their table). The runs' own wall times add up to "
             f"{run_time / 60:.0f} min (run in {ctx.jobs} process(es) on a shared machine); this invocation took "
             f"{wall:.0f} s, {comp.counts['done']} of {len(comp.rows)} runs being already done.")
    return Section(setup, [t1, t2], verdict,
                   {"problems": per_problem, "vs_tanh": vs, "budget": b, "seeds": seeds, "overall": overall})


# -- claim 2: yat is memory-heavy ----------------------------------------------------------------

@claim("memory", "Yat-product layers are memory-heavy",
       "A Yat-product layer costs much more memory (and time) per training step than a tanh layer of the "
       "same width and depth.")
def yat_memory(ctx: Context) -> Section:
    from pinnlab.config import SolveConfig
    from pinnlab.registry import get_problem

    torch.set_num_threads(1)
    problems = ["heat1d"] if ctx.quick else ["heat1d", "burgers"]
    width, depth, points = (32, 3, 500) if ctx.quick else (32, 3, 1000)
    repeats = 5 if ctx.quick else 20
    dev = torch.device("cpu")
    rows, data = [], {}
    for p in problems:
        prob = get_problem(p)
        for engine in ("jets", "autograd"):
            tasks, step = adam_steppers(prob, {
                k: SolveConfig(layer=k, width=width, depth=depth, points=points, boundary_points=100, steps=1,
                               lr=1e-3, seed=0, derivatives=engine, compile="off").resolved(prob.recipe)
                for k in LAYERS})
            ms = interleaved_ms({k: (lambda k=k: step(k)) for k in LAYERS}, repeats, dev)
            saved = {k: peak_mb(lambda k=k: sum(tasks[k].loss_terms().values()), dev) for k in LAYERS}
            alloc = {k: alloc_peak_mb(lambda k=k: step(k), dev) for k in LAYERS}
            for k in LAYERS:
                d = {"engine_ran": tasks[k].engine, "ms_per_step": ms[k], "saved_mb": saved[k], "alloc_peak_mb": alloc[k],
                     "time_ratio": ms[k] / ms["tanh"], "saved_ratio": saved[k] / saved["tanh"],
                     "alloc_ratio": (alloc[k] / alloc["tanh"]) if alloc[k] and alloc["tanh"] else None}
                data[f"{p}/{engine}/{k}"] = d
                rows.append([p, engine, k, tasks[k].engine, f"{ms[k]:.2f}", f"{d['time_ratio']:.2f}",
                             f"{saved[k]:.2f}", f"{d['saved_ratio']:.2f}",
                             "–" if alloc[k] is None else f"{alloc[k]:.2f}",
                             "–" if d["alloc_ratio"] is None else f"{d['alloc_ratio']:.2f}"])
    t = Table(["problem", "engine asked", "kind", "engine ran", "ms/step", "× tanh", "saved for backward [MiB]",
               "× tanh", "allocation peak [MiB]", "× tanh"], rows,
              "One Adam step (loss, backward, update); times are medians of steps interleaved across kinds")
    yj = [data[f"{p}/jets/yat"] for p in problems]
    ya = [data[f"{p}/autograd/yat"] for p in problems]
    heavy = min(d["saved_ratio"] for d in yj + ya) >= 1.5
    others = [data[f"{p}/{g}/{k}"]["saved_ratio"] for p in problems for g in ("jets", "autograd") for k in ("sine", "auto")]
    verdict = (f"**{'supported' if heavy else 'not supported'}.** Against tanh at equal width and depth, yat keeps "
               f"{span([d['saved_ratio'] for d in yj])}× the bytes for the backward pass with jets and "
               f"{span([d['saved_ratio'] for d in ya])}× with nested autograd, and takes "
               f"{span([d['time_ratio'] for d in yj])}× the time per step with jets "
               f"({span([d['time_ratio'] for d in ya])}× with autograd). For scale: sine and auto keep "
               f"{span(others)}× tanh's bytes. A Yat neuron computes a dot product, a squared distance and their "
               f"ratio where a tanh neuron computes one affine map and one activation, and each of these "
               f"intermediates (with its derivatives) is kept for the backward pass.")
    setup = (f"Nets of width {width}, depth {depth} on {', '.join(problems)} ({points} interior points, 100 per "
             f"condition), one Adam step per call, float32, 1 thread, for each derivative engine. "
             f"'Saved for backward': bytes of the distinct tensor storages autograd keeps from one loss evaluation "
             f"(saved-tensor hooks); 'allocation peak': the peak of allocations during one whole step above what "
             f"was live before it (torch profiler memory events). Times: median of {repeats} steps per kind, the "
             f"kinds' steps interleaved, on a machine shared with other jobs (ratios are the figures to read).")
    return Section(setup, [t], verdict, data)


# -- claim 3: autoactivated (exp) weights train faster ------------------------------------------

def _regression_data(seed: int, n: int, d: int, cond: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = X w* + noise with feature scales log-spaced over ``cond`` (an ill-conditioned least-squares problem)."""
    rng = np.random.default_rng(seed)
    scales = np.logspace(0, -math.log10(cond), d)
    x = rng.standard_normal((n, d)) * scales
    w_star = rng.standard_normal(d)
    y = x @ w_star + 0.01 * rng.standard_normal(n)
    return x, y, w_star


def _sgd_regression(x, y, method: str, lr: float, steps: int, batch: int, seed: int, c: float) -> list[float]:
    """Full-data MSE after every epoch-sized block of SGD steps (first entry: at initialisation)."""
    rng = np.random.default_rng(seed + 1000)
    n, d = x.shape
    # the exp form's logs start at log c + 0.5 z (log-normal magnitudes); the "log-normal init" control
    # starts plain weights at exactly the same w, so init and parametrisation are told apart
    ap, am = math.log(c) + 0.5 * rng.standard_normal(d), math.log(c) + 0.5 * rng.standard_normal(d)
    w = np.zeros(d) if method == "plain" else np.exp(ap) - np.exp(am)
    losses, every = [], max(1, n // batch)
    for t in range(steps + 1):
        wt = np.exp(ap) - np.exp(am) if method == "exp" else w
        if t % every == 0:
            losses.append(float(np.mean((x @ wt - y) ** 2)))
        if t == steps:
            break
        idx = rng.integers(0, n, batch)
        g = 2.0 * x[idx].T @ (x[idx] @ wt - y[idx]) / batch
        if method == "exp":
            ap, am = ap - lr * g * np.exp(ap), am + lr * g * np.exp(am)
        else:
            w = w - lr * g
        if not np.all(np.isfinite(wt)) or not math.isfinite(losses[-1]):
            losses.append(math.inf)
            break
    return losses


def _steps_to(losses: list[float], target: float, every: int) -> float:
    for i, v in enumerate(losses):
        if v <= target:
            return i * every
    return math.inf


def _fmt_steps(v: float) -> str:
    return "not reached" if not math.isfinite(v) else f"{v:.0f}"


def _sweep(results: dict, lrs: list[float], seeds: int, n: int, d: int, cond: float, steps: int, batch: int,
           c: float) -> None:
    for method in ("plain", "exp", "log-normal init"):
        results[method] = {lr: [] for lr in lrs}
        for lr in lrs:
            for s in range(seeds):
                x, y, _ = _regression_data(s, n, d, cond)
                results[method][lr].append(_sgd_regression(x, y, method, lr, steps, batch, s, c))


def regression_part(quick: bool) -> tuple[list[Table], dict, str]:
    seeds = 2 if quick else 5
    n, d, cond, batch, c = 512, 20, 30.0, 16, 0.5
    steps = 1500 if quick else 4000
    lrs = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
    base_lr = 0.1
    noise_floor = 0.01 ** 2
    every = max(1, n // batch)
    results: dict[str, dict[float, list[list[float]]]] = {}
    with np.errstate(over="ignore", invalid="ignore"):  # the largest learning rates diverge: recorded as such
        _sweep(results, lrs, seeds, n, d, cond, steps, batch, c)
    target = 10 * noise_floor + 1e-3  # well above the noise floor: reachable by any converging method

    def summary(method: str, lr: float) -> dict:
        st = [_steps_to(curve, target, every) for curve in results[method][lr]]
        fin = [curve[-1] for curve in results[method][lr]]
        return {"steps_to_target": statistics.median(st), "reached": sum(math.isfinite(v) for v in st),
                "final_mse": statistics.median(fin)}

    table = {m: {lr: summary(m, lr) for lr in lrs} for m in results}

    def best_lr(m: str) -> float:
        """Every seed reaching the target first, then the fewest steps, then the lowest final error."""
        return min(lrs, key=lambda lr: (seeds - table[m][lr]["reached"], table[m][lr]["steps_to_target"],
                                        table[m][lr]["final_mse"]))

    rows = []
    for m in results:
        for lr in lrs:
            s = table[m][lr]
            rows.append([m, f"{lr:g}", _fmt_steps(s["steps_to_target"]), f"{s['reached']}/{seeds}",
                         e(s["final_mse"])])
    t_sweep = Table(["weights", "SGD lr", "median steps to target", "runs reaching it", f"median MSE after {steps}"],
                    rows, f"Linear regression by SGD (target MSE {target:.3g})")
    contenders = [(f"{m}, lr = {base_lr:g}", m, base_lr) for m in ("plain", "exp", "log-normal init")]
    contenders += [(f"{m}, tuned lr = {best_lr(m):g}", m, best_lr(m)) for m in ("plain", "exp", "log-normal init")]
    rows2 = [[label, _fmt_steps(table[m][lr]["steps_to_target"]), f"{table[m][lr]['reached']}/{seeds}",
              e(table[m][lr]["final_mse"])] for label, m, lr in contenders]
    t_head = Table(["weights and learning rate", "median steps to target", "runs reaching it",
                    f"median MSE after {steps}"], rows2, "The four contenders of the seed's setting")
    def rank(m: str, lr: float) -> tuple:
        return (seeds - table[m][lr]["reached"], table[m][lr]["steps_to_target"], table[m][lr]["final_mse"])

    def describe(m: str, lr: float) -> str:
        t = table[m][lr]
        head = (f"{t['steps_to_target']:.0f} steps to the target" if math.isfinite(t["steps_to_target"])
                else "target not reached (median)")
        return f"{m} {head}, {t['reached']}/{seeds} seeds reaching it, MSE after {steps} {e(t['final_mse'])}"

    def faster(a: tuple[str, float], b: tuple[str, float]) -> str:
        ra, rb = rank(*a), rank(*b)
        return a[0] if ra < rb else b[0] if rb < ra else "neither"

    text = (f"At the same learning rate ({base_lr:g}): {describe('exp', base_lr)}; {describe('plain', base_lr)}. "
            f"Each at its tuned learning rate: {describe('exp', best_lr('exp'))} (lr {best_lr('exp'):g}); "
            f"{describe('plain', best_lr('plain'))} (lr {best_lr('plain'):g}); "
            f"{describe('log-normal init', best_lr('log-normal init'))} (lr {best_lr('log-normal init'):g}).")
    setup = (f"Linear regression y = X w* + 0.01·noise, n = {n}, d = {d}, feature scales log-spaced over a factor "
             f"{cond:g} (an ill-conditioned problem), w* ~ N(0, 1), {seeds} seeds; SGD with mini-batches of {batch}, "
             f"{steps} steps, learning rates {', '.join(f'{v:g}' for v in lrs)}. Contenders: plain weights (start "
             f"at 0); exp weights w = exp(a⁺) − exp(a⁻), a± = log {c:g} + 0.5·N(0, 1) (the gradient step acts "
             f"multiplicatively, Δw ≈ −η (e^a⁺ + e^a⁻) g); plain weights started at exactly the exp form's initial "
             f"w (a difference of log-normals); and each of these at its best learning rate (all seeds reaching "
             f"the target, then fewest steps). 'Steps to target': SGD steps until the full-data MSE is "
             f"≤ {target:.3g} (checked every {every} steps).")
    data = {"setup": {"n": n, "d": d, "cond": cond, "batch": batch, "steps": steps, "lrs": lrs, "c": c,
                      "seeds": seeds, "target": target},
            "sweep": {m: {str(lr): v for lr, v in table[m].items()} for m in table},
            "best_lr": {m: best_lr(m) for m in table}}
    data["faster_at_same_lr"] = faster(("exp", base_lr), ("plain", base_lr))
    data["faster_tuned"] = faster(("exp", best_lr("exp")), ("plain", best_lr("plain")))
    return [t_head, t_sweep], data, setup + "\n\n" + text


def _pinn_curve(args: tuple) -> dict:
    """Train one PINN with Adam at a fixed lr; rel L2 every ``every`` steps."""
    problem, layer, lr, seed, steps, every, b = args
    torch.set_num_threads(1)
    from pinnlab.config import SolveConfig
    from pinnlab.metrics import rel_l2
    from pinnlab.registry import get_problem
    from pinnlab.solvers.pinn import make_task

    prob = get_problem(problem)
    cfg = SolveConfig(layer=layer, lr=lr, seed=seed, steps=steps, lbfgs_steps=0, compile="off",
                      **b).resolved(prob.recipe)
    torch.manual_seed(seed)
    task = make_task(prob, cfg)
    opt = torch.optim.Adam(task.parameters(), lr=lr)
    curve = []
    for t in range(steps + 1):
        if t % every == 0:
            curve.append(rel_l2(task.predict(task.eval_points), task.eval_values))
        if t == steps:
            break
        opt.zero_grad(set_to_none=True)
        loss = sum(task.loss_terms().values())
        if not torch.isfinite(loss):
            curve.append(math.nan)
            break
        loss.backward()
        opt.step()
    return {"problem": problem, "layer": layer, "lr": lr, "seed": seed, "curve": curve}


def pinn_part(ctx: Context) -> tuple[list[Table], dict, str]:
    if ctx.quick:
        problems, seeds, steps, lrs = {"poisson1d": 5e-2}, 1, 120, [1e-3, 1e-2]
        b = dict(width=16, depth=2, points=200, boundary_points=16)
    else:
        problems, seeds, steps, lrs = {"poisson1d": 1e-2, "heat1d": 2e-2}, 2, 600, [1e-3, 3e-3, 1e-2]
        b = dict(width=24, depth=3, points=400, boundary_points=64)
    every = 10 if ctx.quick else 20
    jobs = [(p, k, lr, s, steps, every, b) for p in problems for k in ("tanh", "auto") for lr in lrs
            for s in range(seeds)]
    if ctx.jobs > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(ctx.jobs, mp_context=mp.get_context("spawn")) as pool:
            out = list(pool.map(_pinn_curve, jobs))
    else:
        out = [_pinn_curve(j) for j in jobs]
    rows, data = [], {}
    for p, target in problems.items():
        for k in ("tanh", "auto"):
            for lr in lrs:
                curves = [r["curve"] for r in out if (r["problem"], r["layer"], r["lr"]) == (p, k, lr)]
                st = [_steps_to(c, target, every) for c in curves]
                fin = [c[-1] for c in curves]
                d = {"steps_to_target": statistics.median(st), "reached": sum(math.isfinite(v) for v in st),
                     "final_rel_l2": statistics.median(fin), "all_steps": st}
                data[f"{p}/{k}/{lr:g}"] = d
                rows.append([p, k, f"{lr:g}", _fmt_steps(d["steps_to_target"]), f"{d['reached']}/{seeds}",
                             e(d["final_rel_l2"])])
    t = Table(["problem", "layer", "Adam lr", "median steps to target", "runs reaching it",
               f"median rel L2 after {steps}"], rows,
              "PINNs, Adam only, " + ", ".join(f"{p}: target rel L2 {v:g}" for p, v in problems.items()))
    verdicts = []
    for p in problems:
        best = {k: min(data[f"{p}/{k}/{lr:g}"]["steps_to_target"] for lr in lrs) for k in ("tanh", "auto")}
        same = sum(1 for lr in lrs if data[f"{p}/auto/{lr:g}"]["steps_to_target"]
                   < data[f"{p}/tanh/{lr:g}"]["steps_to_target"])
        data[f"{p}/best"] = best
        data[f"{p}/auto_faster_at_lrs"] = same
        verdicts.append(f"{p}: auto faster at {same} of {len(lrs)} learning rates; best over the sweep "
                        f"{_fmt_steps(best['auto'])} (auto) vs {_fmt_steps(best['tanh'])} (tanh) steps")
    setup = (f"{', '.join(problems)}; width {b['width']}, depth {b['depth']}, {b['points']} interior points; "
             f"tanh layers vs auto layers (W = exp(A⁺) − exp(A⁻), then tanh, same initial W); Adam with learning "
             f"rates {', '.join(f'{v:g}' for v in lrs)}, {steps} steps, no L-BFGS, {seeds} seed(s); rel L2 on the "
             f"evaluation grid every {every} steps.")
    return [t], data, setup + "\n\n" + "; ".join(verdicts) + "."


@claim("auto", "Autoactivated (exp) weights train faster than plain weights",
       "Parametrising each weight by its logarithm (W = exp(A), with a sign) makes gradient training faster "
       "than training the weights directly. The seed's author later suspected a conditioning effect that a "
       "tuned learning rate also gets.")
def auto_faster(ctx: Context) -> Section:
    t_reg, d_reg, s_reg = regression_part(ctx.quick)
    t_pinn, d_pinn, s_pinn = pinn_part(ctx)
    reg_same, reg_tuned = d_reg["faster_at_same_lr"], d_reg["faster_tuned"]
    pinn_lines = []
    for p in [k.split("/")[0] for k in d_pinn if k.endswith("/best")]:
        best = d_pinn[f"{p}/best"]
        who = "auto" if best["auto"] < best["tanh"] else "tanh" if best["tanh"] < best["auto"] else "neither"
        pinn_lines.append(f"{p}: {who} faster at the best learning rate")
    supported = reg_tuned == "exp" and all(line.split(": ")[1].startswith("auto") for line in pinn_lines)
    verdict = (f"**{'supported' if supported else 'not supported'}.** Linear regression: at the same learning rate "
               f"the faster form was {reg_same}; with each form's learning rate tuned it was {reg_tuned}. PINNs: "
               + "; ".join(pinn_lines) + ".")
    setup = "**Linear regression (the seed's setting).** " + s_reg + "\n\n**PINNs.** " + s_pinn
    return Section(setup, t_reg + t_pinn, verdict, {"regression": d_reg, "pinn": d_pinn})


# -- claim 4: RAI --------------------------------------------------------------------------------

@claim("rai", "Relaxed activation identity (RAI): very deep nets and mini-batches",
       "Training with per-layer auxiliary states (RAI) lets very deep networks train where plain backpropagation "
       "stalls; the seed notes call RAI incompatible with mini-batches.")
def rai(ctx: Context) -> Section:
    import json

    import rai_deep_pinn
    import rai_moons
    moons_json, deep_json = ctx.runs / "rai_moons.json", ctx.runs / "rai_deep.json"
    ctx.runs.mkdir(parents=True, exist_ok=True)
    quick = ["--quick"] if ctx.quick else []
    rai_moons.main([*quick, "--json", str(moons_json), "--resume", "--fig", str(ctx.runs / "rai_moons.png"),
                    *([] if ctx.quick else ["--iters", "1500", "--variants", "plain,rai,rai-then-plain"])])
    rai_deep_pinn.main([*quick, "--json", str(deep_json), "--fig", str(ctx.runs / "rai_deep.png"),
                        *([] if ctx.quick else ["--depths", "4,16,32", "--seeds", "2", "--steps", "400",
                                                "--batch-epochs", "100"])])
    m, d = json.loads(moons_json.read_text()), json.loads(deep_json.read_text())
    st = m["setting"]
    t1 = Table(["variant", "train accuracy", "fresh accuracy", "plain BCE", "RAI objective"],
               [[v, f"{s['train_accuracy']:.3f}", f"{s['test_accuracy']:.3f}", f"{s['bce']:.4f}", e(s["rai_objective"])]
                for v, s in m["variants"].items()],
               f"Two moons, 2 → [{st['width']}]×{st['depth']} → 1 sigmoid MLP, {st['iters']} Rprop iterations, "
               f"medians of {max(len(v['train_accuracys']) for v in m['variants'].values())} seeds; the plain network's "
               "figures")
    t2 = Table(["layer", "depth", "method", "plain rel L2", "Adam steps"],
               [[s["layer"], str(s["depth"]), s["method"], e(s["rel_l2"]), f"{s['steps']:.0f}"] for s in d["summary"]],
               "poisson1d, width 20, every method in plain training's wall time (medians over seeds)")
    gains = d.get("depth_gains", {})
    best_gain = max((g["plain_over_best_rai"] or 0 for g in gains.values()), default=0)
    moons_ok = (m.get("rai_plain_accuracy") or 0) >= 0.95 and (m.get("rai_plain_test_accuracy") or 0) >= 0.9 \
        and (m.get("plain_accuracy") or 1) <= 0.55
    ratio = d.get("mini_over_full_batch")
    verdict = (f"**{'partly supported' if moons_ok else 'not supported'}.** Moons: the plain network after "
               f"{m.get('best_rai_variant')} reaches {m.get('rai_plain_accuracy', 0):.3f} train / "
               f"{m.get('rai_plain_test_accuracy', 0):.3f} fresh accuracy (BCE {m.get('rai_plain_bce', 0):.3g}) where "
               f"plain backpropagation stays at {m.get('plain_accuracy', 0):.2f}. Deep PINN (depth ≥ 32): "
               + (f"plain rel L2 over the best RAI variant's at most {best_gain:.2g}× (target ≥ 10×)" if gains else
                  "not in this run (no depth ≥ 32)")
               + (f"; mini-batch over full-batch RAI error {ratio:.2f} (target ≤ 2)" if ratio is not None else "")
               + ". See docs/rai.md.")
    setup = ("benchmarks/rai_moons.py (the seed's 100-layer sigmoid experiment, judged on the plain network) and "
             "benchmarks/rai_deep_pinn.py (deep PINNs: plain vs RAI vs a skip network at equal wall time; full "
             "vs mini-batch RAI).")
    return Section(setup, [t1, t2], verdict, {"moons": m, "deep": {k: d[k] for k in ("summary", "depth_gains",
                                                                                  "mini_over_full_batch")}})


# -- report ----------------------------------------------------------------------------------------

def machine() -> str:
    import pinnlab
    return (f"pinnlab {pinnlab.__version__}, torch {torch.__version__}, Python {platform.python_version()}, "
            f"{platform.machine()}, 1 torch thread per process")


def to_markdown(results: list[tuple[Claim, Section, float]], ctx: Context) -> str:
    head = ["# The seed claims, measured", "",
            "Generated by `benchmarks/claims.py`" + (" **in --quick mode (tiny budgets, fewer problems and seeds: "
                                                     "not the report's figures)**" if ctx.quick else "")
            + f" on {time.strftime('%Y-%m-%d')}; {machine()}. Each section says how it was measured and the "
              "command that reproduces it; the verdict follows from the numbers shown, whichever way they fall.", "",
            "| claim | verdict |", "|---|---|"]
    for c, s, _ in results:
        head.append(f"| [{c.title}](#{c.key}) | {s.verdict.split('**')[1] if '**' in s.verdict else s.verdict} |")
    parts = ["\n".join(head) + "\n"]
    for c, s, secs in results:
        md = [f'<a id="{c.key}"></a>', f"## {c.title}", "", f"**Claim.** {c.statement}", "",
              f"**Reproduce.** `{ctx.command(c.key)}`" + (f" (this invocation: {secs / 60:.1f} min)" if s.measured
                                                           else ""), "",
              "**Setup.** " + s.setup, ""]
        for t in s.tables:
            md += [t.markdown()]
        md += ["**Verdict.** " + s.verdict, ""]
        parts.append("\n".join(md))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny budgets, fewer problems and seeds (under a minute)")
    ap.add_argument("--json", type=output_file, help="write every figure to this JSON file")
    ap.add_argument("--md", type=output_file, help="markdown report (default docs/claims.md for a full run of every claim)")
    ap.add_argument("--only", default=None, help="comma-separated claim keys: " + ", ".join(c.key for c in CLAIMS))
    ap.add_argument("--jobs", type=positive_int, default=1, help="training runs in parallel processes (one thread each)")
    ap.add_argument("--runs", type=Path, default=None, help="where the run directories go (default runs/claims)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    keys = [c.key for c in CLAIMS]
    only = a.only.split(",") if a.only else keys
    unknown = [k for k in only if k not in keys]
    if unknown:
        ap.error(f"unknown claim {unknown[0]!r} (allowed: {', '.join(keys)})")
    runs = a.runs or ROOT / "runs" / ("claims-quick" if a.quick else "claims")
    ctx = Context(a.quick, a.jobs, runs)
    if a.quick:
        print("QUICK MODE: tiny budgets, fewer problems and seeds; the figures are not the report's.\n")
    results = []
    for c in CLAIMS:
        if c.key not in only:
            continue
        t0 = time.perf_counter()
        print(f"== {c.title} ==", flush=True)
        s = c.fn(ctx)
        secs = time.perf_counter() - t0
        results.append((c, s, secs))
        print(s.setup + "\n")
        for t in s.tables:
            print(t.text() + "\n")
        print(s.verdict.replace("**", "") + f"\n({secs:.0f} s)\n", flush=True)
    md_path = a.md if a.md else (ROOT / "docs" / "claims.md" if not a.quick and not a.only else None)
    if md_path is not None:
        md_path.parent.mkdir(parents=True, exist_ok=True)
        md_path.write_text(to_markdown(results, ctx))
        print(f"report written to {md_path}")
    else:
        print("no markdown written (--quick or --only without --md)")
    write_json(a.json, {"quick": a.quick, "claims": {c.key: {"title": c.title, **asdict(s), "seconds": secs}
                                                    for c, s, secs in results}})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PinnlabError as e:  # e.g. a cached run from before a recipe changed: kept, never deleted here
        sys.exit(f"claims.py: {e}")
