"""The RAI solver: a PINN whose training path runs through per-point states (jets) at the network's layers.

Every training set (the collocation points and each condition's points) has its own state tables in
the run's model, one row per point, each state a jet (value and the partials that set's terms need),
initialised from the plain network. The residual and condition losses are taken on the auxiliary
path's output and the consistency mismatch is added (see :mod:`pinnlab.rai`). Every error reported
is the plain network's; the auxiliary objective is logged beside it (``loss_consistency`` in the
history, ``rai_objective`` and ``plain_loss`` in report.json). Options: ``--opt KEY=VALUE`` (OPTIONS).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from ..config import SolveConfig
from ..errors import ConfigError
from ..fields import Fields, close_under_prefixes
from ..jets import Jet, plan_for
from ..problem import Problem
from ..rai import (
    FREE,
    UPDATES,
    AuxPass,
    RowAdam,
    Schedule,
    StateTables,
    aux_forward,
    net_chain,
    state_memory,
    sync_states,
    trained_block,
)
from .base import EagerStep, Model, Points, StepMode, Terms
from .pinn import PinnTask, build_net
from .pinn import check_config as pinn_check_config
from .registry import SolverOption, SolverSpec, register_solver


def _layers_ok(v: str) -> bool:
    if v in ("all", "hidden"):
        return True
    head, _, k = v.partition(":")
    return head == "every" and k.isdigit() and int(k) >= 1


OPTIONS: dict[str, SolverOption] = {
    "layers": SolverOption(str, "all", _layers_ok, "all, hidden, every:K",
                           "which layers carry states: every hidden layer and the head (all, as the reference), the "
                           "hidden layers only, or every K-th layer counted back from the head (which is included)"),
    "cut": SolverOption(str, "linear", lambda v: v in ("linear", "layer"), "linear, layer",
                        "a dense layer's state before its activation (linear, as the reference) or after it"),
    "state_scale": SolverOption(float, 1.0, lambda v: v > 0, "a number > 0",
                                "a state is this times its parameter: Adam moves states this many times faster"),
    "lam": SolverOption(float, 1.0, lambda v: v > 0, "a number > 0", "consistency weight (at the start)"),
    "lam_end": SolverOption(float, 0.0, lambda v: v >= 0, "a number >= 0",
                            "if > 0, the weight rises geometrically from lam to this over the Adam steps"),
    "reduction": SolverOption(str, "mean", lambda v: v in ("mean", "sum"), "mean, sum",
                              "a layer's mismatch: mean over points and features (as MSELoss), or summed over features"),
    "resync": SolverOption(int, 0, lambda v: v >= 0, "an integer >= 0",
                           "every this many Adam steps, the states are set to the plain forward pass (0: never)"),
    "gap": SolverOption(float, 0.0, lambda v: v >= 0, "a number >= 0",
                        "weight of the gap between the plain network's fields and the auxiliary path's"),
    "batch": SolverOption(int, 0, lambda v: v >= 0, "an integer >= 0",
                          "collocation points per Adam step (0: all); each epoch visits every point once"),
    "update": SolverOption(str, "joint", lambda v: v in UPDATES, ", ".join(UPDATES),
                           "Adam steps move weights and states together (joint, as the reference), or alternate: "
                           "odd steps the states only, even steps the weights only (L-BFGS stays joint)"),
    "free": SolverOption(str, "jet", lambda v: v in FREE, ", ".join(FREE),
                         "what of a state is free: the whole jet (value and partials, as the reference), or the "
                         "value only, its partials pushed through the layer from the previous state"),
    "lbfgs": SolverOption(str, "rai", lambda v: v in ("rai", "plain"), "rai, plain",
                          "what the L-BFGS phase trains: the RAI objective, or the plain network's PINN loss"),
}


def parse_options(given: Mapping[str, Any]) -> dict[str, Any]:
    out = SPEC.parse_options(given)
    if out["lam_end"] and out["lam_end"] < out["lam"]:
        raise ConfigError(f"rai option lam_end={out['lam_end']} is below lam={out['lam']} (allowed: 0 for a constant "
                          "weight, or lam_end >= lam)")
    return out


def _layer_positions(v: str, n_cuts: int):
    if v in ("all", "hidden"):
        return v
    k = int(v.partition(":")[2])
    return sorted({n_cuts - 1 - j for j in range(0, n_cuts, k)})


class RaiStep(EagerStep):
    """The eager step, counting the task's Adam steps (its λ schedule, batches and re-syncs follow them)."""

    def loss_and_grads(self, check):
        self.task.begin_step()
        terms = super().loss_and_grads(check)
        self.task.freeze_block()
        return terms


class RaiTask(PinnTask):
    """A PINN run trained through RAI's per-point jet states; evaluated on the plain network."""

    chunkable = False  # the consistency terms need each set's batch whole
    shards = False     # per-point states: a shard's gradient of another rank's rows is not its to average

    def __init__(self, problem: Problem, config: SolveConfig, net: torch.nn.Module):
        self.opt = parse_options(config.options)
        self.rai_step, self.phase, self.plain_only = 0, "adam", False
        self._aux: dict[int, AuxPass] = {}
        super().__init__(problem, config, net)
        if self.engine != "jets":
            raise ConfigError("solver 'rai' needs jet rules for the whole network and partials up to third order "
                              "(its states are jets); this layer kind or problem has none")
        self.lam = Schedule(self.opt["lam"], self.opt["lam_end"] or None, max(1, config.steps or 1))

    # -- the model: the network and one state table per training set ---------------------------
    def build_model(self, net: torch.nn.Module) -> Model:
        model = super().build_model(net)
        n_cuts = len(net_chain(net, "all", self.opt["cut"]).widths)
        self.chain = net_chain(net, _layer_positions(self.opt["layers"], n_cuts), self.opt["cut"])
        p = self.problem
        self.set_names = ["residual", *self.names]
        self.set_requests = [self.req_res, *self.req_cond]
        self.wanted = [close_under_prefixes({f: set(r.get(f, ())) for f in p.fields}) for r in self.set_requests]
        self.plans = [plan_for(p.domain.dim, [i for idx in w.values() for i in idx]) for w in self.wanted]
        self.tables: list[StateTables] = []
        for name, pts, plan in zip(self.set_names, self.points.training, self.plans):
            n_comps = 1 if self.opt["free"] == "value" else plan.size
            tab = StateTables(pts.n, self.chain.widths, n_comps, dtype=self.dtype, device=self.config.device,
                              scale=self.opt["state_scale"])
            sync_states(self.chain, tab, Jet.input(pts.x, plan))
            self.tables.append(model.add(f"states_{name}", tab))
        return model

    def sync(self, sets: range | list[int] | None = None) -> None:
        """States of the given sets (all when None) from the plain forward pass at their current points."""
        for k in sets if sets is not None else range(len(self.tables)):
            sync_states(self.chain, self.tables[k], Jet.input(self.points.training[k].x, self.plans[k]))

    # -- steps ----------------------------------------------------------------------------------
    def begin_step(self) -> None:
        if self.phase != "adam":
            return
        self.rai_step += 1
        if self.opt["resync"] and self.rai_step > 1 and (self.rai_step - 1) % self.opt["resync"] == 0:
            self.sync()

    def freeze_block(self) -> None:
        """Alternating updates: drop the gradient of the block this Adam step leaves alone (Adam skips a
        parameter without one: it stays put, and so do its moments)."""
        if self.phase != "adam":
            return
        block = trained_block(self.opt["update"], self.rai_step)
        if block == "all":
            return
        states = {id(p) for t in self.tables for p in t.parameters()}
        for p in self.parameters():
            if (id(p) in states) != (block == "states"):
                p.grad = None

    def step_mode(self, phase: str) -> StepMode:
        self.phase = phase
        self.plain_only = phase == "lbfgs" and self.opt["lbfgs"] == "plain"
        self._modes[phase] = mode = RaiStep(self)
        return mode

    def adam_optimizer(self, params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer | None:
        if self.opt["batch"] and self.opt["batch"] < self.points.residual.n:
            return RowAdam(params, lr=lr)  # a batch's step moves only its rows and their moments
        return None

    def resample(self, step: int) -> None:
        super().resample(step)
        self.sync([0])  # resampled collocation points get their rows from the plain forward pass

    def _residual_batch(self) -> Points:
        res, b = self.points.residual, self.opt["batch"]
        if not b or b >= res.n or self.phase != "adam":
            return res
        per_epoch = -(-res.n // b)
        epoch, k = divmod(max(self.rai_step - 1, 0), per_epoch)
        # a permutation per epoch from (seed, epoch): a resumed run draws the same batches
        gen = torch.Generator().manual_seed(int(self.config.seed) * 1_000_003 + epoch)
        ids = torch.randperm(res.n, generator=gen)[k * b:(k + 1) * b].to(res.ids.device)
        return Points(res.x[ids], res.ids[ids])

    def loss_terms(self) -> Terms:
        return self._weighted_terms(self._residual_batch(), *self.points.conditions)

    # -- the seams: fields through the states, consistency and gap terms -------------------------
    def _set_of(self, requests, position: int) -> int:
        for k, r in enumerate(self.set_requests):
            if r is requests:
                return k
        return position

    def batch_fields(self, batches: list[Points], requests: list) -> list:
        if self.plain_only:
            return super().batch_fields(batches, requests)
        p, out = self.problem, []
        for pos, (b, req) in enumerate(zip(batches, requests)):
            k = self._set_of(req, pos)
            tab, plan = self.tables[k], self.plans[k]
            ids = None if b.n == tab.n_points else b.ids  # the whole set, in row order: no gather
            # a mini-batch's gradient holds only its rows (sparse), for the row-local Adam below
            aux = aux_forward(self.chain, tab, Jet.input(b.x, plan), ids, reduction=self.opt["reduction"],
                              sparse=ids is not None and self.phase == "adam", free=self.opt["free"])
            self._aux[k] = aux
            comps = aux.output.comps
            data = {f: {i: _full(comps[plan.pos[i]], comps[0])[:, j] for i in self.wanted[k][f]}
                    for j, f in enumerate(p.fields)}
            out.append(Fields(p.domain.names, p.fields, b.x, data))
        return out

    def extra_terms(self, batches: Mapping[str, tuple[Points, Any]]) -> Terms:
        terms = super().extra_terms(batches)
        aux, self._aux = self._aux, {}
        if self.plain_only or not aux:
            return terms
        terms["consistency"] = self.lam(self.rai_step) * torch.stack([a.consistency for a in aux.values()]).sum()
        if self.opt["gap"]:
            gaps = []
            for name, (pts, fields) in batches.items():
                k = self.set_names.index(name)
                plain = self.fields(pts.x, self.set_requests[k])
                gaps += [(plain.data[f][i] - fields.data[f][i]).square().mean()
                         for f in self.wanted[k] for i in self.wanted[k][f]]
            terms["gap"] = self.opt["gap"] * torch.stack(gaps).sum()
        return terms

    # -- reporting --------------------------------------------------------------------------------
    def _plain_terms(self) -> Terms:
        keep = self.plain_only
        self.plain_only = True
        try:
            with torch.no_grad():
                return self._weighted_terms(*self.points.training)
        finally:
            self.plain_only = keep

    def evaluate(self) -> dict[str, float]:
        # the history's loss column is the objective trained; the plain network's PINN loss sits beside it
        return {**super().evaluate(), "plain_loss": float(sum(self._plain_terms().values()))}

    def final_report(self) -> dict[str, Any]:
        rep = super().final_report()
        keep = self.plain_only
        with torch.no_grad():
            self.plain_only = False
            aux_terms = self._weighted_terms(*self.points.training)
        self.plain_only = keep
        plain_terms = self._plain_terms()
        cons = float(aux_terms.get("consistency", 0.0)) / self.lam(self.rai_step)
        rep.update({
            "rai_objective": float(sum(v for k, v in aux_terms.items() if k not in ("consistency", "gap"))) + cons,
            "rai_consistency": cons,
            "plain_loss": float(sum(plain_terms.values())),
            "rai_state_mib": state_memory(self.tables)["mib"],
            "rai_state": {"cuts": len(self.chain.widths), "widths": self.chain.widths,
                          "points": [t.n_points for t in self.tables], "components": [t.n_comps for t in self.tables]},
            "rai_options": dict(self.opt),
            "loss_terms": [*rep["loss_terms"], "consistency", *(["gap"] if self.opt["gap"] else [])],
        })
        # the run is over: the loss the runner reports next (final_loss) is the plain network's, on every point
        self.plain_only, self.phase = True, "report"
        return rep

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "rai_step": self.rai_step}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        super().load_extra_state(state)
        self.rai_step = int(state.get("rai_step", 0))


def _full(c, like: torch.Tensor) -> torch.Tensor:
    if c is None:
        return like.new_zeros(()).expand(like.shape)
    return c if c.shape == like.shape else c.expand(like.shape)


def check_config(problem: Problem, config: SolveConfig) -> None:
    """The PINN solver's checks, the RAI options, and jet rules for the network (RAI's states are jets)."""
    opts = parse_options(config.options)
    if config.first_stage != "adam" and opts["batch"] and opts["batch"] < (config.points or 0):
        # its row-batched Adam moves only a batch's rows and their moments: no other optimiser does
        raise ConfigError(f"solver 'rai' with --opt batch={opts['batch']} trains with its own row-batched Adam: "
                          f"--first-stage {config.first_stage!r} cannot replace it (allowed: adam, or --opt batch=0)")
    if config.batch_size:  # its per-point state tables are sized by the residual set it holds whole
        raise ConfigError(f"solver 'rai' does not take --batch-size (got {config.batch_size}); its own "
                          f"--opt batch=N batches over its per-point states")
    pinn_check_config(problem, dataclasses.replace(config, options={}))
    if config.derivatives == "autograd":
        raise ConfigError("solver 'rai' keeps jets (values and partials) as its states: --derivatives autograd "
                          "cannot be used with it (allowed: auto, jets)")
    from ..derivatives import resolve_engine
    net = build_net(problem, config)
    if resolve_engine(net, close_under_prefixes(problem.all_requests()), "auto") != "jets":
        raise ConfigError(f"solver 'rai' needs jet rules: layer kind {config.layer!r} or a partial of problem "
                          f"{problem.name!r} has none (states are jets of values and partials up to third order)")


def make_task(problem: Problem, config: SolveConfig) -> RaiTask:
    return RaiTask(problem, config, build_net(problem, config).to(config.torch_dtype).to(config.device))


SPEC = register_solver(SolverSpec(
    name="rai", make_task=make_task, check_config=check_config, options=OPTIONS,
    description="relaxed activation identity: a PINN trained through per-point jet states at its layers",
    measure=("rel L2 of the plain network (no states) against the reference over the whole domain, learned without "
             "data; the auxiliary objective and the state tables' memory are in each run's report.json "
             "(rai_objective, rai_state_mib)"),
    figure_kind="grid",
    report_keys=("heldout_residual", "train_residual", "derivatives", "compiled", "adam_in_graph", "chunk_points",
                 "loss_terms", "rai_objective", "rai_consistency", "plain_loss", "rai_state_mib", "rai_state",
                 "rai_options")))
