"""Inverse problems: how close the built-in inverse problems' recovered parameters come to the truth.

Each built-in inverse problem is solved with measurements sampled from its reference at each noise
level (relative Gaussian, ``--noise`` of pinnlab solve) and seed (network, points, sensors and noise
all drawn from it). Per run: the worst relative error over the problem's unknown numbers (for
``poisson-inverse-k``, whose unknown is the function k(x), k's rel L2 instead), the rel L2 of the
fields against the reference (the measured fields only) and the wall time. The JSON gives per
problem and noise level the median and the worst over seeds: ``param_rel_error``, ``field_rel_l2``,
``wall_s``, and each unknown's learned values.

The training budget is the problem's recipe unless ``--steps``/``--lbfgs-steps`` say otherwise.
``--quick`` runs two problems, noise 0 and 1%, one seed, on a small budget.

``--peers`` also runs DeepXDE (pytorch backend, ``pip install 'pinnlab[peers]'``) set up as its own
diffusion_1d_inverse and Lorenz inverse examples on the same measurements (sensors and noise), in the
same process right after pinnlab's run: with the examples' own budget (50000 and 60000 Adam steps,
``--peer-budget example``, the default) or pinnlab's Adam steps and L-BFGS iterations (``same``);
``--peer-wall-ratio R`` stops it once it has trained R times as long as pinnlab's run.
``deepxde_param_rel_error`` (at its end), ``deepxde_wall_s``, and ``deepxde_param_rel_error_at_pinnlab_wall``:
the error DeepXDE had reached by the time pinnlab's run had finished (recorded every 500 steps).

    python benchmarks/inverse.py --quick
    python benchmarks/inverse.py --json inverse.json --steps 1500 --lbfgs-steps 500
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import count, parser, positive_int, setup, table, write_json  # noqa: E402

import pinnlab as pl  # noqa: E402
from pinnlab.runner import prepare  # noqa: E402

PROBLEMS = ("burgers-inverse", "diffusion-inverse", "lorenz-inverse", "lotka-volterra-inverse", "poisson-inverse-k")
NOISE = (0.0, 0.01, 0.05)
QUICK = dict(problems=("diffusion-inverse", "poisson-inverse-k"), noise=(0.0, 0.01), seeds=1, steps=400,
             lbfgs_steps=150)


PEERS = {"diffusion-inverse": "diffusion", "lorenz-inverse": "lorenz"}


def one_run(problem: str, noise: float, seed: int, steps: int | None, lbfgs: int | None, root: Path,
            threads: int, device: str, peers: bool = False, peer_budget: str = "example",
            peer_wall_ratio: float | None = None) -> dict:
    """One inverse run: its worst parameter error, field error over the measured fields, wall time."""
    cfg = pl.SolveConfig(seed=seed, data_seed=seed, noise=noise, steps=steps, lbfgs_steps=lbfgs, threads=threads,
                         device=device, compile="off")
    prob, _ = prepare(pl.get_problem(problem), cfg)
    t0 = time.perf_counter()
    res = pl.solve(problem, cfg, out=root / f"{problem}-n{noise:g}-s{seed}")
    wall = time.perf_counter() - t0
    rep = res.report
    measured = prob.recipe.measured or prob.fields
    per_field = rep["per_field"]
    field_err = max(per_field[f]["rel_l2"] for f in measured)
    unknowns = rep.get("unknowns") or {}
    if unknowns:
        param_err = max(u["rel_error"] for u in unknowns.values())
    else:  # an unknown function: the fields not measured are what was identified
        param_err = max(per_field[f]["rel_l2"] for f in prob.fields if f not in measured)
    learned = {k: u["learned"] for k, u in unknowns.items()}
    out = {"problem": problem, "noise": noise, "seed": seed, "param_rel_error": param_err, "field_rel_l2": field_err,
           "wall_s": wall, "learned": learned, "status": rep["status"]}
    if peers and problem in PEERS:
        import _deepxde_inverse as dx
        data = prob.conditions[-1]  # the measurements this run was given
        values = np.stack([data.values[k] for k in prob.fields], axis=1)
        pts = data.points if prob.domain.dim > 1 else data.points[:, 0]
        budget = ((dx.EXAMPLE_STEPS[PEERS[problem]], 0) if peer_budget == "example"
                  else (rep["adam_steps"], rep["lbfgs_iterations"]))
        peer = getattr(dx, PEERS[problem])(pts, values[:, 0] if values.shape[1] == 1 else values, *budget, seed,
                                           max_wall=None if peer_wall_ratio is None else peer_wall_ratio * wall)
        peer["budget"] = peer_budget
        peer["param_rel_error_at_pinnlab_wall"] = dx.error_at(peer, wall)
        out["deepxde"] = peer
    return out


def summarise(runs: list[dict]) -> dict:
    out: dict = {}
    for r in runs:
        out.setdefault(r["problem"], {}).setdefault(f"{r['noise']:g}", []).append(r)
    summary = {}
    for problem, by_noise in out.items():
        summary[problem] = {}
        for noise, rs in by_noise.items():
            cell = {}
            for key in ("param_rel_error", "field_rel_l2", "wall_s"):
                vals = [r[key] for r in rs]
                cell[key] = {"median": statistics.median(vals), "worst": max(vals)}
            peer = [r["deepxde"] for r in rs if "deepxde" in r]
            if peer:
                for key in ("param_rel_error", "wall_s", "param_rel_error_at_pinnlab_wall", "steps_done"):
                    vals = [r[key] for r in peer]
                    cell[f"deepxde_{key}"] = {"median": statistics.median(vals), "worst": max(vals)}
            cell["learned"] = [r["learned"] for r in rs]
            cell["seeds"] = len(rs)
            summary[problem][noise] = cell
    return summary


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated inverse problems")
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds per problem and noise level (default 3)")
    p.add_argument("--noise", default=",".join(f"{n:g}" for n in NOISE), help="comma-separated noise levels")
    p.add_argument("--steps", type=count, default=None, help="Adam steps (default: each problem's recipe)")
    p.add_argument("--lbfgs-steps", type=count, default=None, help="L-BFGS iterations (default: the recipe's)")
    p.add_argument("--peers", action="store_true", help="also run DeepXDE's diffusion and Lorenz inverse examples")
    p.add_argument("--peer-budget", choices=("example", "same"), default="example",
                   help="DeepXDE's budget: its examples' own Adam steps (default) or pinnlab's steps and L-BFGS")
    p.add_argument("--peer-wall-ratio", type=float, default=None,
                   help="stop each DeepXDE run after this many times pinnlab's wall time on the same seed")
    p.add_argument("--first-seed", type=count, default=0, help="seeds are first-seed, first-seed + 1, ... (default 0)")
    args = p.parse_args()
    if args.peers:
        import _deepxde_inverse
        why = _deepxde_inverse.available()
        if why is not None:
            raise SystemExit(f"--peers: {why}")
    device = setup(args)
    problems = args.problems.split(",")
    noise = tuple(float(n) for n in args.noise.split(","))
    seeds, steps, lbfgs = args.seeds, args.steps, args.lbfgs_steps
    if args.quick:
        problems, noise, seeds = QUICK["problems"], QUICK["noise"], QUICK["seeds"]
        steps, lbfgs = QUICK["steps"], QUICK["lbfgs_steps"]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for problem in problems:
            for n in noise:
                for seed in range(args.first_seed, args.first_seed + seeds):
                    r = one_run(problem, n, seed, steps, lbfgs, Path(tmp), args.threads, device.type, args.peers,
                                args.peer_budget, args.peer_wall_ratio)
                    runs.append(r)
                    dx = r.get("deepxde")
                    peer = (f"; deepxde {dx['param_rel_error']:.2e} in {dx['wall_s']:.1f} s ({dx['steps_done']} steps), "
                            f"{dx['param_rel_error_at_pinnlab_wall']:.2e} by pinnlab's wall time" if dx else "")
                    print(f"{problem} noise {n:g} seed {seed}: param rel error {r['param_rel_error']:.2e}, "
                          f"field rel L2 {r['field_rel_l2']:.2e}, {r['wall_s']:.1f} s{peer}", flush=True)
    summary = summarise(runs)
    rows = [{"problem": prob, "noise": float(n), "seeds": c["seeds"],
             "param_med": c["param_rel_error"]["median"], "param_worst": c["param_rel_error"]["worst"],
             "field_med": c["field_rel_l2"]["median"], "wall_med": c["wall_s"]["median"],
             "dde_med": c.get("deepxde_param_rel_error", {}).get("median", "–"),
             "dde_wall": c.get("deepxde_wall_s", {}).get("median", "–"),
             "dde_at": c.get("deepxde_param_rel_error_at_pinnlab_wall", {}).get("median", "–")}
            for prob, by_noise in summary.items() for n, c in by_noise.items()]
    print(table(rows, [("problem", "problem", "s"), ("noise", "noise", ".0%"), ("seeds", "seeds", "d"),
                       ("param_med", "param rel err (median)", ".2e"), ("param_worst", "(worst)", ".2e"),
                       ("field_med", "field rel L2 (median)", ".2e"), ("wall_med", "wall s (median)", ".1f")]
                + ([("dde_med", "deepxde param rel err", ".2e"), ("dde_wall", "deepxde wall s", ".1f"),
                    ("dde_at", "deepxde by pinnlab's wall s", ".2e")]
                   if args.peers else [])))
    write_json(args.json, {"quick": args.quick, "threads": args.threads, "device": device.type,
                           "peer_wall_ratio": args.peer_wall_ratio,
                           "budget": {"steps": steps, "lbfgs_steps": lbfgs},
                           "param_rel_error": {k: {n: c["param_rel_error"] for n, c in v.items()}
                                               for k, v in summary.items()},
                           "field_rel_l2": {k: {n: c["field_rel_l2"] for n, c in v.items()} for k, v in summary.items()},
                           "wall_s": {k: {n: c["wall_s"] for n, c in v.items()} for k, v in summary.items()},
                           "deepxde_param_rel_error": {k: {n: c["deepxde_param_rel_error"] for n, c in v.items()}
                                                       for k, v in summary.items() if k in PEERS and args.peers},
                           "deepxde_wall_s": {k: {n: c["deepxde_wall_s"] for n, c in v.items()}
                                              for k, v in summary.items() if k in PEERS and args.peers},
                           "deepxde_param_rel_error_at_pinnlab_wall": {
                               k: {n: c["deepxde_param_rel_error_at_pinnlab_wall"] for n, c in v.items()}
                               for k, v in summary.items() if k in PEERS and args.peers},
                           "deepxde_budget": args.peer_budget if args.peers else None,
                           "learned": {k: {n: c["learned"] for n, c in v.items()} for k, v in summary.items()},
                           "runs": runs})


if __name__ == "__main__":
    main()
