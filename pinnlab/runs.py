"""Run directories: atomic writes, checkpoints, history, reports, and loading them back.

Every file is written to a temporary name in the same folder and renamed into place, so a
crash at any moment leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .errors import RunError

CONFIG, REPORT, HISTORY, CHECKPOINT, PREDICTIONS = (
    "config.json", "report.json", "history.csv", "checkpoint.pt", "predictions.npz")
LOCK = ".lock"
STATUSES = ("completed", "interrupted", "diverged", "failed")  # what report.json's status can say
# what file systems take (ext4, APFS, NTFS: 255-byte names; Linux: 4096-byte paths); beyond it every call fails
NAME_MAX, PATH_MAX = 255, 4096


def check_path(path: str | Path, what: str) -> Path:
    """``path`` as a Path, or a one-line RunError naming ``what`` when no file system could hold it (a NUL
    byte, a name over 255 bytes, a path over 4096), instead of the OSError every later use of it would raise."""
    text = str(path)
    shown = repr(text if len(text) <= 80 else text[:60] + "..." + text[-12:])
    if "\0" in text:
        raise RunError(f"{what} {shown} contains a NUL character")
    for part in Path(text).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise RunError(f"{what} {shown}: a name in it is {len(os.fsencode(part))} bytes long; file systems "
                           f"take at most {NAME_MAX}")
    if len(os.fsencode(os.path.abspath(text))) >= PATH_MAX:
        raise RunError(f"{what} {shown}: the path is longer than file systems take ({PATH_MAX} bytes)")
    return Path(text)


def check_new_path(path: str | Path, what: str) -> Path:
    """:func:`check_path` for a folder pinnlab is to create, normalised ("r/../r2" is r2: making it makes no
    folder r); no control characters either (a newline in a folder name breaks every listing that shows it)."""
    path = check_path(path, what)
    if not str(path).isprintable():
        raise RunError(f"{what} {str(path)!r} has a control character; give a plain path")
    return Path(os.path.normpath(path))


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a run directory: its config.json and the lock file every run takes."""
    return (path / CONFIG).is_file() and (path / LOCK).exists()


def run_above(path: Path) -> Path | None:
    """The run directory ``path`` would lie inside, if any: a run's folder holds only its own files."""
    for parent in Path(os.path.abspath(path)).parents:
        if is_run_dir(parent):
            return parent
    return None


def atomic_write(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:  # a full disk, a read-only folder: the old file is intact, and this is one line
        raise RunError(f"{str(path)!r} cannot be written ({e.strerror or e}); the previous version, if any, "
                       f"is intact") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, default=jsonable) + "\n").encode())


def jsonable(o: Any) -> Any:
    """What ``json.dumps(default=...)`` writes for a value JSON has no type for: a tensor's or numpy
    scalar's number, a set's or tuple's list, else its ``str``."""
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except json.JSONDecodeError as e:
        raise RunError(f"{path} is not valid JSON ({e})") from None


def write_history(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in keys})
    atomic_write(path, buf.getvalue().encode())


def read_history(path: Path) -> list[dict[str, float | str]]:
    if not Path(path).exists():
        return []
    out = []
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        for values in reader:
            if not values:
                continue
            if len(values) != len(header):  # written atomically, so only a later edit makes this
                raise RunError(f"{path} line {reader.line_num} is damaged: {len(values)} fields where the header "
                               f"has {len(header)}")
            out.append({k: (csv_value(v) if k != "phase" else v) for k, v in zip(header, values)})
    return out


def csv_value(v: str) -> float | str | None:
    """A CSV cell as written by pinnlab: "" is None, a number a float, anything else the text."""
    if v == "":
        return None
    try:
        return float(v)
    except ValueError:
        return v


def save_checkpoint(path: Path, state: Mapping[str, Any]) -> None:
    """Write a checkpoint atomically; a RunError (the old checkpoint intact) when memory runs out."""
    try:
        buf = io.BytesIO()
        torch.save(dict(state), buf)
        data = buf.getvalue()
    except (MemoryError, RuntimeError) as e:
        # torch's zip writer turns a MemoryError into a RuntimeError on its way out: both are this
        if not isinstance(e, MemoryError) and not isinstance(e.__context__, MemoryError):
            raise
        raise RunError(f"not enough memory to write the checkpoint {str(path)!r}; the previous one, if any, "
                       f"is intact") from None
    atomic_write(path, data)


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise RunError(f"{path} is missing: the run has no checkpoint to resume from") from None
    except Exception as e:
        raise RunError(f"{path} cannot be read ({type(e).__name__}: {e})") from None


def make_dirs(path: Path, what: str) -> None:
    """``mkdir -p path``, with a one-line RunError naming ``what`` when the path cannot be a folder."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RunError(f"{what} {str(path)!r}: {'it is' if path.is_file() else 'a part of the path is'} a file, "
                       "not a folder") from None
    except OSError as e:
        raise RunError(f"{what} {str(path)!r} cannot be created ({e.strerror}); give a path in a writable "
                       "folder") from None


def new_run_dir(out: str | Path | None, name: str, root: str | Path = "runs") -> Path:
    """Create a fresh run directory; ``out`` must not exist. Safe against concurrent runs."""
    if out is not None:
        out = check_new_path(out, "--out")
        inside = run_above(out)
        if inside is not None:
            raise RunError(f"--out {str(out)!r} is inside the run {str(inside)!r}; a run's folder holds only its "
                           f"own files (choose a path outside it)")
        if out.exists():
            raise RunError(f"--out {str(out)!r} already exists; pinnlab never overwrites a run (choose a new path)")
        make_dirs(out.parent, "the folder of --out")
        try:
            out.mkdir()
        except FileExistsError:
            raise RunError(f"--out {str(out)!r} already exists; pinnlab never overwrites a run") from None
        except OSError as e:
            raise RunError(f"--out {str(out)!r} cannot be created ({e.strerror})") from None
        return out
    root = check_path(root, "the runs folder")
    if Path(name).name != name or name in (".", "..") or not name.isprintable() or len(name) > NAME_MAX - 30:
        raise RunError(f"run name {name!r} cannot be a folder name (letters, digits, '-', '_', '.'; at most "
                       f"{NAME_MAX - 30} characters)")  # the problem and layer names it is made of are checked
    make_dirs(root, "the runs folder")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    while True:  # mkdir is atomic: two processes never get the same folder
        d = root / f"{name}-{stamp}-{secrets.token_hex(3)}"
        try:
            d.mkdir()
            return d
        except FileExistsError:
            continue


@contextlib.contextmanager
def dir_lock(path: str | Path, what: str = "run") -> Iterator[None]:
    """Hold an exclusive lock on the directory ``path`` while the block runs; a second process
    asking for it gets a RunError at once instead of writing into the same files.

    An OS file lock (flock) on ``path/.lock``: the kernel drops it when the process ends, even
    on SIGKILL, so a killed run never leaves a stale lock behind.
    """
    try:
        import fcntl
    except ImportError:  # no flock on this platform: no protection, as before
        yield
        return
    fh = open(Path(path) / LOCK, "a")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"{str(path)!r} is in use by another pinnlab {what}; "
                           f"wait for it to end or use another directory") from None
        yield  # nothing is written to the lock file: taking the lock changes no file in the folder
    finally:
        fh.close()

@dataclass
class Run:
    """A run directory read back: config, report (if any), history."""

    path: Path
    config: dict[str, Any]
    report: dict[str, Any] | None
    history: list[dict[str, Any]]

    @property
    def status(self) -> str:
        """report.json's status; without one, ``running`` while a process holds the run's lock, else
        ``stopped`` (killed before its first report: ``--resume`` it if it has a checkpoint)."""
        if self.report is not None and "status" in self.report:
            return self.report["status"]
        return "running" if in_use(self.path) else "stopped"


def in_use(path: Path) -> bool:
    """Whether a process holds ``path``'s lock (see :func:`dir_lock`); False where flock is missing."""
    try:
        import fcntl
    except ImportError:
        return False
    if not (Path(path) / LOCK).exists():
        return False
    with open(Path(path) / LOCK, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def not_a_folder(path: Path, what: str) -> str:
    """Why ``path`` cannot be the ``what`` folder asked for: it is missing, or it is a file."""
    return f"{what} {str(path)!r} " + ("is a file, not a folder" if path.exists() else "does not exist")


def load_run(path: str | Path) -> Run:
    """Read a run directory (config.json, report.json, history.csv)."""
    path = check_path(path, "run directory")
    if not path.is_dir():
        raise RunError(not_a_folder(path, "run directory"))
    if not (path / CONFIG).exists():
        raise RunError(f"{str(path)!r} is not a pinnlab run (no {CONFIG})")
    config = read_json(path / CONFIG)
    report = read_json(path / REPORT) if (path / REPORT).exists() else None
    _check_shape(path, config, report)
    return Run(path, config, report, read_history(path / HISTORY))


def _check_shape(path: Path, config: Any, report: Any) -> None:
    """config.json and report.json hold what a run writes (a hand edit may leave valid JSON of another shape)."""
    def bad(name: str, why: str) -> RunError:
        return RunError(f"{str(path / name)!r} is not a pinnlab run's: {why}")

    if not isinstance(config, dict):
        raise bad(CONFIG, f"it holds a JSON {type(config).__name__}, not an object")
    if not isinstance(config.get("problem"), str) or not isinstance(config.get("config"), dict):
        raise bad(CONFIG, "it needs 'problem' (a name) and 'config' (an object of options)")
    _check_types(config, CONFIG_TYPES, lambda why: bad(CONFIG, why))
    _check_types(config["config"], RUN_KEY_TYPES, lambda why: bad(CONFIG, f"its config's {why}"))
    if report is None:
        return
    if not isinstance(report, dict):
        raise bad(REPORT, f"it holds a JSON {type(report).__name__}, not an object")
    if "status" in report and report["status"] not in STATUSES:
        raise bad(REPORT, f"its status {report['status']!r} is none of {', '.join(STATUSES)}")
    _check_types(report, REPORT_TYPES, lambda why: bad(REPORT, why))


# the keys that report, plot and compare read from a run's files, and what each must be (or null)
_NUMBER = (int, float)
CONFIG_TYPES = {"problem_params": dict, "problem_source": str, "problem_sha256": str, "data_sha256": str}
RUN_KEY_TYPES = {"layer": str, "solver": str, "seed": int}
REPORT_TYPES = {**RUN_KEY_TYPES, "problem": str, "message": str, "reference": str, "figure_kind": str, "measure": str,
                "per_field": dict, "params": dict, "final_loss_terms": dict,
                **dict.fromkeys(("rel_l2", "max_abs_error", "heldout_residual", "final_loss", "steps", "wall_s",
                                 "ms_per_step", "adam_steps", "lbfgs_iterations", "compile_s", "best_loss"), _NUMBER)}


def _check_types(d: dict, types: Mapping[str, type | tuple[type, ...]], bad) -> None:
    for key, kind in types.items():
        v = d.get(key)
        if v is not None and (not isinstance(v, kind) or (kind is not str and isinstance(v, bool))):
            raise bad(f"{key!r} is {v!r}")
