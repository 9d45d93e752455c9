"""Run options declared once: every field of :class:`~pinnlab.config.SolveConfig` carries its help, its
command-line form and its check here, and the CLI (``pinnlab solve`` and ``compare``) and
``SolveConfig.validate`` read them from the field.

Adding a run option is one edit: a field of SolveConfig made with :func:`option`, e.g.
``warmup: int = option(0, "Adam steps at a rising learning rate.", low=0)``. Its ``--warmup``
option, its help and its bounds then exist everywhere.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .errors import ConfigError, one_of

Text = str | Callable[[], str]  # a text, or a function giving it when it is shown (e.g. the registered solvers)


@dataclass(frozen=True)
class Option:
    """How one SolveConfig field appears on the command line and what values it takes.

    - ``help``: the option's help line; ``cli``: its name (default ``--`` and the field's name with
      ``-`` for ``_``; None: not on the command line); ``only``: ``"solve"`` for an option of ``pinnlab
      solve`` alone (``compare`` has a list form of its own, e.g. ``--layers``);
    - ``parse``: for a dict field, how each repeated ``KEY=VALUE`` is read: ``"pairs"`` (Python
      literals or bare strings) or ``"numbers"`` (finite numbers); ``metavar``: its placeholder;
    - ``choices``: the allowed values of a text field (or a function giving them), named ``what`` in
      the error (default: the option's name); ``low``/``high``: the bounds of a number (``high_text``
      says the bound in words); ``check``: a function that raises ConfigError for a bad value (e.g.
      the registry's own message); ``aliases``: flags that set one key of a dict field to True
      (``{"--adjoint": "adjoint"}``: ``--adjoint`` is ``--opt adjoint=true``); ``off``: for a bool, the flag
      that sets it False (``--soft`` beside ``--hard``).
    """

    help: Text
    cli: str | None = ""
    only: str | None = None
    parse: str | None = None
    metavar: str | None = None
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None
    what: str | None = None
    low: float | None = None
    high: float | None = None
    high_text: str | None = None
    check: Callable[[Any], None] | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    off: str | None = None  # a bool defaulting to None (the recipe decides): the flag that sets it False


def option(default: Any, help: Text, **how: Any) -> Any:
    """A dataclass field with default ``default`` (a type such as ``dict``: a fresh one per instance) and
    its :class:`Option` (``how``: its keyword arguments)."""
    meta = {"option": Option(help, **how)}
    if isinstance(default, type):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RunOption:
    """One declared field: its name, its value type (int, float, str, bool, dict), default and Option."""

    name: str
    kind: type
    default: Any
    how: Option

    @property
    def flag(self) -> str | None:
        """The command-line name, ``--early-stop`` for ``early_stop`` unless the Option names another."""
        return ("--" + self.name.replace("_", "-")) if self.how.cli == "" else self.how.cli

    @property
    def label(self) -> str:
        """How messages name it: the command-line name without dashes."""
        return (self.flag or self.name).lstrip("-").replace("_", "-")

    def text(self, value: Text) -> str:
        return value() if callable(value) else value

    def choices(self) -> Sequence[str] | None:
        c = self.how.choices
        return c() if callable(c) else c


@cache
def run_options(cls: type) -> tuple[RunOption, ...]:
    """The fields of dataclass ``cls`` declared with :func:`option`, in field order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        how = f.metadata.get("option")
        if how is None:
            continue
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        out.append(RunOption(f.name, _value_type(hints[f.name]), default, how))
    return tuple(out)


def _value_type(hint: Any) -> type:
    """``int | None`` → int, ``dict[str, Any]`` → dict, ``bool`` → bool."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return typing.get_origin(hint) or hint


def check(obj: Any) -> None:
    """Each declared field of ``obj`` against its type and its Option (choices, bounds): one ConfigError
    naming the first bad value and what is allowed."""
    for ro in run_options(type(obj)):
        v = getattr(obj, ro.name)
        if v is None and ro.default is None:  # "the recipe decides"
            continue
        _check_one(ro, v)


def _check_one(ro: RunOption, v: Any) -> None:
    name, how = ro.label, ro.how
    if ro.kind is bool:
        if not isinstance(v, bool):  # bool("no") is True: a string would switch it on
            raise ConfigError(f"{name} must be True or False, got {v!r}")
    elif ro.kind is dict:
        if not isinstance(v, Mapping):
            raise ConfigError(f"{name} must be a dict of name=value, got {type(v).__name__} {v!r}")
    elif ro.kind is int:
        if not isinstance(v, int) or isinstance(v, bool) or (how.low is not None and v < how.low):
            kind = "positive" if how.low == 1 else "non-negative" if how.low == 0 else ""
            raise ConfigError(f"{name} must be a {kind + ' ' if kind else ''}integer, got {v!r}")
    elif ro.kind is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (
                how.low is not None and v <= how.low):
            raise ConfigError(f"{name} must be a {'positive ' if how.low == 0 else ''}number, got {v!r}")
    elif ro.kind is str:
        allowed = ro.choices()
        if allowed is not None and v not in allowed:
            raise ConfigError(one_of(how.what or name, v, allowed))
        if not isinstance(v, str):
            raise ConfigError(f"{name} must be a text, got {v!r}")
    if how.high is not None and v > how.high:
        raise ConfigError(f"{name} must be {how.high_text or f'at most {how.high}'}, got {v}")
    if how.check is not None:
        how.check(v)
