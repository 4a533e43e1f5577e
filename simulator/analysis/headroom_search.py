"""The runs of a headroom search and the rules that choose them (:mod:`.headroom` says how the search goes): the
points evaluated, the bracket, the estimates of where the conditions cross, and the steps beyond the points seen.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..scenario.models import Scenario
from .answering import FAILURE_COUNTS, holds, run_task, scale_load
from .expectations import FIRST_TIME, Condition, lookup

__all__ = ["Point", "Search", "first_points", "MIN_MULTIPLIER"]

MIN_MULTIPLIER = 1 / 1024  # below this nothing is searched: the design fails at a thousandth of its load


def _mean(values: list[Any]) -> float | None:
    nums = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return math.fsum(nums) / len(nums) if nums else None


def _first_outcome(summary: dict[str, Any]) -> tuple[str, float] | None:
    times = [(t, c) for c, t in (summary.get("first_outcome_s") or {}).items() if c != "success" and t is not None]
    return (min(times)[1], min(times)[0]) if times else None


@dataclass
class Point:
    """One evaluated multiplier: whether it held and the means of its replications' key figures."""

    multiplier: float
    held: bool
    runs: int  # replications run (fewer than asked when the first one already decided a failure)
    runs_held: int
    failed_conditions: list[str]
    metric: float | None  # the first condition's metric, mean of the runs
    metric_low: float | None
    metric_high: float | None
    failure_rate: float | None
    throttle_rate: float | None
    error_rate: float | None
    latency_p99_ms: float | None
    peak_concurrency: float | None
    peak_enis: float | None
    cost_monthly_usd: float | None
    first_outcome: str | None
    first_outcome_s: float | None
    verified: bool = True  # False: held in the replications run so far (the first), which only guide the search
    outcomes: dict[str, float] = field(default_factory=dict)  # failures and throttles by cause, means of the runs
    first_times: dict[str, float] = field(default_factory=dict)  # when each cause first came, earliest of the runs
    invocations: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _point(m: float, summaries: list[dict[str, Any]], conditions: Sequence[Condition], share: float,
           n: int) -> Point:
    verdicts = [holds(conditions, s) for s in summaries]
    held_runs = sum(ok for ok, _ in verdicts)
    held = len(summaries) == n and held_runs >= share * n - 1e-9
    failed: list[str] = []
    for _ok, f in verdicts:
        failed += [x for x in f if x not in failed]
    first = conditions[0]
    values = []
    for s in summaries:
        v = lookup(s, first.path)  # None where the summary has no value at the path
        values.append(math.inf if v is None and first.kind == FIRST_TIME else v)
    finite = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]
    outcomes = [o for o in (_first_outcome(s) for s in summaries) if o is not None]
    earliest = min(outcomes, key=lambda o: o[1]) if outcomes else None
    return Point(
        multiplier=m, held=held, runs=len(summaries), runs_held=held_runs, failed_conditions=failed,
        metric=_mean(finite) if finite else (math.inf if values and all(v == math.inf for v in values) else None),
        metric_low=min(finite) if finite else None, metric_high=max(finite) if finite else None,
        failure_rate=_mean([s["failure_rate"] for s in summaries]),
        throttle_rate=_mean([s["throttle_rate"] for s in summaries]),
        error_rate=_mean([s["error_rate"] for s in summaries]),
        latency_p99_ms=_mean([s["latency_ms"]["p99"] for s in summaries]),
        peak_concurrency=_mean([s["peak_concurrency"] for s in summaries]),
        peak_enis=_mean([s["peak_enis"] for s in summaries]),
        cost_monthly_usd=_mean([(s.get("cost") or {}).get("monthly_usd") for s in summaries]),
        first_outcome=earliest[0] if earliest else None, first_outcome_s=earliest[1] if earliest else None,
        outcomes={c: v for c in summaries[0]["outcomes"] if c != "success"
                  and (v := math.fsum(s["outcomes"][c] for s in summaries) / len(summaries)) > 0},
        first_times={c: min(t for s in summaries if (t := (s.get("first_outcome_s") or {}).get(c)) is not None)
                     for c in {c for s in summaries for c in (s.get("first_outcome_s") or {}) if c != "success"}},
        invocations=math.fsum(s["invocations"] for s in summaries) / len(summaries))


# --------------------------------------------------------------------------------------------------- search


def _round(m: float) -> float:
    """Multipliers to 4 significant digits: readable, and the same on every machine."""
    return float(f"{m:.4g}")


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None


def _value(c: Condition, summary: dict[str, Any]) -> float | None:
    return _number(lookup(summary, c.path))


def _excess(c: Condition, summary: dict[str, Any]) -> float | None:
    """How far a run's metric is past the condition's threshold, in the metric's unit: above 0 it fails, at or
    below 0 it holds (None: a condition with no numeric threshold, or no finite value)."""
    th = _number(c.threshold)
    v = _value(c, summary)
    if th is None or v is None or c.op == "!=" or (c.op == "==" and th != 0):
        return None  # ("== 0" is read as "<= 0": counts and rates are never negative)
    return v - th if c.op in ("<", "<=", "==") else th - v


def _log_crossing(c: Condition, m1: float, s1: dict[str, Any], m2: float, s2: dict[str, Any]) -> float | None:
    """Where the metric meets the threshold when it grows (or shrinks) geometrically from m1 to m2: a failure rate
    that rises from 0.1% to 3% as the load grows, a number of free addresses that falls. The straight line of
    :func:`_crossing` and this curve fall on either side of the usual shapes (convex rises, concave falls)."""
    th, v1, v2 = _number(c.threshold), _value(c, s1), _value(c, s2)
    if th is None or v1 is None or v2 is None or min(th, v1, v2) <= 0 or v1 == v2 or c.op in ("==", "!="):
        return None
    return m1 + math.log(th / v1) / math.log(v2 / v1) * (m2 - m1)


def _onset(m: float, summary: dict[str, Any]) -> float | None:
    """Where failures should start, read from a run at ``m`` that had none: the load at which the busiest
    function's peak executions, growing with the load, reach its binding ceiling of the closed form (executions
    the concurrency, the addresses or the ENI quota allow)."""
    out = []
    for name, f in summary["functions"].items():
        cap = (summary.get("capacity") or {}).get("functions", {}).get(name) or {}
        ceiling = _number((cap.get("ceilings") or {}).get(cap.get("binding")))
        peak = _number(f.get("peak_concurrency"))
        if ceiling is not None and peak:
            out.append(m * ceiling / peak)
    return min(out) if out else None


def _at_zero(c: Condition) -> bool:
    """A count or rate of failures that must stay at 0: held points say nothing of how near its threshold is."""
    return bool(FAILURE_COUNTS.match(c.path)) and c.op in ("==", "<=") and _number(c.threshold) == 0


def _crossing(m1: float, e1: float, m2: float, e2: float) -> float:
    """Where the straight line through (m1, e1) and (m2, e2) meets 0 (e1 != e2)."""
    return m1 - e1 * (m2 - m1) / (e2 - e1)


class Search:
    """The runs of one headroom search and the rules that choose them (how the search goes: :mod:`.headroom`'s docstring)."""

    def __init__(self, scenario: Scenario, conditions: Sequence[Condition], *, replications: int, share: float,
                 resolution: float, max_multiplier: float, seed: int, workers: int, scheduler: str | None,
                 progress: Callable[[int, int], None] | None):
        self.scenario, self.conditions = scenario, list(conditions)
        self.n, self.share, self.max_m, self.seed = replications, share, max_multiplier, seed
        self.ratio = 1 + resolution
        self.fit = (1 + resolution) ** 0.995  # a pair or a split meant to be within the resolution, after rounding
        self.workers, self.scheduler, self.progress = workers, scheduler, progress
        self.runs_of: dict[float, dict[int, dict[str, Any]]] = {}  # multiplier -> replication -> summary
        self.variants: dict[float, Scenario] = {}
        self.caps: dict[float, dict[str, Any]] = {}
        self.held_of: dict[tuple[float, int], bool] = {}
        # With share 1 one failing replication decides, so one replication (the guide) can steer the search and
        # only the answer needs all of them; with a lower share every point runs all its replications.
        self.lazy = replications - math.ceil(share * replications - 1e-9) == 0
        self.guide = 0
        self.weak: list[int] = []  # replications that failed where the guide held, the latest first
        self.estimated_width: float | None = None  # log(hi / lo) before the last round placed by an estimate
        self.runs = 0
        self.invocations = 0

    # -- runs ------------------------------------------------------------------------------------------------------
    def run(self, tasks: list[tuple[float, int]]) -> None:
        """Run (multiplier, replication) tasks together and file their summaries."""
        tasks = [t for t in dict.fromkeys(tasks) if t[1] not in self.runs_of.get(t[0], {})]
        if not tasks:  # pragma: no cover - the search never asks twice
            return
        from .capacity import capacity

        for m, _ in tasks:
            if m not in self.variants:
                self.variants[m] = scale_load(self.scenario, m)
                self.caps[m] = capacity(self.variants[m])  # computed once here, kept on the scenario sent
                self.runs_of[m] = {}
        done = self.runs

        def report(k: int, total: int) -> None:
            if self.progress:
                self.progress(done + k, done + total)

        from .sweep import execute

        results = execute(run_task, [(self.variants[m], self.seed, r) for m, r in tasks], workers=self.workers,
                          scheduler=self.scheduler, progress=report)
        self.runs += len(tasks)
        for (m, r), summary in zip(tasks, results, strict=True):
            self.invocations += int(summary["invocations"])
            self.runs_of[m][r] = {**summary, "capacity": self.caps[m]}
            self.held_of[m, r] = holds(self.conditions, self.runs_of[m][r])[0]

    def evaluate(self, multipliers: list[float]) -> None:
        """New multipliers: the guide replication only (lazy), else all replications."""
        new = sorted({m for m in multipliers if m not in self.runs_of})
        reps = [self.guide] if self.lazy else list(range(self.n))
        self.run([(m, r) for m in new for r in reps])

    def verify(self, m: float) -> None:
        """Run the replications ``m`` has not had yet, two at a time, the ones that failed elsewhere first; the first
        that fails decides (it then guides the search)."""
        order = [r for r in dict.fromkeys([*self.weak, *range(self.n)]) if r not in self.runs_of[m]]
        for i in range(0, len(order), 2):
            batch = order[i:i + 2]
            self.run([(m, r) for r in batch])
            failed = [r for r in batch if not self.held_of[m, r]]
            if failed:
                self.guide = failed[0]
                self.weak = [failed[0], *(r for r in self.weak if r != failed[0])]
                return

    # -- state -----------------------------------------------------------------------------------------------------
    def decided(self, m: float) -> tuple[bool, bool]:
        """(holds, decided): a failing replication decides a failure when none may fail; a point that held so far is
        provisional until all its replications ran."""
        runs = self.runs_of[m]
        ok = sum(self.held_of[m, r] for r in runs)
        if len(runs) == self.n:
            return ok >= self.share * self.n - 1e-9, True
        if ok < len(runs):
            return False, True
        return True, False

    def bracket(self) -> tuple[float | None, float | None]:
        failed = [m for m in self.runs_of if not self.decided(m)[0]]
        hi = min(failed) if failed else None
        below = [m for m in self.runs_of if self.decided(m)[0] and (hi is None or m < hi)]
        return (max(below) if below else None), hi

    def guided(self, m: float) -> dict[str, Any] | None:
        return self.runs_of[m].get(self.guide)

    # -- the search ------------------------------------------------------------------------------------------------
    def search(self, first: list[float]) -> None:
        self.evaluate(first)
        while True:
            lo, hi = self.bracket()
            if hi is None:  # everything held: look higher, up to the bound
                top = max(self.runs_of)
                if top >= self.max_m:
                    if not self.decided(top)[1]:
                        self.verify(top)
                        continue
                    return
                self.evaluate(self.step_up(top))
                continue
            if lo is None:  # nothing held: look lower, down to the floor (as rounded: x1/1024 is 0.0009766)
                bottom = min(self.runs_of)
                lower = [m for m in self.step_down(bottom) if m not in self.runs_of]
                if bottom <= _round(MIN_MULTIPLIER) or not lower:
                    return
                self.evaluate(lower)
                continue
            if self.lazy and self.guide not in self.runs_of[lo]:  # a new guide: does the lower end hold in it too?
                self.run([(lo, self.guide)])
                continue
            inner = self.split(lo, hi) if hi / lo > self.ratio else []
            if inner:
                self.evaluate(inner)
                continue
            if not self.decided(lo)[1]:  # the answer must hold in all its replications, not only the guide
                self.verify(lo)
                continue
            return

    def _inside(self, points: list[float | None], lo: float, hi: float) -> list[float]:
        return sorted({x for p in points if p is not None and lo < (x := _round(p)) < hi and x not in self.runs_of})

    def split(self, lo: float, hi: float) -> list[float]:
        """The next points inside the bracket. With an estimate of the crossing (allowed when the last round placed
        by one shrank the bracket at least as much as thirds would have: a safeguard against slow one-sided
        convergence): one point when that can leave both sides within the resolution; a pair within the resolution
        around it when its two readings (line and curve) agree that closely; else the pair at those two readings,
        when they span at most half the bracket. Without one: the thirds of the bracket in log space."""
        width = math.log(hi / lo)
        est = None
        if self.estimated_width is None or width <= self.estimated_width / 3 + 1e-12:
            est = self.estimate(lo, hi)
        self.estimated_width = None
        if width <= 2 * math.log(self.fit):  # one point can leave both sides within the resolution
            x = math.sqrt(lo * hi) if est is None else math.sqrt(est[0] * est[1])
            x = min(max(x, hi / self.fit), lo * self.fit)
            if est is not None:
                self.estimated_width = width
            return self._inside([x], lo, hi) or self._inside([math.sqrt(lo * hi)], lo, hi)
        if est is not None and math.log(est[1] / est[0]) <= width / 2:
            a, b = _pair(est, self.fit)
            pts = self._inside([a if a > lo * 1.001 else None, b if b < hi / 1.001 else None], lo, hi)
            if pts:
                self.estimated_width = width
                return pts
        return self._inside([lo * (hi / lo) ** (1 / 3), lo * (hi / lo) ** (2 / 3)], lo, hi)

    def estimate(self, lo: float, hi: float) -> tuple[float, float] | None:
        """Where the guide's metrics cross their thresholds between ``lo`` (held) and ``hi`` (failed): for each
        condition that fails at ``hi``, the straight line and the geometric curve through the two ends (or, for a
        metric exactly on its threshold at ``lo`` — no failure where none may be —, the line through ``hi`` and the
        next failing point); the lowest such range over the conditions."""
        s_lo, s_hi = self.guided(lo), self.guided(hi)
        if s_lo is None or s_hi is None:
            return None
        ranges: list[tuple[float, float]] = []
        for c in self.conditions:
            e_lo, e_hi = _excess(c, s_lo), _excess(c, s_hi)
            if e_lo is None or e_hi is None or e_hi <= 0 or e_lo > 0 or holds([c], s_hi)[0]:
                continue
            if e_lo < 0:
                ts = [_crossing(lo, e_lo, hi, e_hi), _log_crossing(c, lo, s_lo, hi, s_hi)]
            else:
                above = [(m, e) for m in sorted(self.runs_of) if m > hi and (s := self.guided(m)) is not None
                         and (e := _excess(c, s)) is not None and e > e_hi]
                ts = [_crossing(hi, e_hi, above[0][0], above[0][1])] if above else []
                onset = _onset(lo, s_lo) if _at_zero(c) else None
                ts += [onset] if onset is not None and lo < onset < hi else []
            clipped = [min(max(t, lo), hi) for t in ts if t is not None and math.isfinite(t)]
            if clipped:
                ranges.append((min(clipped), max(clipped)))
        if not ranges:
            return None
        return min(a for a, _ in ranges), min(b for _, b in ranges)

    def extrapolate(self, m1: float, m2: float, failing: bool) -> tuple[float, float] | None:
        """Beyond two points on the same side (m1 the nearer the threshold): where the guide's metrics would cross,
        from the line and the geometric curve through them; None when no metric moves towards its threshold."""
        s1, s2 = self.guided(m1), self.guided(m2)
        if s1 is None or s2 is None:
            return None
        ranges = []
        for c in self.conditions:
            e1, e2 = _excess(c, s1), _excess(c, s2)
            if not failing and e1 == 0 and _at_zero(c) and (onset := _onset(m1, s1)) is not None and onset > m1:
                ranges.append((onset, onset))
                continue
            if e1 is None or e2 is None or e1 == e2 or (e1 > 0) != failing or abs(e1) >= abs(e2) or e1 == 0:
                continue
            ts = [t for t in (_crossing(m1, e1, m2, e2), _log_crossing(c, m1, s1, m2, s2))
                  if t is not None and math.isfinite(t) and t > 0 and (t < m1 if failing else t > m1)]
            if ts:
                ranges.append((min(ts), max(ts)))
        if not ranges:
            return None
        return min(a for a, _ in ranges), min(b for _, b in ranges)

    def step_up(self, top: float) -> list[float]:
        """Two points above the largest seen (all held): at the extrapolated crossing's two readings (between x1.02
        and x2.25 of it) when it lies within x2.25, else x1.5 and x2.25."""
        held = sorted(m for m in self.runs_of if self.guided(m) is not None)
        est = self.extrapolate(held[-1], held[-2], False) if len(held) >= 2 and held[-1] == top else None
        if est is None or est[0] > top * 2.25:  # nothing moves towards its threshold, or too slowly to trust
            pts = [top * 1.5, top * 2.25]
        else:
            a, b = _pair(est, self.fit)
            a = min(max(a, top * self.fit), top * 2.25 / self.fit)
            pts = [a, min(max(b, a * 1.1), top * 2.25)]  # the upper one 10% beyond: extrapolations fall short
        return sorted({_round(min(p, self.max_m)) for p in pts})

    def step_down(self, bottom: float) -> list[float]:
        """Two points below the smallest seen (all failed): at the extrapolated crossing's two readings (between
        x1/1.02 and x1/2.25 of it) when it lies within x1/2.25, else x1/1.5 and x1/2.25."""
        failed = sorted(m for m in self.runs_of if self.guided(m) is not None)
        est = self.extrapolate(failed[0], failed[1], True) if len(failed) >= 2 and failed[0] == bottom else None
        if est is None or est[1] < bottom / 2.25:
            pts = [bottom / 1.5, bottom / 2.25]
        else:
            a, b = _pair(est, self.fit)
            b = max(min(b, bottom / self.fit), bottom / 2.25 * self.fit)
            pts = [max(min(a, b / self.fit), bottom / 2.25), b]
        return sorted({_round(max(p, MIN_MULTIPLIER)) for p in pts})

    def points(self, active: Sequence[Condition]) -> dict[float, Point]:
        out = {}
        for m in sorted(self.runs_of):
            runs = [self.runs_of[m][r] for r in sorted(self.runs_of[m])]
            p = _point(m, runs, active, self.share, len(runs))
            p.held, p.verified = self.decided(m)
            out[m] = p
        return out


def _pair(est: tuple[float, float], fit: float) -> tuple[float, float]:
    """The two ends of an estimated range, pushed apart to ``fit`` (the resolution) when they are closer."""
    a, b = est
    if b / a < fit:
        mid, half = math.sqrt(a * b), math.sqrt(fit)
        a, b = mid / half, mid * half
    return a, b


def first_points(cf: float | None, max_multiplier: float) -> list[float]:
    """x1 and a second multiplier: the closed form's when it lies below x1 (down to x1/2.25: the design is expected
    to fail already, and x2 would cost twice a run for nothing), else x2."""
    second = 2.0
    if cf is not None and cf < 1 / 1.1:
        second = max(cf, 1 / 2.25)
    elif cf is not None and 1.25 <= cf < 2:
        second = cf
    return sorted({_round(min(m, max_multiplier)) for m in (1.0, second)})
