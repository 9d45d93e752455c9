"""The network options of a PINN run (--periodic, --fourier-features, --arch, --rwf) as ``Net`` arguments.

A problem knows nothing of networks: here its domain and its periodic conditions become the numbers an
embedding needs (which input is periodic, with what period in the network's scaled units).
"""

from __future__ import annotations

from typing import Any

from ..config import SolveConfig
from ..errors import ConfigError
from ..layers.embeddings import Chain, FourierFeatures, PeriodicEmbedding, parse_fourier
from ..layers.rwf import parse_rwf
from ..problem import Problem

PIRATE_SIGMA = 1.0  # --arch pirate's Fourier scale when --fourier-features is not given (jaxpi's Burgers config)
FOURIER_SEED = 7919  # B's stream, apart from the run's (the same network init and points with or without it)
RWF_SEED = 7927


def periodic_coordinates(problem: Problem, text: str) -> list[str]:
    """The coordinates ``--periodic`` names: ``auto`` gives those of the problem's periodic conditions."""
    if not text:
        return []
    dom = problem.domain
    if text == "auto":
        names = sorted({c.on for c in problem.conditions if c.kind == "periodic"}, key=dom.names.index)
        if not names:
            raise ConfigError(f"periodic 'auto': problem {problem.name!r} has no periodic condition (name the "
                              f"coordinates, e.g. --periodic x, or leave --periodic out)")
        return names
    names = [n.strip() for n in text.split(",")]
    for n in names:
        if n not in dom.names or n not in dom.ranges or not dom.has_faces(n):
            allowed = [c for c in dom.names if dom.has_faces(c)]
            raise ConfigError(f"periodic coordinate {n!r}: problem {problem.name!r} has no box coordinate of that "
                              f"name (allowed: {', '.join(allowed) or 'none'}, or auto)")
    if len(set(names)) != len(names):
        raise ConfigError(f"periodic {text!r} names a coordinate twice")
    return names


def net_arguments(problem: Problem, config: SolveConfig) -> dict[str, Any]:
    """``Net(...)`` keyword arguments for the embedding, architecture and factorisation options."""
    dim, parts = problem.domain.dim, []
    names = periodic_coordinates(problem, config.periodic)
    if names:
        # the period is the coordinate's extent, which the network's input scaling maps to 2
        parts.append(PeriodicEmbedding(dim, {problem.domain.names.index(n): 2.0 for n in names}, config.periodic_modes))
    fourier = parse_fourier(config.fourier_features)
    if fourier is None and config.arch == "pirate":
        # PirateNet starts as a linear read-out of its embedding: without one, of the raw coordinates
        fourier = (max(1, config.width // 2), PIRATE_SIGMA)
    if fourier is not None:
        m, sigma = fourier
        parts.append(FourierFeatures(parts[-1].out_dim if parts else dim, m, sigma, seed=config.seed + FOURIER_SEED))
    rwf = parse_rwf(config.rwf)
    return {"embedding": Chain(parts) if parts else None, "arch": config.arch,
            "rwf": None if rwf is None else (*rwf, config.seed + RWF_SEED)}


def check_net_options(problem: Problem, config: SolveConfig) -> None:
    """Fail in one line, before a run directory exists, on options this problem cannot take."""
    periodic_coordinates(problem, config.periodic)
    if config.solver == "rai":  # measured: modified ran on a chain without its encoders, fourier-features raised
        used = [what for what, on in ((f"arch {config.arch!r}", config.arch != "mlp"),
                                      (f"periodic {config.periodic!r}", bool(config.periodic)),
                                      (f"fourier-features {config.fourier_features!r}", bool(config.fourier_features)))
                if on]
        if used:
            raise ConfigError(f"{used[0]} is not available with solver 'rai' (its layer chain cuts plain hidden layers: "
                              f"no input embedding, encoders or residual blocks; allowed there: --arch mlp, --rwf)")
