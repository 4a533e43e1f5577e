"""Replay of measured workloads (SPEC §2 ``{process: trace, ...}``): reading trace files, picking one function's
calls and placing them in time.

A trace file is parsed once per process (cached by file identity, modification time, size and format) into a
:class:`TraceTable` that holds every function of the file, so a scenario with 500 functions replaying the same file
reads it once. A :class:`Trace` is one function's series with the process's ``scale`` and ``spread``; it gives the
engine its arrival times in sorted blocks and the capacity calculator its rate.

Formats (a CSV file with a header line in every case):

- ``timestamps``: one row per call. The time column is ``timestamp`` (or ``time``, ``arrival``, ``arrival_s``,
  ``start``, ``start_s``, ``t``; or the only column, with or without a header). Values are seconds (any origin) or
  ISO 8601 date-times (without an offset they are read as UTC). Time 0 is the earliest call in the whole file, so
  several functions replayed from one file stay aligned. ``function: NAME`` keeps the rows whose ``function`` column
  equals NAME.
- ``per_minute``: calls per minute in the column ``count`` (or ``counts``, ``invocations``, ``calls``; or the only
  column). Rows are consecutive minutes from time 0, unless a ``minute`` column numbers them (minute 0 is then the
  smallest number in the file; missing minutes have no calls). ``function: NAME`` as for ``timestamps``.
- ``azure2019``: the per-minute invocation file of the Azure Functions Trace 2019: ``HashOwner, HashApp,
  HashFunction, Trigger`` and one column per minute (``480`` .. ``959`` in the vHive sample, ``1`` .. ``1440`` in the
  full data set); time 0 is the first minute column. ``function:`` is required: a ``HashFunction``, or
  ``HashApp/HashFunction``, or an unambiguous prefix of at least 6 characters of either.
- ``azure2021``: the invocation records of the Azure Functions Invocation Trace 2021: ``app, func, end_timestamp,
  duration`` (seconds); a call starts at ``end_timestamp - duration``. Time 0 is the earliest start in the file.
  ``function:`` is required: a ``func`` hash (when it is unique in the file) or ``app/func``, or a prefix as above.

Placement inside a minute (``spread``, per-minute formats only): ``poisson`` (the default) draws each minute's calls
as sorted uniform times in the minute, which is a Poisson process conditioned on the minute's count; ``even`` puts
``c`` calls at the midpoints of ``c`` equal slices of the minute. Either way the count per minute is the trace's.

Scaling (``scale``): every call of the trace is kept ``floor(scale)`` times, plus once more with probability
``scale - floor(scale)`` (drawn from the process's own random stream). ``scale: 2`` doubles every minute exactly,
``scale: 0.5`` keeps each call with probability 1/2 (a binomial thinning), ``scale: 1.5`` keeps every call and
duplicates half of them. For timestamp formats a duplicate arrives at the same instant as its original.

Rate (for the capacity calculator and the offered-load figures): the calls per minute divided by 60, a step function
over the trace's minutes (for timestamp formats: 60-second bins from time 0), times ``scale``; 0 after the trace
ends. A trace is not repeated: a horizon longer than the trace sees no calls after its end.

Limits (a trace file is untrusted input, see :mod:`simulator.inputs`): a regular file of at most 1 GiB; at most
60,000,000 calls in one minute of one function (1,000,000 per second, the largest rate a scenario may state); a trace
spans at most 366 days. Beyond them a count would wrap around in a fixed-width integer or an array of minutes would
not fit in memory, so the file is refused with one line instead.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import VpcsimError
from ..inputs import MAX_TRACE_BYTES, InputFileError, column_label, column_names, excerpt, open_regular_file
from ..units import MAX_HORIZON_S, MAX_RATE_PER_S, format_duration

if TYPE_CHECKING:  # pragma: no cover
    from .arrivals import TraceProcess

__all__ = ["TraceError", "TraceTable", "Trace", "read_table", "load_trace", "FORMATS", "MINUTE_S"]

log = logging.getLogger(__name__)

FORMATS = ("timestamps", "per_minute", "azure2019", "azure2021")
MINUTE_S = 60.0
BLOCK = 1024
"""Arrival times yielded per block (about; a busy minute is never split). Small on purpose: the engine holds one
block of every function at a time, and a scenario may replay hundreds of functions."""
_CACHE_SIZE = 8  # parsed files kept in memory; a sweep over several traces stays bounded
_MIN_PREFIX = 6  # shortest prefix of a hash accepted as `function:`
# A function key that matches what the user wrote, quoted whole: app/func of the Azure traces (two 64-hex hashes)
# fits. Only keys like the user's own `function:` are quoted this long; any other cell as a short excerpt.
_KEY_CHARS = 140
MAX_CALLS_PER_MINUTE = int(MAX_RATE_PER_S * MINUTE_S)
"""The most calls one function may make in one minute of a trace: fits an int32 with room to spare."""
MAX_MINUTES = int(MAX_HORIZON_S // MINUTE_S)
"""The most minutes a trace may span (366 days)."""

_TIME_COLUMNS = ("timestamp", "time", "arrival", "arrival_s", "start", "start_s", "t")
_COUNT_COLUMNS = ("count", "counts", "invocations", "calls")
_AZURE2019_ID = ("HashOwner", "HashApp", "HashFunction", "Trigger")
_AZURE2021_COLUMNS = ("app", "func", "end_timestamp", "duration")


class TraceError(VpcsimError, ValueError):
    """A trace file that cannot be replayed, or a function it does not hold. The message names the file and, where
    it applies, the line and the column."""


# --------------------------------------------------------------------------------------------------- tables


class TraceTable:
    """Every series of one parsed trace file, keyed by function.

    ``minutes`` tells what the series are: calls per minute (int64 arrays) or arrival times in seconds from the
    file's time 0 (sorted float64 arrays). ``key`` ``""`` is the single series of a file without a function column.
    """

    def __init__(self, path: str, format: str, minutes: bool, series: dict[str, np.ndarray],
                 lines: dict[str, int], aliases: dict[str, str | None] | None = None,
                 meta: pd.DataFrame | None = None, first_minute: int = 0):
        self.path = path
        self.format = format
        self.minutes = minutes
        self.series = series
        self.lines = lines
        self.aliases = aliases or {}
        self.meta = meta
        self.first_minute = first_minute
        self._traces: dict[tuple, Trace] = {}
        if minutes:
            self.n_minutes = max((len(s) for s in series.values()), default=0)
            self.span_s = self.n_minutes * MINUTE_S
        else:
            self.span_s = max((float(s[-1]) for s in series.values() if len(s)), default=0.0)
            # Calls at exactly the last instant still fall in a bin.
            self.n_minutes = int(self.span_s // MINUTE_S) + 1

    @property
    def keys(self) -> list[str]:
        return list(self.series)

    def total(self, key: str) -> int:
        """Calls of one function in the whole file."""
        s = self.series[key]
        return int(s.sum(dtype=np.int64)) if self.minutes else len(s)

    def select(self, function: str | None) -> str:
        """The key of the series that ``function:`` names; raises :class:`TraceError` saying why not."""
        where = self.path
        if function is None:
            if "" in self.series:
                return ""
            if self.format in ("timestamps", "per_minute"):
                raise TraceError(f"{where} has a `function` column: say which function to replay "
                                 f"({len(self.series):,} functions, e.g. {self._example()}) (got nothing)")
            raise TraceError(f"required for format {self.format}: which function of {where} to replay "
                             f"({len(self.series):,} functions, e.g. {self._example()}) (got nothing)")
        if "" in self.series:
            raise TraceError(f"{where} has no `function` column to select {function!r} from; remove `function:` "
                             f"(got {function!r})")
        if function in self.series:
            return function
        if function in self.aliases:
            key = self.aliases[function]
            if key is None:
                apps = [k for k in self.series if k.endswith("/" + function)]
                raise TraceError(f"function {function!r} belongs to {len(apps)} apps in {where}; write it as "
                                 f"APP/FUNCTION, e.g. {excerpt(apps[0], _KEY_CHARS)} (got {function!r})")
            return key
        if len(function) >= _MIN_PREFIX:
            hits = {k for k in self.series if k.startswith(function)}
            hits |= {v for a, v in self.aliases.items() if v is not None and a.startswith(function)}
            if len(hits) == 1:
                return hits.pop()
            if len(hits) > 1:
                shown = ", ".join(excerpt(h, _KEY_CHARS) for h in sorted(hits)[:3])
                raise TraceError(f"{function!r} is the start of {len(hits)} functions in {where} ({shown}...); "
                                 f"give more characters (got {function!r})")
        names = list(self.aliases) + list(self.series)
        hint = difflib.get_close_matches(function, names, n=1, cutoff=0.8)
        more = f"; did you mean {excerpt(hint[0], _KEY_CHARS)}?" if hint else (
            f" (it has {len(self.series):,} functions, e.g. {self._example()})")
        raise TraceError(f"no such function in {where}{more} (got {function!r})")

    def _example(self) -> str:
        key = next(iter(self.series), "")
        if self.format in ("azure2019", "azure2021"):
            return excerpt(key.rsplit("/", 1)[-1][:12])  # a prefix is accepted too
        return excerpt(key)

    def trace(self, function: str | None, scale: float = 1.0, spread: str | None = None) -> Trace:
        """One function's :class:`Trace` (cached on the table: capacity figures ask for it many times)."""
        key = self.select(function)
        spread = spread or "poisson"
        cache_key = (key, scale, spread)
        tr = self._traces.get(cache_key)
        if tr is None:
            tr = Trace(self, key, scale, spread)
            self._traces[cache_key] = tr
        return tr


_TABLES: OrderedDict[tuple, TraceTable] = OrderedDict()


def _table_key(st: os.stat_result, format: str) -> tuple:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, format)


def _cached(st: os.stat_result, format: str) -> TraceTable | None:
    key = _table_key(st, format)
    table = _TABLES.get(key)
    if table is not None:
        _TABLES.move_to_end(key)
    return table


def read_table(path: str | Path, format: str) -> TraceTable:
    """Parse a trace file (once: later calls return the cached table until the file changes)."""
    if format not in FORMATS:
        raise TraceError(f"unknown trace format (use one of {', '.join(FORMATS)}) (got {format!r})")
    p = Path(path)
    # A table is found by the file's identity (device, inode), modification time and size: validation and the
    # capacity figures look it up once per function and figure, and a plain stat is all a hit needs (the file was
    # checked to be a regular file when it was parsed). A miss goes through the checks of simulator.inputs.
    try:
        table = _cached(os.stat(p), format)
    except OSError:
        table = None
    if table is not None:
        return table
    try:
        with open_regular_file(p, what="a trace file", limit_bytes=MAX_TRACE_BYTES) as fh:
            st = os.fstat(fh.fileno())
    except InputFileError as exc:
        raise TraceError(str(exc)) from None
    table = _cached(st, format)
    if table is not None:
        return table
    key = _table_key(st, format)
    table = _READERS[format](p)
    _TABLES[key] = table
    while len(_TABLES) > _CACHE_SIZE:
        _TABLES.popitem(last=False)
    log.debug("read %s trace %s: %d series", format, p, len(table.series))
    return table


def load_trace(process: TraceProcess) -> Trace:
    """The :class:`Trace` a ``{process: trace}`` arrival process replays."""
    table = read_table(process.file, process.format)
    return table.trace(process.function, process.scale, process.spread)


# --------------------------------------------------------------------------------------------------- readers


def _read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    try:
        # Opened here, not by pandas: a regular file of bounded size, opened without blocking (simulator.inputs).
        with open_regular_file(path, what="a trace file", limit_bytes=MAX_TRACE_BYTES) as fh:
            # Only an empty cell is missing: "n/a" or "-" is a bad value, to be reported as written.
            df = pd.read_csv(fh, skipinitialspace=True, keep_default_na=False, na_values=[""], **kwargs)
    except InputFileError as exc:
        raise TraceError(str(exc)) from None
    except pd.errors.EmptyDataError:
        raise TraceError(f"{path}: empty file, expected a CSV header line (got nothing)") from None
    except pd.errors.ParserError as exc:
        # The parser's own words, first line only and cut short: they may quote the file.
        reason = excerpt(str(exc).strip().splitlines()[0] if str(exc).strip() else "", 120).strip("'")
        raise TraceError(f"{path}: not a readable CSV file: {reason}") from None
    except UnicodeDecodeError as exc:
        raise TraceError(f"{path}: not a text file: {exc.reason}") from None
    except OSError as exc:
        raise TraceError(f"cannot read {path}: {exc.strerror or exc}") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _no_rows(path: Path, df: pd.DataFrame) -> None:
    if df.empty:
        raise TraceError(f"{path}:1: has a header but no rows (got {column_names(df.columns, _known)})")


def _find(df: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in df.columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _numbers(path: Path, df: pd.DataFrame, column: str, *, first_line: int, what: str,
             counts: bool = False) -> np.ndarray:
    """A column as float64 (or int64 when ``counts``), with the first bad cell reported by line and column."""
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        cell = raw.iloc[i]
        shown = "an empty cell" if pd.isna(cell) or str(cell).strip() == "" else excerpt(cell)
        raise TraceError(f"{path}:{first_line + i}: column {_col(df, column)}: not {what} (got {shown})")
    arr = values.to_numpy(dtype=float)
    if not np.isfinite(arr).all():
        i = int(np.argmax(~np.isfinite(arr)))
        raise TraceError(f"{path}:{first_line + i}: column {_col(df, column)}: not {what} (got {excerpt(raw.iloc[i])})")
    if counts:
        wrong = (arr < 0) | (arr != np.floor(arr))
        if wrong.any():
            i = int(np.argmax(wrong))
            raise TraceError(f"{path}:{first_line + i}: column {_col(df, column)}: not {what} "
                             f"(got {excerpt(raw.iloc[i])})")
        _at_most(path, df, column, arr, first_line)
        return arr.astype(np.int64)
    return arr


def _at_most(path: Path, df: pd.DataFrame, column: str, arr: np.ndarray, first_line: int) -> None:
    """Refuse a count of calls in one minute above :data:`MAX_CALLS_PER_MINUTE` (before it is cast to an integer
    type, where it would wrap around)."""
    over = arr > MAX_CALLS_PER_MINUTE
    if over.any():
        i = int(np.argmax(over))
        raise TraceError(f"{path}:{first_line + i}: column {_col(df, column)}: more than {MAX_CALLS_PER_MINUTE:,} "
                         f"calls in a minute, a rate above {MAX_RATE_PER_S:,.0f}/s (got {excerpt(df[column].iloc[i])})")


def _col(df: pd.DataFrame, name: str) -> str:
    """A column for a message: its name when it is one the readers look for, else its position (the header of a
    file that is not a table is its first line, which may hold anything)."""
    return column_label(name, list(df.columns).index(name) + 1, _known)


_KNOWN_COLUMNS = frozenset(c.lower() for c in (*_TIME_COLUMNS, *_COUNT_COLUMNS, *_AZURE2019_ID, *_AZURE2021_COLUMNS,
                                               "function", "minute", "value"))


def _known(name: str) -> bool:
    """A column name the readers look for (or an Azure 2019 minute number): safe to quote in a message."""
    return name.strip().lower() in _KNOWN_COLUMNS or _is_minute(name)


def _span(path: Path, seconds: np.ndarray, what: str) -> None:
    """Refuse a trace whose calls span more than :data:`MAX_HORIZON_S` (the bins of its minutes would not fit)."""
    if len(seconds) and float(seconds.max() - seconds.min()) > MAX_HORIZON_S:
        raise TraceError(f"{path}: the {what} span {format_duration(float(seconds.max() - seconds.min()))}, more "
                         f"than a trace may span (limit {format_duration(MAX_HORIZON_S)})")


def _single_headerless(path: Path, df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """A one-column file whose first line is a value, not a name: read it again without a header.
    Returns the frame and the file line of its first row."""
    if len(df.columns) == 1:
        head = str(df.columns[0])
        try:
            float(head)
            numeric = True
        except ValueError:
            numeric = False
        if numeric or _looks_like_time(head):
            return _read_csv(path, header=None, names=["value"]), 1
    return df, 2


def _looks_like_time(text: str) -> bool:
    return len(text) >= 10 and text[:4].isdigit() and text[4] == "-"


def _group(path: Path, df: pd.DataFrame, fcol: str | None, values: np.ndarray, first_line: int,
           sort: bool) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Split ``values`` by the function column (one series under ``""`` without one), keeping file order or
    sorting each series."""
    if fcol is None:
        out = np.sort(values) if sort else values
        return {"": out}, {"": first_line}
    names = df[fcol]
    if names.isna().any():
        i = int(np.argmax(names.isna().to_numpy()))
        raise TraceError(f"{path}:{first_line + i}: column {fcol!r}: empty function name (got an empty cell)")
    codes, uniques = pd.factorize(names.astype(str).str.strip())
    order = np.lexsort((values, codes)) if sort else np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    bounds = np.searchsorted(sorted_codes, np.arange(len(uniques) + 1))
    vals = values[order]
    series: dict[str, np.ndarray] = {}
    lines: dict[str, int] = {}
    for j, name in enumerate(uniques):
        series[str(name)] = vals[bounds[j]:bounds[j + 1]]
        lines[str(name)] = first_line + int(order[bounds[j]])
    return series, lines


def _read_column(path: Path, names: tuple[str, ...], what: str, name: str) -> tuple[pd.DataFrame, int, str]:
    """Read a one-value-per-row trace: the frame, the file line of its first row and the column holding the values
    (named one of ``names``, or the file's only column, with or without a header)."""
    df = _read_csv(path)
    df, first_line = _single_headerless(path, df)
    _no_rows(path, df)
    column = _find(df, names)
    if column is None:
        if len(df.columns) != 1:
            raise TraceError(f"{path}:1: no {what} column: name it `{name}` (got {column_names(df.columns, _known)})")
        column = df.columns[0]
    return df, first_line, column


def _read_timestamps(path: Path) -> TraceTable:
    df, first_line, tcol = _read_column(path, _TIME_COLUMNS, "time", "timestamp")
    fcol = _find(df, ("function",))
    seconds = _times(path, df, tcol, first_line)
    _span(path, seconds, "calls")
    seconds = seconds - seconds.min()
    series, lines = _group(path, df, fcol, seconds, first_line, sort=True)
    return TraceTable(str(path), "timestamps", False, series, lines)


def _times(path: Path, df: pd.DataFrame, column: str, first_line: int) -> np.ndarray:
    """Seconds from a column of numbers (seconds) or of ISO 8601 date-times."""
    raw = df[column]
    if pd.api.types.is_numeric_dtype(raw):
        return _numbers(path, df, column, first_line=first_line, what="a time in seconds")
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=float)
    if numeric.notna().any():  # some numbers, some not: report the first that is not
        return _numbers(path, df, column, first_line=first_line, what="a time in seconds")
    stamps = pd.to_datetime(raw.astype(str).str.strip(), utc=True, format="ISO8601", errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise TraceError(f"{path}:{first_line + i}: column {_col(df, column)}: not a time in seconds or an ISO 8601 "
                         f"date-time (got {excerpt(raw.iloc[i])})")
    # Subtract the earliest before converting, so that float64 keeps sub-second precision of far-off dates.
    return (stamps - stamps.min()).dt.total_seconds().to_numpy(dtype=float)


def _read_per_minute(path: Path) -> TraceTable:
    df, first_line, ccol = _read_column(path, _COUNT_COLUMNS, "count", "count")
    counts = _numbers(path, df, ccol, first_line=first_line, what="a count of calls (a whole number >= 0)",
                      counts=True)
    fcol = _find(df, ("function",))
    mcol = _find(df, ("minute",))
    if mcol is None:
        series, lines = _group(path, df, fcol, counts, first_line, sort=False)
        longest = max(len(s) for s in series.values())
        if longest > MAX_MINUTES:
            raise TraceError(f"{path}: {longest:,} minutes of counts, more than a trace may span "
                             f"(limit {MAX_MINUTES:,} minutes = {format_duration(MAX_HORIZON_S)})")
        return TraceTable(str(path), "per_minute", True, series, lines)
    minute = _numbers(path, df, mcol, first_line=first_line, what="a minute number (a whole number)", counts=False)
    if (minute != np.floor(minute)).any():
        i = int(np.argmax(minute != np.floor(minute)))
        raise TraceError(f"{path}:{first_line + i}: column {_col(df, mcol)}: not a whole minute number "
                         f"(got {excerpt(df[mcol].iloc[i])})")
    if float(minute.max() - minute.min()) >= MAX_MINUTES:
        raise TraceError(f"{path}: column {_col(df, mcol)}: the minutes span more than a trace may (limit "
                         f"{MAX_MINUTES:,} minutes = {format_duration(MAX_HORIZON_S)}; got {minute.min():.0f} .. "
                         f"{minute.max():.0f})")
    idx = (minute - minute.min()).astype(np.int64)
    n = int(idx.max()) + 1
    # Group row positions by function, then add each function's counts into its minutes (repeats add up).
    pos, lines = _group(path, df, fcol, np.arange(len(df), dtype=np.int64), first_line, sort=False)
    series = {k: np.bincount(idx[rows], weights=counts[rows], minlength=n).astype(np.int64)
              for k, rows in pos.items()}
    return TraceTable(str(path), "per_minute", True, series, lines)


def _read_azure2019(path: Path) -> TraceTable:
    head = _read_csv(path, nrows=0)
    text = {c: str for c in _AZURE2019_ID if c in head.columns}
    try:
        # 4 bytes a minute: a day of the full data set (about 46,000 functions x 1,440 minutes) stays near 260 MB.
        df = _read_csv(path, dtype={**text, **{c: np.int32 for c in head.columns if _is_minute(c)}}, low_memory=False)
    except (ValueError, OverflowError):  # a cell that is not a count: read it as text to say which one
        df = _read_csv(path, dtype=text, low_memory=False)
    missing = [c for c in ("HashFunction",) if c not in df.columns]
    if missing:
        raise TraceError(f"{path}:1: no column {missing[0]!r}: not the per-minute invocation file of the Azure "
                         f"Functions Trace 2019 (got {column_names(df.columns, _known)})")
    minute_cols = [c for c in df.columns if _is_minute(c)]
    if not minute_cols:
        raise TraceError(f"{path}:1: no minute columns (480, 481, ... or 1, 2, ...): not the per-minute invocation "
                         f"file of the Azure Functions Trace 2019 (got {column_names(df.columns, _known)})")
    if len(minute_cols) > MAX_MINUTES:
        raise TraceError(f"{path}:1: {len(minute_cols):,} minute columns, more than a trace may span (limit "
                         f"{MAX_MINUTES:,} minutes = {format_duration(MAX_HORIZON_S)})")
    numbers = [int(c) for c in minute_cols]
    for a, b in zip(numbers, numbers[1:], strict=False):
        if b != a + 1:
            raise TraceError(f"{path}:1: minute columns must be consecutive (got {a} then {b})")
    _no_rows(path, df)
    block = df[minute_cols]
    values = block.to_numpy() if all(pd.api.types.is_integer_dtype(t) for t in block.dtypes) else None
    # Counts are kept as int32 (4 bytes a minute): only once every one is known to fit, never by a wrapping cast.
    if values is not None and (values >= 0).all() and (values <= MAX_CALLS_PER_MINUTE).all():
        counts = values.astype(np.int32)
    else:
        counts = np.empty(block.shape, dtype=np.int64)
        for j, c in enumerate(minute_cols):
            counts[:, j] = _numbers(path, df, c, first_line=2, what="a count of invocations (a whole number >= 0)",
                                    counts=True)
    funcs = df["HashFunction"]
    if funcs.isna().any():
        i = int(np.argmax(funcs.isna().to_numpy()))
        raise TraceError(f"{path}:{i + 2}: column 'HashFunction': empty (got an empty cell)")
    funcs = funcs.astype(str).str.strip()
    apps = df["HashApp"].fillna("").astype(str).str.strip() if "HashApp" in df.columns else None
    keys = (apps + "/" + funcs) if apps is not None else funcs
    meta = pd.DataFrame({
        "key": keys,
        "HashOwner": df["HashOwner"].fillna("").astype(str) if "HashOwner" in df.columns else "",
        "HashApp": apps if apps is not None else "",
        "HashFunction": funcs,
        "Trigger": df["Trigger"].fillna("unknown").astype(str).str.strip() if "Trigger" in df.columns else "unknown",
        "line": np.arange(len(df)) + 2,
    })
    series: dict[str, np.ndarray] = {}
    lines: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in series:  # the same function on two lines (e.g. two triggers): its calls add up
            series[key] = series[key] + counts[i]
        else:
            series[key] = counts[i]
            lines[key] = i + 2
    meta = meta.drop_duplicates("key").set_index("key")
    meta["total"] = [int(series[k].sum(dtype=np.int64)) for k in meta.index]
    aliases = _aliases(keys, funcs) if apps is not None else {}
    return TraceTable(str(path), "azure2019", True, series, lines, aliases, meta, first_minute=numbers[0])


def _is_minute(column: str) -> bool:
    """A minute column of the Azure 2019 file: a number in ASCII digits (``"²"`` is a digit to ``str.isdigit``)."""
    return column.isascii() and column.isdigit() and len(column) <= 9


def _aliases(keys: pd.Series, funcs: pd.Series) -> dict[str, str | None]:
    """The bare function hash of each ``app/func`` key, or None where two apps share it."""
    out: dict[str, str | None] = {}
    for key, func in zip(keys, funcs, strict=True):
        if func in out and out[func] != key:
            out[func] = None
        else:
            out.setdefault(func, key)
    return out


def _read_azure2021(path: Path) -> TraceTable:
    df = _read_csv(path, dtype={"app": str, "func": str})
    for c in _AZURE2021_COLUMNS:
        if c not in df.columns:
            raise TraceError(f"{path}:1: no column {c!r}: not an Azure Functions Invocation Trace 2021 file "
                             f"(expected app, func, end_timestamp, duration; got {column_names(df.columns, _known)})")
    _no_rows(path, df)
    end = _numbers(path, df, "end_timestamp", first_line=2, what="a time in seconds")
    dur = _numbers(path, df, "duration", first_line=2, what="a duration in seconds")
    if (dur < 0).any():
        i = int(np.argmax(dur < 0))
        raise TraceError(f"{path}:{i + 2}: column 'duration': must be >= 0 (got {excerpt(df['duration'].iloc[i])})")
    for c in ("app", "func"):
        if df[c].isna().any():
            i = int(np.argmax(df[c].isna().to_numpy()))
            raise TraceError(f"{path}:{i + 2}: column {c!r}: empty (got an empty cell)")
    start = end - dur
    _span(path, start, "calls' starts")
    start = start - start.min()
    funcs = df["func"].astype(str).str.strip()
    df = df.assign(function=df["app"].astype(str).str.strip() + "/" + funcs)
    series, lines = _group(path, df, "function", start, 2, sort=True)
    return TraceTable(str(path), "azure2021", False, series, lines, _aliases(df["function"], funcs))


_READERS = {
    "timestamps": _read_timestamps,
    "per_minute": _read_per_minute,
    "azure2019": _read_azure2019,
    "azure2021": _read_azure2021,
}


# --------------------------------------------------------------------------------------------------- one series


class Trace:
    """One function's calls with a ``scale`` and a ``spread``: the engine's arrivals and the calculator's rate."""

    def __init__(self, table: TraceTable, key: str, scale: float = 1.0, spread: str = "poisson"):
        if scale < 0 or not math.isfinite(scale):
            raise TraceError(f"scale must be a finite number >= 0 (got {scale!r})")
        if spread not in ("poisson", "even"):
            raise TraceError(f"spread must be poisson or even (got {spread!r})")
        self.key = key  # the trace holds its own series, not the table (a scenario carries it to worker processes)
        self.scale = float(scale)
        self.spread = spread
        self.minutes = table.minutes
        self._span_s = table.span_s
        series = table.series[key]
        if self.minutes:
            self.counts: np.ndarray = series
            self.times: np.ndarray | None = None
            per_minute = series
        else:
            self.times = series
            # A common 60-second grid for every function of the file, from the file's time 0.
            per_minute = np.bincount((series // MINUTE_S).astype(np.int64), minlength=table.n_minutes)
            self.counts = per_minute
        self._rate = per_minute.astype(float) * self.scale / MINUTE_S

    @property
    def total(self) -> int:
        """Calls in the whole trace, before scaling."""
        return int(self.counts.sum(dtype=np.int64))

    @property
    def span_s(self) -> float:
        return self._span_s

    def rate_at(self, t: np.ndarray) -> np.ndarray:
        """Calls per second (the minute's count / 60, times ``scale``) at times ``t``; 0 outside the trace."""
        t = np.asarray(t, dtype=float)
        with np.errstate(invalid="ignore"):
            idx = np.floor(t / MINUTE_S)
        inside = (idx >= 0) & (idx < len(self._rate))
        out = np.zeros(t.shape)
        out[inside] = self._rate[idx[inside].astype(np.int64)]
        return out

    def breakpoints(self, horizon: float) -> np.ndarray:
        """The starts of the minutes (the rate is constant within each), up to the horizon."""
        n = min(len(self._rate), int(math.ceil(horizon / MINUTE_S)) if horizon > 0 else 0)
        return np.arange(n + 1, dtype=float) * MINUTE_S if n else np.array([0.0])

    def peak(self, horizon: float) -> tuple[float, float]:
        """(highest rate, start of the first minute at it) over [0, horizon), for ``horizon > 0``. The rate is
        constant within each minute and every minute's start is one of :meth:`breakpoints`, so this is the point
        :func:`simulator.scenario.arrivals.peak_rate` finds on its grid, without evaluating the grid."""
        n = min(len(self._rate), int(math.ceil(horizon / MINUTE_S)))
        if n == 0:
            return 0.0, 0.0
        m = int(np.argmax(self._rate[:n]))  # the first minute at the highest rate
        return float(self._rate[m]), m * MINUTE_S

    def expected_count(self, horizon: float) -> float:
        """Expected calls in [0, horizon), after scaling (a cut minute counts pro rata)."""
        if horizon <= 0:
            return 0.0
        if self.times is not None:
            return float(np.searchsorted(self.times, horizon, side="left")) * self.scale
        full = min(int(horizon // MINUTE_S), len(self.counts))
        total = float(self.counts[:full].sum(dtype=np.int64))
        if full < len(self.counts):
            total += float(self.counts[full]) * (horizon / MINUTE_S - full)
        return total * self.scale

    def _scaled(self, rng: np.random.Generator, n: np.ndarray) -> np.ndarray:
        """How many times each call (or each minute's count, when ``n`` are counts) is kept."""
        whole = math.floor(self.scale)
        frac = self.scale - whole
        if self.times is not None:  # n: ones, one per call
            keep = np.full(len(n), whole, dtype=np.int64)
            if frac > 0:
                keep += rng.random(len(n)) < frac
            return keep
        out = n * whole
        if frac > 0:
            out = out + rng.binomial(n, frac)
        return out

    def blocks(self, rng: np.random.Generator, horizon: float) -> Iterator[np.ndarray]:
        """Sorted arrival times in [0, horizon), in blocks of about :data:`BLOCK`."""
        if horizon <= 0:
            return
        if self.times is not None:
            yield from self._time_blocks(rng, horizon)
        else:
            yield from self._minute_blocks(rng, horizon)

    def _time_blocks(self, rng: np.random.Generator, horizon: float) -> Iterator[np.ndarray]:
        assert self.times is not None
        n = int(np.searchsorted(self.times, horizon, side="left"))
        for i in range(0, n, BLOCK):
            chunk = self.times[i:i + BLOCK]
            if self.scale != 1.0:
                chunk = np.repeat(chunk, self._scaled(rng, np.ones(len(chunk), dtype=np.int64)))
            if len(chunk):
                yield chunk.copy()

    def _minute_blocks(self, rng: np.random.Generator, horizon: float) -> Iterator[np.ndarray]:
        n_min = min(len(self.counts), int(math.ceil(horizon / MINUTE_S)))
        counts = self.counts[:n_min].astype(np.int64)
        if self.scale != 1.0:
            counts = self._scaled(rng, counts)
        ends = np.cumsum(counts)
        m = 0
        while m < n_min:
            base = int(ends[m - 1]) if m else 0
            # The first minute whose cumulative count reaches BLOCK more calls ends this block.
            m1 = min(max(int(np.searchsorted(ends, base + BLOCK, side="left")) + 1, m + 1), n_min)
            c = counts[m:m1]
            total = int(ends[m1 - 1]) - base
            m0, m = m, m1
            if total == 0:
                continue
            starts = np.repeat(np.arange(m0, m1, dtype=float) * MINUTE_S, c)
            if self.spread == "even":
                per = np.repeat(c, c).astype(float)
                j = np.arange(total) - np.repeat(np.cumsum(c) - c, c)
                times = starts + (j + 0.5) * (MINUTE_S / per)
            else:
                times = starts + rng.random(total) * MINUTE_S
                times.sort()  # minutes do not overlap, so one sort orders the block
            if m1 * MINUTE_S > horizon:
                times = times[times < horizon]
            if len(times):
                yield times
