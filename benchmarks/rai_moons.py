"""RAI on the seed's deep experiment: a 100-hidden-layer sigmoid MLP on two moons, plain backprop against RAI variants.

The data and network are the reference notebook's (make_moons(100, noise=0.1, random_state=42), 2 -> [100]x100 -> 1,
a sigmoid after every Linear, PyTorch's default initialisation, Rprop lr 0.1, full batch, 10 000 iterations).
Every accuracy and BCE reported is the plain network's (no states), on the 100 training points and on 1000
fresh points (random_state 7); the RAI objective (auxiliary BCE + consistency) is reported beside it.

    python benchmarks/rai_moons.py --quick
    nice -n 5 python benchmarks/rai_moons.py --json runs/rai_moons.json --fig runs/rai_moons.png

Needs scikit-learn (pip install 'pinnlab[rai]').
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import output_file, parser, positive_int, setup, table, write_json  # noqa: E402

from pinnlab.rai import RAI, FlatRprop, RowAdam, Schedule, trained_block  # noqa: E402

TRAIN_STATE, TEST_STATE = 42, 7


@dataclass(frozen=True)
class Variant:
    """One way of training: plain backprop, or RAI with these options."""

    name: str
    doc: str
    rai: bool = True
    layers: str = "all"          # which Linear layers carry states: all, hidden (not the output layer)
    lam: float = 1.0             # consistency weight (start)
    lam_end: float | None = None  # if set, λ rises geometrically to this over the RAI phase
    resync: int = 0              # every this many steps, states <- plain forward (0: never)
    gap: float = 0.0             # weight of mean((plain output - auxiliary output)^2)
    rai_fraction: float = 1.0    # RAI for this fraction of the iterations, then plain training
    optim: str = "rprop"         # rprop (lr 0.1) or adam
    lr: float = 0.1
    plain_lr: float = 0.1        # Rprop's first step size in plain training (the plain variant, or after RAI)
    update: str = "joint"        # joint: one optimiser step on weights and states; alternating: states, then weights


VARIANTS = {v.name: v for v in [
    Variant("plain", "plain backprop, Rprop lr 0.1", rai=False),
    Variant("plain-lr1e-3", "plain backprop, Rprop lr 1e-3 (the fine-tuning step size, from the start)", rai=False,
            plain_lr=1e-3),
    Variant("rai", "the reference: every Linear wrapped, λ=1, Rprop lr 0.1"),
    Variant("rai-hidden", "states on the hidden Linears only (not the output layer)", layers="hidden"),
    Variant("rai-ramp", "λ rising 1 -> 1e4 over the run", lam_end=1e4),
    Variant("rai-resync", "states re-synchronised from the plain forward every 1000 steps", resync=1000),
    Variant("rai-gap", "plus a gap penalty mean((plain out - aux out)^2), weight 1", gap=1.0),
    Variant("rai-adam", "Adam lr 1e-3 instead of Rprop", optim="adam", lr=1e-3),
    Variant("rai-alternating", "the reference, alternating: odd steps the states only, even steps the weights only",
            update="alternating"),
    Variant("rai-alternating-then-plain", "alternating RAI for 30% of the iterations, then plain Rprop lr 1e-3",
            update="alternating", rai_fraction=0.3, plain_lr=1e-3),
    Variant("rai-then-plain", "RAI for 30% of the iterations, then plain Rprop lr 1e-3", rai_fraction=0.3,
            plain_lr=1e-3),
    Variant("rai-ramp-then-plain", "λ rising 1 -> 1e4 for 30% of the iterations, then plain Rprop lr 1e-3",
            lam_end=1e4, rai_fraction=0.3, plain_lr=1e-3),
    Variant("rai-then-plain-lr0.1", "RAI for the first half, then plain Rprop lr 0.1", rai_fraction=0.5),
    Variant("rai-ramp-then-plain-lr0.1", "λ rising 1 -> 1e4 for the first half, then plain Rprop lr 0.1",
            lam_end=1e4, rai_fraction=0.5),
]}
DEFAULT = ["plain", "rai", "rai-then-plain"]
QUICK = ["plain", "rai", "rai-then-plain"]


def moons(n: int, state: int) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        from sklearn.datasets import make_moons
    except ImportError:
        raise SystemExit("rai_moons needs scikit-learn: pip install 'pinnlab[rai]'") from None
    x, y = make_moons(n_samples=n, noise=0.1, random_state=state)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32).unsqueeze(1)


def mlp(depth: int, width: int, seed: int) -> nn.Sequential:
    """2 -> [width] x depth -> 1, a sigmoid after every Linear, PyTorch's default initialisation."""
    torch.manual_seed(seed)
    sizes = [2] + [width] * depth + [1]
    mods: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        mods += [nn.Linear(a, b), nn.Sigmoid()]
    return nn.Sequential(*mods)


def _optimizer(v: Variant, params):
    if v.optim == "adam":
        return RowAdam(params, lr=v.lr)
    return FlatRprop(params, lr=v.lr, compile=True)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Accuracy and BCE of the plain network."""
    p = model(x)
    bce = nn.functional.binary_cross_entropy(p, y).item()
    return ((p > 0.5).float() == y).float().mean().item(), bce


def train(v: Variant, model: nn.Sequential, x, y, iters: int, log_every: int) -> dict:
    """Train ``model`` in place by variant ``v``; the plain network's figures along the way."""
    bce = nn.BCELoss()
    history, objective, consistency = [], None, None
    rai_iters = round(iters * v.rai_fraction) if v.rai else 0
    t0 = time.perf_counter()
    if rai_iters:
        rai = RAI(model, len(x), layers=v.layers)
        rai.sync(x)
        # joint: one optimiser on weights and states; alternating: one per block, each with its own state
        opts = ({"all": _optimizer(v, rai.parameters())} if v.update == "joint" else
                {k: _optimizer(v, g) for k, g in rai.parameter_groups().items()})
        lam = Schedule(v.lam, v.lam_end, rai_iters)
        for i in range(rai_iters):
            opt = opts[trained_block(v.update, i + 1)]
            opt.zero_grad(set_to_none=False)
            aux = rai.aux(x)
            task = bce(aux.output, y)
            loss = task + lam(i) * aux.consistency
            if v.gap:
                loss = loss + v.gap * (model(x) - aux.output).square().mean()
            loss.backward()
            opt.step()
            objective, consistency = (task + aux.consistency).item(), aux.consistency.item()
            if v.resync and (i + 1) % v.resync == 0 and i + 1 < rai_iters:
                rai.sync(x)
            if (i + 1) % log_every == 0:
                history.append([i + 1, *evaluate(model, x, y), objective])
        del rai, opt, opts
    if iters > rai_iters:
        opt = FlatRprop(model.parameters(), lr=v.plain_lr, compile=True)
        for i in range(rai_iters, iters):
            opt.zero_grad(set_to_none=False)
            loss = bce(model(x), y)
            loss.backward()
            opt.step()
            if (i + 1) % log_every == 0:
                history.append([i + 1, *evaluate(model, x, y), None])
    return {"seconds": time.perf_counter() - t0, "rai_objective": objective, "consistency": consistency,
            "history": history}


def landscape(model: nn.Module, n: int = 150, lim: float = 3.0):
    g = torch.linspace(-lim, lim, n)
    xx, yy = torch.meshgrid(g, g, indexing="xy")
    with torch.no_grad():
        zz = model(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)).reshape(n, n)
    return xx.numpy(), yy.numpy(), zz.numpy()


def figure(models: dict[str, nn.Module], x, y, path: Path, seed: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(models), figsize=(4.6 * len(models), 4.2), constrained_layout=True)
    axes = [axes] if len(models) == 1 else list(axes)
    for ax, (name, model) in zip(axes, models.items()):
        xx, yy, zz = landscape(model)
        im = ax.pcolormesh(xx, yy, zz, cmap="viridis", vmin=0, vmax=1, shading="auto")
        ax.contour(xx, yy, zz, levels=[0.5], colors="w", linewidths=1)
        ax.scatter(x[:, 0], x[:, 1], c=y[:, 0], cmap="viridis", edgecolors="k", s=22, vmin=0, vmax=1)
        acc, b = evaluate(model, x, y)
        ax.set_title(f"{name}: plain network\ntrain acc {acc:.2f}, BCE {b:.3f}", fontsize=10)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    fig.colorbar(im, ax=axes, shrink=0.85, label="plain network output")
    sep = ": " if len(models) > 2 else "\n"  # one or two panels are too narrow for the title on one line
    fig.suptitle(f"two moons, 2 -> [100]x{DEPTH[0]} -> 1 sigmoid MLP, seed {seed}{sep}the plain network after training")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"figure written to {path}")


DEPTH = [100]


def _median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def summarise(name: str, runs: list[dict]) -> dict:
    keys = ("train_accuracy", "test_accuracy", "bce", "rai_objective", "consistency", "seconds")
    out = {"variant": name, "doc": VARIANTS[name].doc if name in VARIANTS else ""}
    for k in keys:
        out[k + "s"] = [r[k] for r in runs]
        out[k] = _median(out[k + "s"])
    return out


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--seeds", type=positive_int, default=5, help="initialisation seeds 0..N-1 (default 5)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="start at this seed (seeds run in separate processes, their JSON merged by --resume)")
    p.add_argument("--iters", type=positive_int, default=10_000, help="iterations per run (default 10000)")
    p.add_argument("--depth", type=positive_int, default=100, help="hidden layers (default 100)")
    p.add_argument("--width", type=positive_int, default=100, help="hidden width (default 100)")
    p.add_argument("--variants", default=None, help=f"comma-separated, from {','.join(VARIANTS)}")
    p.add_argument("--fig", type=output_file, default=None, help="decision-landscape figure (default runs/rai_moons.png)")
    p.add_argument("--fig-variants", default=None,
                   help="comma-separated variants drawn in the figure (default: plain, rai and the best RAI variant)")
    p.add_argument("--log-every", type=positive_int, default=250, help="iterations between history points")
    p.add_argument("--resume", action="store_true", help="reuse the finished runs recorded in --json")
    p.add_argument("--models", type=Path, default=Path("runs/rai_moons_models"),
                   help="folder for the seed-0 trained networks (the figure of a resumed benchmark)")
    args = p.parse_args(argv)
    setup(args)
    if args.quick:
        args.seeds, args.iters, args.depth, args.log_every = 2, 300, 30, 50
        if args.models == Path("runs/rai_moons_models"):
            args.models = Path("runs/rai_moons_quick_models")
    names = args.variants.split(",") if args.variants else (QUICK if args.quick else DEFAULT)
    bad = [n for n in names if n not in VARIANTS]
    if bad:
        p.error(f"unknown variant {bad[0]!r} (allowed: {', '.join(VARIANTS)})")
    DEPTH[0] = args.depth
    x, y = moons(100, TRAIN_STATE)
    xt, yt = moons(1000, TEST_STATE)
    setting = {"depth": args.depth, "width": args.width, "iters": args.iters, "train_random_state": TRAIN_STATE,
               "test_random_state": TEST_STATE, "threads": args.threads}
    done: dict[tuple[str, int], dict] = {}
    if args.resume and args.json is not None and args.json.exists():
        old = json.loads(args.json.read_text())
        if old.get("setting") == setting:
            # a run is reused only under the same variant options (a renamed or changed variant runs again)
            done = {(r["variant"], r["seed"]): r for r in old.get("runs", [])
                    if r["variant"] in VARIANTS and r.get("options") == asdict(VARIANTS[r["variant"]])}
    runs, fig_models = list(done.values()), {}
    for name in names:
        v = VARIANTS[name]
        for seed in range(args.first_seed, args.seeds):
            saved = args.models / f"{name}-seed0.pt"
            if (name, seed) in done and (seed or saved.exists()):
                if not seed:
                    fig_models[name] = mlp(args.depth, args.width, 0)
                    fig_models[name].load_state_dict(torch.load(saved))
                continue
            model = mlp(args.depth, args.width, seed)
            rec = train(v, model, x, y, args.iters, args.log_every)
            acc, b = evaluate(model, x, y)
            rec.update(variant=name, options=asdict(v), seed=seed, train_accuracy=acc, bce=b,
                       test_accuracy=evaluate(model, xt, yt)[0])
            runs = [r for r in runs if (r["variant"], r["seed"]) != (name, seed)] + [rec]
            if seed == 0:  # kept for the figure, and for a resumed benchmark's figure
                fig_models[name] = model
                args.models.mkdir(parents=True, exist_ok=True)
                torch.save(model.state_dict(), saved)
            print(f"{name:20s} seed {seed}: train acc {rec['train_accuracy']:.3f}  test acc {rec['test_accuracy']:.3f}  "
                  f"BCE {rec['bce']:.4f}  RAI objective {rec['rai_objective'] if rec['rai_objective'] is not None else '-'}"
                  f"  {rec['seconds']:.0f} s", flush=True)
            if args.json is not None:  # after every run: a long benchmark that stops keeps what it measured
                args.json.write_text(json.dumps({"setting": setting, "runs": runs}, indent=2) + "\n")
    summary = [summarise(n, [r for r in runs if r["variant"] == n and r["seed"] < args.seeds]) for n in names]
    print()
    print(table(summary, [("variant", "variant", ""), ("train_accuracy", "train acc", ".3f"),
                          ("test_accuracy", "fresh acc", ".3f"), ("bce", "plain BCE", ".4f"),
                          ("rai_objective", "RAI objective", ".2e"), ("seconds", "s/run", ".0f")]))
    print(f"(medians over {args.seeds} seeds, {args.iters} iterations, depth {args.depth}; the plain network's "
          "accuracy on 100 training and 1000 fresh points)")
    rai_rows = [s for s in summary if VARIANTS[s["variant"]].rai]
    best = max(rai_rows, key=lambda s: (s["train_accuracy"] or 0, -(s["bce"] or 1)), default=None)
    plain = next((s for s in summary if s["variant"] == "plain"), None)
    out = {"setting": setting, "runs": runs, "variants": {s["variant"]: s for s in summary},
           "variant_options": {n: asdict(VARIANTS[n]) for n in names},
           "plain_accuracy": plain["train_accuracy"] if plain else None,
           "best_rai_variant": best["variant"] if best else None}
    if best is not None:
        out.update(rai_plain_accuracy=best["train_accuracy"], rai_plain_test_accuracy=best["test_accuracy"],
                   rai_plain_bce=best["bce"], rai_objective=best["rai_objective"])
        print(f"best RAI variant: {best['variant']}")
    write_json(args.json, out)
    fig_path = args.fig or Path("runs/rai_moons.png")
    drawn = args.fig_variants.split(",") if args.fig_variants else ("plain", "rai", best["variant"] if best else "rai")
    shown = {k: fig_models[k] for k in drawn if k in fig_models}
    if shown:
        figure(shown, x, y, fig_path, 0)


if __name__ == "__main__":
    main()
