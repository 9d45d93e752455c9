"""The Burgers reference (Cole–Hopf by Gauss–Hermite quadrature) against DeepXDE's published data.

The data file lives outside the package (``../shared/data`` from the repository root); the
test skips when it is absent, and nothing in pinnlab reads it.
"""

from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp

from pinnlab.references import cole_hopf_burgers
from pinnlab.registry import get_problem

DATA = Path(__file__).parents[2] / "shared/data/burgers_deepxde.npz"


@pytest.fixture(scope="module")
def deepxde():
    if not DATA.is_file():
        pytest.skip(f"{DATA} not present")
    d = np.load(DATA)
    return d["x"][:, 0], d["t"][:, 0], d["usol"]


def test_reference_grid_is_deepxde_grid(deepxde):
    x, t, usol = deepxde
    ev = get_problem("burgers").evaluation()
    assert np.allclose(ev.axes["x"], x, atol=1e-12) and np.allclose(ev.axes["t"], t, atol=1e-12)
    assert ev.shape == usol.shape


def test_reference_matches_deepxde_data(deepxde):
    _, _, usol = deepxde
    ev = get_problem("burgers").evaluation()
    u = ev.values[:, 0].reshape(ev.shape)  # [ix, it], as usol
    rel = np.linalg.norm(u - usol) / np.linalg.norm(usol)
    assert rel < 1e-4, f"relative L2 {rel:.2e}"  # measured 2.9e-12


def test_enough_quadrature_nodes():
    """Halving the Gauss–Hermite nodes barely moves the answer, even across the front."""
    nu = 0.01 / np.pi
    x, t = np.linspace(-1, 1, 129), np.array([0.25, 0.5, 0.99])
    assert np.abs(cole_hopf_burgers(x, t, nu, nodes=100) - cole_hopf_burgers(x, t, nu)).max() < 1e-10


def test_quadrature_matches_trapezoid_rule():
    """An independent quadrature (trapezoid on a fine z grid) gives the same values at the front."""
    nu, t = 0.01 / np.pi, 0.8
    x = np.array([-0.5, -0.02, -0.004, 0.0, 0.004, 0.02, 0.5])
    z = np.linspace(-40, 40, 80001)
    y = x[:, None] - np.sqrt(4 * nu * t) * z[None, :]
    logs = -z**2 - np.cos(np.pi * y) / (2 * np.pi * nu)
    num, sign = logsumexp(logs, axis=1, b=np.sin(np.pi * y), return_sign=True)
    trap = -sign * np.exp(num - logsumexp(logs, axis=1))
    assert np.abs(cole_hopf_burgers(x, np.array([t]), nu)[:, 0] - trap).max() < 1e-9
