"""Headroom: the largest load multiplier at which a scenario's conditions still hold, found by simulation.

Every arrival process of every function is scaled by the multiplier *m* (:func:`scale_load`: rates, schedules, the
diurnal mean, a trace's ``scale``). A point *m* is run with N replications and holds when the conditions (the
``expect`` syntax) hold in at least ``share`` of them (default: all). The search brackets the answer — x1 and x2
(or, when the closed form puts the limit below x1, that multiplier and x1), then pairs beyond (or below) the points
seen, where their figures extrapolate the conditions' crossing, else at x1.5 and x2.25 — and then refines the bracket
until it is within the ``resolution`` (default 2%: ``hi / lo <= 1.02``): at the crossing's two readings (the line
and the geometric curve through the bracket's ends; for a failure count that must stay 0, the onset read from the
peak executions against the closed form's ceiling), one point when one is enough, or the thirds in log space (always
after a reading that did not shrink the bracket as much). Two points per round at most, run together. The answer
is the bracket's lower end: the largest multiplier seen to hold below the smallest one seen to fail.

Common random numbers: replication *i* of every point uses the same seed and replication index, so the random
streams (arrival gaps, durations, ENI attach times...) are the same at every *m*, merely scaled: the difference
between two points is the load, not the dice.

One replication guides the search (replication 0 to begin with): a new point runs it alone, a failure there decides
(with ``share`` 1 none may fail), a hold is provisional. When the bracket has converged on a provisional point, that
point runs its other replications two at a time, those that failed elsewhere first, until one fails; the one that
failed becomes the guide and the search goes on below. The answer has always held in all its replications. Which
runs are made depends only on the scenario, the conditions and the options, never on the number of workers: the
answer, the points and their figures are the same with one process, several, or a Dask cluster. See
docs/answers.md.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import VpcsimError
from ..scenario.models import Scenario, scenario_from_dict
from ..scenario.problems import ScenarioError
from ..scenario.sections import Function
from .expectations import (
    FIRST_TIME,
    Condition,
    ExpectationError,
    compile_expectations,
    lookup,
    metric_kind,
    parse_condition,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "HeadroomError", "Headroom", "headroom", "scale_load", "parse_until", "default_conditions", "closed_form",
    "DEFAULT_RESOLUTION", "DEFAULT_MAX_MULTIPLIER", "MIN_MULTIPLIER", "LIMIT_OF_OUTCOME",
]

DEFAULT_RESOLUTION = 0.02
DEFAULT_MAX_MULTIPLIER = 10.0
MIN_MULTIPLIER = 1 / 1024  # below this nothing is searched: the design fails at a thousandth of its load
_STEPS = (1.5, 2.25)  # how far each bracketing batch reaches beyond the points seen

# The limit each failure outcome shows (SPEC §3): what binds when it appears.
LIMIT_OF_OUTCOME = {
    "throttled_concurrency": "concurrency", "throttled_reserved": "concurrency", "throttled_scaling": "scaling",
    "eni_limit": "eni_quota", "subnet_ips": "subnet_ips", "ec2_throttled": "ec2_api", "az_outage": "az_outage",
    "timeout": "timeout", "dropped": "async_retries",
}

_UNTIL = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*((?:<=|>=|==|!=|<|>).*)$")
# Metrics that only grow with the load: a lower bound on one of them ("outcomes.subnet_ips > 0") holds more as the
# load grows and so cannot bound it from above.
_FAILURE_COUNTS = re.compile(r"^(functions\.[^.]+\.)?(failed|throttled|failure_rate|throttle_rate|error_rate|"
                             r"outcomes\.(?!success)[a-z_]+)$")


class HeadroomError(VpcsimError, ValueError):
    """A problem with how a headroom or size search was asked for (one line for the user)."""


# --------------------------------------------------------------------------------------------------- load


def _scaled_process(p: dict[str, Any], m: float) -> dict[str, Any]:
    p = dict(p)
    kind = p.get("process")
    if kind in ("poisson", "constant") and p.get("rate") is not None:
        p["rate"] = float(p["rate"]) * m
    if kind == "poisson" and p.get("schedule") is not None:
        p["schedule"] = [[t, float(r) * m] for t, r in p["schedule"]]
    if kind == "diurnal":
        p["mean"] = float(p["mean"]) * m
    if kind == "trace":
        p["scale"] = float(p.get("scale", 1.0)) * m
    return p


def scale_load(scenario: Scenario, multiplier: float) -> Scenario:
    """``scenario`` with every arrival process of every function scaled by ``multiplier``: a rate or a schedule's
    rates, a diurnal process's mean (its peaks with it), a trace's ``scale`` (each call kept floor(scale) times plus
    once more with probability frac(scale))."""
    if not (isinstance(multiplier, int | float) and math.isfinite(multiplier) and multiplier >= 0):
        raise HeadroomError(f"a load multiplier is a number >= 0 (got {multiplier!r})")
    data = scenario.to_dict()  # rates per second, trace paths absolute: no file or unit to resolve again
    for fn in data["functions"]:
        fn["arrivals"] = [_scaled_process(p, float(multiplier)) for p in fn["arrivals"]]
    try:
        return scenario_from_dict(data, source=scenario.source)
    except ScenarioError as exc:
        raise HeadroomError(f"the load x {multiplier:g} is not a valid scenario: {exc.problems[0].message} "
                            f"({exc.problems[0].path})") from None


# --------------------------------------------------------------------------------------------------- conditions


def parse_until(scenario: Scenario, texts: Sequence[str]) -> list[Condition]:
    """``["failure_rate <= 0.1%", "latency_ms.p99 < 2s"]`` → conditions (the ``expect`` syntax: PATH OP VALUE)."""
    out = []
    for text in texts:
        m = _UNTIL.match(str(text))
        if not m:
            raise HeadroomError(f"--until {text!r}: write PATH OP VALUE, e.g. 'failure_rate <= 0.1%' or "
                                f"'latency_ms.p99 < 2s' (OP one of < <= > >= == !=)")
        path, cond = m.group(1), m.group(2)
        try:
            kind = metric_kind(scenario, path)
            out.append(parse_condition(path, kind, cond, key=path))
        except ExpectationError as exc:
            raise HeadroomError(f"--until {text!r}: {exc}") from None
    return out


def default_conditions(scenario: Scenario) -> list[Condition]:
    """The scenario's own ``expect``, or ``failure_rate == 0`` when it has none."""
    if scenario.expect:
        conditions, problems = compile_expectations(scenario)
        if problems:  # pragma: no cover - a loaded scenario was checked already
            raise HeadroomError(f"expect.{problems[0][0][1]}: {problems[0][1]}")
        return conditions
    return [parse_condition("failure_rate", metric_kind(scenario, "failure_rate"), "== 0", key="failure_rate")]


def bounds_the_load(c: Condition) -> bool:
    """Whether a condition can stop the load from growing: not a lower bound on a count of failures, which holds
    more as the load grows (``outcomes.subnet_ips > 0``, a scenario that means to show the exhaustion)."""
    return not (_FAILURE_COUNTS.match(c.path) and c.op in (">", ">="))


def condition_text(c: Condition) -> str:
    return f"{c.path} {c.text}"


# --------------------------------------------------------------------------------------------------- closed form


def _largest(fits: Callable[[float], bool], high: float) -> float:
    """The largest m in [0, high] with fits(m), for a monotone ``fits`` (bisection to 0.1%)."""
    if fits(high):
        return high
    lo, hi = 0.0, high
    while hi - lo > max(1e-3 * hi, 1e-6):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def closed_form(scenario: Scenario, *, high: float = 1e6) -> dict[str, float | None]:
    """The multiplier at which the first function's projected peak (p99.9 of the run's peak, with cold starts)
    reaches its binding ceiling, and the same with its largest AZ lost: ``{"multiplier", "n_minus_1"}``. Each
    function alone (functions that share subnets take addresses from each other: the simulation sees that)."""
    from .capacity import capacity
    from .peak import mean_in_service, peak_in_service

    cap = capacity(scenario)
    result: dict[str, float | None] = {}
    for key in ("multiplier", "n_minus_1"):
        candidates = []
        for fn in scenario.functions:
            c = cap["functions"][fn.name]["ceilings"]
            ceiling = c[cap["functions"][fn.name]["binding"]] if key == "multiplier" else c["n_minus_1"]
            mean, _ = mean_in_service(scenario, fn)
            if mean <= 0:
                continue
            # The mean in service grows about linearly with the load and is below the peak: ceiling / mean bounds
            # the answer from above, so only functions whose bound beats the best exact answer need solving.
            candidates.append((min(high, ceiling / mean), fn, ceiling))
        best = None
        for bound, fn, ceiling in sorted(candidates, key=lambda x: x[0]):
            if best is not None and bound >= best:
                break
            def fits(x: float, fn: Function = fn, ceiling: float = ceiling) -> bool:
                return peak_in_service(scenario, fn, x) <= ceiling

            m = _largest(fits, bound)
            best = m if best is None else min(best, m)
        result[key] = best
    return result


# --------------------------------------------------------------------------------------------------- runs


def run_task(task: tuple[Scenario, int | None, int]) -> dict[str, Any]:
    """One replication at one multiplier (module level: worker processes unpickle it). The closed-form capacity
    figures are left out of what travels back; the caller has them."""
    from .results import simulate

    scenario, seed, replication = task
    summary = simulate(scenario, seed=seed, replication=replication).summary
    summary.pop("capacity", None)
    return summary


def holds(conditions: Sequence[Condition], summary: dict[str, Any]) -> tuple[bool, list[str]]:
    """Whether every condition holds in ``summary``, and the text of those that do not."""
    failed = []
    for c in conditions:
        try:
            value = lookup(summary, c.path)
        except KeyError:
            value = None
        if not c.holds(value):
            failed.append(condition_text(c))
    return not failed, failed


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
        try:
            v = lookup(s, first.path)
        except KeyError:
            v = None
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


# --------------------------------------------------------------------------------------------------- result


@dataclass
class Headroom:
    """The answer of :func:`headroom` (``to_dict()`` is what ``vpcsim headroom --json`` prints)."""

    scenario: str
    multiplier: float
    bracket: tuple[float, float | None]
    binding: str | None
    first_outcome: str | None
    closed_form: dict[str, float | None]
    conditions: list[str]
    points: list[Point]
    resolution: float
    replications: int
    share: float
    max_multiplier: float
    seed: int
    wall_s: float
    notes: list[str] = field(default_factory=list)
    condition_kind: str = "number"
    threshold: float | None = None
    runs: int = 0  # simulated runs of the search, every multiplier and replication
    invocations: int = 0  # invocations those runs measured (after each run's warm-up), all runs together

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "multiplier": self.multiplier, "bracket": list(self.bracket),
            "binding": self.binding, "first_outcome": self.first_outcome, "closed_form": dict(self.closed_form),
            "conditions": list(self.conditions), "points": [p.to_dict() for p in self.points],
            "resolution": self.resolution, "replications": self.replications, "share": self.share,
            "max_multiplier": self.max_multiplier, "seed": self.seed, "notes": list(self.notes),
            "runs": self.runs, "invocations": self.invocations, "wall_s": self.wall_s,
        }

    def table(self):
        """The evaluated points as a DataFrame (one row each, by multiplier)."""
        import pandas as pd

        return pd.DataFrame([p.to_dict() for p in self.points])

    def plot(self) -> Figure:
        from ..present.answer_figures import headroom_figure

        return headroom_figure(self)

    def sentence(self) -> str:
        """The answer in one sentence for people."""
        lo, hi = self.bracket
        if hi is None:
            return (f"The conditions hold up to x{lo:.3g} of the load, the largest multiplier searched "
                    f"(--max-multiplier {self.max_multiplier:g}).")
        if lo == 0:
            return (f"The conditions fail even at x{hi:.3g} of the load: no multiplier down to x{MIN_MULTIPLIER:.3g} "
                    f"holds.")
        what = f"; just above it {self.binding} binds" if self.binding else ""
        first = f" (first outcome: {self.first_outcome})" if self.first_outcome else ""
        return (f"Headroom x{lo:.3g} of the load: the conditions hold at x{lo:.3g} and fail at x{hi:.3g} "
                f"(within {self.resolution:.0%}){what}{first}.")


# --------------------------------------------------------------------------------------------------- search


def _round(m: float) -> float:
    """Multipliers to 4 significant digits: readable, and the same on every machine."""
    return float(f"{m:.4g}")


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None


def _value(c: Condition, summary: dict[str, Any]) -> float | None:
    try:
        return _number(lookup(summary, c.path))
    except KeyError:
        return None


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
    return bool(_FAILURE_COUNTS.match(c.path)) and c.op in ("==", "<=") and _number(c.threshold) == 0


def _crossing(m1: float, e1: float, m2: float, e2: float) -> float:
    """Where the straight line through (m1, e1) and (m2, e2) meets 0 (e1 != e2)."""
    return m1 - e1 * (m2 - m1) / (e2 - e1)


class _Search:
    """The runs of one headroom search and the rules that choose them (see the module's docstring)."""

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
            if lo is None:  # nothing held: look lower
                bottom = min(self.runs_of)
                if bottom <= MIN_MULTIPLIER:
                    return
                self.evaluate(self.step_down(bottom))
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


def _first_points(cf: float | None, max_multiplier: float) -> list[float]:
    """x1 and a second multiplier: the closed form's when it lies below x1 (down to x1/2.25: the design is expected
    to fail already, and x2 would cost twice a run for nothing), else x2."""
    second = 2.0
    if cf is not None and cf < 1 / 1.1:
        second = max(cf, 1 / 2.25)
    elif cf is not None and 1.25 <= cf < 2:
        second = cf
    return sorted({_round(min(m, max_multiplier)) for m in (1.0, second)})


def headroom(
    scenario: Scenario,
    conditions: Sequence[Condition] | None = None,
    *,
    replications: int = 5,
    share: float = 1.0,
    resolution: float = DEFAULT_RESOLUTION,
    max_multiplier: float = DEFAULT_MAX_MULTIPLIER,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Headroom:
    """The largest load multiplier at which ``conditions`` (default: the scenario's ``expect``, or
    ``failure_rate == 0``) hold in at least ``share`` of ``replications`` (see the module's docstring)."""
    from ..scenario.models import require_scenario

    require_scenario(scenario, "headroom")
    if not isinstance(replications, int) or isinstance(replications, bool) or replications < 1:
        raise HeadroomError(f"--replications must be a whole number >= 1 (got {replications!r})")
    if not 0 < share <= 1:
        raise HeadroomError(f"--share must be above 0 and at most 1 (got {share:g})")
    if not 0 < resolution < 1:
        raise HeadroomError(f"--resolution must be above 0 and below 1, e.g. 0.02 for 2% (got {resolution:g})")
    if not (math.isfinite(max_multiplier) and max_multiplier > 0):
        raise HeadroomError(f"--max-multiplier must be above 0 (got {max_multiplier:g})")
    started = time.perf_counter()
    notes: list[str] = []
    given = list(conditions) if conditions else default_conditions(scenario)
    active = [c for c in given if bounds_the_load(c)]
    skipped = [c for c in given if not bounds_the_load(c)]
    if skipped:
        notes.append("skipped (a lower bound on failures holds more as the load grows, so it cannot bound it): "
                     + ", ".join(condition_text(c) for c in skipped))
    if not active:
        raise HeadroomError("no condition bounds the load: give one with --until, e.g. --until 'failure_rate <= 0.1%'")
    run_seed = scenario.seed if seed is None else seed
    cf = closed_form(scenario)  # shown beside the answer; below x1 it is the search's first point but one
    search = _Search(scenario, active, replications=replications, share=share, resolution=resolution,
                     max_multiplier=max_multiplier, seed=run_seed, workers=workers, scheduler=scheduler,
                     progress=progress)
    search.search(_first_points(cf["multiplier"], max_multiplier))
    evaluated = search.points(active)

    lo, hi = search.bracket()
    if not conditions and not scenario.expect and any(p.held and (p.throttle_rate or 0) > 0 for p in evaluated.values()):
        notes.append("the default condition failure_rate == 0 does not count throttles (429s a caller may retry), and "
                     "some points that hold were throttled; to count them: --until 'error_rate == 0'")
    if any(p.held for m, p in evaluated.items() if hi is not None and m > hi):
        notes.append("not monotone: some points above the bracket held again (noise, or a load that changes which "
                     "limit binds); the answer is the largest multiplier below the first failure")
    binding = first_outcome = None
    if hi is not None:
        first_outcome = _appears(evaluated[hi], evaluated[lo] if lo is not None else None)
        if first_outcome is not None:
            binding = LIMIT_OF_OUTCOME.get(first_outcome, first_outcome)
        elif evaluated[hi].failed_conditions:
            binding = evaluated[hi].failed_conditions[0].split(" ")[0]
    first_c = active[0]
    threshold = first_c.threshold if isinstance(first_c.threshold, int | float) and not isinstance(
        first_c.threshold, bool) else None
    return Headroom(
        scenario=scenario.name, multiplier=lo if lo is not None else 0.0,
        bracket=(lo if lo is not None else 0.0, hi), binding=binding, first_outcome=first_outcome, closed_form=cf,
        conditions=[condition_text(c) for c in active], points=[evaluated[m] for m in sorted(evaluated)],
        resolution=resolution, replications=replications, share=share, max_multiplier=max_multiplier,
        seed=run_seed, wall_s=time.perf_counter() - started, notes=notes, condition_kind=first_c.kind,
        threshold=threshold, runs=search.runs, invocations=search.invocations)


def _appears(hi: Point, lo: Point | None) -> str | None:
    """The outcome that appears just above the answer: among the causes at ``hi`` that ``lo`` did not have, the
    first in time; when ``lo`` had them all (timeouts of long executions, say, come at any load), the one whose share
    of invocations grew most from ``lo`` to ``hi``."""
    if not hi.outcomes:
        return None
    seen = set(lo.outcomes) if lo is not None else set()
    new = [c for c in hi.outcomes if c not in seen]
    if new:
        times = {c: t for c, t in hi.first_times.items() if c in new}
        return min(times, key=lambda c: times[c]) if times else new[0]
    assert lo is not None
    return max(hi.outcomes, key=lambda c: hi.outcomes[c] / max(hi.invocations, 1)
               - lo.outcomes.get(c, 0.0) / max(lo.invocations, 1))
