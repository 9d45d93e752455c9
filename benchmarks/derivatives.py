"""Derivative engines: ms per training step and memory, forward-mode jets against nested autograd.

A training step here is what a PINN step costs apart from the optimiser: the residual's fields
and partials at N collocation points, the mean-square residual, and the backward pass over the
parameters. Engines: ``jets`` (eager), ``autograd`` (nested reverse mode, what DeepXDE does),
with ``--compile`` the jet step compiled as the solver runs it (``compiled``: the loss and its
parameter gradient as one function, torch.func, traced once and compiled by inductor, called
without dynamo, from inductor's C++ wrapper on the CPU, over cache-sized chunks of a large point
set), the same graphs called from Python (``compiled_py``; the profiler sees their matmuls),
unchunked (``compiled_whole``, where the solver splits) and as torch.compile of the loss
followed by ``backward()`` (``compiled_loss``;
nested autograd cannot be compiled: double backward), and with ``--func`` torch.func (vmap over
points of nested jacrev/jacfwd, the usual functional formulation; it computes every partial of
each order, not only those asked).
Steps of the engines are interleaved in one process, each engine's in short back-to-back blocks as
a training loop runs them (the first step of a block, which pays for the caches the other engine
left, untimed), and the median is reported; the speedup is ms_autograd / ms_jets from the same
run. The "engine ran" column says which engine served ``engine="jets"`` (it falls back to
autograd where a layer has no jet rules).

A second table says where the time goes: the matmul FLOPs of one step under each engine (for
Burgers they are the same: Taylor mode and nested reverse mode multiply the same matrices), the
time spent inside matmuls (profiler), the fraction of the machine's matmul rate (a 1024^3
product, measured in the same run) that each whole step reaches, and the speedup ceiling
ms_autograd / ms_matmuls_jets: what jets would reach if everything but their matmuls were free.

    python benchmarks/derivatives.py --quick
    python benchmarks/derivatives.py --compile --func --json derivatives.json
    python benchmarks/derivatives.py --device cuda --compile reduce-overhead   # CUDA graphs
    python benchmarks/derivatives.py --cases "burgers 20x3" --compile --profile 12
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    alloc_peak_mb,
    count,
    gemm_gflops,
    interleaved_ms,
    matmul_mflop,
    matmul_ms,
    parser,
    peak_mb,
    positive_int,
    setup,
    table,
    write_json,
)

from pinnlab.derivatives import compute_fields, resolve_engine  # noqa: E402
from pinnlab.fields import Fields, close_under_prefixes  # noqa: E402
from pinnlab.jets import plan_for  # noqa: E402
from pinnlab.nets import Net  # noqa: E402
from pinnlab.registry import get_problem  # noqa: E402
from pinnlab.solvers.compiling import (  # noqa: E402
    Compiled,
    chunk_size,
    grads_into,
    jet_bytes_per_point,
    options_for,
    sum_over_chunks,
    value_and_grad,
)

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
ENGINES = ("jets", "autograd", "compiled", "compiled_py", "compiled_whole", "compiled_loss", "func")
# --compile MODE: torch.compile's modes, as inductor options for the solver's direct compile
MODE_OPTIONS = {"default": None, "reduce-overhead": {"triton.cudagraphs": True}, "max-autotune": {"max_autotune": True}}
QUICK = ["burgers 20x3 N=2540", "kdv (u_xxx) 32x3 N=4096", "burgers yat 20x3 N=2540"]


def func_fields(net, points, wanted, coords) -> Fields:
    """Fields by torch.func: D^k u for k up to the highest order wanted, per point under vmap."""
    from torch.func import functional_call, jacfwd, jacrev, vmap
    params, buffers = dict(net.named_parameters()), dict(net.named_buffers())
    order = max(len(i) for idxs in wanted.values() for i in idxs)

    def g(x):
        return functional_call(net, (params, buffers), (x[None],))[0], ()
    for k in range(order):
        def nxt(x, prev=g):  # one more derivative; the lower ones ride along as aux
            d, lower = prev(x)
            return d, (d, *lower)
        g = (jacrev if k == 0 else jacfwd)(nxt, has_aux=True)
    top, lower = vmap(g)(points)
    by_order = [*lower[::-1], top]  # by_order[k]: (N, fields, dim, ..., dim) with k dims
    data = {f: {idx: by_order[len(idx)][(slice(None), j, *idx)] for idx in idxs}
            for j, (f, idxs) in enumerate(wanted.items())}
    return Fields(coords, tuple(wanted), points, data)


def make_step(problem, net, x, engine, total=None):
    """The residual loss at some points: its mean square, or with ``total`` the points' share of
    the mean square over ``total`` points (a chunk's)."""
    names, fields, req = problem.domain.names, problem.fields, problem.requests["residual"]
    wanted = close_under_prefixes({f: set(req.get(f, ())) for f in fields})

    def loss(points):
        if engine == "func":
            f = func_fields(net, points, wanted, names)
        else:
            f = compute_fields(net, points, req, names, fields, engine)
        terms = problem.residual_terms(f)
        if total is not None:
            return sum((t * t).sum() for t in terms) / total
        return sum((t * t).mean() for t in terms)
    return loss


def run_case(name, pname, layer, width, depth, n, device, compile_, func, repeats, gflops, profile=0):
    problem = get_problem(pname)
    torch.manual_seed(0)
    net = Net(problem.domain.dim, len(problem.fields), width, depth, layer,
              bounds=(problem.domain.lo.tolist(), problem.domain.hi.tolist())).to(device)
    params = list(net.parameters())
    lo = torch.as_tensor(problem.domain.lo, dtype=torch.float32, device=device)
    hi = torch.as_tensor(problem.domain.hi, dtype=torch.float32, device=device)
    x = torch.rand(n, problem.domain.dim, device=device) * (hi - lo) + lo
    wanted = close_under_prefixes({f: set(problem.requests["residual"].get(f, ())) for f in problem.fields})
    engine_ran = resolve_engine(net, wanted, "jets")
    losses = {e: make_step(problem, net, x, e) for e in ("jets", "autograd") + (("func",) if func else ())}

    def stepper(fn):
        def step():
            net.zero_grad(set_to_none=True)
            fn(x).backward()
        return step
    steps = {k: stepper(f) for k, f in losses.items()}
    values = {k: (lambda f=f: f(x).item()) for k, f in losses.items()}
    row = {"case": name, "engine_ran": engine_ran}
    if compile_:
        # "compiled": what the solver runs, the loss and its parameter gradient as one function of
        # the parameters, traced once and compiled by inductor, called without dynamo, over the
        # points in cache-sized chunks where the solver splits them ("compiled_whole": the same
        # over all points at once); "compiled_loss": the loss compiled by torch.compile, then
        # backward() through it.
        torch._dynamo.reset()  # each case compiles afresh (dynamo stops compiling after 8 variants of one function)
        components = len(plan_for(problem.domain.dim, [i for idx in wanted.values() for i in idx]).indices)
        size = chunk_size(n, jet_bytes_per_point(net, components, x.dtype), device)
        row["chunk"] = size
        options = {**options_for(net, device), **(MODE_OPTIONS[compile_] or {})}  # what the solver compiles with
        share = make_step(problem, net, x, "jets", total=n)

        def solver_step(opts):
            """The solver's compiled step (in chunks where it splits) and the unchunked one, built with ``opts``."""
            whole = Compiled(value_and_grad(net, lambda pts: {"residual": losses["jets"](pts)}), opts)
            chunked = Compiled(value_and_grad(net, lambda pts: {"residual": share(pts)}), opts)

            def whole_step():
                net.zero_grad(set_to_none=True)
                return grads_into(whole, params, x)["residual"]

            def chunked_step():
                net.zero_grad(set_to_none=True)
                return grads_into(lambda ps, pts: sum_over_chunks(chunked, ps, pts, size), params, x)["residual"]
            return (chunked_step if size < n else whole_step), whole_step
        compiled_step, whole_step = solver_step(options)
        # the same graphs called from Python instead of inductor's C++ wrapper: the profiler sees
        # their matmuls only there (the "where the time goes" table uses it)
        python_step, _ = solver_step({**options, "cpp_wrapper": False})
        compiled_loss = torch.compile(losses["jets"], mode=compile_)
        steps.update(compiled=compiled_step, compiled_py=python_step, compiled_loss=stepper(compiled_loss))
        values.update(compiled=lambda: compiled_step().item(), compiled_py=lambda: python_step().item(),
                      compiled_loss=lambda: compiled_loss(x).item())
        timed = [("compiled", "compile_s"), ("compiled_py", "compile_s_py"), ("compiled_loss", "compile_s_loss")]
        if size < n:
            steps["compiled_whole"] = whole_step
            values["compiled_whole"] = lambda: whole_step().item()
            timed.append(("compiled_whole", "compile_s_whole"))
        for k, key in timed:
            t0 = time.perf_counter()
            steps[k]()
            row[key] = time.perf_counter() - t0
    # every engine must compute the same loss (float32 rounding apart), or the timing compares different work
    ref = values["autograd"]()
    row["max_rel_loss_diff"] = max(abs(v() - ref) / abs(ref) for v in values.values())
    ms = interleaved_ms(steps, repeats, device)
    row.update(ms_jets=ms["jets"], ms_autograd=ms["autograd"], speedup=ms["autograd"] / ms["jets"])
    if compile_:
        row.update(ms_compiled=ms["compiled"], speedup_compiled=ms["autograd"] / ms["compiled"],
                   ms_compiled_loss=ms["compiled_loss"], speedup_compiled_loss=ms["autograd"] / ms["compiled_loss"])
        row.update(ms_compiled_py=ms["compiled_py"])
        whole_ms = ms.get("compiled_whole", ms["compiled"])  # the same step when the solver does not split
        row.update(ms_compiled_whole=whole_ms, speedup_compiled_whole=ms["autograd"] / whole_ms)
    if func:
        row.update(ms_func=ms["func"], speedup_func=ms["autograd"] / ms["func"])
    for e, step in steps.items():
        # On the CPU, mb_*: tensors saved for backward (hooks cannot see inside a compiled graph, and
        # torch.func refuses them); peak_mb_*: allocator peak from the profiler. On CUDA both are CUDA's peak.
        if e in ("jets", "autograd") or device.type == "cuda":
            row[f"mb_{e}"] = peak_mb(step, device)
        row[f"peak_mb_{e}"] = alloc_peak_mb(step, device)
    # Where the time goes: matmul FLOPs (the same work for both engines when the counts agree),
    # time inside matmuls, and the fraction of the machine's matmul rate the whole step reaches.
    for e in ("jets", "autograd"):
        row[f"mflop_{e}"] = matmul_mflop(steps[e])
    for e, step in steps.items():
        row[f"ms_matmul_{e}"] = matmul_ms(step, device)
    if compile_:  # called from C++, the compiled step's matmuls are invisible to the profiler
        row["ms_matmul_compiled"] = row["ms_matmul_compiled_py"]
    best = "compiled" if compile_ else "jets"
    row["speedup_ceiling"] = ms["autograd"] / row[f"ms_matmul_{best}"]
    for e in [e for e in ENGINES if e in ms and e != "func"]:
        row[f"flop_frac_{e}"] = row[f"mflop_{'autograd' if e == 'autograd' else 'jets'}"] / gflops / ms[e]
    if profile:
        for e, step in steps.items():
            print_profile(f"{name}, {e}", step, device, profile)
    return row


def print_profile(title: str, step, device: torch.device, top: int) -> None:
    """Where a step's time goes: the operators with the most self time over 3 steps."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        for _ in range(3):
            step()
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"\n-- profile: {title} (3 steps) --")
    print(prof.key_averages().table(sort_by=key, row_limit=top))


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--compile", nargs="?", const="default", default=None,
                   choices=["default", "reduce-overhead", "max-autotune"],
                   help="also time the jet step compiled by torch.compile (once per case); optional mode, "
                        "e.g. reduce-overhead for CUDA graphs")
    p.add_argument("--func", action="store_true", help="also time torch.func (vmap of nested jacrev/jacfwd)")
    p.add_argument("--profile", type=count, default=0, metavar="K",
                   help="print the K operators with the most self time per engine and case")
    p.add_argument("--cases", help="comma-separated substrings: run only the cases whose name contains one")
    p.add_argument("--repeats", type=positive_int, default=None, help="timed steps per engine (default 40, quick 6)")
    args = p.parse_args()
    device = setup(args)
    cases = [c for c in CASES if c[0] in QUICK] if args.quick else CASES
    if args.cases:
        cases = [c for c in cases if any(w.strip() in c[0] for w in args.cases.split(","))]
        if not cases:
            raise SystemExit(f"--cases {args.cases!r} matches none of: {', '.join(c[0] for c in CASES)}")
    repeats = args.repeats if args.repeats is not None else (6 if args.quick else 40)
    gflops = gemm_gflops(device)
    print(f"matmul rate of this machine (1024^3 float32, {args.threads} thread(s)): {gflops:.1f} GFLOP/s", flush=True)
    rows = []
    for case in cases:
        row = run_case(*case, device, args.compile, args.func, repeats, gflops, args.profile)
        rows.append(row)
        print(f"  {row['case']}: jets ({row['engine_ran']} ran) {row['ms_jets']:.1f} ms, "
              f"autograd {row['ms_autograd']:.1f} ms", flush=True)
    cols = [("case", "case", ""), ("engine_ran", "engine ran", ""), ("ms_jets", "ms jets", ".2f"),
            ("ms_autograd", "ms autograd", ".2f"), ("speedup", "speedup", ".2f"),
            ("max_rel_loss_diff", "loss rel diff", ".0e")]
    if args.compile:
        cols += [("ms_compiled", "ms compiled", ".2f"), ("speedup_compiled", "speedup compiled", ".2f"),
                 ("compile_s", "compile s", ".1f"), ("chunk", "points per chunk", ""),
                 ("ms_compiled_py", "ms compiled, Python wrapper", ".2f"),
                 ("ms_compiled_whole", "ms compiled unchunked", ".2f"),
                 ("ms_compiled_loss", "ms compiled loss+backward", ".2f")]
    if args.func:
        cols += [("ms_func", "ms torch.func", ".2f"), ("speedup_func", "speedup func", ".2f")]
    ran = [e for e in ENGINES if any(f"peak_mb_{e}" in r for r in rows)]
    best = "compiled" if args.compile else "jets"
    why = [("case", "case", ""), ("mflop_jets", "matmul MFLOP jets", ".1f"),
           ("mflop_autograd", "matmul MFLOP autograd", ".1f")]
    why += [(f"ms_matmul_{e}", f"ms in matmuls {e}", ".2f") for e in ("autograd", best)]
    why += [(f"flop_frac_{e}", f"FLOP-bound fraction {e}", ".2f") for e in ("autograd", best)]
    why += [("speedup_ceiling", f"ceiling: ms autograd / ms matmuls {best}", ".2f")]
    if device.type == "cpu":
        cols += [("mb_jets", "saved MB jets", ".1f"), ("mb_autograd", "saved MB autograd", ".1f")]
        cols += [(f"peak_mb_{e}", f"peak MB {e}", ".1f") for e in ran]
        memory = "saved MB: tensors saved for backward; peak MB: allocator peak during the step (profiler)"
    else:
        cols += [(f"mb_{e}", f"MB {e}", ".1f") for e in ran]
        memory = "MB: CUDA allocator peak during the step"
    print(f"\ndevice {device}, {args.threads} thread(s), torch {torch.__version__}"
          f"{' (quick: 3 cases, 6 steps each)' if args.quick else ''}; {memory}")
    print(table(rows, cols))
    print(f"\nwhere the time goes: the speedup ceiling is what {'compiled' if args.compile else 'eager'} jets would "
          f"reach if everything but their "
          f"matmuls were free; FLOP-bound fraction = matmul FLOPs / {gflops:.1f} GFLOP/s / ms per step")
    print(table(rows, why))
    write_json(args.json, {"device": str(device), "threads": args.threads, "torch": torch.__version__,
                           "gemm_gflops": gflops,
                           "quick": args.quick, "compile_mode": args.compile, "cases": {r["case"]: r for r in rows}})


if __name__ == "__main__":
    main()
