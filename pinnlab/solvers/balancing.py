"""Loss balancing by gradient norms (``--balance gradnorm``): learning-rate annealing of Wang, Teng &
Perdikaris, "Understanding and mitigating gradient flow pathologies in physics-informed neural
networks" (SIAM J. Sci. Comput. 2021), in jaxpi's form (Wang et al., "An expert's guide to training
physics-informed neural networks", 2023).

Every ``--balance-every`` Adam steps each balanced term i (the residual and each condition) gets

    λ̂_i = Σ_j ‖∇L_j‖ / ‖∇L_i‖,    λ_i ← α λ_i + (1 − α) λ̂_i   (α = 0.9, λ = 1 at the start),

from each term's own gradient over all trainable parameters, so that terms of small gradient are not
drowned by one of large gradient.

``--balance ntk`` (Wang, Yu & Perdikaris, "When and why PINNs fail to train: a neural tangent kernel
perspective", JCP 2022; jaxpi's ``ntk`` weighting) uses the same rule with ‖∇L_i‖ replaced by the mean
diagonal entry of term i's neural tangent kernel, mean_p ‖∂r_p/∂θ‖² over its residual entries p
(estimated on up to 64 of them per update). The weights λ live in the run's model as a buffer (checkpointed,
moved with its dtype); they multiply the ``--weight`` values, and are held fixed after Adam.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError

MODES = ("none", "gradnorm", "ntk")
MOMENTUM = 0.9  # α: jaxpi's default
NTK_POINTS = 64  # residual entries per term whose parameter gradients estimate its NTK trace


def gradnorm_weights(norms: torch.Tensor) -> torch.Tensor:
    """λ̂_i = Σ_j n_j / n_i; a term of zero gradient (nothing to balance) gets 1."""
    total = norms.sum()
    ok = norms > 0
    return torch.where(ok, total / torch.where(ok, norms, torch.ones_like(norms)), torch.ones_like(norms))


def moving_average(old: torch.Tensor, new: torch.Tensor, momentum: float = MOMENTUM) -> torch.Tensor:
    return momentum * old + (1 - momentum) * new


def grad_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """The Euclidean norm of one term's gradient over all parameters, in float64."""
    return torch.sqrt(sum((g.double() ** 2).sum() for g in grads))


def mean_square_jacobian_rows(r: torch.Tensor, params: list[torch.Tensor], n: int = NTK_POINTS) -> float:
    """mean_p ‖∂r_p/∂θ‖² over up to ``n`` entries p of the residual vector ``r`` (evenly spread): the
    mean diagonal entry of the term's neural tangent kernel K = J Jᵀ. One backward pass per entry."""
    pick = torch.linspace(0, r.numel() - 1, min(n, r.numel())).round().long().unique()
    acc = 0.0
    for i in pick.tolist():
        grads = torch.autograd.grad(r[i], params, retain_graph=True, allow_unused=True)
        acc += sum(float((g.double() ** 2).sum()) for g in grads if g is not None)
    return acc / len(pick)


def check_balance(mode: str, problem_name: str, n_terms: int) -> None:
    if mode != "none" and n_terms < 2:
        raise ConfigError(f"balance {mode!r} weighs loss terms against each other; problem {problem_name!r} "
                          f"has {n_terms} term (use --balance none)")
