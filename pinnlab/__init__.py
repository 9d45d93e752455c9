"""pinnlab: physics-informed neural networks and neural ODEs, with exact-error reports.

The public API is small: define a :class:`Problem` over a :class:`Box` with conditions, pick a
:class:`SolveConfig`, and :func:`solve` it into a run directory.

Names load on first use (``pl.solve`` imports the runner and torch then), so ``import pinnlab``
itself is instant: the ``pinnlab`` command can then treat Ctrl-C while torch loads as an interrupt.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    **dict.fromkeys(("Dirichlet", "Initial", "InitialRate", "Neumann", "Periodic", "PointData", "Robin"), "conditions"),
    "SolveConfig": "config",
    **dict.fromkeys(("ConfigError", "PinnlabError", "PinnlabWarning", "ProblemError", "RunError"), "errors"),
    **dict.fromkeys(("Box", "Interval", "SpaceTime"), "geometry"),
    "Net": "nets",
    **dict.fromkeys(("HardConstraint", "Problem", "Recipe", "Reference"), "problem"),
    **dict.fromkeys(("get_problem", "problem_names"), "registry"),
    **dict.fromkeys(("Result", "RunFailed", "RunInterrupted", "load_result", "resume", "solve"), "runner"),
    "load_run": "runs",
    "Unknown": "unknowns",
}

__all__ = [
    "Box", "Interval", "SpaceTime", "Problem", "Recipe", "Reference", "HardConstraint",
    "Dirichlet", "Neumann", "Robin", "Periodic", "Initial", "InitialRate", "PointData",
    "Net", "SolveConfig", "solve", "resume", "Result", "RunFailed", "RunInterrupted", "load_run", "load_result",
    "get_problem", "problem_names", "PinnlabError", "ProblemError", "ConfigError", "RunError", "PinnlabWarning",
    "Unknown",
]


def __getattr__(name: str) -> Any:
    """A public name from its module, or a submodule (``pl.layers``), imported on first use."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # what type checkers and IDEs see
    from .conditions import Dirichlet, Initial, InitialRate, Neumann, Periodic, PointData, Robin  # noqa: F401
    from .config import SolveConfig  # noqa: F401
    from .errors import ConfigError, PinnlabError, PinnlabWarning, ProblemError, RunError  # noqa: F401
    from .geometry import Box, Interval, SpaceTime  # noqa: F401
    from .nets import Net  # noqa: F401
    from .problem import HardConstraint, Problem, Recipe, Reference  # noqa: F401
    from .registry import get_problem, problem_names  # noqa: F401
    from .runner import Result, RunFailed, RunInterrupted, load_result, resume, solve  # noqa: F401
    from .runs import load_run  # noqa: F401
    from .unknowns import Unknown  # noqa: F401
