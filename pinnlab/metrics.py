"""Errors against exact or reference solutions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def field_errors(pred: np.ndarray, ref: np.ndarray, fields: Sequence[str]) -> dict:
    """Relative L2 and max-abs errors, over all fields together and per field.

    ``pred`` and ``ref`` are (N, n_fields). The overall relative L2 is
    ‖pred − ref‖ / ‖ref‖ over every entry.
    """
    pred, ref = np.asarray(pred, dtype=float), np.asarray(ref, dtype=float)
    if pred.shape != ref.shape or ref.shape[1:] != (len(fields),):  # broadcasting would give a wrong error
        raise ValueError(f"predictions {pred.shape} and reference {ref.shape} differ in shape ({len(fields)} fields)")
    diff = pred - ref
    per_field = {
        f: {"rel_l2": rel_l2(pred[:, j], ref[:, j]), "max_abs_error": float(np.max(np.abs(diff[:, j])))}
        for j, f in enumerate(fields)
    }
    return {"rel_l2": rel_l2(pred, ref), "max_abs_error": float(np.max(np.abs(diff))), "per_field": per_field}


def rel_l2(pred: np.ndarray, ref: np.ndarray) -> float:
    if not np.all(np.isfinite(pred)):
        return float("nan")
    den = np.linalg.norm(ref)
    num = np.linalg.norm(pred - ref)
    return float(num / den) if den > 0 else float(num)
