"""Causal weights in a quasi-Newton stage (--causal with --optimizer ...): held fixed from the stage's start,
so the loss the line search evaluates and the gradient it is given agree (central finite differences);
during Adam they follow the network and carry no gradient, so there they do not."""

from __future__ import annotations

import torch

import pinnlab as pl
from pinnlab.registry import get_problem
from pinnlab.solvers.registry import get_solver


def _task():
    p = get_problem("allen-cahn")
    cfg = pl.SolveConfig(width=8, depth=2, points=128, seed=1, dtype="float64", causal=0.02, steps=1,
                         lbfgs_steps=1, compile="off").resolved(p.recipe)
    torch.manual_seed(1)
    task = get_solver("pinn").make_task(p, cfg)
    w = task._causal_weights_now()
    assert 0.05 < float(w[-1]) < 0.9  # weights that vary with the parameters and do not vanish
    return task


def _loss(task) -> torch.Tensor:
    return sum(task._weighted_terms(*task.points.training).values())


def _slopes(task) -> tuple[float, float]:
    """The loss's gradient along a fixed direction, from autograd and from central differences."""
    params = [q for q in task.model.parameters() if q.requires_grad]
    g = torch.Generator().manual_seed(0)
    v = [torch.randn(q.shape, generator=g, dtype=q.dtype) for q in params]
    grads = torch.autograd.grad(_loss(task), params)
    analytic = float(sum((a * b).sum() for a, b in zip(grads, v)))
    h, f = 1e-5, []
    with torch.no_grad():
        for sign in (1, -1):
            for q, d in zip(params, v):
                q.add_(sign * h * d)
            f.append(float(_loss(task)))
            for q, d in zip(params, v):
                q.sub_(sign * h * d)
    return analytic, (f[0] - f[1]) / (2 * h)


def test_quasi_newton_loss_and_gradient_agree_with_causal_weights():
    task = _task()
    task.step_mode("lbfgs")
    analytic, numeric = _slopes(task)
    assert abs(analytic - numeric) <= 1e-6 * abs(numeric)


def test_during_adam_the_live_weights_have_no_gradient():
    task = _task()
    task.step_mode("adam")  # the weights follow θ: the loss's slope is not its autograd gradient
    analytic, numeric = _slopes(task)
    assert abs(analytic - numeric) > 1e-3 * abs(numeric)
