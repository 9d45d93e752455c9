"""Neural ODE solver: cost of direct vs adjoint backpropagation, and error vs training data.

Part 1 times one training step (a batch of windows integrated with dopri5, the loss, the backward
pass) on Lotka-Volterra for growing window horizons, direct (backpropagation through the solver)
against adjoint (torchdiffeq's odeint_adjoint), steps interleaved in one process, medians; memory
is the bytes the forward pass saves for the backward pass, the quantity the adjoint method removes.
Part 2 trains the node solver with 1 to 8 training trajectories at an equal step budget and
reports the rel L2 error on the training window and on the extrapolation window.

    python benchmarks/node.py --quick
    python benchmarks/node.py --json node.json
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved_ms, parser, peak_mb, setup, table, write_json  # noqa: E402

import pinnlab as pl  # noqa: E402
from pinnlab.registry import get_problem  # noqa: E402
from pinnlab.solvers.node import make_task  # noqa: E402


def cost_rows(problem_name: str, windows: list[int], repeats: int, device: str) -> list[dict]:
    problem = get_problem(problem_name)
    rows = []
    for w in windows:
        tasks = {}
        for mode in ("direct", "adjoint"):
            cfg = pl.SolveConfig(solver="node", width=64, depth=2, seed=0, device=device,
                                 options={"window": w, "samples": 201, "batch": 32, "adjoint": mode == "adjoint"})
            task = make_task(problem, cfg.resolved(problem.recipe))
            task.fixed_windows = task._windows()  # both modes integrate the same windows
            tasks[mode] = task

        def step(task=None):
            for p in task.parameters():
                p.grad = None
            task.loss_terms()["trajectory"].backward()
        fns = {m: (lambda t=t: step(t)) for m, t in tasks.items()}
        # memory held for the backward pass: what the forward pass saves (the adjoint saves almost nothing
        # and recomputes during its backward integration, which is the point of it)
        forward = {m: (lambda t=t: t.loss_terms()) for m, t in tasks.items()}
        ms = interleaved_ms(fns, repeats, tasks["direct"].device, warmup=1)
        horizon = float(tasks["direct"].obs_t[0, w - 1] - tasks["direct"].obs_t[0, 0])
        rows.append({"window": w, "horizon": horizon, "ms_direct": ms["direct"], "ms_adjoint": ms["adjoint"],
                     "time_ratio": ms["adjoint"] / ms["direct"],
                     "mb_direct": peak_mb(forward["direct"], tasks["direct"].device),
                     "mb_adjoint": peak_mb(forward["adjoint"], tasks["adjoint"].device)})
        print(f"  window {w}: direct {ms['direct']:.1f} ms, adjoint {ms['adjoint']:.1f} ms", flush=True)
    return rows


def data_rows(problem_name: str, counts: list[int], steps: int, device: str) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in counts:
            cfg = pl.SolveConfig(solver="node", steps=steps, seed=0, device=device, eval_every=steps,
                                 options={"trajectories": k})
            r = pl.solve(problem_name, cfg, out=Path(tmp) / f"k{k}").report
            rows.append({"trajectories": k, "rel_l2": r["rel_l2"], "rel_l2_extrapolation": r["rel_l2_extrapolation"],
                         "vector_field_rel_l2": r["vector_field_rel_l2"], "wall_s": r["wall_s"]})
            print(f"  {k} trajectories: rel L2 {r['rel_l2']:.2e}, extrapolation {r['rel_l2_extrapolation']:.2e}",
                  flush=True)
    return rows


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--problem", default="lotka-volterra")
    args = p.parse_args()
    device = str(setup(args))
    windows = [5, 20] if args.quick else [5, 10, 20, 40, 80]
    counts = [1, 4] if args.quick else [1, 2, 4, 8, 16]
    steps = 60 if args.quick else 1500
    cost = cost_rows(args.problem, windows, 3 if args.quick else 7, device)
    data = data_rows(args.problem, counts, steps, device)
    print(f"\n{args.problem}, f: 64x2 tanh, dopri5, batch 32 windows; {args.threads} thread(s), {device}"
          f"{' (quick)' if args.quick else ''}; MB: tensors saved for backward")
    print(table(cost, [("window", "window", "d"), ("horizon", "horizon", ".2f"), ("ms_direct", "ms direct", ".1f"),
                       ("ms_adjoint", "ms adjoint", ".1f"), ("time_ratio", "adjoint/direct", ".2f"),
                       ("mb_direct", "MB direct", ".2f"), ("mb_adjoint", "MB adjoint", ".2f")]))
    print(f"\nerror vs training trajectories ({steps} Adam steps each)")
    print(table(data, [("trajectories", "trajectories", "d"), ("rel_l2", "rel L2 train window", ".2e"),
                       ("rel_l2_extrapolation", "rel L2 extrapolation", ".2e"),
                       ("vector_field_rel_l2", "vector field rel L2", ".2e"), ("wall_s", "wall s", ".1f")]))
    write_json(args.json, {"problem": args.problem, "threads": args.threads, "device": device, "quick": args.quick,
                           "steps": steps, "cost": cost, "data": data})


if __name__ == "__main__":
    main()
