"""Measurements for inverse problems: point data from a file, or sampled from a problem's own reference.

A file holds named columns: one per coordinate of the domain and one per measured field (.npz: one
1-D array per name; .csv: a header row of names, then numbers). Synthetic measurements are points
of the problem's evaluation set (its reference grid) drawn without replacement, with relative
Gaussian noise: each field's values plus ``noise`` times their root-mean-square times N(0, 1).
"""

from __future__ import annotations

import csv
import dataclasses
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .conditions import PointData
from .errors import ConfigError
from .problem import Problem


def read_columns(path: str | Path) -> dict[str, np.ndarray]:
    """The named columns of a .npz or .csv file, as float arrays of one length; ConfigError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"data file {str(path)!r} " + ("is a folder" if path.is_dir() else "does not exist"))
    if path.suffix not in (".npz", ".csv"):
        raise ConfigError(f"data file {str(path)!r}: unknown format {path.suffix or '(none)'!r} (allowed: .npz, .csv)")
    cols = _read_npz(path) if path.suffix == ".npz" else _read_csv(path)
    if not cols:
        raise ConfigError(f"data file {str(path)!r} has no columns")
    lengths = {k: len(v) for k, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise ConfigError(f"data file {str(path)!r}: columns differ in length ({lengths})")
    if not next(iter(lengths.values())):
        raise ConfigError(f"data file {str(path)!r} has no rows")
    for k, v in cols.items():
        bad = ~np.isfinite(v)
        if bad.any():
            raise ConfigError(f"data file {str(path)!r}: column {k!r} has {int(bad.sum())} non-finite value(s) "
                              f"(first at row {int(np.argmax(bad))})")
    return cols


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            raw = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ConfigError(f"data file {str(path)!r} does not parse as .npz ({type(e).__name__}: "
                          f"{' '.join(str(e).split())[:120]})") from None
    out = {}
    for k, v in raw.items():
        if v.ndim != 1 or v.dtype.kind not in "fiu":
            raise ConfigError(f"data file {str(path)!r}: array {k!r} must be a 1-D array of numbers, "
                              f"got shape {v.shape} of {v.dtype}")
        out[k] = v.astype(float)
    return out


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, newline="") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ConfigError(f"data file {str(path)!r} does not parse as .csv ({type(e).__name__}: {e})") from None
    if not rows:
        raise ConfigError(f"data file {str(path)!r} is empty (a header row of names is expected)")
    header = [c.strip() for c in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise ConfigError(f"data file {str(path)!r}: the header {header} must name each column once")
    values = np.empty((len(rows) - 1, len(header)))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ConfigError(f"data file {str(path)!r} line {i}: {len(row)} values for {len(header)} columns")
        try:
            values[i - 2] = [float(c) for c in row]
        except ValueError:
            raise ConfigError(f"data file {str(path)!r} line {i}: {row} are not all numbers") from None
    return {k: values[:, j] for j, k in enumerate(header)}


def point_data(columns: Mapping[str, np.ndarray], problem: Problem, what: str = "data") -> PointData:
    """PointData for ``problem`` from named columns: every coordinate, at least one field, nothing else,
    every point inside the domain."""
    coords, fields = problem.domain.names, problem.fields
    missing = [c for c in coords if c not in columns]
    if missing:
        raise ConfigError(f"{what}: no column for coordinate {missing[0]!r} (columns: {', '.join(columns)}; "
                          f"coordinates: {', '.join(coords)})")
    other = [k for k in columns if k not in coords and k not in fields]
    if other:
        raise ConfigError(f"{what}: column {other[0]!r} is neither a coordinate nor a field of problem "
                          f"{problem.name!r} (coordinates: {', '.join(coords)}; fields: {', '.join(fields)})")
    measured = [k for k in fields if k in columns]
    if not measured:
        raise ConfigError(f"{what}: no column for any field (fields: {', '.join(fields)})")
    points = np.stack([np.asarray(columns[c], dtype=float) for c in coords], axis=1)
    inside = problem.domain.contains(points)
    if not inside.all():
        i = int(np.argmin(inside))
        at = ", ".join(f"{c}={points[i, j]:g}" for j, c in enumerate(coords))
        raise ConfigError(f"{what}: point {i} ({at}) is outside the domain {problem.domain!r}")
    return PointData(points, **{k: np.asarray(columns[k], dtype=float) for k in measured})


def reference_data(problem: Problem, n: int, noise: float = 0.0, seed: int = 0,
                   fields: tuple[str, ...] | None = None) -> PointData:
    """``n`` points of the problem's evaluation set (its reference grid), drawn without replacement, and its
    reference values there with relative Gaussian ``noise`` (times each field's RMS), from ``seed``."""
    ev = problem.evaluation()
    if not 1 <= n <= len(ev.points):
        raise ConfigError(f"data-from-reference {n}: the reference of {problem.name!r} has {len(ev.points)} points; "
                          f"ask for 1 to {len(ev.points)}")
    rng = np.random.default_rng([seed, 7919])
    rows = np.sort(rng.choice(len(ev.points), size=n, replace=False))
    values = {}
    for j, k in enumerate(problem.fields):
        if fields is not None and k not in fields:
            continue
        v = ev.values[rows, j]
        rms = float(np.sqrt(np.mean(ev.values[:, j] ** 2)))
        values[k] = v + noise * rms * rng.standard_normal(n) if noise else v.copy()
    return PointData(ev.points[rows], **values)


def with_data(problem: Problem, data: PointData) -> Problem:
    """``problem`` with ``data`` as one more condition (a loss term ``point_data``)."""
    return dataclasses.replace(problem, conditions=(*problem.conditions, data))


def run_data(problem: Problem, config: Any) -> Problem:
    """``problem`` with the measurements a run's options ask for: ``--data FILE``, ``--data-from-reference N``
    (with ``--noise``, ``--data-seed``)."""
    if config.noise and not config.data_from_reference:
        raise ConfigError("--noise is the noise of --data-from-reference measurements; give --data-from-reference N")
    if config.data is not None:
        problem = with_data(problem, point_data(read_columns(config.data), problem, f"data file {config.data!r}"))
    if config.data_from_reference:
        problem = with_data(problem, reference_data(problem, config.data_from_reference, config.noise,
                                                    config.data_seed, problem.recipe.measured or None))
    return problem
