"""Results of a run (SPEC §4): the summary dict, the time series and the optional per-invocation table.

``simulate(scenario)`` runs the engine and returns a :class:`Result`. The summary's keys are a contract (tests, CI
expectations and other tools read them): every key is always present, ``None`` where it does not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .analysis.cost import cost
from .capacity import capacity
from .engine import Engine, simulate_once
from .metrics import FAILURES, OUTCOMES, THROTTLES
from .scenario import Scenario

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["Result", "simulate", "build_result", "INVOCATION_COLUMNS", "SUMMARY_KEYS"]

INVOCATION_COLUMNS = ["function", "arrival_s", "start_s", "end_s", "outcome", "cold", "wait_s", "subnet", "az",
                      "attempt"]

SUMMARY_KEYS = (
    "scenario", "platform", "seed", "simulated_s", "invocations", "attempts", "succeeded", "throttled", "failed",
    "outcomes", "failure_rate", "throttle_rate", "error_rate", "cold_starts", "cold_start_rate", "latency_ms",
    "cold_start_ms", "mean_concurrency", "peak_concurrency", "mean_environments", "peak_environments", "peak_enis",
    "first_failure_s", "first_outcome_s", "subnets", "functions", "capacity", "cost", "expectations", "wall_s",
)


@dataclass
class Result:
    """What one run produced. ``summary`` (dict), ``timeseries`` (DataFrame, one row per timestep),
    ``invocations`` (DataFrame, only with ``record_invocations=True``), ``latency_distribution`` (DataFrame: the
    engine's fixed-size histograms of end-to-end latency and cold-start time, columns ``kind`` — ``latency`` or
    ``cold_start`` —, ``low_ms``, ``high_ms``, ``count``; buckets are 1% wide)."""

    scenario: Scenario
    summary: dict[str, Any]
    timeseries: pd.DataFrame
    invocations: pd.DataFrame | None = None
    latency_distribution: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def plot(self) -> Figure:
        """A dashboard figure of the run (timeline, network, latency, capacity)."""
        from .plots import dashboard

        return dashboard(self)

    def __repr__(self) -> str:
        s = self.summary
        rate = s["failure_rate"]
        return (f"<Result {s['scenario']!r} {s['platform']} seed={s['seed']}: {s['invocations']:,} invocations, "
                f"failure rate {rate:.4%}, peak concurrency {s['peak_concurrency']}>" if rate is not None else
                f"<Result {s['scenario']!r}: no invocations>")


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _counts(outcomes: list[int], invocations: int, attempts: int, cold: int, starts: int) -> dict[str, Any]:
    by = dict(zip(OUTCOMES, (int(x) for x in outcomes), strict=True))
    throttled = sum(by[c] for c in THROTTLES)
    failed = sum(by[c] for c in FAILURES)
    return {
        "invocations": invocations,
        "attempts": attempts,
        "succeeded": by["success"],
        "throttled": throttled,
        "failed": failed,
        "outcomes": by,
        "failure_rate": _rate(failed, invocations),
        "throttle_rate": _rate(throttled, invocations),
        "error_rate": _rate(failed + throttled, invocations),
        "cold_starts": cold,
        "cold_start_rate": _rate(cold, starts),
    }


def build_result(engine: Engine) -> Result:
    """Turn a finished engine into a :class:`Result`."""
    sc = engine.sc
    fns = engine.fns
    n_out = len(OUTCOMES)
    total_out = [sum(f.outcomes[i] for f in fns) for i in range(n_out)]
    totals = _counts(total_out, sum(f.invocations for f in fns), sum(f.attempts for f in fns),
                     sum(f.cold for f in fns), sum(f.starts for f in fns))
    hs = engine.horizon_stats
    subnets = {}
    for s in engine.subnet_list:
        subnets[s.id] = {"az": s.az.name, "usable_ips": s.usable, **hs["subnets"][s.id]}
    functions = {}
    combos = getattr(engine.net, "combos", None)  # hyperplane: the shared ENIs of each (subnet, security groups)
    for f in fns:
        entry = _counts(f.outcomes, f.invocations, f.attempts, f.cold, f.starts)
        entry["latency_ms"] = engine.lat.summary(f.idx)
        entry["cold_start_ms"] = engine.cold_lat.summary(f.idx)
        peak_conc, peak_envs, peak_enis = hs["functions"][f.idx]
        entry["peak_concurrency"] = peak_conc
        entry["peak_environments"] = peak_envs
        if f.net is None:
            entry["peak_enis"] = None
        elif combos is not None:
            # Hyperplane ENIs are shared and never released during a run: the function's peak is the ENIs of its
            # (subnet, security groups) combinations at the end.
            entry["peak_enis"] = sum(combos[(sid, f.net.sg)].enis for sid in f.spec.subnets)
        else:
            entry["peak_enis"] = peak_enis
        entry["first_outcome_s"] = dict(sorted(f.first_outcome.items(), key=lambda kv: kv[1]))
        entry["billed_ms"] = f.billed_ms
        entry["billed_ms_provisioned"] = f.billed_ms_provisioned
        functions[f.name] = entry
    summary: dict[str, Any] = {
        "scenario": sc.name,
        "platform": sc.platform,
        "seed": engine.seed,
        "simulated_s": sc.duration,
        **totals,
        "latency_ms": engine.lat.summary(),
        "cold_start_ms": engine.cold_lat.summary(),
        "mean_concurrency": hs["mean_concurrency"],
        "peak_concurrency": hs["peak_concurrency"],
        "mean_environments": hs["mean_environments"],
        "peak_environments": hs["peak_environments"],
        "peak_enis": hs["peak_enis"] if any(f.net is not None for f in fns) else None,
        "first_failure_s": engine.first_failure,
        "first_outcome_s": dict(sorted(engine.first_outcome.items(), key=lambda kv: kv[1])),
        "subnets": subnets,
        "functions": functions,
        "capacity": capacity(sc),
        "cost": None,
        "expectations": None,
        "wall_s": engine.wall_s,
    }
    summary["cost"] = cost(sc, summary)  # from the billed durations above (simulator.analysis.cost)
    summary = {k: summary[k] for k in SUMMARY_KEYS}
    invocations = None
    if engine.record:
        invocations = pd.DataFrame.from_records(engine.rows, columns=INVOCATION_COLUMNS)
        invocations = invocations.astype({"arrival_s": float, "start_s": float, "end_s": float, "wait_s": float,
                                          "cold": bool, "attempt": int})
        # Rows are recorded when an attempt ends; readers expect them in arrival order.
        invocations = invocations.sort_values(["arrival_s", "attempt"], kind="stable", ignore_index=True)
    return Result(sc, summary, timeseries(engine), invocations, latency_distribution(engine))


def latency_distribution(engine: Engine) -> pd.DataFrame:
    """The engine's latency histograms (all functions together) as a tidy table of 1%-wide buckets."""
    parts = []
    for kind, hist in (("latency", engine.lat), ("cold_start", engine.cold_lat)):
        edges, counts = hist.distribution()
        parts.append(pd.DataFrame({"kind": kind, "low_ms": edges[:-1] * 1000, "high_ms": edges[1:] * 1000,
                                   "count": counts}))
    return pd.concat(parts, ignore_index=True)


def timeseries(engine: Engine) -> pd.DataFrame:
    """One row per timestep: arrivals, outcomes, concurrency, environments, ENIs, per-subnet addresses."""
    n = engine.nsteps
    t = np.arange(n) * engine.step
    cols: dict[str, Any] = {"t_s": t, "arrivals": np.asarray(engine.ts_arrivals, dtype=np.int64)}
    out = np.asarray(engine.ts_out, dtype=np.int64).reshape(len(OUTCOMES), n)
    for i, name in enumerate(OUTCOMES):
        cols[name] = out[i]
    cols["cold_starts"] = np.asarray(engine.ts_cold, dtype=np.int64)
    cols["concurrency_mean"] = engine.ts_conc_mean
    cols["concurrency_max"] = engine.ts_conc_max
    cols["environments_busy"] = engine.ts_busy
    cols["environments_idle"] = engine.ts_idle
    cols["enis_ready"] = engine.ts_ready
    cols["enis_attaching"] = engine.ts_attaching
    cols["enis_deleting"] = engine.ts_deleting
    for j, s in enumerate(engine.subnet_list):
        cols[f"ips_used.{s.id}"] = engine.ts_used[j]
        cols[f"free_ips.{s.id}"] = engine.ts_free[j]
    return pd.DataFrame(cols)


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    record_invocations: bool = False,
    *,
    replication: int = 0,
    progress: Callable[[float], None] | None = None,
) -> Result:
    """Run ``scenario`` once (SPEC §7). ``seed`` overrides the scenario's seed; the same scenario and seed give
    the same summary (but ``wall_s``) and time series, on any machine."""
    from .errors import ArgumentError, require_bool, require_int, require_scenario

    require_scenario(scenario, "simulate")
    seed = require_int(seed, "simulate", "seed", allow_none=True)
    require_bool(record_invocations, "simulate", "record_invocations")
    replication = require_int(replication, "simulate", "replication")
    if progress is not None and not callable(progress):
        raise ArgumentError(f"simulate(): progress must be a function of the share done (0..1), got {progress!r}")
    engine = simulate_once(scenario, seed, replication, record_invocations, progress)
    result = build_result(engine)
    if scenario.expect:  # SPEC §2: checked against this run (a replicated run checks the means: simulator.sweep)
        from .expectations import evaluate

        result.summary["expectations"] = evaluate(scenario, result.summary)
    return result

