"""The Problem: a domain, named fields, a residual in plain torch, conditions and a reference.

A residual is written over a namespace ``f`` (fields, their partials, coordinates) and the
parameters ``p``: ``residual=lambda f, p: f.u.t + f.u * f.u.x - p.nu * f.u.xx``. An exact
solution is a function of the coordinates (and optionally ``p``); a numerical reference is a
:class:`Reference` that states its method and returns values on a grid.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import SimpleNamespace

import numpy as np
import torch

from .conditions import Condition
from .errors import ProblemError
from .fields import Field, Fields, MultiIndex, Params, Recorder, merge_requests
from .geometry import Box, Geometry, evaluation_points
from .unknowns import Unknown, check_unknowns, params_read

# Evaluation grid points per coordinate when a problem does not say: 101 up to 2-D; fewer above, where
# 101^3 points (a million, 17 MB of predictions, a network pass each evaluation) would cost more than
# the error they measure is worth: 41^3 = 68921, 17^4 = 83521.
GRID_BY_DIM = {1: 101, 2: 101, 3: 41, 4: 17}


@dataclass(frozen=True)
class Recipe:
    """A problem's default training recipe: what ``pinnlab solve NAME`` uses unless told otherwise."""

    width: int = 32
    depth: int = 3
    layer: str = "tanh"
    steps: int = 3000          # Adam steps
    lbfgs_steps: int = 500     # L-BFGS iterations after Adam
    lr: float = 1e-3
    points: int = 2000         # interior collocation points
    boundary_points: int = 200 # per condition
    weights: Mapping[str, float] = field(default_factory=dict)  # "residual", "conditions" or a term name → weight
    resample_every: int = 0    # 0: fixed collocation points
    data_from_reference: int = 0  # inverse problems: measurements sampled from the reference (--data-from-reference)
    measured: tuple[str, ...] = ()  # the fields those measurements observe (empty: all)
    optimizer: str = "lbfgs"   # after Adam: lbfgs, bfgs, ssbroyden or auto (ssbroyden up to 20000 parameters)
    qn_restart: int = 0        # bfgs/ssbroyden: new points every N iterations (0: never)
    qn_hessian: str = "fresh"  # at those restarts: fresh (from the identity) or keep (carried over)
    causal: float = 0.0        # causal weighting's epsilon over time bins (0: off)
    rba: float = 0.0           # residual-based attention's weight rate (0: off)
    rad: float = 0.0           # resampling by residual density |r|^rad (0: uniform)
    warmup: int = 0            # Adam steps of learning-rate warm-up
    lr_decay: float = 1.0      # Adam's rate falls by this factor every 1000 steps after warm-up
    hard: bool = False         # the problem's hard-constraint transform (--hard/--soft)
    periodic: str = ""         # exact periodic embedding of these coordinates (--periodic; "auto": of its conditions)


# A problem given no recipe (a user's file) trains with this: Adam, then SSBroyden where the network has
# at most 20000 parameters, else L-BFGS (chosen on the built-ins, checked on examples/: docs/accuracy.md)
GENERAL_DEFAULT = Recipe(optimizer="auto")


@dataclass(frozen=True)
class Reference:
    """A numerical reference solution computed by a stated high-accuracy method.

    Either ``solve(p)`` returns ``(axes, values)``: 1-D grid axes per coordinate (in domain order) and,
    per field, an array of shape ``tuple(len(a) for a in axes.values())`` (``indexing="ij"``); or
    ``at(p, points)`` returns the values per field at any points (N, dim) of the domain (a finite-element
    solution, say), and the error is measured on the domain's evaluation points. ``check(p)``, if
    given, states the reference's own accuracy (e.g. the difference between two mesh refinements).
    """

    method: str
    solve: Callable[[Params], tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]]] | None = None
    at: Callable[[Params, np.ndarray], Mapping[str, np.ndarray]] | None = None
    check: Callable[[Params], str] | None = None

    def __post_init__(self):
        if (self.solve is None) == (self.at is None):
            raise ProblemError("a Reference needs exactly one of solve= (values on a grid) and at= (values at points)")


@dataclass(frozen=True)
class HardConstraint:
    """An output transform that satisfies some conditions exactly.

    ``transform(c, *outs)`` gets the coordinates (``c.x``, ``c.t``) and the raw network outputs
    per field and returns the constrained fields; ``enforces`` lists the indices of the
    conditions it makes exact (they are then dropped from the loss).
    """

    transform: Callable
    enforces: tuple[int, ...]


@dataclass(frozen=True)
class Problem:
    """An ODE or PDE with what is needed to solve it and to measure the error of a solution.

    - ``domain``: a :class:`~pinnlab.geometry.Box` of named coordinates (``t`` is time);
    - ``fields``: the unknowns' names, e.g. ``("u",)`` or ``("u", "v", "p")``;
    - ``residual(f, p)``: the equation(s) as tensors that vanish, written over the fields, their
      partials (``f.u.xx``) and coordinates (``f.x``), and the parameters ``p``; a tuple for systems;
    - ``conditions``: Dirichlet, Neumann, Robin, Periodic, Initial, InitialRate, PointData;
    - ``params``: named numbers the residual, conditions and solution read as ``p.name``; a
      :class:`~pinnlab.unknowns.Unknown` is one the run learns (it moves to ``unknowns``, and
      ``params`` keeps its true value, or its guess where none is given, for the reference);
    - ``exact(x, t, ..., p)`` (coordinates by name, ``p`` optional) or ``reference``
      (a :class:`Reference`): the solution the error is measured against, on ``grid`` points per
      coordinate (exact solutions; by default 101 up to 2-D, 41 in 3-D, 17 in 4-D; a Reference
      brings its own grid);
    - ``equation``, ``description``: text for ``pinnlab show`` and reports;
    - ``recipe``: the default training :class:`Recipe`; ``hard_constraint``: an optional
      :class:`HardConstraint` (``--hard``); ``heldout_points``: residual points never trained on.

    Everything is checked when the Problem is made, by a dry run of the residual, the conditions
    and the hard constraint: a mistake is a :class:`~pinnlab.errors.ProblemError` here, not mid-run.
    """

    name: str
    domain: Box
    fields: tuple[str, ...]
    residual: Callable[[Fields, Params], torch.Tensor | Sequence[torch.Tensor]]
    conditions: tuple[Condition, ...] = ()
    params: Mapping[str, float] = field(default_factory=dict)
    exact: Callable[..., torch.Tensor | Sequence[torch.Tensor]] | None = None
    reference: Reference | None = None
    equation: str = ""
    description: str = ""
    # evaluation grid points per coordinate (exact solutions); None: by dimension (GRID_BY_DIM)
    grid: int | Mapping[str, int] | None = None
    recipe: Recipe = GENERAL_DEFAULT
    hard_constraint: HardConstraint | None = None
    heldout_points: int = 2000
    unknowns: Mapping[str, Unknown] = field(default_factory=dict)

    def __post_init__(self):
        # fields="psi" is one field, not three
        object.__setattr__(self, "fields", (self.fields,) if isinstance(self.fields, str) else tuple(self.fields))
        object.__setattr__(self, "conditions", tuple(self.conditions))
        unknowns = dict(self.unknowns)
        unknowns.update({k: v for k, v in self.params.items() if isinstance(v, Unknown)})
        object.__setattr__(self, "unknowns", unknowns)
        object.__setattr__(self, "params", {k: (v if not isinstance(v, Unknown) else
                                                 v.true if v.true is not None else v.guess)
                                            for k, v in self.params.items()})
        # the problem's own copies of its conditions, bound to its domain (a condition holds no domain's state)
        if isinstance(self.domain, Geometry):
            object.__setattr__(self, "conditions", tuple(c.bind(self.domain) if isinstance(c, Condition) else c
                                                         for c in self.conditions))
        self._validate()

    # -- checks ---------------------------------------------------------------------------
    def _validate(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ProblemError("a Problem needs a non-empty name")
        # the name is part of its runs' folder names: characters every file system takes, never a path
        if (len(self.name) > 100 or self.name[0] == "."
                or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in self.name)):
            raise ProblemError(f"problem name {self.name!r} is not allowed: use at most 100 letters, digits, "
                               f"'-', '_' and '.' (not first)")
        if not isinstance(self.domain, Geometry):
            raise ProblemError(f"problem {self.name!r}: domain must be a Box or another pinnlab.geometry shape, "
                               f"got {type(self.domain).__name__}")
        if not self.fields:
            raise ProblemError(f"problem {self.name!r}: needs at least one field, e.g. fields=('u',)")
        for fname in self.fields:
            if not isinstance(fname, str) or not fname.isidentifier():
                raise ProblemError(f"problem {self.name!r}: field name {fname!r} is not an identifier")
            if fname in self.domain.names:
                raise ProblemError(f"problem {self.name!r}: field {fname!r} has the name of a coordinate")
        if len(set(self.fields)) != len(self.fields):
            raise ProblemError(f"problem {self.name!r}: repeated field names {self.fields}")
        for k, v in self.params.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise ProblemError(f"problem {self.name!r}: parameter {k}={v!r} is not a number")
        if self.exact is None and self.reference is None:
            raise ProblemError(f"problem {self.name!r}: give an exact solution or a Reference")
        sizes = self.grid_sizes
        for k in self.domain.names:
            n = sizes.get(k)
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 2:
                raise ProblemError(f"problem {self.name!r}: grid size for {k!r} must be an integer >= 2, got {n!r}")
        for c in self.conditions:
            if not isinstance(c, Condition):
                raise ProblemError(f"problem {self.name!r}: {c!r} is not a condition")
            c.validate(self.domain, self.fields)
        if self.hard_constraint is not None:
            bad = [i for i in self.hard_constraint.enforces if not 0 <= i < len(self.conditions)]
            if bad:
                raise ProblemError(f"problem {self.name!r}: hard constraint enforces unknown conditions {bad}")
            self._check_hard_constraint()
        _ = self.requests  # the dry run surfaces residual errors now, not mid-training
        if self.unknowns:
            missing = [k for k in self.unknowns if k not in self.params]
            if missing:
                raise ProblemError(f"problem {self.name!r}: unknown {missing[0]!r} is not one of its parameters "
                                   f"(parameters: {', '.join(self.params) or 'none'})")
            check_unknowns(self.name, self.unknowns, self.params_used())

    def params_used(self) -> set[str]:
        """The parameters the residual and the conditions read."""
        return params_read([self.residual, *(c.residuals for c in self.conditions)], self.params,
                           self.domain.names, self.fields)

    def _check_hard_constraint(self, n: int = 4) -> None:
        """A dry run of the output transform on a few points: a wrong signature, an unknown coordinate or
        a wrong number or shape of outputs fails here, not mid-run or, worse, in the error report."""
        what = f"problem {self.name!r}: the hard constraint"
        lo, hi = self.domain.lo, self.domain.hi
        x = torch.as_tensor(lo + (hi - lo) * np.linspace(0.2, 0.8, n)[:, None], dtype=torch.float64)
        coords = _Coordinates({k: x[:, i:i + 1] for i, k in enumerate(self.domain.names)}, what)
        try:
            outs = self.hard_constraint.transform(coords, *(torch.full((n, 1), 0.5, dtype=torch.float64)
                                                            for _ in self.fields))
        except ProblemError:
            raise
        except Exception as e:  # the user's own error, shown as one line
            raise ProblemError(f"{what} raised {type(e).__name__}: {e} (it is called as transform(c, "
                               f"{', '.join(self.fields)}) with coordinates c.{', c.'.join(self.domain.names)})") from None
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        if len(outs) != len(self.fields):
            raise ProblemError(f"{what} returned {len(outs)} outputs for {len(self.fields)} field(s) "
                               f"({', '.join(self.fields)})")
        for name, o in zip(self.fields, outs):
            if not isinstance(o, torch.Tensor) or tuple(o.shape) != (n, 1):
                got = tuple(o.shape) if isinstance(o, torch.Tensor) else type(o).__name__
                raise ProblemError(f"{what} returned {got} for field {name!r}; expected shape (N, 1), as its inputs")

    @property
    def grid_sizes(self) -> dict[str, object]:
        """Evaluation grid points per coordinate: ``grid`` as given, or by the domain's dimension."""
        if isinstance(self.grid, Mapping):
            return dict(self.grid)
        n = self.grid if self.grid is not None else GRID_BY_DIM.get(self.domain.dim, GRID_BY_DIM[max(GRID_BY_DIM)])
        return dict.fromkeys(self.domain.names, n)

    # -- parameters -----------------------------------------------------------------------
    @cached_property
    def p(self) -> Params:
        # built once: torch.compile cannot trace constructing it, so a fresh one per call split the graph
        return Params(**self.params)

    def with_params(self, **overrides: float) -> Problem:
        """A copy with some parameters changed; unknown names are an error."""
        for k, v in overrides.items():
            if k not in self.params:
                raise ProblemError(f"unknown parameter {k!r} for {self.name} "
                                   f"(known: {', '.join(self.params) or 'none'})")
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise ProblemError(f"parameter {k}={v!r} is not a number")
        unknowns = {k: replace(u, true=float(overrides[k])) if k in overrides else u
                    for k, u in self.unknowns.items()}  # a new value of an unknown is its new truth
        return replace(self, params={**self.params, **overrides}, unknowns=unknowns)

    def with_unknowns(self, **guesses: float) -> Problem:
        """A copy where each named parameter is learned from ``guesses[name]`` (log-parametrised when the
        guess is positive); the problem's value of it stays as the truth the report measures against."""
        for k, v in guesses.items():
            if k not in self.params:
                raise ProblemError(f"--unknown {k}: problem {self.name!r} has no parameter {k!r} "
                                   f"(parameters: {', '.join(self.params) or 'none'})")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ProblemError(f"--unknown {k}={v!r}: the guess must be a finite number")
        if not guesses:
            return self
        new = {k: Unknown(float(v), positive=v > 0, true=float(self.params[k])) for k, v in guesses.items()}
        return replace(self, unknowns={**self.unknowns, **new})

    # -- derivatives needed ---------------------------------------------------------------
    @cached_property
    def requests(self) -> dict[str, dict[str, set[MultiIndex]]]:
        """The partials each part needs: ``{"residual": {...}, "cond0": {...}, ...}``."""
        out = {"residual": self._record(lambda f: self.residual_terms(f))}
        for i, c in enumerate(self.conditions):
            n = len(getattr(c, "points", ())) or 4  # point data: a dry run at as many points as it has values
            out[f"cond{i}"] = self._record(lambda f, c=c: c.residuals(f, self.p), what=f"condition {i} ({c.kind})", n=n)
        return out

    def all_requests(self) -> dict[str, set[MultiIndex]]:
        return merge_requests(*self.requests.values())

    def _record(self, fn, what="residual", n: int = 4):
        rec = Recorder(self.domain.names, self.fields, n=n)
        try:
            terms = fn(rec)
        except ProblemError:
            raise
        except Exception as e:  # the user's own error, shown in their words
            raise ProblemError(f"problem {self.name!r}: {what} raised {type(e).__name__}: {e}") from None
        for i, t in enumerate(terms if isinstance(terms, (list, tuple)) else [terms]):
            # a complex or integer term would fail inside autograd or the optimiser, after the run's folder exists
            if isinstance(t, torch.Tensor) and (not t.is_floating_point() or t.is_complex()):
                raise ProblemError(f"problem {self.name!r}: {what} term {i} is {str(t.dtype).removeprefix('torch.')}; "
                                   f"it must be a real floating-point tensor (as the fields are)")
        return rec.requests

    def residual_terms(self, f: Fields, p: Params | None = None) -> list[torch.Tensor]:
        """The residual as a list of (N,) tensors, one per equation, at parameters ``p`` (default: ``self.p``;
        a run with unknowns passes their current values)."""
        try:
            r = self.residual(f, self.p if p is None else p)
        except ProblemError:
            raise
        except Exception as e:
            raise ProblemError(f"problem {self.name!r}: residual raised {type(e).__name__}: {e}") from None
        terms = list(r) if isinstance(r, (list, tuple)) else [r]
        n = f.points.shape[0]
        out = []
        for i, t in enumerate(terms):
            if isinstance(t, Field):  # a residual that is one partial, e.g. ``lambda f, p: f.u.t``
                t = t.value
            if not isinstance(t, torch.Tensor):
                raise ProblemError(f"problem {self.name!r}: residual term {i} is a {type(t).__name__}, not a tensor")
            if t.numel() != n or (t.dim() == 2 and t.shape[1] != 1) or t.dim() > 2:
                raise ProblemError(f"problem {self.name!r}: residual term {i} has shape {tuple(t.shape)}, "
                                   f"expected ({n},) for {n} points")
            out.append(t.reshape(n))
        return out

    # -- the reference --------------------------------------------------------------------
    @property
    def reference_method(self) -> str:
        return "exact solution" if self.exact is not None else self.reference.method

    def exact_values(self, points: np.ndarray) -> np.ndarray:
        """The exact solution at ``points`` (N, dim), as (N, n_fields) float64."""
        pts = torch.as_tensor(points, dtype=torch.float64)
        kwargs = {}
        for name in inspect.signature(self.exact).parameters:
            if name == "p":
                kwargs["p"] = self.p
            elif name in self.domain.names:
                kwargs[name] = pts[:, self.domain.index(name)]
            else:
                raise ProblemError(f"problem {self.name!r}: exact() takes unknown argument {name!r}")
        try:
            out = self.exact(**kwargs)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            cols = [torch.as_tensor(o, dtype=torch.float64) for o in outs]
        except Exception as e:  # the user's own error, shown as one line
            raise ProblemError(f"problem {self.name!r}: exact() raised {type(e).__name__}: {e}") from None
        if len(outs) != len(self.fields):
            raise ProblemError(f"problem {self.name!r}: exact() returned {len(outs)} fields, expected {len(self.fields)}")
        for name, c in zip(self.fields, cols):
            if c.dim() > 0 and c.numel() != len(pts):
                raise ProblemError(f"problem {self.name!r}: exact() gave {tuple(c.shape)} values for field {name!r} "
                                   f"at {len(pts)} points (expected one per point)")
        cols = [c.expand(len(pts)).reshape(-1) if c.dim() == 0 else c.reshape(-1) for c in cols]
        return torch.stack(cols, dim=1).numpy()

    def evaluation(self) -> Evaluation:
        """The points the error is measured on and the solution there: a grid on a box (or a grid
        reference's own grid), else the domain's scattered evaluation points (kind "points")."""
        # keyed by the solution object itself, not its id(): an id is reused once a function is freed
        source = self.reference or self.exact
        grid = tuple(sorted(self.grid_sizes.items()))
        key = (tuple(sorted(self.params.items())), grid, self.domain, self.fields)
        cache = _EVAL_CACHE.setdefault(source, {})
        if key not in cache:
            extra = {}
            on_grid = isinstance(self.domain, Box) and (self.exact is not None or self.reference.solve is not None)
            if on_grid and self.exact is not None:
                axes, pts = self.domain.grid(self.grid_sizes)
                values = self.exact_values(pts)
            elif on_grid:
                axes, values = self._reference_values()
                mesh = np.meshgrid(*axes.values(), indexing="ij")
                pts = np.stack([m.ravel() for m in mesh], axis=1)
            else:
                axes, (pts, extra) = {}, self._scattered_points()
                values = self.exact_values(pts) if self.exact is not None else self._reference_at(pts)
            bad = ~np.isfinite(values).all(axis=0)
            if bad.any():
                raise ProblemError(f"problem {self.name!r}: the {self.reference_method} is not finite everywhere on "
                                   f"the evaluation points (field {self.fields[int(np.argmax(bad))]!r})")
            cache[key] = Evaluation(axes, pts, values, kind="grid" if on_grid else "points",
                                    coords=self.domain.names, fields=self.fields, **extra)
        return cache[key]

    def _scattered_points(self) -> tuple[np.ndarray, dict]:
        """The domain's evaluation points; for space × time, the spatial points at each grid time."""
        dom, sizes = self.domain, self.grid_sizes
        space = getattr(dom, "space", None)
        if space is None:
            ps = evaluation_points(dom, sizes)
            return ps.points, {"triangles": ps.triangles, "outline": ps.outline}
        ps = evaluation_points(space, sizes)
        times = np.linspace(*dom.ranges["t"], int(sizes["t"]))
        pts = np.concatenate([np.column_stack([ps.points, np.full(len(ps.points), t)]) for t in times])
        return pts, {"triangles": ps.triangles, "outline": ps.outline, "times": times}

    def _reference_at(self, pts: np.ndarray) -> np.ndarray:
        what = f"problem {self.name!r}: the reference"
        try:
            vals = self.reference.at(self.p, pts)
        except ProblemError:
            raise
        except Exception as e:  # the user's own error, shown as one line
            raise ProblemError(f"{what} raised {type(e).__name__}: {e}") from None
        missing = [k for k in self.fields if k not in vals]
        if missing:
            raise ProblemError(f"{what} gives no values for {missing[0]!r} (fields: {', '.join(self.fields)})")
        out = [np.asarray(vals[k], dtype=float).reshape(-1) for k in self.fields]
        for k, v in zip(self.fields, out):
            if len(v) != len(pts):
                raise ProblemError(f"{what} gave {len(v)} values of {k!r} at {len(pts)} points")
        return np.stack(out, axis=1)

    def _reference_values(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The Reference's grid axes and its values as (N, n_fields), checked against what it promises."""
        what = f"problem {self.name!r}: the reference"
        try:
            axes, vals = self.reference.solve(self.p)
        except Exception as e:  # the user's own error, shown as one line
            raise ProblemError(f"{what} solver raised {type(e).__name__}: {e}") from None
        missing = [k for k in self.domain.names if k not in axes] + [k for k in self.fields if k not in vals]
        if missing:
            raise ProblemError(f"{what} gives no {missing[0]!r} (it must give axes for {', '.join(self.domain.names)} "
                               f"and values for {', '.join(self.fields)})")
        axes = {k: np.asarray(axes[k], dtype=float) for k in self.domain.names}
        for k, a in axes.items():
            if a.ndim != 1 or len(a) < 2 or not np.isfinite(a).all():
                raise ProblemError(f"{what}'s axis {k!r} must be a 1-D array of at least 2 finite values, "
                                   f"got shape {a.shape}")
            lo, hi = self.domain.ranges[k]
            slack = 1e-9 * (hi - lo)  # rounding of a linspace's ends
            if a.min() < lo - slack or a.max() > hi + slack:  # the error would be measured where nothing trained
                raise ProblemError(f"{what}'s axis {k!r} spans [{a.min():g}, {a.max():g}], outside the domain's "
                                   f"[{lo:g}, {hi:g}]")
        shape = tuple(len(a) for a in axes.values())
        values = []
        for k in self.fields:
            v = np.asarray(vals[k], dtype=float)
            if v.shape != shape:  # e.g. np.meshgrid's default "xy" layout: transposed, so every error would be wrong
                raise ProblemError(f"{what}'s values for {k!r} have shape {v.shape}; expected {shape} "
                                   f"(one axis per coordinate in the order {', '.join(self.domain.names)}, "
                                   f"as np.meshgrid(..., indexing='ij') gives)")
            values.append(v.ravel())
        return axes, np.stack(values, axis=1)

    # -- description ----------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "ODE" if self.domain.names == ("t",) else "PDE"

    def summary(self) -> str:
        lines = [f"{self.name} ({self.kind}, {self.domain.dim}-D): {self.equation}"]
        if self.description:
            lines.append(self.description)
        lines.append(f"domain: {self.domain!r}")
        lines.append(f"fields: {', '.join(self.fields)}")
        lines.append("conditions:" if self.conditions else "conditions: none")
        lines += [f"  - {c.describe(self.domain)}" for c in self.conditions]
        lines.append("parameters: " + (", ".join(f"{k} = {v:g}" for k, v in self.params.items()
                                                 if k not in self.unknowns) or "none"))
        if self.unknowns:
            lines.append("unknowns (learned): " + "; ".join(f"{k} ({u.describe()})" for k, u in self.unknowns.items()))
        lines.append(f"reference: {self.reference_method}")
        if self.reference is not None and self.reference.check is not None:
            lines.append(f"reference check: {self.reference.check(self.p)}")
        r = self.recipe
        stage = {"lbfgs": "L-BFGS", "bfgs": "BFGS", "ssbroyden": "SSBroyden",
                 "auto": "SSBroyden (L-BFGS over 20000 parameters)"}.get(r.optimizer, r.optimizer)
        more = [f"new points every {r.resample_every} steps" * bool(r.resample_every),
                f"new points and a {'kept' if r.qn_hessian == 'keep' else 'fresh'} Hessian every {r.qn_restart} "
                f"iterations" * bool(r.qn_restart),
                f"RAD k={r.rad:g}" * bool(r.rad), f"RBA eta={r.rba:g}" * bool(r.rba),
                f"causal eps={r.causal:g}" * bool(r.causal),
                "hard constraint" * r.hard, f"periodic embedding ({r.periodic})" * bool(r.periodic),
                f"warm-up {r.warmup} steps" * bool(r.warmup), f"lr x{r.lr_decay:g} per 1000 steps" * (r.lr_decay != 1)]
        lines.append(f"default recipe: layer {r.layer}, {r.width}x{r.depth}, {r.steps} Adam steps (lr {r.lr:g}) "
                     f"+ {r.lbfgs_steps} {stage}, {r.points} interior points, {r.boundary_points} per condition"
                     + "".join(f", {m}" for m in more if m))
        if r.data_from_reference:
            lines.append(f"default data: {r.data_from_reference} samples of the reference"
                         + (f" (fields {', '.join(r.measured)})" if r.measured else ""))
        if self.hard_constraint is not None:
            lines.append(f"hard constraint available (--hard): enforces conditions {list(self.hard_constraint.enforces)}"
                         + " (the recipe uses it; --soft: not)" * r.hard)
        return "\n".join(lines)


class _Coordinates(SimpleNamespace):
    """The coordinates a hard constraint sees (``c.x``); a name the domain lacks is a clear error."""

    def __init__(self, columns: Mapping[str, torch.Tensor], what: str):
        super().__init__(**columns)
        object.__setattr__(self, "_what", what)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        known = ", ".join(k for k in vars(self) if k != "_what")
        raise ProblemError(f"{self._what} uses coordinate {name!r}, which the domain lacks (coordinates: {known})")


@dataclass(frozen=True)
class Evaluation:
    """Where the error is measured and the solution there.

    ``kind`` "grid": a tensor-product grid (``axes``, ``points`` in ``indexing="ij"`` order); "points":
    scattered points in the domain, with ``triangles`` over the (spatial) points and the boundary's
    ``outline`` for 2-D figures; in space × time ``times`` are the time levels and ``points`` the same
    spatial points at each time in turn.
    """

    axes: Mapping[str, np.ndarray]
    points: np.ndarray   # (N, dim)
    values: np.ndarray   # (N, n_fields)
    kind: str = "grid"
    coords: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    triangles: np.ndarray | None = None
    outline: np.ndarray | None = None
    times: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        if self.kind == "grid":
            return tuple(len(a) for a in self.axes.values())
        return (len(self.points),)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of predictions.npz other than "pred" (the network's values at ``points``)."""
        out = {"kind": np.array(self.kind), "coords": np.array(self.coords), "fields": np.array(self.fields),
               "points": self.points, "ref": self.values, "shape": np.array(self.shape)}
        if self.kind == "grid":
            out.update({f"axis_{k}": v for k, v in self.axes.items()})
        for name in ("triangles", "outline", "times"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


_EVAL_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # freed with its solution
