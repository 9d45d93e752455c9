"""SOAP as the first stage (``--first-stage soap``): Adam run in the eigenbasis of Shampoo's
preconditioner (Vyas et al., "SOAP: improving and stabilizing Shampoo using Adam", ICLR 2025), which
Wang et al. ("Gradient alignment in physics-informed neural networks: a second-order optimization
perspective", 2025) found to help PINNs whose loss terms pull against each other.

pytorch-optimizer's ``SOAP`` does the work (the optional ``soap`` extra); its state (moments, the
Kronecker factors and their eigenbases) is an ordinary optimizer state dict, so checkpoints hold it and
a resumed run continues bit-identically.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError

FIRST_STAGES = ("adam", "soap")
# weight decay off (a PINN fits a residual, not data to regularise); β₂ and an eigenbasis refreshed every
# other step as Wang et al. (2025) run it on PINNs; biases and other 1-D parameters get plain Adam
SETTINGS = dict(betas=(0.99, 0.999), weight_decay=0.0, precondition_frequency=2, precondition_1d=False)
MISSING = ("first-stage 'soap' needs the pytorch_optimizer package, which is not installed "
           "(pip install 'pinnlab[soap]', or --first-stage adam)")


def check_first_stage(name: str) -> None:
    """One ConfigError when ``soap`` is asked for and its package is missing (before a run directory exists)."""
    if name == "soap":
        _soap_class()


def _soap_class() -> type[torch.optim.Optimizer]:
    try:
        from pytorch_optimizer import SOAP
    except ImportError:
        raise ConfigError(MISSING) from None
    return SOAP


def make_soap(params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """SOAP over ``params`` at rate ``lr`` (a float: the trainer sets a scheduled rate in place)."""
    return _soap_class()(params, lr=lr, **SETTINGS)
