"""The namespace a residual is written over: named fields, their named partials, coordinates.

``f.u`` is the field u at the points, ``f.u.xx`` its second x-derivative, ``f.x`` the x
coordinate. Fields behave like tensors in arithmetic and in ``torch`` functions. A dry call on
a :class:`Recorder` finds which partials a residual needs, so the derivative engine computes
exactly those.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace

import torch

from .errors import ProblemError

MultiIndex = tuple[int, ...]  # sorted coordinate indices: () value, (0,) d/dx, (0, 1) d²/dxdt


def parse_derivative(attr: str, coords: tuple[str, ...]) -> MultiIndex | None:
    """Split a name like ``"xxt"`` into coordinate indices; None if it is not one."""
    if attr == "":
        return ()
    for i, name in enumerate(coords):
        if attr.startswith(name):
            rest = parse_derivative(attr[len(name):], coords)
            if rest is not None:
                return tuple(sorted((i, *rest)))
    return None


def derivative_name(index: MultiIndex, coords: tuple[str, ...]) -> str:
    return "".join(coords[i] for i in index)


class Params(SimpleNamespace):
    """Problem parameters with attribute access; a typo names the known parameters."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ProblemError(f"unknown parameter {name!r} (known: {', '.join(vars(self)) or 'none'})")


class Field:
    """One field, or one of its partial derivatives, at a set of points."""

    __slots__ = ("_name", "_index", "_owner")

    def __init__(self, name: str, index: MultiIndex, owner: Fields):
        self._name, self._index, self._owner = name, index, owner

    @property
    def value(self) -> torch.Tensor:
        return self._owner._lookup(self._name, self._index)

    __array_ufunc__ = None  # numpy functions on fields: a clear TypeError, use torch.sin etc.

    def __getattr__(self, attr: str) -> Field:
        if attr.startswith("__"):
            raise AttributeError(attr)  # Python's and torch.compile's own probes (__dict__, ...)
        idx = parse_derivative(attr, self._owner.coords)
        if idx is None and _tensor_passthrough(attr):
            return getattr(self.value, attr)  # tensor methods: f.u.exp(), f.u.abs()
        if idx is None or attr.startswith("_"):
            raise ProblemError(
                f"'{self._name}.{attr}' is not a derivative: write partials as coordinate names, "
                f"e.g. {self._name}.{self._owner.coords[0] * 2} (coordinates: {', '.join(self._owner.coords)})"
            )
        return Field(self._name, tuple(sorted(self._index + idx)), self._owner)

    def __repr__(self) -> str:
        return f"Field({self._name}{'_' + derivative_name(self._index, self._owner.coords) if self._index else ''})"

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return func(*_unwrap(args), **_unwrap(kwargs or {}))

    # Arithmetic returns plain tensors: a residual mixes fields, coordinates and constants freely.
    def __add__(self, o): return self.value + _val(o)
    def __radd__(self, o): return _val(o) + self.value
    def __sub__(self, o): return self.value - _val(o)
    def __rsub__(self, o): return _val(o) - self.value
    def __mul__(self, o): return self.value * _val(o)
    def __rmul__(self, o): return _val(o) * self.value
    def __truediv__(self, o): return self.value / _val(o)
    def __rtruediv__(self, o): return _val(o) / self.value
    def __pow__(self, o): return self.value ** _val(o)
    def __neg__(self): return -self.value
    def __pos__(self): return self.value
    def __abs__(self): return self.value.abs()
    def __rpow__(self, o): return _val(o) ** self.value
    def __lt__(self, o): return self.value < _val(o)
    def __le__(self, o): return self.value <= _val(o)
    def __gt__(self, o): return self.value > _val(o)
    def __ge__(self, o): return self.value >= _val(o)
    def __getitem__(self, key): return self.value[key]


TENSOR_PROPERTIES = ("shape", "dtype", "device", "ndim")
COORDINATE_LETTERS = set("txyzr")


def _tensor_passthrough(attr: str) -> bool:
    """Whether ``f.u.<attr>`` means the tensor's own attribute. Only methods and shape metadata: a
    property such as ``T``, ``real`` or ``data`` is u itself, so ``f.u.T`` (a typo for ``f.u.t``)
    would train a different equation without a word; and a name made of coordinate letters (``t``,
    a tensor method too) is a partial of a coordinate this domain lacks, not a transpose."""
    if attr.startswith("_") or not hasattr(torch.Tensor, attr) or set(attr) <= COORDINATE_LETTERS:
        return False
    return attr in TENSOR_PROPERTIES or callable(getattr(torch.Tensor, attr))


def _val(o):
    return o.value if isinstance(o, Field) else o


def _unwrap(obj):
    if isinstance(obj, Field):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o) for o in obj)
    if isinstance(obj, Mapping):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


class Fields:
    """Fields, partials and coordinates at N points: what a residual ``f`` sees.

    ``data[field][multi_index]`` holds (N,) tensors; ``points`` is (N, dim).
    """

    def __init__(self, coords: tuple[str, ...], fields: tuple[str, ...], points: torch.Tensor,
                 data: Mapping[str, Mapping[MultiIndex, torch.Tensor]]):
        self.coords, self.fields, self.points, self.data = coords, fields, points, data

    def _lookup(self, name: str, index: MultiIndex) -> torch.Tensor:
        try:
            return self.data[name][index]
        except KeyError:
            raise ProblemError(
                f"derivative {name}_{derivative_name(index, self.coords)} was not computed "
                "(it was not requested by the dry run)"
            ) from None

    def __getattr__(self, name: str):
        if name in self.fields:
            return Field(name, (), self)
        if name in self.coords:
            return self.points[:, self.coords.index(name)]
        if name.startswith("__"):
            raise AttributeError(name)
        raise ProblemError(
            f"unknown name {name!r} in residual (fields: {', '.join(self.fields)}; "
            f"coordinates: {', '.join(self.coords)})"
        )

    def split(self, k: int) -> list[Fields]:
        """Cut into k equal consecutive blocks of points (for paired points, e.g. periodic)."""
        return self.blocks([self.points.shape[0] // k] * k)

    def blocks(self, sizes: list[int]) -> list[Fields]:
        """Cut into consecutive blocks of these numbers of points."""
        out, start = [], 0
        for n in sizes:
            sl = slice(start, start + n)
            out.append(Fields(self.coords, self.fields, self.points[sl],
                              {f: {i: v[sl] for i, v in d.items()} for f, d in self.data.items()}))
            start += n
        return out


class Recorder(Fields):
    """A dry-run namespace: every partial asked for is recorded and answered with zeros."""

    def __init__(self, coords: tuple[str, ...], fields: tuple[str, ...], n: int = 4,
                 dtype: torch.dtype = torch.float64):
        pts = torch.linspace(0.1, 0.9, n, dtype=dtype)[:, None].repeat(1, len(coords))
        super().__init__(coords, fields, pts, {})
        self.requests: dict[str, set[MultiIndex]] = {f: set() for f in fields}
        self._n = n

    def _lookup(self, name: str, index: MultiIndex) -> torch.Tensor:
        self.requests[name].add(index)
        return torch.zeros(self._n, dtype=self.points.dtype)

    def split(self, k: int) -> list[Fields]:
        return [self] * k


def close_under_prefixes(requests: Mapping[str, set[MultiIndex]]) -> dict[str, list[MultiIndex]]:
    """Add the value and every lower partial each requested one is built from; sort by order."""
    out = {}
    for f, idxs in requests.items():
        full = {()}
        for idx in idxs:
            for k in range(1, len(idx) + 1):
                full.add(tuple(sorted(idx[:k])))
        out[f] = sorted(full, key=lambda i: (len(i), i))
    return out


def merge_requests(*reqs: Mapping[str, set[MultiIndex]]) -> dict[str, set[MultiIndex]]:
    out: dict[str, set[MultiIndex]] = {}
    for r in reqs:
        for f, idxs in r.items():
            out.setdefault(f, set()).update(idxs)
    return out
