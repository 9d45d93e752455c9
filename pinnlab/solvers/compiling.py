"""Whether and how a PINN loss is compiled.

What is compiled is the loss *and its parameter gradient* as one function of the parameters
(:func:`value_and_grad`, torch.func), traced once per input signature into one graph of aten
operations and compiled by inductor (:class:`Compiled`): no autograd tape between forward and
backward, no dynamo guards per call. Nested autograd cannot be compiled (double backward), so only
the jet engine is; ``auto`` compiles when the run is long enough to repay the compile. On the CPU a
large residual set is split into cache-sized chunks (:func:`chunk_size`). The measurements behind
each choice: docs/derivatives.md, "Why the compiled step is built this way".
"""

from __future__ import annotations

import copy
import functools
import shutil
import subprocess
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch._inductor
from torch import nn
from torch._guards import TracingContext, tracing
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.proxy_tensor import make_fx
from torch.fx.experimental.symbolic_shapes import ShapeEnv
from torch.utils._pytree import tree_flatten, tree_unflatten

AUTO_MIN_STEPS = 4000  # --compile auto: the measured break-even was 2000-5000 steps
CHUNK_BYTES = 2 << 20  # one layer's jet per chunk; sets above twice this are split (measured gains 7-30%)
# tanh as 2 / (1 + exp(-2x)) - 1 on the CPU: 7-12% faster steps, absolute error about one rounding unit
# (why inductor does not do it by default: pytorch/pytorch#148241)
INDUCTOR_OPTIONS: dict[str, Any] = {"cpp.use_decompose_tanh": True}
ZERO_INIT_FLAG = "-ftrivial-auto-var-init=zero"


@functools.cache
def zero_init_options() -> dict[str, Any]:
    """Inductor options that make its C++ compiler zero every stack variable, or none where it cannot.

    Why: a masked vectorised read leaves stale stack lanes that Sleef's sin/cos then read, so compiled
    float32 steps differed between processes; zeroing costs nothing measurable. Inductor has no option
    for extra flags but pastes its contraction flag into the command line, so the flag rides on it.
    Needs GCC 12 or clang 16 (docs/derivatives.md, "Reproducibility")."""
    current = getattr(torch._inductor.config.cpp, "enable_floating_point_contract_flag", None)
    if not isinstance(current, str) or ZERO_INIT_FLAG in current.split():
        return {}  # no place for the flag, or inductor's setting already carries it
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler
        cxx = get_cpp_compiler()
        ok = subprocess.run([cxx, ZERO_INIT_FLAG, "-fsyntax-only", "-x", "c++", "-"], input="int main() {}\n",
                            capture_output=True, text=True, timeout=60).returncode == 0
    except Exception:  # noqa: BLE001 - no usable compiler here: compiling will say so itself
        return {}
    return {"cpp.enable_floating_point_contract_flag": f"{current} {ZERO_INIT_FLAG}"} if ok else {}


def options_for(net: nn.Module, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The inductor options a network's modules ask for on ``device``'s kind (a module's
    ``inductor_options``: {"cpu": {...}, "cuda": {...}}), merged in module order: what suits one
    layer kind's compiled step (e.g. Yat's on the CPU) is set for its nets only, and only where it
    was measured."""
    kind = torch.device(device).type
    options: dict[str, Any] = {}
    for module in net.modules():
        options.update((getattr(module, "inductor_options", None) or {}).get(kind, {}))
    return options


def should_compile(mode: str, engine: str, steps: int, device: str) -> bool:
    """The decision for ``--compile auto|on|off``."""
    if mode == "off":
        return False
    if engine != "jets":
        if mode == "on":
            warnings.warn("--compile on: nested autograd cannot be compiled (double backward); running eager. "
                          "Use --derivatives jets with a layer kind that has jet rules.", UserWarning, stacklevel=2)
        return False
    if device == "cpu" and shutil.which("g++") is None and shutil.which("c++") is None:
        if mode == "on":
            warnings.warn("--compile on: no C++ compiler found for torch.compile on the CPU; running eager",
                          UserWarning, stacklevel=2)
        return False
    return mode == "on" or steps >= AUTO_MIN_STEPS


class Compiled:
    """``fn`` (tensors, or lists and dicts of them, in and out) compiled once per input signature:
    traced by make_fx into one graph of aten operations, compiled by inductor (with its C++ wrapper
    on the CPU), then called directly, with no dynamo guards: what guards would catch is in the
    signature (shapes, strides, dtypes, devices: a new one compiles again) or fixed for a task's life.
    ``fn`` may update its inputs in place; it is traced on copies. It computes any gradient itself
    (torch.func), so it runs with autograd off and its outputs carry no history.
    A function that cannot be one graph (control flow on tensor values) goes to torch.compile instead
    (``via_dynamo``); if that fails too, one warning and eager from then on (``failed``)."""

    def __init__(self, fn: Callable, options: dict[str, Any] | None = None):
        self.fn, self.options = fn, {**INDUCTOR_OPTIONS, **zero_init_options(), **(options or {})}
        self.via_dynamo, self.failed = False, False
        self._graphs: dict[tuple, Callable] = {}
        self._dynamo: Callable | None = None

    def __call__(self, *args):
        with torch.no_grad():
            return self._call(args)

    def _call(self, args: tuple):
        if self.failed:
            return self.fn(*args)
        try:
            return self._dynamo(*args) if self.via_dynamo else self._direct(args)
        except Exception as exc:  # noqa: BLE001 - any compiler failure: the eager function still works
            from ..errors import PinnlabError
            result = None
            if isinstance(exc, PinnlabError):
                # the problem's own error, or tracing tripping over what the problem does (``if u.mean() > 0``,
                # ``.item()``), which the problem reports as its error too: eager tells them apart, raising
                # the first and computing this call's result for the second
                result = self.fn(*args)
            what = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}" if str(exc) else type(exc).__name__
            if result is not None:
                self.via_dynamo, self.failed = True, self.via_dynamo
                self._dynamo = self._dynamo or torch.compile(self.fn, options=self.options)
                warnings.warn(f"compiling the step failed ({what}); "
                              + ("continuing without compiling" if self.failed else "using torch.compile"),
                              UserWarning, stacklevel=3)
                return result
            if not self.via_dynamo:
                self.via_dynamo, self._dynamo = True, torch.compile(self.fn, options=self.options)
                warnings.warn(f"compiling the step as one graph failed ({what}); using torch.compile",
                              UserWarning, stacklevel=3)
                return self._call(args)
            self.failed = True
            warnings.warn(f"torch.compile failed ({what}); continuing without compiling", UserWarning, stacklevel=3)
            return self.fn(*args)

    def _direct(self, args: tuple) -> Any:
        flat = _tensors_and_lists(args)
        leaves, structure = flat if flat is not None else tree_flatten(args)
        key = (structure, tuple((t.shape, t.stride(), t.dtype, t.device) for t in leaves))
        run = self._graphs.get(key)
        if run is None:
            run = self._graphs[key] = self._compile(leaves, tree_flatten(args)[1])
        return run(leaves)

    def _compile(self, leaves: list[torch.Tensor], spec) -> Callable[[list[torch.Tensor]], Any]:
        out_spec = []

        def flat(*ts):
            out, o_spec = tree_flatten(self.fn(*tree_unflatten(list(ts), spec)))
            out_spec.append(o_spec)
            return out
        graph = make_fx(flat)(*[t.clone() for t in leaves])  # tracing runs fn: not on the real inputs
        compiled = None
        if "cpp_wrapper" not in self.options and all(t.device.type == "cpu" for t in leaves):
            compiled = _with_cpp_wrapper(graph, leaves, self.options)
        if compiled is None:
            compiled = _inductor(graph, leaves, self.options)
        return lambda ts: tree_unflatten(list(compiled(*ts)), out_spec[0])


def _inductor(graph: torch.fx.GraphModule, leaves: list[torch.Tensor], options: dict[str, Any]) -> Callable:
    """``torch._inductor.compile`` inside a tracing context whose fake mode has a shape environment, as
    dynamo provides: without one inductor's on-disk caches are bypassed and every run compiles anew."""
    with tracing(TracingContext(FakeTensorMode(shape_env=ShapeEnv()))):
        return torch._inductor.compile(graph, leaves, options=options)


def _tensors_and_lists(args: tuple) -> tuple[list[torch.Tensor], tuple] | None:
    """The tensors of ``args`` when it holds only tensors and lists or tuples of tensors (a solver
    step's arguments), with its structure as their lengths (-1: a tensor); else None. A shortcut
    past pytree's flatten and its spec's hash on every call."""
    leaves: list[torch.Tensor] = []
    structure = []
    for a in args:
        if isinstance(a, torch.Tensor):
            leaves.append(a)
            structure.append(-1)
        elif isinstance(a, (list, tuple)) and all(isinstance(t, torch.Tensor) for t in a):
            leaves.extend(a)
            structure.append(len(a) if type(a) is list else (type(a), len(a)))  # a Points batch is a tuple
        else:
            return None
    return leaves, tuple(structure)


def _with_cpp_wrapper(graph: torch.fx.GraphModule, leaves: list[torch.Tensor], options: dict[str, Any]
                      ) -> Callable | None:
    """The graph compiled with inductor's C++ wrapper (kernels called from C++, not Python: faster
    small steps), or None if that fails."""
    # make_fx leaves each placeholder a fake value from a fake mode of its own, which the C++-wrapper
    # path refuses to mix; without them it fakes the real inputs itself. On a copy: compiling may
    # modify the graph, and the Python-wrapper compile needs it intact if this one fails.
    attempt = copy.deepcopy(graph)
    for node in attempt.graph.nodes:
        if node.op == "placeholder":
            node.meta.pop("val", None)
    try:
        return _inductor(attempt, leaves, {**options, "cpp_wrapper": True})
    except Exception:  # noqa: BLE001 - e.g. an operation the C++ wrapper lacks: the Python wrapper still works
        return None


class _Objective(nn.Module):
    """Holds ``model`` so that torch.func can swap its parameters while ``fn`` runs."""

    def __init__(self, model: nn.Module, fn: Callable[..., dict[str, torch.Tensor]]):
        super().__init__()
        self.model, self.fn = model, fn

    def forward(self, *args: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        terms = self.fn(*args)
        return sum(terms.values()), terms


def value_and_grad(model: nn.Module, fn: Callable[..., dict[str, torch.Tensor]]
                   ) -> Callable[..., tuple[list[torch.Tensor], dict[str, torch.Tensor]]]:
    """``fn(*args)``, a dict of loss terms computed through ``model`` (a run's whole trainable
    container), as ``g(params, *args) -> (grads, terms)``: the gradient of the terms' sum with respect
    to ``params`` (the values of ``model``'s trainable parameters, in ``model.parameters()`` order)
    and the terms, detached."""
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    holder = _Objective(model, fn)

    def objective(params: list[torch.Tensor], *args: Any):
        return torch.func.functional_call(holder, {f"model.{n}": p for n, p in zip(names, params)}, args)

    grad_fn = torch.func.grad_and_value(objective, has_aux=True)

    def run(params: list[torch.Tensor], *args: Any):
        grads, (_, terms) = grad_fn(params, *args)
        return grads, terms
    return run


def grads_into(fn: Callable, params: list[torch.nn.Parameter], *args: Any) -> dict[str, torch.Tensor]:
    """Call ``fn`` (a :func:`value_and_grad` function, compiled or not) at the parameters' current
    values, put the gradients in their ``.grad`` and return the (detached) loss terms."""
    # detached: the function is not traced for autograd (it computes the gradient itself)
    grads, terms = fn([p.detach() for p in params], *args)
    for p, g in zip(params, grads):
        p.grad = g
    return terms


def jet_bytes_per_point(net: nn.Module, components: int, dtype: torch.dtype) -> int:
    """Bytes one point's jet takes in the widest layer: its width times the jet's components."""
    width = max((p.shape[0] for p in net.parameters() if p.dim() == 2), default=1)
    return width * components * torch.empty((), dtype=dtype).element_size()


def chunk_size(n: int, bytes_per_point: int, device: torch.device | str) -> int:
    """Points per chunk for a compiled step over ``n`` points: ``n`` (no split) on a GPU, which
    wants large batches, and when the points' jets fit in twice :data:`CHUNK_BYTES`. Otherwise chunks
    of about that size, equal where a chunk count near it divides ``n`` (each distinct chunk
    length is one more compilation)."""
    if torch.device(device).type != "cpu" or n * bytes_per_point <= 2 * CHUNK_BYTES:
        return n
    k = -(-n * bytes_per_point // CHUNK_BYTES)
    k = next((c for c in range(k, 2 * k + 1) if n % c == 0), k)
    return -(-n // k)


def sum_over_chunks(fn: Callable, params: list[torch.Tensor], x: torch.Tensor, size: int, *rest: Any
                    ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """``fn(params, chunk, *rest) -> (grads, terms)`` (a :func:`value_and_grad` function) over ``x`` in
    chunks of ``size`` points, gradients and terms summed: the whole set's when each chunk's terms
    are its share of a sum over points."""
    grads: list[torch.Tensor] = []
    terms: dict[str, torch.Tensor] = {}
    for part in x.split(size):
        g, t = fn(params, part, *rest)
        if not grads:  # copies: a CUDA-graph replay would overwrite its outputs in place
            grads, terms = [v.clone() for v in g], {k: v.clone() for k, v in t.items()}
            continue
        torch._foreach_add_(grads, list(g))
        for k, v in t.items():
            terms[k] += v
    return grads, terms
