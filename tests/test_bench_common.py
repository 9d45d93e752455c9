"""The benchmarks' shared pieces: their timing discipline (engines interleaved, each in back-to-back
blocks whose first call, the one that pays for the previous engine's caches, is not timed; a fake
clock makes the costs exact, so nothing here depends on the machine's speed) and their options'
checks."""

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import _common  # noqa: E402


class FakeClock:
    def __init__(self):
        self.now, self.last, self.calls = 0.0, None, []

    def perf_counter(self) -> float:
        return self.now

    def step(self, name: str, cost: float, switch_cost: float):
        """A call costing ``cost`` seconds, plus ``switch_cost`` when another function ran last."""
        self.now += cost + (switch_cost if self.last not in (None, name) else 0.0)
        self.last = name
        self.calls.append(name)


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(_common, "time", c)
    return c


def _fns(clock, costs, switch_cost=1.0):
    return {k: (lambda k=k, v=v: clock.step(k, v, switch_cost)) for k, v in costs.items()}


def test_blocks_run_back_to_back_and_their_first_call_is_untimed(clock):
    ms = _common.interleaved_ms(_fns(clock, {"a": 0.002, "b": 0.010}), repeats=8, device=torch.device("cpu"),
                                warmup=1, block=2)
    # half the calls follow another function: timed, the 1 s switch cost would move the medians
    assert ms == pytest.approx({"a": 2.0, "b": 10.0})
    timed = clock.calls[2:]  # after one warm-up call each
    runs = [timed[i:i + 2] for i in range(0, len(timed), 2)]
    assert all(len(set(r)) == 1 for r in runs) and len(runs) == 2 * 8  # 8 timed calls = 8 blocks of 2


def test_block_of_one_times_every_call(clock):
    # with one function there is no switch, so every call is timed and costs its own time
    ms = _common.interleaved_ms(_fns(clock, {"a": 0.004}), repeats=5, device=torch.device("cpu"), warmup=0, block=1)
    assert ms == pytest.approx({"a": 4.0}) and clock.calls == ["a"] * 5


@pytest.mark.parametrize("script", ["derivatives", "vs_deepxde", "node", "layers", "claims"])
def test_every_benchmark_rejects_a_bad_count_in_one_line(script):
    bench = Path(__file__).resolve().parents[1] / "benchmarks" / f"{script}.py"
    flag = {"derivatives": "--repeats", "vs_deepxde": "--block", "node": "--steps", "layers": "--width",
            "claims": "--jobs"}[script]
    res = subprocess.run([sys.executable, str(bench), flag, "0"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].endswith(f"argument {flag}: '0' is not a positive integer")
    assert "Traceback" not in res.stderr


def test_count_types_accept_what_they_say_and_name_the_bad_value():
    assert _common.positive_int("3") == 3 and _common.count("0") == 0
    for fn, bad in ((_common.positive_int, "0"), (_common.positive_int, "-2"), (_common.count, "-1"),
                    (_common.count, "1.5"), (_common.positive_int, "many")):
        with pytest.raises(argparse.ArgumentTypeError, match=repr(bad)):
            fn(bad)


def test_an_output_file_is_checked_before_the_run_and_nothing_is_left_behind(tmp_path):
    fresh = tmp_path / "figures.json"
    assert _common.output_file(str(fresh)) == fresh and not fresh.exists()  # probed, then removed
    old = tmp_path / "old.json"
    old.write_text("{}")
    assert _common.output_file(str(old)) == old and old.read_text() == "{}"  # an existing file is untouched
    for bad, why in ((tmp_path / "no" / "f.json", "does not exist"), (tmp_path, "is a directory")):
        with pytest.raises(argparse.ArgumentTypeError, match=why):
            _common.output_file(str(bad))


def test_every_benchmark_takes_quick_and_json():
    """Each script in benchmarks/ offers --quick and --json: through _common.parser, or its own parser."""
    p = _common.parser("x")
    assert {"--quick", "--json"} <= {o for a in p._actions for o in a.option_strings}
    scripts = sorted(s for s in (Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py")
                     if not s.name.startswith("_"))
    assert len(scripts) >= 10
    for s in scripts:
        text = s.read_text()
        assert re.search(r"\bparser\(", text) or ('"--quick"' in text and '"--json"' in text), s.name
