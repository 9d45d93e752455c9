"""pinnlab against DeepXDE on the same Burgers recipe, in one process, with the same threads.

Recipe (DeepXDE's Burgers example): 2 -> 20x3 -> 1 tanh, Glorot-normal weights, float32,
2540 interior points, Adam lr 1e-3 for 15000 steps, then L-BFGS; u_t + u u_x = (0.01/pi) u_xx
on x in [-1, 1], t in [0, 1]. DeepXDE samples 80 boundary and 160 initial points (and also
evaluates the residual on them); pinnlab takes 160 points per condition.

Two phases:
1. ms per Adam step, interleaved: one DeepXDE model and one pinnlab task, trained alternately
   in blocks of steps; each tool's median step time over all blocks. pinnlab's task is built
   for the full run, so it is compiled when a run of that length would be (``--compile auto``);
   the compile time is reported separately. This gives ``step_ratio`` = deepxde / pinnlab.
2. The full runs, one after the other, fresh networks: DeepXDE's ``Model.train`` and
   ``pinnlab.solve``, each Adam then L-BFGS (each tool's own L-BFGS settings, the same
   iteration cap; pinnlab's L-BFGS in float64, its default, unless ``--lbfgs-dtype float32``):
   total time and the final rel L2 on the same reference grid (the Cole-Hopf solution,
   pinnlab's ``burgers`` reference).

DeepXDE is optional: `pip install -e '.[peers]'`. Without it the script says so and exits 0.

    python benchmarks/vs_deepxde.py --quick          # 300 Adam steps, 50 L-BFGS (pinnlab eager)
    python benchmarks/vs_deepxde.py --quick --timing-only --compile on
    python benchmarks/vs_deepxde.py --json vs_deepxde.json
    python benchmarks/vs_deepxde.py --examples all --seeds 1 --json examples.json

``--examples`` instead runs DeepXDE's own poisson1d, heat, diffusion1d, Allen-Cahn and Burgers examples at
their own recipes (``_deepxde_examples.py``) beside ``pinnlab solve`` of the same problem at pinnlab's
recipe (diffusion1d is no built-in: a user-style problem with its own recipe), one after the other in
this process, seed by seed, both scored on pinnlab's reference points. JSON ``examples.NAME``: ``rel_l2_median``,
``rel_l2_worst``, ``wall_s`` (pinnlab) and ``deepxde_rel_l2``, ``deepxde_wall_s`` (medians), and per seed.
``--quick`` shortens both sides (150 Adam steps and 20 iterations after, each tool).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import adam_steppers, count, parser, positive_int, setup, table, write_json  # noqa: E402

os.environ.setdefault("DDE_BACKEND", "pytorch")
NU = 0.01 / np.pi


# -- DeepXDE -------------------------------------------------------------------------------------
def deepxde_model(seed: int, lbfgs: int):
    import deepxde as dde

    dde.config.set_random_seed(seed)

    def pde(x, y):
        u_x = dde.grad.jacobian(y, x, i=0, j=0)
        u_t = dde.grad.jacobian(y, x, i=0, j=1)
        u_xx = dde.grad.hessian(y, x, i=0, j=0)
        return u_t + y * u_x - NU * u_xx

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    bc = dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on_boundary: on_boundary)
    ic = dde.icbc.IC(geom, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_initial: on_initial)
    data = dde.data.TimePDE(geom, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160)
    net = dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3)
    if lbfgs:
        dde.optimizers.config.set_LBFGS_options(maxiter=lbfgs)
        # DeepXDE 1.15 sizes its PyTorch L-BFGS chunks once, at import (1000 iterations): without
        # this a cap below 1000 would still run 1000 iterations
        opts = dde.optimizers.config.LBFGS_options
        opts["iter_per_step"] = min(1000, lbfgs)
        opts["fun_per_step"] = opts["maxfun"] * opts["iter_per_step"] // lbfgs
    return model


def deepxde_step_timer():
    import deepxde as dde

    class StepTimer(dde.callbacks.Callback):
        """Wall time of each training step (DeepXDE calls these hooks around every step)."""

        def __init__(self):
            super().__init__()
            self.times: list[float] = []
            self._t0 = 0.0

        def on_batch_begin(self):
            self._t0 = time.perf_counter()

        def on_batch_end(self):
            self.times.append(time.perf_counter() - self._t0)
    return StepTimer()


def run_deepxde(steps: int, lbfgs: int, seed: int, points: np.ndarray, values: np.ndarray) -> dict:
    model = deepxde_model(seed, lbfgs)
    timer = deepxde_step_timer()
    t0 = time.perf_counter()
    model.train(iterations=steps, display_every=max(steps, 1), verbose=0, callbacks=[timer])
    adam_steps = model.train_state.step
    if lbfgs:
        model.compile("L-BFGS")
        model.train(display_every=10**9, verbose=0)
    total = time.perf_counter() - t0
    return {"run_ms_per_step": 1e3 * sum(timer.times) / steps, "total_s": total,
            "lbfgs_iters": model.train_state.step - adam_steps, "rel_l2": _rel_l2(model.predict(points), values)}


# -- pinnlab -------------------------------------------------------------------------------------
def pinnlab_config(steps: int, lbfgs: int, seed: int, device: str, threads: int, compile_: str,
                   lbfgs_dtype: str = "float64"):
    import pinnlab as pl

    return pl.SolveConfig(layer="tanh", width=20, depth=3, init="xavier", points=2540, boundary_points=160,
                          steps=steps, lbfgs_steps=lbfgs, lr=1e-3, dtype="float32", lbfgs_dtype=lbfgs_dtype,
                          seed=seed, device=device, threads=threads, compile=compile_, eval_every=max(steps, 1),
                          checkpoint_every=10**9)


def run_pinnlab(cfg) -> dict:
    import pinnlab as pl

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = pl.solve("burgers", cfg, out=Path(tmp) / "run").report
        total = time.perf_counter() - t0
    return {"run_ms_per_step": r["ms_per_step"], "total_s": total, "lbfgs_iters": r["lbfgs_iterations"],
            "rel_l2": r["rel_l2"], "compiled": r.get("compiled"), "compile_s": r.get("compile_s"),
            "derivatives": r.get("derivatives")}


def pinnlab_stepper(cfg):
    """One Adam step as pinnlab's trainer takes it, timed."""
    from pinnlab.registry import get_problem

    problem = get_problem("burgers")
    tasks, adam_step = adam_steppers(problem, {"pinnlab": cfg.resolved(problem.recipe)})
    task, times = tasks["pinnlab"], []

    def step() -> None:
        t0 = time.perf_counter()
        adam_step("pinnlab")
        times.append(time.perf_counter() - t0)
    return step, times, {"derivatives": task.engine, "compiled": task.compile}


# -- the comparison ------------------------------------------------------------------------------
def interleaved(steps: int, lbfgs: int, seed: int, cfg, rounds: int, block: int) -> dict:
    model = deepxde_model(seed, lbfgs)
    timer = deepxde_step_timer()
    p_step, p_times, info = pinnlab_stepper(cfg)
    t0 = time.perf_counter()
    p_step()  # the first call compiles, when the run compiles
    info["first_step_s"] = time.perf_counter() - t0
    model.train(iterations=5, display_every=10**9, verbose=0)  # warm-up, untimed
    for _ in range(3):
        p_step()
    p_times.clear()
    for _ in range(rounds):
        model.train(iterations=block, display_every=block, verbose=0, callbacks=[timer])
        for _ in range(block):
            p_step()
    d_ms, p_ms = 1e3 * statistics.median(timer.times), 1e3 * statistics.median(p_times)
    amortised = p_ms + 1e3 * info["first_step_s"] / steps  # the compile spread over the run's Adam steps
    return {"deepxde_ms_per_step": d_ms, "pinnlab_ms_per_step": p_ms, "step_ratio": d_ms / p_ms,
            "pinnlab_ms_per_step_with_compile": amortised, "step_ratio_with_compile": d_ms / amortised,
            "deepxde_ms_per_step_mean": 1e3 * statistics.fmean(timer.times),
            "pinnlab_ms_per_step_mean": 1e3 * statistics.fmean(p_times), "timed_steps_each": rounds * block, **info}


def _rel_l2(pred: np.ndarray, ref: np.ndarray) -> float:
    pred, ref = np.asarray(pred).reshape(-1), np.asarray(ref).reshape(-1)
    return float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))


EXAMPLE_QUICK = dict(steps=150, lbfgs_steps=20, compile="off")  # pinnlab's side of --quick


def examples(p, args) -> None:
    """DeepXDE's examples at their own recipes beside pinnlab's recipe of the same problem."""
    import deepxde
    from _deepxde_examples import EXAMPLES, diffusion1d_problem, run_deepxde

    import pinnlab as pl
    from pinnlab.registry import get_problem

    names = list(EXAMPLES) if args.examples == "all" else [n for n in args.examples.split(",") if n]
    unknown = [n for n in names if n not in EXAMPLES]
    if unknown:
        p.error(f"unknown example {unknown[0]!r} (allowed: {', '.join(EXAMPLES)}, all)")
    seeds = [0] if args.quick else list(range(args.seeds))
    rows, out = [], {"quick": args.quick, "seeds": seeds, "threads": args.threads, "torch": torch.__version__,
                     "deepxde": deepxde.__version__, "examples": {}}
    for name in names:
        ex = EXAMPLES[name]
        base = diffusion1d_problem() if ex.pinnlab == "diffusion1d" else get_problem(ex.pinnlab)
        problem = base.with_params(**ex.params) if ex.params else base
        ev = problem.evaluation()
        points, values = np.asarray(ev.points), np.asarray(ev.values).reshape(-1)
        got: dict[str, list] = {k: [] for k in ("rel_l2", "wall_s", "deepxde_rel_l2", "deepxde_wall_s")}
        for seed in seeds:
            d = run_deepxde(name, seed, points, values, *((150, 20) if args.quick else (None, None)))
            cfg = pl.SolveConfig(seed=seed, threads=args.threads, device=args.device, checkpoint_every=10**9,
                                 **(EXAMPLE_QUICK if args.quick else {}))
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                r = pl.solve(problem, cfg, out=Path(tmp) / "run").report
                wall = time.perf_counter() - t0
            for k, v in (("rel_l2", r["rel_l2"]), ("wall_s", wall), ("deepxde_rel_l2", d["deepxde_rel_l2"]),
                         ("deepxde_wall_s", d["deepxde_wall_s"])):
                got[k].append(float(v))
            print(f"  {name} seed {seed}: deepxde {d['deepxde_rel_l2']:.3e} in {d['deepxde_wall_s']:.1f} s "
                  f"({d['deepxde_adam_steps']} Adam + {d['deepxde_lbfgs_iters']} L-BFGS); pinnlab "
                  f"{r['rel_l2']:.3e} in {wall:.1f} s ({r['lbfgs_stop_reason']})", flush=True)
        row = {"example": name, "pinnlab_problem": ex.pinnlab + "".join(f" {k}={v}" for k, v in ex.params.items()),
               "rel_l2_median": statistics.median(got["rel_l2"]), "rel_l2_worst": max(got["rel_l2"]),
               "wall_s": statistics.median(got["wall_s"]),
               "deepxde_rel_l2": statistics.median(got["deepxde_rel_l2"]),
               "deepxde_rel_l2_worst": max(got["deepxde_rel_l2"]),
               "deepxde_wall_s": statistics.median(got["deepxde_wall_s"]), "per_seed": got}
        row["error_ratio"] = row["deepxde_rel_l2"] / row["rel_l2_median"]
        row["time_ratio"] = row["deepxde_wall_s"] / row["wall_s"]
        rows.append(row)
        out["examples"][name] = row
    print(f"\nDeepXDE's examples at their own recipes beside pinnlab's recipe, {len(seeds)} seed(s), medians"
          + (" (quick: short runs)" if args.quick else ""))
    print(table(rows, [("example", "example", ""), ("pinnlab_problem", "pinnlab problem", ""),
                       ("deepxde_rel_l2", "deepxde rel L2", ".2e"), ("deepxde_wall_s", "deepxde s", ".1f"),
                       ("rel_l2_median", "pinnlab rel L2", ".2e"), ("wall_s", "pinnlab s", ".1f"),
                       ("error_ratio", "error ratio", ".1f"), ("time_ratio", "time ratio", ".2f")]))
    write_json(args.json, out)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--steps", type=positive_int, default=None, help="Adam steps of the full runs (default 15000, quick 300)")
    p.add_argument("--lbfgs", type=count, default=None, help="L-BFGS iteration cap for both (default 2000, quick 50)")
    p.add_argument("--rounds", type=positive_int, default=None,
                   help="interleaved timing blocks per tool (default 10, quick 3)")
    p.add_argument("--block", type=positive_int, default=None, help="Adam steps per timing block (default 100, quick 50)")
    p.add_argument("--timing-only", action="store_true", help="only phase 1 (ms per Adam step), no full runs")
    p.add_argument("--compile", default="auto", choices=["auto", "on", "off"],
                   help="pinnlab's --compile (auto: compiled for runs of 4000+ Adam steps)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lbfgs-dtype", default="float64", choices=["float32", "float64"],
                   help="pinnlab's L-BFGS precision (default float64, pinnlab's default; float32 as DeepXDE, "
                        "which stalls within a few iterations on some seeds)")
    p.add_argument("--examples", default="",
                   help="comma-separated DeepXDE examples (poisson1d, heat, diffusion1d, allen-cahn, burgers) or "
                        "'all': each at its own recipe beside pinnlab's recipe, instead of the Burgers comparison")
    p.add_argument("--seeds", type=positive_int, default=1, help="--examples: seeds per example (default 1)")
    args = p.parse_args()
    if args.device == "cpu":
        # importing DeepXDE makes CUDA torch's default device wherever CUDA exists: keep both on the CPU
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    setup(args)
    try:
        import deepxde
    except ImportError:
        print("deepxde is not installed (pip install -e '.[peers]'); nothing to compare, exiting")
        return
    if args.examples:
        examples(p, args)
        return
    steps = args.steps or (300 if args.quick else 15000)
    lbfgs = args.lbfgs if args.lbfgs is not None else (50 if args.quick else 2000)
    rounds, block = args.rounds or (3 if args.quick else 10), args.block or (50 if args.quick else 100)
    cfg = pinnlab_config(steps, lbfgs, args.seed, args.device, args.threads, args.compile, args.lbfgs_dtype)

    timing = interleaved(steps, lbfgs, args.seed, cfg, rounds, block)
    head = (f"Burgers, 2->20x3->1 tanh, float32, {args.threads} thread(s), {args.device}, torch {torch.__version__}, "
            f"deepxde {deepxde.__version__}; pinnlab derivatives: {timing['derivatives']}, "
            f"compiled: {timing['compiled']} (first step {timing['first_step_s']:.1f} s)")
    print(f"\n{head}\nms per Adam step, interleaved, median of {rounds * block} steps each:")
    print(table([{"tool": "deepxde", "med": timing["deepxde_ms_per_step"], "mean": timing["deepxde_ms_per_step_mean"]},
                 {"tool": "pinnlab", "med": timing["pinnlab_ms_per_step"], "mean": timing["pinnlab_ms_per_step_mean"]}],
                [("tool", "tool", ""), ("med", "median ms", ".2f"), ("mean", "mean ms", ".2f")]))
    print(f"step_ratio (deepxde / pinnlab, medians): {timing['step_ratio']:.2f}; with pinnlab's first step "
          f"(compile) spread over {steps} Adam steps: {timing['step_ratio_with_compile']:.2f}")
    out = {"steps": steps, "lbfgs_cap": lbfgs, "pinnlab_lbfgs_dtype": args.lbfgs_dtype,
           "threads": args.threads, "device": args.device,
           "torch": torch.__version__, "deepxde": deepxde.__version__, **timing}
    if not args.timing_only:
        from pinnlab.registry import get_problem
        ev = get_problem("burgers").evaluation()
        points, values = np.asarray(ev.points, dtype=np.float32), np.asarray(ev.values).reshape(-1)
        rows = [dict(tool="deepxde", **run_deepxde(steps, lbfgs, args.seed, points, values)),
                dict(tool="pinnlab", **run_pinnlab(cfg))]
        print(f"\nfull runs, one after the other: {steps} Adam steps, then L-BFGS (cap {lbfgs}; pinnlab's in "
              f"{args.lbfgs_dtype}); "
              f"pinnlab compiled: {rows[1]['compiled']} (compile {rows[1]['compile_s']} s, outside its ms/step)")
        print(table(rows, [("tool", "tool", ""), ("run_ms_per_step", "ms/Adam step", ".2f"),
                           ("lbfgs_iters", "L-BFGS iters", "d"), ("total_s", "total s", ".1f"),
                           ("rel_l2", "rel L2", ".3e")]))
        for r in rows:
            out.update({f"{r['tool']}_{k}": v for k, v in r.items() if k not in ("tool", "derivatives")})
    write_json(args.json, out)


if __name__ == "__main__":
    main()
