"""Allen-Cahn's hard constraint (problems/allen_cahn.py): the transformed output takes the initial value
exactly and, with the periodic embedding, stays periodic in u and u_x, checked with autograd on a
perturbed network; its jets agree with nested autograd; a run with it passes the hard-constraint check."""

from __future__ import annotations

import math

import torch

import pinnlab as pl
from pinnlab.derivatives import autograd_fields
from pinnlab.fields import close_under_prefixes
from pinnlab.jets import jet_fields
from pinnlab.registry import get_problem
from pinnlab.solvers.pinn import build_net

F64 = torch.float64


def _net(seed: int = 0):
    p = get_problem("allen-cahn")
    cfg = pl.SolveConfig(width=12, depth=3, seed=seed, hard=True, periodic="auto").resolved(p.recipe)
    torch.manual_seed(seed)
    net = build_net(p, cfg).to(F64)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # away from initialisation, so nothing holds by accident of small weights
        for q in net.parameters():
            q.add_(0.3 * torch.randn(q.shape, generator=g, dtype=F64))
    return net


def test_initial_value_is_exact():
    net = _net()
    x = torch.cat([torch.linspace(-1, 1, 201, dtype=F64), torch.rand(100, dtype=F64) * 2 - 1])
    u = net(torch.stack([x, torch.zeros_like(x)], 1)).detach().ravel()
    torch.testing.assert_close(u, x**2 * torch.cos(math.pi * x), rtol=0, atol=2e-8)
    assert float(net(torch.tensor([[0.3, 0.5]], dtype=F64)).detach().abs().max()) > 0  # the net is in it


def test_value_and_slope_are_periodic_for_positive_times():
    net = _net(3)
    t = torch.cat([torch.rand(40, 1, dtype=F64), torch.tensor([[1e-6], [1.0]], dtype=F64)])
    faces = [torch.cat([s * torch.ones_like(t), t], 1).requires_grad_() for s in (-1.0, 1.0)]
    vals, slopes = [], []
    for z in faces:
        u = net(z)
        vals.append(u.detach())
        slopes.append(torch.autograd.grad(u.sum(), z)[0][:, :1])
    torch.testing.assert_close(vals[0], vals[1], rtol=0, atol=1e-12)
    torch.testing.assert_close(slopes[0], slopes[1], rtol=0, atol=1e-9)
    # u0 alone has slopes +2 and -2 there (d/dx x^2 cos(pi x) = 2x cos(pi x) - pi x^2 sin(pi x)): the middle
    # term of the transform is what cancels them
    x = torch.tensor([-1.0, 1.0], dtype=F64)
    du0 = 2 * x * torch.cos(math.pi * x) - math.pi * x**2 * torch.sin(math.pi * x)
    torch.testing.assert_close(du0, torch.tensor([2.0, -2.0], dtype=F64))


def test_jets_through_the_transform_match_autograd():
    net = _net(5)
    x = torch.rand(30, 2, dtype=F64, generator=torch.Generator().manual_seed(7)) * torch.tensor([2.0, 1.0]) \
        - torch.tensor([1.0, 0.0])
    wanted = close_under_prefixes({"u": {(0, 0, 0), (0, 1), (1, 1)}})
    jets, ref = jet_fields(net, x, wanted, 2), autograd_fields(net, x, wanted)
    for idx, v in ref["u"].items():
        torch.testing.assert_close(jets["u"][idx], v, rtol=1e-10, atol=1e-10, msg=str(idx))


def test_a_hard_periodic_run_passes_the_constraint_check_and_learns(tmp_path):
    cfg = pl.SolveConfig(hard=True, periodic="auto", width=8, depth=2, steps=30, lbfgs_steps=0, points=200,
                         boundary_points=40, compile="off", eval_every=30)
    r = pl.solve("allen-cahn", cfg, out=tmp_path / "run")
    assert set(r.report["loss_terms"]) == {"residual"}  # initial value and periodicity are both exact
    assert r.rel_l2 < 1.0


def test_the_recipe_sets_the_periodic_embedding_and_a_user_can_turn_it_off():
    r = get_problem("allen-cahn").recipe
    assert pl.SolveConfig().resolved(r).periodic == "auto" and pl.SolveConfig().resolved(r).hard
    assert pl.SolveConfig(periodic="").resolved(r).periodic == ""
    assert pl.SolveConfig().resolved(get_problem("burgers").recipe).periodic == ""
    # a run recorded before recipes could set it had no embedding
    assert pl.SolveConfig.completed({"width": 8})["periodic"] == ""
