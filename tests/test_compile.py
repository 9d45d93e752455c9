"""--compile: the decision rule, and a compiled jet loss equal to the eager one."""

import pytest
import torch

import pinnlab as pl
from pinnlab.solvers.compiling import AUTO_MIN_STEPS, Compiled, should_compile
from pinnlab.solvers.steps import CompiledStep


def test_auto_compiles_long_jet_runs_only():
    assert should_compile("auto", "jets", AUTO_MIN_STEPS, "cuda")
    assert not should_compile("auto", "jets", AUTO_MIN_STEPS - 1, "cuda")
    assert not should_compile("off", "jets", 10**6, "cuda")
    assert should_compile("on", "jets", 1, "cuda")


def test_nested_autograd_is_never_compiled():
    with pytest.warns(UserWarning, match="double backward"):
        assert not should_compile("on", "autograd", 10**6, "cpu")
    assert not should_compile("auto", "autograd", 10**6, "cpu")


def test_compiler_failure_falls_back_to_eager_with_a_warning(monkeypatch):
    calls = []

    def fn(x):
        calls.append(1)
        return x * 2

    c = Compiled(fn)
    monkeypatch.setattr(c, "_compile", lambda *a: (_ for _ in ()).throw(RuntimeError("inductor exploded")))
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: lambda *a: (_ for _ in ()).throw(RuntimeError("dynamo too")))
    with pytest.warns(UserWarning, match="dynamo too"):
        assert float(c(torch.tensor(3.0))) == 6.0
    assert c.failed and float(c(torch.tensor(1.0))) == 2.0 and len(calls) == 2


def test_a_problem_error_only_tracing_raises_falls_back_and_a_real_one_is_raised(monkeypatch):
    """A residual with ``if u.mean() > 0:`` fails tracing inside the problem, which reports it as its own
    error: the eager call tells it from a real mistake, which still raises."""
    from pinnlab.errors import ProblemError

    def fn(x):
        if x.sum() < 0:
            raise ProblemError("residual raised ValueError: a real mistake")
        return x * 2

    c = Compiled(fn)
    monkeypatch.setattr(c, "_compile", lambda *a: (_ for _ in ()).throw(
        ProblemError("residual raised RuntimeError: value out of a tracing tensor")))
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: fn)
    with pytest.warns(UserWarning, match="using torch.compile"):
        assert float(c(torch.tensor(3.0))) == 6.0
    assert c.via_dynamo and not c.failed and float(c(torch.tensor(1.0))) == 2.0
    with pytest.raises(ProblemError, match="a real mistake"):
        Compiled(fn)(torch.tensor(-1.0))


@pytest.mark.slow
def test_a_residual_branching_on_tensor_values_trains_compiled(tmp_path):
    problem = pl.Problem(name="branchy", domain=pl.Box(x=(0.0, 1.0)), fields=("u",),
                         residual=lambda f, p: f.u.xx + (2.0 if f.u.mean() > -1e9 else 0.0),
                         conditions=[pl.Dirichlet(u=0.0, on="x")], exact=lambda x: x * (1 - x))
    cfg = pl.SolveConfig(steps=3, lbfgs_steps=0, points=32, boundary_points=2, width=8, depth=1, compile="on")
    with pytest.warns(UserWarning, match="compiling the step failed"):
        assert pl.solve(problem, cfg, out=tmp_path / "run").report["status"] == "completed"


@pytest.mark.slow
def test_data_dependent_control_flow_goes_to_torch_compile_not_into_one_wrong_graph():
    def fn(x):
        y = x * 2
        if y.sum() > 0:  # one traced graph would keep only the branch taken while tracing
            return y
        return -y

    c = Compiled(fn)
    with pytest.warns(UserWarning, match="one graph failed"):
        torch.testing.assert_close(c(torch.ones(3)), 2 * torch.ones(3))
    torch.testing.assert_close(c(-torch.ones(3)), 2 * torch.ones(3))
    assert c.via_dynamo and not c.failed


@pytest.mark.slow
def test_compiled_once_per_input_signature_then_called_without_tracing():
    traced = []

    def fn(params, x):
        traced.append(x.dtype)
        return {"sum": (params[0] * x).sum()}, [torch.sin(x) * params[1]]

    c = Compiled(fn)
    p = [torch.tensor(2.0), torch.tensor(3.0)]
    x = torch.linspace(0, 1, 5)
    for _ in range(3):
        terms, (y,) = c(p, x)
    assert traced == [torch.float32] and not c.failed  # one trace (make_fx), then the compiled graph alone
    torch.testing.assert_close(terms["sum"], (2 * x).sum())
    torch.testing.assert_close(y, 3 * torch.sin(x))
    terms, _ = c([t.double() for t in p], x.double())  # a new signature (L-BFGS in float64) compiles again
    assert traced == [torch.float32, torch.float64] and terms["sum"].dtype == torch.float64
    terms, _ = c(p, torch.linspace(0, 2, 5))  # new values, same signature: no new trace
    assert len(traced) == 2 and float(terms["sum"]) == pytest.approx(10.0)


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["tanh", "laaf", "yat", "sine", "auto"])
def test_compiled_loss_and_gradients_equal_eager(layer, compile_device):
    cfg = pl.SolveConfig(layer=layer, width=8, depth=2, steps=3, lbfgs_steps=0, points=64, dtype="float64",
                         compile="on", seed=3, device=compile_device)
    from pinnlab.registry import get_problem
    from pinnlab.solvers.pinn import make_task
    problem = get_problem("burgers")
    task = make_task(problem, cfg.resolved(problem.recipe))
    eager = task.loss_terms()
    sum(eager.values()).backward()
    eager_grads = [p.grad.clone() for p in task.parameters()]
    task.net.zero_grad(set_to_none=True)
    mode = task.step_mode("lbfgs")
    compiled = mode.loss_and_grads(lambda t: sum(t.values()))
    assert mode.compiles and mode.active
    assert list(compiled) == list(eager)  # the same terms (slope recovery included for laaf)
    for k in eager:
        assert compiled[k].device.type == compile_device
        torch.testing.assert_close(compiled[k], eager[k].detach(), rtol=1e-10, atol=1e-14)
    for p, g in zip(task.parameters(), eager_grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)


def test_the_jet_loss_is_traced_once_not_again_on_the_second_step():
    from torch._dynamo.testing import CompileCounter

    from pinnlab.jets import _PLANS
    from pinnlab.registry import get_problem
    from pinnlab.solvers.pinn import make_task
    _PLANS.clear()  # a plan cache filled by the first call used to fail a guard on the second one
    problem = get_problem("burgers")
    # soft conditions: one frame (burgers' recipe is hard now; its transform breaks the graph into 6 frames, all
    # traced on the first call too)
    task = make_task(problem, pl.SolveConfig(width=8, depth=2, points=64, boundary_points=8, compile="off",
                                             dtype="float64", hard=False).resolved(problem.recipe))
    counter = CompileCounter()
    torch._dynamo.reset()
    loss = torch.compile(task.loss_terms, backend=counter)
    for _ in range(3):
        loss()
    assert counter.frame_count == 1


@pytest.mark.slow
def test_compile_time_is_reported_apart_from_the_time_per_step(tmp_path):
    cfg = pl.SolveConfig(width=8, depth=2, steps=5, lbfgs_steps=2, points=64, boundary_points=8, compile="on")
    seen = []
    r = pl.solve("burgers", cfg, out=tmp_path / "run",
                 progress=lambda st, row: seen.append((st.step, st.lbfgs_iters, dict(row)))).report
    assert r["compiled"] and r["compile_s"] > 0
    assert 0 < r["ms_per_step"] < 1e3 * r["compile_s"]
    # the progress display is told the budget, and told before each phase's compiling step
    events = [(step, lb, row) for step, lb, row in seen if "event" in row]
    assert events == [(0, 0, {"event": "start", "total_steps": 7}),
                      (0, 0, {"event": "compiling", "phase": "adam"}),
                      (5, 0, {"event": "compiling", "phase": "lbfgs"})]
    history = (tmp_path / "run" / "history.csv").read_text()
    assert "event" not in history and "compiling" not in history


def test_chunk_size_splits_large_cpu_sets_into_equal_chunks_only():
    from pinnlab.solvers.compiling import CHUNK_BYTES, chunk_size
    assert chunk_size(8192, 1024, "cuda") == 8192  # GPUs want the whole batch
    assert chunk_size(2540, 320, "cpu") == 2540  # fits: no split
    assert chunk_size(4096, 640, "cpu") == 4096
    assert chunk_size(8192, 1024, "cpu") == 2048
    assert chunk_size(20000, 1024, "cpu") == 2000
    for n in (8191, 8192, 10007, 65536):  # chunks cover n, near CHUNK_BYTES each, at most two lengths
        size = chunk_size(n, 1000, "cpu")
        lengths = {len(c) for c in torch.arange(n).split(size)}
        assert len(lengths) <= 2 and size * 1000 <= CHUNK_BYTES and size * 1000 > CHUNK_BYTES / 3


def _task(monkeypatch, problem, chunk_bytes, **cfg):
    from pinnlab.solvers import compiling
    from pinnlab.solvers.pinn import make_task
    monkeypatch.setattr(compiling, "CHUNK_BYTES", chunk_bytes)
    config = pl.SolveConfig(**{"width": 8, "depth": 2, "steps": 3, "lbfgs_steps": 0, "points": 64,
                               "boundary_points": 16, "dtype": "float64", "compile": "on", "seed": 3, **cfg})
    return make_task(problem, config.resolved(problem.recipe))


def _eager_then_compiled(task):
    eager = task.loss_terms()
    sum(eager.values()).backward()
    eager_grads = [p.grad.clone() for p in task.parameters()]
    task.net.zero_grad(set_to_none=True)
    mode = task.step_mode("lbfgs")
    return eager, eager_grads, mode.loss_and_grads(lambda t: sum(t.values())), mode


@pytest.mark.slow
@pytest.mark.parametrize("layer,hard", [("tanh", False), ("laaf", False), ("tanh", True)])
def test_chunked_compiled_step_equals_the_eager_whole_set(monkeypatch, layer, hard):
    from pinnlab.registry import get_problem
    # 8 wide, float64, 4 jet components: 256 bytes a point; 2 KiB chunks split 64 points in 8
    task = _task(monkeypatch, get_problem("burgers"), 2048, layer=layer, hard=hard)
    assert task.chunk == 8
    eager, eager_grads, compiled, mode = _eager_then_compiled(task)
    assert mode.active and mode.whole is None  # the check found the residual pointwise: still in chunks
    assert task.final_report()["chunk_points"] == 8
    assert list(compiled) == list(eager)  # all terms, residual first (conditions and slope recovery apart)
    for k in eager:
        torch.testing.assert_close(compiled[k], eager[k].detach(), rtol=1e-10, atol=1e-14)
    for p, g in zip(task.parameters(), eager_grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("residual", [
    lambda f, p: (f.u.t + p.k * f.u) / f.u.std(),  # scaled by the spread of u: each residual depends on every point
    # a small zero-mean constraint beside the equation: its coupling moves the total loss by less than 1e-6
    lambda f, p: (f.u.t + p.k * f.u, 1e-3 * (0.0 * f.u + f.u.mean()))], ids=["std", "small mean term"])
def test_a_residual_coupling_points_is_not_chunked(monkeypatch, residual):
    problem = pl.Problem(name="coupled", domain=pl.Box(t=(0.0, 4.0)), fields=("u",), params={"k": 1.0},
                         residual=residual,
                         conditions=[pl.Initial(u=1.0)], exact=lambda t, p: torch.exp(-p.k * t))
    task = _task(monkeypatch, problem, 2048)  # 128 bytes a point: chunks of 16
    assert task.chunk is not None
    with pytest.warns(UserWarning, match="couples collocation points"):
        eager, eager_grads, compiled, mode = _eager_then_compiled(task)
    assert mode.whole is not None and mode.active and task.final_report()["chunk_points"] is None
    assert isinstance(task.step_mode("lbfgs"), CompiledStep)  # a later phase is not chunked either
    torch.testing.assert_close(compiled["residual"], eager["residual"].detach(), rtol=1e-10, atol=1e-14)
    for p, g in zip(task.parameters(), eager_grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)


@pytest.mark.slow
def test_cpu_graphs_are_called_from_the_cpp_wrapper(monkeypatch):
    from pinnlab.solvers import compiling
    built = []
    real = compiling._with_cpp_wrapper
    monkeypatch.setattr(compiling, "_with_cpp_wrapper", lambda *a: built.append(real(*a)) or built[-1])
    c = Compiled(lambda p, x: {"y": (p[0] * torch.tanh(x)).sum()})
    x = torch.linspace(-1, 1, 7, dtype=torch.float64)
    out = c([torch.tensor(2.0, dtype=torch.float64)], x)
    assert len(built) == 1 and built[0] is not None  # the C++ wrapper compiled it, no fallback
    torch.testing.assert_close(out["y"], 2 * torch.tanh(x).sum(), rtol=1e-12, atol=1e-14)


@pytest.mark.slow
def test_a_function_updating_its_inputs_is_traced_on_copies_and_updates_them_once_per_call():
    def fn(params, x):
        loss = (params[0] * x).sum()
        params[0].copy_(params[0] - 0.5 * x.sum())  # an in-place update, as Adam's in the graph
        return {"loss": loss}

    c = Compiled(fn)
    p = torch.tensor(2.0, dtype=torch.float64)
    x = torch.ones(4, dtype=torch.float64)
    assert float(c([p], x)["loss"]) == 8.0 and float(p) == 0.0  # tracing did not update it too
    assert float(c([p], x)["loss"]) == 0.0 and float(p) == -2.0
    assert not c.failed and not c.via_dynamo


@pytest.mark.slow
def test_arguments_other_than_tensors_and_lists_of_them_take_the_general_path():
    traced = []

    def fn(inputs, scale):
        traced.append(1)
        return {"y": (inputs["a"] * scale[0]).sum() + inputs["b"].sum()}

    c = Compiled(fn)
    a, b = torch.arange(3.0), torch.ones(2)
    for k in (1.0, 2.0):  # a dict and a tuple: flattened by pytree, compiled once
        assert float(c({"a": a, "b": b}, (torch.tensor(k),))["y"]) == 3.0 * k + 2.0
    assert len(traced) == 1 and not c.failed and not c.via_dynamo
    # tensors and lists of tensors: the shortcut, whose structure (list lengths) is in the key
    g = Compiled(lambda ps, x: {"y": sum(p * x for p in ps).sum()})
    x = torch.ones(4)
    assert float(g([torch.tensor(2.0)], x)["y"]) == 8.0
    assert float(g([torch.tensor(2.0), torch.tensor(1.0)], x)["y"]) == 12.0
    assert len(g._graphs) == 2


@pytest.mark.slow
def test_a_second_compile_of_the_same_step_is_served_by_inductors_cache():
    from torch._dynamo.utils import counters
    fn = lambda ps, x: {"y": (ps[0] * torch.sin(x)).sum()}  # noqa: E731
    x, p = torch.linspace(0, 1, 9), [torch.tensor(1.5)]
    Compiled(fn)(p, x)  # cold or warm, the graph is on disk after this
    counters.clear()
    out = Compiled(fn)(p, x)  # a new instance traces and compiles again: the same graph
    assert counters["inductor"]["fxgraph_cache_hit"] == 1 and counters["inductor"]["fxgraph_cache_bypass"] == 0
    torch.testing.assert_close(out["y"], 1.5 * torch.sin(x).sum())
    assert out["y"].grad_fn is None


def test_cpu_kernels_are_compiled_with_zeroed_stack_variables_where_the_compiler_can():
    # inductor leaves the masked-out lanes of a strided masked load unwritten; a vectorised sin of
    # those lanes changed compiled float32 gradients between processes (docs/derivatives.md)
    import shutil
    import subprocess

    from pinnlab.solvers import compiling
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    accepts = subprocess.run([cxx, compiling.ZERO_INIT_FLAG, "-fsyntax-only", "-x", "c++", "-"], input="int main() {}\n",
                             capture_output=True, text=True).returncode == 0
    flag = Compiled(lambda x: x).options.get("cpp.enable_floating_point_contract_flag", "")
    assert (compiling.ZERO_INIT_FLAG in flag.split()) == accepts
    # the value inductor had is kept in front of the flag, and a compiled gradient is still right
    if accepts:
        assert flag.split()[0] == torch._inductor.config.cpp.enable_floating_point_contract_flag

    def f(p, u):
        loss = lambda u: ((u[517:] + torch.sin(3.0 * p[517:, 0])) ** 2).sum() + ((u[:517] - p[:517, 1]) ** 2).sum()  # noqa: E731
        return torch.func.grad(loss)(u)
    p, u = torch.rand(1003, 2, dtype=torch.float64), torch.rand(1003, dtype=torch.float64)
    exact = torch.cat([2 * (u[:517] - p[:517, 1]), 2 * (u[517:] + torch.sin(3 * p[517:, 0]))])
    torch.testing.assert_close(Compiled(f)(p, u), exact)


def test_no_zeroing_flag_where_the_compiler_refuses_it_or_torch_has_no_place_for_it(monkeypatch):
    from pinnlab.solvers import compiling
    monkeypatch.setattr(compiling.subprocess, "run", lambda *a, **k: type("R", (), {"returncode": 1})())
    compiling.zero_init_options.cache_clear()
    try:
        assert compiling.zero_init_options() == {}
        monkeypatch.delattr(torch._inductor.config.cpp, "enable_floating_point_contract_flag", raising=False)
        compiling.zero_init_options.cache_clear()
        assert compiling.zero_init_options() == {}
    finally:
        monkeypatch.undo()
        compiling.zero_init_options.cache_clear()


def test_a_yat_net_is_compiled_with_the_inductor_options_its_layers_ask_for():
    from pinnlab.nets import Net
    from pinnlab.registry import get_problem
    from pinnlab.solvers.compiling import options_for
    from pinnlab.solvers.pinn import make_task
    assert options_for(Net(2, 1, 8, 2, "yat")) == {"realize_reads_threshold": 3, "pattern_matcher": False}
    assert options_for(Net(2, 1, 8, 2, "yat"), "cuda") == {}  # measured on the CPU only
    assert options_for(Net(2, 1, 8, 2, "tanh")) == {}
    prob = get_problem("burgers")
    for layer, wanted in (("yat", 3), ("tanh", None)):
        cfg = pl.SolveConfig(layer=layer, width=8, depth=2, points=64, boundary_points=8, steps=10,
                             compile="on").resolved(prob.recipe)
        task = make_task(prob, cfg)
        assert task.step_mode("lbfgs").fn.options.get("realize_reads_threshold") == wanted
