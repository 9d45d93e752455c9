"""The jet engine against nested autograd (float64): activations, layers, torch functions, fallback."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pinnlab as pl
from pinnlab.derivatives import autograd_fields, compute_fields, resolve_engine
from pinnlab.fields import Params, close_under_prefixes
from pinnlab.jets import Jet, JetUnsupported, TorchJet, jet_fields, linear, plan_for
from pinnlab.layers.activations import ACTIVATIONS
from pinnlab.registry import get_problem
from pinnlab.solvers.pinn import build_net, make_task
from pinnlab.solvers.training import make_adam

RTOL, ATOL = 1e-10, 1e-12


def _assert_same(jets, ref, what=""):
    for f, parts in ref.items():
        for idx, b in parts.items():
            torch.testing.assert_close(jets[f][idx], b, rtol=RTOL, atol=ATOL, msg=f"{what} {f}{idx}")


def _perturb(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g, dtype=p.dtype))


# -- the zoo's derivative formulas against autograd of each activation's forward ---------------------

@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivatives_match_autograd(name):
    act = ACTIVATIONS[name]
    z = torch.linspace(-3.1, 2.9, 41, dtype=torch.float64)  # no grid point at the kinks (0) of elu/relu/softsign
    # and large pre-activations, where torch's softplus turns linear (its threshold, 20)
    z = torch.cat([z[z.abs() > 1e-3], torch.tensor([19.5, 20.5, 35.0], dtype=torch.float64)]).requires_grad_(True)
    derivs = act.derivs(z)
    torch.testing.assert_close(derivs[0], act.forward(z), rtol=RTOL, atol=ATOL)
    y = act.forward(z)
    for k in range(1, 4):
        (y,) = torch.autograd.grad(y.sum(), z, create_graph=True)
        torch.testing.assert_close(derivs[k], y, rtol=1e-9, atol=1e-12, msg=f"{name} derivative {k}")


@pytest.mark.parametrize("name", sorted(set(ACTIVATIONS) - {"relu"}))
def test_every_zoo_kind_gives_jets_equal_to_autograd(name):
    torch.manual_seed(1)
    net = pl.Net(2, 1, width=9, depth=2, layer=name).double()
    _perturb(net, 2)
    wanted = close_under_prefixes({"u": {(0, 0, 0), (0, 0, 1), (1, 1), (0, 1)}})
    assert resolve_engine(net, wanted, "auto") == "jets"
    x = torch.rand(25, 2, dtype=torch.float64) * 2 - 1
    _assert_same(jet_fields(net, x, wanted, 2), autograd_fields(net, x, wanted), name)


# -- random shapes, multi-index sets and layer kinds --------------------------------------------------

multi_index = st.integers(1, 3).flatmap(
    lambda dim: st.tuples(st.just(dim), st.sets(st.lists(st.integers(0, dim - 1), min_size=1, max_size=3)
                                                 .map(lambda v: tuple(sorted(v))), min_size=1, max_size=5)))


@settings(max_examples=25, deadline=None)
@given(spec=multi_index, kind=st.sampled_from(["tanh", "sine", "yat", "auto", "gelu", "laaf"]),
       width=st.integers(1, 7), depth=st.integers(1, 3), fields=st.integers(1, 3), n=st.integers(1, 9),
       layer_norm=st.booleans(), seed=st.integers(0, 2**16))
def test_random_nets_and_partials_match_autograd(spec, kind, width, depth, fields, n, layer_norm, seed):
    dim, idx = spec
    if layer_norm:
        width = max(width, 3)  # LayerNorm of 2 features is ±1: its derivatives are 0 up to rounding
    torch.manual_seed(seed)
    net = pl.Net(dim, fields, width=width, depth=depth, layer=kind, layer_norm=layer_norm).double()
    _perturb(net, seed + 1)
    names = [f"f{j}" for j in range(fields)]
    wanted = close_under_prefixes({f: set(idx) for f in names})
    x = torch.rand(n, dim, dtype=torch.float64) * 2 - 1
    _assert_same(jet_fields(net, x, wanted, dim), autograd_fields(net, x, wanted), f"{kind} {spec}")


# -- torch functions and arithmetic written over jets ---------------------------------------------------

FUNCS = {
    "sin·exp": lambda x, y: torch.sin(3 * x) * torch.exp(-y),
    "cos/(1+x²)": lambda x, y: torch.cos(x + 2 * y) / (1 + x ** 2),
    "log·sqrt": lambda x, y: torch.log(2 + x * y) * torch.sqrt(3 + y),
    "powers": lambda x, y: x ** 3 * y - 2 * y ** 4 + x ** -2,
    "tanh,sigmoid,rsqrt": lambda x, y: torch.tanh(x - y) + torch.sigmoid(x * y) * torch.rsqrt(2 + x),
    "reflected": lambda x, y: 1.5 - x / (2 + y) + torch.tensor(2.0, dtype=torch.float64) * y,
}


@pytest.mark.parametrize("name", FUNCS)
def test_torch_functions_on_jets_match_autograd(name):
    fn = FUNCS[name]
    pts = torch.rand(17, 2, dtype=torch.float64) * 0.8 + 0.1
    wanted = [(0,), (1,), (0, 0), (0, 1), (1, 1), (0, 0, 0), (0, 1, 1), (1, 1, 1)]
    plan = plan_for(2, wanted)
    x = TorchJet.input(pts, plan)
    out = fn(x[:, 0:1], x[:, 1:2])

    class Wrapped(torch.nn.Module):
        def forward(self, p):
            return fn(p[:, 0:1], p[:, 1:2])
    ref = autograd_fields(Wrapped(), pts, close_under_prefixes({"u": set(wanted)}))
    for idx in wanted:
        torch.testing.assert_close(out.partial(idx)[:, 0], ref["u"][idx], rtol=RTOL, atol=ATOL, msg=f"{name} {idx}")


def test_unsupported_functions_raise_and_fractional_powers_are_refused():
    x = TorchJet.input(torch.rand(3, 1, dtype=torch.float64), plan_for(1, [(0,)]))
    with pytest.raises(JetUnsupported):
        torch.abs(x)
    with pytest.raises(JetUnsupported):
        x ** 0.5


# -- the engine's choice and fallback ---------------------------------------------------------------------

def test_hard_constraint_runs_on_jets_and_matches_autograd():
    problem = get_problem("burgers")
    net = build_net(problem, pl.SolveConfig(hard=True, width=10, depth=2, layer="tanh")).double()
    _perturb(net, 5)
    wanted = close_under_prefixes({"u": {(0,), (1,), (0, 0)}})
    assert resolve_engine(net, wanted, "auto") == "jets"
    x = torch.rand(30, 2, dtype=torch.float64) * torch.tensor([2.0, 1.0]) - torch.tensor([1.0, 0.0])
    _assert_same(jet_fields(net, x, wanted, 2), autograd_fields(net, x, wanted), "burgers hard")


def test_transform_without_jet_rules_falls_back_to_autograd():
    net = pl.Net(1, 1, width=5, depth=2, transform=lambda x, out: torch.abs(x) * out).double()
    wanted = close_under_prefixes({"u": {(0, 0)}})
    assert resolve_engine(net, wanted, "jets") == "autograd"
    x = torch.rand(8, 1, dtype=torch.float64) + 0.1
    f = compute_fields(net, x, {"u": {(0, 0)}}, ("x",), ("u",), engine="jets")
    torch.testing.assert_close(f.data["u"][(0, 0)], autograd_fields(net, x, wanted)["u"][(0, 0)])


@pytest.mark.parametrize("transform", [lambda x, out: x.detach() * out, lambda x, out: out + out.detach() * x],
                         ids=["detached coordinate", "detached output"])
def test_a_detached_jet_is_a_constant_as_a_detached_tensor_is_to_autograd(transform):
    net = pl.Net(1, 1, width=5, depth=2, transform=transform).double()
    _perturb(net, 3)
    wanted = close_under_prefixes({"u": {(0,), (0, 0)}})
    assert resolve_engine(net, wanted, "jets") == "jets"
    x = torch.rand(9, 1, dtype=torch.float64)
    _assert_same(jet_fields(net, x, wanted, 1), autograd_fields(net, x, wanted), "detach")


@pytest.mark.parametrize("transform", [
    lambda x, out: x.pow(2) * out, lambda x, out: torch.square(x) * out + out.square(),
    lambda x, out: torch.tensor(2.0, dtype=x.dtype, device=x.device) * x * out],
    ids=["pow method", "square", "dtype and device"])
def test_tensor_idioms_in_a_transform_stay_on_jets(transform):
    net = pl.Net(1, 1, width=5, depth=2, transform=transform).double()
    _perturb(net, 4)
    wanted = close_under_prefixes({"u": {(0, 0, 0)}})
    assert resolve_engine(net, wanted, "jets") == "jets"
    x = torch.rand(9, 1, dtype=torch.float64)
    _assert_same(jet_fields(net, x, wanted, 1), autograd_fields(net, x, wanted), "idiom")


def test_jets_asked_for_by_name_but_not_available_is_said(tmp_path):
    problem = pl.Problem(name="absy", domain=pl.Box(x=(0.0, 1.0)), fields=("u",), residual=lambda f, p: f.u.xx + 2.0,
                         conditions=[pl.Dirichlet(u=0.0, on="x")], exact=lambda x: x * (1 - x),
                         hard_constraint=pl.HardConstraint(lambda c, u: torch.abs(c.x) * (1 - c.x) * u, (0,)))
    cfg = pl.SolveConfig(steps=2, lbfgs_steps=0, points=16, boundary_points=2, width=4, depth=1, hard=True,
                         derivatives="jets")
    with pytest.warns(UserWarning, match="--derivatives jets: .* using nested autograd"):
        r = pl.solve(problem, cfg, out=tmp_path / "a")
    assert r.report["derivatives"] == "autograd"


def test_order_four_and_plain_modules_use_autograd():
    net = pl.Net(1, 1, width=4, depth=1).double()
    assert resolve_engine(net, close_under_prefixes({"u": {(0, 0, 0, 0)}}), "jets") == "autograd"
    plain = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    assert resolve_engine(plain, close_under_prefixes({"u": {(0,)}}), "auto") == "autograd"
    x = torch.linspace(-1, 1, 7, dtype=torch.float64)[:, None]
    f = compute_fields(net, x, {"u": {(0, 0, 0, 0)}}, ("x",), ("u",), engine="jets")
    # fourth derivative of the closed form Σ c_j tanh(a_j s + b_j), s = x (bounds [-1, 1])
    a, b, c = net.hidden[0].linear.weight[:, 0], net.hidden[0].linear.bias, net.head.weight[0]
    z = x * a + b
    t = torch.tanh(z)
    d4 = 8 * t * (1 - t**2) * (2 - 3 * t**2)  # d⁴ tanh / dz⁴
    expected = (c * a**4 * d4).sum(1)
    torch.testing.assert_close(f.data["u"][(0, 0, 0, 0)].detach(), expected.detach(), rtol=1e-10, atol=1e-12)


def test_training_step_gradient_is_the_same_under_both_engines():
    problem = get_problem("kdv")
    net = build_net(problem, pl.SolveConfig(width=12, depth=3, layer="yat")).double()
    _perturb(net, 7)
    lo, hi = (torch.as_tensor(v, dtype=torch.float64) for v in (problem.domain.lo, problem.domain.hi))
    x = (torch.rand(50, problem.domain.dim, dtype=torch.float64) * (hi - lo) + lo)
    params = Params(**problem.params)
    grads = {}
    for engine in ("jets", "autograd"):
        net.zero_grad()
        f = compute_fields(net, x, problem.requests["residual"], problem.domain.names, problem.fields, engine=engine)
        r = problem.residual(f, params)
        r = r if isinstance(r, torch.Tensor) else torch.cat([t.reshape(-1) for t in r])
        (r ** 2).mean().backward()
        grads[engine] = [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in net.parameters()]
    for a, b in zip(grads["jets"], grads["autograd"]):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    assert any(float(g.abs().max()) > 0 for g in grads["jets"])


def test_layer_norm_third_derivative_matches_finite_differences():
    torch.manual_seed(0)
    net = pl.Net(1, 1, width=5, depth=2, layer="tanh", layer_norm=True).double()
    _perturb(net, 1)
    wanted = close_under_prefixes({"u": {(0, 0, 0)}})
    x0, h = 0.3, 1e-4
    d2 = lambda v: float(autograd_fields(net, torch.tensor([[v]], dtype=torch.float64), wanted)["u"][(0, 0)])
    fd = (d2(x0 + h) - d2(x0 - h)) / (2 * h)
    pts = torch.tensor([[x0]], dtype=torch.float64)
    assert float(jet_fields(net, pts, wanted, 1)["u"][(0, 0, 0)]) == pytest.approx(fd, rel=1e-6)
    assert float(autograd_fields(net, pts, wanted)["u"][(0, 0, 0)]) == pytest.approx(fd, rel=1e-6)


def test_evaluation_without_graph_gives_detached_tensors():
    net = pl.Net(2, 1, width=6, depth=2).double()
    x = torch.rand(5, 2, dtype=torch.float64)
    f = compute_fields(net, x, {"u": {(0, 1)}}, ("x", "t"), ("u",), engine="jets", create_graph=False)
    assert not f.data["u"][(0, 1)].requires_grad
    assert math.isfinite(float(f.data["u"][(0, 1)].sum()))


def test_input_partials_are_one_row_or_zero_until_a_nonlinearity_fills_them():
    plan = plan_for(2, [(0,), (1,), (0, 0)])
    x = torch.rand(7, 2, dtype=torch.float64)
    jet = Jet.input(x, plan)
    assert [None if c is None else tuple(c.shape) for c in jet.comps] == [(7, 2), (1, 2), (1, 2), None]
    w, b = torch.randn(3, 2, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    z = linear(jet, w, b)
    assert z.comps[plan.pos[(0,)]].shape == (1, 3) and z.comps[plan.pos[(0, 0)]] is None
    torch.testing.assert_close(z.partial((0,)), w[:, 0].expand(7, 3))  # full-shaped on request
    torch.testing.assert_close(z.partial((0, 0)), torch.zeros(7, 3, dtype=torch.float64))
    h = z.tanh()
    assert h.comps[plan.pos[(0, 0)]].shape == (7, 3)
    t = torch.tanh(x @ w.T + b)
    torch.testing.assert_close(h.partial((0, 0)), -2 * t * (1 - t * t) * w[:, 0] ** 2)


def test_reductions_and_indexing_over_points_see_every_point_of_a_constant_partial():
    plan = plan_for(2, [(0,), (1,)])
    x = torch.rand(6, 2, dtype=torch.float64)
    jet = Jet.input(x, plan)
    torch.testing.assert_close(jet.sum(dim=0).partial((0,)), torch.tensor([6.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(jet.mean(dim=0).partial((1,)), torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert jet[::2].partial((0,)).shape == (3, 2)
    both = torch.cat([TorchJet(jet.comps, plan)[:, 1:], TorchJet(jet.comps, plan)[:, :1]], dim=1)
    torch.testing.assert_close(both.partial((0,)), torch.tensor([[0.0, 1.0]] * 6, dtype=torch.float64))


@pytest.mark.parametrize("name", ["burgers", "poisson2d", "kdv"])
def test_one_jet_pass_over_all_points_gives_the_losses_and_gradients_of_separate_passes(name):
    problem = get_problem(name)
    cfg = pl.SolveConfig(width=8, depth=2, points=64, boundary_points=8, dtype="float64", derivatives="jets",
                         compile="off", hard=False).resolved(problem.recipe)  # soft: conditions in the one pass
    task = make_task(problem, cfg)
    assert task.one_pass
    results = []
    for one_pass in (True, False):
        task.one_pass = one_pass
        task.net.zero_grad()
        terms = task.loss_terms()
        sum(terms.values()).backward()
        results.append(([float(v.detach()) for v in terms.values()], [p.grad.clone() for p in task.parameters()]))
    (l1, g1), (l2, g2) = results
    assert l1 == pytest.approx(l2, rel=1e-12, abs=1e-15)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def test_adam_is_fused_where_supported_and_steps_like_the_default():
    torch.manual_seed(0)
    p1 = torch.nn.Parameter(torch.randn(5, 3, dtype=torch.float64))
    p2 = torch.nn.Parameter(p1.detach().clone())
    fused, plain = make_adam([p1], 1e-2), torch.optim.Adam([p2], lr=1e-2)
    assert fused.param_groups[0]["fused"]
    for _ in range(5):
        for p, opt in ((p1, fused), (p2, plain)):
            opt.zero_grad()
            (p ** 2).sum().backward()
            opt.step()
    torch.testing.assert_close(p1, p2, rtol=1e-12, atol=1e-14)


class _QuotientAndSquare(torch.nn.Module):
    """u / v and u * u of two smooth functions of (x, y), with jet rules through Jet arithmetic."""

    @staticmethod
    def _parts(x):
        u = (x[:, 0:1] * 3).sin() * x[:, 1:2] + x[:, 1:2] * x[:, 1:2] * x[:, 1:2]
        v = (x[:, 0:1] * x[:, 1:2]).cos() + 2.5
        return u, v

    def forward(self, x):
        u, v = self._parts(x)
        return torch.cat([u / v, u * u], dim=1)

    def forward_jet(self, jet):
        u, v = self._parts(TorchJet(jet.comps, jet.plan))
        return _cat_jets([u / v, u * u])


def _cat_jets(parts):
    return Jet([torch.cat([p.comps[k] if p.comps[k] is not None else torch.zeros_like(p.comps[0]) for p in parts], 1)
                for k in range(parts[0].plan.size)], parts[0].plan)


def test_quotient_and_square_rules_match_autograd_to_third_order():
    x = torch.rand(9, 2, dtype=torch.float64) * 2 - 1
    idx = [(0,), (1,), (0, 0), (0, 1), (1, 1), (0, 0, 0), (0, 0, 1), (0, 1, 1), (1, 1, 1)]
    wanted = close_under_prefixes({"q": set(idx), "s": set(idx)})
    net = _QuotientAndSquare()
    jets, ref = jet_fields(net, x, wanted, 2), autograd_fields(net, x, wanted)
    for f in ("q", "s"):
        for i in idx:
            torch.testing.assert_close(jets[f][i], ref[f][i], rtol=1e-10, atol=1e-12, msg=f"{f} {i}")
