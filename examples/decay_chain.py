"""A user's problem: a two-step decay chain A → B → (C), an ODE system with a closed-form solution.

a' = -k₁ a, b' = k₁ a - k₂ b, a(0) = 1, b(0) = 0 (Bateman): b rises, peaks and decays on two time
scales. Written as a user would (no recipe: the general default trains it); not used to choose any
recipe or default (docs/accuracy.md). Run: ``pinnlab solve examples/decay_chain.py``.
"""

import torch

from pinnlab import Box, Initial, Problem


def exact(t, p):
    a = torch.exp(-p.k1 * t)
    return a, p.k1 / (p.k2 - p.k1) * (a - torch.exp(-p.k2 * t))


problem = Problem(
    name="decay-chain",
    domain=Box(t=(0.0, 6.0)),
    fields=("a", "b"),
    params={"k1": 2.0, "k2": 0.5},
    residual=lambda f, p: [f.a.t + p.k1 * f.a, f.b.t - p.k1 * f.a + p.k2 * f.b],
    conditions=[Initial(a=1.0, b=0.0)],
    exact=exact,
    equation="a' = -k1 a, b' = k1 a - k2 b, a(0) = 1, b(0) = 0",
    description="Two-step radioactive decay chain (a user's problem, no recipe).",
)
