"""What the answers share (:mod:`.headroom`, :mod:`.size`): the conditions a design is held to (``--until``, or
the scenario's ``expect``), the load multiplier that scales every arrival process, and one run of a point.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from ..errors import ArgumentError, VpcsimError, require_number
from ..scenario.models import Scenario, scenario_from_dict
from ..scenario.problems import ScenarioError
from .expectations import (
    Condition,
    ExpectationError,
    compile_expectations,
    lookup,
    metric_kind,
    parse_condition,
)

__all__ = [
    "HeadroomError", "scale_load", "parse_until", "conditions_of", "share_of", "require_load", "default_conditions", "bounds_the_load", "condition_text", "holds",
    "run_task", "FAILURE_COUNTS",
]

_UNTIL = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*((?:<=|>=|==|!=|<|>).*)$")
# Metrics that only grow with the load: a lower bound on one of them ("outcomes.subnet_ips > 0") holds more as the
# load grows and so cannot bound it from above.
FAILURE_COUNTS = re.compile(r"^(functions\.[^.]+\.)?(failed|throttled|failure_rate|throttle_rate|error_rate|"
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
        if "arrivals" in fn:  # a function without a load (imported from a template) has nothing to scale
            fn["arrivals"] = [_scaled_process(p, float(multiplier)) for p in fn["arrivals"]]
    try:
        return scenario_from_dict(data, source=scenario.source)
    except ScenarioError as exc:
        raise HeadroomError(f"the load x {multiplier:g} is not a valid scenario: {exc.problems[0].message} "
                            f"({exc.problems[0].path})") from None


# --------------------------------------------------------------------------------------------------- conditions


def conditions_of(scenario: Scenario, conditions: Any, function: str) -> list[Condition] | None:
    """The conditions an answer is asked with: None (the scenario's ``expect``, or ``failure_rate == 0``), or a list
    of :func:`parse_until`'s conditions or of texts in its syntax (``"failure_rate <= 1%"``), which are parsed."""
    if conditions is None:
        return None
    items = [conditions] if isinstance(conditions, str | Condition) else conditions
    if not isinstance(items, Sequence):
        raise ArgumentError(f"{function}(): conditions must be a list such as ['failure_rate <= 1%'] (or "
                            f"parse_until(scenario, [...])), got {type(conditions).__name__}")
    out = []
    for c in items:
        if isinstance(c, Condition):
            out.append(c)
        elif isinstance(c, str):
            out.extend(parse_until(scenario, [c]))
        else:
            raise ArgumentError(f"{function}(): a condition is a text such as 'failure_rate <= 1%' or one of "
                                f"parse_until(scenario, [...]), got {type(c).__name__} {c!r}")
    return out


def share_of(share: Any, function: str, error: type[HeadroomError]) -> float:
    """``share``: the part of the replications that must hold, above 0 and at most 1."""
    share = require_number(share, function, "share")
    if not 0 < share <= 1:
        raise error(f"--share must be above 0 and at most 1 (got {share:g})")
    return share


def require_load(scenario: Scenario, what: str) -> None:
    """An answer about load needs a load: a scenario whose functions have no ``arrivals`` (imported from a template
    without ``--load``) has nothing to scale or to size for."""
    if not any(f.arrivals for f in scenario.functions):
        raise HeadroomError(f"scenario {scenario.name!r} has no load: no function has arrivals, so there is nothing "
                            f"to {what}; give one (arrivals: in the scenario, or import with --load)")


def parse_until(scenario: Scenario, texts: Sequence[str]) -> list[Condition]:
    """``["failure_rate <= 0.1%", "latency_ms.p99 < 2s"]`` → conditions (the ``expect`` syntax: PATH OP VALUE)."""
    if isinstance(texts, str):
        texts = [texts]  # one condition, not its letters
    if not isinstance(texts, Sequence):
        raise ArgumentError(f"parse_until(): texts must be a list such as ['failure_rate <= 1%'], got "
                            f"{type(texts).__name__}")
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
    return not (FAILURE_COUNTS.match(c.path) and c.op in (">", ">="))


def condition_text(c: Condition) -> str:
    return f"{c.path} {c.text}"


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
        if not c.holds(lookup(summary, c.path)):  # None where the summary has no value at the path
            failed.append(condition_text(c))
    return not failed, failed
