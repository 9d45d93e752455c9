"""Adam's update inside the compiled loss-and-gradient: one call per training step.

``torch.optim.Adam.step`` after a compiled gradient costs little arithmetic but much Python (one
dispatch per parameter and per state tensor, the gradients handed out and back through ``.grad``).
On the small Burgers step (2 -> 20x3 -> 1, 2540 points, one CPU thread) the compiled gradient
followed by torch's fused Adam step took 3.10 and 2.98 ms in two interleaved runs, the same step
with the update in the graph 2.84 and 2.70 ms (docs/derivatives.md, change 13). The update writes
the parameters and the optimizer's own state tensors in place, so checkpoints, resuming and a
later eager ``optimizer.step()`` see one Adam. The arithmetic is that of torch's fused Adam (bias
corrections in float64, ``exp_avg`` by lerp), so a run takes the same steps whichever way it is
updated, up to rounding.

A step at a non-finite loss changes nothing (parameters, moments, step count): the trainer then
stops, as it does before an eager step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

StepFn = Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor], list[torch.Tensor]]]


def supported(optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter]) -> bool:
    """Whether ``optimizer`` is a plain Adam over exactly ``params`` (one group, no weight decay,
    no amsgrad/maximize/differentiable variants): the update this module reproduces. Off the CPU
    it must be the fused Adam, whose step counts live on the parameters' device (the for-loop
    Adam keeps them on the CPU, which one graph cannot write together with GPU tensors)."""
    if type(optimizer) is not torch.optim.Adam or len(optimizer.param_groups) != 1:
        return False
    g = optimizer.param_groups[0]
    plain = not (g["weight_decay"] or g["amsgrad"] or g["maximize"] or g.get("differentiable"))
    same = len(g["params"]) == len(params) and all(a is b for a, b in zip(g["params"], params))
    devices = bool(g.get("fused")) or all(p.device.type == "cpu" for p in params)
    return plain and same and devices and not isinstance(g["lr"], torch.Tensor)


def hyperparameters(optimizer: torch.optim.Optimizer) -> tuple[float, float, float, float]:
    """``(lr, beta1, beta2, eps)`` of a :func:`supported` Adam."""
    g = optimizer.param_groups[0]
    return float(g["lr"]), float(g["betas"][0]), float(g["betas"][1]), float(g["eps"])


def state_tensors(optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter]
                  ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    """The optimizer's ``exp_avg``, ``exp_avg_sq`` and ``step`` tensors for ``params``, created as
    ``torch.optim.Adam`` creates them on its first step where they do not exist yet."""
    fused = bool(optimizer.param_groups[0].get("fused"))
    states = [optimizer.state[p] for p in params]
    for p, st in zip(params, states):
        if not st:
            # as Adam's own first step makes them: a float32 step on the parameter's device when fused
            step = (torch.zeros((), dtype=torch.float32, device=p.device) if fused
                    else torch.tensor(0.0, dtype=torch.get_default_dtype()))
            st.update(step=step, exp_avg=torch.zeros_like(p, memory_format=torch.preserve_format),
                      exp_avg_sq=torch.zeros_like(p, memory_format=torch.preserve_format))
    return [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], [s["step"] for s in states]


def with_adam_update(value_and_grad: Callable[..., tuple[list[torch.Tensor], dict[str, torch.Tensor]]],
                     lr: float, beta1: float, beta2: float, eps: float) -> StepFn:
    """``value_and_grad(params, *args) -> (grads, terms)`` followed by Adam's update, as one function
    ``step(params, exp_avgs, exp_avg_sqs, steps, *args) -> (total, terms, before)`` that updates its
    first four arguments in place; ``total`` is the terms' sum, ``before`` the parameter values they
    were computed at (new tensors: the trainer keeps them as its best state without copying)."""

    def step(params: list[torch.Tensor], exp_avgs: list[torch.Tensor], exp_avg_sqs: list[torch.Tensor],
             steps: list[torch.Tensor], *args: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor], list[torch.Tensor]]:
        grads, terms = value_and_grad(params, *args)
        before = [p.clone() for p in params]
        total = sum(terms.values())
        ok = torch.isfinite(total)
        count = steps[0] + 1
        n = count.double()
        step_size = lr / (1 - beta1 ** n)
        correction2_sqrt = torch.sqrt(1 - beta2 ** n)
        for p, m, v, g in zip(params, exp_avgs, exp_avg_sqs, grads):
            m_new = torch.lerp(m, g, 1 - beta1)
            v_new = v * beta2 + (1 - beta2) * g * g
            denom = torch.sqrt(v_new) / correction2_sqrt.to(p.dtype) + eps
            p_new = p - step_size.to(p.dtype) * m_new / denom
            # a non-finite loss leaves everything as it was (the trainer stops at that step)
            m.copy_(torch.where(ok, m_new, m))
            v.copy_(torch.where(ok, v_new, v))
            p.copy_(torch.where(ok, p_new, p))
        for s in steps:
            s.copy_(torch.where(ok, count.to(s.dtype), s))
        return total, terms, before
    return step
