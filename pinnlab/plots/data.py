"""Reading a run's saved predictions (predictions.npz, kind "grid" or "points") into arrays shaped for plotting."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RunError
from ..runs import PREDICTIONS


@dataclass
class GridPrediction:
    """Prediction and reference on the evaluation grid; ``pred``/``ref`` are (N, n_fields), ij order."""

    coords: list[str]
    fields: list[str]
    pred: np.ndarray
    ref: np.ndarray
    shape: tuple[int, ...]
    axes: dict[str, np.ndarray]

    @property
    def dim(self) -> int:
        return len(self.coords)

    def grid(self, values: np.ndarray) -> np.ndarray:
        """(N,) values on the grid as an array indexed [coord0, coord1, ...]."""
        return np.asarray(values).reshape(self.shape)

    def error(self, j: int) -> np.ndarray:
        return np.abs(self.pred[:, j] - self.ref[:, j])

    def error_norm(self) -> np.ndarray:
        """Pointwise error over all fields together: sqrt(sum_f (pred_f - ref_f)^2)."""
        return np.sqrt(((self.pred - self.ref) ** 2).sum(axis=1))


@dataclass
class PointPrediction:
    """Prediction and reference at scattered points of a non-box domain; ``pred``/``ref`` are (N, n_fields).

    In 2-D ``triangles`` (T, 3) index the spatial points and ``outline`` holds the boundary's rings
    (NaN rows between them); in space × time ``times`` are the time levels and the points are the same
    ``n_space`` spatial points at each time in turn.
    """

    coords: list[str]
    fields: list[str]
    pred: np.ndarray
    ref: np.ndarray
    points: np.ndarray
    triangles: np.ndarray | None = None
    outline: np.ndarray | None = None
    times: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return len(self.coords)

    @property
    def n_space(self) -> int:
        return len(self.points) // (len(self.times) if self.times is not None else 1)

    def error(self, j: int) -> np.ndarray:
        return np.abs(self.pred[:, j] - self.ref[:, j])

    def error_norm(self) -> np.ndarray:
        """Pointwise error over all fields together: sqrt(sum_f (pred_f - ref_f)^2)."""
        return np.sqrt(((self.pred - self.ref) ** 2).sum(axis=1))

    def at_time(self, values: np.ndarray, k: int) -> np.ndarray:
        """The spatial slice of ``values`` (N,) at time level ``k``."""
        n = self.n_space
        return np.asarray(values)[k * n:(k + 1) * n]


def load_predictions(run_dir: Path, kind: str) -> dict[str, np.ndarray] | None:
    """The arrays of a run's predictions.npz if it holds predictions of ``kind`` ("grid", "node"), else None
    (an unfinished run has none)."""
    path = Path(run_dir) / PREDICTIONS
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as d:
            if "kind" not in d or str(d["kind"]) != kind:
                return None
            return {k: np.asarray(d[k]) for k in d.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise RunError(f"{path} cannot be read ({type(e).__name__}: {e})") from None


def load_points(run_dir: Path) -> PointPrediction | None:
    """The run's scattered-point predictions, or None when it saved none or another kind."""
    d = load_predictions(run_dir, "points")
    if d is None:
        return None
    try:
        return PointPrediction(coords=[str(c) for c in d["coords"]], fields=[str(f) for f in d["fields"]],
                               pred=d["pred"], ref=d["ref"], points=d["points"], triangles=d.get("triangles"),
                               outline=d.get("outline"), times=d.get("times"))
    except KeyError as e:
        raise RunError(f"{Path(run_dir) / PREDICTIONS} lacks the array {e.args[0]!r}") from None


def load_grid(run_dir: Path) -> GridPrediction | PointPrediction | None:
    """The run's predictions on its evaluation grid, or at its scattered points (a non-box domain);
    None when the run saved none (unfinished) or another kind."""
    d = load_predictions(run_dir, "grid")
    if d is None:
        return load_points(run_dir)
    try:
        coords = [str(c) for c in d["coords"]]
        return GridPrediction(coords=coords, fields=[str(f) for f in d["fields"]], pred=d["pred"], ref=d["ref"],
                              shape=tuple(int(s) for s in d["shape"]), axes={c: d[f"axis_{c}"] for c in coords})
    except KeyError as e:
        raise RunError(f"{Path(run_dir) / PREDICTIONS} lacks the array {e.args[0]!r}") from None
