"""Optimisers for RAI's many parameters: RowAdam (row-local Adam) and FlatRprop.

RowAdam: a mini-batch reads its rows of the state tables with a sparse gradient; plain Adam would still
decay every row's moments and move rows outside the batch (their momentum). Here a row outside
the batch keeps its value, moments and step count; each row's bias correction uses its own count.
Dense parameters (the network's weights) follow ``torch.optim.Adam``'s update.

FlatRprop: ``torch.optim.Rprop``'s update, the same numbers, on all parameters as one flat vector.
A deep MLP with its state tables has hundreds of small tensors, and Rprop's per-tensor masked
updates cost more than the forward and backward pass together.
"""

from __future__ import annotations

import torch
from torch.optim import Optimizer


class RowAdam(Optimizer):
    """Adam (no weight decay, no amsgrad) with row-local updates for sparse gradients."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        if not lr > 0 or not eps > 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"RowAdam: lr={lr}, betas={betas}, eps={eps} out of range")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                    # one count per row (dim 0): a row's bias correction counts the steps it took part in
                    st["step"] = torch.zeros(p.shape[0] if p.dim() else 1, dtype=torch.float64, device=p.device)
                if p.grad.is_sparse:
                    self._sparse(p, st, p.grad.coalesce(), lr, b1, b2, eps)
                else:
                    self._dense(p, st, p.grad, lr, b1, b2, eps)
        return loss

    @staticmethod
    def _dense(p, st, g, lr, b1, b2, eps):
        st["step"] += 1
        t = float(st["step"][0])
        m, v = st["exp_avg"], st["exp_avg_sq"]
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        denom = (v.sqrt() / bc2 ** 0.5).add_(eps)
        p.addcdiv_(m, denom, value=-lr / bc1)

    @staticmethod
    def _sparse(p, st, g, lr, b1, b2, eps):
        rows, vals = g.indices()[0], g.values()
        st["step"][rows] += 1
        t = st["step"][rows].to(p.dtype).view(-1, *([1] * (p.dim() - 1)))
        m = st["exp_avg"][rows].lerp_(vals, 1 - b1)
        v = st["exp_avg_sq"][rows].mul_(b2).addcmul_(vals, vals, value=1 - b2)
        st["exp_avg"][rows], st["exp_avg_sq"][rows] = m, v
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        p[rows] = p[rows] - lr / bc1 * m / (v.sqrt() / bc2.sqrt() + eps)


def _rprop_update(p, g, prev, size, eta_minus: float, eta_plus: float, lo: float, hi: float):
    s = torch.mul(g, prev).sign_()
    # the factors as tensors of the parameters' dtype: python scalars would make them float32
    up, down, one = (torch.tensor(v, dtype=g.dtype, device=g.device) for v in (eta_plus, eta_minus, 1.0))
    factor = torch.where(s > 0, up, torch.where(s < 0, down, one))
    size = (size * factor).clamp(lo, hi)
    g = torch.where(s < 0, torch.zeros((), dtype=g.dtype, device=g.device), g)  # after a sign change: no step
    return p - g.sign() * size, g, size


class FlatRprop(Optimizer):
    """Rprop as ``torch.optim.Rprop`` (etas, step-size bounds, first step ``lr``), one update for all
    parameters together; ``compile`` fuses it into one loop with torch.compile (eager if that fails)."""

    def __init__(self, params, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50.0), compile: bool = False):
        if not lr > 0 or not 0 < etas[0] < 1 < etas[1] or not 0 < step_sizes[0] <= step_sizes[1]:
            raise ValueError(f"FlatRprop: lr={lr}, etas={etas}, step_sizes={step_sizes} out of range")
        super().__init__(params, {"lr": lr, "etas": tuple(etas), "step_sizes": tuple(step_sizes)})
        if len(self.param_groups) != 1:
            raise ValueError("FlatRprop takes one parameter group")
        self._update = _rprop_update
        if compile:
            try:
                self._update = torch.compile(_rprop_update, dynamic=False)
            except Exception:  # noqa: BLE001 - no compiler here: the eager update is the same numbers
                self._update = _rprop_update

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        group = self.param_groups[0]
        params = group["params"]
        flat = torch.cat([p.reshape(-1) for p in params])
        grad = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
        st = self.state[params[0]]
        if "prev" not in st:
            st["prev"] = torch.zeros_like(flat)
            st["step_size"] = torch.full_like(flat, group["lr"])
        try:
            new, st["prev"], st["step_size"] = self._update(flat, grad, st["prev"], st["step_size"], *group["etas"],
                                                             *group["step_sizes"])
        except Exception:  # noqa: BLE001 - a compiled update that fails at its first call: the eager one
            if self._update is _rprop_update:
                raise
            self._update = _rprop_update
            new, st["prev"], st["step_size"] = self._update(flat, grad, st["prev"], st["step_size"], *group["etas"],
                                                             *group["step_sizes"])
        torch._foreach_copy_(params, [v.view_as(p) for v, p in zip(new.split([p.numel() for p in params]), params)])
        return loss


__all__ = ["FlatRprop", "RowAdam"]
