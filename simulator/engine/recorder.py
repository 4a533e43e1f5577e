"""The recorder: what the engine tells it happened, turned into the summary and the time series of a run.

The model's code holds no measurement at all (STYLE: salabim's ``Monitor``): the engine says "an attempt arrived",
"an execution started", "it succeeded", "an environment was created", "a subnet's addresses changed", "a time step
ended", and the recorder keeps the counts per function and cause, the time-weighted areas of concurrency and of
environments, the peaks, the first occurrences, the latency histograms, the billed duration and the per-step series.
Memory does not grow with the number of invocations (only ``record_invocations`` keeps one row each).

What is measured starts at the end of the warm-up (``warmup``): counts belong to invocations whose *first* arrival
came after it; peaks and areas restart at it. Figures about time (peaks, means, addresses) stop at the horizon; the
drain after it (in-flight executions, late retries) only adds outcomes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..summary import FAILURES, OUTCOMES, THROTTLES
from .histogram import LatencyHistogram

__all__ = ["Recorder", "INVOCATION_COLUMNS"]

SUCCESS = 0
_FAILURE_IDX = frozenset(OUTCOMES.index(c) for c in FAILURES)

# SPEC §4's columns, and the invocation's first arrival: a retry's row names the invocation it belongs to, and the
# summary counts an invocation (all its attempts) when that first arrival is at or after the warm-up.
INVOCATION_COLUMNS = ("function", "arrival_s", "start_s", "end_s", "outcome", "cold", "wait_s", "subnet", "az",
                      "attempt", "first_arrival_s")


class Recorder:
    """Measurements of one run. The engine calls the methods below; :meth:`summary` and :meth:`series` hand back
    the results (plain data: no pandas here)."""

    def __init__(self, names: list[str], subnets: list[Any], *, horizon: float, warmup: float, step: float,
                 record: bool, ceiling_subnets: list[Any], slots: int | None):
        self.names = names
        n_fn = len(names)
        self.horizon = horizon
        self.warmup = warmup
        self.step = step
        self.nsteps = max(1, math.ceil(horizon / step - 1e-9))
        self.inv_step = 1.0 / step
        self.record = record
        self.rows: list[tuple] = []
        # Per function. What happens to nearly every invocation is not counted one by one: a counted success is an
        # entry of the latency buffer, and the counts are derived (see counts()); only the rarer events count here.
        self.rejected = [0] * n_fn  # counted attempts that started no execution
        self.retries = [0] * n_fn  # counted attempts after the first
        self.stops = [0] * n_fn  # counted executions that did not succeed (timed out, or lost with their AZ)
        self.outcomes = [[0] * len(OUTCOMES) for _ in range(n_fn)]  # all but the successes
        self.cold = [0] * n_fn
        self.envs = [0] * n_fn
        self.peak_conc = [0] * n_fn
        self.peak_envs = [0] * n_fn
        self.peak_enis = [0] * n_fn
        self.first: list[dict[str, float]] = [{} for _ in range(n_fn)]  # cause -> first time
        # Duration Lambda bills (AWS facts §9): each execution rounded up to 1 ms, init included. A warm first attempt
        # on demand bills its latency, so it is billed from the latency buffer, a block at a time (_bill_buffer);
        # the others (cold starts that waited for an ENI, retries, provisioned environments) one by one.
        self.billed_ms = [0] * n_fn
        self.billed_ms_provisioned = [0] * n_fn
        self.billed_from_latency = np.zeros(n_fn)  # whole milliseconds, exact in a float64 below 2^53
        self._apart: list[int] = []  # positions in the latency buffer of successes billed one by one
        self._billed_upto = 0  # entries of the latency buffer already billed
        # The whole run.
        self.conc = 0
        self.area = 0.0
        self.last_t = 0.0
        self.peak = 0
        self.step_max = 0
        self.envs_total = 0
        self.env_area = 0.0
        self.env_last = 0.0
        self.peak_envs_total = 0
        self.peak_enis_total = 0  # the peak of Lambda's ENIs (ready, attaching and deleting together)
        self.first_failure: float | None = None
        self.first_outcome: dict[str, float] = {}
        self.lat = LatencyHistogram(n_fn)
        self.cold_lat = LatencyHistogram(n_fn, buffer=1 << 15)
        # Per subnet (by its index): the summary's figures, and the time series' per-step extremes.
        self.subnets = subnets
        k = len(subnets)
        self.min_free = [s.free for s in subnets]
        self.peak_used = [s.used for s in subnets]
        self.exhausted_at: list[float | None] = [0.0 if s.free <= 0 else None for s in subnets]
        self.exhausted_since: list[float | None] = list(self.exhausted_at)
        self.exhausted_total = [0.0] * k
        self.step_min_free = list(self.min_free)
        self.step_max_used = list(self.peak_used)
        # Time series, one entry per step.
        n = self.nsteps
        self.ts_arrivals = np.zeros(n, dtype=np.int64)  # counted a window of arrivals at a time (count_arrivals)
        self.ts_out = [0] * (n * len(OUTCOMES))  # the other outcomes, one by one
        self.ts_success = np.zeros(n, dtype=np.int64)  # successes, from a buffer of their end times
        self.ends: list[float] = []
        self.ts_cold = [0] * n
        self.ts_conc_mean = np.zeros(n)
        self.ts_conc_max = np.zeros(n, dtype=np.int64)
        self.ts_busy = np.zeros(n, dtype=np.int64)
        self.ts_idle = np.zeros(n, dtype=np.int64)
        self.ts_ready = np.zeros(n, dtype=np.int64)
        self.ts_attaching = np.zeros(n, dtype=np.int64)
        self.ts_deleting = np.zeros(n, dtype=np.int64)
        self.ts_used = np.zeros((k, n), dtype=np.int64)
        self.ts_free = np.zeros((k, n), dtype=np.int64)
        # The address ceiling (executions the subnets of the VPC functions allow at the step's end, in up AZs),
        # when every VPC function has the same environments per ENI; else there is no single ceiling.
        self.ceiling_subnets = ceiling_subnets
        self.slots = slots
        self.ts_ceiling = np.zeros(n, dtype=np.int64) if slots is not None else None
        self.tick_area = 0.0
        self.warm_area = 0.0
        self.warm_env_area = 0.0
        self.at_horizon: dict[str, Any] = {}

    # -- invocations (the hot path: kept lean) -------------------------------------------------------------------
    def count_arrivals(self, times: np.ndarray) -> None:
        """First attempts arrive at ``times`` (a window of the merged arrival stream): the per-step counts."""
        _add_counts(self.ts_arrivals, (times * self.inv_step).astype(np.int64))

    def retried(self, f: Any, t: float, counted: bool) -> None:
        """A retry (a later attempt) of ``f`` arrives at ``t``."""
        k = int(t * self.inv_step)
        if k < self.nsteps:
            self.ts_arrivals[k] += 1
        if counted:
            self.retries[f.idx] += 1

    def arrived(self, f: Any, counted: bool) -> None:
        """An attempt arrived that starts no execution (``counted``: its invocation's first arrival came after the
        warm-up); :meth:`started` tells of the others."""
        if counted:
            self.rejected[f.idx] += 1

    def started(self, env: Any, t: float) -> None:
        """An attempt arrived at ``t`` and started an execution on ``env`` (its function's ``in_flight`` already
        counts it)."""
        f = env.fn
        i = f.idx
        if env.cold and env.counted:
            self.cold[i] += 1
        self.area += self.conc * (t - self.last_t)
        self.last_t = t
        c = self.conc + 1
        self.conc = c
        if c > self.peak:
            self.peak = c
        if c > self.step_max:
            self.step_max = c
        if f.in_flight > self.peak_conc[i]:
            self.peak_conc[i] = f.in_flight

    def succeeded(self, env: Any, t: float) -> None:
        """The execution on ``env`` ended well at ``t``."""
        if env.counted:
            i = env.fn.idx
            lat = self.lat
            if env.wait or env.provisioned or env.attempt != 1:  # its bill is not its latency: billed now
                self._apart.append(len(lat.values))
                self._bill(env, t)
            lat.keys.append(i)
            lat.values.append(t - env.t0)
            if len(lat.values) >= lat.buffer:
                self._bill_buffer()
                lat.fold()
                self._apart.clear()
                self._billed_upto = 0
            if env.cold:
                self.cold_lat.add(i, env.start - env.arr)
        self.area += self.conc * (t - self.last_t)
        self.last_t = t
        self.conc -= 1
        ends = self.ends
        ends.append(t)
        if len(ends) >= 1 << 16:
            self._fold_ends()

    def _fold_ends(self) -> None:
        """The per-step success counts of the buffered end times."""
        _add_counts(self.ts_success, (np.asarray(self.ends) * self.inv_step).astype(np.int64))
        self.ends.clear()

    def stopped(self, env: Any, t: float) -> None:
        """The execution on ``env`` ended badly at ``t`` (a timeout, or its AZ went down; :meth:`failed` follows
        when the invocation's outcome is final)."""
        if env.counted:
            self.stops[env.fn.idx] += 1
            self._bill(env, t)
        self.area += self.conc * (t - self.last_t)
        self.last_t = t
        self.conc -= 1

    def _bill(self, env: Any, t: float) -> None:
        """The duration Lambda bills for the execution on ``env`` that ended at ``t``: from the start of init (a
        cold start, after the ENI wait, which is Lambda's own) or of the run (warm) to ``t``, rounded up to a whole
        millisecond (AWS facts §9; a nanosecond's slack keeps 0.1 s at 100 ms, not 101, where the subtraction of two
        times leaves 1e-14 s)."""
        ms = math.ceil((t - env.arr - env.wait) * 1000.0 - 1e-6)
        if env.provisioned:
            self.billed_ms_provisioned[env.fn.idx] += ms
        else:
            self.billed_ms[env.fn.idx] += ms

    def _bill_buffer(self) -> None:
        """Bill the successes of the latency buffer not billed yet whose bill is their latency (the same numbers:
        the arrival is the first arrival and there was no ENI wait), a block at a time."""
        lat = self.lat
        start = self._billed_upto
        if len(lat.values) == start:
            return
        keys = np.asarray(lat.keys[start:], dtype=np.int64)
        secs = np.asarray(lat.values[start:], dtype=float)
        keep = np.ones(len(keys), dtype=bool)
        apart = [p - start for p in self._apart if p >= start]
        keep[apart] = False
        ms = np.ceil(secs[keep] * 1000.0 - 1e-6)
        self.billed_from_latency += np.bincount(keys[keep], weights=ms, minlength=len(self.names))
        self._billed_upto = len(lat.values)
    def failed(self, f: Any, t: float, t0: float, cause: int) -> None:
        """The invocation first arrived at ``t0`` ended at ``t`` with outcome ``cause`` (not a success)."""
        k = int(t * self.inv_step)
        if k < self.nsteps:
            self.ts_out[cause * self.nsteps + k] += 1
        if t0 >= self.warmup:
            self.outcomes[f.idx][cause] += 1
            name = OUTCOMES[cause]
            first = self.first[f.idx]
            if name not in first:
                first[name] = t
                if name not in self.first_outcome or t < self.first_outcome[name]:
                    self.first_outcome[name] = t
            if cause in _FAILURE_IDX and self.first_failure is None:
                self.first_failure = t

    def row(self, f: Any, arr: float, start: float | None, end: float | None, cause: int, env: Any,
            attempt: int, t0: float) -> None:
        """One attempt's row of the invocation table (``record_invocations``); ``t0``: the invocation's first
        arrival."""
        eni = env.eni if env is not None else None
        self.rows.append((
            f.name, arr, start, end, OUTCOMES[cause], bool(env.cold) if env is not None else False,
            env.wait if env is not None else 0.0, eni.subnet.id if eni is not None else None,
            env.az.name if env is not None and env.az else None, attempt, t0,
        ))

    # -- environments and the network -----------------------------------------------------------------------------
    def created(self, f: Any, t: float, cold: bool = True) -> None:
        """An environment of ``f`` was created at ``t`` (a cold start; ``cold=False`` for provisioned ones)."""
        self.env_area += self.envs_total * (t - self.env_last)
        self.env_last = t
        self.envs_total += 1
        i = f.idx
        self.envs[i] += 1
        if self.envs_total > self.peak_envs_total:
            self.peak_envs_total = self.envs_total
        if self.envs[i] > self.peak_envs[i]:
            self.peak_envs[i] = self.envs[i]
        if f.net is not None and f.net.enis > self.peak_enis[i]:
            self.peak_enis[i] = f.net.enis
        if cold:
            k = int(t * self.inv_step)
            if k < self.nsteps:
                self.ts_cold[k] += 1

    def dropped(self, f: Any, t: float) -> None:
        """An environment of ``f`` is gone at ``t`` (reclaimed, reset after a timeout, or lost with its AZ)."""
        self.env_area += self.envs_total * (t - self.env_last)
        self.env_last = t
        self.envs_total -= 1
        self.envs[f.idx] -= 1

    def enis_added(self, n: int) -> None:
        """Lambda created an ENI: its ENIs (ready, attaching or deleting) now number ``n``."""
        if n > self.peak_enis_total:
            self.peak_enis_total = n

    def subnet_changed(self, s: Any, now: float) -> None:
        """Subnet ``s``'s addresses changed at ``now`` (an ENI, or another workload, took or gave back some)."""
        j = s.index
        free = s.free
        used = s.usable - free
        if free < self.min_free[j]:
            self.min_free[j] = free
        if used > self.peak_used[j]:
            self.peak_used[j] = used
        if free < self.step_min_free[j]:
            self.step_min_free[j] = free
        if used > self.step_max_used[j]:
            self.step_max_used[j] = used
        if free <= 0:
            if self.exhausted_since[j] is None:
                self.exhausted_since[j] = now
                if self.exhausted_at[j] is None:
                    self.exhausted_at[j] = now
        elif (since := self.exhausted_since[j]) is not None:
            self.exhausted_total[j] += now - since
            self.exhausted_since[j] = None

    def _exhausted_for(self, j: int, now: float) -> float:
        since = self.exhausted_since[j]
        return self.exhausted_total[j] + (now - since if since is not None else 0.0)

    # -- time ----------------------------------------------------------------------------------------------------
    def tick(self, k: int, t: float, net: Any) -> None:
        """Time step ``k`` ended at ``t``: a snapshot of the state, and the step's extremes."""
        self.area += self.conc * (t - self.last_t)
        self.last_t = t
        width = min(self.step, self.horizon - k * self.step)
        self.ts_conc_mean[k] = (self.area - self.tick_area) / width if width > 0 else self.conc
        self.tick_area = self.area
        self.ts_conc_max[k] = self.step_max
        self.step_max = self.conc
        self.ts_busy[k] = self.conc
        self.ts_idle[k] = self.envs_total - self.conc
        self.ts_ready[k] = net.enis_ready
        self.ts_attaching[k] = net.enis_attaching
        self.ts_deleting[k] = net.enis_deleting
        for j, s in enumerate(self.subnets):
            self.ts_used[j, k] = self.step_max_used[j]
            self.ts_free[j, k] = self.step_min_free[j]
            self.step_min_free[j] = s.free
            self.step_max_used[j] = s.used
        if self.ts_ceiling is not None:
            # Addresses not held by other workloads, in the subnets whose AZ is up, times environments per ENI.
            ips = sum(min(max(s.usable - s.other, 0), s.usable) for s in self.ceiling_subnets if s.az.up)
            self.ts_ceiling[k] = ips * self.slots

    def warmed_up(self, t: float, fns: list[Any], net: Any) -> None:
        """The warm-up ended at ``t``: what is measured starts afresh from the state now."""
        self.area += self.conc * (t - self.last_t)
        self.last_t = t
        self.env_area += self.envs_total * (t - self.env_last)
        self.env_last = t
        self.warm_area = self.area
        self.warm_env_area = self.env_area
        self.peak = self.conc
        self.peak_envs_total = self.envs_total
        self.peak_enis_total = net.n_enis
        for f in fns:
            i = f.idx
            self.peak_conc[i] = f.in_flight
            self.peak_envs[i] = self.envs[i]
            self.peak_enis[i] = f.net.enis if f.net is not None else 0
        for j, s in enumerate(self.subnets):
            free = s.free
            self.min_free[j] = free
            self.peak_used[j] = s.usable - free
            self.exhausted_total[j] = 0.0
            self.exhausted_since[j] = t if free <= 0 else None
            self.exhausted_at[j] = t if free <= 0 else None

    def ended(self, t: float) -> None:
        """The horizon is reached at ``t``: every figure about time is taken now."""
        self.env_area += self.envs_total * (t - self.env_last)
        self.env_last = t
        span = self.horizon - self.warmup
        self.at_horizon = {
            "mean_concurrency": (self.area - self.warm_area) / span,
            "mean_environments": (self.env_area - self.warm_env_area) / span,
            "peak_concurrency": self.peak,
            "peak_environments": self.peak_envs_total,
            "peak_enis": self.peak_enis_total,
            "subnets": [{"peak_ips_used": int(self.peak_used[j]), "min_free_ips": int(self.min_free[j]),
                         "exhausted_s": self.exhausted_at[j], "exhausted_for_s": self._exhausted_for(j, t)}
                        for j in range(len(self.subnets))],
            "functions": [(self.peak_conc[i], self.peak_envs[i], self.peak_enis[i]) for i in range(len(self.names))],
        }

    # -- results -------------------------------------------------------------------------------------------------
    def series(self) -> dict[str, Any]:
        """The time series as named columns (arrays), in the order of the results' table."""
        n = self.nsteps
        cols: dict[str, Any] = {"t_s": np.arange(n) * self.step, "arrivals": self.ts_arrivals}
        self._fold_ends()
        out = np.asarray(self.ts_out, dtype=np.int64).reshape(len(OUTCOMES), n)
        out[SUCCESS] = self.ts_success
        for i, name in enumerate(OUTCOMES):
            cols[name] = out[i]
        cols["cold_starts"] = np.asarray(self.ts_cold, dtype=np.int64)
        cols["concurrency_mean"] = self.ts_conc_mean
        cols["concurrency_max"] = self.ts_conc_max
        cols["environments_busy"] = self.ts_busy
        cols["environments_idle"] = self.ts_idle
        cols["enis_ready"] = self.ts_ready
        cols["enis_attaching"] = self.ts_attaching
        cols["enis_deleting"] = self.ts_deleting
        for j, s in enumerate(self.subnets):
            cols[f"ips_used.{s.id}"] = self.ts_used[j]
            cols[f"free_ips.{s.id}"] = self.ts_free[j]
        if self.ts_ceiling is not None:
            cols["address_ceiling"] = self.ts_ceiling
        return cols

    def summary(self, fnets: list[Any], net: Any, run_fields: dict[str, Any]) -> dict[str, Any]:
        """The run's measured figures in the summary's order (docs: SPEC §4), around ``run_fields`` (the scenario's
        name, platform, seed and horizon, which the caller knows). ``fnets``: each function's network view (or None
        outside the VPC)."""
        n_out = len(OUTCOMES)
        self._bill_buffer()
        counts = self.counts()
        lat_all, lat_fn = self.lat.summaries()
        cold_all, cold_fn = self.cold_lat.summaries()
        totals = _counts([sum(c["outcomes"][k] for c in counts) for k in range(n_out)],
                         *(sum(c[key] for c in counts) for key in ("invocations", "attempts", "cold", "starts")))
        hz = self.at_horizon
        functions = {}
        for i, name in enumerate(self.names):
            c = counts[i]
            entry = _counts(c["outcomes"], c["invocations"], c["attempts"], c["cold"], c["starts"])
            entry["latency_ms"] = lat_fn[i]
            entry["cold_start_ms"] = cold_fn[i]
            peak_conc, peak_envs, peak_enis = hz["functions"][i]
            entry["peak_concurrency"] = peak_conc
            entry["peak_environments"] = peak_envs
            entry["peak_enis"] = None if fnets[i] is None else net.function_enis(fnets[i], peak_enis)
            entry["first_outcome_s"] = dict(sorted(self.first[i].items(), key=lambda kv: kv[1]))
            entry["billed_ms"] = self.billed_ms[i] + int(self.billed_from_latency[i])
            entry["billed_ms_provisioned"] = self.billed_ms_provisioned[i]
            functions[name] = entry
        return {
            **run_fields,
            **totals,
            "latency_ms": lat_all,
            "cold_start_ms": cold_all,
            "mean_concurrency": hz["mean_concurrency"],
            "peak_concurrency": hz["peak_concurrency"],
            "mean_environments": hz["mean_environments"],
            "peak_environments": hz["peak_environments"],
            "peak_enis": hz["peak_enis"] if any(fn is not None for fn in fnets) else None,
            "first_failure_s": self.first_failure,
            "first_outcome_s": dict(sorted(self.first_outcome.items(), key=lambda kv: kv[1])),
            "subnets": {s.id: {"az": s.az.name, "usable_ips": s.usable, **hz["subnets"][j]}
                        for j, s in enumerate(self.subnets)},
            "functions": functions,
        }

    def counts(self) -> list[dict[str, Any]]:
        """Per function, the counts of the measured window: outcomes (successes are the latency buffer's entries and
        histogram's values), executions started (successes and the others), attempts (those and the attempts that
        started nothing), invocations (the first attempts) and cold starts."""
        lat = self.lat
        buffered = np.bincount(np.asarray(lat.keys, dtype=np.int64), minlength=len(self.names))
        out = []
        for i in range(len(self.names)):
            successes = int(lat.n[i] + buffered[i])
            starts = successes + self.stops[i]
            attempts = starts + self.rejected[i]
            outcomes = list(self.outcomes[i])
            outcomes[SUCCESS] = successes
            out.append({"outcomes": outcomes, "starts": starts, "attempts": attempts,
                        "invocations": attempts - self.retries[i], "cold": self.cold[i]})
        return out

    def latency_buckets(self) -> list[tuple[str, Any, Any]]:
        """``(kind, edges_s, counts)`` of the latency histograms of all functions together."""
        return [(kind, *hist.distribution()) for kind, hist in (("latency", self.lat), ("cold_start", self.cold_lat))]


def _add_counts(series: np.ndarray, steps: np.ndarray) -> None:
    """Add one to ``series`` at each of ``steps`` (those past its end are after the horizon: not counted). The
    steps of a buffer lie close together: count over their range, not over the whole series."""
    steps = steps[steps < len(series)]
    if len(steps):
        lo = int(steps.min())
        counts = np.bincount(steps - lo)
        series[lo:lo + len(counts)] += counts


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _counts(outcomes: list[int], invocations: int, attempts: int, cold: int, starts: int) -> dict[str, Any]:
    """The counts and rates a run has for the whole scenario and for each function alike."""
    from ..summary import FAILURES

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
