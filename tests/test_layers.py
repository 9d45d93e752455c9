"""Layer kinds: jets against autograd, initialisation scales, Yat's finiteness, options, user kinds."""

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import pinnlab as pl
from pinnlab.derivatives import compute_fields, resolve_engine
from pinnlab.fields import close_under_prefixes
from pinnlab.layers import LAYER_KINDS, check_options, layer_kind, layer_names, register_layer
from pinnlab.layers.auto import Auto
from pinnlab.layers.dense import Dense
from pinnlab.layers.init import INIT_SCHEMES, init_std
from pinnlab.layers.laaf import LAAF, slope_recovery
from pinnlab.layers.sine import Sine
from pinnlab.layers.yat import Yat

# every kind written here, with its non-default forms too
KINDS = [
    ("tanh", {}),
    ("sine", {}),
    ("sine", {"omega0": 30.0}),
    ("yat", {}),
    ("yat", {"learn_eps": True, "alpha": "nmn", "eps": 0.3}),
    ("yat", {"alpha": "fixed"}),
    ("auto", {}),
    ("auto", {"sign": "soft"}),
    ("laaf", {}),
    ("laaf", {"mode": "layer", "n": 5.0}),
    ("residual", {}),
    ("residual", {"activation": "sigmoid", "alpha": 0.5}),
]
ORDER_3 = {"u": {(0,), (1,), (0, 0), (0, 1), (1, 1), (0, 0, 0), (0, 0, 1), (0, 1, 1), (1, 1, 1)},
           "v": {(0, 0, 1), (1, 1)}}


def _perturb(net: torch.nn.Module, seed: int) -> None:
    """Move every parameter off its initial value so no derivative is trivially zero or one."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))


@pytest.mark.parametrize("kind,opts", KINDS, ids=[f"{k}-{'-'.join(f'{a}={b}' for a, b in o.items())}" for k, o in KINDS])
def test_jets_match_autograd_orders_1_to_3(kind, opts):
    torch.manual_seed(0)
    net = pl.Net(2, 2, width=12, depth=3, layer=kind, bounds=([-1.0, 0.0], [1.0, 2.0]), **opts).double()
    _perturb(net, 1)
    wanted = close_under_prefixes(ORDER_3)
    assert resolve_engine(net, wanted, "jets") == "jets", f"{kind} has no jet rules"
    pts = torch.rand(40, 2, dtype=torch.float64) * torch.tensor([2.0, 2.0]) + torch.tensor([-1.0, 0.0])
    args = (pts, ORDER_3, ("x", "t"), ("u", "v"))
    jet = compute_fields(net, *args, engine="jets")
    ref = compute_fields(net, *args, engine="autograd")
    for f in ("u", "v"):
        for idx in wanted[f]:
            a, b = jet.data[f][idx], ref.data[f][idx]
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11, msg=f"{kind} {opts} {f}{idx}")


@pytest.mark.parametrize("kind,opts", KINDS[1:], ids=[k for k, _ in KINDS[1:]])
def test_parameter_gradients_through_jets_match_autograd(kind, opts):
    torch.manual_seed(2)
    net = pl.Net(2, 1, width=8, depth=2, layer=kind, **opts).double()
    _perturb(net, 3)
    pts = torch.rand(30, 2, dtype=torch.float64) * 2 - 1
    grads = []
    for engine in ("jets", "autograd"):
        net.zero_grad()
        f = compute_fields(net, pts, {"u": {(0, 0), (1,)}}, ("x", "t"), ("u",), engine=engine)
        ((f.u.t - f.u.xx) ** 2).mean().backward()
        # a parameter the residual does not reach (the head's bias here) has no grad in autograd, zero in jets
        grads.append([torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in net.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-11)


# -- initialisation scales ---------------------------------------------------------------------

def _var(w: torch.Tensor) -> float:
    return float(w.detach().double().var())


@pytest.mark.parametrize("scheme", ["xavier", "he", "lecun"])
def test_normal_schemes_have_their_stated_variance(scheme):
    torch.manual_seed(0)
    layer = Dense(300, 200, pl.layers.activations.ACTIVATIONS["tanh"], init=scheme)
    assert _var(layer.linear.weight) == pytest.approx(init_std(scheme, 300, 200) ** 2, rel=0.03)
    assert float(layer.linear.weight.detach().mean()) == pytest.approx(0.0, abs=3e-3)


def test_orthogonal_scheme_gives_orthonormal_rows():
    torch.manual_seed(0)
    w = Dense(64, 32, pl.layers.activations.ACTIVATIONS["tanh"], init="orthogonal").linear.weight.detach()
    torch.testing.assert_close(w @ w.T, torch.eye(32), atol=1e-5, rtol=0)


def test_dense_default_is_xavier():
    torch.manual_seed(0)
    w = pl.Net(1, 1, width=300, depth=2).hidden[1].linear.weight
    assert _var(w) == pytest.approx(2 / 600, rel=0.03)


def test_sine_siren_initialisation():
    torch.manual_seed(0)
    for omega0 in (1.0, 3.0, 30.0):
        first, hidden = Sine(200, 300, first=True, omega0=omega0), Sine(200, 300, omega0=omega0)
        w1, w2 = first.linear.weight.detach(), hidden.linear.weight.detach()
        assert float(w1.abs().max()) <= 1 / 200
        assert _var(w1) == pytest.approx((1 / 200) ** 2 / 3, rel=0.03)  # U(−a, a) has variance a²/3
        bound = math.sqrt(6 / 200) / omega0
        assert float(w2.abs().max()) <= bound
        assert _var(w2) == pytest.approx(bound**2 / 3, rel=0.03)
    # another scheme replaces SIREN's draw
    assert _var(Sine(200, 300, init="he").linear.weight) == pytest.approx(2 / 200, rel=0.03)


@pytest.mark.parametrize("sign", ["pm", "soft"])
@pytest.mark.parametrize("scheme", ["default", "he"])
def test_auto_weights_have_the_init_scale(sign, scheme):
    torch.manual_seed(0)
    layer = Auto(300, 200, init=scheme, sign=sign)
    std = init_std("xavier" if scheme == "default" else scheme, 300, 200)
    assert _var(layer.weight) == pytest.approx(std**2, rel=0.03)
    assert float(layer.weight.detach().mean()) == pytest.approx(0.0, abs=3 * std / math.sqrt(60000) * 3)
    assert all(torch.isfinite(p).all() for p in layer.parameters())


def test_auto_pm_weights_are_exactly_the_draw():
    torch.manual_seed(5)
    w0 = torch.empty(40, 30)
    pl.layers.init.xavier_default(w0)
    torch.manual_seed(5)
    layer = Auto(30, 40)
    torch.testing.assert_close(layer.weight.detach(), w0, rtol=1e-5, atol=1e-6)


def test_auto_step_is_multiplicative():
    """A small step on the log-parameters changes w by about −η (w⁺ + w⁻) g elementwise (not −η g)."""
    torch.manual_seed(0)
    layer = Auto(3, 2).double()
    wp, wm = torch.exp(layer.a_plus.detach()), torch.exp(layer.a_minus.detach())
    g = torch.randn(2, 3, dtype=torch.float64)
    (layer.weight * g).sum().backward()
    eta = 1e-6
    before = layer.weight.detach().clone()
    with torch.no_grad():
        layer.a_plus -= eta * layer.a_plus.grad
        layer.a_minus -= eta * layer.a_minus.grad
    torch.testing.assert_close(layer.weight.detach() - before, -eta * (wp**2 + wm**2) * g, rtol=1e-4, atol=1e-14)


def test_yat_default_init_is_lecun():
    torch.manual_seed(0)
    assert _var(Yat(300, 200).weight) == pytest.approx(1 / 300, rel=0.03)


def test_laaf_starts_as_a_plain_dense_layer_and_recovery_term():
    torch.manual_seed(0)
    layers = [LAAF(4, 6, mode="neuron"), LAAF(6, 6, mode="layer", n=5.0)]
    for m in layers:
        torch.testing.assert_close(m.slope(), torch.ones_like(m.slope()))
        x = torch.randn(7, m.linear.in_features)
        torch.testing.assert_close(m(x), torch.tanh(m.linear(x)))
    torch.testing.assert_close(slope_recovery(layers), torch.tensor(math.exp(-1.0)))
    with torch.no_grad():
        layers[0].a.fill_(0.2)  # slope 2
    torch.testing.assert_close(slope_recovery(layers), torch.tensor(2 / (math.e**2 + math.e)))


def test_bad_init_scheme_is_one_line_config_error():
    with pytest.raises(pl.ConfigError, match=r"unknown init scheme 'glorot' \(allowed: default, xavier"):
        pl.Net(1, 1, init="glorot")
    for scheme in INIT_SCHEMES:
        for kind in ("tanh", "sine", "yat", "auto", "laaf"):
            pl.Net(2, 1, width=4, depth=2, layer=kind, init=scheme)


# -- Yat's finiteness -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_yat_is_finite_at_x_equal_w(dtype):
    torch.manual_seed(0)
    layer = Yat(3, 5).to(dtype)
    x = layer.weight.detach().clone().requires_grad_(True)  # row j sits exactly on neuron j's weight
    y = layer(x)
    assert torch.isfinite(y).all()
    s = (layer.weight * layer.weight).sum(-1) + layer.bias
    torch.testing.assert_close(y.diagonal(), (s * s / 1.0).detach())  # d = 0, eps = 1, alpha = 1
    y.sum().backward()
    assert torch.isfinite(x.grad).all() and all(torch.isfinite(p.grad).all() for p in layer.parameters())


@pytest.mark.parametrize("dtype,scale", [(torch.float32, 1e6), (torch.float64, 1e100)])
def test_yat_is_finite_for_large_inputs(dtype, scale):
    torch.manual_seed(0)
    layer = Yat(3, 5).to(dtype)
    u = torch.randn(4, 3, dtype=dtype)
    u = u / u.norm(dim=1, keepdim=True)
    y = layer(scale * u)
    assert torch.isfinite(y).all()
    # far away, (w·x + b)² / ‖x − w‖² tends to (w·u)²
    torch.testing.assert_close(y, (u @ layer.weight.T).detach() ** 2, rtol=1e-3, atol=1e-6)


def test_yat_clamp_only_touches_the_value():
    """Rounding can make d < 0 near x = w; the clamp must not cut the gradient there."""
    layer = Yat(2, 1).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.3, -0.7]]))
    x = torch.tensor([[0.3, -0.7]], dtype=torch.float64, requires_grad=True)
    y = layer(x)
    g, = torch.autograd.grad(y.sum(), x)
    s = float((layer.weight @ x.detach().T + layer.bias).detach())
    # at d = 0: ∂y/∂x = 2 s w / ε (the ∂d/∂x = 2(x − w) term vanishes)
    torch.testing.assert_close(g, 2 * s * layer.weight.detach() / 1.0)


def test_yat_learned_eps_stays_positive_and_matches_its_init():
    layer = Yat(2, 3, learn_eps=True, eps=0.25)
    assert float(layer.eps()) == pytest.approx(0.25, rel=1e-6)
    with torch.no_grad():
        layer.eps_raw.fill_(-50.0)
    assert float(layer.eps()) > 0


# -- options ------------------------------------------------------------------------------------

def test_options_by_keyword_and_by_string():
    net = pl.Net(1, 1, width=4, depth=2, layer="sine", omega0=3)
    assert all(m.omega0 == 3.0 for m in net.hidden)
    opts = check_options(layer_kind("yat"), {"eps": "0.5", "learn_eps": "true", "alpha": "nmn"})
    assert opts == {"eps": 0.5, "learn_eps": True, "alpha": "nmn"}
    net = pl.Net(1, 1, width=4, depth=2, layer="auto", sign="soft", c="0.25")
    assert all(m.sign == "soft" and m.c == 0.25 for m in net.hidden)


@pytest.mark.parametrize("kind,opts,pattern", [
    ("sine", {"omega": 3}, r"unknown option 'omega' for layer 'sine' \(allowed: omega0\)"),
    ("yat", {"epsilon": 1}, r"unknown option 'epsilon' for layer 'yat' \(allowed: eps, learn_eps, alpha\)"),
    ("tanh", {"omega0": 3}, r"unknown option 'omega0' for layer 'tanh' \(allowed: none\)"),
    ("sine", {"omega0": "fast"}, r"option omega0='fast': expected a float"),
    ("sine", {"omega0": -1}, r"omega0=-1.0: expected a positive number"),
    ("yat", {"alpha": "free"}, r"unknown layer 'yat' alpha mode 'free' \(allowed: learn, fixed, nmn\)"),
    ("yat", {"eps": 0}, r"eps=0.0: expected a positive number"),
    ("auto", {"sign": "abs"}, r"unknown layer 'auto' sign form 'abs' \(allowed: pm, soft\)"),
    ("auto", {"activation": "nope"}, r"unknown layer 'auto' activation 'nope' \(allowed: .*tanh"),
    ("laaf", {"mode": "global"}, r"unknown layer 'laaf' mode 'global' \(allowed: layer, neuron\)"),
    ("laaf", {"n": 0.5}, r"n=0.5: expected a number >= 1"),
])
def test_bad_options_are_one_line_config_errors(kind, opts, pattern):
    with pytest.raises(pl.ConfigError, match=pattern) as e:
        pl.Net(1, 1, width=4, depth=2, layer=kind, **opts)
    assert "\n" not in str(e.value)


def test_unknown_kind_names_the_allowed_ones():
    with pytest.raises(pl.ConfigError, match=r"unknown layer kind 'siren' \(allowed: .*auto.*laaf.*sine.*tanh.*yat"):
        pl.Net(1, 1, layer="siren")


def test_cli_rejects_unknown_layer_option_with_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pinnlab.cli", "solve", "poisson1d", "--layer", "sine",
                        "--layer-opt", "omega=3", "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert r.returncode == 2
    assert "unknown option 'omega' for layer 'sine' (allowed: omega0)" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.skipif("relu" not in layer_names(), reason="relu is not offered by the activation zoo")
def test_relu_warns_that_second_derivatives_vanish():
    with pytest.warns(UserWarning, match="(?i)second derivative"):
        pl.Net(1, 1, width=4, depth=2, layer="relu")


# -- a user's own kind ------------------------------------------------------------------------

class Cubic(torch.nn.Module):
    """A user's layer with no jet rules: y = z + k z³ with z = W x + b."""

    def __init__(self, n_in, n_out, k):
        super().__init__()
        self.linear, self.k = torch.nn.Linear(n_in, n_out), k

    def forward(self, x):
        z = self.linear(x)
        return z + self.k * z**3


@pytest.fixture
def cubic_kind():
    register_layer("cubic", lambda n_in, n_out, first=False, k=0.1: Cubic(n_in, n_out, k), {"k": 0.1},
                   "z + k z^3")
    yield "cubic"
    LAYER_KINDS.pop("cubic", None)


def test_user_kind_works_through_the_autograd_fallback(cubic_kind):
    torch.manual_seed(0)
    net = pl.Net(1, 1, width=3, depth=1, layer=cubic_kind, k="0.5").double()
    assert net.hidden[0].k == 0.5
    wanted = close_under_prefixes({"u": {(0, 0, 0)}})
    assert resolve_engine(net, wanted, "auto") == "autograd"
    pts = torch.linspace(-1, 1, 9, dtype=torch.float64)[:, None]
    f = compute_fields(net, pts, {"u": {(0, 0, 0)}}, ("x",), ("u",), engine="jets")  # falls back, same numbers
    # closed form: u = Σ_j c_j (z_j + k z_j³) + c0 with z_j = a_j x + b_j → u''' = Σ_j c_j 6 k a_j³
    a, c = net.hidden[0].linear.weight[:, 0], net.head.weight[0]
    expected = (c * 6 * 0.5 * a**3).sum().expand(9)
    torch.testing.assert_close(f.u.xxx.value if hasattr(f.u.xxx, "value") else f.u.xxx, expected.detach())
    with pytest.raises(pl.ConfigError, match=r"unknown option 'q' for layer 'cubic' \(allowed: k\)"):
        pl.Net(1, 1, layer=cubic_kind, q=1)


def test_user_kind_solves(cubic_kind, tmp_path):
    cfg = pl.SolveConfig(layer=cubic_kind, layer_options={"k": 0.2}, steps=20, lbfgs_steps=0, width=8, depth=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pl.solve("poisson1d", cfg, out=tmp_path / "run")
    assert res.report["status"] == "completed" and math.isfinite(res.rel_l2)


# -- training smoke test -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sine", "yat", "auto", "laaf"])
def test_every_kind_trains_without_nan_with_its_defaults(kind, tmp_path):
    cfg = pl.SolveConfig(layer=kind, steps=60, lbfgs_steps=10, points=128, seed=1)
    res = pl.solve("poisson1d", cfg, out=tmp_path / "run")
    assert res.report["status"] == "completed"
    assert math.isfinite(res.rel_l2) and math.isfinite(res.report["final_loss"])
    assert res.report["final_loss"] < res.history[0]["loss"]


def test_laaf_slope_recovery_term_reaches_the_loss(tmp_path):
    cfg = pl.SolveConfig(layer="laaf", layer_options={"recovery": 1.0}, steps=20, lbfgs_steps=0, points=64)
    res = pl.solve("poisson1d", cfg, out=tmp_path / "run")
    assert res.history[0]["loss_slope_recovery"] == pytest.approx(math.exp(-1.0), rel=1e-5)  # slopes start at 1
    assert "loss_slope_recovery" not in pl.solve("poisson1d", pl.SolveConfig(layer="laaf", steps=5, lbfgs_steps=0,
                                                  points=64), out=tmp_path / "off").history[0]


# -- seed 002's other knobs: layer normalisation and early stopping, end to end ----------------------

def test_early_stop_on_heldout_residual_stops_adam_and_says_why(tmp_path):
    # lr 1e-9 leaves the held-out residual flat: the first evaluation sets the best, the next two do not
    # beat it by 0.1%, so Adam stops at the third evaluation (step 30) of its 1000-step budget
    cfg = pl.SolveConfig(steps=1000, lbfgs_steps=0, lr=1e-9, eval_every=10, early_stop=2, points=64, width=8, depth=2)
    res = pl.solve("poisson1d", cfg, out=tmp_path / "stopped")
    assert res.report["adam_steps"] == 30
    assert res.report["adam_stop_reason"].startswith("early stop at step 30: held-out residual not improved in 2 ")
    full = pl.solve("poisson1d", pl.SolveConfig(steps=40, lbfgs_steps=0, lr=1e-9, eval_every=10, points=64, width=8,
                                                depth=2), out=tmp_path / "full")
    assert full.report["adam_steps"] == 40 and full.report["adam_stop_reason"] == "step budget"


def test_early_stop_waits_while_the_heldout_residual_improves(tmp_path):
    cfg = pl.SolveConfig(steps=60, lbfgs_steps=0, lr=1e-2, eval_every=10, early_stop=2, points=64, width=8, depth=2)
    res = pl.solve("poisson1d", cfg, out=tmp_path / "run")
    evals = [r["heldout_residual"] for r in res.history if r.get("heldout_residual") is not None][:6]
    # stop exactly when (and only when) two evaluations in a row fail to improve on the best by 0.1%
    best, wait, expected = math.inf, 0, 60
    for i, h in enumerate(evals):
        if h < best * (1 - 1e-3):
            best, wait = h, 0
        else:
            wait += 1
            if wait == 2:
                expected = 10 * (i + 1)
                break
    assert res.report["adam_steps"] == expected


def test_cli_layer_norm_and_early_stop(run_cli, tmp_path):
    out = tmp_path / "run"
    rc, stdout, stderr = run_cli(["solve", "poisson1d", "--layer", "sine", "--layer-norm", "--steps", "500",
                                  "--lbfgs-steps", "0", "--lr", "1e-9", "--eval-every", "5", "--early-stop", "1",
                                  "--width", "8", "--depth", "2", "--points", "32", "--out", str(out)])
    assert rc == 0, stderr
    assert "Adam: early stop at step 10" in stdout
    config = json.loads((out / "config.json").read_text())["config"]
    report = json.loads((out / "report.json").read_text())
    assert config["layer_norm"] is True and config["early_stop"] == 1 and report["adam_steps"] == 10


def test_layer_norm_net_normalises_every_hidden_layer(tmp_path):
    torch.manual_seed(0)
    net = pl.Net(1, 1, width=16, depth=3, layer="yat", layer_norm=True)
    assert len(net.norms) == 3
    res = pl.solve("poisson1d", pl.SolveConfig(layer="yat", layer_norm=True, steps=30, lbfgs_steps=5, points=64),
                   out=tmp_path / "run")
    assert res.net.norms is not None and math.isfinite(res.rel_l2)


def test_documented_user_kind_example_runs(tmp_path, monkeypatch, capsys):
    """docs/layers.md's example, run as written (a shorter budget), with its jets checked against autograd."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "layers.md").read_text()
    block = text.split("<!-- example: user kind", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert "steps=300" in block
    monkeypatch.chdir(tmp_path)  # the example's run directory lands here
    try:
        exec(compile(block.replace("steps=300", "steps=30"), "docs/layers.md", "exec"), {})
        rel_l2, engine = capsys.readouterr().out.split()
        assert engine == "jets" and math.isfinite(float(rel_l2))
        torch.manual_seed(0)
        net = pl.Net(2, 1, width=6, depth=2, layer="isru", a="0.5").double()
        _perturb(net, 4)
        pts = torch.rand(20, 2, dtype=torch.float64) * 2 - 1
        req = {"u": {(0, 0, 0), (0, 1), (1,)}}
        assert resolve_engine(net, close_under_prefixes(req), "jets") == "jets"
        jet, ref = (compute_fields(net, pts, req, ("x", "t"), ("u",), engine=e) for e in ("jets", "autograd"))
        for idx in close_under_prefixes(req)["u"]:
            torch.testing.assert_close(jet.data["u"][idx], ref.data["u"][idx], rtol=1e-9, atol=1e-11)
    finally:
        LAYER_KINDS.pop("isru", None)


@pytest.mark.slow
@pytest.mark.parametrize("problem", sorted(pl.registry.builtin_problems()))
def test_every_kind_trains_without_nan_on_every_builtin_problem(problem, tmp_path):
    """The issue's target: each kind's defaults stay finite on every built-in problem (a short budget)."""
    for kind in ("sine", "yat", "auto", "laaf"):
        cfg = pl.SolveConfig(layer=kind, steps=40, lbfgs_steps=5, points=64, boundary_points=16, width=16, depth=2,
                             seed=0)
        res = pl.solve(problem, cfg, out=tmp_path / kind)
        assert res.report["status"] == "completed", (problem, kind, res.report["message"])
        assert math.isfinite(res.rel_l2) and math.isfinite(res.report["final_loss"]), (problem, kind)


@pytest.mark.parametrize("layer", ["tanh", "yat", "laaf", "auto", "gelu"])
def test_layer_norm_stays_regular_at_the_domain_centre(layer):
    """With zero biases every hidden feature is 0 where the scaled input is 0, and layer normalisation
    divides that zero-variance vector by sqrt(eps): u_x was -7.5e6 there (tanh 32x3)."""
    torch.manual_seed(0)
    net = pl.Net(1, 1, width=32, depth=3, layer=layer, layer_norm=True).double()
    x = torch.tensor([[0.0], [0.01], [0.5]], dtype=torch.float64, requires_grad=True)
    (ux,) = torch.autograd.grad(net(x).sum(), x)
    assert ux.abs().max() < 100, ux.squeeze().tolist()


def test_residual_layer_adds_its_input_where_the_widths_agree():
    torch.manual_seed(0)
    net = pl.Net(1, 1, width=5, depth=3, layer="residual", activation="sigmoid", alpha=0.3).double()
    h = torch.randn(4, 5, dtype=torch.float64)
    block = net.hidden[1]
    want = h + 0.3 * torch.sigmoid(h @ block.linear.weight.T + block.linear.bias)
    torch.testing.assert_close(block(h), want, rtol=1e-14, atol=0)
    x = torch.randn(4, 1, dtype=torch.float64)  # the first layer (1 -> 5) has no skip
    torch.testing.assert_close(net.hidden[0](x), torch.sigmoid(net.hidden[0].linear(x)), rtol=1e-14, atol=0)
    with pytest.raises(pl.ConfigError, match="activation"):
        pl.Net(1, 1, width=5, depth=2, layer="residual", activation="swish2")
