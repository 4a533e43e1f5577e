"""Scenarios built from what a team has measured (SPEC §2, §6 ``vpcsim import``): the Azure Functions Trace 2019.

:func:`import_azure2019` turns a folder of the trace (the vHive samples' ``invocations.csv``, ``durations.csv``,
``memory.csv``, or one day of the full data set) into scenario data: one function per trace function, whose arrivals
replay its row of the invocation file (a ``trace`` process, ``format: azure2019``), whose duration is the empirical
distribution of its percentile columns, and whose memory is derived from its measured memory. The VPC section comes
from options, so the result is a legacy-VPC what-if ready to run. The rules, also written into the scenario's
``description``:

- **duration**: ``percentile_Average_{0,1,25,50,75,99,100}`` (ms) → ``{dist: empirical, percentiles: ...}``, a
  piecewise-linear inverse CDF through those points. The trace's percentiles are of per-interval *averages*, so the
  replayed spread is somewhat narrower than the true per-call spread; a decrease between percentiles (a data glitch)
  is flattened to the running maximum.
- **timeout**: the function's largest duration (``Maximum``, ``percentile_Average_100``) rounded up to a whole second,
  at least Lambda's default 3 s and at most its limit of 900 s (DOMAIN §1, §7); a function that ran longer than 900 s
  on Azure times out on Lambda, and the importer says so.
- **memory_mb**: ``AverageAllocatedMb_pct99`` (the 99th percentile of the memory the function used; the sampler split
  each app's memory evenly over its functions) rounded up to a Lambda size: at least 128 MB, in 64 MB steps up to
  3008 MB on ``legacy`` (the sizes of that era, DOMAIN §1), in 1 MB steps up to 10240 MB on ``hyperplane``. A memory
  file of the full data set is per app (no ``HashFunction`` column): each function then gets its app's figure. A
  function without a memory row gets 128 MB, and the importer says so.
- **name**: ``TRIGGER-HASH`` with the first 8 characters of ``HashFunction`` (more when two would clash).
- **duration of the run**: the trace's minutes (480 minutes = 8 h for the samples), timestep 10 s by default.
- **a window** (``start_s``/``end_s``, the CLI's ``--from``/``--to``): in the trace's own time, where the minute
  column ``N`` is the minute that starts ``N`` minutes into the trace's day (the samples' ``480`` .. ``959`` are
  08:00 .. 16:00; the full data set's ``1`` .. ``1440``). The window ``[start, end)`` takes the columns with
  ``start <= N min < end``: ``--from 9h --to 10h`` is columns ``540`` .. ``599``. Both are whole minutes inside the
  trace (``start`` from its first column, ``end`` up to the end of its last); either may be left out (the trace's
  start, its end). Those minutes are written beside the scenario as a ``per_minute`` trace
  (``SCENARIO.invocations.csv``: ``function,minute,count`` with the trace's own minute numbers and the scenario's
  function names), so that time 0 of the scenario is the window's start; the scenario's duration is the window's
  length, ``top`` ranks by the calls inside it, and every figure (invocations, peak) is the window's.
"""

from __future__ import annotations

import ipaddress
import math
import os
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..errors import ArgumentError, VpcsimError, require_int, require_number
from ..inputs import MAX_TRACE_BYTES, InputFileError, column_names, excerpt, open_regular_file
from ..scenario.traces import MINUTE_S, TraceError, read_table
from ..units import format_duration
from .common import check_region

__all__ = ["ImportProblem", "Imported", "import_azure2019", "lambda_memory_mb", "azure2019_files"]

PERCENTILES = (0, 1, 25, 50, 75, 99, 100)
MIN_MEMORY_MB = 128  # DOMAIN §1: 128 MB is the smallest Lambda size, then and now
LEGACY_STEP_MB, LEGACY_MAX_MB = 64, 3008  # DOMAIN §1: 128..3008 MB in 64 MB steps (the legacy VPC era)
MAX_MEMORY_MB = 10240  # DOMAIN §1: today 128..10240 MB in 1 MB steps
DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S = 3, 900  # DOMAIN §1, §7: Lambda's default timeout, and its maximum
MEMORY_COLUMN = "AverageAllocatedMb_pct99"
DAYS = 14  # the full data set's days, d01..d14 (a sample folder holds one day and ignores the day)
CITATION = ("Azure Functions Trace 2019 (Shahrad et al., Serverless in the Wild, USENIX ATC 2020; data CC-BY "
            "Microsoft)")


class ImportProblem(VpcsimError, ValueError):
    """Input the importer cannot use (a folder, a file, an option): one line for the user."""


@dataclass
class Imported:
    """What an import produced: the scenario ``data`` (plain dicts, as YAML would load), its ``text`` (YAML with
    comments), ``notes`` for the user (functions skipped, memory or timeout clipped...) and the files to write
    beside the scenario (a window's trace: file name -> text)."""

    data: dict[str, Any]
    text: str
    notes: list[str] = field(default_factory=list)
    functions: pd.DataFrame | None = None  # one row per imported function: name, hash, trigger, figures
    extra_files: dict[str, str] = field(default_factory=dict)


def lambda_memory_mb(used_mb: float, platform: str = "legacy") -> int:
    """The Lambda memory size that holds ``used_mb``: rounded up to a 64 MB step (legacy) or a whole MB
    (hyperplane), at least 128 MB, at most the platform's largest size."""
    if not math.isfinite(used_mb) or used_mb <= 0:
        return MIN_MEMORY_MB
    if platform == "legacy":
        size = math.ceil(used_mb / LEGACY_STEP_MB - 1e-9) * LEGACY_STEP_MB
        return int(min(max(size, MIN_MEMORY_MB), LEGACY_MAX_MB))
    return int(min(max(math.ceil(used_mb - 1e-9), MIN_MEMORY_MB), MAX_MEMORY_MB))


@dataclass
class _Files:
    invocations: Path
    durations: Path
    memory: Path


def azure2019_files(directory: str | Path, day: int = 1) -> _Files:
    """The three files of one day of the trace in ``directory``: the samples' names, or the full data set's."""
    d = Path(directory)
    if not d.exists():
        raise ImportProblem(f"{d}: no such folder")
    if not d.is_dir():
        raise ImportProblem(f"{d}: not a folder (give the folder that holds invocations.csv)")
    sample = _Files(d / "invocations.csv", d / "durations.csv", d / "memory.csv")
    full = _Files(d / f"invocations_per_function_md.anon.d{day:02d}.csv",
                  d / f"function_durations_percentiles.anon.d{day:02d}.csv",
                  d / f"app_memory_percentiles.anon.d{day:02d}.csv")
    for files in (sample, full):
        if files.invocations.exists():
            for p in (files.durations, files.memory):
                if not p.exists():
                    raise ImportProblem(f"{p}: missing (an Azure 2019 trace folder has the invocation, duration "
                                        f"and memory files of the same day)")
            return files
    raise ImportProblem(f"{d}: no invocations.csv (nor invocations_per_function_md.anon.d{day:02d}.csv): not a "
                        f"folder of the Azure Functions Trace 2019")


def _csv(path: Path, needed: tuple[str, ...]) -> pd.DataFrame:
    try:
        # A regular file of bounded size, opened without blocking (simulator.inputs), not a path pandas opens.
        with open_regular_file(path, what="a trace file", limit_bytes=MAX_TRACE_BYTES) as fh:
            # Only an empty cell is missing: "n/a" or "-" is a bad value, to be reported as written.
            df = pd.read_csv(fh, dtype={"HashOwner": str, "HashApp": str, "HashFunction": str},
                             keep_default_na=False, na_values=[""])
    except InputFileError as exc:
        raise ImportProblem(str(exc)) from None
    except pd.errors.EmptyDataError:
        raise ImportProblem(f"{path}: empty file (got nothing)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = excerpt(str(exc).strip().splitlines()[0] if str(exc).strip() else "", 120).strip("'")
        raise ImportProblem(f"{path}: not a readable CSV file: {reason}") from None
    df.columns = [str(c).strip() for c in df.columns]
    for c in needed:
        if c not in df.columns:
            raise ImportProblem(f"{path}:1: no column {c!r} (got {column_names(df.columns, _known)})")
    return df


def _known(name: str) -> bool:
    """A column of the Azure 2019 files: safe to name in a message (another file's header may hold anything)."""
    return name in ("HashOwner", "HashApp", "HashFunction", "Trigger", "Average", "Count", "Minimum", "Maximum",
                    MEMORY_COLUMN, "AverageAllocatedMb", "SampleCount") or name.startswith(
        ("percentile_Average_", "AverageAllocatedMb_pct")) or (name.isascii() and name.isdigit() and len(name) <= 9)


def _numeric(path: Path, df: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        cell = df[column].iloc[i]
        shown = "an empty cell" if pd.isna(cell) else excerpt(cell)
        raise ImportProblem(f"{path}:{i + 2}: column {column!r}: not a number (got {shown})")
    return values.to_numpy(dtype=float)


def _durations(path: Path) -> dict[str, tuple[np.ndarray, float]]:
    """HashFunction → (the percentile values in ms, the largest duration in ms)."""
    cols = tuple(f"percentile_Average_{p}" for p in PERCENTILES)
    df = _csv(path, ("HashFunction", *cols))
    values = np.column_stack([_numeric(path, df, c) for c in cols])
    top = values[:, -1]
    if "Maximum" in df.columns:
        top = np.maximum(top, np.nan_to_num(pd.to_numeric(df["Maximum"], errors="coerce").to_numpy(float)))
    out: dict[str, tuple[np.ndarray, float]] = {}
    for h, row, mx in zip(df["HashFunction"].astype(str).str.strip(), values, top, strict=True):
        out.setdefault(h, (row, float(mx)))
    return out


def _memory(path: Path) -> tuple[dict[str, float], str]:
    """HashFunction (or HashApp in the full data set) → used MB; and which of the two it is keyed by."""
    df = _csv(path, ())
    column = MEMORY_COLUMN if MEMORY_COLUMN in df.columns else "AverageAllocatedMb"
    if column not in df.columns:
        raise ImportProblem(f"{path}:1: no column {MEMORY_COLUMN!r} (got {column_names(df.columns, _known)})")
    by = "HashFunction" if "HashFunction" in df.columns else "HashApp"
    if by not in df.columns:
        raise ImportProblem(f"{path}:1: no column 'HashFunction' or 'HashApp' (got {column_names(df.columns, _known)})")
    values = _numeric(path, df, column)
    return dict(zip(df[by].astype(str).str.strip(), values, strict=True)), by


def _names(triggers: list[str], hashes: list[str]) -> list[str]:
    """``trigger-hash8``, with longer hashes where 8 characters would clash."""
    clean = []
    for t in triggers:
        word = "".join(ch if ch in string.ascii_letters + string.digits else "-" for ch in t.lower()).strip("-")
        clean.append(word or "fn")
    n = 8
    while True:
        names = [f"{t}-{h[:n]}" for t, h in zip(clean, hashes, strict=True)]
        if len(set(names)) == len(names) or n >= 40:
            return names
        n += 4


def _subnets(count: int, prefix: int, vpc_cidr: str, azs: int | None, region: str) -> list[dict[str, Any]]:
    if count < 1:
        raise ImportProblem(f"--subnets must be at least 1 (got {count})")
    if not 16 <= prefix <= 28:  # DOMAIN §3
        raise ImportProblem(f"--cidr-prefix: a subnet is /16 to /28 (got /{prefix})")
    try:
        net = ipaddress.IPv4Network(vpc_cidr, strict=True)
    except ValueError as exc:
        raise ImportProblem(f"--vpc-cidr: not an IPv4 CIDR block like 10.0.0.0/16: {exc}") from None
    if prefix < net.prefixlen:
        raise ImportProblem(f"--cidr-prefix /{prefix} is larger than the VPC {net}")
    room = 2 ** (prefix - net.prefixlen)
    if count > room:
        raise ImportProblem(f"--subnets: the VPC {net} holds {room} subnets of /{prefix} (got {count})")
    n_azs = min(count, 6) if azs is None else azs
    if not 1 <= n_azs <= 26:
        raise ImportProblem(f"--azs must be between 1 and 26 (got {n_azs})")
    blocks = net.subnets(new_prefix=prefix)
    out = []
    for i in range(count):
        letter = string.ascii_lowercase[i % n_azs]
        sid = f"private-{letter}" if count <= n_azs else f"private-{letter}{i // n_azs + 1}"
        out.append({"id": sid, "az": f"{region}{letter}", "cidr": str(next(blocks)), "route": "nat"})
    return out


def _ms(value_ms: float) -> str:
    """A duration in the trace's own unit, exact: ``"1265ms"``."""
    return f"{value_ms:.6g}ms" if value_ms else "0s"


def import_azure2019(
    directory: str | Path,
    *,
    out_file: str | Path | None = None,
    top: int | None = None,
    functions: list[str] | None = None,
    day: int = 1,
    platform: str = "legacy",
    subnets: int = 2,
    cidr_prefix: int = 24,
    vpc_cidr: str = "10.0.0.0/16",
    azs: int | None = None,
    region: str = "us-east-1",
    name: str | None = None,
    scale: float = 1.0,
    spread: str | None = None,
    timestep_s: float = 10.0,
    start_s: float | None = None,
    end_s: float | None = None,
) -> Imported:
    """Scenario data replaying ``directory`` (an Azure Functions Trace 2019 folder); see the module docstring.

    ``top``: the N functions with the most invocations (after ``functions`` when both are given; ties by hash).
    ``functions``: hashes (``HashFunction``, ``HashApp/HashFunction`` or a prefix of at least 6 characters).
    ``out_file``: where the scenario will be written; the trace path is written relative to it when possible.
    ``start_s``, ``end_s``: the window ``[start_s, end_s)`` of the trace's own time to import (seconds; either may
    be None); its trace goes beside ``out_file`` (``Imported.extra_files``), which is then required.
    Raises :class:`ImportProblem` with a one-line message.
    """
    if platform not in ("legacy", "hyperplane"):
        raise ImportProblem(f"--platform must be legacy or hyperplane (got {platform!r})")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int)):
        raise ArgumentError(f"import_azure2019(): top must be a whole number or None, got {top!r}")
    if top is not None and top < 1:
        raise ImportProblem(f"--top must be at least 1 (got {top})")
    day = require_int(day, "import_azure2019", "day", minimum=1, maximum=DAYS)
    if isinstance(functions, str) or (functions is not None and not isinstance(functions, list | tuple)):
        raise ArgumentError(f"import_azure2019(): functions must be a list of hashes, got {functions!r}")
    scale = require_number(scale, "import_azure2019", "scale")
    if scale < 0:
        raise ImportProblem(f"--scale must be a number >= 0 (got {scale})")
    timestep_s = require_number(timestep_s, "import_azure2019", "timestep_s")
    if timestep_s <= 0:
        raise ImportProblem(f"timestep_s must be above 0 (got {timestep_s:g})")
    check_region(region, "import_azure2019")
    if spread not in (None, "poisson", "even"):
        raise ImportProblem(f"--spread must be poisson or even (got {spread!r})")
    files = azure2019_files(directory, day)
    try:
        table = read_table(files.invocations, "azure2019")
    except TraceError as exc:
        raise ImportProblem(str(exc)) from None
    durations = _durations(files.durations)
    memory, memory_by = _memory(files.memory)
    meta = table.meta
    assert meta is not None
    notes: list[str] = []
    window = start_s is not None or end_s is not None
    lo, hi = _window(table.first_minute, table.n_minutes, start_s, end_s)  # column indices [lo, hi)
    trace_name = None
    if window:
        if out_file is None:
            raise ImportProblem("--from/--to write the window's invocations beside the scenario: give --out FILE")
        trace_name = f"{Path(out_file).stem}.invocations.csv"
    totals = {k: int(table.series[k][lo:hi].sum(dtype=np.int64)) for k in meta.index}
    meta = meta.assign(total=[totals[k] for k in meta.index])

    if functions:
        keys: list[str] = []
        for h in functions:
            try:
                key = table.select(h.strip())
            except TraceError as exc:
                raise ImportProblem(f"--functions: {exc}") from None
            if key not in keys:
                keys.append(key)
    else:
        keys = list(meta.index)
    chosen = meta.loc[keys]
    missing = [k for k in chosen.index if chosen.at[k, "HashFunction"] not in durations]
    if missing:
        if functions:
            h = str(chosen.at[missing[0], "HashFunction"])
            raise ImportProblem(f"--functions: {h[:12]} has no row in {files.durations}: its duration is unknown")
        notes.append(f"{len(missing)} function(s) without a row in {files.durations.name} were skipped "
                     f"(their duration is unknown)")
        chosen = chosen.drop(index=missing)
    if chosen.empty:
        raise ImportProblem(f"{files.invocations}: no function to import")
    chosen = chosen.assign(_neg=-chosen["total"]).sort_values(["_neg", "HashFunction"]).drop(columns="_neg")
    available = len(chosen)
    if top is not None:
        if top > available:
            notes.append(f"--top {top}: the trace has {available} functions; all imported")
        chosen = chosen.head(top)

    trace_path = files.invocations.resolve()
    if trace_name is not None:
        file_ref = trace_name  # beside the scenario
    elif out_file is not None:
        base = Path(out_file).resolve().parent
        try:
            file_ref = os.path.relpath(trace_path, base)
        except ValueError:  # another drive (Windows): keep it absolute
            file_ref = str(trace_path)
    else:
        file_ref = str(trace_path)

    subnet_list = _subnets(subnets, cidr_prefix, vpc_cidr, azs, region)
    subnet_ids = [s["id"] for s in subnet_list]
    names = _names(list(chosen["Trigger"]), list(chosen["HashFunction"]))
    fns: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    no_memory = 0
    too_long = 0
    for name_, (index, row) in zip(names, chosen.iterrows(), strict=True):
        key = str(index)
        h = str(row["HashFunction"])
        pct_ms, max_ms = durations[h]
        pct_ms = np.maximum.accumulate(np.maximum(pct_ms, 0.0))
        mem_key = h if memory_by == "HashFunction" else row["HashApp"]
        used = memory.get(mem_key)
        if used is None:
            no_memory += 1
        mem = lambda_memory_mb(used if used is not None else 0.0, platform)
        top_s = max(max_ms, pct_ms[-1]) / 1000.0
        if top_s > MAX_TIMEOUT_S:
            too_long += 1
        timeout = int(min(max(math.ceil(top_s - 1e-9), DEFAULT_TIMEOUT_S), MAX_TIMEOUT_S))
        arrival: dict[str, Any] = ({"process": "trace", "format": "per_minute", "file": file_ref, "function": name_}
                                   if window else
                                   {"process": "trace", "format": "azure2019", "file": file_ref, "function": h})
        if scale != 1.0:
            arrival["scale"] = scale
        if spread is not None:
            arrival["spread"] = spread
        fns.append({
            "name": name_,
            "memory_mb": mem,
            "subnets": list(subnet_ids),
            "timeout": format_duration(timeout),
            "duration": {"dist": "empirical",
                         "percentiles": {p: _ms(float(v)) for p, v in zip(PERCENTILES, pct_ms, strict=True)}},
            "arrivals": [arrival],
        })
        counts = table.series[key][lo:hi]
        rows.append({
            "name": name_, "hash": h, "app": row["HashApp"], "trigger": row["Trigger"],
            "invocations": int(row["total"]), "peak_per_min": int(counts.max()) if len(counts) else 0,
            "used_mb_p99": used, "memory_mb": mem, "duration_p50_ms": float(pct_ms[3]),
            "duration_p99_ms": float(pct_ms[5]), "timeout_s": timeout,
            "mean_concurrency": float(row["total"]) / ((hi - lo) * MINUTE_S) * _mean_ms(pct_ms) / 1000.0,
        })
    if no_memory:
        notes.append(f"{no_memory} function(s) without a row in {files.memory.name} got {MIN_MEMORY_MB} MB")
    if too_long:
        notes.append(f"{too_long} function(s) ran longer than Lambda's {MAX_TIMEOUT_S} s limit on Azure: their "
                     f"longest calls time out")

    if window:
        silent = sum(1 for r in rows if r["invocations"] == 0)
        if silent:
            notes.append(f"{silent} function(s) have no calls in the window")
    n_min = hi - lo
    first = table.first_minute + lo
    minutes = f"minutes {first}..{first + n_min - 1}"
    taken = ""  # which window was taken, for the description and the header
    if window:
        taken = (f"the window --from {format_duration(first * MINUTE_S)} --to "
                 f"{format_duration((first + n_min) * MINUTE_S)} of its minutes {table.first_minute}.."
                 f"{table.first_minute + table.n_minutes - 1}, re-based: time 0 is minute {first}")
    total = int(chosen["total"].sum())
    selection = (f"the {len(chosen)} busiest of {available} functions" if top is not None and top < available
                 else f"{len(chosen)} function{'s' * (len(chosen) != 1)}")
    size = ("64 MB steps up to 3008 MB" if platform == "legacy" else "1 MB steps up to 10240 MB")
    description = (
        f"Replay of {CITATION}, {files.invocations.parent.name}/{files.invocations.name}: {selection}, "
        f"{total:,} invocations in {minutes} ({format_duration(n_min * MINUTE_S)}{'; ' + taken if taken else ''}). "
        f"Durations: empirical from "
        f"percentile_Average_0..100. Memory: {MEMORY_COLUMN if memory_by == 'HashFunction' else 'the app`s memory'} "
        f"rounded up to a Lambda size (at least 128 MB, {size}). Timeout: the longest duration rounded up "
        f"(3 s to 900 s)."
    )
    data: dict[str, Any] = {
        "version": 1,
        "name": name or f"azure2019-{Path(directory).resolve().name}" + (f"-top{top}" if top else ""),
        "description": description,
        "platform": platform,
        "duration": format_duration(n_min * MINUTE_S),
        "timestep": format_duration(timestep_s),
        "vpc": {"subnets": subnet_list},
        "functions": fns,
    }
    table_rows = pd.DataFrame(rows)
    where = minutes + (f": {taken}; its calls per minute are in {trace_name} beside this file" if taken else "")
    text = _render(data, table_rows, directory, where, str(out_file) if out_file is not None else None)
    extra: dict[str, str] = {}
    if trace_name is not None:
        extra[trace_name] = _window_csv([(r["name"], table.series[k][lo:hi]) for r, k in
                                         zip(rows, chosen.index, strict=True)], first)
    return Imported(data=data, text=text, notes=notes, functions=table_rows, extra_files=extra)


def _window(first_minute: int, n_minutes: int, start_s: float | None, end_s: float | None) -> tuple[int, int]:
    """The column indices ``[lo, hi)`` of the window ``[start_s, end_s)`` of the trace's own time (the column of
    minute ``first_minute + i`` starts at ``(first_minute + i) * 60`` s); one-line errors naming the option."""
    begin, end = first_minute * MINUTE_S, (first_minute + n_minutes) * MINUTE_S
    span = (f"the trace covers {format_duration(begin)}..{format_duration(end)} of its day, minutes "
            f"{first_minute}..{first_minute + n_minutes - 1}")
    for option, value in (("--from", start_s), ("--to", end_s)):
        if value is None:
            continue
        if not math.isfinite(value) or value < 0:
            raise ImportProblem(f"{option} must be a time of the trace's day >= 0 (got {format_duration(value)})")
        if abs(value / MINUTE_S - round(value / MINUTE_S)) > 1e-9:
            raise ImportProblem(f"{option} {format_duration(value)}: the trace counts calls per minute: give whole "
                                f"minutes (e.g. 9h, 9h30m)")
    lo_s = begin if start_s is None else start_s
    hi_s = end if end_s is None else end_s
    if start_s is not None and end_s is not None and start_s >= end_s:
        raise ImportProblem(f"--from {format_duration(start_s)} must be before --to {format_duration(end_s)}")
    if not begin <= lo_s < end:
        raise ImportProblem(f"--from {format_duration(lo_s)}: outside the trace: --from is "
                            f"{format_duration(begin)}..{format_duration(end - MINUTE_S)} ({span})")
    if not begin < hi_s <= end:
        raise ImportProblem(f"--to {format_duration(hi_s)}: outside the trace: --to is "
                            f"{format_duration(begin + MINUTE_S)}..{format_duration(end)} ({span})")
    return round(lo_s / MINUTE_S) - first_minute, round(hi_s / MINUTE_S) - first_minute


def _window_csv(series: list[tuple[str, np.ndarray]], first_minute: int) -> str:
    """A ``per_minute`` trace of the window: ``function,minute,count`` with the trace's own minute numbers. A
    function's minutes without calls are left out, but for the window's first and last, written for every function
    (so that minute 0 of the replay is the window's start and the trace spans the whole window)."""
    lines = ["function,minute,count"]
    for name, counts in series:
        last = len(counts) - 1
        keep = sorted({0, last} | {int(i) for i in np.flatnonzero(counts)})
        lines += [f"{name},{first_minute + i},{int(counts[i])}" for i in keep]
    return "\n".join(lines) + "\n"


def _mean_ms(pct_ms: np.ndarray) -> float:
    q = np.array(PERCENTILES, dtype=float) / 100.0
    return float(np.sum(np.diff(q) * (pct_ms[:-1] + pct_ms[1:]) / 2))


def _render(data: dict[str, Any], rows: pd.DataFrame, directory: str | Path, minutes: str,
            out_name: str | None) -> str:
    """YAML with a header and one comment line per function saying what the trace measured."""
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)
    notes = {r["name"]: (f"# {r['trigger']} {r['hash'][:12]}: {r['invocations']:,} invocations (peak "
                         f"{r['peak_per_min']:,}/min), duration p50 {r['duration_p50_ms']:g} ms, "
                         f"p99 {r['duration_p99_ms']:g} ms, used memory p99 "
                         + (f"{r['used_mb_p99']:.1f} MB" if r["used_mb_p99"] is not None and
                            not pd.isna(r["used_mb_p99"]) else "unknown"))
             for _, r in rows.iterrows()}
    out = []
    for line in body.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("- name: "):
            note = notes.get(stripped[len("- name: "):].strip().strip("'\""))
            if note:
                out.append(" " * (len(line) - len(stripped)) + note)
        out.append(line)
    first = data["vpc"]["subnets"][0]["id"]
    header = (f"# Imported by `vpcsim import azure2019 {directory}` from the {CITATION}, {minutes}.\n"
              f"# A what-if: these functions in a VPC. Try other subnets with --set, e.g.\n"
              f"#   vpcsim run {out_name or 'SCENARIO.yaml'} --set vpc.subnets.{first}.cidr=10.0.0.0/23\n")
    return header + "\n".join(out) + "\n"
