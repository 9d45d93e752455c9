"""The solver registry: every solver (built-in ``pinn`` and ``node``, or a user's) declares itself here.

Nothing outside a solver's own file and this registry branches on a solver's name: the CLI, compare,
report and plot ask the registry what a solver takes, which problems it applies to, what its error
measures and how its runs are drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, one_of

if TYPE_CHECKING:
    from ..config import SolveConfig
    from ..problem import Problem, Recipe
    from .base import SolverTask


@dataclass(frozen=True)
class SolverOption:
    """One ``--opt KEY=VALUE`` option of a solver: its type, default, check and help."""

    kind: type
    default: Any
    check: Callable[[Any], bool]
    allowed: str      # what is allowed, for the error message and the help
    help: str = ""


@dataclass(frozen=True)
class SolverSpec:
    """What a solver declares. ``make_task(problem, config)`` builds its :class:`~.base.SolverTask`.

    - ``recipe(problem)``: the defaults a config's ``None`` fields take (default: the problem's recipe);
    - ``check_config(problem, config)``: raise ConfigError on options it would lose or misuse, before
      any run directory exists (``config.options`` are its ``--opt`` options, declared in ``options``);
    - ``applies_to(problem)``: None where the solver can solve ``problem``, else why not (compare skips
      the cell with that note; solve refuses it);
    - ``measure``: what a run's ``rel_l2`` is measured over, shown where runs of solvers with different
      measures are put side by side;
    - ``figure_kind``: how ``pinnlab plot`` draws its runs (a kind :mod:`pinnlab.plots` knows: "grid", "node");
    - ``report_keys``: the report.json keys it adds beyond the common ones (documentation and tests).
    """

    name: str
    make_task: Callable[[Problem, SolveConfig], SolverTask]
    description: str
    options: Mapping[str, SolverOption] = field(default_factory=dict)
    recipe: Callable[[Problem], Recipe] | None = None
    check_config: Callable[[Problem, SolveConfig], None] | None = None
    applies_to: Callable[[Problem], str | None] | None = None
    measure: str = "rel L2 against the reference over the whole evaluation grid"
    figure_kind: str = "grid"
    report_keys: tuple[str, ...] = ()

    def default_recipe(self, problem: Problem) -> Recipe:
        return self.recipe(problem) if self.recipe is not None else problem.recipe

    def check(self, problem: Problem, config: SolveConfig) -> None:
        """Every check this solver makes of a run before it starts."""
        why = self.applies_to(problem) if self.applies_to is not None else None
        if why is not None:
            raise ConfigError(f"solver {self.name!r} cannot solve problem {problem.name!r}: {why}")
        if self.check_config is not None:
            self.check_config(problem, config)

    def parse_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` checked against ``options``, defaults filled in; ConfigError naming a bad one."""
        for key in given:
            if key not in self.options:
                raise ConfigError(one_of(f"{self.name} option", key, self.options) if self.options else
                                  f"solver {self.name!r} takes no --opt options (got {key!r})")
        out = {}
        for key, opt in self.options.items():
            v = given.get(key, opt.default)
            try:
                v = coerce(opt.kind, v)
            except (TypeError, ValueError):
                raise ConfigError(f"{self.name} option {key}={v!r} is not valid (allowed: {opt.allowed})") from None
            if not opt.check(v):
                raise ConfigError(f"{self.name} option {key}={v!r} is not valid (allowed: {opt.allowed})")
            out[key] = v
        return out


_SOLVERS: dict[str, SolverSpec] = {}
_BUILTIN = ("pinn", "node", "rai")  # the modules below register themselves when imported


def register_solver(spec: SolverSpec, replace: bool = False) -> SolverSpec:
    """Make ``spec`` available as ``--solver NAME`` / ``SolveConfig(solver=NAME)``. A name already taken
    is refused unless ``replace`` (a built-in solver cannot be replaced)."""
    if not isinstance(spec, SolverSpec):
        raise ConfigError(f"register_solver takes a SolverSpec, got {type(spec).__name__}")
    name = spec.name
    if not (isinstance(name, str) and name and name.replace("-", "").replace("_", "").isalnum() and name[0].isalpha()):
        raise ConfigError(f"solver name {name!r} is not allowed (letters, digits, '-' and '_', starting with a letter)")
    _load_builtins()
    if name in _SOLVERS and (name in _BUILTIN or not replace):
        raise ConfigError(f"a solver named {name!r} is already registered"
                          + ("" if name in _BUILTIN else " (register_solver(..., replace=True) replaces it)"))
    _SOLVERS[name] = spec
    return spec


def get_solver(name: str) -> SolverSpec:
    """The registered solver ``name``; ConfigError naming the registered ones otherwise."""
    _load_builtins()
    if name not in _SOLVERS:
        raise ConfigError(one_of("solver", name, list(_SOLVERS)))
    return _SOLVERS[name]


def find_solver(name: str) -> SolverSpec | None:
    """The registered solver ``name``, or None (a run of a user's solver read in another process)."""
    _load_builtins()
    return _SOLVERS.get(name)


def solver_names() -> list[str]:
    """The registered solvers, the built-in ones first."""
    _load_builtins()
    return [*_BUILTIN, *(n for n in _SOLVERS if n not in _BUILTIN)]


def _load_builtins() -> None:
    if not all(n in _SOLVERS for n in _BUILTIN):
        import importlib
        for n in _BUILTIN:
            importlib.import_module(f".{n}", __package__)


def measures(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """What each solver among ``rows`` (report.json dicts or summary rows: ``solver`` and maybe ``measure``)
    measures as rel L2: the row's own ``measure``, else the registered solver's."""
    out: dict[str, str] = {}
    for r in rows:
        solver = r.get("solver")
        if solver is None or solver in out:
            continue
        spec = find_solver(str(solver))
        measure = r.get("measure") or (spec.measure if spec is not None else None)
        if measure:
            out[solver] = measure
    return out


def coerce(kind: type, v: Any) -> Any:
    """``v`` as ``kind`` (bool, int, float, str), accepting what a command line gives ("true", "3");
    ValueError where it is not one."""
    import math
    if kind is bool:
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false", "yes", "no", "1", "0"):
            return v.lower() in ("true", "yes", "1")
        if isinstance(v, int) and v in (0, 1):
            return bool(v)
        raise ValueError(v)
    if isinstance(v, bool):
        raise ValueError(v)
    if kind is int:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if not isinstance(v, int):
            raise ValueError(v)
        return v
    if kind is float:
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(v)
        return float(v)
    if not isinstance(v, str):
        raise ValueError(v)
    return v
