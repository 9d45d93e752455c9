"""PirateNet (--arch pirate, pinnlab/layers/pirate.py): the untrained network is the embedding's linear
read-out, a trained-looking one equals the blocks written out here, jets match nested autograd to third
order through every piece, runs train, resume bit-identically and learn unknowns, and what it cannot take
is refused in one line."""

from __future__ import annotations

import math

import pytest
import torch
from test_resume import _interrupt_at

import pinnlab as pl
from pinnlab.derivatives import autograd_fields
from pinnlab.errors import ConfigError
from pinnlab.fields import close_under_prefixes
from pinnlab.jets import jet_fields
from pinnlab.nets import Net
from pinnlab.registry import get_problem
from pinnlab.solvers.pinn import build_net

F64 = torch.float64


def _net(problem: str, seed: int = 0, **options) -> Net:
    p = get_problem(problem)
    cfg = pl.SolveConfig(width=12, depth=2, seed=seed, arch="pirate", **options).resolved(p.recipe)
    torch.manual_seed(seed)
    return build_net(p, cfg).to(F64)


def _perturb(net: torch.nn.Module, seed: int) -> None:
    """Every parameter moved, the skip weights α away from 0 (else the blocks would be skipped)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))
        for block in net.hidden:
            block.alpha.fill_(0.4 + 0.3 * float(torch.rand((), generator=g)))


def _dense(layer, h):
    return torch.tanh(h @ layer.linear.weight.T + layer.linear.bias)


def test_an_untrained_pirate_net_is_the_linear_read_out_of_its_fourier_embedding():
    net = _net("burgers", hard=False)
    x = torch.rand(13, 2, dtype=F64) * 2 - 1
    b = net.embedding.parts[0].B  # the default embedding: WIDTH/2 features of scale 1
    assert tuple(b.shape) == (6, 2) and all(float(blk.alpha.detach()) == 0.0 for blk in net.hidden)
    z = net.scale_inputs(x) @ b.T
    phi = torch.cat([torch.cos(z), torch.sin(z)], dim=1)
    torch.testing.assert_close(net(x), phi @ net.head.weight.T + net.head.bias, rtol=1e-13, atol=1e-14)
    # and a moved α brings the blocks in (the check can fail)
    with torch.no_grad():
        net.hidden[0].alpha.fill_(0.5)
        assert float((net(x) - (phi @ net.head.weight.T + net.head.bias)).abs().max()) > 1e-3


def test_pirate_net_is_the_gated_residual_blocks_written_out():
    net = _net("burgers", hard=False, fourier_features="5,2")
    _perturb(net, 5)
    x = torch.rand(11, 2, dtype=F64) * 2 - 1
    z = net.scale_inputs(x) @ net.embedding.parts[0].B.T
    h = torch.cat([torch.cos(z), torch.sin(z)], dim=1)
    u, v = _dense(net.encoders[0], h), _dense(net.encoders[1], h)
    for block in net.hidden:
        f = _dense(block.layers[0], h)
        z1 = f * u + (1 - f) * v
        g = _dense(block.layers[1], z1)
        z2 = g * u + (1 - g) * v
        k = _dense(block.layers[2], z2)
        h = block.alpha * k + (1 - block.alpha) * h
    torch.testing.assert_close(net(x), h @ net.head.weight.T + net.head.bias, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("problem,options", [
    ("burgers", {}),
    ("burgers", {"hard": True, "fourier_features": "8,1.5"}),
    ("burgers", {"layer": "sine"}),
    ("burgers", {"rwf": "1,0.1"}),
    ("kdv", {}),
    ("allen-cahn", {"periodic": "auto", "periodic_modes": 2, "hard": False})],  # its hard form needs t >= 0
    ids=["default-embedding", "hard-constraint", "sine", "rwf", "kdv", "periodic"])
def test_pirate_jets_match_autograd_to_third_order(problem, options):
    net = _net(problem, **options)
    _perturb(net, 2)
    dim = len(net.in_shift)
    x = torch.rand(20, dim, dtype=F64, generator=torch.Generator().manual_seed(3)) * 2 - 1
    wanted = close_under_prefixes({"u": {(0, 0, 0), (0, 0, 1), (1, 1)}})
    jets, ref = jet_fields(net, x, wanted, dim), autograd_fields(net, x, wanted)
    assert (0, 0, 0) in ref["u"]
    for idx, v in ref["u"].items():  # sine's ω0 = 30 makes third derivatives ~1e17: atol on the field's scale
        scale = max(1.0, float(v.detach().abs().max()))
        torch.testing.assert_close(jets["u"][idx], v, rtol=1e-10, atol=1e-12 * scale, msg=f"{options} {idx}")


SMALL = dict(width=8, depth=2, points=64, boundary_points=16, seed=1, eval_every=10, arch="pirate",
             compile="off", dtype="float64")


def test_a_pirate_run_trains_its_skip_weights_and_resumes_bit_identically(tmp_path):
    cfg = pl.SolveConfig(**SMALL, steps=40, lbfgs_steps=6, checkpoint_every=10)
    full = pl.solve("burgers", cfg, out=tmp_path / "full")
    assert full.report["status"] == "completed" and math.isfinite(full.report["rel_l2"])
    assert all(float(b.alpha.detach().abs()) > 0 for b in full.net.hidden)  # α left 0: the blocks are in use
    with pytest.raises(pl.RunInterrupted):
        pl.solve("burgers", cfg, out=tmp_path / "cut", progress=_interrupt_at(25))
    resumed = pl.resume(tmp_path / "cut")
    for key in ("rel_l2", "final_loss", "adam_steps", "lbfgs_iterations"):
        assert resumed.report[key] == full.report[key], key
    for a, b in zip(resumed.net.state_dict().values(), full.net.state_dict().values()):
        assert torch.equal(a, b)


def test_a_pirate_net_learns_an_unknown(tmp_path):
    cfg = pl.SolveConfig(**{**SMALL, "points": 200}, steps=300, lbfgs_steps=30)
    r = pl.solve("diffusion-inverse", cfg, out=tmp_path / "inv")
    assert r.report["status"] == "completed"
    (name, u), = r.report["unknowns"].items()
    assert u["guess"] != u["learned"]  # it moved from the guess, through the network's jets


@pytest.mark.parametrize("args,says", [
    (["--arch", "pirate", "--solver", "rai"], "arch 'pirate' is not available with solver 'rai'"),
    (["--arch", "modified", "--solver", "rai"], "arch 'modified' is not available with solver 'rai'"),
    (["--fourier-features", "4,1", "--solver", "rai"], "fourier-features '4,1' is not available with solver 'rai'"),
    (["--arch", "pirate", "--layer-norm"], "layer normalisation is not available with arch 'pirate'"),
    (["--arch", "pirates"], "unknown architecture 'pirates' (allowed: mlp, modified, pirate)")])
def test_what_pirate_cannot_take_is_one_line_and_exit_2(args, says, tmp_path, run_cli):
    rc, _, err = run_cli(["solve", "burgers", "--steps", "1", "--out", str(tmp_path / "r"), *args])
    assert rc == 2, err
    assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_pirate_without_an_embedding_reads_out_the_scaled_coordinates():
    net = Net(2, 1, width=6, depth=1, arch="pirate").to(F64)
    x = torch.rand(4, 2, dtype=F64)
    torch.testing.assert_close(net(x), net.scale_inputs(x) @ net.head.weight.T + net.head.bias)
    with pytest.raises(ConfigError, match="layer normalisation"):
        Net(2, 1, arch="pirate", layer_norm=True)


@pytest.mark.slow  # compiling takes 30-60 s on the loaded 2-core machine
def test_the_compiled_pirate_step_is_the_eager_one():
    from pinnlab.solvers.base import EagerStep
    from pinnlab.solvers.registry import get_solver
    p = get_problem("burgers")
    cfg = pl.SolveConfig(**{**SMALL, "compile": "on"}, steps=5, lbfgs_steps=0).resolved(p.recipe)
    torch.manual_seed(0)
    task = get_solver("pinn").make_task(p, cfg)
    _perturb(task.net, 4)  # α away from 0: the blocks' layers are in the graph's result
    assert task.compile

    def loss_and_grads(mode):
        for q in task.parameters():
            q.grad = None
        terms = mode.loss_and_grads(lambda t: sum(t.values()))
        return float(sum(terms.values()).detach()), [q.grad.clone() for q in task.parameters()]
    (cl, cg), (el, eg) = loss_and_grads(task.step_mode("lbfgs")), loss_and_grads(EagerStep(task))
    assert cl == pytest.approx(el, rel=1e-10)
    for a, b in zip(cg, eg):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    assert float(eg[[n for n, _ in task.model.named_parameters()].index("net.hidden.0.alpha")].abs()) > 0
