"""Writing outputs whole or not at all, and never over what vpcsim did not write (SPEC §6 ``--out``).

Every output is written into a hidden temporary folder beside its target (``.NAME.vpcsim-XXXXXXXX.tmp``) and moved
into place only when complete. A results folder (``run``, ``compare``, ``sweep --out DIR``) replaces an existing
folder only when every entry of it is one vpcsim wrote: each results folder holds a manifest
(``vpcsim-manifest.json``: every file with its size and SHA-256, every subfolder), and the folder is checked against
it entry by entry. A file (an HTML report, JUnit XML, an imported scenario) replaces only a file that carries the mark
its writer puts near its start (:class:`FileKind`), unless forced. A temporary folder names the process that made it,
so the next write into the same folder removes those of killed processes and never one of a live process. An
interrupt arriving while an output is moved into place waits until it is there, so the target is always the old
output or the new one, and :func:`written_outputs` says which outputs this process completed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import signal
import socket
import stat
import tempfile
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import VpcsimError
from ..version import __version__

__all__ = [
    "atomic_dir", "atomic_file", "to_json", "OutputError", "check_dir_target", "check_file_target",
    "FileKind", "HTML_REPORT", "JUNIT_REPORT", "IMPORTED_SCENARIO", "IMPORTED_TRACE", "is_vpcsim_file", "MANIFEST",
    "clean_stale_temporaries", "copy_entries", "written_outputs",
]

MANIFEST = "vpcsim-manifest.json"
TEMP_OWNER = "owner.json"  # inside a temporary folder, beside the output being written (``new``)
_TEMP_NAME = re.compile(r"\..+\.vpcsim-[a-z0-9_]{8}\.tmp")  # tempfile's random part: 8 of [a-z0-9_]
_HEAD_BYTES = 4096
_FOLDER_ADVICE = "it would be replaced whole, so give a new or empty folder"


class OutputError(VpcsimError, ValueError):
    """An output path that must not be replaced or cannot be written (one line, naming the path)."""


# --------------------------------------------------------------------------------------------------- files vpcsim wrote


@dataclass(frozen=True)
class FileKind:
    """A kind of file vpcsim writes, and the mark its writer puts in the first 4 KiB: an existing file is replaced
    only by a writer of the same kind (an imported scenario is vpcsim's, yet must not become an HTML report)."""

    what: str  # for messages: "an HTML report"
    marker: bytes


# The one place that knows how each writer marks its output (atomic_file checks every file it writes for its mark).
HTML_REPORT = FileKind("an HTML report", b'<meta name="generator" content="vpcsim ')  # templates/_base.html
JUNIT_REPORT = FileKind("a JUnit report", b'<testsuites name="vpcsim check"')  # cli_check.junit_xml's root
# The header of every YAML file `vpcsim import` writes: a scenario, a --load file, a --subnets file.
IMPORTED_SCENARIO = FileKind("an imported scenario (or --load/--subnets file)", b"# Imported by `vpcsim import ")
# The per-minute trace `vpcsim import aws --since` writes beside its scenario (CSV has no comments: its header is
# the mark, so a trace of your own with exactly this header, in this place, counts as one; --force is then needed
# for nothing, and the README says so).
IMPORTED_TRACE = FileKind("an imported per-minute trace", b"function,minute,count\n")


def _head(path: str | Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(_HEAD_BYTES)


def is_vpcsim_file(path: str | Path, kind: FileKind) -> bool:
    """Whether ``path`` is a regular file that a vpcsim writer of ``kind`` wrote (its mark is in the first 4 KiB)."""
    try:
        return Path(path).is_file() and kind.marker in _head(path)
    except OSError:
        return False


# --------------------------------------------------------------------------------------------------- folders vpcsim wrote


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _manifest_entries(folder: Path) -> dict[str, dict[str, Any]]:
    """Every entry under ``folder`` by relative path: files with size and hash, folders, and results folders nested
    in it (``compare``'s a/ and b/), which their own manifest covers (``vpcsim report a/`` rewrites only a/)."""
    entries: dict[str, dict[str, Any]] = {}
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        for name in sorted(os.listdir(folder / rel_dir)):
            rel = f"{rel_dir}{name}"
            p = folder / rel
            if rel == MANIFEST:
                continue
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                if (p / MANIFEST).is_file():
                    entries[rel] = {"type": "results"}
                else:
                    entries[rel] = {"type": "folder"}
                    stack.append(f"{rel}/")
            elif stat.S_ISREG(st.st_mode):
                entries[rel] = {"type": "file", "size": st.st_size, "sha256": _sha256(p)}
            else:  # vpcsim writes files and folders only
                raise OutputError(f"{p}: not a regular file or folder; a results folder holds only those")
    return entries


def _write_manifest(folder: Path) -> None:
    entries = dict(sorted(_manifest_entries(folder).items()))
    data = {"format": 1, "generator": f"vpcsim {__version__}", "entries": entries}
    (folder / MANIFEST).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
        return None
    return entries


def _foreign(folder: Path, prefix: str = "") -> str | None:
    """Why ``folder`` is not wholly vpcsim's (its first foreign entry, named from the top folder), or None when it
    is (or is empty). Entries the manifest lists that are gone are fine: replacing loses nothing of them."""
    names = [n for n in sorted(os.listdir(folder)) if not _abandoned_temporary(folder / n)]
    if not names:
        return None
    if MANIFEST not in names:
        if prefix:
            return f"{prefix.rstrip('/')} has no {MANIFEST}"
        n = len(names)
        return (f"holds {n} entr{'ies' if n != 1 else 'y'} but no {MANIFEST}, so vpcsim did not write it (or an "
                f"older vpcsim did, which kept no manifest)")
    entries = _read_manifest(folder)
    if entries is None:
        return f"{prefix}{MANIFEST} is not a manifest vpcsim wrote"
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        listing = names if not rel_dir else sorted(os.listdir(folder / rel_dir))
        for name in listing:
            rel = f"{rel_dir}{name}"
            if rel == MANIFEST:
                continue
            p = folder / rel
            st = os.lstat(p)
            entry = entries.get(rel)
            kind = entry.get("type") if entry else None
            if entry is None or stat.S_ISLNK(st.st_mode):
                return f"{prefix}{rel} is not vpcsim's (not in its {MANIFEST})"
            if kind == "results" and stat.S_ISDIR(st.st_mode):
                why = _foreign(p, f"{prefix}{rel}/")
                if why:
                    return why
            elif kind == "folder" and stat.S_ISDIR(st.st_mode):
                stack.append(f"{rel}/")
            elif not (kind == "file" and stat.S_ISREG(st.st_mode) and entry.get("size") == st.st_size
                      and entry.get("sha256") == _sha256(p)):
                return f"{prefix}{rel} was changed since vpcsim wrote it"
    return None


# --------------------------------------------------------------------------------------------------- targets


def _writable_parent(path: Path) -> None:
    """The nearest existing ancestor of ``path`` must be a folder we may write in (the rest is created)."""
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{path}: cannot write: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write: {parent} is not writable")


def check_dir_target(path: str | Path, advice: str = _FOLDER_ADVICE) -> None:
    """Refuse a results folder whose replacement would destroy what vpcsim did not write.

    The folder is written whole and then replaces ``path``: an existing file (a scenario given by mistake), a
    device, the current folder or a folder holding anything vpcsim did not write (an entry its manifest does not
    list, a file changed since, a folder without a manifest) would be lost. A new path, an empty folder, or a folder
    whose every entry vpcsim wrote is fine. A symbolic link is checked as the folder it points to; it is the link
    that is replaced, and what it points to is left as it was. ``advice`` ends the message (what to do instead)."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"{path}: exists and is not a folder; give a new folder for the results")
        if Path.cwd().resolve().is_relative_to(path.resolve()):
            raise OutputError(f"{path}: is the current folder (or holds it); give a new folder for the results")
        try:
            why = _foreign(path)
        except OSError as exc:
            raise OutputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if why:
            raise OutputError(f"{path}: {why}; {advice}")
    _writable_parent(path)


def check_file_target(path: str | Path, kind: FileKind | None = None, force: bool = False) -> None:
    """Refuse an output file path that is a folder or not a regular file (a device, a pipe), or (given ``kind``) an
    existing file that is not a ``kind`` vpcsim wrote, unless ``force``: the file is written beside it and then
    replaces it (a symbolic link is replaced, not what it points to)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise OutputError(f"{path}: not a regular file (a device or a pipe); give a file name")
    if kind is not None and not force and path.exists() and not is_vpcsim_file(path, kind):
        raise OutputError(f"{path}: exists and is not {kind.what} vpcsim wrote; give a new file name, or --force "
                          f"to replace it")
    _writable_parent(path)


# --------------------------------------------------------------------------------------------------- temporary folders


def _process_state(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of a process, from /proc (Linux); None elsewhere."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        return fields[0], int(fields[19])  # fields 3 (state) and 22 (starttime) of proc(5)
    except (OSError, IndexError, ValueError):
        return None


def _owner_record(target: Path) -> dict[str, Any]:
    state = _process_state(os.getpid())
    return {"pid": os.getpid(), "started": state[1] if state else None, "host": socket.gethostname(),
            "target": target.name}


def _owner_gone(record: dict[str, Any]) -> bool:
    """Whether the process that made a temporary folder is certainly gone. Unsure is "no": another host (a shared
    disk), a pid that is alive and no way to tell whether it is the same process, a platform without signal 0."""
    pid = record.get("pid")
    if os.name != "posix" or not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if record.get("host") != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: alive, another user's
        pass
    state = _process_state(pid)
    if state is None:
        return False
    if state[0] in ("Z", "X"):  # a zombie: killed, not yet reaped
        return True
    return record.get("started") is not None and state[1] != record["started"]  # the pid was reused


def _owner_of(path: Path) -> dict[str, Any] | None:
    if not _TEMP_NAME.fullmatch(path.name):
        return None
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return None
        owner = path / TEMP_OWNER
        if not stat.S_ISREG(os.lstat(owner).st_mode):
            return None
        record = json.loads(owner.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _abandoned_temporary(path: Path) -> bool:
    """A temporary folder of ours (named so, with an owner record) whose process is gone."""
    record = _owner_of(path)
    return record is not None and _owner_gone(record)


def _remove_temporary(temp: Path) -> None:
    """Remove a temporary folder, its owner record last: interrupted half-way, it is still recognised as ours."""
    try:
        names = os.listdir(temp)
    except OSError:
        return
    for name in names:
        if name == TEMP_OWNER:
            continue
        p = temp / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with suppress(OSError):
                p.unlink()
    with suppress(OSError):
        if os.listdir(temp) == [TEMP_OWNER]:  # something that would not go keeps the record, for a later run
            (temp / TEMP_OWNER).unlink()
            temp.rmdir()


def clean_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary folders that killed vpcsim processes left in ``folder`` (SIGKILL, a power cut); return
    them. Only folders named like ours that hold an owner record whose process is certainly gone are touched. When a
    process died between moving the old output aside and the new one in, the old one is put back first."""
    folder = Path(folder)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for name in sorted(names):
        p = folder / name
        record = _owner_of(p)
        if record is None or not _owner_gone(record):
            continue
        target = record.get("target")
        if (isinstance(target, str) and target and "/" not in target and target not in (".", "..")
                and os.path.lexists(p / "old") and not os.path.lexists(folder / target)):
            with suppress(OSError):
                os.replace(p / "old", folder / target)
        _remove_temporary(p)
        removed.append(p)
    return removed


def _make_temporary(target: Path) -> Path:
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name[:64]}.vpcsim-", suffix=".tmp", dir=target.parent))
    try:
        (temp / TEMP_OWNER).write_text(json.dumps(_owner_record(target)) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return temp


# --------------------------------------------------------------------------------------------------- moving into place

_written: list[Path] = []  # outputs this process moved into place, in order (the CLI's interrupt message reads it)
_nesting = threading.local()  # results folders inside results folders (compare's a/) are not outputs of their own


def written_outputs() -> list[Path]:
    """The outputs (folders and files) this process has moved into place, complete, in order."""
    return list(_written)


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM received inside the block take effect when it ends. Python runs signal handlers in the
    main thread only, so holding them there is enough (blocking the signals would not be: a library's thread may
    take one); elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    saved: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(ValueError, OSError):
            saved[sig] = signal.signal(sig, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if held:
            signal.raise_signal(held[0])  # the handler in force again decides (Python's raises KeyboardInterrupt)


def _move_into_place(new: Path, target: Path, aside: Path) -> None:
    """``new`` becomes ``target``; an existing target (or the symbolic link that is the target) goes to ``aside``
    first and comes back if the move fails."""
    moved = False
    try:
        if os.path.lexists(target):
            os.replace(target, aside)
            moved = True
        os.replace(new, target)
    except BaseException:
        if moved and not os.path.lexists(target):
            os.replace(aside, target)
        raise


@contextmanager
def atomic_dir(target: str | os.PathLike[str], advice: str = _FOLDER_ADVICE) -> Iterator[Path]:
    """Yield an empty folder to write a results folder into; on success it gets its manifest and becomes
    ``target``, on failure or interrupt it disappears. A target that is not a new path, an empty folder or a
    folder vpcsim wrote raises :class:`OutputError` first (``advice`` ends its message), and again just before the
    move (something may have been added meanwhile)."""
    target = Path(target)
    check_dir_target(target, advice)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(target.parent)
    temp = _make_temporary(target)
    depth = getattr(_nesting, "depth", 0)
    _nesting.depth = depth + 1
    try:
        new = temp / "new"
        new.mkdir()  # as readable as any folder the user makes (mkdtemp's own folder is private)
        yield new
        _write_manifest(new)
        check_dir_target(target, advice)
        with _interrupts_held():
            _move_into_place(new, target, temp / "old")
            if depth == 0:
                _written.append(target)
    finally:
        _nesting.depth = depth
        _remove_temporary(temp)


@contextmanager
def atomic_file(target: str | os.PathLike[str], kind: FileKind, mode: str = "w", *, force: bool = False) -> Iterator[Any]:
    """Open a new file to write ``kind`` into; it replaces ``target`` only when closed without error. An existing
    target that is not a regular file, or (unless ``force``) not a ``kind`` vpcsim wrote, raises
    :class:`OutputError` first. What was written must carry ``kind``'s mark, so that the next write recognises it."""
    target = Path(target)
    check_file_target(target, kind, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(target.parent)
    temp = _make_temporary(target)
    try:
        new = temp / "new"
        with open(new, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
        if kind.marker not in _head(new):  # a writer that lost its mark: its files could never be replaced again
            raise RuntimeError(f"vpcsim bug: {target} lacks the mark of {kind.what} ({kind.marker!r})")
        check_file_target(target, kind, force)
        with _interrupts_held():
            _move_into_place(new, target, temp / "old")
            _written.append(target)
    finally:
        _remove_temporary(temp)


def copy_entries(source: str | Path, dest: str | Path, skip: Collection[str] = ()) -> None:
    """Put the entries of ``source`` (but its manifest and the names in ``skip``) into ``dest``: hard links where the
    file system allows (a rebuilt report does not copy a large invocations.csv), copies elsewhere."""
    source, dest = Path(source), Path(dest)

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    for name in sorted(os.listdir(source)):
        if name == MANIFEST or name in skip or _abandoned_temporary(source / name):
            continue
        p = source / name
        if p.is_dir() and not p.is_symlink():
            shutil.copytree(p, dest / name, symlinks=True, copy_function=link)
        else:
            link(str(p), str(dest / name))


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


def timeseries_csv(ts: Any, path: str | Path) -> None:
    """Write a time series as CSV: measured values with 6 significant digits, and each step's time ``t_s`` exact
    (``%.6g`` alone turned 172799.9 s into 172800: steps of a run longer than a day or two ran together)."""
    def exact(t: float) -> str:
        short = f"{t:.6g}"
        return short if float(short) == t else repr(float(t))

    ts.assign(t_s=ts["t_s"].map(exact)).to_csv(path, index=False, float_format="%.6g")
