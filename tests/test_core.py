"""Core slice: geometry, the field namespace, the autograd engine, the solver and the README example."""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import VALID_PROBLEM

import pinnlab as pl
from pinnlab.derivatives import compute_fields
from pinnlab.fields import close_under_prefixes, parse_derivative

ROOT = Path(__file__).resolve().parents[1]
PINNLAB = [sys.executable, "-m", "pinnlab.cli"]


def test_box_sampling_is_seeded_and_inside():
    box = pl.Box(x=(-1, 1), t=(0, 2))
    for method in ("sobol", "lhs", "uniform"):
        a = box.sample(100, method, np.random.default_rng(3))
        b = box.sample(100, method, np.random.default_rng(3))
        assert a.shape == (100, 2) and np.array_equal(a, b)
        assert box.contains(a).all()
    face = box.sample_face("x", "hi", 10, "sobol", np.random.default_rng(0))
    assert np.all(face[:, 0] == 1) and np.all((face[:, 1] >= 0) & (face[:, 1] <= 2))


def test_derivative_names_parse():
    assert parse_derivative("xxt", ("x", "t")) == (0, 0, 1)
    assert parse_derivative("tx", ("x", "t")) == (0, 1)
    assert parse_derivative("y", ("x", "t")) is None
    assert close_under_prefixes({"u": {(0, 0, 1)}})["u"] == [(), (0,), (0, 0), (0, 0, 1)]


class Known(torch.nn.Module):
    """u = sin(2x) t³ + x² t, v = exp(x) t: partials known in closed form."""

    def forward(self, p):
        x, t = p[:, 0], p[:, 1]
        return torch.stack([torch.sin(2 * x) * t**3 + x**2 * t, torch.exp(x) * t], dim=1)


def test_autograd_engine_matches_closed_form():
    pts = torch.rand(20, 2, dtype=torch.float64)
    f = compute_fields(Known(), pts, {"u": {(0, 0), (0, 1), (1, 1, 1)}, "v": {(0,)}}, ("x", "t"), ("u", "v"),
                       engine="autograd")
    x, t = pts[:, 0], pts[:, 1]
    torch.testing.assert_close(f.u.xx.value, -4 * torch.sin(2 * x) * t**3 + 2 * t)
    torch.testing.assert_close(f.u.xt.value, 6 * torch.cos(2 * x) * t**2 + 2 * x)
    torch.testing.assert_close(f.u.ttt.value, 6 * torch.sin(2 * x))
    torch.testing.assert_close(f.v.x.value, torch.exp(x) * t)
    torch.testing.assert_close(f.u.x.x.value, f.u.xx.value)  # chained names are the same partial


def test_fields_act_like_tensors():
    pts = torch.rand(5, 2, dtype=torch.float64)
    f = compute_fields(Known(), pts, {"u": {(0,)}}, ("x", "t"), ("u", "v"), engine="autograd")
    u = f.u.value
    torch.testing.assert_close(torch.sin(f.u), torch.sin(u))
    torch.testing.assert_close(2 * f.u - f.u * f.u.x, 2 * u - u * f.u.x.value)
    torch.testing.assert_close(f.u.exp(), u.exp())
    torch.testing.assert_close(torch.where(f.u > 0.5, f.u, -f.u), torch.where(u > 0.5, u, -u))
    torch.testing.assert_close(2 ** f.u, 2 ** u)
    assert torch.equal(f.u <= f.v, u <= f.v.value) and torch.equal(f.u[1:3], u[1:3]) and f.u.shape == u.shape


def test_a_string_of_field_names_is_one_field():
    prob = pl.Problem(name="s", domain=pl.Box(x=(0, 1)), fields="psi", residual=lambda f, p: f.psi.xx + 1,
                      conditions=[pl.Periodic(on="x", fields="psi")], exact=lambda x: x)
    assert prob.fields == ("psi",) and prob.conditions[0].fields == ("psi",)


def test_a_problem_file_may_derive_its_problem_from_a_built_in(write_problem):
    path = write_problem("""
        from pinnlab.problems.heat1d import problem as heat
        problem = heat.with_params(alpha=0.2)
    """)
    prob = pl.get_problem(path)
    assert prob.name == "heat1d" and prob.params == {"alpha": 0.2}


def test_problem_requests_and_summary():
    prob = pl.get_problem("burgers")
    assert prob.requests["residual"]["u"] == {(), (0,), (1,), (0, 0)}
    text = prob.summary()
    assert "Cole" in text and "u_t + u u_x" in text


def test_solve_writes_complete_run(tmp_path):
    cfg = pl.SolveConfig(steps=60, lbfgs_steps=20, points=64, boundary_points=2, eval_every=20)
    res = pl.solve("poisson1d", cfg, out=tmp_path / "run")
    rep = json.loads((tmp_path / "run" / "report.json").read_text())
    for key in ("problem", "solver", "layer", "seed", "device", "dtype", "status", "steps", "wall_s", "rel_l2",
                "max_abs_error", "per_field", "final_loss", "heldout_residual", "lbfgs_stop_reason", "versions"):
        assert key in rep, key
    assert rep["status"] == "completed" and rep["steps"] >= 60 and rep["rel_l2"] == res.rel_l2
    assert rep["lbfgs_stop_reason"]
    run = pl.load_run(tmp_path / "run")
    assert run.config["config"]["steps"] == 60 and run.history[-1]["phase"] == "final"
    assert (tmp_path / "run" / "checkpoint.pt").exists() and (tmp_path / "run" / "predictions.npz").exists()


def test_reported_error_is_against_the_exact_solution(tmp_path):
    res = pl.solve("poisson1d", pl.SolveConfig(steps=5, lbfgs_steps=0, points=16, boundary_points=2),
                   out=tmp_path / "r")
    x = torch.linspace(-1, 1, 1001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        pred = res.net(x.float()).double()[:, 0]
    exact = torch.sin(math.pi * x[:, 0])
    expected = float(torch.linalg.norm(pred - exact) / torch.linalg.norm(exact))
    assert res.rel_l2 == pytest.approx(expected, rel=1e-5)


def test_cli_list_and_show():
    out = subprocess.run([*PINNLAB, "list"], capture_output=True, text=True, check=True).stdout
    rows = [line for line in out.splitlines()[1:] if line.strip()]
    assert len(rows) >= 12
    assert {"burgers", "allen-cahn", "kovasznay", "lotka-volterra"} <= {r.split()[0] for r in rows}
    show = subprocess.run([*PINNLAB, "show", "burgers"], capture_output=True, text=True, check=True).stdout
    assert "u_t + u u_x" in show and "reference:" in show


def test_cli_progress_bar_counts_against_the_budget_and_names_a_compile():
    from types import SimpleNamespace

    from pinnlab.cli import _Progress
    bar = _Progress()
    bar(SimpleNamespace(step=30, lbfgs_iters=0, last_eval={}), {"event": "start", "total_steps": 120})
    assert (bar.bar.total, bar.bar.n) == (120, 30)  # a resumed run starts where it stopped
    bar(SimpleNamespace(step=30, lbfgs_iters=0, last_eval={}), {"event": "compiling", "phase": "adam"})
    assert "compiling" in str(bar.bar.postfix)
    bar(SimpleNamespace(step=40, lbfgs_iters=0, last_eval={}), {"step": 40, "phase": "adam", "loss": 0.5})
    assert bar.bar.n == 40 and "compiling" not in str(bar.bar.postfix)
    bar.bar.close()


def test_cli_unknown_problem_is_one_line():
    p = subprocess.run([*PINNLAB, "solve", "nosuch"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "poisson1d" in p.stderr


@pytest.mark.slow
def test_acceptance_poisson1d_defaults(tmp_path):
    """`pinnlab solve poisson1d --out DIR` with the default recipe reaches rel L2 <= 1e-3."""
    p = subprocess.run([*PINNLAB, "solve", "poisson1d", "--out", str(tmp_path / "run"), "--quiet", "--no-plot"],
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    rep = json.loads((tmp_path / "run" / "report.json").read_text())
    assert rep["status"] == "completed" and rep["rel_l2"] <= 1e-3


def test_readme_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    code = code.replace("steps=1500, lbfgs_steps=300", "steps=100, lbfgs_steps=20")  # keep the suite fast
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert ns["result"].report["status"] == "completed"
    assert (tmp_path / ns["result"].run_dir / "report.json").exists()


def test_a_stalled_float32_lbfgs_says_how_to_continue():
    import math

    from pinnlab.solvers.base import Model, SolverTask
    from pinnlab.solvers.training import Schedule, Trainer

    class Flat(SolverTask):  # a gradient but a value that never changes: L-BFGS stops on its change tolerance
        def __init__(self):
            self.model = Model(torch.nn.Linear(1, 1, bias=False))

        def loss_terms(self):
            w = self.net.weight
            return {"residual": 1e-3 + (w - w.detach()).sum()}

        def to_dtype(self, dtype): self.model.to(dtype)
        def evaluate(self): return {"rel_l2": math.nan}
        def final_report(self): return {}
        def predictions(self): return {}

    for dtype, hint in ((torch.float32, True), (torch.float64, False)):
        trainer = Trainer(Flat(), Schedule(steps=0, lbfgs_steps=50, lr=1e-3, lbfgs_dtype=dtype), lambda c: None)
        trainer.optimizer = trainer._make_optimizer("lbfgs")
        trainer._lbfgs(stop=False)
        reason = trainer.state.lbfgs_stop
        assert reason and ("--lbfgs-dtype float64" in reason) == hint, reason


def test_lbfgs_history_rows_give_the_loss_at_their_own_step(tmp_path):
    """Torch's L-BFGS step() returns the loss from before its iterations; a history row must not."""
    cfg = pl.SolveConfig(steps=40, lbfgs_steps=30, points=64, boundary_points=2, eval_every=20)
    res = pl.solve("poisson1d", cfg, out=tmp_path / "run")
    rows = [r for r in pl.load_run(tmp_path / "run").history if r["phase"] == "lbfgs"]
    assert len(rows) >= 2 and rows[-1]["loss"] < rows[0]["loss"]
    # the run ends at L-BFGS's last iterate (its lowest loss), whose loss the report evaluates afresh
    assert rows[-1]["loss"] == pytest.approx(res.report["final_loss"], rel=1e-9)
    assert rows[-1]["loss_residual"] == pytest.approx(res.report["final_loss_terms"]["residual"], rel=1e-9)


def test_conditions_describe_what_they_impose():
    """`pinnlab show` reads these: a derivative condition must not read as a value condition."""
    d = pl.Box(x=(0.0, 1.0), t=(0.0, 2.0))
    assert pl.Neumann(u=0.0, on="x", side="hi").describe(d) == "Neumann on x=1: u_x = 0"
    assert pl.Neumann(u=0.0, on="x", side="lo").describe(d) == "Neumann on x=0: -u_x = 0"
    assert pl.Neumann(u=0.0, on="x").describe(d) == "Neumann on x=0 and x=1: du/dn = 0"
    assert pl.Robin(u=2.0, a=1.0, b=0.5, on="x").describe(d) == "Robin on x=0 and x=1: 1 u + 0.5 du/dn = 2"
    assert pl.InitialRate(u=0.0).describe(d) == "initial rate on t=0: u_t = 0"
    assert pl.Dirichlet(u=0.0, on="x").describe(d) == "Dirichlet on x=0 and x=1: u = 0"


def test_a_problem_file_imports_modules_beside_it_and_its_variable_problem_is_the_one(tmp_path, write_problem):
    (tmp_path / "shared_terms.py").write_text("def decay_rate():\n    return 2.0\n")
    path = write_problem(VALID_PROBLEM.split("\n", 5)[-1].replace('"k": 1.0', '"k": shared_terms.decay_rate()')
                         .replace("problem = Problem(", "import shared_terms\nproblem = Problem(")
                         + "\nfaster = problem.with_params(k=5.0)\n", name="uses_helper.py")
    problem = pl.get_problem(str(path))
    assert problem.params == {"k": 2.0}
    assert str(tmp_path) not in sys.path  # only while the file is imported


def test_an_lbfgs_only_run(tmp_path):
    """No Adam steps: L-BFGS from the initial network, a common PINN baseline."""
    r = pl.solve("poisson1d", pl.SolveConfig(steps=0, lbfgs_steps=30, points=64, boundary_points=2), out=tmp_path / "r")
    assert r.report["adam_steps"] == 0 and r.report["lbfgs_iterations"] > 0 and r.report["rel_l2"] < 0.5
    assert all(row["phase"] != "adam" for row in r.history)
