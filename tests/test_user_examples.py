"""The user-written problems of examples/ (the general default's check, docs/accuracy.md): each loads as
a user's file does, and its closed-form solution satisfies its equations and conditions (autograd)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_problems import ExactModule, _autograd, _scale

from pinnlab.problem import GENERAL_DEFAULT
from pinnlab.registry import get_problem

FILES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


def test_the_three_user_problems_are_there():
    assert {f.name for f in FILES} >= {"fisher_kpp.py", "poisson_exp.py", "decay_chain.py"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_user_problem_has_no_recipe_and_its_solution_is_exact(path):
    prob = get_problem(str(path))
    assert prob.recipe is GENERAL_DEFAULT and prob.recipe.optimizer == "auto"
    module = ExactModule(prob)
    rng = np.random.default_rng(0)
    f = _autograd(prob, module, prob.domain.sample(256, "sobol", rng), prob.requests["residual"])
    for i, r in enumerate(prob.residual_terms(f)):
        assert r.abs().max() < 1e-10 * _scale(f) ** 2, f"{path.stem}: residual {i} is {r.abs().max():.2e}"
    for i, cond in enumerate(prob.conditions):
        f = _autograd(prob, module, cond.sample(prob.domain, 64, "sobol", rng), prob.requests[f"cond{i}"])
        for r in cond.residuals(f, prob.p):
            assert r.abs().max() < 1e-10 * _scale(f), f"{path.stem}: condition {i} off by {r.abs().max():.2e}"


def test_the_check_can_fail():
    """A wrong rate in the decay chain breaks its second equation."""
    prob = get_problem(str(FILES[0].parent / "decay_chain.py"))
    wrong = ExactModule(prob.with_params(k2=0.6))
    f = _autograd(prob, wrong, prob.domain.sample(64, "sobol", np.random.default_rng(0)), prob.requests["residual"])
    assert prob.residual_terms(f)[1].abs().max() > 1e-2
