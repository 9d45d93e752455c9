"""The PINN solver: residual and condition losses on seeded collocation points, Adam then L-BFGS."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from ..config import SolveConfig
from ..derivatives import compute_fields, resolve_engine
from ..errors import ConfigError
from ..fields import close_under_prefixes, merge_requests
from ..metrics import field_errors
from ..nets import Net
from ..problem import Problem
from . import adam_in_graph
from .compiling import (
    Compiled,
    chunk_size,
    grads_into,
    jet_bytes_per_point,
    options_for,
    should_compile,
    sum_over_chunks,
    value_and_grad,
)
from .net_checks import check_hard_constraint, check_jet_rules

EVAL_BATCH = 16384


def term_names(problem: Problem, active: list[int]) -> list[str]:
    """Readable loss-term names per active condition: ``initial``, ``dirichlet``, ``dirichlet_2``..."""
    names, seen = [], {}
    for i in active:
        base = problem.conditions[i].kind.replace(" ", "_").lower()
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return names


def active_conditions(problem: Problem, config: SolveConfig) -> list[int]:
    """The conditions that are loss terms: all but those the hard constraint (with ``--hard``) enforces."""
    enforced = set(problem.hard_constraint.enforces) if (config.hard and problem.hard_constraint) else set()
    return [i for i in range(len(problem.conditions)) if i not in enforced]


def loss_weights(given: Mapping[str, float], names: list[str]) -> dict[str, float]:
    """The weight of the residual and of each condition term ``names``; ``conditions`` sets them all."""
    allowed = ["residual", "conditions", *names]
    for k in given:
        if k not in allowed:
            raise ConfigError(f"unknown loss weight {k!r} (allowed: {', '.join(allowed)})")
    w = {"residual": float(given.get("residual", 1.0))}
    for n in names:
        w[n] = float(given.get(n, given.get("conditions", 1.0)))
    return w


def build_net(problem: Problem, config: SolveConfig) -> Net:
    """The network for a problem: inputs scaled from its domain, optional hard constraint."""
    transform = None
    if config.hard:
        hc = problem.hard_constraint
        if hc is None:
            raise ConfigError(f"problem {problem.name!r} offers no hard constraint (--hard is not available)")
        names = problem.domain.names

        def transform(x, out, hc=hc, names=names):
            c = SimpleNamespace(**{n: x[:, i:i + 1] for i, n in enumerate(names)})
            outs = hc.transform(c, *(out[:, j:j + 1] for j in range(len(problem.fields))))
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
            return torch.cat(list(outs), dim=1)
    return Net(problem.domain.dim, len(problem.fields), config.width, config.depth, config.layer,
               bounds=(problem.domain.lo.tolist(), problem.domain.hi.tolist()), transform=transform,
               init=config.init, layer_norm=config.layer_norm, **config.layer_options)


class PinnTask:
    """Collocation points, losses and evaluation of one PINN run (the Trainer's Task)."""

    def __init__(self, problem: Problem, config: SolveConfig, net: torch.nn.Module):
        self.problem, self.config, self.net = problem, config, net
        self._params = list(net.parameters())  # the same objects for the task's life (.to() keeps them)
        self.device, self.dtype = torch.device(config.device), config.torch_dtype
        self.rng = np.random.default_rng(config.seed)
        dom = problem.domain
        self.active = active_conditions(problem, config)
        self.names = term_names(problem, self.active)
        self.weights = loss_weights(config.weights, self.names)
        reqs = problem.requests
        self.req_res = reqs["residual"]
        self.req_cond = [reqs[f"cond{i}"] for i in self.active]
        self.req_all = merge_requests(self.req_res, *self.req_cond)
        self.engine = resolve_engine(net, close_under_prefixes(problem.all_requests()), config.derivatives)
        check_rng = np.random.default_rng([config.seed, 104729])  # its own stream: the run's draws stay as they are
        if self.engine == "jets":
            check_jet_rules(net, problem, check_rng, config.layer)
        enforced = [i for i in range(len(problem.conditions)) if i not in self.active]
        if enforced:
            check_hard_constraint(net, problem, enforced, check_rng)
        if config.derivatives == "jets" and self.engine != "jets":  # asked for by name: say why it is not used
            warnings.warn("--derivatives jets: this network or partial has no jet rules (a layer kind without "
                          "forward_jet, an output transform using an operation jets lack, or a partial above third "
                          "order); using nested autograd (the same numbers, slower)", UserWarning, stacklevel=2)
        self.x_res = self._tensor(dom.sample(config.points, config.sampler, self.rng))
        self.x_cond = [self._tensor(problem.conditions[i].sample(dom, config.boundary_points, config.sampler, self.rng))
                       for i in self.active]
        # points never trained on, from their own stream so resampling does not touch them
        held_rng = np.random.default_rng([config.seed, 7919])
        self.x_held = self._tensor(dom.sample(problem.heldout_points, "uniform", held_rng))
        ev = problem.evaluation()
        self.eval_points, self.eval_values = ev.points, ev.values
        self.one_pass = self._one_pass()
        # the compiled loss-and-gradient, when compiling; with the residual points in chunks, one
        # function for a chunk's share of the residual and one for the other terms
        self._fused: Compiled | None = None
        self._chunk: int | None = None
        self._fused_chunk: Compiled | None = None
        self._chunk_checked = False
        # the compiled step with Adam's update in it, and the Adam settings (lr, betas, eps) it has
        self._adam: tuple[tuple, Compiled] | None = None
        if should_compile(config.compile, self.engine, config.steps or 0, config.device):
            size = chunk_size(len(self.x_res), self._bytes_per_point(), self.device)
            if size < len(self.x_res):
                self._chunk = size
                self._fused_chunk = self._compiled(value_and_grad(net, self._residual_share))
                if self.names or self._weigh_others([]):  # conditions, or e.g. a slope-recovery term
                    self._fused = self._compiled(value_and_grad(net, self._other_terms))
            else:
                self._fused = self._compiled(value_and_grad(net, self._weighted_terms))

    def _compiled(self, fn) -> Compiled:
        """``fn`` compiled with the inductor options the net asks for on this device."""
        return Compiled(fn, options_for(self.net, self.device))

    def _one_pass(self) -> bool:
        """Whether jets evaluate the collocation and condition points in one pass: when the conditions
        need no partial the residual lacks and have fewer points (the residual's partials on a few
        extra points cost less than another pass's per-operation overhead: one Adam step of burgers
        went from 4.9 to 3.4 ms together with fused Adam)."""
        if self.engine != "jets" or not self.x_cond or sum(len(x) for x in self.x_cond) > len(self.x_res):
            return False
        res = close_under_prefixes(self.req_res)
        return all(set(idx) <= set(res.get(f, [()])) for r in self.req_cond for f, idx in close_under_prefixes(r).items())

    def _bytes_per_point(self) -> int:
        from ..jets import plan_for
        indices = [i for idxs in close_under_prefixes(self.req_res).values() for i in idxs]
        return jet_bytes_per_point(self.net, len(plan_for(self.problem.domain.dim, indices).indices), self.dtype)

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def fields(self, points: torch.Tensor, requests, create_graph: bool = True):
        p = self.problem
        return compute_fields(self.net, points, requests, p.domain.names, p.fields, self.engine, create_graph)

    @property
    def compiled(self) -> bool:
        """Whether the loss and its gradient run compiled (and have not fallen back to eager)."""
        parts = [f for f in (self._fused, self._fused_chunk) if f is not None]
        return bool(parts) and not any(f.failed for f in parts)

    # -- Task protocol --------------------------------------------------------------------
    def parameters(self) -> list[torch.nn.Parameter]:
        return list(self._params)

    def _loss_impl(self, x_res: torch.Tensor, *x_cond: torch.Tensor) -> list[torch.Tensor]:
        p = self.problem
        if self.one_pass:
            parts = self.fields(torch.cat([x_res, *x_cond]), self.req_all).blocks([len(x) for x in (x_res, *x_cond)])
        else:
            parts = [self.fields(x_res, self.req_res)] + [self.fields(x, r) for x, r in zip(x_cond, self.req_cond)]
        return [_mean_square(p.residual_terms(parts[0]))] + self._condition_losses(parts[1:])

    def _condition_losses(self, parts) -> list[torch.Tensor]:
        p = self.problem
        return [_mean_square(p.conditions[i].residuals(f, p.p)) for i, f in zip(self.active, parts)]

    def _weighted_terms(self, x_res: torch.Tensor, *x_cond: torch.Tensor) -> dict[str, torch.Tensor]:
        raw = self._loss_impl(x_res, *x_cond)
        return {"residual": self.weights["residual"] * raw[0], **self._weigh_others(raw[1:])}

    def _weigh_others(self, conditions: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        terms = {name: self.weights[name] * value for name, value in zip(self.names, conditions)}
        extra = getattr(self.net, "extra_loss", None)  # e.g. adaptive activations' slope recovery
        if callable(extra):
            terms.update(extra())
        return terms

    # -- the chunked compiled step: the residual's mean as a sum of chunk shares, the rest apart --
    def _residual_share(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        terms = self.problem.residual_terms(self.fields(x, self.req_res))
        scale = self.weights["residual"] / (len(terms) * len(self.x_res))
        return {"residual": scale * sum((t * t).sum() for t in terms)}

    def _other_terms(self, *x_cond: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = [self.fields(x, r) for x, r in zip(x_cond, self.req_cond)]
        return self._weigh_others(self._condition_losses(parts))

    def _chunked_value_and_grad(self, values: list[torch.Tensor], x_res: torch.Tensor, *x_cond: torch.Tensor
                                ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
        grads, terms = sum_over_chunks(self._fused_chunk, values, x_res, self._chunk)
        if self._fused is not None:
            more, others = self._fused(values, *x_cond)
            torch._foreach_add_(grads, list(more))
            terms.update(others)
        return grads, terms

    def _chunks_hold(self, chunked: torch.Tensor) -> bool:
        """Whether the chunks' residual term equals the whole set's (checked once, at a finite
        loss). Chunks give the mean only when each point's residual depends on that point alone; a
        residual that couples points (e.g. divided by ``u.std()``) is computed whole from then on."""
        if not math.isfinite(float(chunked)):
            return True  # cannot tell; the trainer stops a non-finite loss anyway
        # point by point and equation by equation: a coupling term (a zero-mean constraint u.mean(), say)
        # may be far smaller than the others, and its effect on the loss below any tolerance on the sum
        with torch.no_grad():
            terms = [self.problem.residual_terms(self.fields(x, self.req_res, create_graph=False))
                     for x in (self.x_res, self.x_res[:self._chunk])]
        tol = 1e-9 if self.dtype == torch.float64 else 1e-4  # rounding differences of other matmul blockings
        coupled = [i for i, (whole, part) in enumerate(zip(*terms))
                   if float((whole[:self._chunk] - part).abs().max()) > tol * float(whole.abs().max())]
        self._chunk_checked = True
        if not coupled:
            return True
        warnings.warn(f"the residual of problem {self.problem.name!r} couples collocation points (equation "
                      f"{coupled[0]} has other values at the same points when computed on a chunk of {self._chunk} "
                      f"of them); computing it over all points at once", UserWarning, stacklevel=3)
        self._chunk = self._fused_chunk = None
        self._fused = self._compiled(value_and_grad(self.net, self._weighted_terms))
        return False

    def loss_terms(self) -> dict[str, torch.Tensor]:
        return self._weighted_terms(self.x_res, *self.x_cond)

    def loss_terms_and_grads(self) -> dict[str, torch.Tensor] | None:
        """The loss terms (detached) with each parameter's ``.grad`` set, by the compiled
        loss-and-gradient; None when the run is not compiled (then: loss_terms() and backward)."""
        if not self.compiled:
            return None
        params = [p for p in self.parameters() if p.requires_grad]  # value_and_grad's order
        if self._chunk is not None:
            terms = grads_into(self._chunked_value_and_grad, params, self.x_res, *self.x_cond)
            if self._chunk_checked or self._chunks_hold(terms["residual"]):
                return terms
        return grads_into(self._fused, params, self.x_res, *self.x_cond)

    def adam_step(self, optimizer: torch.optim.Optimizer
                  ) -> tuple[torch.Tensor, dict[str, torch.Tensor], list[torch.Tensor]] | None:
        """One Adam step of ``optimizer`` inside the compiled loss-and-gradient (parameters and the
        optimizer's state updated in place, no ``.grad``): the loss, its terms (detached) and the
        parameter values they were computed at (new tensors). None where the step is not one
        compiled graph (not compiled, residual points in chunks, or an optimizer other than plain
        Adam): then loss_terms_and_grads() and optimizer.step()."""
        params = self._params
        if (not self.compiled or self._chunk is not None or not all(p.requires_grad for p in params)
                or not adam_in_graph.supported(optimizer, params)):
            return None
        key = adam_in_graph.hyperparameters(optimizer)
        if self._adam is None or self._adam[0] != key:
            fn = adam_in_graph.with_adam_update(value_and_grad(self.net, self._weighted_terms), *key)
            self._adam = (key, self._compiled(fn))
        step = self._adam[1]
        if step.failed:
            return None
        return step([p.detach() for p in params], *adam_in_graph.state_tensors(optimizer, params),
                    self.x_res, *self.x_cond)

    def resample(self, step: int) -> None:
        self.x_res = self._tensor(self.problem.domain.sample(self.config.points, self.config.sampler, self.rng))

    def predict(self, points: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for b in range(0, len(points), EVAL_BATCH):
                out.append(self.net(self._tensor(points[b:b + EVAL_BATCH])).double().cpu().numpy())
        return np.concatenate(out)

    def residual_rms(self, points: torch.Tensor) -> float:
        """Root-mean-square PDE residual at the given points (no graph kept)."""
        acc, n = 0.0, 0
        for b in range(0, len(points), EVAL_BATCH):
            f = self.fields(points[b:b + EVAL_BATCH], self.req_res, create_graph=False)
            with torch.no_grad():
                r = self.problem.residual_terms(f)
                acc += sum(float((t.double() ** 2).sum()) for t in r) / len(r)
                n += len(points[b:b + EVAL_BATCH])
        return (acc / max(n, 1)) ** 0.5

    def evaluate(self) -> dict[str, float]:
        errs = field_errors(self.predict(self.eval_points), self.eval_values, self.problem.fields)
        return {"rel_l2": errs["rel_l2"], "heldout_residual": self.residual_rms(self.x_held)}

    def to_dtype(self, dtype: torch.dtype) -> None:
        self.dtype = dtype
        self.net.to(dtype)
        self.x_res, self.x_held = self.x_res.to(dtype), self.x_held.to(dtype)
        self.x_cond = [x.to(dtype) for x in self.x_cond]

    def state_dict(self) -> dict[str, Any]:
        # scipy's QMC samplers spawn child generators: the spawn count is part of the stream's state
        return {"net": self.net.state_dict(), "rng": self.rng.bit_generator.state,
                "rng_spawned": self.rng.bit_generator.seed_seq.n_children_spawned, "x_res": self.x_res.cpu(),
                "dtype": str(self.dtype)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.rng = _restore_rng(self.rng, state["rng"], state.get("rng_spawned"))
        self.x_res = state["x_res"].to(device=self.device, dtype=self.dtype)

    def final_report(self) -> dict[str, Any]:
        pred = self.predict(self.eval_points)
        errs = field_errors(pred, self.eval_values, self.problem.fields)
        return {**errs, "heldout_residual": self.residual_rms(self.x_held),
                "train_residual": self.residual_rms(self.x_res), "derivatives": self.engine,
                "compiled": self.compiled,
                "adam_in_graph": self._adam is not None and not self._adam[1].failed,
                "chunk_points": self._chunk,  # the compiled step's residual points per chunk; None: all at once
                "loss_terms": list(["residual", *self.names])}


    def predictions(self) -> dict[str, np.ndarray]:
        """Prediction and reference on the evaluation grid (for plots and later analysis)."""
        ev = self.problem.evaluation()
        return {"kind": np.array("grid"), "coords": np.array(self.problem.domain.names),
                "fields": np.array(self.problem.fields), "points": ev.points, "pred": self.predict(ev.points),
                "ref": ev.values, "shape": np.array(ev.shape), **{f"axis_{k}": v for k, v in ev.axes.items()}}


def check_config(problem: Problem, config: SolveConfig) -> None:
    """Fail before a run directory exists on options the PINN solver would silently lose or misuse."""
    if config.options:
        raise ConfigError(f"solver 'pinn' takes no --opt options (got {', '.join(map(repr, config.options))}); "
                          f"--opt and --adjoint are for --solver node")
    if config.hard and problem.hard_constraint is None:
        raise ConfigError(f"problem {problem.name!r} offers no hard constraint (--hard is not available)")
    loss_weights(config.weights, term_names(problem, active_conditions(problem, config)))
    for i, c in enumerate(problem.conditions):
        need = c.min_points()
        if config.boundary_points < need:  # a face with no point: its condition is simply absent from the loss
            raise ConfigError(f"boundary-points {config.boundary_points} is too few: condition {i} "
                              f"({c.describe(problem.domain)}) covers {need} faces and needs at least {need} points")


def make_task(problem: Problem, config: SolveConfig) -> PinnTask:
    return PinnTask(problem, config, build_net(problem, config).to(config.torch_dtype).to(config.device))


def _restore_rng(rng: np.random.Generator, state: dict, spawned: int | None) -> np.random.Generator:
    """A generator at ``state`` whose seed sequence has spawned ``spawned`` children (as the saved one had)."""
    if spawned is not None:
        ss = rng.bit_generator.seed_seq
        seq = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key, pool_size=ss.pool_size,
                                     n_children_spawned=spawned)
        rng = np.random.Generator(type(rng.bit_generator)(seq))
    rng.bit_generator.state = state
    return rng


def _mean_square(terms: list[torch.Tensor]) -> torch.Tensor:
    return sum((t * t).mean() for t in terms) / len(terms)
