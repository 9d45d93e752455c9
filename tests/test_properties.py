"""Property tests: random valid input never crashes; random invalid input gets the documented error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pinnlab as pl
from pinnlab.cli import _numbers, _pairs
from pinnlab.config import MAX_THREADS
from pinnlab.layers import check_options, layer_kind

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@FAST
@given(st.dictionaries(names, st.one_of(finite, st.integers(-10**6, 10**6)), max_size=5))
def test_set_values_that_are_numbers_parse_to_those_numbers(d):
    items = tuple(f"{k}={v!r}" for k, v in d.items())
    assert _numbers(items, "--set") == {k: float(v) for k, v in d.items()}


@FAST
@given(st.text(max_size=60))
def test_any_set_text_parses_or_gives_config_error(text):
    try:
        out = _numbers((text,), "--set")
    except pl.ConfigError as e:
        assert "\n" not in str(e)
    else:
        (value,) = out.values()
        assert isinstance(value, float)


def test_a_set_key_with_a_newline_gives_a_one_line_error():
    with pytest.raises(pl.ConfigError) as e:  # found by the property above: "0\n0=" split the message
        _numbers(("0\n0=",), "--set")
    assert "\n" not in str(e.value) and "'0\\n0'" in str(e.value)


@FAST
@given(names, st.sampled_from(["__import__('os').system('echo hacked')", "open('/etc/passwd').read()",
                               "[1, 2]", "{'a': 1}", "'text'", "True", "None", "(" * 300 + ")" * 300]))
def test_set_never_evaluates_code_and_rejects_non_numbers(key, raw):
    with pytest.raises(pl.ConfigError, match=key):
        _numbers((f"{key}={raw}",), "--set")
    assert key in _pairs((f"{key}={raw}",), "--layer-opt")  # parsed as a literal or kept as text, never run


@FAST
@given(st.floats(min_value=1e-3, max_value=100.0), st.sampled_from(["sine", "yat"]))
def test_positive_layer_options_build_finite_layers(value, kind):
    key = {"sine": "omega0", "yat": "eps"}[kind]
    opts = check_options(layer_kind(kind), {key: str(value)})
    net = pl.Net(2, 1, width=4, depth=2, layer=kind, **opts)
    out = net(torch.rand(5, 2) * 2 - 1)
    assert out.shape == (5, 1) and torch.isfinite(out).all()


@FAST
@given(st.one_of(st.floats(max_value=0.0), st.just(float("nan")), st.text(max_size=6).filter(
    lambda s: _not_number(s))), st.sampled_from(["sine", "yat"]))
def test_bad_layer_options_give_one_line_config_errors(value, kind):
    key = {"sine": "omega0", "yat": "eps"}[kind]
    with pytest.raises(pl.ConfigError) as info:
        pl.Net(2, 1, width=4, depth=2, layer=kind, **check_options(layer_kind(kind), {key: value}))
    assert "\n" not in str(info.value)


def _not_number(s: str) -> bool:
    try:
        return not math.isfinite(float(s)) or float(s) <= 0
    except ValueError:
        return True


@FAST
@given(st.lists(st.tuples(finite, st.floats(min_value=1e-3, max_value=1e3)), min_size=1, max_size=3),
       st.integers(1, 50), st.sampled_from(["sobol", "lhs", "uniform"]), st.integers(0, 2**31))
def test_boxes_sample_inside_themselves(ranges, n, sampler, seed):
    ranges = [(lo, lo + w) for lo, w in ranges if abs(lo) < 1e6]
    if not ranges:
        return
    box = pl.Box(**{f"c{i}": r for i, r in enumerate(ranges)})
    pts = box.sample(n, sampler, np.random.default_rng(seed))
    assert pts.shape == (n, len(ranges))
    assert (pts >= box.lo - 1e-9).all() and (pts <= box.hi + 1e-9).all()


@FAST
@given(finite, st.one_of(st.floats(max_value=0.0, allow_nan=False), st.just(float("nan"))))
def test_empty_or_nan_boxes_are_problem_errors(lo, width):
    with pytest.raises(pl.ProblemError):
        pl.Box(x=(lo, lo + width))


@FAST
@given(st.dictionaries(names, st.one_of(finite, st.text(max_size=3), st.booleans(), st.none()), max_size=4))
def test_problem_parameters_must_be_numbers(params):
    bad = any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in params.values())
    make = lambda: pl.Problem(name="p", domain=pl.Box(t=(0.0, 1.0)), fields=("u",), params=params,
                              residual=lambda f, p: f.u.t, exact=lambda t: t)
    if bad:
        with pytest.raises(pl.ProblemError):
            make()
    else:
        assert make().params == params


# -- KEY=VALUE lists, solve options, conditions and evaluation grids ---------------------------------

@FAST
@given(st.lists(st.tuples(names, st.one_of(finite, st.integers(-99, 99), names)), max_size=6))
def test_key_value_lists_parse_or_refuse_repeated_keys(pairs):
    items = tuple(f"{k}={v}" for k, v in pairs)
    keys = [k for k, _ in pairs]
    if len(set(keys)) < len(keys):
        with pytest.raises(pl.ConfigError, match="twice"):
            _pairs(items, "--layer-opt")
    else:
        assert list(_pairs(items, "--layer-opt")) == keys


@FAST
@given(names, st.sampled_from(["inf", "-inf", "nan", "1e400", "-1e999", str(10**400), "float('inf')"]))
def test_non_finite_numbers_are_refused(key, raw):
    with pytest.raises(pl.ConfigError, match=key):
        _numbers((f"{key}={raw}",), "--set")


SIZES = ("width", "depth", "points", "boundary_points", "threads", "eval_every", "checkpoint_every")


@FAST
@given(st.sampled_from(SIZES), st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.booleans(),
                                         st.text(max_size=3)))
def test_solve_config_sizes_are_positive_integers_or_a_config_error(name, value):
    cfg = pl.SolveConfig(**{name: value})
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= (
            MAX_THREADS if name == "threads" else math.inf):
        assert cfg.validate() is cfg
    else:
        with pytest.raises(pl.ConfigError, match=name.replace("_", "-")):
            cfg.validate()


def _tiny_problem(**kw) -> pl.Problem:
    base = dict(name="p", domain=pl.Box(x=(-1.0, 1.0), t=(0.0, 1.0)), fields=("u", "v"),
                residual=lambda f, p: [f.u.t - f.u.xx, f.v.t - f.v.xx], exact=lambda x, t: (x * t, x + t))
    return pl.Problem(**{**base, **kw})


@FAST
@given(st.sampled_from(["u", "v", "w", "x", "t"]), st.sampled_from(["x", "t", "y"]),
       st.sampled_from(["dirichlet", "neumann", "initial", "rate"]), finite)
def test_conditions_on_known_fields_and_coordinates_build_others_are_problem_errors(field, coord, kind, value):
    make = {"dirichlet": lambda: pl.Dirichlet(on=coord, **{field: value}),
            "neumann": lambda: pl.Neumann(on=coord, **{field: value}),
            "initial": lambda: pl.Initial(**{field: value}),
            "rate": lambda: pl.InitialRate(**{field: value})}[kind]
    on = coord if kind in ("dirichlet", "neumann") else "t"
    if field in ("u", "v") and on in ("x", "t"):
        problem = _tiny_problem(conditions=[make()])
        assert set(problem.requests) == {"residual", "cond0"}
    else:
        with pytest.raises(pl.ProblemError):
            _tiny_problem(conditions=[make()])


@FAST
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(-0.5, 1.5), finite), min_size=1, max_size=8))
def test_point_data_inside_the_domain_builds_outside_is_a_problem_error(rows):
    pts = np.array([[x, t] for x, t, _ in rows])
    data = pl.PointData(pts, u=np.array([v for _, _, v in rows]))
    # the box admits points within 1e-9 of its range beyond its faces (rounding on the boundary)
    inside = ((np.abs(pts[:, 0]) <= 1 + 2e-9) & (pts[:, 1] >= -1e-9) & (pts[:, 1] <= 1 + 1e-9)).all()
    if inside:
        assert _tiny_problem(conditions=[data]).conditions[0] is data
    else:
        with pytest.raises(pl.ProblemError, match="outside"):
            _tiny_problem(conditions=[data])


@FAST
@given(st.one_of(st.integers(-5, 40), st.dictionaries(st.sampled_from(["x", "t"]), st.integers(-2, 12))))
def test_evaluation_grids_of_two_or_more_points_per_coordinate(grid):
    sizes = grid if isinstance(grid, dict) else {"x": grid, "t": grid}
    if all(sizes.get(k, 0) >= 2 for k in ("x", "t")):
        ev = _tiny_problem(grid=grid).evaluation()
        assert ev.values.shape == (sizes["x"] * sizes["t"], 2) and np.isfinite(ev.values).all()
    else:
        with pytest.raises(pl.ProblemError, match="grid size"):
            _tiny_problem(grid=grid)
