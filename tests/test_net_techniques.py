"""Network techniques (docs/techniques.md): exact periodic and random Fourier embeddings, random weight
factorisation and the modified MLP, each against its formula written out here, their jets against
nested autograd, exact periodicity of the output, and bad values refused in one line."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pinnlab as pl
from pinnlab.derivatives import autograd_fields
from pinnlab.errors import ConfigError
from pinnlab.fields import close_under_prefixes
from pinnlab.jets import jet_fields
from pinnlab.layers.embeddings import FourierFeatures, PeriodicEmbedding
from pinnlab.nets import Net
from pinnlab.registry import get_problem
from pinnlab.solvers.pinn import build_net
from pinnlab.solvers.registry import get_solver

F64 = torch.float64


def _net(problem: str, seed: int = 0, **options) -> Net:
    p = get_problem(problem)
    # the raw network: no hard-constraint transform (burgers' recipe has one)
    cfg = pl.SolveConfig(width=12, depth=3, seed=seed, **{"hard": False, **options}).resolved(p.recipe)
    torch.manual_seed(seed)
    return build_net(p, cfg).to(F64)


def _perturb(net: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def test_periodic_embedding_is_cos_and_sin_of_the_harmonics():
    emb = PeriodicEmbedding(3, {0: 2.0, 2: 0.5}, modes=3).to(F64)
    x = torch.rand(7, 3, dtype=F64) * 4 - 2
    out = emb(x).numpy()
    xs = x.numpy()
    assert out.shape == (7, 1 + 2 * 6)
    np.testing.assert_array_equal(out[:, 0], xs[:, 1])  # the non-periodic input passes through
    k = np.arange(1, 4)
    z = np.concatenate([2 * np.pi * k * xs[:, :1] / 2.0, 2 * np.pi * k * xs[:, 2:3] / 0.5], axis=1)
    np.testing.assert_allclose(out[:, 1:], np.concatenate([np.cos(z), np.sin(z)], axis=1), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("extra", [{}, {"fourier_features": "16,2"}, {"arch": "modified", "rwf": "1,0.1"}],
                         ids=["periodic", "periodic+fourier", "periodic+modified+rwf"])
def test_allen_cahn_with_periodic_embedding_is_exactly_periodic_in_x(extra):
    net = _net("allen-cahn", periodic="auto", periodic_modes=2, hard=False, **extra)  # the network alone
    _perturb(net, 1)
    t = torch.rand(50, 1, dtype=F64)
    lo, hi = torch.cat([-torch.ones_like(t), t], 1), torch.cat([torch.ones_like(t), t], 1)
    wanted = close_under_prefixes({"u": {(0,), (0, 0), (0, 0, 0), (1,)}})
    a, b = jet_fields(net, lo, wanted, 2), jet_fields(net, hi, wanted, 2)
    for idx in wanted["u"]:  # the value and every x-derivative agree on the two faces, to rounding
        scale = float(a["u"][idx].detach().abs().max())
        torch.testing.assert_close(a["u"][idx], b["u"][idx], rtol=0, atol=1e-13 * max(scale, 1.0) * 10)
    # and without the embedding they do not (the check can fail)
    plain = _net("allen-cahn", periodic="", hard=False)
    assert float((plain(lo) - plain(hi)).detach().abs().max()) > 1e-3


def test_fourier_features_follow_the_formula_and_are_seeded():
    f = FourierFeatures(2, 400, 3.0, seed=5).to(F64)
    x = torch.rand(9, 2, dtype=F64) * 2 - 1
    b = f.B.numpy()
    z = x.numpy() @ b.T
    np.testing.assert_allclose(f(x).numpy(), np.concatenate([np.cos(z), np.sin(z)], axis=1), rtol=1e-13, atol=1e-13)
    assert abs(b.std() - 3.0) < 0.25 and abs(b.mean()) < 0.25  # N(0, sigma^2): 800 draws
    assert torch.equal(FourierFeatures(2, 400, 3.0, seed=5).B, FourierFeatures(2, 400, 3.0, seed=5).B)
    assert not torch.equal(FourierFeatures(2, 400, 3.0, seed=6).B, f.B.float())


@pytest.mark.parametrize("problem,options", [
    ("allen-cahn", {"periodic": "x", "periodic_modes": 3, "fourier_features": "8,1.5"}),
    ("burgers", {"fourier_features": "10,1"}),
    ("burgers", {"arch": "modified"}),
    ("burgers", {"arch": "modified", "layer": "sine", "rwf": "0.5,0.2"}),
    ("poisson2d", {"rwf": "1,0.1", "layer_norm": True}),
    ("allen-cahn", {"periodic": "auto", "arch": "modified", "rwf": "1,0.1", "fourier_features": "6,1"})],
    ids=["periodic+fourier", "fourier", "modified", "modified-sine-rwf", "rwf-layernorm", "all"])
def test_jets_through_every_new_piece_match_autograd(problem, options):
    net = _net(problem, **options)
    _perturb(net, 2)
    dim = len(net.in_shift)
    x = torch.rand(20, dim, dtype=F64, generator=torch.Generator().manual_seed(3))
    wanted = close_under_prefixes({"u": {(0, 0, 0), (0, 1), (1, 1) if dim > 1 else (0, 0)}})
    jets, ref = jet_fields(net, x, wanted, dim), autograd_fields(net, x, wanted)
    for idx, v in ref["u"].items():
        torch.testing.assert_close(jets["u"][idx], v, rtol=1e-10, atol=1e-12, msg=f"{options} {idx}")


def test_rwf_at_init_computes_what_the_unfactorised_network_computes():
    old = torch.get_default_dtype()
    torch.set_default_dtype(F64)  # built in float64: the product exp(s) V is then W to float64 rounding
    try:
        plain, fact = _net("burgers", seed=4), _net("burgers", seed=4, rwf="1,0.1")
    finally:
        torch.set_default_dtype(old)
    x = torch.rand(30, 2, dtype=F64)
    torch.testing.assert_close(fact(x), plain(x), rtol=1e-13, atol=1e-14)
    lin, ref = fact.hidden[1].linear, plain.hidden[1].linear
    s, v = lin.parametrizations.weight[0].s, lin.parametrizations.weight.original
    torch.testing.assert_close(torch.exp(s)[:, None] * v, ref.weight, rtol=1e-13, atol=0)
    assert abs(float(s.detach().mean()) - 1.0) < 0.1 and 0.03 < float(s.detach().std()) < 0.2  # s ~ N(1, 0.1^2), 12 units
    # s and V are what is trained: both get a gradient
    names = {n for n, _ in fact.named_parameters()}
    assert "hidden.1.linear.parametrizations.weight.original" in names and "head.parametrizations.weight.0.s" in names
    fact(x).pow(2).sum().backward()
    assert float(s.grad.abs().sum()) > 0 and float(lin.parametrizations.weight.original.grad.abs().sum()) > 0


def test_modified_mlp_is_the_encoder_mix_written_out():
    net = _net("burgers", arch="modified")
    _perturb(net, 5)
    x = torch.rand(11, 2, dtype=F64) * 2 - 1
    xs = net.scale_inputs(x)

    def dense(layer, h):
        return torch.tanh(h @ layer.linear.weight.T + layer.linear.bias)
    u, v = dense(net.encoders[0], xs), dense(net.encoders[1], xs)
    h = xs
    for layer in net.hidden:
        z = dense(layer, h)
        h = z * u + (1 - z) * v
    torch.testing.assert_close(net(x), h @ net.head.weight.T + net.head.bias, rtol=1e-13, atol=1e-14)


CONFIG = dict(width=8, depth=2, steps=30, lbfgs_steps=5, points=64, boundary_points=16, seed=1, eval_every=10,
              periodic="auto", fourier_features="4,1", arch="modified", rwf="1,0.1")


def test_the_new_networks_train_and_checkpoints_hold_the_fixed_features(tmp_path):
    r = pl.solve("allen-cahn", pl.SolveConfig(**CONFIG, compile="off"), out=tmp_path / "run")
    assert r.report["status"] == "completed" and math.isfinite(r.report["rel_l2"])
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["task"]["model"]
    b = FourierFeatures(3, 4, 1.0, seed=1 + 7919).B  # drawn again: the periodic embedding's 3 outputs feed it
    torch.testing.assert_close(state["net.embedding.parts.1.B"].float(), b)
    assert "net.head.parametrizations.weight.0.s" in state


@pytest.mark.slow  # compiling these graphs takes about 2 minutes on the loaded 2-core machine
def test_the_new_networks_compile(tmp_path):
    r = pl.solve("allen-cahn", pl.SolveConfig(**CONFIG, compile="on"), out=tmp_path / "run")
    assert r.report["status"] == "completed" and r.report["compiled"] and math.isfinite(r.report["rel_l2"])


@pytest.mark.parametrize("args,says", [
    (["--fourier-features", "0,1"], "fourier-features '0,1': expected M,SIGMA"),
    (["--fourier-features", "8"], "expected M,SIGMA"),
    (["--rwf", "1"], "rwf '1': expected MU,SIGMA"),
    (["--arch", "resnet"], "unknown architecture 'resnet' (allowed: mlp, modified, pirate)"),
    (["--periodic", "y"], "periodic coordinate 'y': problem 'burgers' has no box coordinate"),
    (["--periodic", "auto"], "problem 'burgers' has no periodic condition"),
    (["--periodic-modes", "0"], "periodic-modes must be a positive integer")])
def test_bad_values_are_one_line_and_exit_2(args, says, tmp_path, run_cli):
    rc, _, err = run_cli(["solve", "burgers", "--steps", "1", "--out", str(tmp_path / "r"), *args])
    assert rc == 2, err
    assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_periodic_needs_a_box_coordinate_in_python_too():
    with pytest.raises(ConfigError, match="periodic coordinate 'z'"):
        _net("allen-cahn", periodic="z")
    with pytest.raises(ConfigError, match="unknown architecture"):
        Net(2, 1, arch="kan")


def test_a_checkpoint_from_before_these_options_still_resumes(tmp_path):
    """A checkpoint whose record of its run predates the new options ran with their defaults: it resumes."""
    from test_resume import _interrupt_at
    cfg = pl.SolveConfig(width=8, depth=2, steps=30, lbfgs_steps=0, points=64, boundary_points=8, seed=2,
                         checkpoint_every=10, compile="off")
    full = pl.solve("poisson1d", cfg, out=tmp_path / "full")
    with pytest.raises(pl.RunInterrupted):
        pl.solve("poisson1d", cfg, out=tmp_path / "cut", progress=_interrupt_at(15))
    path = tmp_path / "cut" / "checkpoint.pt"
    ckpt = torch.load(path, weights_only=False)
    torch.save({**ckpt, "belongs_to": {**ckpt["belongs_to"], "arch": "modified"}}, path)
    with pytest.raises(pl.PinnlabError, match="arch 'modified' in the checkpoint"):  # another network: refused
        pl.resume(tmp_path / "cut")
    for k in ("periodic", "periodic_modes", "fourier_features", "arch", "rwf", "balance"):
        del ckpt["belongs_to"][k]
    torch.save(ckpt, path)
    assert pl.resume(tmp_path / "cut").report["rel_l2"] == full.report["rel_l2"]


def test_periodic_conditions_made_exact_by_the_embedding_leave_the_loss():
    p = get_problem("allen-cahn")
    names = {}
    for periodic in ("", "auto"):
        cfg = pl.SolveConfig(width=8, depth=2, points=50, boundary_points=10, steps=1, lbfgs_steps=0,
                             periodic=periodic, hard=False, compile="off").resolved(p.recipe)
        names[periodic] = list(get_solver("pinn").make_task(p, cfg).loss_terms())
    assert names[""] == ["residual", "initial_value", "periodic"]
    assert names["auto"] == ["residual", "initial_value"]
