"""Replay of measured workloads (SPEC §2 ``{process: trace, ...}``): reading trace files, picking one function's
calls and placing them in time.

A trace file is parsed once per process (cached by file identity, modification time, size and format) into a
:class:`TraceTable` that holds every function of the file, so a scenario with 500 functions replaying the same file
reads it once. A :class:`Trace` is one function's series with the process's ``scale`` and ``spread``; it gives the
engine its arrival times in sorted blocks and the capacity calculator its rate.

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

Parsing the files (formats, limits, error lines) lives in :mod:`simulator.scenario.trace_files`.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..inputs import MAX_TRACE_BYTES, InputFileError, excerpt, open_regular_file
from .trace_files import FORMATS, MAX_CALLS_PER_MINUTE, MAX_MINUTES, MINUTE_S, READERS, TraceError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["TraceError", "TraceTable", "Trace", "read_table", "FORMATS", "MINUTE_S",
           "MAX_CALLS_PER_MINUTE", "MAX_MINUTES"]

log = logging.getLogger(__name__)

BLOCK = 1024
"""Arrival times yielded per block (about; a busy minute is never split). Small on purpose: the engine holds one
block of every function at a time, and a scenario may replay hundreds of functions."""
_CACHE_SIZE = 8  # parsed files kept in memory; a sweep over several traces stays bounded
_MIN_PREFIX = 6  # shortest prefix of a hash accepted as `function:`
# A function key that matches what the user wrote, quoted whole: app/func of the Azure traces (two 64-hex hashes)
# fits. Only keys like the user's own `function:` are quoted this long; any other cell as a short excerpt.
_KEY_CHARS = 140


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
    table = TraceTable(*READERS[format](p))
    _TABLES[key] = table
    while len(_TABLES) > _CACHE_SIZE:
        _TABLES.popitem(last=False)
    log.debug("read %s trace %s: %d series", format, p, len(table.series))
    return table


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
