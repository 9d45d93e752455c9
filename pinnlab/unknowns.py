"""Unknown numbers: problem parameters learned from data together with the network.

``params={"nu": pl.Unknown(0.05, positive=True, true=0.01 / math.pi)}`` makes ν a number the run
learns, starting from 0.05. The residual reads it as ``p.nu`` like any other parameter. A positive
unknown is learned through its logarithm (Adam's steps are then relative: 0.003 and 30 move
alike), a bounded one through a sigmoid between its bounds. ``true`` is the value the report
measures the learned one against; the problem's reference is computed with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import torch

from .errors import ProblemError
from .fields import Params, Recorder


@dataclass(frozen=True)
class Unknown:
    """A parameter to learn: its initial ``guess``; ``positive`` (log-parametrised) or ``bounds=(lo, hi)``
    (sigmoid-parametrised, the guess strictly inside); ``true``, the value it should reach (for the report)."""

    guess: float
    positive: bool = False
    bounds: tuple[float, float] | None = None
    true: float | None = None

    def __post_init__(self):
        for what, v in (("guess", self.guess), ("true", self.true)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise ProblemError(f"Unknown {what}={v!r} must be a finite number")
        if self.positive and self.bounds is not None:
            raise ProblemError("Unknown: give positive=True or bounds=(lo, hi), not both")
        if self.positive and self.guess <= 0:
            raise ProblemError(f"Unknown(positive=True) needs a positive guess, got {self.guess!r}")
        if self.bounds is not None:
            try:
                lo, hi = (float(b) for b in self.bounds)
            except (TypeError, ValueError):
                raise ProblemError(f"Unknown bounds={self.bounds!r} must be two numbers (lo, hi)") from None
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ProblemError(f"Unknown bounds={self.bounds!r} must be finite with lo < hi")
            if not lo < self.guess < hi:
                raise ProblemError(f"Unknown guess {self.guess!r} must lie strictly inside bounds ({lo:g}, {hi:g})")
            object.__setattr__(self, "bounds", (lo, hi))

    @property
    def parametrisation(self) -> str:
        return "log" if self.positive else "sigmoid" if self.bounds is not None else "plain"

    def raw_guess(self) -> float:
        """The trained number that stands for ``guess``."""
        if self.positive:
            return math.log(self.guess)
        if self.bounds is not None:
            lo, hi = self.bounds
            s = (self.guess - lo) / (hi - lo)
            return math.log(s / (1 - s))
        return float(self.guess)

    def value(self, raw: torch.Tensor) -> torch.Tensor:
        """The parameter's value from the trained number ``raw``."""
        if self.positive:
            return torch.exp(raw)
        if self.bounds is not None:
            lo, hi = self.bounds
            return lo + (hi - lo) * torch.sigmoid(raw)
        return raw

    def describe(self) -> str:
        how = ", positive" if self.positive else f", in ({self.bounds[0]:g}, {self.bounds[1]:g})" if self.bounds else ""
        true = f", true {self.true:g}" if self.true is not None else ""
        return f"guess {self.guess:g}{how}{true}"


class _ReadLog(Params):
    """Parameters that note which names are read (the dry run that finds the unknowns in use)."""

    def __init__(self, values: Mapping[str, float]):
        super().__init__(**values)
        object.__setattr__(self, "_read", set())

    def __getattribute__(self, name: str):
        if not name.startswith("_") and name in object.__getattribute__(self, "__dict__"):
            object.__getattribute__(self, "_read").add(name)
        return super().__getattribute__(name)


def params_read(fns: Iterable[Callable[[Recorder, Params], object]], params: Mapping[str, float],
                coords: tuple[str, ...], fields: tuple[str, ...]) -> set[str]:
    """The parameter names that ``fns`` (residual and conditions, called as ``fn(f, p)``) read."""
    log = _ReadLog(params)
    for fn in fns:
        try:
            fn(Recorder(coords, fields), log)
        except Exception:  # noqa: BLE001 - the problem's own dry run reports its errors; here only reads count
            pass
    return set(object.__getattribute__(log, "_read"))


def check_unknowns(name: str, unknowns: Mapping[str, Unknown], used: set[str]) -> None:
    """Every unknown is read by the residual or a condition: one the loss never sees cannot be learned."""
    for k, u in unknowns.items():
        if not isinstance(u, Unknown):
            raise ProblemError(f"problem {name!r}: unknown {k}={u!r} is not an Unknown")
        if k not in used:
            raise ProblemError(f"problem {name!r}: unknown parameter {k!r} is used by no residual or condition, "
                               f"so no data could determine it (parameters read: {', '.join(sorted(used)) or 'none'})")
