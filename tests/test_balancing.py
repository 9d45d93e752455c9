"""Loss balancing (--balance gradnorm|ntk, pinnlab/solvers/balancing.py): the weights by hand, a run's
first update against per-term gradients taken here with torch.autograd on the plain loss, NTK traces
against central finite differences in the parameters,
the weights multiplying the terms, bit-identical resume, and bad values refused in one line."""

from __future__ import annotations

import json
import math

import pytest
import torch
from test_resume import _interrupt_at

import pinnlab as pl
from pinnlab.errors import ConfigError
from pinnlab.registry import get_problem
from pinnlab.solvers import balancing
from pinnlab.solvers.registry import get_solver

SMALL = dict(width=8, depth=2, points=64, boundary_points=8, seed=3, dtype="float64", eval_every=10)


def test_gradnorm_weights_by_hand():
    lam = balancing.gradnorm_weights(torch.tensor([1.0, 3.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(lam, torch.tensor([4.0, 4.0 / 3.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(balancing.moving_average(torch.tensor(1.0), torch.tensor(11.0)), torch.tensor(2.0))


def _term_norms(problem: str, cfg: pl.SolveConfig) -> dict[str, float]:
    """Each unweighted term's gradient norm at initialisation, by torch.autograd on an unbalanced task."""
    p = get_problem(problem)
    torch.manual_seed(cfg.seed)  # as a run seeds before it builds its network
    task = get_solver("pinn").make_task(p, cfg.resolved(p.recipe))
    terms = task.loss_terms()
    params = task.parameters()
    out = {}
    for name, t in terms.items():
        g = torch.autograd.grad(t / task.weights[name], params, retain_graph=True, allow_unused=True)
        out[name] = math.sqrt(sum(float((x ** 2).sum()) for x in g if x is not None))
    return out


def test_a_runs_first_update_is_the_moving_average_of_the_norm_ratios(tmp_path):
    # one Adam step: the weights are updated once, at step 0, from the initial network and points
    base = dict(SMALL, steps=1, lbfgs_steps=0, weights={"dirichlet": 3.0})
    norms = _term_norms("poisson1d", pl.SolveConfig(**base))
    r = pl.solve("poisson1d", pl.SolveConfig(**base, balance="gradnorm", balance_every=5), out=tmp_path / "r")
    total = sum(norms.values())
    want = {k: 0.9 + 0.1 * total / n for k, n in norms.items()}
    assert r.report["balance_weights"].keys() == want.keys()
    for k in want:
        assert r.report["balance_weights"][k] == pytest.approx(want[k], rel=1e-9), k
    assert want["dirichlet"] > want["residual"] + 0.3  # the smaller gradient gets the larger weight


def test_the_weights_multiply_the_terms():
    p = get_problem("heat1d")
    cfg = pl.SolveConfig(**SMALL, steps=1, lbfgs_steps=0, compile="on", balance="gradnorm").resolved(p.recipe)
    task = get_solver("pinn").make_task(p, cfg)
    assert task.compile  # the weights are the compiled step's input (tests/test_compiled_balancing.py)
    before = {k: float(v.detach()) for k, v in task.loss_terms().items()}
    lam = torch.arange(2.0, 2.0 + len(task.balanced), dtype=torch.float64)
    task.model.balance_weights.copy_(lam)
    after = {k: float(v.detach()) for k, v in task.loss_terms().items()}
    for i, name in enumerate(task.balanced):
        assert after[name] == pytest.approx(float(lam[i]) * before[name], rel=1e-12), name
    assert "balance_weights" in task.state_dict()["model"]


def test_a_balanced_run_resumes_bit_identically(tmp_path):
    cfg = pl.SolveConfig(**SMALL, steps=40, lbfgs_steps=5, checkpoint_every=10, resample_every=15,
                         balance="gradnorm", balance_every=7)
    full = pl.solve("poisson1d", cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve("poisson1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(25))
    assert json.loads((tmp_path / "cut" / "report.json").read_text())["status"] == "interrupted"
    resumed = pl.resume(tmp_path / "cut")
    for key in ("rel_l2", "final_loss", "adam_steps", "lbfgs_iterations", "balance_weights"):
        assert resumed.report[key] == full.report[key], key
    assert full.report["balance_weights"]["residual"] != 1.0


def test_bad_balance_values(tmp_path, run_cli):
    rc, _, err = run_cli(["solve", "poisson1d", "--balance", "soft", "--out", str(tmp_path / "r")])
    assert rc == 2 and "unknown balance mode 'soft' (allowed: none, gradnorm, ntk)" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="has 1 term"):
        pl.solve("burgers", pl.SolveConfig(**SMALL, steps=1, lbfgs_steps=0, hard=True, balance="gradnorm"),
                 out=tmp_path / "h")
    assert not (tmp_path / "h").exists()


def test_ntk_traces_match_finite_differences_in_the_parameters():
    # allen-cahn: a residual, an initial condition and a periodic one (pairs of points: computed whole)
    p = get_problem("allen-cahn")
    cfg = pl.SolveConfig(**{**SMALL, "width": 5, "points": 40, "boundary_points": 10}, steps=1, lbfgs_steps=0,
                         balance="ntk", hard=False, periodic="").resolved(p.recipe)  # the soft problem
    torch.manual_seed(0)
    task = get_solver("pinn").make_task(p, cfg)
    traces = task.ntk_traces()

    def residual_vectors() -> list[torch.Tensor]:
        with torch.no_grad():
            parts = task.batch_fields(list(task.points.training), [task.req_res, *task.req_cond])
        outs = [p.residual_terms(parts[0], task.params)]
        outs += [p.conditions[i].residuals(f, task.params) for i, f in zip(task.active, parts[1:])]
        return [torch.cat([t.detach().reshape(-1) for t in r]) for r in outs]
    h, sq = 1e-6, None
    for param in task.parameters():
        flat = param.data.view(-1)
        for j in range(flat.numel()):
            old = float(flat[j])
            flat[j] = old + h
            up = residual_vectors()
            flat[j] = old - h
            down = residual_vectors()
            flat[j] = old
            d = [((a - b) / (2 * h)) ** 2 for a, b in zip(up, down)]
            sq = d if sq is None else [s + x for s, x in zip(sq, d)]
    for i, (t, s) in enumerate(zip(traces, sq)):
        pick = torch.linspace(0, s.numel() - 1, min(balancing.NTK_POINTS, s.numel())).round().long().unique()
        assert t == pytest.approx(float(s[pick].mean()), rel=1e-6), task.balanced[i]
    assert len(traces) == 3 and min(traces) > 0


def test_an_ntk_balanced_run_updates_its_weights_and_resumes_bit_identically(tmp_path):
    cfg = pl.SolveConfig(**SMALL, steps=30, lbfgs_steps=3, checkpoint_every=10, balance="ntk", balance_every=8)
    full = pl.solve("poisson1d", cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve("poisson1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(20))
    resumed = pl.resume(tmp_path / "cut")
    for key in ("rel_l2", "final_loss", "balance_weights"):
        assert resumed.report[key] == full.report[key], key
    assert max(abs(v - 1.0) for v in full.report["balance_weights"].values()) > 0.1  # the weights moved
