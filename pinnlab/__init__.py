"""pinnlab: physics-informed neural networks and neural ODEs, with exact-error reports.

The public API is small: define a :class:`Problem` over a :class:`Box` with conditions, pick a
:class:`SolveConfig`, and :func:`solve` it into a run directory.
"""

__version__ = "0.1.0"

from .conditions import Dirichlet, Initial, InitialRate, Neumann, Periodic, PointData, Robin  # noqa: E402
from .config import SolveConfig  # noqa: E402
from .errors import ConfigError, PinnlabError, ProblemError, RunError  # noqa: E402
from .geometry import Box, Interval, SpaceTime  # noqa: E402
from .nets import Net  # noqa: E402
from .problem import HardConstraint, Problem, Recipe, Reference  # noqa: E402
from .registry import get_problem, problem_names  # noqa: E402
from .runner import Result, RunFailed, RunInterrupted, load_result, resume, solve  # noqa: E402
from .runs import load_run  # noqa: E402

__all__ = [
    "Box", "Interval", "SpaceTime", "Problem", "Recipe", "Reference", "HardConstraint",
    "Dirichlet", "Neumann", "Robin", "Periodic", "Initial", "InitialRate", "PointData",
    "Net", "SolveConfig", "solve", "resume", "Result", "RunFailed", "RunInterrupted", "load_run", "load_result",
    "get_problem", "problem_names", "PinnlabError", "ProblemError", "ConfigError", "RunError",
]
