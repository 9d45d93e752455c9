"""Finds problems: the built-in ones shipped in ``pinnlab.problems`` and users' ``.py`` files."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from functools import cache
from pathlib import Path

from . import problems as _builtin
from .errors import ProblemError
from .problem import Problem
from .runs import check_path


@cache
def builtin_problems() -> dict[str, Problem]:
    """Every built-in problem by name, in file order."""
    out = {}
    for mod in sorted(pkgutil.iter_modules(_builtin.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_builtin.__name__}.{mod.name}")
        prob = getattr(module, "problem", None)
        if isinstance(prob, Problem):
            out[prob.name] = prob
    return out


def problem_names() -> list[str]:
    """The built-in problems' names, in file order."""
    return list(builtin_problems())


def get_problem(name_or_path: str | Path) -> Problem:
    """A built-in problem by name, or the one Problem defined by a user's ``.py`` file."""
    s = str(name_or_path)
    if s.endswith(".py") or Path(s).suffix == ".py" or "/" in s:
        return load_problem_file(check_path(s, "problem file"))
    probs = builtin_problems()
    if s in probs:
        return probs[s]
    alias = s.replace("_", "-")
    if alias in probs:
        return probs[alias]
    raise ProblemError(f"unknown problem {s!r} (known: {', '.join(probs)}; or give the path of a .py file)")


def load_problem_file(path: Path) -> Problem:
    """Import a user's problem file and return the single Problem it defines."""
    if not path.is_file():
        raise ProblemError(f"problem file {str(path)!r} " + ("is a folder, not a .py file" if path.is_dir()
                                                           else "does not exist"))
    if path.suffix != ".py":
        raise ProblemError(f"problem file {str(path)!r} is not a .py file")
    name = f"pinnlab_user_problem_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # as `python file.py` has it: the file may import modules beside it
    try:
        spec.loader.exec_module(module)
    except ProblemError as e:
        raise ProblemError(f"{path}: {e}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # a user's file can raise anything, SystemExit included
        raise ProblemError(f"problem file {str(path)!r} failed to import: {type(e).__name__}: {e}") from None
    finally:
        sys.path.remove(folder)
    if isinstance(vars(module).get("problem"), Problem):  # the name every example uses says which one
        return vars(module)["problem"]
    found = [v for v in vars(module).values() if isinstance(v, Problem)]
    unique = list({id(p): p for p in found}.values())
    # a built-in imported to derive the file's own problem from (problem = burgers.with_params(...)) is not it
    builtins = {id(p) for p in builtin_problems().values()}
    own = [p for p in unique if id(p) not in builtins] if len(unique) > 1 else unique
    if not own:
        raise ProblemError(f"problem file {str(path)!r} defines no Problem")
    if len(own) > 1:
        raise ProblemError(f"problem file {str(path)!r} defines {len(own)} Problems "
                           f"({', '.join(p.name for p in own)}); keep one per file (a Problem imported by name "
                           f"counts too: import its module instead)")
    return own[0]
