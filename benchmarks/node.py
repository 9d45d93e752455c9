"""Neural ODE solver: cost of direct vs adjoint backpropagation, and error vs training data.

Part 1 times one training step (a batch of 32 windows integrated with dopri5 at rtol 1e-5, the
loss, the backward pass) on Lotka-Volterra, trained on all of [0, 10], for growing window horizons, direct (backpropagation
through the solver's steps) against adjoint (torchdiffeq's odeint_adjoint). Every window holds 5
observations; the horizon grows by spacing them further apart, so the number of output times the
adjoint's backward solve must stop at stays fixed and only the length of the integration grows.
The field network is first fitted to the true vector field by regression, so the adaptive solver
meets trained-like dynamics (an untrained network is nearly linear and takes a handful of steps).
Both modes run in one process on the same weights and windows, calls interleaved, medians.

Memory, on the CPU:
- peak MB: the peak of the running sum of allocations minus frees during the step, from
  torch.profiler's memory events (profile_memory=True): everything the step allocates, transient
  buffers included, above what was live before it.
- saved MB (direct only): the bytes of the distinct storages autograd saves for the backward pass,
  from torch.autograd.graph.saved_tensors_hooks, a cross-check of the peak: in direct mode all of
  them live until the backward pass. (Not shown for the adjoint: a pack hook that keeps the tensor
  makes a reference cycle with the output's grad_fn, so the adjoint's transient per-evaluation
  graphs would linger until Python's cycle collector runs, and the count would overstate.)

Part 2 trains the node solver with 1 to 16 training trajectories at an equal budget (Adam, then
the recipe's L-BFGS; Adam only with --quick) and reports the rel L2 error on the training window
and on the extrapolation window.

    python benchmarks/node.py --quick
    python benchmarks/node.py --json node.json
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import alloc_peak_mb, count, interleaved_ms, parser, peak_mb, positive_int, setup, table, write_json  # noqa: E402

import pinnlab as pl  # noqa: E402
from pinnlab.errors import PinnlabError  # noqa: E402
from pinnlab.registry import get_problem  # noqa: E402
from pinnlab.solvers.node import NodeTask, make_task  # noqa: E402
from pinnlab.solvers.node_data import ode_system  # noqa: E402

WINDOW, BATCH, WIDTH, DEPTH = 5, 32, 64, 2


def fit_to_true_field(task: NodeTask, steps: int) -> None:
    """Regress f_θ on the true field F over the training states (a cheap stand-in for training)."""
    y = task._tensor(task.train_states)
    target = task._tensor(task.train_field)
    opt = torch.optim.Adam(task.net.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((task.net(None, y) - target) ** 2).mean()
        loss.backward()
        opt.step()


class CountingField(torch.nn.Module):
    """Wraps the field to count its evaluations (forward solve and backward solve)."""

    def __init__(self, field: torch.nn.Module):
        super().__init__()
        self.field, self.calls = field, 0
        self.time_dependent = field.time_dependent

    def forward(self, s, z):
        self.calls += 1
        return self.field(s, z)


def cost_rows(problem_name: str, horizons: list[float], repeats: int, fit_steps: int, device: str) -> list[dict]:
    problem = get_problem(problem_name)
    rows, weights = [], None
    for h in horizons:
        tasks = {}
        for mode in ("direct", "adjoint"):
            samples = 1 + round((WINDOW - 1) * 10.0 / h)  # observations on [0, 10]
            cfg = pl.SolveConfig(solver="node", width=WIDTH, depth=DEPTH, seed=0, device=device,
                                 options={"window": WINDOW, "samples": samples, "batch": BATCH, "train_until": 1.0,
                                          "adjoint": mode == "adjoint"})
            task = make_task(problem, cfg.resolved(problem.recipe))
            if weights is None:
                fit_to_true_field(task, fit_steps)
                weights = {k: v.clone() for k, v in task.net.state_dict().items()}
            task.net.load_state_dict(weights)  # with out_scale and the input bounds: identical fields
            task.fixed_windows = task._windows()
            task.model.net = CountingField(task.net)  # the run's model holds the network
            tasks[mode] = task

        def step(task: NodeTask) -> tuple[int, int]:
            for p in task.parameters():
                p.grad = None
            task.net.calls = 0
            loss = task.loss_terms()["trajectory"]
            nfe_forward = task.net.calls
            loss.backward()
            return nfe_forward, task.net.calls - nfe_forward

        nfe = {m: step(t) for m, t in tasks.items()}
        fns = {m: (lambda t=t: step(t)) for m, t in tasks.items()}
        ms = interleaved_ms(fns, repeats, tasks["direct"].device, warmup=0)
        real_h = float(tasks["direct"].obs_t[0, WINDOW - 1] - tasks["direct"].obs_t[0, 0])
        row = {"horizon": real_h, "nfe_forward": nfe["direct"][0], "nfe_backward_adjoint": nfe["adjoint"][1],
               "ms_direct": ms["direct"], "ms_adjoint": ms["adjoint"], "time_ratio": ms["adjoint"] / ms["direct"]}
        for m, fn in fns.items():
            row[f"peak_mb_{m}"] = alloc_peak_mb(fn, tasks[m].device)
        row["saved_mb_direct"] = peak_mb(fns["direct"], tasks["direct"].device)
        if row["peak_mb_direct"] and row["peak_mb_adjoint"]:
            row["memory_ratio"] = row["peak_mb_adjoint"] / row["peak_mb_direct"]
        rows.append(row)
        print(f"  horizon {real_h:.2f}: direct {ms['direct']:.0f} ms, adjoint {ms['adjoint']:.0f} ms; peak "
              f"{row['peak_mb_direct'] or float('nan'):.2f} vs {row['peak_mb_adjoint'] or float('nan'):.2f} MB", flush=True)
    return rows


def data_rows(problem_name: str, counts: list[int], steps: int, lbfgs_steps: int | None, device: str) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in counts:
            cfg = pl.SolveConfig(solver="node", steps=steps, lbfgs_steps=lbfgs_steps, seed=0, device=device,
                                 eval_every=steps,
                                 options={"trajectories": k})
            r = pl.solve(problem_name, cfg, out=Path(tmp) / f"k{k}").report
            rows.append({"trajectories": k, "rel_l2": r["rel_l2"], "rel_l2_extrapolation": r["rel_l2_extrapolation"],
                         "rel_l2_heldout": r["rel_l2_heldout_trajectories"],
                         "vector_field_rel_l2": r["vector_field_rel_l2"], "ms_per_step": r["ms_per_step"],
                         "lbfgs_iterations": r["lbfgs_iterations"], "wall_s": r["wall_s"]})
            print(f"  {k} trajectories: rel L2 {r['rel_l2']:.2e}, extrapolation {r['rel_l2_extrapolation']:.2e}",
                  flush=True)
    return rows


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--problem", default="lotka-volterra")
    p.add_argument("--steps", type=positive_int, help="Adam steps per run in part 2 (default 60 quick, 1000 full)")
    p.add_argument("--lbfgs-steps", type=count, help="L-BFGS iterations per run in part 2 (default 0 quick, "
                   "the node recipe's 200 full)")
    args = p.parse_args()
    try:
        ode_system(get_problem(args.problem))  # an ODE the node solver can learn
    except PinnlabError as e:
        p.error(str(e))
    device = str(setup(args))
    horizons = [0.5, 2.5, 10.0] if args.quick else [0.25, 0.5, 1.25, 2.5, 5.0, 10.0]
    counts = [1, 4] if args.quick else [1, 2, 4, 8, 16]
    steps = args.steps or (60 if args.quick else 1000)
    np.random.seed(0)
    torch.manual_seed(0)
    cost = cost_rows(args.problem, horizons, 3 if args.quick else 7, 300 if args.quick else 1000, device)
    lbfgs = args.lbfgs_steps if args.lbfgs_steps is not None else (0 if args.quick else None)
    data = data_rows(args.problem, counts, steps, lbfgs, device)
    print(f"\n{args.problem}, f: {WIDTH}x{DEPTH} tanh fitted to the true field, dopri5 rtol 1e-5, {BATCH} windows "
          f"of {WINDOW} observations; {args.threads} thread(s), {device}{' (quick)' if args.quick else ''}")
    print("ms: one training step (forward + backward), median; NFE: field evaluations; peak MB: allocation peak "
          "of the step (torch.profiler); saved MB: bytes saved for backward (saved_tensors_hooks)")
    print(table(cost, [("horizon", "horizon", ".2f"), ("nfe_forward", "NFE fwd", "d"),
                       ("nfe_backward_adjoint", "NFE adj bwd", "d"), ("ms_direct", "ms direct", ".0f"),
                       ("ms_adjoint", "ms adjoint", ".0f"), ("time_ratio", "time adj/dir", ".2f"),
                       ("peak_mb_direct", "peak MB dir", ".2f"), ("peak_mb_adjoint", "peak MB adj", ".2f"),
                       ("memory_ratio", "mem adj/dir", ".2f"), ("saved_mb_direct", "saved MB dir", ".2f")]))
    lbfgs_text = "the recipe's" if lbfgs is None else str(lbfgs)
    print(f"\nerror vs training trajectories ({steps} Adam steps, then {lbfgs_text} L-BFGS iterations each, "
          "node defaults otherwise)")
    print(table(data, [("trajectories", "trajectories", "d"), ("rel_l2", "rel L2 train window", ".2e"),
                       ("rel_l2_extrapolation", "rel L2 extrapolation", ".2e"),
                       ("rel_l2_heldout", "rel L2 held-out ICs", ".2e"),
                       ("vector_field_rel_l2", "vector field rel L2", ".2e"), ("ms_per_step", "ms/Adam step", ".0f"),
                       ("lbfgs_iterations", "L-BFGS its", "d"), ("wall_s", "wall s", ".0f")]))
    write_json(args.json, {"problem": args.problem, "threads": args.threads, "device": device, "quick": args.quick,
                           "steps": steps, "lbfgs_steps": lbfgs,
                           "window": WINDOW, "batch": BATCH, "memory": "peak: torch.profiler memory "
                           "events (allocation peak of one step); saved: saved_tensors_hooks (direct)",
                           "cost": cost, "data": data})


if __name__ == "__main__":
    main()
