"""CloudWatch metrics to a load: per-minute invocations as a trace, durations as an empirical distribution.

The input is what ``GetMetricData`` answers (``aws cloudwatch get-metric-data`` prints it, and :mod:`.aws` asks for
it): ``{"MetricDataResults": [{"Id", "Label", "Timestamps", "Values", "StatusCode"}]}``. Each result's ``Label``
says what it is, ``FUNCTION METRIC STAT`` (CloudWatch writes it from the query's dynamic label
``${PROP('Dim.FunctionName')} ${PROP('MetricName')} ${PROP('Stat')}``; docs/import.md has the query file):

- ``FUNCTION Invocations Sum`` at a 60 s period: calls per minute, written as a ``per_minute`` trace (one CSV file,
  columns ``function, minute, count``; minute 0 is the window's first minute, or in a file the first datapoint's,
  for every function);
- ``FUNCTION Duration pNN`` (``p50``, ``p90``, ``p99``...), ``Minimum``, ``Maximum``, ``Average`` (milliseconds):
  the duration distribution. With percentiles it is ``{dist: empirical}`` through ``0: Minimum``, the percentiles
  and ``100: Maximum`` (without Minimum the lowest percentile stands for 0, without Maximum the highest stands for
  100, and the header says so). With only Average, Minimum and Maximum (an endpoint that cannot compute percentiles)
  it is the empirical distribution through ``(0, Minimum)``, ``(q, Average)``, ``(100, Maximum)`` with
  ``q = 100 (Maximum - Average) / (Maximum - Minimum)``, whose mean is the Average exactly (the figure the capacity
  calculator uses). A statistic given at several periods is combined over them: ``Maximum`` the largest,
  ``Minimum`` the smallest, ``Average`` and the percentiles weighted by each period's invocations (for percentiles
  an approximation; a single period covering the window is exact).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .common import SourceError, parse_source_json, read_source_text

__all__ = ["Metrics", "read_metric_data", "parse_results", "load_entries", "trace_csv", "METRICS", "label_of"]

METRICS = ("Invocations", "Duration", "ConcurrentExecutions", "Throttles", "Errors")
_STAT = re.compile(r"(Sum|Average|Minimum|Maximum|SampleCount|p\d+(\.\d+)?)")


def label_of(function: str, metric: str, stat: str) -> str:
    return f"{function} {metric} {stat}"


@dataclass
class Metrics:
    """One function's metrics."""

    name: str
    invocations: dict[datetime, float] = field(default_factory=dict)  # period start -> calls
    duration: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)  # stat -> (time, ms)
    extra: dict[str, float] = field(default_factory=dict)  # ConcurrentExecutions Maximum, Throttles Sum...

    @property
    def total(self) -> int:
        return int(round(sum(self.invocations.values())))


def _time(value: Any, where: str, label: str) -> datetime:
    if isinstance(value, datetime):
        t = value
    else:
        try:
            t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise SourceError(f"{where}: not a timestamp (got {value!r})", label) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def parse_results(results: Any, label: str, notes: list[str], optional: tuple[str, ...] = ()) -> dict[str, Metrics]:
    """Metrics by function from ``MetricDataResults``. A result whose status is not ``Complete`` is an error, a
    note for ``PartialData``, and skipped with a note for the statistics in ``optional``."""
    if not isinstance(results, list):
        raise SourceError("MetricDataResults must be a list", label)
    out: dict[str, Metrics] = {}
    for i, r in enumerate(results):
        where = f"MetricDataResults[{i}]"
        if not isinstance(r, dict):
            raise SourceError(f"{where}: not a result object", label)
        text = str(r.get("Label") or "")
        parts = text.split()
        if len(parts) != 3 or parts[1] not in METRICS or not _STAT.fullmatch(parts[2]):
            raise SourceError(f"{where} (Id {r.get('Id')!r}): the Label must say FUNCTION METRIC STAT, like "
                              f"'checkout Invocations Sum' or 'checkout Duration p99' (got {text!r}); set the "
                              f"queries' Label to \"${{PROP('Dim.FunctionName')}} ${{PROP('MetricName')}} "
                              f"${{PROP('Stat')}}\" (docs/import.md)", label)
        fn, metric, stat = parts
        status = r.get("StatusCode", "Complete")
        if status == "PartialData":
            notes.append(f"{where} ({text}): PartialData: CloudWatch had more datapoints than this answer holds "
                         f"(NextToken); the load uses what is here")
        elif status != "Complete":
            if stat in optional:
                notes.append(f"{text}: {status}: left out")
                continue
            raise SourceError(f"{where} ({text}): status {status}", label)
        times, values = r.get("Timestamps") or [], r.get("Values") or []
        if len(times) != len(values):
            raise SourceError(f"{where} ({text}): {len(times)} Timestamps but {len(values)} Values", label)
        m = out.setdefault(fn, Metrics(fn))
        points = []
        for k, (t, v) in enumerate(zip(times, values, strict=True)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise SourceError(f"{where}.Values[{k}] ({text}): not a number >= 0 (got {v!r})", label)
            points.append((_time(t, f"{where}.Timestamps[{k}]", label), float(v)))
        if metric == "Invocations":
            if stat != "Sum":
                raise SourceError(f"{where} ({text}): Invocations are counted with the Sum statistic", label)
            for t, v in points:
                m.invocations[t] = m.invocations.get(t, 0.0) + v
        elif metric == "Duration":
            m.duration.setdefault(stat, []).extend(points)
        elif points:
            m.extra[f"{metric} {stat}"] = max(v for _, v in points) if stat != "Sum" else sum(v for _, v in points)
    return out


def read_metric_data(path: str | Path, label: str | None = None) -> tuple[dict[str, Metrics], list[str]]:
    """The metrics of an ``aws cloudwatch get-metric-data`` answer saved to a file."""
    label = label or str(path)
    p = Path(path)
    text = read_source_text(p, label, "a CloudWatch metrics file")
    data = parse_source_json(text, label)
    if not isinstance(data, dict) or "MetricDataResults" not in data:
        raise SourceError("not what `aws cloudwatch get-metric-data` prints (no MetricDataResults)", label)
    notes: list[str] = []
    if data.get("NextToken"):
        notes.append("the file has a NextToken: CloudWatch had more results than this page; run the query again "
                     "with --next-token and give each page, or widen the period")
    metrics = parse_results(data["MetricDataResults"], label, notes)
    if not metrics:
        raise SourceError("no results in MetricDataResults", label)
    return metrics, notes


def _minute_grid(metrics: dict[str, Metrics], label: str) -> datetime | None:
    """The first minute of the data. Datapoints must sit on whole minutes; CloudWatch leaves out periods without
    data, so gaps are normal, but a function whose gaps are all multiples of 5 minutes (many of them) was asked at a
    300 s period."""
    for m in metrics.values():
        times = sorted(m.invocations)
        gaps = [int((b - a).total_seconds()) for a, b in zip(times, times[1:], strict=False)]
        for (a, b), gap in zip(zip(times, times[1:], strict=False), gaps, strict=True):
            if gap % 60:
                raise SourceError(f"{m.name} Invocations at {a.isoformat()} and {b.isoformat()}: not whole minutes "
                                  f"apart", label)
        period = math.gcd(*gaps) if gaps else 60
        if period % 300 == 0 and len(times) >= 10:  # CloudWatch periods: 60 s, then multiples of 300 s
            raise SourceError(f"{m.name} Invocations come every {period} s: a per-minute trace needs a 60 s period "
                              f"(ask GetMetricData for Period 60; CloudWatch keeps 1-minute data for 15 days)", label)
    first = [min(m.invocations) for m in metrics.values() if m.invocations]
    return min(first) if first else None


def trace_csv(metrics: dict[str, Metrics], label: str, start: datetime | None = None
              ) -> tuple[str, datetime | None, int]:
    """The ``per_minute`` trace of every function (``function,minute,count``) and its start and length in
    minutes. Minute 0 is ``start`` (the window's first minute) or else the first datapoint."""
    first = _minute_grid(metrics, label)
    start = start or first
    if start is None:
        return "function,minute,count\n", None, 0
    rows = ["function,minute,count"]
    last = 0
    for name, m in metrics.items():
        counts: dict[int, int] = {0: 0}  # minute 0 for every function: the file's time 0 is the window's start
        for t, v in m.invocations.items():
            minute = int((t - start).total_seconds() // 60)
            counts[minute] = counts.get(minute, 0) + int(round(v))
        for minute in sorted(counts):
            if counts[minute] or minute == 0:
                rows.append(f"{name},{minute},{counts[minute]}")
            last = max(last, minute)
    return "\n".join(rows) + "\n", start, last + 1


def _ms(v: float) -> str:
    return f"{v:.6g}ms"


def _combined(m: Metrics, stat: str) -> float | None:
    points = m.duration.get(stat)
    if not points:
        return None
    if stat == "Maximum":
        return max(v for _, v in points)
    if stat == "Minimum":
        return min(v for _, v in points)
    if len(points) == 1:
        return points[0][1]
    weights = [m.invocations.get(t, 0.0) for t, _ in points]
    if sum(weights) <= 0:
        return sum(v for _, v in points) / len(points)
    return sum(w * v for w, (_, v) in zip(weights, points, strict=True)) / sum(weights)


def duration_spec(m: Metrics, notes: list[str]) -> dict[str, Any] | str | None:
    """The function's duration distribution (scenario form), or None when there is no Duration statistic."""
    pct = {float(s[1:]): v for s in m.duration if s.startswith("p") and (v := _combined(m, s)) is not None}
    low, high, avg = _combined(m, "Minimum"), _combined(m, "Maximum"), _combined(m, "Average")
    if pct:
        points = dict(sorted(pct.items()))
        if low is None:
            notes.append(f"{m.name}: no Duration Minimum: p{min(points):g} stands for the shortest execution")
            low = points[min(points)]
        if high is None:
            notes.append(f"{m.name}: no Duration Maximum: p{max(points):g} stands for the longest execution")
            high = points[max(points)]
        points = {0.0: low, **{k: v for k, v in points.items() if 0 < k < 100}, 100.0: high}
        running = 0.0
        out: dict[float | int, str] = {}
        for k, v in points.items():
            running = max(running, v)  # percentiles of different periods can cross: keep them non-decreasing
            out[int(k) if k == int(k) else k] = _ms(running)
        return {"dist": "empirical", "percentiles": out}
    if avg is None:
        return None
    if low is None or high is None or high <= low:
        notes.append(f"{m.name}: only the Duration Average is known: a constant {_ms(avg)}")
        return _ms(avg)
    avg = min(max(avg, low), high)
    q = 100 * (high - avg) / (high - low)
    if q <= 0 or q >= 100:
        return {"dist": "uniform", "low": _ms(low), "high": _ms(high)}
    return {"dist": "empirical", "percentiles": {0: _ms(low), round(q, 4): _ms(avg), 100: _ms(high)}}


def load_entries(metrics: dict[str, Metrics], trace_file: str, notes: list[str],
                 label: str) -> dict[str, dict[str, Any]]:
    """The ``--load`` entries (function name -> load keys) of every function with calls in the window."""
    out: dict[str, dict[str, Any]] = {}
    for name, m in metrics.items():
        if m.total == 0:
            notes.append(f"{name}: no invocations in the window: no load")
            continue
        duration = duration_spec(m, notes)
        if duration is None:
            raise SourceError(f"{name}: Invocations but no Duration statistic (add Duration p50, p90, p99, Minimum "
                              f"and Maximum to the queries)", label)
        out[name] = {"arrivals": {"process": "trace", "file": trace_file, "format": "per_minute", "function": name},
                     "duration": duration}
    return out
