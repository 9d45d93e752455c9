"""Approximate distance functions (ADFs) and the hard constraints built from them.

Sukumar & Srivastava (2022), "Exact imposition of boundary conditions with distance functions in
physics-informed deep neural networks": a function phi that vanishes on a boundary part, is
positive inside and behaves like the distance near it. Then ``u = g + phi * N`` meets ``u = g`` on
that part whatever the network N outputs. Pieces join by R-equivalence (m = 1):
``phi = 1 / sum(1 / phi_i)``; several Dirichlet parts with their own values join by transfinite
interpolation, ``g = sum_i g_i prod_{j != i} phi_j / sum_i prod_{j != i} phi_j``.

Everything here is arithmetic, ``torch.sqrt`` and reciprocals of coordinate columns, so it runs on
tensors and on jets (the fast derivative engine) alike.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from ..errors import ProblemError
from .base import Geometry, Piece


def segment_adf(cols, a: np.ndarray, b: np.ndarray):
    """The trimmed ADF of the segment a-b: zero on it, the distance to its line near it, positive elsewhere."""
    (x1, y1), (x2, y2) = (float(v) for v in a), (float(v) for v in b)
    length = math.hypot(x2 - x1, y2 - y1)
    xc, yc = (x1 + x2) / 2, (y1 + y2) / 2
    x, y = cols[0], cols[1]
    f = ((x - x1) * (y2 - y1) - (y - y1) * (x2 - x1)) / length
    dx, dy = x - xc, y - yc
    t = (length * length / 4 - dx * dx - dy * dy) / length
    ff = f * f
    varphi = torch.sqrt(t * t + ff * ff)
    q = (varphi - t) / 2
    return torch.sqrt(ff + q * q)


def join(phis: Sequence):
    """R-equivalence (m = 1) of distance functions: zero where any is zero, like the nearest elsewhere."""
    if len(phis) == 1:
        return phis[0]
    total = 1 / phis[0]
    for p in phis[1:]:
        total = total + 1 / p
    return 1 / total


def _oriented(geom: Geometry, piece: Piece) -> Callable:
    """The piece's ADF, signed positive inside ``geom``; refused where the curve it lies on enters the domain
    (there the ADF would vanish inside and pin the solution where no condition holds)."""
    carrier = piece.carrier()
    probe = carrier.dense(512)
    if geom.contains(probe, tol=-1e-6).any():
        raise ProblemError(f"boundary part {piece.name!r}: the curve it lies on passes through the domain's inside, "
                           f"so it has no distance function here (use a soft condition)")
    inside = geom.sample(64, "uniform", np.random.default_rng(0))
    cols = [torch.as_tensor(inside[:, i:i + 1]) for i in range(geom.dim)]
    try:
        sign = float(torch.sign(piece.adf(cols)).median())
    except NotImplementedError:
        raise ProblemError(f"boundary part {piece.name!r} offers no distance function") from None
    return (lambda c: piece.adf(c)) if sign > 0 else (lambda c: -piece.adf(c))


def boundary_adf(geom: Geometry, parts: Sequence[str] | None = None) -> Callable:
    """``phi(*cols)`` of the geometry's coordinate columns: zero on ``parts`` (default: the whole boundary)."""
    fns = [_oriented(geom, p) for p in geom.pieces(parts)]
    return lambda *cols: join([f(cols) for f in fns])


def distance_constraint(domain: Geometry, fields: Sequence[str], conditions: Sequence,
                        params: Mapping[str, float] | None = None):
    """A :class:`~pinnlab.problem.HardConstraint` for the Dirichlet (and initial value) conditions among
    ``conditions``: per field, ``u = g + phi * N`` with phi the ADF of every part they cover.

    Pass the Problem's domain, fields and the same list as its ``conditions``; ``params`` are the values a
    condition's value function reads as ``p``.
    """
    from ..conditions import Dirichlet, Initial
    from ..fields import Params
    from ..problem import HardConstraint
    p = Params(**(params or {}))
    fields = (fields,) if isinstance(fields, str) else tuple(fields)
    terms: dict[str, list[tuple[Callable, Callable]]] = {}  # field -> [(phi, g)]
    enforces = []
    for i, c in enumerate(conditions):
        if not isinstance(c, (Dirichlet, Initial)):
            continue
        phi = _selection_adf(domain, c)
        for name, value in c.values.items():
            if name not in fields:
                raise ProblemError(f"distance_constraint: condition {i} sets unknown field {name!r}")
            terms.setdefault(name, []).append((phi, _value_fn(value, domain.names, p)))
        enforces.append(i)
    if not enforces:
        raise ProblemError("distance_constraint: no Dirichlet or Initial condition to impose")
    names = domain.names

    def transform(c, *outs):
        cols = [getattr(c, n) for n in names]
        return tuple(_impose(terms[f], cols, o) if f in terms else o for f, o in zip(fields, outs))

    return HardConstraint(transform, tuple(enforces))


def _selection_adf(domain: Geometry, c) -> Callable:
    """The ADF of the boundary a condition covers: its box faces (or time cap), or its parts."""
    where = c.where(domain)
    if where.kind == "faces":
        k = domain.index(where.coord)
        lo, hi = domain.ranges[where.coord]
        fns = [(lambda cols, k=k, lo=lo: cols[k] - lo) if s == "lo" else (lambda cols, k=k, hi=hi: hi - cols[k])
               for s in where.sides]
    elif where.kind == "parts":
        fns = [_oriented(domain, p) for p in domain.pieces(where.parts)]
    else:
        raise ProblemError(f"distance_constraint: a condition on a predicate ({c.describe(domain)}) "
                           f"has no distance function")
    return lambda cols: join([f(cols) for f in fns])


def _value_fn(value, names: Sequence[str], p) -> Callable:
    if not callable(value):
        v = float(value)
        return lambda cols: v
    args = list(inspect.signature(value).parameters)
    for a in args:
        if a != "p" and a not in names:
            raise ProblemError(f"a condition value takes an unknown argument {a!r} (allowed: {', '.join(names)}, p)")
    return lambda cols: value(**{a: (p if a == "p" else cols[names.index(a)]) for a in args})


def _impose(terms: list[tuple[Callable, Callable]], cols, out):
    phis = [phi(cols) for phi, _ in terms]
    values = [g(cols) for _, g in terms]
    if len(terms) == 1:
        return values[0] + phis[0] * out
    # transfinite interpolation of the parts' values; products of the other parts' phi keep it finite on each
    weights = []
    for i in range(len(terms)):
        w = None
        for j, ph in enumerate(phis):
            if j != i:
                w = ph if w is None else w * ph
        weights.append(w)
    total = weights[0]
    for w in weights[1:]:
        total = total + w
    g = weights[0] * values[0]
    for w, v in zip(weights[1:], values[1:]):
        g = g + w * v
    if isinstance(total, torch.Tensor) and bool((total == 0).any()):
        # a corner where two parts meet (an evaluation point; jets never sample one): there every weight
        # vanishes, and the parts' values agree where the data are continuous, so take their mean
        corner = total == 0
        mean = sum(v + 0 * total for v in values) / len(values)
        return torch.where(corner, mean, g / torch.where(corner, torch.ones_like(total), total)) + join(phis) * out
    return g / total + join(phis) * out


__all__ = ["segment_adf", "join", "boundary_adf", "distance_constraint"]
