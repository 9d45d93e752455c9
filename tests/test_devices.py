"""The same checks on every device this machine has: the CPU always, CUDA where a GPU is present
(skipped otherwise). Each check runs on the CPU too, so a check that would be wrong on a GPU is
already caught here: the GPU runs only confirm the device paths (placement, fused Adam, inductor's
Triton code, CUDA reports) that a CPU-only machine cannot reach."""

import importlib.util
import math

import numpy as np
import pytest
import torch

import pinnlab as pl
from pinnlab import runs
from pinnlab.derivatives import autograd_fields
from pinnlab.fields import close_under_prefixes
from pinnlab.jets import jet_fields
from pinnlab.registry import get_problem
from pinnlab.solvers.pinn import make_task
from pinnlab.solvers.training import adam_step, make_adam

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]


def _needs_compiler(device: str) -> None:
    if device == "cuda" and importlib.util.find_spec("triton") is None:
        pytest.skip("torch.compile on CUDA needs triton")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layer", ["tanh", "sine", "yat", "auto"])
def test_jets_equal_nested_autograd_and_the_cpu_on_device(device, layer):
    torch.manual_seed(4)
    cpu_net = pl.Net(2, 2, width=7, depth=2, layer=layer).double()
    net = pl.Net(2, 2, width=7, depth=2, layer=layer).double()
    net.load_state_dict(cpu_net.state_dict())
    net.to(device)
    wanted = close_under_prefixes({"u": {(0, 0, 1), (1, 1)}, "v": {(0, 0), (1,)}})
    x_cpu = torch.rand(19, 2, dtype=torch.float64) * 2 - 1
    x = x_cpu.to(device)
    jets, ref, cpu = jet_fields(net, x, wanted, 2), autograd_fields(net, x, wanted), jet_fields(cpu_net, x_cpu, wanted, 2)
    for f, parts in ref.items():
        for idx, want in parts.items():
            assert jets[f][idx].device.type == device
            torch.testing.assert_close(jets[f][idx], want, rtol=1e-10, atol=1e-12, msg=f"{layer} {f}{idx}")
            torch.testing.assert_close(jets[f][idx].cpu(), cpu[f][idx], rtol=1e-10, atol=1e-12)


def _task(device: str, compile_: str, layer: str = "tanh"):
    problem = get_problem("burgers")
    config = pl.SolveConfig(layer=layer, width=8, depth=2, steps=3, lbfgs_steps=0, points=64, boundary_points=16,
                            dtype="float64", compile=compile_, seed=3, device=device)
    torch.manual_seed(3)
    return make_task(problem, config.resolved(problem.recipe))


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layer", ["tanh", "yat"])
def test_the_compiled_step_equals_the_eager_one_on_device(device, layer):
    _needs_compiler(device)
    task = _task(device, "on", layer)
    eager = task.loss_terms()
    sum(eager.values()).backward()
    eager_grads = [p.grad.clone() for p in task.parameters()]
    task.net.zero_grad(set_to_none=True)
    compiled = task.loss_terms_and_grads()
    assert task.compiled and list(compiled) == list(eager)
    for k in eager:
        assert compiled[k].device.type == device
        torch.testing.assert_close(compiled[k], eager[k].detach(), rtol=1e-10, atol=1e-14)
    for p, g in zip(task.parameters(), eager_grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_adam_inside_the_compiled_step_equals_torch_adam_on_device(device):
    _needs_compiler(device)
    fused_task, eager_task = _task(device, "on"), _task(device, "off")
    fused_opt = make_adam(fused_task.parameters(), 1e-2)  # fused Adam where torch has it (CUDA)
    eager_opt = torch.optim.Adam(eager_task.parameters(), lr=1e-2, foreach=False)
    for step in range(4):
        loss_f, _ = adam_step(fused_task, fused_opt, step)
        loss_e, _ = adam_step(eager_task, eager_opt, step)
        assert loss_f == pytest.approx(loss_e, rel=1e-10)
    assert fused_task.final_report()["adam_in_graph"]
    for p, q in zip(fused_task.parameters(), eager_task.parameters()):
        assert p.device.type == device
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("device", DEVICES)
def test_a_run_on_device_reports_its_error_and_saves_cpu_readable_files(device, tmp_path):
    cfg = pl.SolveConfig(width=16, depth=2, steps=60, lbfgs_steps=5, points=128, boundary_points=8, seed=0,
                         device=device, compile="off")
    res = pl.solve("poisson1d", cfg, out=tmp_path / "run")
    assert res.report["device"] == device and res.report["status"] == "completed"
    assert math.isfinite(res.report["rel_l2"]) and res.report["rel_l2"] < 1.0
    with np.load(res.run_dir / runs.PREDICTIONS) as pred:  # numpy arrays: readable without a GPU
        numbers = [pred[k] for k in pred.files if pred[k].dtype.kind == "f"]
        assert numbers and all(np.isfinite(a).all() for a in numbers)
    best = runs.load_checkpoint(res.run_dir / runs.CHECKPOINT)["trainer"]["best_params"]  # as resume reads it
    assert best and all(t.device.type == "cpu" and torch.isfinite(t).all() for t in best)
