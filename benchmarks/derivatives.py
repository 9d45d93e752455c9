"""Derivative engines: ms per training step and memory, forward-mode jets against nested autograd.

A training step here is what a PINN step costs apart from the optimiser: the residual's fields
and partials at N collocation points, the mean-square residual, and the backward pass over the
parameters. Engines: ``jets`` (eager), ``autograd`` (nested reverse mode, what DeepXDE does),
and with ``--compile`` the jet step compiled by torch.compile (nested autograd cannot be
compiled). Steps of the engines are interleaved in one process and the median is reported;
the speedup is ms_autograd / ms_jets from the same run.

    python benchmarks/derivatives.py --quick
    python benchmarks/derivatives.py --compile --json derivatives.json
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved_ms, parser, peak_mb, setup, table, write_json  # noqa: E402

from pinnlab.derivatives import compute_fields, resolve_engine  # noqa: E402
from pinnlab.fields import close_under_prefixes  # noqa: E402
from pinnlab.nets import Net  # noqa: E402
from pinnlab.registry import get_problem  # noqa: E402

# (name, problem, layer, width, depth, points)
CASES = [
    ("burgers 20x3 N=2540", "burgers", "tanh", 20, 3, 2540),
    ("burgers 64x4 N=8192", "burgers", "tanh", 64, 4, 8192),
    ("burgers 64x4 N=20000", "burgers", "tanh", 64, 4, 20000),
    ("helmholtz2d 50x4 N=8192", "helmholtz2d", "tanh", 50, 4, 8192),
    ("kdv (u_xxx) 32x3 N=4096", "kdv", "tanh", 32, 3, 4096),
    ("burgers sine 20x3 N=2540", "burgers", "sine", 20, 3, 2540),
    ("burgers yat 20x3 N=2540", "burgers", "yat", 20, 3, 2540),
    ("burgers auto 20x3 N=2540", "burgers", "auto", 20, 3, 2540),
]
QUICK = ["burgers 20x3 N=2540", "kdv (u_xxx) 32x3 N=4096", "burgers yat 20x3 N=2540"]


def make_step(problem, net, x, engine):
    names, fields, req = problem.domain.names, problem.fields, problem.requests["residual"]

    def loss(points):
        f = compute_fields(net, points, req, names, fields, engine)
        terms = problem.residual_terms(f)
        return sum((t * t).mean() for t in terms)
    return loss


def run_case(name, pname, layer, width, depth, n, device, compile_, repeats):
    problem = get_problem(pname)
    torch.manual_seed(0)
    net = Net(problem.domain.dim, len(problem.fields), width, depth, layer,
              bounds=(problem.domain.lo.tolist(), problem.domain.hi.tolist())).to(device)
    lo = torch.as_tensor(problem.domain.lo, dtype=torch.float32, device=device)
    hi = torch.as_tensor(problem.domain.hi, dtype=torch.float32, device=device)
    x = torch.rand(n, problem.domain.dim, device=device) * (hi - lo) + lo
    wanted = close_under_prefixes({f: set(problem.requests["residual"].get(f, ())) for f in problem.fields})
    engine_ran = resolve_engine(net, wanted, "jets")
    losses = {e: make_step(problem, net, x, e) for e in ("jets", "autograd")}
    row = {"case": name, "engine_ran": engine_ran}
    if compile_:
        torch._dynamo.reset()  # each case compiles afresh (dynamo stops compiling after 8 variants of one function)
        compiled = torch.compile(losses["jets"])
        t0 = time.perf_counter()
        compiled(x).backward()
        row["compile_s"] = time.perf_counter() - t0
        losses["compiled"] = compiled

    def stepper(fn):
        def step():
            net.zero_grad(set_to_none=True)
            fn(x).backward()
        return step
    ms = interleaved_ms({k: stepper(f) for k, f in losses.items()}, repeats, device)
    row.update(ms_jets=ms["jets"], ms_autograd=ms["autograd"], speedup=ms["autograd"] / ms["jets"])
    if compile_:
        row.update(ms_compiled=ms["compiled"], speedup_compiled=ms["autograd"] / ms["compiled"])
    row["mb_jets"] = peak_mb(stepper(losses["jets"]), device)
    row["mb_autograd"] = peak_mb(stepper(losses["autograd"]), device)
    return row


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--compile", action="store_true", help="also time the compiled jet step (compiles each case)")
    p.add_argument("--repeats", type=int, default=None, help="timed steps per engine (default 15, quick 6)")
    args = p.parse_args()
    device = setup(args)
    cases = [c for c in CASES if c[0] in QUICK] if args.quick else CASES
    repeats = args.repeats or (6 if args.quick else 15)
    rows = []
    for case in cases:
        row = run_case(*case, device, args.compile, repeats)
        rows.append(row)
        print(f"  {row['case']}: jets {row['ms_jets']:.1f} ms, autograd {row['ms_autograd']:.1f} ms", flush=True)
    cols = [("case", "case", ""), ("ms_jets", "ms jets", ".2f"), ("ms_autograd", "ms autograd", ".2f"),
            ("speedup", "speedup", ".2f")]
    if args.compile:
        cols += [("ms_compiled", "ms compiled", ".2f"), ("speedup_compiled", "speedup compiled", ".2f"),
                 ("compile_s", "compile s", ".1f")]
    cols += [("mb_jets", "MB jets", ".1f"), ("mb_autograd", "MB autograd", ".1f")]
    print(f"\ndevice {device}, {args.threads} thread(s), torch {torch.__version__}"
          f"{' (quick: 3 cases, 6 steps each)' if args.quick else ''}; MB: "
          f"{'CUDA peak' if device.type == 'cuda' else 'tensors saved for backward'}")
    print(table(rows, cols))
    write_json(args.json, {"device": str(device), "threads": args.threads, "torch": torch.__version__,
                           "quick": args.quick, "cases": {r["case"]: r for r in rows}})


if __name__ == "__main__":
    main()
