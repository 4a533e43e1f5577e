"""Results of a run (SPEC §4): the summary dict, the time series and the optional per-invocation table.

``simulate(scenario)`` runs the engine and returns a :class:`Result`. The summary's keys are a contract (tests, CI
expectations and other tools read them): every key is always present, ``None`` where it does not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..engine import Engine, simulate_once
from ..engine.recorder import INVOCATION_COLUMNS as _COLUMNS
from ..scenario.models import Scenario
from ..summary import TOP_LEVEL
from .capacity import capacity
from .cost import cost

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["Result", "simulate", "build_result", "INVOCATION_COLUMNS", "SUMMARY_KEYS"]

INVOCATION_COLUMNS = list(_COLUMNS)

SUMMARY_KEYS = TOP_LEVEL  # declared in simulator.summary


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
        from ..present.plots import dashboard

        return dashboard(self)

    def __repr__(self) -> str:
        s = self.summary
        rate = s["failure_rate"]
        means = f", means of {s['replications']['n']} replications" if s.get("replications") else ""
        return (f"<Result {s['scenario']!r} {s['platform']} seed={s['seed']}{means}: {s['invocations']:,.0f} "
                f"invocations, failure rate {rate:.4%}, peak concurrency {s['peak_concurrency']:,.0f}>"
                if rate is not None else
                f"<Result {s['scenario']!r}: no invocations>")


def build_result(engine: Engine) -> Result:
    """Turn a finished engine into a :class:`Result`: the recorder's figures, the scenario's identity, the closed
    forms of :func:`~simulator.analysis.capacity.capacity`."""
    sc = engine.sc
    rec = engine.rec
    measured = rec.summary([f.net for f in engine.fns], engine.net, {
        "scenario": sc.name, "platform": sc.platform, "seed": engine.seed, "simulated_s": sc.duration})
    summary: dict[str, Any] = {**measured, "capacity": capacity(sc), "cost": None, "expectations": None,
                               "warnings": list(engine.warnings), "wall_s": engine.wall_s}
    summary["cost"] = cost(sc, summary)  # from the billed durations the recorder tallied (simulator.analysis.cost)
    summary = {k: summary[k] for k in SUMMARY_KEYS}
    invocations = None
    if engine.record:
        invocations = pd.DataFrame.from_records(rec.rows, columns=INVOCATION_COLUMNS)
        invocations = invocations.astype({"arrival_s": float, "start_s": float, "end_s": float, "wait_s": float,
                                          "cold": bool, "attempt": int, "first_arrival_s": float})
        # Rows are recorded when an attempt ends; readers expect them in arrival order.
        invocations = invocations.sort_values(["arrival_s", "attempt"], kind="stable", ignore_index=True)
    buckets = pd.concat([pd.DataFrame({"kind": kind, "low_ms": edges[:-1] * 1000, "high_ms": edges[1:] * 1000,
                                       "count": counts}) for kind, edges, counts in rec.latency_buckets()],
                        ignore_index=True)
    return Result(sc, summary, pd.DataFrame(rec.series()), invocations, buckets)


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
    from ..errors import ArgumentError, require_bool, require_int
    from ..scenario.models import require_scenario
    from ..scenario.sections import MAX_SEED

    require_scenario(scenario, "simulate")
    seed = require_int(seed, "simulate", "seed", maximum=MAX_SEED, allow_none=True)
    require_bool(record_invocations, "simulate", "record_invocations")
    replication = require_int(replication, "simulate", "replication")
    if progress is not None and not callable(progress):
        raise ArgumentError(f"simulate(): progress must be a function of the share done (0..1), got {progress!r}")
    engine = simulate_once(scenario, seed, replication, record_invocations, progress)
    result = build_result(engine)
    if scenario.expect:  # SPEC §2: checked against this run (a replicated run checks the means: simulator.analysis.sweep)
        from .expectations import evaluate

        result.summary["expectations"] = evaluate(scenario, result.summary)
    return result

