"""Balanced runs under compile (--balance with --compile on): the weights are an input of the compiled
step, so its loss and gradient equal the eager step's before and after a rebalance, with no second graph
compiled, whole and in chunks of points."""

from __future__ import annotations

import math

import pytest
import torch

import pinnlab as pl
from pinnlab.registry import get_problem
from pinnlab.solvers.base import EagerStep
from pinnlab.solvers.registry import get_solver
from pinnlab.solvers.steps import ChunkedStep, CompiledStep

SMALL = dict(width=8, depth=2, points=64, boundary_points=8, seed=3, dtype="float64", steps=10, lbfgs_steps=0,
             balance="gradnorm", compile="on")


def _task(**options):
    p = get_problem("poisson1d")
    cfg = pl.SolveConfig(**{**SMALL, **options}).resolved(p.recipe)
    torch.manual_seed(0)
    return get_solver("pinn").make_task(p, cfg)


def _loss_and_grads(task, mode) -> tuple[dict[str, float], list[torch.Tensor]]:
    for p in task.parameters():
        p.grad = None
    terms = mode.loss_and_grads(lambda t: sum(t.values()))
    return {k: float(v.detach()) for k, v in terms.items()}, [p.grad.clone() for p in task.parameters()]


def _same(task, mode) -> None:
    (ct, cg), (et, eg) = _loss_and_grads(task, mode), _loss_and_grads(task, EagerStep(task))
    assert ct.keys() == et.keys()
    for k in et:
        assert ct[k] == pytest.approx(et[k], rel=1e-10, abs=0), k
    for a, b in zip(cg, eg):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


# compiling takes 20-45 s on the loaded 2-core machine: the chunked case and the whole run are marked slow
@pytest.mark.parametrize("chunked", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["whole", "chunks"])
def test_the_compiled_balanced_loss_is_the_eager_one_after_every_rebalance(chunked):
    task = _task()
    assert task.compile and task.balanced == ["residual", "dirichlet"]
    if chunked:
        task.chunk = 16  # 64 points in four chunks
    mode = task.step_mode("lbfgs")
    assert isinstance(mode, ChunkedStep if chunked else CompiledStep)
    graphs = mode.share if chunked else mode.fn
    seen = []
    for lam in ([1.0, 1.0], [0.3, 7.0], [25.0, 0.01]):  # what rebalance writes, in place, between steps
        task.model.balance_weights.copy_(torch.tensor(lam, dtype=torch.float64))
        _same(task, mode)
        seen.append(_loss_and_grads(task, mode)[0]["dirichlet"])
        assert len(graphs._graphs) == 1 and not graphs.via_dynamo and mode.active  # no recompile, no fallback
    assert seen[1] != pytest.approx(seen[0], rel=1e-3)  # the weights did reach the compiled loss


@pytest.mark.slow
def test_a_compiled_balanced_run_rebalances_and_matches_the_eager_run(tmp_path):
    cfg = dict(width=8, depth=2, points=64, boundary_points=8, seed=3, dtype="float64", steps=30, lbfgs_steps=0,
               balance="gradnorm", balance_every=10, eval_every=10)
    runs = {c: pl.solve("poisson1d", pl.SolveConfig(**cfg, compile=c), out=tmp_path / c) for c in ("on", "off")}
    on, off = runs["on"].report, runs["off"].report
    assert on["compiled"] and not off["compiled"]
    assert max(abs(v - 1.0) for v in on["balance_weights"].values()) > 0.1  # the weights moved
    for k, v in off["balance_weights"].items():
        assert on["balance_weights"][k] == pytest.approx(v, rel=1e-8), k
    assert math.isclose(on["rel_l2"], off["rel_l2"], rel_tol=1e-6)
