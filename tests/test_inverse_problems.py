"""The built-in inverse problems: each one's truth solves its equation at its true parameters (autograd on the
exact solution, finite differences on an ODE reference), its unknowns are listed, its data come from it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pinnlab as pl
from pinnlab.data import reference_data
from pinnlab.derivatives import compute_fields

INVERSE = ("burgers-inverse", "diffusion-inverse", "lorenz-inverse", "lotka-volterra-inverse", "poisson-inverse-k")


@pytest.mark.parametrize("name", INVERSE)
def test_each_inverse_problem_is_registered_with_its_unknowns_and_default_data(name):
    prob = pl.get_problem(name)
    assert prob.recipe.data_from_reference > 0
    text = prob.summary()
    assert "samples of the reference" in text
    if name == "poisson-inverse-k":  # its unknown is a function: the network's second output
        assert not prob.unknowns and prob.fields == ("u", "k") and prob.recipe.measured == ("u",)
    else:
        assert prob.unknowns and all(u.true is not None and u.guess != u.true for u in prob.unknowns.values())
        assert all(f"{k} (guess" in text for k in prob.unknowns)


class _Exact(torch.nn.Module):
    def __init__(self, problem):
        super().__init__()
        self.problem = problem

    def forward(self, x):
        out = self.problem.exact(*(x[:, i] for i in range(x.shape[1])))
        return torch.stack(list(out) if isinstance(out, tuple) else [out], dim=1)


@pytest.mark.parametrize("name", ["diffusion-inverse", "poisson-inverse-k"])
def test_the_exact_solution_solves_the_equation_at_the_true_parameters(name):
    prob = pl.get_problem(name)
    lo, hi = prob.domain.lo, prob.domain.hi
    x = torch.as_tensor(lo + (hi - lo) * np.random.default_rng(0).random((200, prob.domain.dim)))
    f = compute_fields(_Exact(prob), x.requires_grad_(True), prob.requests["residual"], prob.domain.names,
                       prob.fields, "autograd")
    for r in prob.residual_terms(f):
        assert float(r.detach().abs().max()) < 1e-10
    # and not at the initial guess: the data have something to decide
    if prob.unknowns:
        guess = pl.fields.Params(**{**prob.params, **{k: u.guess for k, u in prob.unknowns.items()}})
        assert max(float(r.detach().abs().max()) for r in prob.residual_terms(f, guess)) > 0.1


@pytest.mark.parametrize("name", ["lorenz-inverse", "lotka-volterra-inverse"])
def test_the_ode_reference_solves_the_system_at_the_true_parameters(name):
    prob = pl.get_problem(name)
    ev = prob.evaluation()
    t, y = ev.axes["t"], ev.values
    dy = np.gradient(y, t, axis=0, edge_order=2)
    pts = torch.as_tensor(t[:, None])
    data = {k: {(): torch.as_tensor(y[:, j]), (0,): torch.as_tensor(dy[:, j])} for j, k in enumerate(prob.fields)}
    from pinnlab.fields import Fields
    res = prob.residual_terms(Fields(("t",), prob.fields, pts, data))
    scale = np.abs(dy).max()
    for r in res:  # second-order differences on the reference's 1001 times
        assert float(r.abs()[5:-5].max()) < 2e-3 * scale


def test_unmeasured_fields_get_no_synthetic_data():
    prob = pl.get_problem("poisson-inverse-k")
    data = reference_data(prob, 50, fields=prob.recipe.measured)
    assert set(data.values) == {"u"}
    np.testing.assert_allclose(data.values["u"], np.sin(np.pi * data.points[:, 0]), atol=1e-12)
