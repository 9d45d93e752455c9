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
from . import balancing, techniques
from .base import EagerStep, Model, Points, SolverTask, StepMode, Terms
from .batches import StreamedStep, check_batching
from .collocation import Collocation
from .compiling import chunk_size, jet_bytes_per_point, options_for, should_compile
from .inverse import add_unknowns, live_params, trajectory_row, unknowns_report
from .net_checks import check_hard_constraint, check_jet_rules
from .net_options import check_net_options, net_arguments, periodic_coordinates
from .registry import SolverSpec, register_solver
from .steps import AdamInGraphStep, ChunkedStep, CompiledStep

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
    """The conditions that are loss terms: all but those the hard constraint (with ``--hard``) enforces and
    the periodic ones the periodic embedding (``--periodic``) makes exact (their residual is rounding
    noise, which loss balancing would multiply by the inverse of its vanishing gradient)."""
    enforced = set(problem.hard_constraint.enforces) if (config.hard and problem.hard_constraint) else set()
    embedded = set(periodic_coordinates(problem, config.periodic))
    return [i for i, c in enumerate(problem.conditions)
            if i not in enforced and not (c.kind == "periodic" and c.on in embedded)]


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
               init=config.init, layer_norm=config.layer_norm, **net_arguments(problem, config),
               **config.layer_options)


class PinnTask(SolverTask):
    """Collocation points, losses and evaluation of one PINN run.

    Seams for solvers built on it (RAI, inverse problems): :meth:`build_model` adds trainable parts to
    the run's model, :meth:`batch_fields` says how the training batches' fields are computed, and
    :meth:`extra_terms` adds loss terms. Evaluation always uses the plain network.
    """

    # the residual term may be computed over chunks of its points (a per-point mean); a subclass whose
    # extra terms need the residual batch whole sets this False
    chunkable = True
    shards = True

    def __init__(self, problem: Problem, config: SolveConfig, net: torch.nn.Module):
        self.problem, self.config = problem, config
        self.dtype = config.torch_dtype
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
        self.points = Collocation(problem, config, self.active, self.dtype)
        self.weights = {k: w * s for (k, w), s in zip(self.weights.items(), self.points.shares)}  # a rank's shard
        ev = problem.evaluation()
        self.eval_points, self.eval_values = ev.points, ev.values
        self.one_pass = self._one_pass()
        self.model = self.build_model(net)
        self.params = live_params(problem, self.model)  # the unknowns read from the model at each access
        if config.rba:  # per-point state in the model: saved, restored and moved to a dtype with it
            self.model.register_buffer("rba_weights", torch.zeros(self.points.residual.n, dtype=self.dtype,
                                                                  device=self.points.device))
        self._rba_live = bool(config.rba)  # updated during Adam; the quasi-Newton stages need a fixed loss
        self._causal_w: torch.Tensor | None = None  # --causal: held at their value when a quasi-Newton stage begins
        # --balance: one weight per residual/condition term, a buffer of the model (checkpointed with it)
        self.balanced = ["residual", *self.names] if config.balance != "none" else None
        if self.balanced:
            self.model.register_buffer("balance_weights", torch.ones(len(self.balanced), dtype=self.dtype,
                                                                     device=self.points.device))
        # RBA writes its weights at each evaluation, which a compiled graph would not keep: eager. --balance's
        # weights enter a compiled step as an input (``_live``), not as the constants they were when traced
        self.compile = should_compile(config.compile, self.engine, config.steps or 0, config.device) and not config.rba
        self._lam: torch.Tensor | None = None  # --balance's weights as the compiled function's input, while it runs
        # causal weights couple the residual points: never chunked
        self.chunk = self._chunk_size() if self.compile and self.chunkable and not config.causal else None
        self._coupled = False  # found once: the residual couples points, so it is never chunked again
        self._modes: dict[str, StepMode] = {}

    # -- seams --------------------------------------------------------------------------------
    def build_model(self, net: torch.nn.Module) -> Model:
        """The run's trainable container: the network, plus what a solver built on this one trains."""
        return add_unknowns(Model(net), self.problem.unknowns, self.dtype, self.config.device)

    def batch_fields(self, batches: list[Points], requests: list) -> list:
        """The fields (values and requested partials) at each training batch, through the network."""
        if self.one_pass and len(batches) > 1:
            return self.fields(torch.cat([b.x for b in batches]), self.req_all).blocks([b.n for b in batches])
        return [self.fields(b.x, r) for b, r in zip(batches, requests)]

    def extra_terms(self, batches: Mapping[str, tuple[Points, Any]]) -> Terms:
        """Loss terms beyond the residual and the conditions (here: a layer kind's own, e.g. adaptive
        activations' slope recovery). ``batches`` maps each set ("residual", and each condition's term
        name) to its batch and its fields; a chunked step passes the residual's apart, so it may be absent."""
        extra = getattr(self.net, "extra_loss", None)  # a network's optional term, not a solver hook
        return dict(extra()) if callable(extra) else {}

    # -- the loss -----------------------------------------------------------------------------
    def fields(self, points: torch.Tensor, requests, create_graph: bool = True):
        """The plain network's fields at ``points``."""
        p = self.problem
        return compute_fields(self.net, points, requests, p.domain.names, p.fields, self.engine, create_graph)

    def _one_pass(self) -> bool:
        """Whether jets evaluate the collocation and condition points in one pass: when the conditions
        need no partial the residual lacks and have fewer points (one pass's overhead is less than
        another's: docs/derivatives.md, "one pass")."""
        pts = self.points
        if self.engine != "jets" or not pts.conditions or sum(c.n for c in pts.conditions) > pts.residual.n:
            return False
        res = close_under_prefixes(self.req_res)
        return all(set(idx) <= set(res.get(f, [()])) for r in self.req_cond for f, idx in close_under_prefixes(r).items())

    def _condition_losses(self, parts) -> list[torch.Tensor]:
        p = self.problem
        return [_mean_square(p.conditions[i].residuals(f, self.params)) for i, f in zip(self.active, parts)]

    def _weighted_terms(self, res: Points, *conds: Points) -> Terms:
        batches = [res, *conds]
        parts = self.batch_fields(batches, [self.req_res, *self.req_cond])
        terms = {"residual": self._w("residual")
                 * self._residual_loss(res, self.problem.residual_terms(parts[0], self.params))}
        terms.update({n: self._w(n) * v for n, v in zip(self.names, self._condition_losses(parts[1:]))})
        terms.update(self.extra_terms(dict(zip(["residual", *self.names], zip(batches, parts)))))
        return terms

    def _residual_loss(self, res: Points, r: list[torch.Tensor]) -> torch.Tensor:
        """The residual term of the whole set: the mean square, of residuals weighted per point (--rba) and/or
        causally weighted over time (--causal)."""
        r = self._rba_scaled(res, r)
        if not self.config.causal:
            return _mean_square(r)
        return techniques.causal_loss(*self._causal_inputs(res, r), self.config.causal, weights=self._causal_w)

    def _rba_scaled(self, res: Points, r: list[torch.Tensor]) -> list[torch.Tensor]:
        """--rba: the residuals times their points' weights (the weights advanced first, while live)."""
        if not self.config.rba:
            return r
        per_point = (sum(t.abs() for t in r) / len(r)).reshape(-1)
        w = self.model.rba_weights
        if self._rba_live:
            w[res.ids] = techniques.rba_update(w[res.ids], per_point, self.config.rba)
        lam = w[res.ids]
        return [lam.reshape(t.shape) * t for t in r]

    def _causal_inputs(self, res: Points, r: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        """--causal's inputs: each point's mean squared residual, its time, and the time range."""
        dom = self.problem.domain
        return ((sum(t * t for t in r) / len(r)).reshape(-1), res.x[:, dom.names.index("t")],
                tuple(dom.ranges["t"]))

    def _causal_weights_now(self) -> torch.Tensor:
        """The causal weights of the current network on the training points."""
        res = self.points.training[0]
        r = self._rba_scaled(res, self.problem.residual_terms(self.batch_fields([res], [self.req_res])[0],
                                                              self.params))
        return techniques.causal_weights(techniques.bin_losses(*self._causal_inputs(res, r)), self.config.causal)

    def _residual_share(self, res: Points) -> Terms:
        """A chunk's share of the residual term: the whole set's mean is the sum of the shares."""
        terms = self.problem.residual_terms(self.batch_fields([res], [self.req_res])[0], self.params)
        scale = self._w("residual") / (len(terms) * self.points.residual.n)
        return {"residual": scale * sum((t * t).sum() for t in terms)}

    def _other_terms(self, *conds: Points) -> Terms:
        parts = self.batch_fields(list(conds), self.req_cond) if conds else []
        terms = {n: self._w(n) * v for n, v in zip(self.names, self._condition_losses(parts))}
        terms.update(self.extra_terms(dict(zip(self.names, zip(conds, parts)))))
        return terms

    def loss_terms(self) -> Terms:
        return self._weighted_terms(*self.points.training)

    def _w(self, name: str):
        """A term's weight: ``--weight`` times its ``--balance`` weight (a tensor, read live) if balanced."""
        if self.balanced is None:
            return self.weights[name]
        lam = self._lam if self._lam is not None else self.model.balance_weights
        return self.weights[name] * lam[self.balanced.index(name)]

    def _live(self) -> tuple[torch.Tensor, ...]:
        """Tensors a compiled step takes as inputs after its points: what changes between its calls (the
        --balance weights), so that a rebalance reaches the graph without compiling it again."""
        return (self.model.balance_weights,) if self.balanced else ()

    def _with_live(self, fn):
        """``fn(*points)`` as a function of ``(*points, *self._live())``, reading the weights from its input."""
        if not self.balanced:
            return fn

        def terms(*args):
            self._lam = args[-1]
            try:
                return fn(*args[:-1])
            finally:
                self._lam = None
        return terms

    def rebalance(self, step: int, term_gradients, agree=lambda d: d) -> None:
        """``--balance gradnorm|ntk``: every ``--balance-every`` Adam steps, λ from the terms' gradient norms
        or NTK traces (:mod:`.balancing`), on the current batch, computed eagerly."""
        if self.balanced is None or step % self.config.balance_every:
            return
        live, self._rba_live = self._rba_live, False  # an extra evaluation must not advance RBA's weights
        try:
            terms = self._weighted_terms(*self.points.training) if self.config.balance == "gradnorm" else {}
        finally:
            self._rba_live = live
        lam = self.model.balance_weights
        if self.config.balance == "ntk":
            traces = agree({n: t for n, t in zip(self.balanced, self.ntk_traces())})  # the mean over processes
            sizes = torch.tensor([traces[n] for n in self.balanced], dtype=torch.float64)
        else:
            grads = term_gradients({n: terms[n] for n in self.balanced})
            # each term's own gradient norm: what --weight and λ multiply, divided out
            scale = [self.weights[n] * float(lam[i]) for i, n in enumerate(self.balanced)]
            sizes = torch.stack([balancing.grad_norm(grads[n]) / s if s > 0 else torch.zeros((), dtype=torch.float64)
                                 for n, s in zip(self.balanced, scale)])
        lam.copy_(balancing.moving_average(lam.double(), balancing.gradnorm_weights(sizes)).to(lam.dtype))

    def ntk_traces(self) -> list[float]:
        """Per balanced term, the mean diagonal entry of its neural tangent kernel, mean_p ‖∂r_p/∂θ‖², over
        up to ``balancing.NTK_POINTS`` of its residual entries spread over the current batch (the residuals
        are computed on the whole batch: periodic conditions pair their points)."""
        batches = list(self.points.training)
        parts = self.batch_fields(batches, [self.req_res, *self.req_cond])
        outs = [self.problem.residual_terms(parts[0], self.params)]
        outs += [self.problem.conditions[i].residuals(f, self.params) for i, f in zip(self.active, parts[1:])]
        params = self.parameters()
        return [balancing.mean_square_jacobian_rows(torch.cat([t.reshape(-1) for t in r]), params) for r in outs]

    # -- step modes ---------------------------------------------------------------------------
    def _chunk_size(self) -> int | None:
        from ..jets import plan_for
        indices = [i for idxs in close_under_prefixes(self.req_res).values() for i in idxs]
        per_point = jet_bytes_per_point(self.net, len(plan_for(self.problem.domain.dim, indices).indices), self.dtype)
        n = self.points.residual.n
        size = chunk_size(n, per_point, self.config.device)
        return size if size < n else None

    def _options(self) -> dict[str, Any]:
        return options_for(self.net, self.config.device)

    def _whole(self) -> CompiledStep:
        return CompiledStep(self.model, self._with_live(self._weighted_terms),
                            lambda: (*self.points.training, *self._live()), self._options())

    def step_mode(self, phase: str) -> StepMode:
        """Eager where compiling does not pay (or cannot: nested autograd); else the compiled step, in
        chunks of residual points where they are larger than the cache, with Adam's update in the graph
        where it is one graph. The mode given for each phase is kept for the report."""
        self._rba_live = bool(self.config.rba) and phase == "adam"
        self._causal_w = None
        if self.config.causal and phase != "adam":
            # weights that move with θ but carry no gradient make the line searches' loss and gradient
            # disagree (measured: allen-cahn seed 2's SSBroyden stopped after 2 iterations): fixed here
            self._causal_w = self._causal_weights_now()
        self._modes[phase] = mode = self._choose_mode(phase)
        return mode

    def _choose_mode(self, phase: str) -> StepMode:
        if phase == "lbfgs" and self.points.stream is not None:
            return StreamedStep(self, self.points.residual_sets, self._residual_share,
                                lambda: self._other_terms(*self.points.conditions))
        if not self.compile:
            return EagerStep(self)
        if self.chunk is not None and not self._coupled:
            others = (self._with_live(self._other_terms) if self.names or self.extra_terms({}) else None)
            return ChunkedStep(self.model, self._with_live(self._residual_share),
                               lambda: (self.points.residual, *self._live()), self.chunk, others,
                               lambda: (*self.points.conditions, *self._live()), self._chunks_hold, self._whole,
                               self._options())
        whole = self._whole()
        if phase == "adam":
            return AdamInGraphStep(self.model, self._with_live(self._weighted_terms),
                                   lambda: (*self.points.training, *self._live()), whole, self._options())
        return whole

    def _chunks_hold(self, terms: Terms) -> bool | None:
        """Whether the chunks' residual term equals the whole set's (None: cannot tell at a non-finite
        loss). Chunks give the mean only when each point's residual depends on that point alone; a
        residual that couples points (e.g. divided by ``u.std()``) is computed whole from then on."""
        if not math.isfinite(float(terms["residual"])):
            return None
        # point by point and equation by equation: a coupling term (a zero-mean constraint u.mean(), say)
        # may be far smaller than the others, and its effect on the loss below any tolerance on the sum
        x = self.points.residual.x
        with torch.no_grad():
            both = [self.problem.residual_terms(self.fields(pts, self.req_res, create_graph=False), self.params)
                    for pts in (x, x[:self.chunk])]
        tol = 1e-9 if self.dtype == torch.float64 else 1e-4  # rounding differences of other matmul blockings
        coupled = [i for i, (whole, part) in enumerate(zip(*both))
                   if float((whole[:self.chunk] - part).abs().max()) > tol * float(whole.abs().max())]
        if not coupled:
            return True
        warnings.warn(f"the residual of problem {self.problem.name!r} couples collocation points (equation "
                      f"{coupled[0]} has other values at the same points when computed on a chunk of {self.chunk} "
                      f"of them); computing it over all points at once", UserWarning, stacklevel=3)
        self._coupled = True
        return False

    def resample(self, step: int) -> None:
        if not self.config.rad:
            self.points.resample()
            return
        n, c = self.config.points, self.config
        pool = self.problem.domain.sample(techniques.RAD_POOL * n, c.sampler, self.points.rng)
        r = []
        for b in range(0, len(pool), EVAL_BATCH):
            f = self.fields(self._tensor(pool[b:b + EVAL_BATCH]), self.req_res, create_graph=False)
            with torch.no_grad():
                terms = self.problem.residual_terms(f, self.params)
                r.append((sum(t.abs() for t in terms) / len(terms)).reshape(-1).double().cpu().numpy())
        self.points.place(pool[techniques.rad_choose(np.concatenate(r), n, c.rad, self.points.rng)])

    def select_batch(self, step: int) -> None:
        self.points.select(step)

    def to_dtype(self, dtype: torch.dtype) -> None:
        self.dtype = dtype
        self.model.to(dtype)
        self.points.to_dtype(dtype)

    # -- measuring ----------------------------------------------------------------------------
    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.config.device)

    def predict(self, points: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for b in range(0, len(points), EVAL_BATCH):
                out.append(self.net(self._tensor(points[b:b + EVAL_BATCH])).double().cpu().numpy())
        return np.concatenate(out)

    def residual_rms(self, points: torch.Tensor) -> float:
        """Root-mean-square PDE residual of the plain network at the given points (no graph kept)."""
        acc, n = 0.0, 0
        for b in range(0, len(points), EVAL_BATCH):
            f = self.fields(points[b:b + EVAL_BATCH], self.req_res, create_graph=False)
            with torch.no_grad():
                r = self.problem.residual_terms(f, self.params)
                acc += sum(float((t.double() ** 2).sum()) for t in r) / len(r)
                n += len(points[b:b + EVAL_BATCH])
        return (acc / max(n, 1)) ** 0.5

    def _train_residual(self) -> float:
        """The RMS residual over the training set (this rank's shard), a block at a time in a batched run."""
        sq = [(self.residual_rms(pts.x) ** 2, pts.n) for pts in self.points.residual_sets()]
        return (sum(r * n for r, n in sq) / max(sum(n for _, n in sq), 1)) ** 0.5

    def evaluate(self) -> dict[str, float]:
        errs = field_errors(self.predict(self.eval_points), self.eval_values, self.problem.fields)
        return {"rel_l2": errs["rel_l2"], "heldout_residual": self.residual_rms(self.points.heldout),
                **trajectory_row(self.model)}

    def final_report(self) -> dict[str, Any]:
        pred = self.predict(self.eval_points)
        errs = field_errors(pred, self.eval_values, self.problem.fields)
        modes = self._modes
        last = modes.get("lbfgs", modes.get("adam"))
        adam = modes.get("adam")
        return {**errs, "heldout_residual": self.residual_rms(self.points.heldout),
                "train_residual": self._train_residual(), "derivatives": self.engine,
                "compiled": last is not None and last.compiles and last.active,
                "adam_in_graph": isinstance(adam, AdamInGraphStep) and adam.built and adam.active,
                # the compiled step's residual points per chunk; None: all at once
                "chunk_points": self.chunk if any(isinstance(m, ChunkedStep) and m.whole is None
                                                  for m in modes.values()) else None,
                "loss_terms": list(["residual", *self.names]), "unknowns": unknowns_report(self.model),
                "balance_weights": (dict(zip(self.balanced, self.model.balance_weights.double().tolist()))
                                    if self.balanced else None)}

    def predictions(self) -> dict[str, np.ndarray]:
        """Prediction and reference at the evaluation points (a grid, or scattered points on other domains)."""
        ev = self.problem.evaluation()
        return {**ev.arrays(), "pred": self.predict(ev.points)}

    # -- persistence --------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {**self.points.state(), "dtype": str(self.dtype)}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.points.load_state(state)


def check_config(problem: Problem, config: SolveConfig) -> None:
    """Fail before a run directory exists on options the PINN solver would silently lose or misuse."""
    check_batching(config)
    if config.options:
        raise ConfigError(f"solver 'pinn' takes no --opt options (got {', '.join(map(repr, config.options))}); "
                          f"--opt and --adjoint are for --solver node")
    if config.hard and problem.hard_constraint is None:
        raise ConfigError(f"problem {problem.name!r} offers no hard constraint (--hard is not available)")
    loss_weights(config.weights, term_names(problem, active_conditions(problem, config)))
    check_net_options(problem, config)
    balancing.check_balance(config.balance, problem.name, 1 + len(active_conditions(problem, config)))
    if config.causal:
        techniques.check_causal(problem.domain.names, problem.name)
    if config.rad and not (config.resample_every or config.qn_restart):
        raise ConfigError(f"rad {config.rad:g} acts where points are redrawn: give --resample-every N (Adam) or "
                          f"--qn-restart N (bfgs, ssbroyden), or --rad 0")
    for i, c in enumerate(problem.conditions):
        need = c.min_points()
        if config.boundary_points < need:  # a face with no point: its condition is simply absent from the loss
            raise ConfigError(f"boundary-points {config.boundary_points} is too few: condition {i} "
                              f"({c.describe(problem.domain)}) covers {need} faces and needs at least {need} points")


def make_task(problem: Problem, config: SolveConfig) -> PinnTask:
    return PinnTask(problem, config, build_net(problem, config).to(config.torch_dtype).to(config.device))


SPEC = register_solver(SolverSpec(
    name="pinn", make_task=make_task, check_config=check_config,
    description="physics-informed network: residual and condition losses on seeded collocation points",
    measure="rel L2 against the reference over the whole domain, learned without data",
    figure_kind="grid",
    report_keys=("heldout_residual", "train_residual", "derivatives", "compiled", "adam_in_graph", "chunk_points",
                 "loss_terms", "unknowns", "balance_weights")))


def _mean_square(terms: list[torch.Tensor]) -> torch.Tensor:
    return sum((t * t).mean() for t in terms) / len(terms)
