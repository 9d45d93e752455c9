"""Jets and whole runs on every device this machine has (the ``device`` fixture: the CPU always,
CUDA where present). The compiled step and Adam's update in the graph are checked on every device
in test_compile.py and test_adam_in_graph.py."""

import math

import numpy as np
import pytest
import torch

import pinnlab as pl
from pinnlab import runs
from pinnlab.derivatives import autograd_fields
from pinnlab.fields import close_under_prefixes
from pinnlab.jets import jet_fields


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
