"""Causal weighting and RAD resampling (pinnlab/solvers/techniques.py): the weights and probabilities by
hand on toys, the PINN residual term against its own residuals binned by hand, RAD's draws against
their expected share, and a RAD run that resumes bit-identically."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from test_resume import _interrupt_at

import pinnlab as pl
from pinnlab.errors import ConfigError
from pinnlab.registry import get_problem
from pinnlab.solvers import techniques as tq
from pinnlab.solvers.registry import get_solver


def test_causal_weights_by_hand():
    w = tq.causal_weights(torch.tensor([1.0, 2.0, 3.0, 0.5]), eps=0.5)
    want = [1.0, math.exp(-0.5), math.exp(-0.5 * 3), math.exp(-0.5 * 6)]
    torch.testing.assert_close(w, torch.tensor(want))


def test_bin_losses_and_causal_loss_on_a_toy():
    t = torch.tensor([0.05, 0.2, 0.3, 0.55, 0.6, 0.99, 1.0], dtype=torch.float64)
    r2 = torch.tensor([1.0, 3.0, 2.0, 4.0, 6.0, 0.5, 1.5], dtype=torch.float64)
    losses = tq.bin_losses(r2, t, (0.0, 1.0), bins=4)  # bins [0,.25) [.25,.5) [.5,.75) [.75,1]
    torch.testing.assert_close(losses, torch.tensor([2.0, 2.0, 5.0, 1.0], dtype=torch.float64))
    loss = tq.causal_loss(r2, t, (0.0, 1.0), eps=0.1, bins=4)
    w = [1.0, math.exp(-0.2), math.exp(-0.4), math.exp(-0.9)]
    assert float(loss) == pytest.approx(sum(a * b for a, b in zip(w, [2.0, 2.0, 5.0, 1.0])) / 4, rel=1e-12)
    assert float(tq.bin_losses(r2, t, (0.0, 1.0), bins=8)[3]) == 0.0  # an empty bin counts zero


def test_no_gradient_flows_through_the_causal_weights():
    t = torch.tensor([0.1, 0.6], dtype=torch.float64)
    a = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    r2 = torch.stack([a * a, 3 * a])  # L0 = a², L1 = 3a
    tq.causal_loss(r2, t, (0.0, 1.0), eps=1.0, bins=2).backward()
    w1 = math.exp(-4.0)
    assert float(a.grad) == pytest.approx((2 * 2.0 + w1 * 3) / 2, rel=1e-12)  # weights held constant


def test_the_pinn_residual_term_is_causally_weighted_over_its_own_residuals():
    problem = get_problem("burgers")
    cfg = pl.SolveConfig(width=8, depth=2, points=300, boundary_points=20, steps=1, lbfgs_steps=0, dtype="float64",
                         causal=2.0, compile="off").resolved(problem.recipe)
    task = get_solver("pinn").make_task(problem, cfg)
    res = task.points.residual
    r = problem.residual_terms(task.fields(res.x, task.req_res, create_graph=False))[0].detach().reshape(-1)
    t = res.x[:, 1].numpy()
    bins = np.minimum((t * tq.CAUSAL_BINS).astype(int), tq.CAUSAL_BINS - 1)
    r2 = (r * r).numpy()
    means = np.array([r2[bins == i].mean() if (bins == i).any() else 0.0 for i in range(tq.CAUSAL_BINS)])
    w = np.exp(-2.0 * (np.cumsum(means) - means))
    assert float(task.loss_terms()["residual"].detach()) == pytest.approx(float((w * means).mean()), rel=1e-10)


def test_causal_weighting_needs_time_and_rad_a_non_negative_exponent(tmp_path):
    with pytest.raises(ConfigError, match="causal weighting needs a time coordinate 't'; problem 'poisson1d'"):
        pl.solve("poisson1d", pl.SolveConfig(causal=1.0, steps=1, lbfgs_steps=0), out=tmp_path / "a")
    with pytest.raises(ConfigError, match="rad must be a non-negative number"):
        pl.solve("poisson1d", pl.SolveConfig(rad=-1.0, steps=1, lbfgs_steps=0), out=tmp_path / "b")
    with pytest.raises(ConfigError, match="rad 1 acts where points are redrawn: give --resample-every N"):
        pl.solve("poisson1d", pl.SolveConfig(rad=1.0, steps=1, lbfgs_steps=0), out=tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_rad_probabilities_by_hand():
    p = tq.rad_probabilities(np.array([0.0, 1.0, 3.0]), k=2.0, c=1.0)
    e = np.array([0.0, 1.0, 9.0])
    d = e / e.mean() + 1
    np.testing.assert_allclose(p, d / d.sum(), rtol=1e-14)
    np.testing.assert_allclose(tq.rad_probabilities(np.array([0.0, 0.0]), k=1.0), [0.5, 0.5])


def test_rad_draws_follow_their_density():
    # half the pool at residual 0 (density 1), half at residual 2 (density 2/1 + 1 = 3): a share of 3/4
    r = np.repeat([0.0, 2.0], 20000)
    rng = np.random.default_rng(0)
    chosen = tq.rad_choose(r, 400, k=1.0, rng=rng)
    assert len(set(chosen.tolist())) == 400
    share = float((r[chosen] > 0).mean())
    assert 0.70 < share < 0.80  # 3/4 within five binomial standard deviations (0.022)


def test_rad_resampling_gathers_points_where_the_residual_is_large():
    # a source spike at x = 0: an untrained network's residual is large there and nowhere else
    problem = pl.Problem(name="spike", domain=pl.Box(x=(-1.0, 1.0)), fields=("u",),
                         residual=lambda f, p: -f.u.xx - 100 * torch.exp(-(f.x / 0.05) ** 2),
                         conditions=[pl.Dirichlet(u=0.0, on="x")], exact=lambda x, p: 0 * x, grid=65,
                         recipe=pl.Recipe(width=8, depth=2, points=400, boundary_points=2))
    cfg = pl.SolveConfig(steps=1, lbfgs_steps=0, dtype="float64", rad=1.0, compile="off").resolved(problem.recipe)
    task = get_solver("pinn").make_task(problem, cfg)
    near = lambda: float((task.points.residual.x.abs() < 0.1).double().mean())
    before = near()
    task.resample(1)
    assert task.points.residual.x.shape == (400, 1) and torch.equal(task.points.residual.ids, torch.arange(400))
    assert before < 0.15 and near() > 3 * before


def test_a_run_with_rad_and_causal_weights_resumes_bit_identically(tmp_path):
    cfg = pl.SolveConfig(width=8, depth=2, steps=40, lbfgs_steps=10, points=64, boundary_points=8, seed=3,
                         dtype="float64", resample_every=7, eval_every=10, checkpoint_every=10, rad=1.0, causal=1.0,
                         compile="off")
    full = pl.solve("heat1d", cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve("heat1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(25))
    assert json.loads((tmp_path / "cut" / "report.json").read_text())["status"] == "interrupted"
    resumed = pl.resume(tmp_path / "cut")
    for key in ("rel_l2", "final_loss", "adam_steps", "lbfgs_iterations"):
        assert resumed.report[key] == full.report[key], key


def test_rba_weights_follow_their_update_rule_during_adam_and_stay_fixed_after():
    problem = get_problem("poisson1d")
    cfg = pl.SolveConfig(width=8, depth=2, points=50, boundary_points=2, steps=1, lbfgs_steps=0, dtype="float64",
                         rba=0.01).resolved(problem.recipe)
    task = get_solver("pinn").make_task(problem, cfg)
    assert not task.compile  # the weights are written at each evaluation: eager
    res = task.points.residual
    r = problem.residual_terms(task.fields(res.x, task.req_res, create_graph=False))[0].detach().reshape(-1).numpy()
    task.step_mode("adam")
    lam = np.zeros(50)
    for _ in range(3):  # the parameters do not move: the same residuals each time
        loss = float(task.loss_terms()["residual"].detach())
        lam = 0.999 * lam + 0.01 * np.abs(r) / np.abs(r).max()
        assert loss == pytest.approx(float(np.mean((lam * r) ** 2)), rel=1e-10)
    np.testing.assert_allclose(task.model.rba_weights.numpy(), lam, rtol=1e-12)
    task.step_mode("lbfgs")  # a quasi-Newton stage needs one fixed loss
    task.loss_terms()
    np.testing.assert_allclose(task.model.rba_weights.numpy(), lam, rtol=1e-12)
    assert "rba_weights" in task.state_dict()["model"]  # checkpointed with the model


def test_a_run_with_rba_resumes_bit_identically(tmp_path):
    cfg = pl.SolveConfig(width=8, depth=2, steps=40, lbfgs_steps=5, points=64, boundary_points=8, seed=4,
                         dtype="float64", eval_every=10, checkpoint_every=10, rba=0.01)
    full = pl.solve("poisson1d", cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve("poisson1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(25))
    resumed = pl.resume(tmp_path / "cut")
    for key in ("rel_l2", "final_loss", "adam_steps", "lbfgs_iterations"):
        assert resumed.report[key] == full.report[key], key
