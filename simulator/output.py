"""Writing a results folder, whole or not at all (SPEC §6 ``run --out DIR``).

Files are written into a hidden temporary folder beside the target, which replaces the target only when every file
is complete; an error or Ctrl-C leaves the previous folder (or nothing) in place, never half a result.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .results import Result

__all__ = ["atomic_dir", "atomic_file", "write_run", "to_json", "OutputError", "check_dir_target", "check_file_target"]

# A folder vpcsim wrote holds one of these; a results folder replaces such a folder (or an empty one), nothing else.
OUTPUT_MARKERS = ("summary.json", "comparison.json", "sweep.csv", "timeline.png")  # timeline.png: figures/


class OutputError(ValueError):
    """An output path that must not be replaced or cannot be written (one line, naming the path)."""


def _writable_parent(path: Path) -> None:
    """The nearest existing ancestor of ``path`` must be a folder we may write in (the rest is created)."""
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{path}: cannot write: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write: {parent} is not writable")


def check_dir_target(path: str | Path) -> None:
    """Refuse a results folder whose replacement would destroy what vpcsim did not write.

    The folder is written whole and then replaces ``path``: an existing file (a scenario given by mistake), a
    device, the current folder or a folder of other files would be lost. A new path, an empty folder, or a folder
    vpcsim wrote before (it holds summary.json, comparison.json or sweep.csv) is fine."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"{path}: exists and is not a folder; give a new folder for the results")
        if Path.cwd().resolve().is_relative_to(path.resolve()):
            raise OutputError(f"{path}: is the current folder (or holds it); give a new folder for the results")
        try:
            names = {p.name for p in path.iterdir()}
        except OSError as exc:
            raise OutputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if names and not names & set(OUTPUT_MARKERS):
            n = len(names)
            raise OutputError(f"{path}: is a folder vpcsim did not write ({n} entr{'ies' if n != 1 else 'y'}); "
                              f"it would be replaced whole, so give a new or empty folder")
    _writable_parent(path)


def check_file_target(path: str | Path) -> None:
    """Refuse an output file path that is a folder or not a regular file (a device, a pipe): the file is written
    beside it and then replaces it."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise OutputError(f"{path}: not a regular file (a device or a pipe); give a file name")
    _writable_parent(path)


def _plain(v: Any) -> Any:
    """Plain JSON data: numpy scalars as numbers, non-finite floats (a scaling rate that never reaches the peak
    gives ``inf``) as null — ``json.dumps`` would otherwise write ``Infinity``, which is not JSON."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, str | bytes):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def to_json(data: Any) -> str:
    """JSON text of a summary or any result dict (numpy scalars as numbers, infinities as null)."""
    return json.dumps(_plain(data), indent=2, allow_nan=False) + "\n"


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes ``target`` (replacing a folder vpcsim wrote, or an empty one:
    anything else raises :class:`OutputError` first), on failure it disappears."""
    target = Path(target)
    check_dir_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        # mkdtemp makes the folder private (0700); a results folder is as readable as any folder the user makes.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            old.rmdir()
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_file(target: str | Path, mode: str = "w") -> Iterator[Any]:
    """Open a temporary file beside ``target``; it replaces ``target`` (a regular file, or nothing: anything else
    raises :class:`OutputError` first) only when closed without error."""
    target = Path(target)
    check_file_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def write_run(result: Result, out_dir: str | Path) -> Path:
    """Write ``summary.json``, ``timeseries.csv``, ``scenario.yaml`` (the resolved scenario, which reproduces the
    run), ``latency.csv`` (the latency histograms), ``invocations.csv`` when recorded, ``figures/*.png`` and the
    self-contained ``report.html``."""
    from .errors import ArgumentError
    from .report import write_report_files

    if not isinstance(result, Result):
        raise ArgumentError(f"write_run(): result must be a Result (from simulator.simulate), got "
                            f"{type(result).__name__}")

    with atomic_dir(out_dir) as tmp:
        (tmp / "summary.json").write_text(to_json(result.summary), encoding="utf-8")
        result.timeseries.to_csv(tmp / "timeseries.csv", index=False, float_format="%.6g")
        resolved = result.scenario.with_changes({"seed": result.summary["seed"]})
        (tmp / "scenario.yaml").write_text(resolved.to_yaml(), encoding="utf-8")
        if result.invocations is not None:
            result.invocations.to_csv(tmp / "invocations.csv", index=False, float_format="%.9g")
        if result.latency_distribution is not None:
            result.latency_distribution.to_csv(tmp / "latency.csv", index=False, float_format="%.9g")
        # Inside the temporary folder: a failure while drawing leaves no half-written results folder.
        write_report_files(result, tmp, resolved.to_yaml())
    return Path(out_dir)
