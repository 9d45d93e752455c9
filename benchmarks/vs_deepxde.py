"""pinnlab against DeepXDE on the same Burgers recipe, in one process, with the same threads.

Recipe (DeepXDE's Burgers example): 2 -> 20x3 -> 1 tanh, Glorot-normal weights, 2540 interior
points, Adam lr 1e-3 for 15000 steps, then L-BFGS; u_t + u u_x = (0.01/pi) u_xx on
x in [-1, 1], t in [0, 1]. DeepXDE samples 80 boundary and 160 initial points; pinnlab takes
160 per condition (slightly more work for pinnlab). Both run L-BFGS in float32 with the same
iteration cap. Reported: ms per Adam step, total time, and the final rel L2 of each on the
same reference grid (the Cole-Hopf solution, pinnlab's `burgers` reference).

DeepXDE is optional: `pip install -e '.[peers]'`. Without it the script says so and exits 0.

    python benchmarks/vs_deepxde.py --quick          # 300 Adam steps, 50 L-BFGS: ms/step only
    python benchmarks/vs_deepxde.py --json vs_deepxde.json
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, setup, table, write_json  # noqa: E402

os.environ.setdefault("DDE_BACKEND", "pytorch")


def run_deepxde(steps: int, lbfgs: int, points: np.ndarray, values: np.ndarray, seed: int) -> dict:
    import deepxde as dde

    dde.config.set_random_seed(seed)
    nu = 0.01 / np.pi

    def pde(x, y):
        u_x = dde.grad.jacobian(y, x, i=0, j=0)
        u_t = dde.grad.jacobian(y, x, i=0, j=1)
        u_xx = dde.grad.hessian(y, x, i=0, j=0)
        return u_t + y * u_x - nu * u_xx

    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))
    bc = dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on_boundary: on_boundary)
    ic = dde.icbc.IC(geom, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_initial: on_initial)
    data = dde.data.TimePDE(geom, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160)
    net = dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3)
    t0 = time.perf_counter()
    model.train(iterations=steps, display_every=10**9, verbose=0)
    adam_s = time.perf_counter() - t0
    if lbfgs:
        dde.optimizers.config.set_LBFGS_options(maxiter=lbfgs)
        model.compile("L-BFGS")
        model.train(display_every=10**9, verbose=0)
    total = time.perf_counter() - t0
    pred = model.predict(points)
    return {"ms_per_step": 1e3 * adam_s / steps, "total_s": total, "rel_l2": _rel_l2(pred, values)}


def run_pinnlab(steps: int, lbfgs: int, seed: int, device: str, threads: int) -> dict:
    import pinnlab as pl

    cfg = pl.SolveConfig(layer="tanh", width=20, depth=3, init="xavier", points=2540, boundary_points=160,
                         steps=steps, lbfgs_steps=lbfgs, lr=1e-3, dtype="float32", lbfgs_dtype="float32",
                         sampler="uniform", seed=seed, device=device, threads=threads,
                         eval_every=max(steps, 1), checkpoint_every=10**9)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = pl.solve("burgers", cfg, out=Path(tmp) / "run")
        total = time.perf_counter() - t0
    r = res.report
    return {"ms_per_step": r["ms_per_step"], "total_s": total, "rel_l2": r["rel_l2"],
            "compiled": r.get("compiled"), "derivatives": r.get("derivatives")}


def _rel_l2(pred: np.ndarray, ref: np.ndarray) -> float:
    pred, ref = np.asarray(pred).reshape(-1), np.asarray(ref).reshape(-1)
    return float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--steps", type=int, default=None, help="Adam steps (default 15000, quick 300)")
    p.add_argument("--lbfgs", type=int, default=None, help="L-BFGS iteration cap for both (default 2000, quick 50)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    setup(args)
    try:
        import deepxde  # noqa: F401
    except ImportError:
        print("deepxde is not installed (pip install -e '.[peers]'); nothing to compare, exiting")
        return
    steps = args.steps or (300 if args.quick else 15000)
    lbfgs = args.lbfgs if args.lbfgs is not None else (50 if args.quick else 2000)
    from pinnlab.registry import get_problem
    ev = get_problem("burgers").evaluation()
    points = np.asarray(ev.points, dtype=np.float32)
    values = np.asarray(ev.values).reshape(-1)
    rows = [dict(tool="deepxde", **run_deepxde(steps, lbfgs, points, values, args.seed)),
            dict(tool="pinnlab", **run_pinnlab(steps, lbfgs, args.seed, args.device, args.threads))]
    ratio = rows[0]["ms_per_step"] / rows[1]["ms_per_step"]
    print(f"\nBurgers, 2->20x3->1 tanh, {steps} Adam steps + L-BFGS (cap {lbfgs}), {args.threads} thread(s), "
          f"{args.device}; pinnlab derivatives: {rows[1]['derivatives']}, compiled: {rows[1]['compiled']}")
    print(table(rows, [("tool", "tool", ""), ("ms_per_step", "ms/Adam step", ".2f"), ("total_s", "total s", ".1f"),
                       ("rel_l2", "rel L2", ".3e")]))
    print(f"step_ratio (deepxde / pinnlab ms per Adam step): {ratio:.2f}")
    write_json(args.json, {"steps": steps, "lbfgs_cap": lbfgs, "threads": args.threads, "device": args.device,
                           "deepxde_ms_per_step": rows[0]["ms_per_step"], "pinnlab_ms_per_step": rows[1]["ms_per_step"],
                           "step_ratio": ratio, "deepxde_total_s": rows[0]["total_s"],
                           "pinnlab_total_s": rows[1]["total_s"], "deepxde_rel_l2": rows[0]["rel_l2"],
                           "pinnlab_rel_l2": rows[1]["rel_l2"], "pinnlab_compiled": rows[1]["compiled"]})


if __name__ == "__main__":
    main()
