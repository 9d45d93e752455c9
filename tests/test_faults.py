"""Fault injection: a problem whose residual raises, or is NaN, at one chosen call of every phase.

The promise (docs/safety.md, "When a run goes wrong"): once training has started, any failure is
exit 1 with report.json status ``failed`` (the problem raised) or ``diverged`` (a non-finite loss),
the last good state kept as a loadable, finite checkpoint, and the run directory never deleted.

The phase of a residual call is told by what it is called on: Adam trains in float32 on the 16
collocation points, L-BFGS in float64; evaluations use the 24 held-out points; the report measures
the trained network last of all. Each case fails at the k-th call of one such kind.
"""

from __future__ import annotations

import json
import math

import pytest
from conftest import PROBLEM_HEADER

from pinnlab import runs

POINTS, HELDOUT = 16, 24
ARGS = ["--compile", "off", "--checkpoint-every", "10", "--eval-every", "5", "--no-plot", "--quiet"]

FAULTY = PROBLEM_HEADER + """
CALLS = {{}}


def residual(f, p):
    key = (str(f.u.value.dtype).removeprefix("torch."), int(f.points.shape[0]))
    CALLS[key] = CALLS.get(key, 0) + 1
    if key == {key!r} and CALLS[key] == {k}:
        if {mode!r} == "raise":
            raise ValueError("injected fault")
        return (f.u.t + p.k * f.u) * float("nan")
    return f.u.t + p.k * f.u


problem = Problem(
    name="faulty", domain=Box(t=(0.0, 1.0)), fields=("u",), params={{"k": 1.0}}, residual=residual,
    conditions=[Initial(u=1.0)], exact=lambda t, p: torch.exp(-p.k * t), grid=17, heldout_points={heldout},
    recipe=Recipe(width=4, depth=1, steps=20, lbfgs_steps=5, lr=1e-2, points={points}, boundary_points=1),
)
"""

# phase -> (kind of call, which one of that kind); "last" is the last call of its kind in a clean run
PHASES = {
    "adam before the first checkpoint": (("float32", POINTS), 3),     # step 3; the checkpoint is at step 10
    "adam after the first checkpoint": (("float32", POINTS), 15),
    "evaluation": (("float32", HELDOUT), 1),                          # the held-out residual at step 5
    "L-BFGS": (("float64", POINTS), 3),
    "the report": (("float64", POINTS), "last"),                      # the report's final loss
}
EXPECTED = {"raise": "failed", "nan": "diverged"}
def _write(tmp_path, key, k, mode, name="faulty.py"):
    path = tmp_path / name
    path.write_text(FAULTY.format(key=key, k=k, mode=mode, heldout=HELDOUT, points=POINTS))
    return path


@pytest.fixture(scope="module")
def clean_counts(tmp_path_factory) -> dict[tuple[str, int], int]:
    """How many residual calls of each kind a run without a fault makes (to find the report's last one)."""
    import sys

    from conftest import run_cli_inprocess
    tmp = tmp_path_factory.mktemp("clean")
    path = _write(tmp, ("none", 0), 0, "raise")
    before = set(sys.modules)
    rc, _, err = run_cli_inprocess(["solve", str(path), *ARGS, "--out", str(tmp / "run")])
    assert rc == 0, err
    (module,) = [sys.modules[m] for m in set(sys.modules) - before if m.startswith("pinnlab_user_problem")]
    return dict(module.CALLS)


CASES = [pytest.param(phase, mode, id=f"{mode} in {phase}") for phase in PHASES for mode in EXPECTED]


@pytest.mark.parametrize("phase, mode", CASES)
def test_a_fault_in_any_phase_keeps_the_run(phase, mode, tmp_path, run_cli, clean_counts):
    key, k = PHASES[phase]
    k = clean_counts[key] if k == "last" else k
    assert clean_counts.get(key, 0) >= k, f"a clean run makes only {clean_counts.get(key, 0)} calls of {key}"
    run = tmp_path / "run"
    rc, _, err = run_cli(["solve", str(_write(tmp_path, key, k, mode)), *ARGS, "--out", str(run)])
    assert "Traceback" not in err, err
    assert rc == 1, f"exit {rc}: {err}"
    assert (run / runs.CONFIG).exists() and (run / runs.HISTORY).exists(), "the run directory must be kept"
    report = json.loads((run / runs.REPORT).read_text())
    assert report["status"] == EXPECTED[mode], report
    ckpt = runs.load_checkpoint(run / runs.CHECKPOINT)  # the last good state: it loads and is finite
    tensors = [t for t in ckpt["task"]["model" if "model" in ckpt["task"] else "net"].values()
               if t.is_floating_point()]
    assert tensors and all(math.isfinite(float(t.abs().sum())) for t in tensors)
    if report["status"] == "failed":  # a fixed problem file resumes from that state
        assert runs.load_run(run).status == "failed"
