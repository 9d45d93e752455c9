"""Shared pieces of the benchmark scripts: options, interleaved timing, memory, tables, JSON."""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1, or a one-line usage error naming the value."""
    return _int_at_least(text, 1, "a positive integer")


def count(text: str) -> int:
    """argparse type: an integer of at least 0 (0 turns the thing off)."""
    return _int_at_least(text, 0, "an integer >= 0")


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value


def output_file(text: str) -> Path:
    """argparse type: a file this run can write, checked before the run instead of after it."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: folder {str(path.parent)!r} does not exist")
    existed = path.exists()
    try:
        with open(path, "a"):
            pass
    except OSError as e:
        raise argparse.ArgumentTypeError(f"{text!r} cannot be written ({e.strerror})") from None
    if not existed:
        path.unlink()
    return path


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a reduced run that finishes in under a minute on 2 cores")
    p.add_argument("--json", type=output_file, help="write the figures to this file")
    p.add_argument("--threads", type=positive_int, default=1, help="torch intra-op threads (default 1)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="cpu (default) or cuda")
    return p


def setup(args) -> torch.device:
    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: CUDA is not available on this machine")
    return torch.device(args.device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def interleaved_ms(fns: dict[str, Callable[[], None]], repeats: int, device: torch.device,
                   warmup: int = 2, block: int = 3) -> dict[str, float]:
    """Median milliseconds per call of each function over ``repeats`` timed calls.

    Each round runs every function ``block`` times back to back, as a training loop repeats its
    step, and times all calls but the block's first: that one pays for the caches the previous
    function left behind, a cost a training run never has (measured: 6-17% of a small compiled
    step after another engine's; up to 20% when it always followed autograd's). Rounds take the
    functions in a new (seeded) order so load drifts hit all alike. ``block=1`` times every call
    of a plain shuffled interleave."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    order, rng = list(fns.items()), random.Random(0)
    untimed = 1 if block > 1 else 0
    for _ in range(math.ceil(repeats / (block - untimed))):
        rng.shuffle(order)
        for k, fn in order:
            for i in range(block):
                _sync(device)
                t0 = time.perf_counter()
                fn()
                _sync(device)
                if i >= untimed:
                    times[k].append(time.perf_counter() - t0)
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


def peak_mb(fn: Callable[[], None], device: torch.device) -> float:
    """Peak memory of one call: CUDA's allocator peak, or on the CPU the bytes of the tensors
    autograd saves for the backward pass (distinct storages), which is what grows with the step."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        try:
            st = t.untyped_storage()
            seen[st.data_ptr()] = st.nbytes()
        except (RuntimeError, NotImplementedError):
            pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values()) / 2**20


def alloc_peak_mb(fn: Callable[[], None], device: torch.device) -> float | None:
    """Peak bytes allocated during one call above what was live before it: CUDA's allocator peak,
    or on the CPU the running sum of the profiler's allocation events (None if unavailable)."""
    if device.type == "cuda":
        return peak_mb(fn, device)
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    try:
        events = prof.profiler.kineto_results.events()
        sizes = [e.nbytes() for e in sorted((e for e in events if e.name() == "[memory]"), key=lambda e: e.start_ns())]
    except (AttributeError, RuntimeError):  # the profiler's raw events are not a stable API
        return None
    live = peak = 0
    for n in sizes:
        live += n
        peak = max(peak, live)
    return peak / 2**20


def table(rows: Sequence[dict], columns: Sequence[tuple[str, str, str]]) -> str:
    """A plain-text table: columns are (key, header, format)."""
    cells = [[h for _, h, _ in columns]]
    for r in rows:
        cells.append([format(r[k], f) if isinstance(r.get(k), (int, float)) else str(r.get(k, "")) for k, _, f in columns])
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(path: Path | None, data) -> None:
    if path is not None:
        path.write_text(json.dumps(data, indent=2) + "\n")
        print(f"figures written to {path}")


MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")


def matmul_mflop(fn: Callable[[], None]) -> float:
    """Millions of floating-point operations in the matrix products of one eager call."""
    from torch.utils._python_dispatch import TorchDispatchMode
    aten = torch.ops.aten

    class Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.flops = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func in (aten.mm.default, aten.addmm.default):
                a, b = args[-2], args[-1]
                self.flops += 2 * a.shape[0] * a.shape[1] * b.shape[1]
            elif func in (aten.bmm.default, aten.baddbmm.default):
                a, b = args[-2], args[-1]
                self.flops += 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
            return func(*args, **(kwargs or {}))

    with Count() as count:
        fn()
    return count.flops / 1e6


def matmul_ms(fn: Callable[[], None], device: torch.device, calls: int = 5) -> float:
    """Milliseconds per call spent inside matrix products (profiler self time; device time on CUDA)."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        for _ in range(calls):
            fn()
        _sync(device)
    if device.type == "cuda":  # the GEMM kernels themselves
        total = sum(e.self_device_time_total for e in prof.key_averages()
                    if "gemm" in e.key.lower() or "matmul" in e.key.lower())
    else:
        total = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in MATMUL_OPS)
    return total / 1e3 / calls


def gemm_gflops(device: torch.device, n: int = 1024, repeats: int = 10) -> float:
    """The machine's attainable matmul rate: a square float32 product of size n, median of repeats."""
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    times = []
    for _ in range(repeats + 2):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(times[2:]) / 1e9


def adam_steppers(problem, configs: dict) -> tuple[dict, Callable[[str], None]]:
    """PINN tasks for one problem, one per labelled (resolved) SolveConfig, each with the trainer's
    Adam, and ``step(label)``: one Adam step as the trainer takes it (the task's Adam step mode: loss,
    gradients and update in one compiled graph when the config compiles; finiteness check; the best
    state tracked as in a run)."""
    from pinnlab.solvers.registry import get_solver
    from pinnlab.solvers.training import Schedule, Trainer, make_adam
    tasks, trainers, modes = {}, {}, {}
    for label, cfg in configs.items():
        torch.manual_seed(cfg.seed)
        tasks[label] = get_solver(cfg.solver).make_task(problem, cfg)
        trainers[label] = Trainer(tasks[label], Schedule.from_config(cfg), lambda state: None)
        trainers[label].optimizer = make_adam(tasks[label].parameters(), cfg.lr)
        modes[label] = tasks[label].step_mode("adam")

    def step(label: str) -> None:
        trainers[label].adam_step(modes[label], 0)
    return tasks, step

