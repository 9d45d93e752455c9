"""Scale: time per epoch and peak memory of mini-batched training from 10^4 to 10^6 points, and
1 against 2 processes (data parallel, gloo).

Part 1 trains poisson2d (32x3 tanh, float32, eager: ``--compile off`` so that no run pays for
compiling) with ``--batch-size 2000`` on 10^4, 10^5 and 10^6 collocation points, each size in a
process of its own started with the ``pinnlab`` command: ``s/epoch`` is the run's Adam time per step
(the trainer's clock around the steps alone, no evaluation) times the steps of one epoch
(points / 2000); ``peak MB`` is the process's resident-set high-water mark (``ru_maxrss`` of that
child alone, from ``os.wait4``): everything the run holds, torch itself, the evaluation and the final
report over all points included. ``slope`` is the least-squares slope of log(s/epoch) against
log(points). Small sizes train for more epochs, so that each size runs about the same number of
steps (at least 50). For contrast, the largest size but one (10^5; 4*10^4 with --quick) is also
trained full batch (3 steps, one an epoch).

Part 2 runs the same training with 1 and with 2 processes (one torch thread each), started with
the environment torchrun gives its workers:
- strong scaling: the same 10^5 points and global batch 8000 on 2 processes (4000 per rank);
  efficiency = T1 / (2 T2), T the time per epoch;
- weak scaling: the same work per process: 2 processes over twice the points with a global batch
  of 16000 (8000 per rank, as the 1-process run has); efficiency = T1 / T2.
(A batch of 8000, not 2000: a 2000-point step is mostly work fixed per step, 12.6 ms of CPU for
2000 points and 12.8 ms for 1000 on a loaded machine, so it cannot be split in two profitably.)
The 1-process figure of each comparison is measured in the same script run, just before. On a
shared machine the wall-clock efficiencies measure the other work as much as pinnlab, so the CPU
time per step of one process is given too (``CPU ms/step/process``: rank 0's CPU time inside its
Adam steps, ``time.process_time`` around each, from the checkpoint; time a rank spends blocked
waiting for the other is not CPU time). Its efficiencies (the same formulas) show the work data
parallelism adds: the all-reduces and every rank drawing the whole batch.

    python benchmarks/scale.py --quick
    python benchmarks/scale.py --json scale.json
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, setup, table, write_json  # noqa: E402

BATCH = 2000
SCALING_BATCH = 8000  # a step of 2000 points is mostly fixed per-step work (measured): it does not split in two
NET = ["--layer", "tanh", "--width", "32", "--depth", "3", "--dtype", "float32", "--compile", "off",
       "--lbfgs-steps", "0", "--checkpoint-every", "1000000000", "--quiet", "--no-plot"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(points: int, batch: int, steps: int, out: Path, nproc: int = 1, threads: int = 1) -> dict:
    """One ``pinnlab solve`` (``nproc`` processes): its report and every process's RSS peak (MB)."""
    args = [sys.executable, "-m", "pinnlab", "solve", "poisson2d", *NET, "--points", str(points), "--batch-size",
            str(batch), "--steps", str(steps), "--eval-every", str(steps), "--threads", str(threads),
            "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if nproc > 1:
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), WORLD_SIZE=str(nproc),
                   LOCAL_WORLD_SIZE=str(nproc))
    logs = [out.with_name(f"{out.name}.rank{r}.log") for r in range(nproc)]
    procs = [subprocess.Popen(args, env={**env, **({"RANK": str(r), "LOCAL_RANK": str(r)} if nproc > 1 else {})},
                              stdout=subprocess.DEVNULL, stderr=open(log, "w")) for r, log in enumerate(logs)]
    peaks = []
    for p, log in zip(procs, logs):
        _, status, usage = os.wait4(p.pid, 0)  # this child's own rusage (RUSAGE_CHILDREN would mix them)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            raise SystemExit(f"pinnlab solve failed ({p.returncode}): {log.read_text()[-800:]}")
        peaks.append(usage.ru_maxrss / 1024)  # kilobytes on Linux
    report = json.loads((out / "report.json").read_text())
    trainer = torch.load(out / "checkpoint.pt", weights_only=False)["trainer"]
    return {"report": report, "peak_mb": max(peaks), "s_per_step": report["ms_per_step"] / 1e3,
            "cpu_per_step": trainer["adam_cpu_s"] / max(trainer["step"] - trainer["compile_steps"], 1)}


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    setup(args)
    if args.device != "cpu":
        raise SystemExit("--device cuda: this benchmark measures the CPU (gloo) path")
    sizes = [4_000, 40_000] if args.quick else [10_000, 100_000, 1_000_000]
    min_steps = 20 if args.quick else 50
    tmp = Path(tempfile.mkdtemp(prefix="pinnlab-scale-"))
    rows = []
    for n in sizes:
        blocks = math.ceil(n / BATCH)
        epochs = max(1, math.ceil(min_steps / blocks))
        r = run(n, BATCH, epochs * blocks, tmp / f"n{n}", threads=args.threads)
        rows.append({"points": n, "epochs": epochs, "steps": epochs * blocks, "ms_per_step": 1e3 * r["s_per_step"],
                     "s_per_epoch": r["s_per_step"] * blocks, "peak_mb": r["peak_mb"],
                     "rel_l2": r["report"]["rel_l2"]})
        print(f"  {n} points: {rows[-1]['s_per_epoch']:.3g} s/epoch, peak {r['peak_mb']:.0f} MB", flush=True)
    # the same largest-but-one set trained full batch (one step an epoch), for its memory and time
    n_full = sizes[-1] if args.quick else sizes[-2]
    full = run(n_full, 0, 3, tmp / "full", threads=args.threads)
    print(f"  {n_full} points, full batch: {full['s_per_step']:.3g} s/epoch, peak {full['peak_mb']:.0f} MB", flush=True)
    slope = float(np.polyfit(np.log([r["points"] for r in rows]), np.log([r["s_per_epoch"] for r in rows]), 1)[0])
    print(table(rows, [("points", "points", "d"), ("epochs", "epochs", "d"), ("steps", "steps", "d"),
                       ("ms_per_step", "ms/step", ".1f"), ("s_per_epoch", "s/epoch", ".3g"),
                       ("peak_mb", "peak MB (RSS)", ".0f"), ("rel_l2", "rel L2", ".3g")]))
    print(f"slope of log(s/epoch) against log(points): {slope:.3f} (batch {BATCH}); full batch at {n_full} points: "
          f"{full['s_per_step']:.3g} s/epoch, peak {full['peak_mb']:.0f} MB\n")

    n, steps, b = (40_000, 10, SCALING_BATCH) if args.quick else (100_000, 100, SCALING_BATCH)
    blocks = math.ceil(n / b)
    one = run(n, b, steps, tmp / "one", threads=args.threads)
    strong = run(n, b, steps, tmp / "strong", nproc=2, threads=args.threads)
    weak = run(2 * n, 2 * b, steps, tmp / "weak", nproc=2, threads=args.threads)
    c1, c_strong, c_weak = one["cpu_per_step"], strong["cpu_per_step"], weak["cpu_per_step"]
    t1 = one["s_per_step"] * blocks  # an epoch: the same number of steps in all three (weak: 2n / 2b)
    t_strong, t_weak = strong["s_per_step"] * blocks, weak["s_per_step"] * blocks
    scaling = [
        {"run": "1 process", "points": n, "batch": b, "s_per_epoch": t1, "efficiency": 1.0,
         "cpu_ms": 1e3 * c1, "cpu_efficiency": 1.0, "rel_l2": one["report"]["rel_l2"]},
        {"run": "2 processes, strong", "points": n, "batch": b, "s_per_epoch": t_strong,
         "efficiency": t1 / (2 * t_strong), "cpu_ms": 1e3 * c_strong, "cpu_efficiency": c1 / (2 * c_strong),
         "rel_l2": strong["report"]["rel_l2"]},
        {"run": "2 processes, weak", "points": 2 * n, "batch": 2 * b, "s_per_epoch": t_weak,
         "efficiency": t1 / t_weak, "cpu_ms": 1e3 * c_weak, "cpu_efficiency": c1 / c_weak,
         "rel_l2": weak["report"]["rel_l2"]},
    ]
    print(table(scaling, [("run", "run", ""), ("points", "points", "d"), ("batch", "global batch", "d"),
                          ("s_per_epoch", "s/epoch", ".3g"), ("efficiency", "efficiency", ".2f"),
                          ("cpu_ms", "CPU ms/step/process", ".1f"), ("cpu_efficiency", "CPU efficiency", ".2f"),
                          ("rel_l2", "rel L2", ".3g")]))
    cores = os.cpu_count()
    load = os.getloadavg()
    print(f"{cores} cores, {args.threads} torch thread(s) per process, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (a shared machine: other work depresses the 2-process figures)")
    write_json(args.json, {
        "points": [r["points"] for r in rows], "s_per_epoch": [r["s_per_epoch"] for r in rows],
        "peak_mb": [r["peak_mb"] for r in rows], "slope": slope, "batch_size": BATCH,
        "ms_per_step": [r["ms_per_step"] for r in rows],
        "full_batch": {"points": n_full, "s_per_epoch": full["s_per_step"], "peak_mb": full["peak_mb"]},
        "efficiency_2proc": {"strong": scaling[1]["efficiency"], "weak": scaling[2]["efficiency"],
                             "strong_cpu": scaling[1]["cpu_efficiency"], "weak_cpu": scaling[2]["cpu_efficiency"],
                             "cpu_ms_per_step": [r["cpu_ms"] for r in scaling],
                             "points": n, "batch": b,
                             "cores": cores, "threads_per_process": args.threads, "load_average": list(load)},
        "quick": args.quick})


if __name__ == "__main__":
    main()
