"""Boundary, initial and data conditions.

Each condition samples its own points and writes its residuals over the same field namespace
as the PDE residual (so the derivative engine serves both). A value is a number or a function
whose parameter names are coordinates (and optionally ``p`` for the problem's parameters):
``Initial(u=lambda x: -torch.sin(math.pi * x))``.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .errors import ProblemError
from .fields import Fields, Params
from .geometry import TIME
from .geometry.sampling import rejection

Value = float | Callable[..., torch.Tensor]
On = str | Sequence[str] | Callable[..., np.ndarray] | None
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


@dataclass(frozen=True)
class Where:
    """Where on a domain a condition holds: the faces of a box coordinate (``coord``, ``sides``), boundary
    ``parts`` (None: the whole boundary), or the boundary where ``predicate`` holds."""

    kind: str  # "faces", "parts" or "predicate"
    coord: str | None = None
    sides: tuple[str, ...] = ()
    parts: tuple[str, ...] | None = None
    predicate: Callable | None = None


class Condition:
    """Base class: ``sample`` gives points, ``residuals`` the terms that should vanish there.

    ``on`` says where: a boundary part's name (``"hole"``), several (``("inlet", "wall")``), a
    predicate of the coordinates (``lambda x, y: x < 0``, on the boundary), None for the whole
    boundary, or a box coordinate (``"x"``: the faces x = lo and x = hi, ``side`` one of them). A
    condition holds no state of a domain: a Problem uses its own copy bound to its domain (``bind``).
    """

    kind = "condition"
    paired = 1  # how many point blocks sample() stacks (periodic conditions pair lo with hi)
    domain = None  # the domain of a bound copy (Problem binds its conditions)
    needs_domain = False  # whether residuals() reads the domain (normals): only those conditions are copied

    def __init__(self, values: Mapping[str, Value], on: On = None, side: str = "both"):
        if not values and self.kind not in ("periodic",):
            raise ProblemError(f"{type(self).__name__} needs at least one field value, e.g. u=0.0")
        if side not in SIDES:
            raise ProblemError(f"unknown side {side!r} (allowed: {', '.join(SIDES)})")
        if isinstance(on, (list, tuple)):
            if not on or not all(isinstance(o, str) for o in on):
                raise ProblemError(f"{type(self).__name__} on={on!r}: a list of boundary part names is needed")
            on = tuple(on)
        elif on is not None and not isinstance(on, str) and not callable(on):
            raise ProblemError(f"{type(self).__name__} on={on!r}: give a boundary part's name, a list of them, "
                               f"a predicate of the coordinates or None (the whole boundary)")
        self.values, self.on, self.side = dict(values), on, side

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.values)

    def bind(self, domain) -> Condition:
        """This condition for ``domain`` (what a Problem keeps): a copy that knows the domain where its
        residuals need it (normals), else the condition itself."""
        if not self.needs_domain:
            return self
        out = copy.copy(self)
        out.domain, out._where = domain, None
        return out

    def _domain(self):
        if self.domain is None:
            raise ProblemError(f"{type(self).__name__} is not bound to a domain (it is used through a Problem, "
                               f"whose conditions are bound to its domain)")
        return self.domain

    def where(self, domain) -> Where:
        """Where on ``domain`` this condition holds (a bad part name or coordinate is a ProblemError)."""
        if domain is self.domain and getattr(self, "_where", None) is not None:
            return self._where
        w = self._resolve(domain)
        if domain is self.domain:
            self._where = w
        return w

    def _resolve(self, domain) -> Where:
        on, cls = self.on, type(self).__name__
        if isinstance(on, str) and domain.has_faces(on):
            return Where("faces", coord=on, sides=self.sides())
        if on is None:
            space = domain.space_names
            if len(space) == 1 and domain.has_faces(space[0]):  # an interval (× time): its two ends
                return Where("faces", coord=space[0], sides=self.sides())
            if not domain.pieces():
                raise ProblemError(f"{cls}: the domain {domain!r} has no spatial boundary; say where with on=...")
        if self.side != "both":
            raise ProblemError(f"{cls}: side={self.side!r} is for the faces of a box coordinate (on='x'); "
                               f"on={on!r} is not one")
        if callable(on):
            return Where("predicate", predicate=on)
        if on is not None:
            names = (on,) if isinstance(on, str) else on
            known = domain.parts
            for name in names:
                if name not in known:
                    coords = [c for c in domain.names if domain.has_faces(c)]
                    what = "coordinate" if coords and not known else "boundary part"
                    raise ProblemError(f"{cls} on unknown {what} {name!r} (boundary parts: {', '.join(known) or 'none'}"
                                       + (f"; coordinates: {', '.join(coords)}" if coords else "") + ")")
            return Where("parts", parts=tuple(names))
        return Where("parts")

    def validate(self, domain, fields: tuple[str, ...]) -> None:
        for name in self.fields:
            if name not in fields:
                raise ProblemError(f"{type(self).__name__} refers to unknown field {name!r} "
                                   f"(fields: {', '.join(fields)})")
            value = self.values.get(name)  # periodic conditions name fields without values
            if isinstance(value, (int, float, np.ndarray)) and not np.isfinite(value).all():
                got = value if not isinstance(value, np.ndarray) else f"{(~np.isfinite(value)).sum()} non-finite values"
                raise ProblemError(f"{type(self).__name__} {name}: values must be finite numbers, got {got}")
        w = self.where(domain)
        if w.kind == "predicate":
            pts = domain.sample_boundary(512, "uniform", np.random.default_rng(0))
            if not self._selected(domain, pts).any():
                raise ProblemError(f"{type(self).__name__}: the predicate on= holds nowhere on the boundary")

    def _selected(self, domain, pts: np.ndarray) -> np.ndarray:
        fn = self.on
        names = list(inspect.signature(fn).parameters)
        for n in names:
            if n not in domain.names:
                raise ProblemError(f"{type(self).__name__}: the predicate on= takes unknown argument {n!r} "
                                   f"(coordinates: {', '.join(domain.names)})")
        try:
            keep = np.asarray(fn(**{n: pts[:, domain.index(n)] for n in names}), dtype=bool)
        except Exception as e:  # the user's own error, shown as one line
            raise ProblemError(f"{type(self).__name__}: the predicate on= raised {type(e).__name__}: {e}") from None
        if keep.shape != (len(pts),):
            raise ProblemError(f"{type(self).__name__}: the predicate on= must give one bool per point, "
                               f"got shape {keep.shape}")
        return keep

    def sides(self) -> tuple[str, ...]:
        return ("lo", "hi") if self.side == "both" else (self.side,)

    def min_points(self) -> int:
        """The fewest points ``sample`` may be asked for: one per face (n is split between the faces)."""
        return len(self.sides()) if self.on is None or isinstance(self.on, str) else 1

    def sample(self, domain, n: int, method: str, rng: np.random.Generator) -> np.ndarray:
        w = self.where(domain)
        if w.kind == "faces":
            counts = [n // len(w.sides) + (i < n % len(w.sides)) for i in range(len(w.sides))]
            return np.concatenate([domain.sample_face(w.coord, s, c, method, rng) for s, c in zip(w.sides, counts)])
        if w.kind == "parts":
            return domain.sample_boundary(n, method, rng, w.parts)
        rate = float(self._selected(domain, domain.sample_boundary(512, "uniform", np.random.default_rng(0))).mean())
        return rejection(lambda m: domain.sample_boundary(m, method, rng), lambda p: self._selected(domain, p), n,
                         rate, f"{type(self).__name__} on a predicate")

    def residuals(self, f: Fields, p: Params) -> list[torch.Tensor]:
        raise NotImplementedError

    def where_text(self, domain) -> str:
        w = self.where(domain)
        if w.kind == "faces":
            lo, hi = domain.ranges[w.coord]
            at = {"lo": f"{w.coord}={lo:g}", "hi": f"{w.coord}={hi:g}"}
            return " and ".join(at[s] for s in w.sides)
        if w.kind == "parts":
            return "the boundary" if w.parts is None else ", ".join(w.parts)
        return f"the boundary where {_show(self.on)}"

    def describe(self, domain) -> str:
        return f"{self.kind} on {self.where_text(domain)}: " + ", ".join(f"{self.imposed(k)} = {_show(v)}"
                                                                         for k, v in self.values.items())

    def imposed(self, field: str) -> str:
        """What the condition prescribes of ``field``, as ``describe`` writes it (the value itself here)."""
        return field

    def _normal_derivative(self, field: str) -> str:
        # the outward normal derivative: +d/d(on) on the upper face, -d/d(on) on the lower one
        if isinstance(self.on, str) and self.domain is not None and self.domain.has_faces(self.on) or \
                self.domain is None and isinstance(self.on, str) and len(self.on) == 1:
            return {"hi": f"{field}_{self.on}", "lo": f"-{field}_{self.on}", "both": f"d{field}/dn"}[self.side]
        return f"d{field}/dn"

    def normal_derivative(self, f: Fields, field: str) -> torch.Tensor:
        """The outward normal derivative of ``field`` at the condition's points, by the domain's true normals."""
        dom = self._domain()
        w = self.where(dom)
        g = getattr(f, field)
        if w.kind == "faces":
            x = getattr(f, w.coord)
            lo, hi = dom.ranges[w.coord]
            normal = torch.where(x > 0.5 * (lo + hi), 1.0, -1.0).to(x.dtype)
            return normal * getattr(g, w.coord).value
        axis = dom.normal_axis(w.parts)
        n = dom.normal_t(f.points, w.parts)
        if axis is not None:  # box faces: one partial, not all of them
            return n[:, axis] * getattr(g, dom.names[axis]).value
        return sum(n[:, i] * getattr(g, c).value for i, c in enumerate(dom.names) if c != TIME)


def _show(v: Value) -> str:
    if not callable(v):
        return f"{float(v):g}"
    name = getattr(v, "__name__", "")
    return "given function" if name == "<lambda>" or not name else name


class Dirichlet(Condition):
    """Prescribed field values on a boundary part (``on="hole"``), the whole boundary (``on=None``) or the
    faces of a box coordinate (``Dirichlet(u=0.0, on="x")``, ``side="lo"`` or ``"hi"`` for one face)."""

    kind = "Dirichlet"

    def __init__(self, on: On = None, side: str = "both", **values: Value):
        super().__init__(values, on, side)

    def residuals(self, f, p):
        return [getattr(f, k).value - evaluate_value(v, f, p) for k, v in self.values.items()]


class Neumann(Condition):
    """Prescribed outward normal derivative, ``on`` as for :class:`Dirichlet`: the domain's true normals
    (on box faces: -u_x on the lower face, u_x on the upper)."""

    kind = "Neumann"
    needs_domain = True

    def __init__(self, on: On = None, side: str = "both", **values: Value):
        super().__init__(values, on, side)

    def residuals(self, f, p):
        return [self.normal_derivative(f, k) - evaluate_value(v, f, p) for k, v in self.values.items()]

    def imposed(self, field):
        return self._normal_derivative(field)


class Robin(Condition):
    """a·u + b·∂u/∂n = g, ``on`` and ``side`` as for :class:`Dirichlet`: ``Robin(u=g, a=1.0, b=0.5, on="x")``."""

    kind = "Robin"
    needs_domain = True

    def __init__(self, on: On = None, side: str = "both", a: float = 1.0, b: float = 1.0, **values: Value):
        super().__init__(values, on, side)
        for name, v in (("a", a), ("b", b)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ProblemError(f"Robin coefficient {name}={v!r} must be a finite number")
        if a == 0 and b == 0:
            raise ProblemError("Robin coefficients a and b are both 0: the condition would say nothing")
        self.a, self.b = float(a), float(b)

    def imposed(self, field):
        return f"{self.a:g} {field} + {self.b:g} {self._normal_derivative(field)}"

    def residuals(self, f, p):
        return [self.a * getattr(f, k).value + self.b * self.normal_derivative(f, k) - evaluate_value(v, f, p)
                for k, v in self.values.items()]


def _at_start(c: Condition, domain) -> Where:
    if not domain.has_faces(TIME):
        raise ProblemError(f"{type(c).__name__} on unknown coordinate {TIME!r}: an initial condition needs a time "
                           f"coordinate (coordinates: {', '.join(domain.names)})")
    return Where("faces", coord=TIME, sides=("lo",))


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

    def _resolve(self, domain):
        if not (isinstance(self.on, str) and domain.has_faces(self.on)):
            raise ProblemError(f"Periodic on {self.on!r}: periodicity pairs the two faces of a box coordinate "
                               f"(coordinates: {', '.join(c for c in domain.names if domain.has_faces(c)) or 'none'})")
        return Where("faces", coord=self.on, sides=("lo", "hi"))

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

    def _resolve(self, domain):
        return _at_start(self, domain)

    def residuals(self, f, p):
        return [getattr(f, k).value - evaluate_value(v, f, p) for k, v in self.values.items()]


class InitialRate(Condition):
    """Time derivatives at the start of time: ``InitialRate(u=0.0)`` means u_t(x, 0) = 0."""

    kind = "initial rate"

    def __init__(self, **values: Value):
        super().__init__(values, TIME, "lo")

    def _resolve(self, domain):
        return _at_start(self, domain)

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

    @classmethod
    def from_file(cls, path, problem) -> PointData:
        """Measurements of ``problem``'s fields from a .npz or .csv file of named columns (:mod:`pinnlab.data`)."""
        from .data import point_data, read_columns
        return point_data(read_columns(path), problem, f"data file {str(path)!r}")

    def validate(self, domain, fields):
        super().validate(domain, fields)
        if self.points.ndim != 2 or self.points.shape[1] != domain.dim:
            raise ProblemError(f"PointData points must have shape (M, {domain.dim}), got {self.points.shape}")
        if not domain.contains(self.points).all():
            raise ProblemError("PointData has points outside the domain")
        for k, v in self.values.items():
            if len(v) != len(self.points):
                raise ProblemError(f"PointData {k}: {len(v)} values for {len(self.points)} points")

    def _resolve(self, domain):
        return Where("points")

    def min_points(self) -> int:
        return 0  # its own points, whatever n is

    def sample(self, domain, n, method, rng):
        return self.points

    def residuals(self, f, p):
        return [getattr(f, k).value - torch.as_tensor(v, dtype=f.points.dtype, device=f.points.device)
                for k, v in self.values.items()]

    def describe(self, domain):
        return f"point data: {len(self.points)} observations of {', '.join(self.fields)}"
