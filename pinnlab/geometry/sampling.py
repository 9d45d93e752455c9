"""Seeded point samplers on the unit cube, and the helpers every geometry samples with."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import ProblemError, one_of

SAMPLERS = ("sobol", "lhs", "uniform")
TIME = "t"  # the coordinate that initial conditions refer to


def unit_sample(n: int, d: int, method: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` points in [0, 1]^d by a seeded sampler (Sobol is scrambled and need not be a power of 2)."""
    if method not in SAMPLERS:
        raise ProblemError(one_of("sampler", method, SAMPLERS))
    if n <= 0:
        return np.zeros((0, d))
    if method == "uniform":
        return rng.random((n, d))
    from scipy.stats import qmc  # imported on first use: scipy.stats adds seconds to every CLI start
    if method == "lhs":
        return qmc.LatinHypercube(d=d, rng=rng).random(n)
    m = math.ceil(math.log2(max(n, 2)))
    return qmc.Sobol(d=d, scramble=True, rng=rng).random_base2(m)[:n]


def allocate(n: int, weights: list[float]) -> list[int]:
    """Split ``n`` points between parts in proportion to ``weights`` (largest remainders), so every
    part has the same density of points."""
    w = np.asarray(weights, dtype=float)
    if n <= 0 or len(w) == 0:
        return [0] * len(w)
    share = n * w / w.sum()
    counts = np.floor(share).astype(int)
    for i in np.argsort(-(share - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def rejection(draw: Callable[[int], np.ndarray], keep: Callable[[np.ndarray], np.ndarray], n: int,
              rate: float, what: str) -> np.ndarray:
    """``n`` points of ``draw(m)`` that pass ``keep``, in the order drawn (a low-discrepancy draw stays one).

    ``rate`` is the expected fraction kept; a draw that keeps nothing ten times over is an error
    (an empty or vanishingly small region), not an endless loop.
    """
    out, have, misses = [], 0, 0
    while have < n:
        m = max(16, math.ceil(1.2 * (n - have) / max(rate, 1e-3)) + 8)
        pts = draw(m)
        kept = pts[keep(pts)]
        if len(kept) == 0:
            misses += 1
            if misses >= 10:
                raise ProblemError(f"{what}: no sampled point falls inside it (is it empty?)")
            continue
        out.append(kept)
        have += len(kept)
    return np.concatenate(out)[:n]
