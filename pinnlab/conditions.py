"""Boundary, initial and data conditions.

Each condition samples its own points and writes its residuals over the same field namespace
as the PDE residual (so the derivative engine serves both). A value is a number or a function
whose parameter names are coordinates (and optionally ``p`` for the problem's parameters):
``Initial(u=lambda x: -torch.sin(math.pi * x))``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

import numpy as np
import torch

from .errors import ProblemError
from .fields import Fields, Params
from .geometry import TIME, Box

Value = float | Callable[..., torch.Tensor]
SIDES = ("lo", "hi", "both")


def evaluate_value(value: Value, f: Fields, p: Params) -> torch.Tensor:
    """A condition value at the namespace's points, as an (N,) tensor."""
    if not callable(value):
        return torch.full_like(f.points[:, 0], float(value))
    kwargs = {}
    for name in inspect.signature(value).parameters:
        if name == "p":
            kwargs["p"] = p
        elif name in f.coords:
            kwargs[name] = f.points[:, f.coords.index(name)]
        else:
            raise ProblemError(f"a condition value takes an unknown argument {name!r} "
                               f"(allowed: {', '.join(f.coords)}, p)")
    out = value(**kwargs)
    out = torch.as_tensor(out, dtype=f.points.dtype, device=f.points.device)
    return out.expand(f.points.shape[0]) if out.dim() == 0 else out.reshape(-1)


class Condition:
    """Base class: ``sample`` gives points, ``residuals`` the terms that should vanish there."""

    kind = "condition"
    paired = 1  # how many point blocks sample() stacks (periodic conditions pair lo with hi)

    def __init__(self, values: Mapping[str, Value], on: str | None = None, side: str = "both"):
        if not values and self.kind not in ("periodic",):
            raise ProblemError(f"{type(self).__name__} needs at least one field value, e.g. u=0.0")
        if side not in SIDES:
            raise ProblemError(f"unknown side {side!r} (allowed: {', '.join(SIDES)})")
        self.values, self.on, self.side = dict(values), on, side

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.values)

    def validate(self, domain: Box, fields: tuple[str, ...]) -> None:
        for name in self.fields:
            if name not in fields:
                raise ProblemError(f"{type(self).__name__} refers to unknown field {name!r} "
                                   f"(fields: {', '.join(fields)})")
            value = self.values.get(name)  # periodic conditions name fields without values
            if isinstance(value, (int, float, np.ndarray)) and not np.isfinite(value).all():
                got = value if not isinstance(value, np.ndarray) else f"{(~np.isfinite(value)).sum()} non-finite values"
                raise ProblemError(f"{type(self).__name__} {name}: values must be finite numbers, got {got}")
        if self.on is not None and self.on not in domain.names:
            raise ProblemError(f"{type(self).__name__} on unknown coordinate {self.on!r} "
                               f"(coordinates: {', '.join(domain.names)})")

    def sides(self) -> tuple[str, ...]:
        return ("lo", "hi") if self.side == "both" else (self.side,)

    def min_points(self) -> int:
        """The fewest points ``sample`` may be asked for: one per face (n is split between the faces)."""
        return len(self.sides())

    def sample(self, domain: Box, n: int, method: str, rng: np.random.Generator) -> np.ndarray:
        sides = self.sides()
        counts = [n // len(sides) + (i < n % len(sides)) for i in range(len(sides))]
        return np.concatenate([domain.sample_face(self.on, s, c, method, rng) for s, c in zip(sides, counts)])

    def residuals(self, f: Fields, p: Params) -> list[torch.Tensor]:
        raise NotImplementedError

    def describe(self, domain: Box) -> str:
        where = {"lo": f"{self.on}={domain.ranges[self.on][0]:g}", "hi": f"{self.on}={domain.ranges[self.on][1]:g}",
                 "both": f"{self.on}={domain.ranges[self.on][0]:g} and {self.on}={domain.ranges[self.on][1]:g}"}
        return f"{self.kind} on {where[self.side]}: " + ", ".join(f"{self.imposed(k)} = {_show(v)}"
                                                                  for k, v in self.values.items())

    def imposed(self, field: str) -> str:
        """What the condition prescribes of ``field``, as ``describe`` writes it (the value itself here)."""
        return field

    def _normal_derivative(self, field: str) -> str:
        # the outward normal derivative: +d/d(on) on the upper face, -d/d(on) on the lower one
        return {"hi": f"{field}_{self.on}", "lo": f"-{field}_{self.on}", "both": f"d{field}/dn"}[self.side]


def _show(v: Value) -> str:
    if not callable(v):
        return f"{float(v):g}"
    name = getattr(v, "__name__", "")
    return "given function" if name == "<lambda>" or not name else name


class Dirichlet(Condition):
    """Prescribed field values on the faces of coordinate ``on``: ``Dirichlet(u=0.0, on="x")``; ``side="lo"``
    or ``"hi"`` for one face only (default ``"both"``), e.g. other values on each face as two conditions."""

    kind = "Dirichlet"

    def __init__(self, on: str = "x", side: str = "both", **values: Value):
        super().__init__(values, on, side)

    def residuals(self, f, p):
        return [getattr(f, k).value - evaluate_value(v, f, p) for k, v in self.values.items()]


class Neumann(Condition):
    """Prescribed outward normal derivative on the faces of ``on``: ``Neumann(u=0.0, on="x")``; ``side="lo"``
    or ``"hi"`` for one face (default ``"both"``). Outward: -u_x on the lower face, u_x on the upper."""

    kind = "Neumann"

    def __init__(self, on: str = "x", side: str = "both", **values: Value):
        super().__init__(values, on, side)

    def residuals(self, f, p):
        x = getattr(f, self.on)
        lo, hi = self._bounds
        normal = torch.where(x > 0.5 * (lo + hi), 1.0, -1.0).to(x.dtype)
        return [normal * getattr(getattr(f, k), self.on).value - evaluate_value(v, f, p)
                for k, v in self.values.items()]

    def validate(self, domain, fields):
        super().validate(domain, fields)
        self._bounds = domain.ranges[self.on]

    def imposed(self, field):
        return self._normal_derivative(field)


class Robin(Condition):
    """a·u + b·∂u/∂n = g on the faces of ``on``: ``Robin(u=g, a=1.0, b=0.5, on="x")``; ``side`` as for
    :class:`Dirichlet`."""

    kind = "Robin"

    def __init__(self, on: str = "x", side: str = "both", a: float = 1.0, b: float = 1.0, **values: Value):
        super().__init__(values, on, side)
        for name, v in (("a", a), ("b", b)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ProblemError(f"Robin coefficient {name}={v!r} must be a finite number")
        if a == 0 and b == 0:
            raise ProblemError("Robin coefficients a and b are both 0: the condition would say nothing")
        self.a, self.b = float(a), float(b)

    def imposed(self, field):
        return f"{self.a:g} {field} + {self.b:g} {self._normal_derivative(field)}"

    def validate(self, domain, fields):
        super().validate(domain, fields)
        self._bounds = domain.ranges[self.on]

    def residuals(self, f, p):
        x = getattr(f, self.on)
        lo, hi = self._bounds
        normal = torch.where(x > 0.5 * (lo + hi), 1.0, -1.0).to(x.dtype)
        return [self.a * getattr(f, k).value + self.b * normal * getattr(getattr(f, k), self.on).value
                - evaluate_value(v, f, p) for k, v in self.values.items()]


class Periodic(Condition):
    """Fields (and their ``on``-derivatives up to ``derivatives``) equal on the two faces of ``on``."""

    kind = "periodic"
    paired = 2

    def __init__(self, on: str = "x", fields: tuple[str, ...] | None = None, derivatives: int = 1):
        super().__init__({}, on, "both")
        self._fields = (fields,) if isinstance(fields, str) else fields  # fields="rho" is one field
        self.derivatives = int(derivatives)

    @property
    def fields(self):
        return tuple(self._fields or ())

    def validate(self, domain, fields):
        self._fields = tuple(self._fields or fields)
        super().validate(domain, fields)

    def min_points(self) -> int:
        return 1  # n is the number of pairs

    def sample(self, domain, n, method, rng):
        lo = domain.sample_face(self.on, "lo", n, method, rng)
        hi = lo.copy()
        hi[:, domain.index(self.on)] = domain.ranges[self.on][1]
        return np.concatenate([lo, hi])

    def residuals(self, f, p):
        a, b = f.split(2)
        out = []
        for k in self.fields:
            ga, gb = getattr(a, k), getattr(b, k)
            out.append(ga.value - gb.value)
            for _ in range(self.derivatives):
                ga, gb = getattr(ga, self.on), getattr(gb, self.on)
                out.append(ga.value - gb.value)
        return out

    def describe(self, domain):
        fields = ", ".join(self.fields) or "all fields"
        return f"periodic in {self.on} ({fields}, derivatives up to order {self.derivatives})"


class Initial(Condition):
    """Field values at the start of time (t = t_lo): ``Initial(u=lambda x: torch.sin(x))``."""

    kind = "initial value"

    def __init__(self, **values: Value):
        super().__init__(values, TIME, "lo")

    def residuals(self, f, p):
        return [getattr(f, k).value - evaluate_value(v, f, p) for k, v in self.values.items()]


class InitialRate(Condition):
    """Time derivatives at the start of time: ``InitialRate(u=0.0)`` means u_t(x, 0) = 0."""

    kind = "initial rate"

    def __init__(self, **values: Value):
        super().__init__(values, TIME, "lo")

    def residuals(self, f, p):
        return [getattr(f, k).t.value - evaluate_value(v, f, p) for k, v in self.values.items()]

    def imposed(self, field):
        return f"{field}_t"


class PointData(Condition):
    """Observed field values at given points (arrays of shape (M, dim) and (M,) per field)."""

    kind = "point data"

    def __init__(self, points: np.ndarray, **values: np.ndarray):
        super().__init__({k: np.asarray(v, dtype=float).reshape(-1) for k, v in values.items()})
        self.points = np.asarray(points, dtype=float)

    def validate(self, domain, fields):
        super().validate(domain, fields)
        if self.points.ndim != 2 or self.points.shape[1] != domain.dim:
            raise ProblemError(f"PointData points must have shape (M, {domain.dim}), got {self.points.shape}")
        if not domain.contains(self.points).all():
            raise ProblemError("PointData has points outside the domain")
        for k, v in self.values.items():
            if len(v) != len(self.points):
                raise ProblemError(f"PointData {k}: {len(v)} values for {len(self.points)} points")

    def min_points(self) -> int:
        return 0  # its own points, whatever n is

    def sample(self, domain, n, method, rng):
        return self.points

    def residuals(self, f, p):
        return [getattr(f, k).value - torch.as_tensor(v, dtype=f.points.dtype, device=f.points.device)
                for k, v in self.values.items()]

    def describe(self, domain):
        return f"point data: {len(self.points)} observations of {', '.join(self.fields)}"
