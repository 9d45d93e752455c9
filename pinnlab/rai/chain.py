"""A network cut into stages at the layers RAI wraps, runnable on tensors and on jets.

A :class:`Chain` is ``stages[0] → cut 0 → stages[1] → cut 1 → … → cut m-1 → tail``: stage t maps
the value at cut t-1 (the network's input for t = 0) to the value at cut t, and the tail maps the
last cut to the output. RAI puts a trainable state at every cut. Each stage is a list of ops, an
op being a tensor function and its jet rule, both called as ``op(h, x)`` with ``x`` the network's
input (an output transform reads it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from ..jets import ELEMENTARY, Jet, JetUnsupported, TorchJet, elementwise, linear

TensorOp = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
JetOp = Callable[[Jet, Jet], Jet]


@dataclass
class Op:
    name: str
    tensor: TensorOp
    jet: JetOp | None = None


class Stage:
    """Ops applied in turn to a tensor or a jet."""

    def __init__(self, ops: Sequence[Op]):
        self.ops = list(ops)

    def __call__(self, h, x):
        if isinstance(h, Jet):
            for op in self.ops:
                if op.jet is None:
                    raise JetUnsupported(f"RAI stage op {op.name!r} has no jet rule")
                h = op.jet(h, x)
            return h
        for op in self.ops:
            h = op.tensor(h, x)
        return h


@dataclass
class Chain:
    """Stages between cuts, the tail after the last cut, and the features at each cut."""

    stages: list[Stage]
    tail: Stage
    widths: list[int]
    names: list[str]

    def plain(self, x, keep: bool = False):
        """The plain forward pass; with ``keep`` also the value at every cut."""
        h, cuts = x, []
        for stage in self.stages:
            h = stage(h, x)
            if keep:
                cuts.append(h)
        out = self.tail(h, x)
        return (out, cuts) if keep else out


# -- ops --------------------------------------------------------------------------------------------

def _linear_op(name: str, m: nn.Linear) -> Op:
    return Op(name, lambda h, x: m(h), lambda h, x: linear(h, m.weight, m.bias))


_ACT_JETS = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}


def _module_op(name: str, m: nn.Module) -> Op:
    if isinstance(m, nn.Linear):
        return _linear_op(name, m)
    if isinstance(m, nn.Identity):
        return Op(name, lambda h, x: h, lambda h, x: h)
    kind = next((v for k, v in _ACT_JETS.items() if type(m) is k), None)
    if kind is not None:
        return Op(name, lambda h, x: m(h), lambda h, x: elementwise(h, ELEMENTARY[kind]))
    fj = getattr(m, "forward_jet", None)
    return Op(name, lambda h, x: m(h), (lambda h, x: fj(h)) if callable(fj) else None)


def _select(what: str, layers, count: int) -> list[int]:
    """Positions 0..count-1 chosen by "all", "hidden" (all but the last), or a list of (negative allowed) ints."""
    if layers == "all":
        return list(range(count))
    if layers == "hidden":
        return list(range(count - 1))
    if isinstance(layers, str) or not isinstance(layers, Sequence):
        raise ConfigError(f"RAI layers {layers!r} is not valid (allowed: 'all', 'hidden', or a list of {what} "
                          f"positions 0..{count - 1}, negative from the end)")
    out = set()
    for i in layers:
        if isinstance(i, bool) or not isinstance(i, int) or not -count <= i < count:
            raise ConfigError(f"RAI layer position {i!r} is not valid (allowed: integers -{count}..{count - 1}: "
                              f"the network has {count} {what}s)")
        out.add(i % count)
    if not out:
        raise ConfigError("RAI layers: the list is empty (allowed: 'all', 'hidden', or positions to wrap)")
    return sorted(out)


def _assemble(ops: list[Op], cut_after: list[int], widths: list[int], names: list[str]) -> Chain:
    stages, current, cut_set = [], [], dict(zip(cut_after, zip(widths, names)))
    out_widths, out_names = [], []
    for i, op in enumerate(ops):
        current.append(op)
        if i in cut_set:
            stages.append(Stage(current))
            current = []
            out_widths.append(cut_set[i][0])
            out_names.append(cut_set[i][1])
    return Chain(stages, Stage(current), out_widths, out_names)


def sequential_chain(model: nn.Sequential, layers="all") -> Chain:
    """The chain of an ``nn.Sequential``, cut after the chosen ``nn.Linear`` modules (their outputs,
    before the activation, as the reference code's wrapper does)."""
    if not isinstance(model, nn.Sequential):
        raise ConfigError(f"RAI wraps an nn.Sequential of Linear layers and activations, got {type(model).__name__}")
    mods = list(model)
    lin = [i for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    if not lin:
        raise ConfigError("RAI: the nn.Sequential has no nn.Linear layer to wrap")
    chosen = [lin[k] for k in _select("Linear", layers, len(lin))]
    ops = [_module_op(f"{i}:{type(m).__name__}", m) for i, m in enumerate(mods)]
    return _assemble(ops, chosen, [mods[i].out_features for i in chosen], [f"linear{lin.index(i)}" for i in chosen])


def net_chain(net: nn.Module, layers="all", cut: str = "linear") -> Chain:
    """The chain of a :class:`pinnlab.nets.Net`: cuts after its hidden layers (chosen by ``layers``
    among the hidden layers and the head, in order) and after the head.

    ``cut="linear"``: a dense layer (Linear + activation) is cut after its Linear, as the reference
    does; ``cut="layer"``: after the whole layer (post-activation), the only choice for other kinds.
    """
    from ..layers.dense import Dense
    from ..nets import layer_norm
    if cut not in ("linear", "layer"):
        raise ConfigError(f"RAI cut {cut!r} is not valid (allowed: linear, layer)")
    ops: list[Op] = [Op("scale", lambda h, x: net.scale_inputs(h),
                        lambda h, x: h.shift(-net.in_shift).scale(net.in_scale))]
    cuts: list[tuple[int, int, str]] = []   # (op position, width, name), one per hidden layer and the head
    for i, layer in enumerate(net.hidden):
        if cut == "linear" and isinstance(layer, Dense):
            ops.append(_linear_op(f"hidden{i}.linear", layer.linear))
            cuts.append((len(ops) - 1, layer.linear.out_features, f"hidden{i}"))
            act = layer.activation
            ops.append(Op(f"hidden{i}.act", lambda h, x, a=act: a.forward(h),
                          lambda h, x, a=act: elementwise(h, a.derivs)))
        else:
            fj = getattr(layer, "forward_jet", None)
            ops.append(Op(f"hidden{i}", lambda h, x, m=layer: m(h),
                          (lambda h, x, f=fj: f(h)) if callable(fj) else None))
            cuts.append((len(ops) - 1, None, f"hidden{i}"))
        if net.norms is not None:
            ops.append(Op(f"norm{i}", lambda h, x, n=net.norms[i]: layer_norm(h, n),
                          lambda h, x, n=net.norms[i]: layer_norm(h, n)))
            if cuts[-1][1] is None:  # a whole-layer cut sits after its normalisation
                cuts[-1] = (len(ops) - 1, None, cuts[-1][2])
    ops.append(_linear_op("head", net.head))
    cuts.append((len(ops) - 1, net.head.out_features, "head"))
    width = net.head.in_features
    cuts = [(p, w if w is not None else width, n) for p, w, n in cuts]
    if net.transform is not None:
        tf = net.transform

        def transform_jet(h, x):
            res = tf(TorchJet(x.comps, x.plan), TorchJet(h.comps, h.plan))
            return Jet(res.comps, res.plan)
        ops.append(Op("transform", lambda h, x: tf(x, h), transform_jet))
    chosen = [cuts[k] for k in _select("layer", layers, len(cuts))]
    return _assemble(ops, [c[0] for c in chosen], [c[1] for c in chosen], [c[2] for c in chosen])


__all__ = ["Chain", "Op", "Stage", "net_chain", "sequential_chain"]
