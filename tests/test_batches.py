"""Mini-batched training (--batch-size): batches regenerated per step from seeded streams, every point
once per epoch, bit-identical resume, whole-set figures computed a block at a time, and one-line
refusals of what a batched run cannot do; L-BFGS on the full set a block at a time."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import run_cli_inprocess
from test_resume import _interrupt_at, _params

import pinnlab as pl
from pinnlab.registry import get_problem
from pinnlab.runner import prepare
from pinnlab.solvers.base import Points
from pinnlab.solvers.batches import BatchStream, StreamedStep
from pinnlab.solvers.pinn import make_task

CFG = dict(width=8, depth=2, steps=30, lbfgs_steps=0, points=200, batch_size=64, boundary_points=8, seed=3,
           dtype="float64", eval_every=10, checkpoint_every=10, compile="off")


def test_an_epoch_visits_every_point_once_in_a_fresh_order_and_batches_depend_on_the_step_alone():
    dom = get_problem("heat1d").domain
    stream = BatchStream(dom, 200, 64, "sobol", seed=5)
    assert stream.blocks == 4 and stream.n == 256  # rounded up to whole batches
    epochs = [[stream.batch(s) for s in range(e * 4, e * 4 + 4)] for e in range(3)]
    for batches in epochs:
        ids = np.concatenate([i for _, i in batches])
        assert np.array_equal(np.sort(ids), np.arange(256))
        for x, _ in batches:
            assert x.shape == (64, 2) and (x >= dom.lo).all() and (x <= dom.hi).all()
    first = lambda batches: [int(i[0]) for _, i in batches]
    assert len({tuple(first(b)) for b in epochs}) > 1  # reshuffled between epochs
    again = BatchStream(dom, 200, 64, "sobol", seed=5)  # a fresh stream (a resumed run) draws the same batch
    x9, i9 = again.batch(9)
    assert np.array_equal(x9, epochs[2][1][0]) and np.array_equal(i9, epochs[2][1][1])
    # the same row is the same point whenever it comes round
    x0, i0 = stream.batch(0)
    later = {int(i[0]): x for x, i in epochs[1]}
    assert np.array_equal(later[int(i0[0])], x0)


def test_a_batched_run_trains_and_its_train_residual_covers_the_whole_set(tmp_path):
    r = pl.solve("heat1d", pl.SolveConfig(**CFG), out=tmp_path / "run")
    assert r.report["status"] == "completed"
    # independent reference: the residual u_t - alpha u_xx by nested autograd at every point of all blocks
    stream = BatchStream(r.problem.domain, 200, 64, "sobol", seed=3)
    x = torch.tensor(np.concatenate([stream.block(j)[0] for j in range(stream.blocks)]), requires_grad=True)
    u = r.net(x)
    du = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
    u_xx = torch.autograd.grad(du[:, 0].sum(), x)[0][:, 0]
    alpha = r.problem.params["alpha"]
    rms = float(((du[:, 1] - alpha * u_xx) ** 2).mean().sqrt().detach())
    assert r.report["train_residual"] == pytest.approx(rms, rel=1e-9)


def test_a_batched_run_interrupted_resumes_bit_identically(tmp_path):
    cfg = pl.SolveConfig(**CFG)
    full = pl.solve("heat1d", cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve("heat1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(13))
    assert json.loads((tmp_path / "cut" / "report.json").read_text())["adam_steps"] < 30
    resumed = pl.resume(tmp_path / "cut")
    for a, b in zip(_params(full), _params(resumed)):
        assert torch.equal(a, b)
    assert [h.get("loss") for h in resumed.history] == [h.get("loss") for h in full.history]


@pytest.mark.parametrize("extra,needle", [
    (["--lbfgs-steps", "0", "--resample-every", "3"], "leave out --resample-every"),
    (["--lbfgs-steps", "0", "--batch-size", "-4"], "batch-size must be a non-negative integer"),
])
def test_what_a_batched_run_cannot_do_is_one_line_and_exit_2(extra, needle, tmp_path):
    args = ["solve", "heat1d", "--batch-size", "16", "--steps", "2", "--points", "32", "--no-plot", "--quiet",
            "--out", str(tmp_path / "run"), *extra]
    rc, out, err = run_cli_inprocess(args)
    assert rc == 2 and needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()


def test_lbfgs_in_a_batched_run_sees_the_full_set_loss_and_gradient_a_block_at_a_time():
    problem, cfg = prepare(get_problem("heat1d"), pl.SolveConfig(**{**CFG, "lbfgs_steps": 5}))
    torch.manual_seed(0)
    task = make_task(problem, cfg)
    mode = task.step_mode("lbfgs")
    assert isinstance(mode, StreamedStep)
    terms = mode.loss_and_grads(lambda t: sum(t.values()))
    streamed = [p.grad.clone() for p in task.parameters()]
    # reference: the loss over all 256 points at once, differentiated by one backward pass
    stream = task.points.stream
    x = torch.tensor(np.concatenate([stream.block(j)[0] for j in range(stream.blocks)]))
    whole = task._weighted_terms(Points(x, torch.arange(len(x))), *task.points.conditions)
    grads = torch.autograd.grad(sum(whole.values()), task.parameters())
    for k in whole:
        assert float(terms[k]) == pytest.approx(float(whole[k].detach()), rel=1e-12), k
    for a, b in zip(streamed, grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def test_a_batched_run_goes_on_with_lbfgs(tmp_path):
    r = pl.solve("heat1d", pl.SolveConfig(**{**CFG, "steps": 10, "lbfgs_steps": 4}), out=tmp_path / "run")
    assert r.report["status"] == "completed" and r.report["lbfgs_iterations"] > 0
