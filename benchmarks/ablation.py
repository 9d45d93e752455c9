"""Ablation of the network and loss techniques on Burgers and Allen-Cahn: rel L2 and wall time of each alone and together.

Each problem runs its recipe (the baseline: network, points, optimiser after Adam) and the same with one
technique added: random Fourier features, random weight factorisation, the modified MLP, gradient-norm or
NTK loss balancing; then all of them together (balanced by gradient norms). Burgers also runs PirateNet
(``--arch pirate``), SOAP as the first stage and the grad-norm variant compiled (each alone, not in "all").
Allen-Cahn's recipe has the hard initial value, the periodic embedding, causal weights and SSBroyden: each
is taken away in turn (``soft``, ``no-periodic``, ``no-causal``, ``lbfgs``), and Fourier features, RWF and
the modified MLP added. Every
variant of a problem gets the same shortened budget (``--steps`` Adam steps, ``--qn-steps`` iterations
of the recipe's optimiser after), the same seed, and runs eager (``compile off``: at these budgets
compiling would be most of a run's time; ``gradnorm-compiled`` shows what it costs and buys), one variant
after the other, so load drifts on a shared machine fall on all alike. docs/techniques.md gives the table.

    python benchmarks/ablation.py --quick                          # under a minute: tiny budgets, not compiled
    nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/ablation.py --json ablation.json

JSON: ``{"budget": {...}, "rows": [{"problem", "variant", "seed", "rel_l2", "wall_s", "cpu_s", "params", "stop",
"ms_per_adam_step", "compile_s", "balance_weights"}, ...]}``;
``ratio_rel_l2`` and ``ratio_wall`` are each row's over its problem's baseline
at the same seed (same run).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import count, parser, positive_int, setup, table, write_json  # noqa: E402

# one change each from the recipe; the values are jaxpi's published configurations where it has them
# (Fourier scale 1 for Burgers, 2 for Allen-Cahn; RWF mean 1, spread 0.1; grad-norm weights)
TECHNIQUES = {
    "burgers": {
        "fourier": dict(fourier_features="32,1"),
        "rwf": dict(rwf="1,0.1"),
        "modified": dict(arch="modified"),
        # the recipe's hard constraint leaves one term (nothing to balance): balanced variants go soft
        "gradnorm": dict(balance="gradnorm", hard=False),
        "ntk": dict(balance="ntk", hard=False),
        "pirate": dict(arch="pirate"),
        "soap": dict(first_stage="soap"),
        "gradnorm-compiled": dict(balance="gradnorm", hard=False, compile="on"),
    },
    # allen-cahn's recipe already has the techniques that decide it (round 3): each is taken away in turn,
    # the others added; its only loss term is the residual, so there is nothing to balance
    "allen-cahn": {
        "soft": dict(hard=False),
        "no-periodic": dict(periodic=""),
        "no-causal": dict(causal=0.0),
        "lbfgs": dict(optimizer="lbfgs"),
        "fourier": dict(fourier_features="32,2"),
        "rwf": dict(rwf="1,0.1"),
        "modified": dict(arch="modified"),
    },
}
# probes run only when named in --variants: why RWF lost on Burgers (its effective step at Adam's rate?)
PROBES = {
    "burgers": {
        "lr1e-3": dict(lr=1e-3),
        "rwf-lr1e-3": dict(rwf="1,0.1", lr=1e-3),
        "rwf-mu0.5": dict(rwf="0.5,0.1"),
    },
}
# alone only: "all" stays last round's set (these are another balancing, architecture, optimiser, step mode)
ALONE_ONLY = ("ntk", "pirate", "soap", "gradnorm-compiled")
TOGETHER = {"burgers"}  # the problems with an "all" row (the additions together)
QUICK = dict(steps=20, lbfgs_steps=3, points=100, boundary_points=20, eval_every=20)


def variants(problem: str) -> dict[str, dict]:
    """The baseline, each technique alone, and all together (with grad-norm balancing, as jaxpi's)."""
    alone = TECHNIQUES[problem]
    together: dict = {}
    for k, v in alone.items():
        if k not in ALONE_ONLY:
            together.update(v)
    return {"baseline": {}, **alone, **({"all": together} if problem in TOGETHER else {})}


def run(problem: str, overrides: dict, seed: int, threads: int, device: str) -> dict:
    import pinnlab as pl
    cfg = pl.SolveConfig(**{"seed": seed, "threads": threads, "device": device, "compile": "off", **overrides})
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        res = pl.solve(problem, cfg, out=Path(tmp) / "run")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        params = sum(p.numel() for p in res.net.parameters())
    r = res.report
    return {"rel_l2": float(r["rel_l2"]), "wall_s": wall, "cpu_s": cpu, "params": params,
            "ms_per_adam_step": r.get("ms_per_step"), "compile_s": r.get("compile_s"),
            "stop": r.get("lbfgs_stop_reason") or "", "balance_weights": r.get("balance_weights")}


COLUMNS = [("problem", "problem", ""), ("variant", "variant", ""), ("seed", "seed", "d"), ("params", "params", "d"),
           ("rel_l2", "rel L2", ".2e"), ("ratio_rel_l2", "x baseline", ".2f"), ("wall_s", "wall s", ".1f"),
           ("cpu_s", "CPU s", ".1f"), ("ratio_wall", "time x", ".2f"), ("ms_per_adam_step", "ms/Adam step", ".2f")]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--problems", default=",".join(TECHNIQUES), help="comma-separated: burgers, allen-cahn")
    p.add_argument("--variants", default="", help="comma-separated variants (default: all)")
    p.add_argument("--seeds", type=positive_int, default=1, help="seeds 0..N-1 (default 1)")
    p.add_argument("--steps", type=count, default=1000, help="Adam steps of every variant (default 1000)")
    p.add_argument("--qn-steps", type=count, default=300, help="iterations after Adam (default 300)")
    args = p.parse_args()
    setup(args)
    problems = args.problems.split(",")
    for name in problems:
        if name not in TECHNIQUES:
            p.error(f"unknown problem {name!r} (allowed: {', '.join(TECHNIQUES)})")
    budget = QUICK if args.quick else dict(steps=args.steps, lbfgs_steps=args.qn_steps)
    rows = []
    for seed in range(args.seeds):
        for name in problems:
            chosen = variants(name)
            if args.quick:  # compiling alone takes over a minute on the loaded machine
                chosen.pop("gradnorm-compiled", None)
            if args.variants:
                chosen = {**chosen, **PROBES.get(name, {})}
                chosen = {k: v for k, v in chosen.items() if k in args.variants.split(",") or k == "baseline"}
            # untimed warm-up: imports, the reference solution
            run(name, {**QUICK, "steps": 2, "lbfgs_steps": 0}, seed, args.threads, args.device)
            base = None
            for label, extra in chosen.items():
                row = {"problem": name, "variant": label, "seed": seed,
                       **run(name, {**budget, **extra}, seed, args.threads, args.device)}
                base = base or row
                row["ratio_rel_l2"] = row["rel_l2"] / base["rel_l2"]
                row["ratio_wall"] = row["wall_s"] / base["wall_s"]
                rows.append(row)
                print(table([row], COLUMNS).splitlines()[-1], flush=True)
    print()
    print(table(rows, COLUMNS))
    write_json(args.json, {"quick": args.quick, "budget": budget, "compile": "off",
                           "machine": "shared 2-core machine (loaded by other users)", "rows": rows})


if __name__ == "__main__":
    main()
