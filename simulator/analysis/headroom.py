"""Headroom: the largest load multiplier at which a scenario's conditions still hold, found by simulation.

Every arrival process of every function is scaled by the multiplier *m* (:func:`scale_load`: rates, schedules, the
diurnal mean, a trace's ``scale``). A point *m* is run with N replications and holds when the conditions (the
``expect`` syntax) hold in at least ``share`` of them (default: all). The search brackets the answer — a first batch
of two multipliers (x1 and x2) run together, then batches of two reaching x1.5 and x2.25 beyond (or below) the
points seen until a point that holds lies below one that fails — and then splits the bracket in thirds (two
geometric points per round, run together) until it is within the ``resolution`` (default 2%: ``hi / lo <= 1.02``). The answer is the bracket's lower end: the largest multiplier
seen to hold below the smallest one seen to fail.

Common random numbers: replication *i* of every point uses the same seed and replication index, so the random
streams (arrival gaps, durations, ENI attach times...) are the same at every *m*, merely scaled: the difference
between two points is the load, not the dice.

Replication 0 guides the search: a new point runs it alone, a failure there decides (with ``share`` 1 none may
fail), a hold is provisional. When the bracket has converged on a provisional point, that point runs its other
replications; if one fails, the search goes on below it (from then on as a binary search over the provisional points
and with every new point run in full, since replication 0 has proved lucky near the limit). The answer has always
held in all its replications. Which runs are made depends only on the scenario, the conditions and the options,
never on the number of workers: the answer, the points and their figures are the same with one process, several, or
a Dask cluster. See docs/answers.md.
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
            m = _largest(lambda x, fn=fn, ceiling=ceiling: peak_in_service(scenario, fn, x) <= ceiling, bound)
            best = m if best is None else min(best, m)
        result[key] = best
    return result


# --------------------------------------------------------------------------------------------------- runs


def _run_task(task: tuple[Scenario, int | None, int]) -> dict[str, Any]:
    """One replication at one multiplier (module level: worker processes unpickle it). The closed-form capacity
    figures are left out of what travels back; the caller has them."""
    from .results import simulate

    scenario, seed, replication = task
    summary = simulate(scenario, seed=seed, replication=replication).summary
    summary.pop("capacity", None)
    return summary


def _holds(conditions: Sequence[Condition], summary: dict[str, Any]) -> tuple[bool, list[str]]:
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
    verdicts = [_holds(conditions, s) for s in summaries]
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "multiplier": self.multiplier, "bracket": list(self.bracket),
            "binding": self.binding, "first_outcome": self.first_outcome, "closed_form": dict(self.closed_form),
            "conditions": list(self.conditions), "points": [p.to_dict() for p in self.points],
            "resolution": self.resolution, "replications": self.replications, "share": self.share,
            "max_multiplier": self.max_multiplier, "seed": self.seed, "notes": list(self.notes),
            "wall_s": self.wall_s,
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
    from .capacity import capacity
    from .sweep import execute

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
    cf = closed_form(scenario)  # shown beside the answer, not used to steer the search (see docs/answers.md)
    evaluated: dict[float, Point] = {}
    done_runs = [0]
    variants: dict[float, Scenario] = {}
    caps: dict[float, dict[str, Any]] = {}
    runs_of: dict[float, list[dict[str, Any]]] = {}
    allowed_failures = replications - math.ceil(share * replications - 1e-9)
    # One failing replication decides when none may fail: replication 0 alone can guide the search, and only the
    # answer needs all its replications. Once a point that held in replication 0 fails another, replication 0 is
    # known to be lucky near the limit: from then on new points run all their replications.
    lazy = [allowed_failures == 0]

    def report(done: int, total: int) -> None:
        if progress:
            progress(done_runs[0] + done, done_runs[0] + total)

    def run(tasks: list[tuple[float, int]]) -> None:
        """Run (multiplier, replication) tasks together and file their summaries."""
        for m, _ in tasks:
            if m not in variants:
                variants[m] = scale_load(scenario, m)
                caps[m] = capacity(variants[m])  # computed once here, kept on the scenario the workers receive
                runs_of[m] = []
        results = execute(_run_task, [(variants[m], run_seed, r) for m, r in tasks], workers=workers,
                          scheduler=scheduler, progress=report)
        done_runs[0] += len(tasks)
        for (m, _), summary in zip(tasks, results, strict=True):
            runs_of[m].append({**summary, "capacity": caps[m]})
        for m in dict.fromkeys(m for m, _ in tasks):
            held, verified = _decide(runs_of[m])
            evaluated[m] = _point(m, runs_of[m], active, share, len(runs_of[m]))
            evaluated[m].held, evaluated[m].verified = held, verified

    def _decide(runs: list[dict[str, Any]]) -> tuple[bool, bool]:
        """(holds, decided by all its replications): a failing replication decides a failure when none may fail;
        a point that held so far is provisional until all its replications ran."""
        ok = sum(_holds(active, r)[0] for r in runs)
        if len(runs) == replications:
            return ok >= share * replications - 1e-9, True
        if ok < len(runs):  # lazy: one failure and none allowed
            return False, True
        return True, False

    def evaluate(multipliers: list[float]) -> None:
        """New multipliers: replication 0 only while it can guide the search (lazy), else all replications."""
        new = sorted({m for m in multipliers if m not in evaluated})
        if new:
            reps = range(1) if lazy[0] else range(replications)
            run([(m, r) for m in new for r in reps])

    def verify(m: float) -> None:
        """Run the replications a provisional point has not had yet."""
        run([(m, r) for r in range(len(runs_of[m]), replications)])
        if not evaluated[m].held:
            lazy[0] = False

    def settle(lo: float) -> None:
        """The bracket converged on a point that held in replication 0 only: verify it, or, when verifications have
        failed before, the middle one of the points below it that held in replication 0 (a binary search)."""
        if lazy[0]:
            verify(lo)
            return
        floor = max((m for m, p in evaluated.items() if p.held and p.verified and m < lo), default=0.0)
        guides = sorted(m for m, p in evaluated.items() if p.held and not p.verified and floor < m <= lo)
        verify(guides[(len(guides) - 1) // 2])

    def bracket() -> tuple[float | None, float | None]:
        failed = [m for m, p in evaluated.items() if not p.held]
        hi = min(failed) if failed else None
        below = [m for m, p in evaluated.items() if p.held and (hi is None or m < hi)]
        return (max(below) if below else None), hi

    # Two multipliers at a time, whatever the number of workers (the search must not depend on it): the load as it
    # is and twice it, then x1.5 and x2.25 further out (or in) until the answer is bracketed, then the bracket in
    # thirds (in log space) until hi / lo <= 1 + resolution.
    evaluate(sorted({_round(min(m, max_multiplier)) for m in (1.0, 2.0)}))
    while True:
        lo, hi = bracket()
        if hi is None:  # everything held: look higher, up to the bound
            top = max(evaluated)
            if top >= max_multiplier:
                if not evaluated[top].verified:
                    settle(top)
                    continue
                break
            evaluate(sorted({_round(min(top * k, max_multiplier)) for k in _STEPS}))
            continue
        if lo is None:  # nothing held: look lower
            bottom = min(evaluated)
            if bottom <= MIN_MULTIPLIER:
                break
            evaluate(sorted({_round(max(bottom / k, MIN_MULTIPLIER)) for k in _STEPS}))
            continue
        inner = [m for m in (_round(lo * (hi / lo) ** (1 / 3)), _round(lo * (hi / lo) ** (2 / 3)))
                 if lo < m < hi and m not in evaluated]
        if hi / lo > 1 + resolution and inner:  # (4 significant digits may not split it further)
            evaluate(inner)
            continue
        if not evaluated[lo].verified:  # the answer must hold in all its replications, not only the first
            settle(lo)
            continue
        break

    lo, hi = bracket()
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
        threshold=threshold)


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
