"""Replications and parameter grids (SPEC §6 ``run --replications``, ``sweep``; §7 ``simulate.sweep``).

A replication is ``simulate(scenario, replication=i)``: the engine derives every random stream from
(seed, replication, stream name), so replication *i* is the same run on any machine and in any worker process, and
replication 0 is the plain single run. Replications run in the calling process (``workers=1``), in local processes
(``concurrent.futures.ProcessPoolExecutor``) or on a Dask cluster (``scheduler=ADDRESS``, the ``dask`` extra). The
results are put back in replication order before anything is computed from them, so the number of workers never
changes a figure.

:func:`aggregate` turns N summaries into one: every numeric metric becomes its mean (the summary keeps its shape),
and a ``replications`` section gives per metric ``{mean, ci_low, ci_high, sd, n, n_null}`` — a 95% Student-t
interval of the mean — plus one row of key figures per replication. :func:`sweep` runs a full grid of ``--set``
style changes × replications and returns a tidy DataFrame, one row per grid point and replication.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import logging
import math
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ArgumentError, VpcsimError, require_bool, require_int, require_mapping
from ..scenario.models import Scenario, require_scenario
from ..scenario.problems import ScenarioError
from ..scenario.sections import MAX_SEED
from ..summary import Summary, get, is_first_time, key_metrics, leaves, not_averaged, set_path
from .expectations import evaluate
from .results import SUMMARY_KEYS, Result, simulate

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "SweepError", "run_replications", "aggregate", "sweep", "sweep_means", "plot_sweep", "mean_ci",
    "t_quantile", "CONFIDENCE", "write_sweep",
]

log = logging.getLogger(__name__)

CONFIDENCE = 0.95

class SweepError(VpcsimError, ValueError):
    """A problem with how replications or a sweep were asked for (one line for the user)."""


# --------------------------------------------------------------------------------------------------- statistics


@functools.lru_cache(maxsize=256)
def t_quantile(confidence: float, df: int) -> float:
    """The two-sided Student-t critical value: ``t`` with P(|T| < t) = ``confidence`` (1.96 as df → ∞)."""
    if not 0 < confidence < 1 or df < 1:
        raise ValueError(f"need 0 < confidence < 1 and df >= 1 (got {confidence}, {df})")
    from scipy import stats  # a well-kept implementation rather than our own (scipy is a runtime dependency)

    return float(stats.t.ppf((1 + confidence) / 2, df))


def mean_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """``{mean, ci_low, ci_high, sd, n}`` of a sample: the Student-t interval of the mean. Every metric of a
    summary is a count, a rate, a time or a size, never negative: when no value is negative the interval is
    clipped at 0 (a failure rate of 0.0001 ± 0.0003 is [0, 0.0004], not [-0.0002, 0.0004]). With fewer than two
    values the interval is unknown (null)."""
    n = len(values)
    if n == 0:
        return {"mean": None, "ci_low": None, "ci_high": None, "sd": None, "n": 0}
    first = values[0]
    if all(v == first for v in values):
        # Identical values (a count that never moves, a deterministic scenario): keep the exact value and type.
        same = int(first) if isinstance(first, int) and not isinstance(first, bool) else float(first)
        return {"mean": same, "ci_low": same if n > 1 else None, "ci_high": same if n > 1 else None,
                "sd": 0.0 if n > 1 else None, "n": n}
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(confidence, n - 1) * sd / math.sqrt(n)
    low = mean - half
    if low < 0 <= min(values):
        low = 0.0
    return {"mean": mean, "ci_low": low, "ci_high": mean + half, "sd": sd, "n": n}


# --------------------------------------------------------------------------------------------------- aggregation


_FREE_IPS = "min_free_ips"  # the fewest free addresses of a run (overall, or ``min_free_ips.SUBNET`` of one subnet)
_USABLE = "usable_ips"  # a grid point's subnet size (the smallest, or ``usable_ips.SUBNET``): not measured, no interval


def _key_row(summary: Summary) -> dict[str, Any]:
    """One row of a sweep's table (or of a replicated run's): the key figures, by their columns."""
    row = {m.column: get(summary, path) for path, m in key_metrics(summary, columns=True) if m.column}  # all have one
    free = [s["min_free_ips"] for s in summary["subnets"].values()]
    row["min_free_ips"] = min(free) if free else None
    for sid, s in summary["subnets"].items():
        row[f"min_free_ips.{sid}"] = s["min_free_ips"]
    exps = summary.get("expectations")
    if exps is not None:
        row["expectations_passed"] = all(e["passed"] for e in exps)
    return row


def aggregate(scenario: Scenario, summaries: Sequence[Summary], *, wall_s: float | None = None,
              strict: bool = False) -> Summary:
    """One summary from the summaries of replications 0..N-1 (in that order).

    Every numeric metric is replaced by its mean; ``capacity`` and the scenario's identity are copied; ``wall_s``
    is the elapsed time of all replications. Nulls: a time of first occurrence (``first_failure_s``,
    ``first_outcome_s.*``, ``subnets.*.exhausted_s``) that did not happen in a replication is counted at the end of
    the run (``simulated_s``; a censored value, so the mean is a lower bound of when it happens) as long as it
    happened in at least one replication, and stays null (never) otherwise; any other null (e.g. a latency with no
    successful invocation) is left out of the mean. ``n_null`` counts both. ``replications`` holds ``n``,
    ``confidence``, ``strict``, ``metrics`` (dotted path → ``{mean, ci_low, ci_high, sd, n, n_null}``) and
    ``runs`` (the key figures of each replication). ``expectations`` are evaluated on the means (``strict``: on the
    unfavourable end of each interval)."""
    if not summaries:
        raise SweepError("no replications to aggregate")
    n = len(summaries)
    end_s = summaries[0]["simulated_s"]
    paths: dict[str, None] = {}
    skip = not_averaged(summaries[0])
    for s in summaries:
        for path, value in leaves({k: v for k, v in s.items() if k not in skip}):
            if not isinstance(value, str):
                paths.setdefault(path, None)
    out = copy.deepcopy({k: summaries[0][k] for k in SUMMARY_KEYS})
    out["first_outcome_s"] = {}
    metrics: dict[str, dict[str, Any]] = {}
    for path in paths:
        raw = [get(s, path) for s in summaries]
        first_time = is_first_time(path)
        nulls = sum(v is None for v in raw)
        if first_time and nulls < n:
            values = [end_s if v is None else v for v in raw]
        else:
            values = [v for v in raw if v is not None]
        stats = mean_ci(values)
        stats["n_null"] = nulls
        metrics[path] = stats
        if not (first_time and path.startswith("first_outcome_s.") and stats["mean"] is None):
            set_path(out, path, stats["mean"])
    # First outcomes in the order they come (by mean time), as in a single run.
    out["first_outcome_s"] = dict(sorted(out["first_outcome_s"].items(), key=lambda kv: kv[1]))
    out["wall_s"] = wall_s if wall_s is not None else math.fsum(s["wall_s"] for s in summaries)
    out["replications"] = {
        "n": n,
        "confidence": CONFIDENCE,
        "strict": strict,
        "metrics": metrics,
        "runs": [{"replication": i, **_key_row(s)} for i, s in enumerate(summaries)],
    }
    out["expectations"] = evaluate(scenario, out, strict=strict) if scenario.expect else None
    return out


# --------------------------------------------------------------------------------------------------- execution


def _replicate_recording(task: tuple[Scenario, int | None, int, bool]):
    """One replication, keeping replication 0's invocations (module level: worker processes unpickle it)."""
    scenario, seed, replication, full = task
    res = simulate(scenario, seed=seed, record_invocations=full, replication=replication)
    return (res.summary, res.timeseries, res.invocations) if full else (res.summary, None, None)


def _workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise SweepError(f"workers must be a whole number >= 0 (0: one per CPU), got {type(workers).__name__} "
                         f"{workers!r}")
    if workers < 0:
        raise SweepError(f"--workers must be >= 0 (0: one per CPU) (got {workers})")
    return workers or (os.cpu_count() or 1)


def _dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("--scheduler needs Dask: pip install 'vpcsim[dask]'") from None
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def execute(fn: Callable[[Any], Any], tasks: Sequence[Any], *, workers: int = 1, scheduler: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> list[Any]:
    """``[fn(t) for t in tasks]``, in the calling process, in local processes or on Dask; results in task order
    whatever order they finish in. ``progress(done, total)`` is called as tasks finish."""
    total = len(tasks)
    results: list[Any] = [None] * total
    if scheduler:
        client = _dask_client(scheduler)
        try:
            from distributed import as_completed as dask_completed

            futures = client.map(fn, list(tasks), pure=False)
            where = {f.key: i for i, f in enumerate(futures)}
            for done, fut in enumerate(dask_completed(futures, loop=client.loop), 1):
                results[where[fut.key]] = fut.result()
                if progress:
                    progress(done, total)
        finally:
            client.close()
        return results
    n_workers = min(_workers(workers), total)
    if n_workers <= 1:
        for i, task in enumerate(tasks):
            results[i] = fn(task)
            if progress:
                progress(i + 1, total)
        return results
    pool = ProcessPoolExecutor(max_workers=n_workers, initializer=_worker_start)
    try:
        pending = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        for done, fut in enumerate(as_completed(pending), 1):
            results[pending[fut]] = fut.result()
            if progress:
                progress(done, total)
    except BaseException:
        # An interrupt (Ctrl-C, or SIGTERM from a cancelled CI job, which reaches this process only) or a failed
        # replication: the running replications are of no use, and may take minutes each; do not wait for them.
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def _worker_start() -> None:
    """A worker holds no output to clean up: SIGTERM ends it at once (a forked worker would otherwise inherit the
    command's handler, which turns SIGTERM into an interrupt that the pool reports and survives)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's worker processes: they hold no output, and SIGKILL cannot be caught, so a worker still starting
    (forked with the command's SIGTERM handler, before :func:`_worker_start` ran) ends without printing a traceback.
    Python 3.14 has ``kill_workers()``; before it, the pool's own table of processes (``_processes``, the same on 3.11
    to 3.13; tests/test_output_safety.py checks that it works)."""
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:  # pragma: no cover - Python 3.14+
        kill()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()


def run_replications(
    scenario: Scenario,
    replications: int | None = None,
    *,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    strict: bool = False,
    record_invocations: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Run ``replications`` (default: the scenario's ``replications``) independent replications and return one
    :class:`Result` whose summary is :func:`aggregate`'s. Its time series (and invocations, when recorded) are
    replication 0's — one sample path, the same as the single run; ``result.extra["summaries"]`` holds every
    replication's own summary. With one replication this is the single run, expectations checked as usual."""
    require_scenario(scenario, "run_replications")
    n = scenario.replications if replications is None else require_int(replications, "run_replications",
                                                                         "replications", minimum=1)
    seed = require_int(seed, "run_replications", "seed", maximum=MAX_SEED, allow_none=True)
    strict = require_bool(strict, "run_replications", "strict")
    record_invocations = require_bool(record_invocations, "run_replications", "record_invocations")
    if strict and n < 2:
        raise ArgumentError("run_replications(): strict checks the unfavourable end of a 95% interval, and one run "
                            "has none: give replications=N (5 or more), or leave strict out")
    _workers(workers)
    started = time.perf_counter()
    tasks = [(scenario, seed, i, i == 0) for i in range(n)]
    fn = _replicate_recording if record_invocations else _replicate_plain
    outputs = execute(fn, tasks, workers=workers, scheduler=scheduler, progress=progress)
    summaries = [o[0] for o in outputs]
    _, timeseries, invocations = outputs[0]
    if n == 1:
        return Result(scenario, summaries[0], timeseries, invocations, extra={"summaries": summaries})
    summary = aggregate(scenario, summaries, wall_s=time.perf_counter() - started, strict=strict)
    return Result(scenario, summary, timeseries, invocations, extra={"summaries": summaries})


def _replicate_plain(task: tuple[Scenario, int | None, int, bool]):
    """One replication; only replication 0 sends its time series back (the others' would be dropped anyway)."""
    scenario, seed, replication, full = task
    res = simulate(scenario, seed=seed, replication=replication)
    return (res.summary, res.timeseries, None) if full else (res.summary, None, None)


# --------------------------------------------------------------------------------------------------- sweeps


def _sweep_task(task: tuple[int, Scenario, int | None, int]) -> dict[str, Any]:
    _, scenario, seed, replication = task
    summary = simulate(scenario, seed=seed, replication=replication).summary
    row = _key_row(summary)
    # The grid point's subnet sizes, which bound its free addresses (a sweep may vary a CIDR): the smallest for
    # ``min_free_ips``, the fewest of all subnets, and each subnet's own.
    sizes = {sid: s["usable_ips"] for sid, s in summary["subnets"].items()}
    row[_USABLE] = min(sizes.values()) if sizes else None
    row.update((f"{_USABLE}.{sid}", n) for sid, n in sizes.items())
    return row


def sweep(
    scenario: Scenario,
    vary: Mapping[str, Sequence[Any]],
    replications: int | None = None,
    *,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run the full grid of ``vary`` (``{path: [values]}``, the paths of ``--set``) × ``replications`` and return a
    tidy DataFrame: one row per grid point and replication, with a column per varied path (named by the path),
    ``replication``, ``seed`` and the key figures (the columns of :mod:`simulator.summary`, ``min_free_ips`` overall and per subnet, and
    ``expectations_passed`` when the scenario has ``expect``), with the point's subnet sizes (``usable_ips``, the
    smallest, and ``usable_ips.SUBNET``), which bound its free addresses. Replication *i* uses the same random streams at every
    grid point (common random numbers), so differences between points are not noise from reshuffled draws."""
    require_scenario(scenario, "sweep")
    require_mapping(vary, "sweep", "vary", '{"functions.api.memory_mb": [512, 1024]}')
    if not vary:
        raise SweepError("nothing to vary: give at least one --vary PATH=V1,V2,...")
    paths = list(vary)
    values = []
    for path in paths:
        given = vary[path]
        if isinstance(given, str | bytes | Mapping) or not isinstance(given, Sequence | set | frozenset):
            raise ArgumentError(f"sweep(): the values of {path!r} must be a list, e.g. [512, 1024] (got "
                                f"{type(given).__name__} {given!r})")
        vals = list(given)
        if not vals:
            raise SweepError(f"--vary {path}: no values")
        values.append(vals)
    n = scenario.replications if replications is None else require_int(replications, "sweep", "replications",
                                                                         minimum=1)
    seed = require_int(seed, "sweep", "seed", maximum=MAX_SEED, allow_none=True)
    _workers(workers)
    points = list(itertools.product(*values))
    # Validate every grid point before running any: a bad value is a user error found in a second, not an hour in.
    scenarios = [_variant(scenario, dict(zip(paths, point, strict=True))) for point in points]
    tasks = [(k, sc, seed, r) for k, sc in enumerate(scenarios) for r in range(n)]
    log.info("sweep of %d points x %d replications", len(points), n)
    rows = execute(_sweep_task, tasks, workers=workers, scheduler=scheduler, progress=progress)
    records = []
    for (k, sc, _, r), row in zip(tasks, rows, strict=True):
        records.append({**dict(zip(paths, points[k], strict=True)), "replication": r,
                        "seed": sc.seed if seed is None else seed, **row})
    df = pd.DataFrame.from_records(records)
    for col in df.columns:  # a metric that is null in a run (never failed, no VPC) is NaN, not an object None
        if col not in paths and col != "expectations_passed" and df[col].dtype == object:
            df[col] = pd.to_numeric(df[col])
    df.attrs["vary"] = paths
    return df


def _variant(scenario: Scenario, changes: dict[str, Any]) -> Scenario:
    """``scenario.with_changes(changes)``; a problem caused by one change names it as ``--vary PATH=VALUE``."""
    try:
        return scenario.with_changes(changes)
    except ScenarioError as exc:
        problems = []
        for p in exc.problems:
            path = p.path.removeprefix("--set ")
            problems.append(p._replace(path=f"--vary {path}={changes[path]}") if path in changes else p)
        raise ScenarioError(problems) from None


def _vary_of(df: Any, vary: Sequence[str] | None, function: str) -> list[str]:
    """The varied columns of a sweep's tidy frame: ``vary`` when given, else the frame's own (``df.attrs``, which
    :func:`sweep` sets), else the columns before ``replication`` (a ``sweep.csv`` read back keeps that order)."""
    if not isinstance(df, pd.DataFrame):
        raise ArgumentError(f"{function}(): df must be a sweep's DataFrame (from simulator.sweep, or sweep.csv read "
                            f"with pandas), got {type(df).__name__}")
    if vary is None:
        vary = df.attrs.get("vary")
    if vary is None and "replication" in df.columns:
        vary = list(df.columns[:list(df.columns).index("replication")])
    if isinstance(vary, str):
        vary = [vary]
    if not vary:
        raise SweepError(f"{function}(): which columns were varied? Give vary=['PATH', ...] (a sweep's frame names "
                         f"them before its replication column)")
    missing = [c for c in vary if c not in df.columns]
    if missing:
        raise SweepError(f"{function}(): no column {', '.join(map(repr, missing))} in the frame (columns: "
                         f"{', '.join(map(str, df.columns[:8]))}{' ...' if len(df.columns) > 8 else ''})")
    return list(vary)


def sweep_means(df: pd.DataFrame, vary: Sequence[str] | None = None) -> pd.DataFrame:
    """Means per grid point: ``n`` replications, and for each metric its mean plus ``METRIC_ci_low`` and
    ``METRIC_ci_high`` (95% Student t) when there are several replications."""
    vary = _vary_of(df, vary, "sweep_means")
    metric_cols = [c for c in df.columns if c not in (*vary, "replication", "seed")]
    sizes = [c for c in metric_cols if c == _USABLE or c.startswith(f"{_USABLE}.")]
    out = []
    # Grouped by a hashable form of each value: a varied list (functions.api.subnets=[app-a],[app-a,app-b]) is not.
    keys = [df[c].map(_hashable) for c in vary]
    for _, group in df.groupby(keys, sort=False, dropna=False):
        row: dict[str, Any] = {c: group[c].iloc[0] for c in vary}
        row["n"] = len(group)
        for col in metric_cols:
            vals = [v for v in group[col].tolist() if v is not None and not (isinstance(v, float) and math.isnan(v))]
            if col == "expectations_passed":
                row[col] = sum(bool(v) for v in vals) / len(vals) if vals else None
                continue
            if col in sizes:  # the point's subnet size, the same in every replication: a value, not an estimate
                row[col] = max(vals) if vals else None
                continue
            stats = mean_ci([float(v) for v in vals])
            row[col] = stats["mean"]
            if len(group) > 1:
                row[f"{col}_ci_low"] = stats["ci_low"]
                row[f"{col}_ci_high"] = stats["ci_high"]
        out.append(row)
    return pd.DataFrame.from_records(out)


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, list | dict) else value


def _as_written(df: pd.DataFrame, vary: Sequence[str]) -> pd.DataFrame:
    """``df`` with each varied list written as ``--vary`` takes it (``[app-a,app-b]``), not as Python's
    ``['app-a', 'app-b']``: a category to draw and to write in a CSV."""
    def text(v: Any) -> Any:
        if isinstance(v, list):
            return "[" + ",".join(str(x) for x in v) + "]"
        return json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict) else v

    if not any(df[c].map(lambda v: isinstance(v, list | dict)).any() for c in vary):
        return df
    out = df.copy()
    for c in vary:
        out[c] = out[c].map(text)
    return out


# Okabe & Ito's palette: distinguishable with the common colour-vision deficiencies.
_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _metric_bounds(col: str) -> tuple[float | None, float | None]:
    """The values a sweep column can take, from its kind in the metric registry (:mod:`simulator.summary`): a rate
    lies in [0, 1]; a count, a time or a cost is never below 0; a plain number is unbounded. The free-address
    columns are counts; their upper bound, the subnet's size, is a column of the tidy frame (see :func:`plot_sweep`)."""
    from ..summary import COUNT, FIRST_TIME, MS, RATE, SECONDS, USD, declaration

    if col == _FREE_IPS or col.startswith(f"{_FREE_IPS}."):
        kind = declaration([], ["subnet"])["subnets"]["subnet"]["min_free_ips"].kind
    else:
        metric = {m.column: m for _, m in key_metrics({}, columns=True)}.get(col)
        if metric is None:
            return None, None
        kind = metric.kind
    if kind == RATE:
        return 0.0, 1.0
    if kind in (COUNT, MS, SECONDS, FIRST_TIME, USD):
        return 0.0, None
    return None, None


def _fmt_bound(v: float, percent: bool) -> str:
    return f"{v:g}%" if percent and v else f"{v:,g}"


def plot_sweep(df: pd.DataFrame, vary: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """Three panels against the first varied path: failed or throttled invocations (%), p99 latency (ms) and the
    fewest free subnet addresses, one line per combination of the other varied paths (the legend's title names
    their full paths), with 95% intervals of the mean as error bars when there are several replications. Against a
    categorical path (``platform``, a CIDR) the points are markers with error bars, not joined by a line.

    An interval never claims a value the metric cannot take: it is clipped at the bounds of the metric's kind (a
    share at 0 and 100%, a count or a time at 0) and, for free addresses, at the point's subnet size (the
    ``usable_ips`` columns :func:`sweep` writes; a frame without them, at the most a replication had); a panel
    where a bar was clipped says so. Returns the Figure (never shows it)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    vary = _vary_of(df, vary, "plot_sweep")
    df = _as_written(df, vary)
    means = sweep_means(df, vary)
    x_path, others = vary[0], vary[1:]
    xs = list(dict.fromkeys(means[x_path].tolist()))
    numeric = all(_is_number(v) for v in xs)
    pos = {v: (float(v) if numeric else i) for i, v in enumerate(xs)}
    panels = [("error_rate", "Failed or throttled (% of invocations)", 100.0),
              ("latency_p99_ms", "p99 latency of successes (ms)", 1.0)]
    if _FREE_IPS in means and means[_FREE_IPS].notna().any():
        panels.append((_FREE_IPS, "Fewest free subnet addresses (IPs)", 1.0))
    else:
        panels.append(("peak_concurrency", "Peak concurrency (executions)", 1.0))
    # The most free addresses a grid point can have: its subnet size (the smallest, for the fewest of all subnets),
    # or, in a frame without the sizes (made by hand, or a sweep.csv of an older version), the most a replication had.
    free_cols = [c for c, _, _ in panels if c == _FREE_IPS or c.startswith(f"{_FREE_IPS}.")]
    size_of = {c: _USABLE + c.removeprefix(_FREE_IPS) for c in free_cols}
    bound_cols = {c: size_of[c] if size_of[c] in df else c for c in free_cols}
    most = df.groupby(vary, sort=False, dropna=False)[sorted(set(bound_cols.values()))].max() if free_cols else None
    fig = Figure(figsize=(5.0 * len(panels), 4.2), layout="constrained")
    axes = fig.subplots(1, len(panels))
    groups = list(means.groupby(others, sort=False, dropna=False)) if others else [((), means)]
    # Categories: each group's markers beside the others' at a category, not on top of them.
    spread = 0.0 if numeric or len(groups) < 2 else min(0.5, 0.15 * len(groups))
    clipped: dict[str, set[str]] = {col: set() for col, _, _ in panels}
    for g, (key, grp) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(str(v) for v in key) if others else None
        colour, marker = _COLOURS[g % len(_COLOURS)], _MARKERS[g % len(_MARKERS)]
        shift = (g / (len(groups) - 1) - 0.5) * spread if spread else 0.0
        x = [pos[v] + shift for v in grp[x_path]]
        for ax, (col, _, scale) in zip(axes, panels, strict=True):
            y = grp[col].astype(float).to_numpy() * scale
            yerr = None
            if f"{col}_ci_low" in grp:
                high = grp[f"{col}_ci_high"].astype(float).to_numpy() * scale
                low_raw = 2 * y - high  # the t interval is symmetric; sweep_means clips its low end at 0 unsaid
                low = grp[f"{col}_ci_low"].astype(float).to_numpy() * scale
                floor, ceiling = _metric_bounds(col)
                percent = scale == 100.0 and ceiling == 1.0
                if floor is not None:
                    floor *= scale
                    if (low_raw < floor - 1e-12).any():
                        clipped[col].add(_fmt_bound(floor, percent))
                    low = low.clip(min=floor)
                if ceiling is not None:
                    ceiling *= scale
                    if (high > ceiling + 1e-12).any():
                        clipped[col].add(_fmt_bound(ceiling, percent))
                    high = high.clip(max=ceiling)
                if col in bound_cols and most is not None:
                    index = [tuple(r) if len(vary) > 1 else r[0] for r in grp[vary].itertuples(index=False)]
                    top = most.loc[index, bound_cols[col]].astype(float).to_numpy() * scale
                    if (high > top + 1e-9).any():
                        clipped[col].add("the subnet's size" if bound_cols[col] != col
                                         else "the most\nfree addresses a replication had")
                    high = high.clip(max=top)
                yerr = [(y - low).clip(min=0), (high - y).clip(min=0)]
            ax.errorbar(x, y, yerr=yerr, color=colour, marker=marker,
                        linestyle=("-" if g % 2 == 0 else "--") if numeric else "none",
                        capsize=3, label=label, clip_on=False)  # points at 0 stay visible on the axis
    reps = int(means["n"].max()) if len(means) else 1
    for ax, (col, ylabel, _) in zip(axes, panels, strict=True):
        ax.set_xlabel(x_path)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if not numeric:
            ax.set_xticks(range(len(xs)), [str(v) for v in xs])
            ax.set_xlim(-0.5, len(xs) - 0.5)
            ax.grid(False, axis="x")  # categories: no grid line between them to read as a scale
        # From 0, with room above the highest point or interval (a cap at the top edge reads as cut off).
        ax.set_ylim(0, max(ax.dataLim.y1, 0) * 1.06 or 1)
        if col in (_FREE_IPS, "peak_concurrency"):
            ax.yaxis.set_major_locator(MaxNLocator("auto", steps=[1, 2, 2.5, 5, 10], integer=True))  # whole ones
        if clipped[col]:
            bounds = sorted(clipped[col], key=lambda b: (b.startswith("the"), b))
            ax.set_title("95% interval, clipped at " + " and at ".join(bounds), loc="left", fontsize=8,
                         color="#505050")
    if others:
        axes[0].legend(title=", ".join(others), fontsize="small", title_fontsize="small")
    note = f"means of {reps} replications, bars: 95% interval" if reps > 1 else "one replication per point"
    fig.suptitle(f"{title or 'Sweep'} — {note}")
    return fig


def write_sweep(df: pd.DataFrame, out_dir: str | os.PathLike[str], vary: Sequence[str] | None = None,
                title: str | None = None) -> Path:
    """Write a sweep's folder, whole or not at all (like a run's, see :func:`simulator.present.folders.atomic_dir`):
    ``sweep.csv`` (``df``, tidy), ``sweep_means.csv`` (:func:`sweep_means`) and ``sweep.png`` (:func:`plot_sweep`)."""
    from ..present.folders import atomic_dir

    vary = _vary_of(df, vary, "write_sweep")
    with atomic_dir(out_dir) as tmp:
        written = _as_written(df, vary)
        written.to_csv(tmp / "sweep.csv", index=False, float_format="%.6g")
        sweep_means(written, vary).to_csv(tmp / "sweep_means.csv", index=False, float_format="%.6g")
        plot_sweep(df, vary, title=title).savefig(tmp / "sweep.png", dpi=120)
    return Path(out_dir)
