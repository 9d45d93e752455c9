"""The exceptions pinnlab raises for bad input (the CLI turns them into one line and exit 2)."""


class PinnlabError(ValueError):
    """Bad input from the user: an unknown name, an invalid option, an inconsistent problem."""


class ProblemError(PinnlabError):
    """A Problem definition (built-in or user file) is inconsistent or fails to evaluate."""


class ConfigError(PinnlabError):
    """A solve option (layer, solver, device, dtype, sizes, ``--set``) is invalid."""


class RunError(PinnlabError):
    """A run directory cannot be created, read or resumed."""


class PinnlabWarning(UserWarning):
    """Something a user should know that does not stop the run (the CLI prints it as one line)."""


def one_of(what: str, value: object, allowed) -> str:
    """Message naming a bad value and the allowed ones, e.g. ``unknown layer 'foo' (allowed: a, b)``."""
    return f"unknown {what} {value!r} (allowed: {', '.join(str(a) for a in allowed)})"
