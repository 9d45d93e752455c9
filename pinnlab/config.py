"""SolveConfig: every option of a run, validated once, filled from the problem's recipe."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from .derivatives import ENGINES
from .errors import ConfigError
from .geometry import SAMPLERS
from .layers.embeddings import check_fourier
from .layers.rwf import check_rwf
from .options import check as check_options
from .options import option
from .solvers.soap import FIRST_STAGES, check_first_stage

DEVICES = ("cpu", "cuda")
MAX_THREADS = 1024  # far beyond any machine's cores; the bound only stops absurd values
# far beyond any run (a billion steps, points or units; a million layers); past them torch and numpy fail
# mid-run, and a deeper net takes many minutes to build before it fails
MAX_COUNT, MAX_DEPTH = 10**9, 10**6
DTYPES = ("float32", "float64")
COMPILE = ("auto", "on", "off")
OPTIMIZERS = ("lbfgs", "bfgs", "ssbroyden", "auto")   # the stage after Adam (lbfgs-steps iterations)
QN_HESSIAN = ("fresh", "keep")   # what a dense quasi-Newton restart on new points does with its Hessian


def _non_negative(what: str):
    def check(v: float) -> None:
        if v < 0:
            raise ConfigError(f"{what} must be a non-negative number (0: off), got {v!r}")
    return check


def _solver_names() -> list[str]:
    from .solvers.registry import solver_names  # here: the solvers import this module
    return solver_names()


def _check_solver(name: str) -> None:
    from .solvers.registry import get_solver
    get_solver(name)  # one line naming the registered solvers if it is not one


def _solver_help() -> str:
    return " | ".join(_solver_names()) + "."


def _solver_options_help() -> str:
    from .solvers.registry import get_solver
    taking = [(n, list(get_solver(n).options)) for n in _solver_names() if get_solver(n).options]
    listed = "; ".join(f"{n}: {', '.join(opts[:5])}{', ...' if len(opts) > 5 else ''}" for n, opts in taking)
    return f"Solver option ({listed}; see README)." if listed else "Solver option (see README)."


def _check_noise(v: float) -> None:
    if v < 0:
        raise ConfigError(f"noise must be a non-negative number, got {v!r}")


@dataclass
class SolveConfig:
    """Options of one run, as the ``pinnlab solve`` options of the same names (``early_stop`` is
    ``--early-stop``). ``None`` means "the problem's recipe decides" (``pinnlab show NAME`` prints it).

    - network: ``layer`` kind and its ``layer_options`` (docs/layers.md), ``init``, ``layer_norm``,
      ``width`` (hidden units), ``depth`` (hidden layers);
    - training: ``steps`` of Adam at ``lr``, then ``lbfgs_steps`` L-BFGS iterations in ``lbfgs_dtype``;
      ``dtype`` of the Adam stage; ``early_stop`` N: stop Adam after N evaluations without a lower
      held-out residual (0: never); ``eval_every`` steps between error measurements;
    - points: ``points`` interior collocation points, ``boundary_points`` per condition (split
      between its faces), drawn by ``sampler`` (sobol, lhs, uniform), new ones every
      ``resample_every`` steps; ``batch_size`` residual points per Adam step (0: all); ``seed`` for all
      randomness;
    - the loss: ``weights`` {term: w} ("residual", "conditions" for all conditions, or a term name
      such as "dirichlet", "initial_value"); ``hard``: the problem's hard-constraint transform;
      ``params`` overriding the problem's parameters;
    - execution: ``device`` (cpu, cuda), ``threads``, ``derivatives`` (auto, jets, autograd),
      ``compile`` (auto, on, off), ``checkpoint_every`` steps;
    - ``solver`` (a registered solver: "pinn", "node", ...) and its ``options`` (node: README, "Neural ODEs");
    - ``init_from``: a run directory (same network shape) whose trained network this run starts from,
      to train on, or to continue from one parameter value to the next.
    """

    solver: str = option("pinn", _solver_help, only="solve", check=_check_solver)
    layer: str | None = option(None, "Layer kind (tanh, sine, yat, auto, ...).", only="solve")
    seed: int = option(0, "Seed of all randomness (points, initialisation, resampling).", only="solve", low=0,
                       high=2**63 - 1, high_text="below 2**63")  # torch.manual_seed takes a signed 64-bit integer
    layer_options: dict[str, Any] = option(dict, "Option of the layer kind, e.g. omega0=3.", cli="--layer-opt",
                                           parse="pairs", metavar="KEY=VALUE")
    init: str | None = option(None, "Weight initialisation (xavier, he, lecun, orthogonal, default).")
    layer_norm: bool = option(False, "Layer normalisation after every hidden layer.")
    # network techniques (docs/techniques.md): embeddings, the modified MLP, weight factorisation
    periodic: str | None = option(None, "Exact periodic embedding of these coordinates ('x', 'x,y', or auto: those of "
                                  "the problem's periodic conditions; '': none); the period is the coordinate's "
                                  "extent (default: the problem's recipe).", metavar="COORDS")
    periodic_modes: int = option(1, "Harmonics K of --periodic: cos/sin(2 pi k x / L), k = 1..K.", low=1, high=1000)
    fourier_features: str = option("", "Random Fourier features M,SIGMA: [cos Bx, sin Bx], B (M x inputs) ~ "
                                   "N(0, SIGMA^2), fixed, seeded.", metavar="M,SIGMA", check=check_fourier)
    arch: str = option("mlp", "mlp | modified (two encoders U, V; h = z U + (1 - z) V per layer) | pirate "
                       "(PirateNet: U, V and --depth gated residual blocks of 3 layers; Fourier features "
                       "WIDTH/2,1 unless --fourier-features).", choices=("mlp", "modified", "pirate"),
                       what="architecture")
    rwf: str = option("", "Random weight factorisation MU,SIGMA: W = diag(exp(s)) V, s ~ N(MU, SIGMA^2) (e.g. "
                      "1,0.1).", metavar="MU,SIGMA", check=check_rwf)
    width: int | None = option(None, "Units per hidden layer (default: the problem's recipe).", low=1, high=MAX_COUNT)
    depth: int | None = option(None, "Hidden layers (default: the problem's recipe).", low=1, high=MAX_DEPTH)
    steps: int | None = option(None, "Adam steps.", low=0, high=MAX_COUNT)
    lbfgs_steps: int | None = option(None, "L-BFGS iterations after Adam (0: none).", low=0, high=MAX_COUNT)
    lr: float | None = option(None, "Adam learning rate.", low=0)
    first_stage: str = option("adam", "adam | soap: the optimiser of the first stage (the --steps steps at --lr; "
                              "soap: pytorch-optimizer's SOAP, pip install 'pinnlab[soap]').", choices=FIRST_STAGES,
                              check=check_first_stage, what="first stage")
    warmup: int | None = option(None, "Adam steps of linear learning-rate warm-up from 0 (0: none).", low=0,
                                high=MAX_COUNT)
    lr_decay: float | None = option(None, "Adam's rate falls by this factor every 1000 steps after warm-up (1: "
                                    "constant).", low=0, high=1.0, high_text="at most 1")
    # the dense methods keep an n x n inverse Hessian: networks up to 20000 parameters (quasi_newton.py)
    optimizer: str | None = option(None, "After Adam: lbfgs | bfgs | ssbroyden (dense, float64) | auto (ssbroyden "
                                   "up to 20000 parameters, else lbfgs; default: the problem's recipe).",
                                   choices=OPTIMIZERS)
    qn_restart: int | None = option(None, "bfgs/ssbroyden: new collocation points (and Hessian: --qn-hessian) "
                                    "every N iterations (0: never).", low=0, high=MAX_COUNT)
    qn_hessian: str | None = option(None, "At each --qn-restart: fresh (the Hessian restarts from the identity) | keep "
                                    "(carried over to the new points, as Urbán et al.'s code does; default: the "
                                    "problem's recipe).", choices=QN_HESSIAN)
    points: int | None = option(None, "Interior collocation points.", low=1, high=MAX_COUNT)
    boundary_points: int | None = option(None, "Points per condition, split between its faces (default: the "
                                         "problem's recipe).", low=1, high=MAX_COUNT)
    sampler: str = option("sobol", "sobol | lhs | uniform.", choices=SAMPLERS)
    resample_every: int | None = option(None, "Draw new collocation points every N steps.", low=0, high=MAX_COUNT)
    batch_size: int = option(0, "Residual points per Adam step (0: all of them): a step is one batch, an epoch "
                             "ceil(points / N) steps; points are regenerated per batch (docs/scale.md).", low=0,
                             high=MAX_COUNT)
    device: str = option("cpu", "cpu | cuda.", choices=DEVICES)
    dtype: str = option("float32", "float32 | float64 (Adam stage).", choices=DTYPES)
    # float32 L-BFGS often stops after a few iterations
    lbfgs_dtype: str = option("float64", "float32 | float64 for the L-BFGS stage.", choices=DTYPES)
    # small nets on 2 shared cores: 1 thread measured fastest; a thread each: 100000 exhausts the address space
    threads: int = option(1, "Torch intra-op threads (1 is fastest for small nets).", low=1, high=MAX_THREADS)
    derivatives: str = option("auto", "auto | jets | autograd.", choices=ENGINES, what="derivative engine")
    compile: str = option("auto", "auto | on | off: torch.compile the loss.", choices=COMPILE, what="compile mode")
    hard: bool | None = option(None, "Use the problem's hard-constraint output transform (--soft: its conditions "
                               "as loss terms; default: the problem's recipe).", off="--soft")
    params: dict[str, float] = option(dict, "Override a problem parameter.", cli="--set", parse="numbers",
                                      metavar="KEY=VALUE")
    unknowns: dict[str, float] = option(dict, "Learn a parameter of the problem from this guess (a positive guess: "
                                        "learned as a positive number); its value in the problem is the truth "
                                        "reported.", cli="--unknown", parse="numbers", metavar="NAME=GUESS")
    data: str | None = option(None, "Measurements: a .npz or .csv file with a column per coordinate and per "
                              "measured field.", metavar="FILE")
    data_from_reference: int | None = option(None, "Measurements: N points sampled from the problem's reference "
                                             "(0: none; default: the problem's recipe).", low=0, high=MAX_COUNT)
    noise: float = option(0.0, "Relative Gaussian noise of --data-from-reference (0.01: 1% of each field's RMS).",
                          check=_check_noise)
    data_seed: int = option(0, "Seed of the --data-from-reference points and noise.", low=0, high=2**63 - 1,
                            high_text="below 2**63")
    weights: dict[str, float] = option(dict, "Loss weight: residual, conditions or a term name.", cli="--weight",
                                       parse="numbers", metavar="TERM=W")
    causal: float | None = option(None, "Causal weighting of the residual over time bins, its epsilon (0: off; "
                                  "needs a coordinate t).", check=_non_negative("causal"))
    rba: float | None = option(None, "Residual-based attention: per-point weights updated at each Adam step with "
                               "this rate (0: off; 0.01 in the paper).", check=_non_negative("rba"))
    balance: str = option("none", "none | gradnorm | ntk: loss-term weights from their gradient norms (learning-"
                          "rate annealing) or NTK traces, updated every --balance-every Adam steps.",
                          choices=("none", "gradnorm", "ntk"), what="balance mode")
    balance_every: int = option(100, "Adam steps between --balance updates.", low=1, high=MAX_COUNT)
    rad: float | None = option(None, "Resample residual points by residual density |r|^K (RAD; 0: uniform). "
                               "Acts at --resample-every and --qn-restart.", check=_non_negative("rad"))
    eval_every: int = option(250, "Measure the error and held-out residual every N steps (also early stop's "
                             "cadence).", low=1, high=MAX_COUNT)
    checkpoint_every: int = option(500, "Write the checkpoint every N steps (what a kill -9 can lose).", low=1,
                                   high=MAX_COUNT)
    early_stop: int = option(0, "Stop Adam after N evaluations without held-out gain.", low=0, high=MAX_COUNT)
    # solver-specific, declared by each solver (pinnlab.solvers.registry)
    options: dict[str, Any] = option(dict, _solver_options_help, cli="--opt", parse="pairs", metavar="KEY=VALUE",
                                     aliases={"--adjoint": "adjoint"})
    init_from: str | None = option(None, "Start from the trained network of RUN_DIR (same shape): train on, or "
                                   "continue in a parameter.", metavar="RUN_DIR")

    def validate(self) -> SolveConfig:
        """Every field against its declared type, choices and bounds (:mod:`pinnlab.options`), then what
        relates fields to each other or to this machine; returns self, or raises one ConfigError."""
        check_options(self)
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device 'cuda' requested but CUDA is not available on this machine (use --device cpu)")
        if self.init_from is not None:
            from .runs import check_path
            check_path(self.init_from, "--init-from")
        if self.steps == 0 and self.lbfgs_steps == 0:  # 0 Adam steps is an L-BFGS-only run
            raise ConfigError("steps and lbfgs-steps are both 0: nothing would be trained")
        for k, w in self.weights.items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < math.inf:
                raise ConfigError(f"loss weight {k}={w!r} must be a finite non-negative number")
        return self

    def resolved(self, recipe) -> SolveConfig:
        """A copy with every ``None`` filled from the problem's recipe."""
        filled = {f: getattr(recipe, f) for f in ("layer", "width", "depth", "steps", "lbfgs_steps", "lr", "points",
                                                   "boundary_points", "resample_every", "optimizer", "qn_restart",
                                                   "causal", "rba", "rad", "warmup", "lr_decay", "data_from_reference",
                                                   "hard", "qn_hessian", "periodic")
                  if getattr(self, f) is None}
        out = dataclasses.replace(self, **filled)
        out.weights = {**dict(recipe.weights), **self.weights}
        return out.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def completed(cls, stored: Mapping[str, Any]) -> dict[str, Any]:
        """A run record's config with each option added since it was written at its default (which
        that run had)."""
        had = {**cls().to_dict(), "periodic": ""}  # recipes set no embedding before Recipe.periodic existed
        return {**{k: v for k, v in had.items() if k not in stored}, **stored}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SolveConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown config keys {sorted(unknown)} (allowed: {', '.join(sorted(known))})")
        return cls(**d)

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)

    @property
    def torch_lbfgs_dtype(self) -> torch.dtype:
        return getattr(torch, self.lbfgs_dtype)
