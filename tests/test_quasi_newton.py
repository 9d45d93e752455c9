"""Dense quasi-Newton stage (--optimizer bfgs | ssbroyden): the minimiser against scipy's own BFGS and
exact minima, the updates against their defining properties, and the stage inside a PINN run (the
grad hook sees every gradient, the whole model is optimised, resume, restarts, a stated stop)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.optimize
import torch
from test_resume import _interrupt_at

import pinnlab as pl
from pinnlab.errors import ConfigError
from pinnlab.registry import get_problem
from pinnlab.solvers.quasi_newton import InverseHessian, QuasiNewton, minimize
from pinnlab.solvers.registry import get_solver
from pinnlab.solvers.training import Schedule, Trainer

METHODS = ("bfgs", "ssbroyden")


def _quadratic(n: int, cond: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    a = q @ np.diag(np.logspace(0, np.log10(cond), n)) @ q.T
    b = rng.normal(size=n)
    return a, b, lambda x: (0.5 * x @ a @ x - b @ x, a @ x - b)


@pytest.mark.parametrize("method", METHODS)
def test_quadratic_reaches_the_exact_minimiser_as_scipys_bfgs_does(method):
    a, b, fun = _quadratic(20, 1e3)
    exact = np.linalg.solve(a, b)
    x, f, iters, why = minimize(fun, np.zeros(20), method, 500)
    ref = scipy.optimize.minimize(lambda z: fun(z)[0], np.zeros(20), jac=lambda z: fun(z)[1], method="BFGS",
                                  options={"gtol": 1e-10})
    assert np.abs(x - exact).max() < 1e-6 * np.abs(exact).max(), why
    assert f <= ref.fun + 1e-12 * abs(ref.fun)
    assert iters < 100


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [2, 5])
def test_rosenbrock_converges_to_its_minimum(method, n):
    x0 = np.where(np.arange(n) % 2 == 0, -1.2, 1.0)
    fun = lambda z: (scipy.optimize.rosen(z), scipy.optimize.rosen_der(z))
    x, f, iters, why = minimize(fun, x0, method, 2000)
    ref = scipy.optimize.minimize(scipy.optimize.rosen, x0, jac=scipy.optimize.rosen_der, method="BFGS",
                                  options={"gtol": 1e-10})
    assert np.abs(ref.x - 1).max() < 1e-6  # the reference itself gets there
    assert np.abs(x - 1).max() < 1e-6, why
    assert f < 1e-18 and iters < 200


@pytest.mark.parametrize("method", METHODS)
def test_a_start_far_off_scipys_first_step_still_converges(method):
    # exp(c |x|²) from |x| = 1e-4: scipy's first step (unit length) lands where the loss overflows and its
    # bracketing gives up (found on burgers after a restart on new points); smaller first steps reach 0
    c = 1e4

    def fun(x):
        e = math.exp(c * float(x @ x)) if c * float(x @ x) < 700 else math.inf
        return e, 2 * c * x * e
    x, f, _, why = minimize(fun, np.full(3, 1e-4), method, 100)
    assert np.abs(x).max() < 1e-12 and f == pytest.approx(1.0, abs=1e-15), why


def test_a_stop_is_stated():
    _, _, fun = _quadratic(4, 10.0)
    _, _, _, why = minimize(fun, np.ones(4), "bfgs", 3)
    assert why == "reached the iteration limit (3)"
    _, _, _, why = minimize(lambda z: (float(z @ z), 2 * z), np.ones(3), "ssbroyden", 100)
    assert "gradient below tolerance" in why or "line search" in why


@pytest.mark.parametrize("method", METHODS)
def test_an_update_keeps_the_secant_equation_symmetry_and_positive_definiteness(method):
    rng = np.random.default_rng(3)
    n = 12
    m = rng.normal(size=(n, n))
    h = InverseHessian(n, method)
    h.H = torch.tensor(m @ m.T + n * np.eye(n))
    h.fresh = False
    a, _, _ = _quadratic(n, 100.0, seed=4)
    curvature = torch.tensor(a)  # pairs a function could give: y = A s, A positive definite
    for _ in range(5):
        g = torch.tensor(rng.normal(size=n))
        p = h.direction(g)
        alpha = 0.7
        s = alpha * p
        y = curvature @ s
        before = h.H.clone()
        assert h.update(s, y, g, alpha)
        torch.testing.assert_close(h.H @ y, s, rtol=1e-9, atol=1e-9 * float(s.abs().max()))
        torch.testing.assert_close(h.H, h.H.T, rtol=0, atol=1e-11 * float(h.H.abs().max()))
        assert torch.linalg.eigvalsh(h.H).min() > 0
        if method == "bfgs":  # the textbook product form (Nocedal & Wright eq. 6.17)
            rho = 1 / float(y @ s)
            eye = torch.eye(n, dtype=torch.float64)
            want = (eye - rho * torch.outer(s, y)) @ before @ (eye - rho * torch.outer(y, s)) + rho * torch.outer(s, s)
            torch.testing.assert_close(h.H, want, rtol=1e-10, atol=1e-10)
    assert not h.update(torch.ones(n, dtype=torch.float64), -torch.ones(n, dtype=torch.float64),
                        torch.ones(n, dtype=torch.float64), 1.0)  # yᵀs < 0: refused


TINY = dict(width=12, depth=2, steps=300, lbfgs_steps=60, lr=3e-3, points=128, boundary_points=8, seed=2,
            eval_every=50, compile="off")


def _run(tmp_path, name, **kw):
    return pl.solve("poisson1d", pl.SolveConfig(**{**TINY, **kw}), out=tmp_path / name)


def test_on_a_tiny_pinn_bfgs_and_ssbroyden_end_below_lbfgs_at_equal_iterations(tmp_path):
    # measured (seed 2): loss 2.5e-4 after L-BFGS, 1.9e-5 after BFGS, 6.4e-6 after SSBroyden
    loss = {o: _run(tmp_path, o, optimizer=o).report for o in ("lbfgs", "bfgs", "ssbroyden")}
    for o in METHODS:
        assert loss[o]["lbfgs_iterations"] == 60
        assert loss[o]["second_stage"] == {"bfgs": "BFGS", "ssbroyden": "SSBroyden"}[o]
        assert loss[o]["final_loss"] < loss["lbfgs"]["final_loss"], (o, loss[o]["final_loss"],
                                                                     loss["lbfgs"]["final_loss"])


def _task_and_trainer(hook):
    torch.manual_seed(0)
    problem = get_problem("poisson1d")
    config = pl.SolveConfig(**{**TINY, "optimizer": "ssbroyden", "steps": 0, "lbfgs_steps": 15}).resolved(
        problem.recipe)
    task = get_solver("pinn").make_task(problem, config)
    extra = task.model.add("extra", torch.zeros(3, dtype=task.dtype))  # a part outside the net
    return task, extra, Trainer(task, Schedule.from_config(config), lambda state: None, grad_hook=hook)


def test_every_gradient_of_the_stage_passes_the_grad_hook_and_the_whole_model_moves():
    seen = []
    task, extra, trainer = _task_and_trainer(lambda params: seen.append(len(params)))
    orig = task.loss_terms

    def with_extra():  # the extra part has a minimum at 1: only an optimiser over the whole model moves it
        return {**orig(), "extra": ((task.model.extra - 1) ** 2).sum()}
    task.loss_terms = with_extra
    before = float(sum(with_extra().values()))
    trainer.run()
    n_params = len(task.parameters())
    assert trainer.state.lbfgs_iters == 15
    assert len(seen) > 15 and set(seen) == {n_params}  # no Adam: at least one evaluation per iteration
    assert (extra.detach() != 0).all()  # from 0, moved by the stage alone
    assert float(sum(with_extra().values())) < 0.5 * before


def test_a_stage_interrupted_inside_resumes_from_its_checkpoint_with_a_fresh_hessian(tmp_path):
    cfg = pl.SolveConfig(**{**TINY, "optimizer": "ssbroyden"})
    full = pl.solve("poisson1d", cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve("poisson1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(TINY["steps"] + 25))
    cut = json.loads((tmp_path / "cut" / "report.json").read_text())
    assert cut["status"] == "interrupted" and 0 < cut["lbfgs_iterations"] < 60
    resumed = pl.resume(tmp_path / "cut")
    assert resumed.report["status"] == "completed" and resumed.report["lbfgs_iterations"] == 60
    assert resumed.report["adam_steps"] == full.report["adam_steps"]
    assert resumed.report["final_loss"] <= cut["best_loss"]
    # not bit-identical (the approximation restarts), but as good within an order of magnitude
    assert resumed.report["final_loss"] < 10 * full.report["final_loss"]


def test_restarts_draw_new_points_and_are_reported(tmp_path):
    r = _run(tmp_path, "restart", optimizer="bfgs", qn_restart=20)
    assert r.report["second_stage"] == "BFGS"
    assert r.report["lbfgs_stop_reason"] == "reached the iteration limit (60); 2 restarts on new points"
    assert r.report["rel_l2"] < 1e-2


def test_a_restart_keeping_the_hessian_takes_newton_steps_where_a_fresh_one_starts_over():
    # after BFGS converges on a quadratic its H is A^-1 (checked against numpy's inverse), so a restart far off
    # that keeps H lands on the exact minimiser within two steps; from the identity it does not
    a, b, fun = _quadratic(20, 1e3)
    exact = np.linalg.solve(a, b)
    qn = QuasiNewton(fun, np.zeros(20), "bfgs")
    while not qn.step().stop:
        pass
    h = qn.hess.H.clone()
    assert np.abs(h.numpy() @ a - np.eye(20)).max() < 0.1
    far = exact + np.random.default_rng(1).normal(size=20)
    errors = {}
    for keep in (True, False):
        qn.hess.H, qn.hess.fresh = h.clone(), False
        qn.restart(far, keep_hessian=keep)
        assert torch.equal(qn.hess.H, h if keep else torch.eye(20, dtype=torch.float64))
        qn.step()
        qn.step()
        errors[keep] = np.abs(qn.x - exact).max()
    assert errors[True] < 1e-3 * np.abs(far - exact).max() < errors[False]


def test_restarts_keeping_the_hessian_are_reported_and_end_as_well(tmp_path):
    fresh = _run(tmp_path, "fresh", optimizer="ssbroyden", qn_restart=20)
    kept = _run(tmp_path, "kept", optimizer="ssbroyden", qn_restart=20, qn_hessian="keep")
    assert kept.report["lbfgs_stop_reason"] == "reached the iteration limit (60); 2 restarts on new points"
    assert kept.report["rel_l2"] < 1e-2 and kept.report["rel_l2"] != fresh.report["rel_l2"]
    with pytest.raises(ConfigError, match="qn"):
        pl.SolveConfig(qn_hessian="warm").validate()


def test_a_network_too_large_for_a_dense_method_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="at most 20000 parameters; use --optimizer lbfgs"):
        _run(tmp_path, "big", optimizer="bfgs", width=200, depth=2)


def test_auto_is_ssbroyden_where_the_dense_matrix_fits_and_lbfgs_beyond(tmp_path):
    small = _run(tmp_path, "auto-small", optimizer="auto", steps=50, lbfgs_steps=20)
    assert small.report["second_stage"] == "SSBroyden"
    # 1 -> 200 -> 200 -> 1: 40 801 parameters, over the dense limit; auto runs (L-BFGS) where ssbroyden is refused
    big = _run(tmp_path, "auto-big", optimizer="auto", width=200, depth=2, steps=5, lbfgs_steps=3)
    assert big.report["second_stage"] == "L-BFGS" and big.report["lbfgs_iterations"] >= 1
    with pytest.raises(ConfigError, match="at most 20000 parameters"):
        _run(tmp_path, "big", optimizer="ssbroyden", width=200, depth=2, steps=5, lbfgs_steps=3)
