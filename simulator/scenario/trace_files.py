"""Trace files parsed into series of calls, one per function (SPEC §2 ``{process: trace, ...}``); what the series
mean and how they are replayed is :mod:`simulator.scenario.traces`.

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

Limits (a trace file is untrusted input, see :mod:`simulator.inputs`): a regular file of at most 1 GiB; at most
60,000,000 calls in one minute of one function (1,000,000 per second, the largest rate a scenario may state); a trace
spans at most 366 days. Beyond them a count would wrap around in a fixed-width integer or an array of minutes would
not fit in memory, so the file is refused with one line instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..errors import VpcsimError
from ..inputs import MAX_TRACE_BYTES, InputFileError, column_label, column_names, excerpt, open_regular_file
from ..units import MAX_HORIZON_S, MAX_RATE_PER_S, format_duration

__all__ = ["TraceError", "ParsedTrace", "READERS", "FORMATS", "MINUTE_S", "MAX_CALLS_PER_MINUTE", "MAX_MINUTES"]

FORMATS = ("timestamps", "per_minute", "azure2019", "azure2021")
MINUTE_S = 60.0
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


class ParsedTrace(NamedTuple):
    """What a reader makes of a file: every function's series (calls per minute as int64 arrays when ``minutes``,
    else sorted arrival times in seconds), the file line where each function's rows begin, the names a function may
    also be given by (``aliases``), a table of what else the file says of each function (``meta``), and the number
    of the file's first minute column."""

    path: str
    format: str
    minutes: bool
    series: dict[str, np.ndarray]
    lines: dict[str, int]
    aliases: dict[str, str | None] | None = None
    meta: pd.DataFrame | None = None
    first_minute: int = 0


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


def _read_timestamps(path: Path) -> ParsedTrace:
    df, first_line, tcol = _read_column(path, _TIME_COLUMNS, "time", "timestamp")
    fcol = _find(df, ("function",))
    seconds = _times(path, df, tcol, first_line)
    _span(path, seconds, "calls")
    seconds = seconds - seconds.min()
    series, lines = _group(path, df, fcol, seconds, first_line, sort=True)
    return ParsedTrace(str(path), "timestamps", False, series, lines)


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


def _read_per_minute(path: Path) -> ParsedTrace:
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
        return ParsedTrace(str(path), "per_minute", True, series, lines)
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
    return ParsedTrace(str(path), "per_minute", True, series, lines)


def _read_azure2019(path: Path) -> ParsedTrace:
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
    return ParsedTrace(str(path), "azure2019", True, series, lines, aliases, meta, first_minute=numbers[0])


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


def _read_azure2021(path: Path) -> ParsedTrace:
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
    return ParsedTrace(str(path), "azure2021", False, series, lines, _aliases(df["function"], funcs))


READERS: dict[str, Callable[[Path], ParsedTrace]] = {
    "timestamps": _read_timestamps,
    "per_minute": _read_per_minute,
    "azure2019": _read_azure2019,
    "azure2021": _read_azure2021,
}
