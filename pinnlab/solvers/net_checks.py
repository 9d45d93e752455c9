"""One-time checks of a PINN's network before training, on a float64 copy at a few points.

Both catch code a user wrote that pinnlab otherwise trusts, and whose mistakes training would
hide: the loss and even the held-out residual look fine, only the error against the reference
shows it.
- A layer's jet rules (``forward_jet``) must give the partials nested autograd gives for its
  ``forward``: a jet that forgets a factor trains one network and evaluates another.
- A hard constraint must satisfy the conditions it says it enforces (``enforces``), whatever the
  network outputs: those conditions leave the loss, so one it misses is never imposed.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from ..derivatives import autograd_fields, compute_fields
from ..errors import ConfigError, ProblemError
from ..fields import close_under_prefixes
from ..problem import Problem

POINTS = 8
RTOL = 1e-6  # float64: agreeing rules differ by ~1e-13, a wrong rule by O(1)


def _name(coords: tuple[str, ...], field: str, index: tuple[int, ...]) -> str:
    return field + ("_" + "".join(coords[i] for i in index) if index else "")


def check_jet_rules(net: torch.nn.Module, problem: Problem, rng: np.random.Generator, layer: str = "?") -> None:
    """ConfigError if the jets of ``net`` differ from nested autograd for the partials the problem uses."""
    from ..jets import jet_fields

    net64 = copy.deepcopy(net).to(torch.float64).cpu()
    x = torch.as_tensor(problem.domain.sample(POINTS, "uniform", rng), dtype=torch.float64)
    asked = problem.all_requests()
    wanted = close_under_prefixes({f: set(asked.get(f, ())) for f in problem.fields})  # in output order
    try:
        jets = jet_fields(net64, x, wanted, problem.domain.dim, create_graph=False)
    except Exception as e:  # noqa: BLE001 - a user's forward_jet, e.g. torch.sin(jet) for jet.sin()
        raise ConfigError(f"the jet rules of layer kind {layer!r} raised {type(e).__name__}: "
                          f"{' '.join(str(e).split())[:200]} (a Jet takes jet.sin(), not torch.sin(jet); see "
                          f"docs/layers.md, or remove forward_jet to use nested autograd)") from None
    ref = autograd_fields(net64, x, wanted, create_graph=False)
    for field, parts in ref.items():
        for index, b in parts.items():
            a = jets[field][index]
            if not torch.allclose(a, b, rtol=RTOL, atol=RTOL * (1.0 + float(b.abs().max()))):
                i = int((a - b).abs().argmax())
                raise ConfigError(
                    f"the jet rules of layer kind {layer!r} are wrong: {_name(problem.domain.names, field, index)} is "
                    f"{float(a[i]):.6g} by its forward_jet and {float(b[i]):.6g} by nested autograd of its forward "
                    f"at {x[i].tolist()}; fix the layer's forward_jet (or remove it: nested autograd is used then)")


def check_hard_constraint(net: torch.nn.Module, problem: Problem, enforced: list[int],
                          rng: np.random.Generator) -> None:
    """ProblemError if the network (its hard-constraint transform) misses a condition it enforces."""
    net64 = copy.deepcopy(net).to(torch.float64).cpu()
    dom = problem.domain
    for i in enforced:
        cond = problem.conditions[i]
        x = torch.as_tensor(cond.sample(dom, max(POINTS, cond.min_points()), "uniform", rng), dtype=torch.float64)
        f = compute_fields(net64, x, problem.requests[f"cond{i}"], dom.names, problem.fields, "autograd",
                           create_graph=False)
        scale = 1.0 + max(float(f.data[k][()].abs().max()) for k in problem.fields)
        worst = max(float(r.abs().max()) for r in cond.residuals(f, problem.p))
        if not worst <= RTOL * scale:
            raise ProblemError(f"problem {problem.name!r}: the hard constraint says it enforces condition {i} "
                               f"({cond.describe(dom)}), but leaves it off by {worst:.3g} for the untrained network; "
                               f"that condition is not in the loss, so it would never be imposed")
