"""Forward-mode derivative jets (Taylor mode): values and input partials pushed through a network.

A :class:`Jet` holds, for every point and feature, the value and the partial derivatives with
respect to the inputs that a residual needs: a list of K components, component 0 the value, an
(N, F) tensor, then the partials in the order of its :class:`JetPlan`. (Separate tensors rather
than slices of one stacked tensor: a slice's backward allocates and zero-fills the whole tensor,
which cost more than the arithmetic itself.) A partial may also be a tensor that broadcasts to
the value's shape (the same for every point, as dx/dx = 1 is) or ``None`` (known to be zero, as
d2x/dx2 is): the rules skip the terms these make trivial, so the first layer does no matmul and
no products for its partials, and its backward pass no reductions over points for them.

- Linear maps are one matmul over the K components stacked; the bias shifts the value only.
- An elementwise function with derivatives f', f'', f''' follows Faà di Bruno's formula,
  one term per set partition of the multi-index (precomputed by the plan), e.g.
  d_ijk f(z) = f'''(z) z_i z_j z_k + f''(z) (z_ij z_k + z_ik z_j + z_jk z_i) + f'(z) z_ijk.
- Products follow Leibniz's rule (one term per subset; a square computes each pair once);
  quotients solve Leibniz's rule on q v = u for q's partials in turn.

The plan carries only the partials asked for and the lower ones they are built from (the
sub-multisets of each multi-index), up to order 3. Parameter gradients are one ordinary
backward pass through these tensor operations.

Torch-like code runs on :class:`TorchJet`: ``torch.sin(jet)``, ``torch.cat([...], dim=1)``, ``jet[:, :1]``,
``2 * jet ** 2``; so a problem's hard-constraint transform runs on jets too. An operation
without a jet rule raises :class:`JetUnsupported`, and the engine uses nested autograd instead
(:mod:`pinnlab.derivatives`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext

import torch

MAX_ORDER = 3

MultiIndex = tuple[int, ...]
Derivs = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]


class JetUnsupported(TypeError):
    """An operation on a Jet that has no forward-mode rule (the engine then uses autograd)."""


# -- the plan: which partials are carried and how they combine -----------------------------------

def _sub_multisets(idx: MultiIndex) -> set[MultiIndex]:
    return {tuple(sorted(c)) for r in range(len(idx) + 1) for c in itertools.combinations(idx, r)}


def _set_partitions(items: list[int]) -> list[list[list[int]]]:
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for part in _set_partitions(rest):
        out.append([[first]] + part)
        for i in range(len(part)):
            out.append(part[:i] + [[first] + part[i]] + part[i + 1:])
    return out


class JetPlan:
    """The multi-indices a jet carries (closed under sub-multisets) and the terms its rules sum."""

    def __init__(self, dim: int, indices: Iterable[MultiIndex]):
        wanted = {tuple(sorted(i)) for i in indices}
        for i in wanted:
            if len(i) > MAX_ORDER:
                raise JetUnsupported(f"jets carry partials up to order {MAX_ORDER}, asked for order {len(i)}")
            if any(not 0 <= c < dim for c in i):
                raise ValueError(f"multi-index {i} out of range for {dim} inputs")
        closed = set().union(*(_sub_multisets(i) for i in wanted)) | {()}
        self.dim = dim
        self.indices: list[MultiIndex] = sorted(closed, key=lambda a: (len(a), a))
        self.pos = {a: k for k, a in enumerate(self.indices)}
        self.order = max(len(a) for a in self.indices)
        # Faà di Bruno: per component, [(r, [block positions of each r-block partition])]
        self.chain = [self._partition_terms(a) for a in self.indices]
        # Leibniz: per component, [(position in u, position in v)], one pair per subset
        self.leibniz = [self._subset_terms(a) for a in self.indices]

    def _partition_terms(self, index: MultiIndex) -> list[tuple[int, list[tuple[int, ...]]]]:
        terms: dict[int, list[tuple[int, ...]]] = {}
        for part in _set_partitions(list(range(len(index)))):
            blocks = tuple(sorted(self.pos[tuple(sorted(index[i] for i in b))] for b in part))
            terms.setdefault(len(part), []).append(blocks)
        return sorted(terms.items())

    def _subset_terms(self, index: MultiIndex) -> list[tuple[int, int]]:
        n, out = len(index), []
        for r in range(n + 1):
            for chosen in itertools.combinations(range(n), r):
                rest = [i for i in range(n) if i not in chosen]
                out.append((self.pos[tuple(sorted(index[i] for i in chosen))],
                            self.pos[tuple(sorted(index[i] for i in rest))]))
        return out

    @property
    def size(self) -> int:
        return len(self.indices)

    def input_components(self, points: torch.Tensor) -> list[torch.Tensor | None]:
        """The jet of the inputs themselves: value x, dx/dx_i = e_i (one row for all points), higher 0."""
        eye = torch.eye(points.shape[1], dtype=points.dtype, device=points.device)
        return [points] + [eye[a[0]:a[0] + 1] if len(a) == 1 else None for a in self.indices[1:]]


_PLANS: dict[tuple[int, frozenset], JetPlan] = {}
_is_compiling = getattr(torch.compiler, "is_compiling", None) or (lambda: False)  # torch < 2.3 lacks it


def plan_for(dim: int, indices: Iterable[MultiIndex]) -> JetPlan:
    """A cached plan for these partials of a ``dim``-input function."""
    key = (dim, frozenset(tuple(sorted(i)) for i in indices))
    if _is_compiling():
        # built at trace time, not looked up: a guard on the cache's contents would fail on the
        # second call (the first one filled it) and compile the whole step a second time
        return JetPlan(dim, key[1])
    if key not in _PLANS:
        _PLANS[key] = JetPlan(dim, key[1])
    return _PLANS[key]


def _plus(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    return b if a is None else a if b is None else a + b


def _full(c: torch.Tensor | None, value: torch.Tensor) -> torch.Tensor:
    """A component as a tensor of the value's shape (a broadcast view, or zeros for ``None``)."""
    if c is None:
        return value.new_zeros(()).expand(value.shape)
    return c if c.shape == value.shape else c.expand(value.shape)


# -- elementary functions: f, f', f'', f''' from shared intermediates -----------------------------

def _sin(z):
    s, c = torch.sin(z), torch.cos(z)
    return s, c, -s, -c


def _cos(z):
    s, c = torch.sin(z), torch.cos(z)
    return c, -s, -c, s


def _exp(z):
    e = torch.exp(z)
    return e, e, e, e


def _ordered(fn):
    """Mark ``fn(z, order)`` as computing derivatives only up to ``order`` (the rest may be None)."""
    fn.ordered = True
    return fn


@_ordered
def _tanh(z, order=3):
    y = torch.tanh(z)
    d1 = 1 - y * y
    d2 = -2 * y * d1 if order >= 2 else None
    return y, d1, d2, (-2 * d1 * (1 - 3 * y * y) if order >= 3 else None)


def _sigmoid(z):
    s = torch.sigmoid(z)
    d1 = s * (1 - s)
    return s, d1, d1 * (1 - 2 * s), d1 * (1 - 6 * d1)


def _log(z):
    r = 1 / z
    return torch.log(z), r, -r * r, 2 * r * r * r


def _sqrt(z):
    s, r = torch.sqrt(z), 1 / z
    return s, 0.5 / s, -0.25 * r / s, 0.375 * r * r / s


def _reciprocal(z):
    r = 1 / z
    r2 = r * r
    return r, -r2, 2 * r2 * r, -6 * r2 * r2


def _rsqrt(z):
    s, r = torch.rsqrt(z), 1 / z
    return s, -0.5 * s * r, 0.75 * s * r * r, -1.875 * s * r * r * r


ELEMENTARY: dict[str, Derivs] = {"sin": _sin, "cos": _cos, "exp": _exp, "tanh": _tanh, "sigmoid": _sigmoid,
                                 "log": _log, "sqrt": _sqrt, "reciprocal": _reciprocal, "rsqrt": _rsqrt}


def _power(n: int) -> Derivs:
    """z**n for an integer n >= 3 (lower powers are products)."""
    def derivs(z):
        return z ** n, n * z ** (n - 1), n * (n - 1) * z ** (n - 2), n * (n - 1) * (n - 2) * z ** (n - 3)
    return derivs


# -- the jet --------------------------------------------------------------------------------------

class Jet:
    """Value and input partials of a batch of features: ``comps[k]`` (N, F) for component k of the plan.

    Arithmetic with plain tensors or numbers treats them as constants (independent of the inputs).
    """

    __slots__ = ("comps", "plan")

    def __init__(self, comps: list[torch.Tensor], plan: JetPlan):
        self.comps, self.plan = comps, plan

    @classmethod
    def input(cls, points: torch.Tensor, plan: JetPlan) -> Jet:
        """The jet of the input coordinates ``points`` (N, dim)."""
        return cls(plan.input_components(points), plan)

    @property
    def value(self) -> torch.Tensor:
        return self.comps[0]

    def partial(self, index: MultiIndex) -> torch.Tensor:
        """The partial derivative for a multi-index of input positions, e.g. (0, 0, 1), value-shaped."""
        return _full(self.comps[self.plan.pos[tuple(sorted(index))]], self.comps[0])

    @property
    def shape(self) -> torch.Size:
        return self.comps[0].shape

    # what code written for tensors reads or calls besides arithmetic (``torch.tensor(2.0, dtype=x.dtype)``)
    @property
    def dtype(self) -> torch.dtype:
        return self.comps[0].dtype

    @property
    def device(self) -> torch.device:
        return self.comps[0].device

    def pow(self, n) -> Jet:
        return self ** n

    def square(self) -> Jet:
        return product(self, self)

    def __repr__(self) -> str:
        return f"Jet(shape={tuple(self.shape)}, partials={self.plan.indices[1:]})"

    def _map(self, fn) -> Jet:
        """``fn`` on every component; for elementwise ``fn`` with ``fn(0) == 0``."""
        return type(self)([None if c is None else fn(c) for c in self.comps], self.plan)

    def _map_full(self, fn) -> Jet:
        """``fn`` on every component at the value's shape (reductions and indexing over points)."""
        v = self.comps[0]
        return type(self)([fn(v)] + [None if c is None else fn(_full(c, v)) for c in self.comps[1:]], self.plan)

    # Explicit forms of ``jet + c`` and ``jet * c`` for a constant tensor c: torch.compile cannot
    # trace an operator between a tensor and a non-tensor object, so the network's pass uses these.
    def shift(self, c) -> Jet:
        """``jet + c`` for a constant c (the value moves, the partials do not)."""
        return self._shift(c)

    def scale(self, c) -> Jet:
        """``jet * c`` for a constant c."""
        return self._map(lambda t: t * c)

    def _shift(self, c) -> Jet:
        if isinstance(c, (int, float)) and c == 0:
            return self
        return type(self)([self.comps[0] + c] + self.comps[1:], self.plan)

    def __add__(self, other) -> Jet:
        if isinstance(other, Jet):
            return type(self)([_plus(a, b) for a, b in zip(self.comps, other.comps)], self.plan)
        return self._shift(other)

    __radd__ = __add__

    def __neg__(self) -> Jet:
        return self._map(torch.neg)

    def __sub__(self, other) -> Jet:
        if isinstance(other, Jet):
            return type(self)([_plus(a, None if b is None else -b) for a, b in zip(self.comps, other.comps)],
                              self.plan)
        return self._shift(-other)

    def __rsub__(self, other) -> Jet:
        return (-self)._shift(other)

    def __mul__(self, other) -> Jet:
        if isinstance(other, Jet):
            return product(self, other)
        return self._map(lambda c: c * other)

    __rmul__ = __mul__

    def __truediv__(self, other) -> Jet:
        if isinstance(other, Jet):
            return quotient(self, other)
        return self._map(lambda c: c / other)

    def __rtruediv__(self, other) -> Jet:
        return elementwise(self, _reciprocal) * other

    def __pow__(self, n) -> Jet:
        if isinstance(n, bool) or not (isinstance(n, int) or (isinstance(n, float) and n.is_integer())):
            raise JetUnsupported(f"jets support integer powers only, got {n!r}")
        n = int(n)
        if n < 0:
            return elementwise(self ** (-n), _reciprocal)
        if n == 0:
            return type(self)([torch.ones_like(self.comps[0])] + [None] * (self.plan.size - 1), self.plan)
        if n == 1:
            return self
        if n == 2:
            return product(self, self)
        return elementwise(self, _power(n))

    def sum(self, dim: int = -1, keepdim: bool = False) -> Jet:
        """Sum over a dimension of (N, F), as for the value tensor."""
        return self._map_full(lambda c: c.sum(dim=dim, keepdim=keepdim))

    def mean(self, dim: int = -1, keepdim: bool = False) -> Jet:
        return self._map_full(lambda c: c.mean(dim=dim, keepdim=keepdim))

    def __getitem__(self, key) -> Jet:
        return self._map_full(lambda c: c[key])

    def detach(self) -> Jet:
        """A constant, as a detached tensor is to autograd: the value without history and no input partials."""
        return type(self)([self.comps[0].detach()] + [None] * (self.plan.size - 1), self.plan)


# tensor-style methods (x.sin(), x.rsqrt(), ...), so code written for tensors runs on jets unchanged
for _name, _derivs in ELEMENTARY.items():
    setattr(Jet, _name, lambda self, d=_derivs: elementwise(self, d))


class TorchJet(Jet):
    """A Jet that torch functions accept (``torch.sin(jet)``, ``torch.cat``): for users' code such as
    hard-constraint transforms. Kept apart from :class:`Jet` because torch.compile cannot trace
    ``__torch_function__`` on a non-tensor class, and the network's own pass should compile.
    """

    __slots__ = ()

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        if name in ("cat", "concat", "concatenate"):
            return _cat(list(args[0]), kwargs.get("dim", args[1] if len(args) > 1 else 0))
        if name in ELEMENTARY and len(args) == 1 and not kwargs:
            return elementwise(args[0], ELEMENTARY[name])
        binary = _BINARY.get(name)
        if binary is not None and len(args) == 2 and not kwargs:
            return binary(*args)
        if name in ("neg", "__neg__") and len(args) == 1:
            return -args[0]
        if name == "square" and len(args) == 1 and not kwargs:
            return product(args[0], args[0])
        raise JetUnsupported(f"no jet rule for torch function {name!r}")


def _add(a, b):
    return a + b if isinstance(a, Jet) else b + a


def _mul(a, b):
    return a * b if isinstance(a, Jet) else b * a


def _sub(a, b):
    return a - b if isinstance(a, Jet) else b.__rsub__(a)


def _div(a, b):
    return a / b if isinstance(a, Jet) else b.__rtruediv__(a)


def _swap(op):
    return lambda a, b: op(b, a)


# torch dispatches ``tensor * jet`` here as ("__mul__", tensor, jet), and reflected ops with swapped arguments
_BINARY = {"add": _add, "__add__": _add, "__radd__": _add, "mul": _mul, "__mul__": _mul, "__rmul__": _mul,
           "sub": _sub, "__sub__": _sub, "__rsub__": _swap(_sub), "div": _div, "__truediv__": _div,
           "__rtruediv__": _swap(_div), "pow": lambda a, b: a ** b, "__pow__": lambda a, b: a ** b}


def _cat(jets: list, dim: int) -> Jet:
    if not all(isinstance(j, Jet) for j in jets):
        raise JetUnsupported("torch.cat over jets needs every part to be a Jet")
    values = [j.comps[0] for j in jets]
    out = []
    for parts in zip(*(j.comps for j in jets)):
        zero = all(p is None for p in parts)
        out.append(None if zero else torch.cat([_full(p, v) for p, v in zip(parts, values)], dim=dim))
    return type(jets[0])(out, jets[0].plan)


# -- the rules ------------------------------------------------------------------------------------

def linear(jet: Jet, weight: torch.Tensor, bias: torch.Tensor | None = None) -> Jet:
    """``x W^T + b``: the partials of every point in one matmul; the bias shifts the value only."""
    v = jet.comps[0]
    out: list[torch.Tensor | None] = [torch.nn.functional.linear(v, weight, bias)]
    full = [k for k, c in enumerate(jet.comps) if k and c is not None and c.shape == v.shape]
    for k, c in enumerate(jet.comps[1:], 1):  # zero partials stay zero; broadcast ones are one row
        out.append(None if c is None or k in full else c.expand(*c.shape[:-1], v.shape[-1]) @ weight.T)
    if full:
        for k, p in zip(full, (torch.stack([jet.comps[k] for k in full]) @ weight.T).unbind(0)):
            out[k] = p
    return type(jet)(out, jet.plan)


def elementwise(jet: Jet, derivs: Derivs) -> Jet:
    """``f(jet)`` for an elementwise f given by ``derivs(z) -> (f, f', f'', f''')`` (Faà di Bruno)."""
    z = jet.comps
    d = derivs(z[0], jet.plan.order) if getattr(derivs, "ordered", False) else derivs(z[0])
    out = [d[0]]
    for terms in jet.plan.chain[1:]:
        acc = None
        for r, partitions in terms:
            s = None
            for blocks in partitions:
                if any(z[b] is None for b in blocks):
                    continue
                p = z[blocks[0]]
                for b in blocks[1:]:
                    p = p * z[b]
                s = _plus(s, p)
            if s is None:
                continue
            t = d[r] * s
            acc = _plus(acc, t)
        out.append(acc)
    return type(jet)(out, jet.plan)


def apply(jet: Jet, activation) -> Jet:
    """An activation (anything with ``derivs(z) -> (f, f', f'', f''')``) applied to a jet."""
    return elementwise(jet, activation.derivs)


def product(u: Jet, v: Jet) -> Jet:
    """``u * v`` by Leibniz's rule (features broadcast as for tensors)."""
    if v.plan is not u.plan:
        raise ValueError("jets of different plans cannot be combined")
    if v is u:
        return _square(u)
    a, b = u.comps, v.comps
    out = []
    for terms in u.plan.leibniz:
        acc = None
        for i, j in terms:
            if a[i] is None or b[j] is None:
                continue
            t = a[i] * b[j]
            acc = _plus(acc, t)
        out.append(acc)
    return type(u)(out, u.plan)


def _square(u: Jet) -> Jet:
    """``u * u``: Leibniz's terms u_S u_T and u_T u_S are one product, counted twice."""
    a, out = u.comps, []
    for terms in u.plan.leibniz:
        counts: dict[tuple[int, int], int] = {}
        for i, j in terms:
            if a[i] is not None and a[j] is not None:
                key = (min(i, j), max(i, j))
                counts[key] = counts.get(key, 0) + 1
        acc = None
        for (i, j), n in counts.items():
            t = a[i] * a[j] if n == 1 else (a[i] * a[j]) * n
            acc = _plus(acc, t)
        out.append(acc)
    return type(u)(out, u.plan)


def quotient(u: Jet, v: Jet) -> Jet:
    """``u / v`` from Leibniz's rule on q v = u, solved for the highest partial of q in turn:
    q_a = (u_a - sum over proper sub-multisets b of a of q_b v_(a-b)) / v (one reciprocal, no
    chain of its derivatives)."""
    if v.plan is not u.plan:
        raise ValueError("jets of different plans cannot be combined")
    r = 1 / v.comps[0]
    q: list[torch.Tensor | None] = [u.comps[0] * r]
    for k, terms in enumerate(u.plan.leibniz[1:], 1):
        acc = u.comps[k]
        for i, j in terms:
            if i == k or q[i] is None or v.comps[j] is None:
                continue  # i == k: the term q_a v itself, the one solved for
            t = q[i] * v.comps[j]
            acc = -t if acc is None else acc - t
        q.append(None if acc is None else acc * r)
    return type(u)(q, u.plan)


# -- the engine's entry points ----------------------------------------------------------------------

def _has_jet_rules(net: torch.nn.Module) -> bool:
    check = getattr(net, "supports_jets", None)
    if callable(check):
        return bool(check())
    return callable(getattr(net, "forward_jet", None))


def supports_jets(net: torch.nn.Module, wanted: Mapping[str, Iterable[MultiIndex]]) -> bool:
    """Whether ``net`` has jet rules for all it does and the partials are within order 3."""
    orders = [len(i) for idx in wanted.values() for i in idx]
    if orders and max(orders) > MAX_ORDER:
        return False
    return _has_jet_rules(net)


def jet_fields(net: torch.nn.Module, points: torch.Tensor, wanted: Mapping[str, Iterable[MultiIndex]],
               dim: int, create_graph: bool = True) -> dict[str, dict[MultiIndex, torch.Tensor]]:
    """Every field's value and requested partials at ``points`` by one forward pass of jets."""
    wanted = {f: list(v) for f, v in wanted.items()}
    plan = plan_for(dim, [i for idx in wanted.values() for i in idx])
    with nullcontext() if create_graph else torch.no_grad():
        out = net.forward_jet(Jet.input(points, plan)).comps
    return {f: {i: _full(out[plan.pos[i]], out[0])[:, j] for i in wanted[f]} for j, f in enumerate(wanted)}


def check_transform(transform, dim: int, out_dim: int, dtype: torch.dtype | None = None) -> bool:
    """Whether an output transform ``transform(x, out)`` runs on jets (tried once on 2 points)."""
    dtype = dtype or torch.get_default_dtype()
    plan = plan_for(dim, [(i,) for i in range(dim)])
    x = TorchJet.input(torch.zeros(2, dim, dtype=dtype), plan)
    out = TorchJet([torch.zeros(2, out_dim, dtype=dtype) for _ in range(plan.size)], plan)
    try:
        with torch.no_grad():
            res = transform(x, out)
    except (JetUnsupported, TypeError, AttributeError, RuntimeError):
        return False
    return isinstance(res, Jet) and tuple(res.shape) == (2, out_dim)


__all__ = ["ELEMENTARY", "Jet", "JetPlan", "JetUnsupported", "TorchJet", "MAX_ORDER", "apply", "check_transform",
           "elementwise", "jet_fields", "linear", "plan_for", "product", "quotient", "supports_jets"]
