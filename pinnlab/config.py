"""SolveConfig: every option of a run, validated once, filled from the problem's recipe."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from .derivatives import ENGINES
from .errors import ConfigError, one_of
from .geometry import SAMPLERS

DEVICES = ("cpu", "cuda")
MAX_THREADS = 1024  # far beyond any machine's cores; the bound only stops absurd values
DTYPES = ("float32", "float64")
COMPILE = ("auto", "on", "off")


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
      ``resample_every`` steps; ``seed`` for all randomness;
    - the loss: ``weights`` {term: w} ("residual", "conditions" for all conditions, or a term name
      such as "dirichlet", "initial_value"); ``hard``: the problem's hard-constraint transform;
      ``params`` overriding the problem's parameters;
    - execution: ``device`` (cpu, cuda), ``threads``, ``derivatives`` (auto, jets, autograd),
      ``compile`` (auto, on, off), ``checkpoint_every`` steps;
    - ``solver`` (a registered solver: "pinn", "node", ...) and its ``options`` (node: README, "Neural ODEs");
    - ``init_from``: a run directory (same network shape) whose trained network this run starts from,
      to train on, or to continue from one parameter value to the next.
    """

    solver: str = "pinn"
    layer: str | None = None
    layer_options: dict[str, Any] = field(default_factory=dict)
    init: str | None = None
    layer_norm: bool = False
    width: int | None = None
    depth: int | None = None
    steps: int | None = None          # Adam steps
    lbfgs_steps: int | None = None    # L-BFGS iterations (0: none)
    lr: float | None = None
    points: int | None = None         # interior collocation points
    boundary_points: int | None = None
    sampler: str = "sobol"
    resample_every: int | None = None
    weights: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    lbfgs_dtype: str = "float64"      # float32 L-BFGS often stops after a few iterations
    threads: int = 1                  # small nets on 2 shared cores: 1 thread measured fastest
    derivatives: str = "auto"
    compile: str = "auto"
    hard: bool = False                # use the problem's hard-constraint output transform
    params: dict[str, float] = field(default_factory=dict)
    eval_every: int = 250
    checkpoint_every: int = 500
    early_stop: int = 0               # stop Adam after this many evaluations without held-out improvement
    options: dict[str, Any] = field(default_factory=dict)  # solver-specific (node: see solvers/node.py OPTIONS)
    init_from: str | None = None      # a run directory whose trained network this run starts from

    def validate(self) -> SolveConfig:
        from .solvers.registry import get_solver  # here: the solvers import this module
        get_solver(self.solver)  # one line naming the registered solvers if it is not one
        if self.device not in DEVICES:
            raise ConfigError(one_of("device", self.device, DEVICES))
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device 'cuda' requested but CUDA is not available on this machine (use --device cpu)")
        for name in ("dtype", "lbfgs_dtype"):
            if getattr(self, name) not in DTYPES:
                raise ConfigError(one_of(name.replace("_", "-"), getattr(self, name), DTYPES))
        if self.sampler not in SAMPLERS:
            raise ConfigError(one_of("sampler", self.sampler, SAMPLERS))
        if self.compile not in COMPILE:
            raise ConfigError(one_of("compile mode", self.compile, COMPILE))
        if self.derivatives not in ENGINES:
            raise ConfigError(one_of("derivative engine", self.derivatives, ENGINES))
        positive = ("width", "depth", "points", "boundary_points", "threads", "eval_every", "checkpoint_every")
        for name in positive:
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise ConfigError(f"{name.replace('_', '-')} must be a positive integer, got {v!r}")
        for name in ("steps", "lbfgs_steps", "resample_every", "early_stop", "seed"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ConfigError(f"{name.replace('_', '-')} must be a non-negative integer, got {v!r}")
        for name in (*positive, "steps", "lbfgs_steps", "resample_every", "early_stop"):
            # far beyond any run (a billion steps, points or units; a thousand layers); past it torch and
            # numpy fail mid-run, and a deeper net takes minutes to build before it fails
            bound = 1000 if name == "depth" else 10**9
            if (getattr(self, name) or 0) > bound:
                raise ConfigError(f"{name.replace('_', '-')} must be at most {bound}, got {getattr(self, name)}")
        if self.init_from is not None and not isinstance(self.init_from, str):
            raise ConfigError(f"init-from must be a run directory, got {self.init_from!r}")
        if self.init_from is not None:
            from .runs import check_path
            check_path(self.init_from, "--init-from")
        if self.steps == 0 and self.lbfgs_steps == 0:  # 0 Adam steps is an L-BFGS-only run
            raise ConfigError("steps and lbfgs-steps are both 0: nothing would be trained")
        if self.threads > MAX_THREADS:  # a thread each: 100000 exhausts the process's address space mid-run
            raise ConfigError(f"threads must be at most {MAX_THREADS}, got {self.threads}")
        if self.seed >= 2**63:  # torch.manual_seed takes a signed 64-bit integer
            raise ConfigError(f"seed must be below 2**63, got {self.seed}")
        for name in ("layer_options", "weights", "params", "options"):
            if not isinstance(getattr(self, name), Mapping):
                raise ConfigError(f"{name.replace('_', '-')} must be a dict of name=value, "
                                  f"got {type(getattr(self, name)).__name__} {getattr(self, name)!r}")
        for name in ("layer_norm", "hard"):
            if not isinstance(getattr(self, name), bool):  # bool("no") is True: a string would switch it on
                raise ConfigError(f"{name.replace('_', '-')} must be True or False, got {getattr(self, name)!r}")
        if self.lr is not None and (isinstance(self.lr, bool) or not (isinstance(self.lr, (int, float))
                                                                       and 0 < self.lr < math.inf)):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
        for k, w in self.weights.items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < math.inf:
                raise ConfigError(f"loss weight {k}={w!r} must be a finite non-negative number")
        return self

    def resolved(self, recipe) -> SolveConfig:
        """A copy with every ``None`` filled from the problem's recipe."""
        filled = {f: getattr(recipe, f) for f in ("layer", "width", "depth", "steps", "lbfgs_steps", "lr", "points",
                                                   "boundary_points", "resample_every")
                  if getattr(self, f) is None}
        out = dataclasses.replace(self, **filled)
        out.weights = {**dict(recipe.weights), **self.weights}
        return out.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

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
