"""Adam's update inside the compiled step: the same steps as torch's Adam, nothing changed by a
non-finite loss, the best state right, and the plain path wherever it does not apply."""

import pytest
import torch

import pinnlab as pl
from pinnlab.registry import get_problem
from pinnlab.solvers.base import Points
from pinnlab.solvers.pinn import make_task
from pinnlab.solvers.steps import AdamInGraphStep, ChunkedStep
from pinnlab.solvers.training import Diverged, Schedule, Trainer, make_adam


def _stepper(task, optimizer):
    """A trainer's Adam step for ``task`` in its Adam-phase mode: ``step(n) -> (loss, terms)``."""
    trainer = Trainer(task, Schedule(steps=1, lbfgs_steps=0, lr=1e-2, lbfgs_dtype=torch.float64), lambda c: None)
    trainer.optimizer = optimizer
    mode = task.step_mode("adam")
    return lambda n: trainer.adam_step(mode, n), mode


def _task(compile_: str = "on", **cfg):
    problem = get_problem("burgers")
    config = pl.SolveConfig(**{"width": 8, "depth": 2, "steps": 5, "lbfgs_steps": 0, "points": 64,
                               "boundary_points": 16, "dtype": "float64", "compile": compile_, "seed": 3,
                               "hard": False, **cfg})  # soft: the condition terms too, as before the recipe went hard
    torch.manual_seed(3)
    return make_task(problem, config.resolved(problem.recipe))


@pytest.mark.slow
def test_steps_in_the_graph_equal_torch_adam(compile_device):
    fused_task, eager_task = _task("on", device=compile_device), _task("off", device=compile_device)
    for p, q in zip(fused_task.parameters(), eager_task.parameters()):
        assert torch.equal(p, q)
    fused_opt = make_adam(fused_task.parameters(), 1e-2)
    eager_opt = torch.optim.Adam(eager_task.parameters(), lr=1e-2, foreach=False)  # the reference loop
    fused_step, _ = _stepper(fused_task, fused_opt)
    eager_step, _ = _stepper(eager_task, eager_opt)
    for step in range(6):
        loss_f, terms_f = fused_step(step)
        loss_e, terms_e = eager_step(step)
        assert loss_f == pytest.approx(loss_e, rel=1e-10)
        assert list(terms_f) == list(terms_e)
    assert fused_task.final_report()["adam_in_graph"] and not eager_task.final_report()["adam_in_graph"]
    for p, q in zip(fused_task.parameters(), eager_task.parameters()):
        assert p.device.type == compile_device
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-13)
        sf, se = fused_opt.state[p], eager_opt.state[q]
        assert float(sf["step"]) == float(se["step"]) == 6
        torch.testing.assert_close(sf["exp_avg"], se["exp_avg"], rtol=1e-10, atol=1e-13)
        torch.testing.assert_close(sf["exp_avg_sq"], se["exp_avg_sq"], rtol=1e-10, atol=1e-16)
    # the optimizer's own step carries on from the state the graph wrote
    fused_opt.zero_grad()
    sum(fused_task.loss_terms().values()).backward()
    fused_opt.step()
    assert float(fused_opt.state[fused_task.parameters()[0]]["step"]) == 7


@pytest.mark.slow
def test_a_non_finite_loss_changes_nothing_and_stops():
    task = _task("on")
    opt = make_adam(task.parameters(), 1e-2)
    step, mode = _stepper(task, opt)
    step(1)
    params = [p.detach().clone() for p in task.parameters()]
    state = [{k: v.clone() for k, v in opt.state[p].items()} for p in task.parameters()]
    x = task.points.residual.x.clone()
    x[5, 0] = float("nan")
    task.points.residual = Points(x, task.points.residual.ids)
    with pytest.raises(Diverged, match="residual"):
        step(2)
    assert mode.built and mode.active  # it was the graph's step that refused
    for p, before, st in zip(task.parameters(), params, state):
        assert torch.equal(p, before)
        for k, v in st.items():
            assert torch.equal(opt.state[p][k], v)


@pytest.mark.slow
def test_the_trainer_keeps_the_parameters_of_its_lowest_loss():
    task = _task("on")
    trainer = Trainer(task, Schedule(steps=12, lbfgs_steps=0, lr=5e-2, lbfgs_dtype=torch.float64,
                                     eval_every=10**6, checkpoint_every=10**6), lambda ckpt: None)
    state = trainer.run()
    assert isinstance(trainer.modes["adam"], AdamInGraphStep) and trainer.modes["adam"].built
    # the best state is put back at the end: its loss must be the lowest one seen, at those values
    with torch.no_grad():
        assert float(sum(task.loss_terms().values())) == pytest.approx(state.best_loss, rel=1e-12)
    losses = [r["loss"] for r in state.history if "loss" in r]
    assert state.best_loss <= min(losses)


def test_the_plain_step_serves_where_the_graph_cannot():
    # none of these compiles anything: the checks come first
    task = _task("on")
    mode = task.step_mode("adam")
    assert mode.fused_adam_step(torch.optim.SGD(task.parameters(), lr=0.1)) is None
    assert mode.fused_adam_step(torch.optim.Adam(task.parameters(), lr=0.1, weight_decay=1e-3)) is None
    assert mode.fused_adam_step(torch.optim.Adam(task.parameters()[:-1], lr=0.1)) is None
    off = _task("off")
    assert off.step_mode("adam").fused_adam_step(make_adam(off.parameters(), 0.1)) is None
    chunked = _task("on", points=4096, width=256)  # 4096 points x 256 wide x 4 components: split
    assert chunked.chunk is not None and isinstance(chunked.step_mode("adam"), ChunkedStep)
    assert chunked.step_mode("adam").fused_adam_step(make_adam(chunked.parameters(), 0.1)) is None


def test_parameters_stay_the_same_objects_through_a_dtype_change():
    task = _task("off")
    before = task.parameters()
    task.to_dtype(torch.float32)
    assert all(a is b for a, b in zip(before, task.parameters()))
    assert all(p.dtype == torch.float32 for p in task.parameters())
