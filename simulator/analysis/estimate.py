"""What a run will cost before it starts: invocations, events, wall time and peak memory, from the closed forms.

A valid scenario can still be absurd for the machine: ``rate: 1e9/s`` for an hour is 3.6 trillion invocations,
``--replications 1000000000`` keeps a billion summaries, ``--record-invocations`` keeps about 400 bytes per
invocation. :func:`estimate` says what a run needs from the arrival processes' expected counts (each process has its
integral in closed form) and the measured costs below; :meth:`Estimate.refusal` says, in one line, why a run cannot
fit this machine and how to go on (shrink it, or ``--yes`` to start anyway). The CLI shows the estimate in ``run``'s
first line and refuses before any work.

The per-unit costs were measured on the development machine (``benchmarks/bench_engine.py``, issue 12): they are
estimates, meant to tell minutes from years and megabytes from terabytes, not to predict a run to the second.
"""

from __future__ import annotations

import dataclasses
import math
import os

from ..scenario.models import Scenario
from .peak import FUNCTIONS_TOGETHER

__all__ = ["Estimate", "estimate", "available_memory_mb", "INVOCATIONS_PER_S", "MAX_WALL_S"]

INVOCATIONS_PER_S = 200_000.0  # the engine's rate on one core (benchmark: 200k-260k/s on the reference workload)
EVENTS_PER_INVOCATION = 2.0  # an arrival and an end; timers and retries add a little
BASE_MB = 100.0  # the interpreter with numpy, pandas and the engine loaded (measured: 85-96 MB)
FUNCTION_KB = 30.0  # per function: its engine state, histograms, arrival blocks (bench_functions: 22-32 KB at 3,000-10,000)
PEAK_BATCH_KB = 300.0  # per function of the projected peaks' batch (its grid of the horizon and its storm)
STEP_BYTES = 400.0  # per time-series step: the engine's per-step counters and the DataFrame built from them
SUBNET_STEP_BYTES = 32.0  # per subnet and step: addresses used and free, in the engine and the DataFrame
RECORD_BYTES = 400.0  # per recorded invocation (--record-invocations; measured 400 MB per million)
SUMMARY_KB = 4.0  # per replication kept in memory: its summary, plus
SUMMARY_FUNCTION_KB = 2.0  # per function in that summary
MAX_WALL_S = 24 * 3600.0  # a run estimated to take longer than a day is refused unless the user insists
MEMORY_SHARE = 0.8  # a run may plan on this share of the memory available now


def available_memory_mb() -> float | None:
    """Memory available to a new run now (``MemAvailable`` on Linux, else physical memory), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (ValueError, OSError, AttributeError):
        return None


@dataclasses.dataclass(frozen=True)
class Estimate:
    """What a run (or a set of runs) is expected to need."""

    invocations: float  # expected arrivals of one run, over the whole horizon (warm-up included)
    runs: int  # runs in all (replications × grid points)
    parallel: int  # runs at once (worker processes)
    events: float  # events of one run
    wall_s: float  # wall time of all runs
    memory_mb: float  # peak memory of the calling process and its workers together
    available_mb: float | None  # memory available on this machine now
    record_invocations: bool = False

    def work(self) -> str:
        """What the runs are: ``about 190,000 invocations and 390,000 events``, ``... per run × 10 runs``."""
        runs = f" per run × {self.runs:,} runs" if self.runs > 1 else ""
        return f"about {_count(self.invocations)} invocations and {_count(self.events)} events{runs}"

    def line(self) -> str:
        """One line for people: the work, the wall time and the memory."""
        return f"{self.work()}; about {_duration(self.wall_s)} and {_size(self.memory_mb)} of memory"

    def refusal(self) -> str | None:
        """Why this run cannot fit the machine (one line, with how to go on), or None when it fits."""
        if self.available_mb is not None and self.memory_mb > MEMORY_SHARE * self.available_mb:
            how = []
            if self.record_invocations:
                how.append("drop --record-invocations")
            if self.runs > 1:
                how.append("use fewer replications or grid points")
            how.append("shorten the duration or use a larger timestep")
            return (f"this would need about {_size(self.memory_mb)} of memory and {_size(self.available_mb)} is "
                    f"available now ({self.work()}): {', '.join(how)}, or add --yes to start anyway")
        if self.wall_s > MAX_WALL_S:
            return (f"this would take about {_duration(self.wall_s)} ({self.work()}, at about "
                    f"{INVOCATIONS_PER_S:,.0f} invocations per second): lower the load, shorten the duration or use "
                    f"fewer replications, or add --yes to start anyway")
        return None


def estimate(scenario: Scenario, *, replications: int = 1, points: int = 1, workers: int = 1,
             record_invocations: bool = False) -> Estimate:
    """The expected size of ``replications`` runs of ``scenario`` at each of ``points`` grid points, ``workers`` at a
    time (0: one per CPU)."""
    from ..errors import require_bool, require_int
    from ..scenario.models import require_scenario

    require_scenario(scenario, "estimate")
    replications = require_int(replications, "estimate", "replications", minimum=1)
    points = require_int(points, "estimate", "points", minimum=1)
    workers = require_int(workers, "estimate", "workers")
    record_invocations = require_bool(record_invocations, "estimate", "record_invocations")
    invocations = 0.0
    for fn in scenario.functions:
        for process in fn.arrivals:
            invocations += max(0.0, float(process.expected_count(scenario.duration)))
    runs = max(1, replications) * max(1, points)
    parallel = max(1, min(runs, workers or (os.cpu_count() or 1)))
    steps = max(1, math.ceil(scenario.duration / scenario.timestep - 1e-9))
    n = len(scenario.functions)
    one_run_mb = ((n * FUNCTION_KB + min(n, FUNCTIONS_TOGETHER) * PEAK_BATCH_KB) / 1024
                  + steps * (STEP_BYTES + SUBNET_STEP_BYTES * len(scenario.vpc.subnets)) / 2**20)
    kept_mb = runs * (SUMMARY_KB + SUMMARY_FUNCTION_KB * len(scenario.functions)) / 1024
    record_mb = invocations * RECORD_BYTES / 2**20 if record_invocations else 0.0
    # Each worker process holds an interpreter and one run; the caller holds every summary and run 0's recording.
    memory = BASE_MB + one_run_mb + kept_mb + record_mb + (parallel - 1) * (BASE_MB + one_run_mb if parallel > 1
                                                                             else 0.0)
    wall = invocations * runs / parallel / INVOCATIONS_PER_S
    return Estimate(invocations, runs, parallel, invocations * EVENTS_PER_INVOCATION, wall, memory,
                    available_memory_mb(), record_invocations)


def _count(n: float) -> str:
    """Two significant figures are plenty for an estimate: 193,106 -> 190,000; 3.6e12 -> 3.6 trillion."""
    if n < 10_000:
        return f"{n:,.0f}"
    for word, size in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
        if n >= size:
            value = n / size
            return f"{value:,.0f} {word}" if value >= 100 else f"{float(f'{value:.2g}'):g} {word}"
    return f"{float(f'{n:.2g}'):,.0f}"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "a second"
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.{0 if seconds / size >= 10 else 1}f} {unit}"
    return f"{seconds:.0f} s"


def _size(mb: float) -> str:
    if mb >= 2**20:
        return f"{mb / 2**20:,.1f} TB"
    if mb >= 1024:
        return f"{mb / 1024:,.1f} GB"
    return f"{mb:,.0f} MB"
