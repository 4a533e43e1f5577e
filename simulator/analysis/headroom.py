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

Here: the closed form, the answer and its entry point; the search's runs and rules in :mod:`.headroom_search`; the
conditions, the load multiplier and one run, which :mod:`.size` shares, in :mod:`.answering`.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..scenario.models import Scenario
from ..scenario.sections import Function
from .answering import (
    HeadroomError,
    bounds_the_load,
    condition_text,
    conditions_of,
    default_conditions,
    parse_until,
    require_load,
    scale_load,
    share_of,
)
from .expectations import Condition
from .headroom_search import MIN_MULTIPLIER, Point, Search, first_points

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "HeadroomError", "Headroom", "headroom", "scale_load", "parse_until", "default_conditions", "closed_form",
    "DEFAULT_RESOLUTION", "DEFAULT_MAX_MULTIPLIER", "MIN_MULTIPLIER", "LIMIT_OF_OUTCOME", "Point",
]

DEFAULT_RESOLUTION = 0.02
DEFAULT_MAX_MULTIPLIER = 10.0

# The limit each failure outcome shows (SPEC §3): what binds when it appears.
LIMIT_OF_OUTCOME = {
    "throttled_concurrency": "concurrency", "throttled_reserved": "concurrency", "throttled_scaling": "scaling",
    "eni_limit": "eni_quota", "subnet_ips": "subnet_ips", "ec2_throttled": "ec2_api", "az_outage": "az_outage",
    "timeout": "timeout", "dropped": "async_retries",
}


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


# --------------------------------------------------------------------------------------------------- the answer


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
    from ..errors import require_int, require_number
    from ..scenario.models import require_scenario
    from ..scenario.sections import MAX_SEED

    require_scenario(scenario, "headroom")
    conditions = conditions_of(scenario, conditions, "headroom")
    if not isinstance(replications, numbers.Integral) or isinstance(replications, bool) or replications < 1:
        raise HeadroomError(f"--replications must be a whole number >= 1 (got {replications!r})")
    replications = int(replications)
    share = share_of(share, "headroom", HeadroomError)
    resolution = require_number(resolution, "headroom", "resolution")
    if not 0 < resolution < 1:
        raise HeadroomError(f"--resolution must be above 0 and below 1, e.g. 0.02 for 2% (got {resolution:g})")
    max_multiplier = require_number(max_multiplier, "headroom", "max_multiplier")
    if not max_multiplier > 0:
        raise HeadroomError(f"--max-multiplier must be above 0 (got {max_multiplier:g})")
    seed = require_int(seed, "headroom", "seed", maximum=MAX_SEED, allow_none=True)
    require_load(scenario, "scale")
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
    search = Search(scenario, active, replications=replications, share=share, resolution=resolution,
                     max_multiplier=max_multiplier, seed=run_seed, workers=workers, scheduler=scheduler,
                     progress=progress)
    search.search(first_points(cf["multiplier"], max_multiplier))
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
