"""SOAP as the first stage (--first-stage soap, pinnlab/solvers/soap.py): the trainer's steps are
pytorch-optimizer's SOAP driven by hand on the same loss, its state is checkpointed and a resumed run is
bit-identical, a learning-rate schedule reaches it, and a missing package is one line."""

from __future__ import annotations

import math
import sys

import pytest
import torch
from test_resume import _interrupt_at

import pinnlab as pl
from pinnlab.errors import ConfigError
from pinnlab.registry import get_problem
from pinnlab.solvers.registry import get_solver
from pinnlab.solvers.training import Schedule, Trainer

pytest.importorskip("pytorch_optimizer")

SMALL = dict(width=8, depth=2, points=64, boundary_points=8, seed=3, dtype="float64", eval_every=10, compile="off")


def _task(**options):
    p = get_problem("poisson1d")
    cfg = pl.SolveConfig(**SMALL, **options).resolved(p.recipe)
    torch.manual_seed(0)
    return get_solver("pinn").make_task(p, cfg), cfg


def _trainer_losses(first_stage: str) -> dict[int, float]:
    task, cfg = _task(steps=10, lbfgs_steps=0, first_stage=first_stage)
    trainer = Trainer(task, Schedule.from_config(cfg), on_checkpoint=lambda c: None)
    trainer.run()
    return {row["step"]: row["loss"] for row in trainer.state.history if row.get("phase") == "adam"}


def test_the_soap_stage_is_pytorch_optimizers_soap_on_the_same_loss():
    from pytorch_optimizer import SOAP
    seen = _trainer_losses("soap")
    task, cfg = _task(steps=10, lbfgs_steps=0)
    params = task.parameters()
    opt = SOAP(params, lr=cfg.lr, betas=(0.99, 0.999), weight_decay=0.0, precondition_frequency=2)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = sum(task.loss_terms().values())
        loss.backward()
        losses.append(float(loss.detach()))
        opt.step()
    assert seen[1] == losses[0]
    assert seen[10] == pytest.approx(losses[9], rel=1e-12, abs=0)
    assert _trainer_losses("adam")[10] != pytest.approx(losses[9], rel=1e-6)  # Adam's tenth loss differs


def test_a_soap_run_checkpoints_its_state_and_resumes_bit_identically(tmp_path):
    cfg = pl.SolveConfig(**SMALL, steps=40, lbfgs_steps=5, checkpoint_every=10, first_stage="soap")
    full = pl.solve("poisson1d", cfg, out=tmp_path / "full")
    assert full.report["status"] == "completed" and math.isfinite(full.report["rel_l2"])
    with pytest.raises(pl.RunInterrupted):
        pl.solve("poisson1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(25))
    state = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)["optimizer"]["state"]
    assert all("Q" in s and "GG" in s for s in state.values())  # SOAP's eigenbases, not Adam's moments alone
    resumed = pl.resume(tmp_path / "cut")
    for key in ("rel_l2", "final_loss", "adam_steps", "lbfgs_iterations"):
        assert resumed.report[key] == full.report[key], key
    for a, b in zip(resumed.net.state_dict().values(), full.net.state_dict().values()):
        assert torch.equal(a, b)


def test_a_warm_up_schedule_sets_soaps_rate(tmp_path):
    r = pl.solve("poisson1d", pl.SolveConfig(**SMALL, steps=20, lbfgs_steps=0, first_stage="soap", warmup=10),
                 out=tmp_path / "w")
    assert r.report["status"] == "completed"


def test_soap_without_its_package_is_one_line_and_exit_2(tmp_path, run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "pytorch_optimizer", None)  # import fails as if not installed
    rc, _, err = run_cli(["solve", "poisson1d", "--steps", "1", "--first-stage", "soap", "--out", str(tmp_path / "r")])
    assert rc == 2 and "first-stage 'soap' needs the pytorch_optimizer package" in err and "pinnlab[soap]" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
    with pytest.raises(ConfigError, match="pytorch_optimizer"):
        pl.SolveConfig(first_stage="soap").validate()
    rc, _, err = run_cli(["solve", "poisson1d", "--first-stage", "lion", "--out", str(tmp_path / "r")])
    assert rc == 2 and "unknown first stage 'lion' (allowed: adam, soap)" in err
