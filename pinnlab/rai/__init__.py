"""Relaxed activation identity (RAI): per-point auxiliary states at a network's layers.

``RAI`` wraps a torch MLP; :mod:`.core` holds the state tables and the consistency loss, which
work on tensors and on jets (:mod:`pinnlab.jets`); :mod:`.chain` cuts a network at the wrapped
layers; :class:`RowAdam` updates only the rows a mini-batch read. See docs/rai.md.
"""

from .chain import Chain, net_chain, sequential_chain
from .core import (
                   FREE,
                   UPDATES,
                   AuxPass,
                   Schedule,
                   StateTables,
                   aux_forward,
                   mismatch,
                   state_memory,
                   sync_states,
                   trained_block,
)
from .optim import FlatRprop, RowAdam
from .wrap import RAI

__all__ = ["RAI", "FREE", "UPDATES", "AuxPass", "Chain", "FlatRprop", "RowAdam", "Schedule", "StateTables",
           "aux_forward", "mismatch",
           "net_chain", "sequential_chain", "state_memory", "sync_states", "trained_block"]
