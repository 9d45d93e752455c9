"""Adam's learning-rate schedule (--warmup, --lr-decay): the factor by hand, the rate each step of a
run against the formula, and a scheduled run that resumes bit-identically."""

from __future__ import annotations

import pytest
import torch
from test_resume import _interrupt_at

import pinnlab as pl
from pinnlab.registry import get_problem
from pinnlab.solvers.registry import get_solver
from pinnlab.solvers.schedules import lr_factor
from pinnlab.solvers.training import Schedule, Trainer


def test_lr_factor_by_hand():
    assert lr_factor(0, warmup=10) == pytest.approx(0.1)
    assert lr_factor(9, warmup=10) == pytest.approx(1.0)
    assert lr_factor(10, warmup=10, decay=0.5) == 1.0
    assert lr_factor(1010, warmup=10, decay=0.5) == pytest.approx(0.5)
    assert lr_factor(510, warmup=10, decay=0.5) == pytest.approx(0.5 ** 0.5)
    assert lr_factor(123, decay=1.0) == 1.0


def test_each_adam_step_uses_the_scheduled_rate():
    problem = get_problem("poisson1d")
    cfg = pl.SolveConfig(width=6, depth=1, steps=30, lbfgs_steps=0, lr=0.01, warmup=5, lr_decay=0.5, points=32,
                         boundary_points=2, compile="off").resolved(problem.recipe)
    task = get_solver("pinn").make_task(problem, cfg)
    rates = []
    trainer = Trainer(task, Schedule.from_config(cfg), lambda state: None,
                      grad_hook=lambda params: rates.append(float(trainer.optimizer.param_groups[0]["lr"])))
    trainer.run()
    want = [0.01 * min((k + 1) / 5, 1.0) * (0.5 ** ((k - 5) / 1000) if k >= 5 else 1.0) for k in range(30)]
    assert rates == pytest.approx(want, rel=1e-6)


def test_a_scheduled_run_resumes_bit_identically(tmp_path):
    cfg = pl.SolveConfig(width=8, depth=2, steps=40, lbfgs_steps=5, points=64, boundary_points=8, seed=5,
                         dtype="float64", warmup=10, lr_decay=0.1, eval_every=10, checkpoint_every=10, compile="off")
    full = pl.solve("poisson1d", cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve("poisson1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(25))
    resumed = pl.resume(tmp_path / "cut")
    for key in ("rel_l2", "final_loss", "adam_steps", "lbfgs_iterations"):
        assert resumed.report[key] == full.report[key], key
    for a, b in zip(full.net.state_dict().values(), resumed.net.state_dict().values()):
        assert torch.equal(a, b)
