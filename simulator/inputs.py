"""Files that users name, opened without being fooled by them, and their contents quoted without leaking them.

A scenario names other files (traces), and a scenario may come from a pull request that CI validates: a path is
untrusted input. So every file vpcsim reads on a user's word is opened here. It must be a regular file (following
symlinks): not a FIFO, whose open or read would block forever; not a device such as ``/dev/zero``, which never ends;
not a socket; and not a file of ``/proc`` or ``/sys``, which look regular but hold the process's environment and
other secrets. It is opened without blocking, and its size is bounded (a stated limit per kind of file) before a
byte is parsed.

Messages about a file's contents quote them only through :func:`excerpt` (printable characters, at most
:data:`EXCERPT_CHARS` of them) and name columns only through :func:`column_names` and :func:`column_label` (the
names a reader knows, never others): a validation error must not print the credentials file a scenario pointed at.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from .errors import VpcsimError

__all__ = [
    "InputFileError", "MAX_SCENARIO_BYTES", "MAX_TRACE_BYTES", "MAX_SOURCE_BYTES", "MAX_RESULTS_BYTES", "EXCERPT_CHARS",
    "check_regular_file", "open_regular_file", "read_text_file", "excerpt", "column_names", "column_label",
]

MAX_SCENARIO_BYTES = 8 * 2**20
"""A scenario file may have 8 MiB: about 15,000 functions as ``vpcsim import`` writes them (530 bytes each)."""
MAX_TRACE_BYTES = 2**30
"""A trace file may have 1 GiB: a day of the full Azure 2019 invocation file has about 150 MB, the two weeks of the
Azure 2021 invocation trace about 130 MB."""
MAX_SOURCE_BYTES = 256 * 2**20
"""A file ``vpcsim import`` reads (a template, a plan, a metrics answer, a ``--load`` or ``--subnets`` file) may have
256 MiB: CloudFormation's own template limit is 1 MB, a Terraform plan of thousands of resources some tens of MB."""
MAX_RESULTS_BYTES = 2 * 2**30
"""A file of a results folder (``summary.json``, ``timeseries.csv``) that ``report`` and ``compare`` read."""
EXCERPT_CHARS = 16
"""The most characters of a file's cell an error message quotes: enough to recognise a mistyped number or date
(``2019-07-01T08:00`` of a date-time), too few to carry a credential whole. At 40, the line
``aws_access_key_id = AKIA...`` of a credentials file (37 characters) would be quoted entire."""

# Pseudo file systems whose files are "regular" but hold the process's state (environment, memory maps, keys).
_PSEUDO_ROOTS = ("/proc", "/sys")


class InputFileError(VpcsimError, ValueError):
    """A file that vpcsim refuses to read, or cannot: ``str()`` is one line, the path then the ``reason``."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "is a character device"
    if stat.S_ISBLK(mode):
        return "is a block device"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    return "is a special file"


def _pseudo(path: Path, st: os.stat_result) -> str | None:
    """The pseudo file system (``/proc``, ``/sys``) ``path`` lies in, by its real path or by its device."""
    real = os.path.realpath(path)
    for root in _PSEUDO_ROOTS:
        if real == root or real.startswith(root + "/"):
            return root
        try:
            if os.stat(root).st_dev == st.st_dev:
                return root
        except OSError:
            pass
    return None


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def _check(p: Path, st: os.stat_result, what: str, limit_bytes: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(p, f"{_kind(st.st_mode)}, not {what}"
                             + ("" if stat.S_ISDIR(st.st_mode) else ": only regular files are read"))
    root = _pseudo(p, st)
    if root is not None:
        raise InputFileError(p, f"is a file of {root}, not {what}: files of /proc and /sys are never read")
    if st.st_size > limit_bytes:
        raise InputFileError(p, f"has {_bytes(st.st_size)}, more than {what} may have "
                             f"(limit {limit_bytes:,} bytes = {_bytes(limit_bytes)})")


def check_regular_file(path: str | Path, *, what: str, limit_bytes: int) -> os.stat_result:
    """Refuse, with one line, a path that is missing, not a regular file, in ``/proc`` or ``/sys``, or larger than
    ``limit_bytes``; ``what`` names the kind of file ("a scenario file", "a trace file") in the message."""
    p = Path(path)
    try:
        st = os.stat(p)  # follows symlinks: what counts is what would be read
    except FileNotFoundError:
        raise InputFileError(p, "no such file") from None
    except OSError as exc:
        raise InputFileError(p, f"cannot read: {exc.strerror or exc}") from None
    _check(p, st, what, limit_bytes)
    return st


def open_regular_file(path: str | Path, *, what: str, limit_bytes: int) -> BinaryIO:
    """Open a checked file (see :func:`check_regular_file`) for reading in binary mode. The open does not block
    (O_NONBLOCK), and the open file is checked again, so that a FIFO put in the file's place meanwhile is refused
    rather than waited on."""
    p = Path(path)
    check_regular_file(p, what=what, limit_bytes=limit_bytes)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputFileError(p, f"cannot read: {exc.strerror or exc}") from None
    try:
        _check(p, os.fstat(fd), what, limit_bytes)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_text_file(path: str | Path, *, what: str, limit_bytes: int) -> str:
    """The UTF-8 text of a checked file, read to at most ``limit_bytes`` (a file that grows meanwhile is refused)."""
    p = Path(path)
    with open_regular_file(p, what=what, limit_bytes=limit_bytes) as fh:
        try:
            data = fh.read(limit_bytes + 1)
        except OSError as exc:
            raise InputFileError(p, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit_bytes:
        raise InputFileError(p, f"has more than {what} may have (limit {limit_bytes:,} bytes = {_bytes(limit_bytes)})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(p, f"cannot read: not UTF-8 text (byte {exc.start:,}: {exc.reason})") from None


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A cell of a file, fit to quote in a message: printable characters only (others become ``?``), at most
    ``limit`` of them (then ``...``), in quotes."""
    text = "".join(c if c.isprintable() else "?" for c in str(value)[:limit + 1])
    if len(text) > limit:
        text = text[:limit] + "..."
    return "'" + text.replace("'", "\\'") + "'"


def column_label(name: Any, position: int, known: Callable[[str], bool]) -> str:
    """A column in a message: its name when ``known`` says it is one the reader looks for, else its position
    (1-based). The header of a file that is not a table is its first line, which may hold anything (a token, a
    password hash): it is never quoted."""
    text = str(name)
    return repr(text) if known(text) else f"{position}"


def column_names(columns: Any, known: Callable[[str], bool], *, at_most: int = 8) -> str:
    """How many columns a file's header has and, of the first ``at_most``, the names ``known`` to the reader; the
    others are only counted (see :func:`column_label`)."""
    cols = [str(c) for c in columns]
    shown = [c for c in cols[:at_most] if known(c)]
    count = f"{len(cols)} column{'s' * (len(cols) != 1)}"
    if not shown:
        return count
    more = len(cols) - len(shown)
    return f"{count}: {', '.join(shown)}" + (f" and {more} other{'s' * (more != 1)}" if more else "")
