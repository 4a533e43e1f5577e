"""The results contract: every metric of a run's summary declared once, with one reader and one formatter per kind.

A summary (SPEC §4; ``summary.json``, ``run --json``) is a tree of plain data. :func:`declaration` describes that
tree for a scenario (its function names and subnet ids): each leaf is a :class:`Metric` with its kind (what unit
its values are in and how a condition is written for it), its label, which direction is better, how replications
aggregate it and, for the key figures, the column it has in a sweep's table. Everything that reads a summary derives
from this declaration: the ``expect`` checker (which paths exist, their kinds), replications (what is averaged),
sweeps (their columns), comparisons (their rows and verdicts), the command line and the report. A new metric is
added here, in one place.

The outcome causes and their Lambda error names live here too, at the bottom of the package, so that the engine,
the recorder and every reader of a summary use the same words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from .units import format_duration

__all__ = [
    "OUTCOMES", "THROTTLES", "FAILURES", "LAMBDA_ERRORS", "TOP_LEVEL", "QUANTILES",
    "COUNT", "NUMBER", "RATE", "MS", "SECONDS", "FIRST_TIME", "USD", "TEXT", "BOOL", "KINDS",
    "Summary", "Metric", "declaration", "shape", "key_metrics", "not_averaged", "leaves", "get", "set_path", "is_first_time",
    "format_value", "format_usd", "percent", "prose_count", "fmt_num", "fmt_pct", "fmt_ms", "fmt_clock", "fmt_count",
    "fmt_rate", "fmt_difference", "fmt_table", "MAX_FUNCTION_ROWS", "projected_peak", "attention_order",
    "shown_functions", "replications_of",
]

Summary = dict[str, Any]
"""A run's summary (``summary.json``, ``Result.summary``): the tree :func:`declaration` describes, as plain data.
A dict rather than a TypedDict: its sections under ``functions``, ``subnets`` and ``first_outcome_s`` are keyed by
the scenario's names and causes, and :func:`declaration` (not the type) is the contract of its keys."""

# --------------------------------------------------------------------------------------------------- vocabulary

# The outcomes of an invocation (SPEC §4); they mirror Lambda's own errors (AWS facts §5):
#   throttled_*  → TooManyRequestsException (429)      eni_limit    → ENILimitReachedException
#   subnet_ips   → SubnetIPAddressLimitReachedException ec2_throttled → EC2ThrottledException
#   az_outage    → the environment's AZ went away        timeout      → Task timed out (function error)
#   dropped      → an async event older than max_event_age
OUTCOMES = (
    "success", "throttled_concurrency", "throttled_reserved", "throttled_scaling",
    "eni_limit", "subnet_ips", "ec2_throttled", "az_outage", "timeout", "dropped",
)
THROTTLES = ("throttled_concurrency", "throttled_reserved", "throttled_scaling")
FAILURES = ("eni_limit", "subnet_ips", "ec2_throttled", "az_outage", "timeout", "dropped")

# Lambda's own names for the outcome causes (AWS facts §5), shown beside ours in tables and reports.
LAMBDA_ERRORS = {
    "success": "",
    "throttled_concurrency": "429 TooManyRequestsException (ConcurrentInvocationLimitExceeded)",
    "throttled_reserved": "429 TooManyRequestsException (ReservedFunctionConcurrentInvocationLimitExceeded)",
    "throttled_scaling": "429 TooManyRequestsException (scaling rate)",
    "eni_limit": "502 ENILimitReachedException",
    "subnet_ips": "502 SubnetIPAddressLimitReachedException",
    "ec2_throttled": "502 EC2ThrottledException",
    "az_outage": "the environment's Availability Zone failed",
    "timeout": "Task timed out",
    "dropped": "async event older than max_event_age",
}

# The summary's top-level keys, in their order (all present; null where they do not apply).
TOP_LEVEL = (
    "scenario", "platform", "seed", "simulated_s", "invocations", "attempts", "succeeded", "throttled", "failed",
    "outcomes", "failure_rate", "throttle_rate", "error_rate", "cold_starts", "cold_start_rate", "latency_ms",
    "cold_start_ms", "mean_concurrency", "peak_concurrency", "mean_environments", "peak_environments", "peak_enis",
    "first_failure_s", "first_outcome_s", "subnets", "functions", "capacity", "cost", "expectations", "warnings",
    "wall_s",
)
QUANTILES = ("p50", "p95", "p99", "max", "mean")

# --------------------------------------------------------------------------------------------------- kinds

# What a metric's values are, and so how they are shown and how a condition on them is written (`expect`).
COUNT = "count"  # a whole number of things (a mean of counts across replications)
NUMBER = "number"  # a plain number
RATE = "rate"  # a fraction 0..1; a condition accepts "0.1%"
MS = "ms"  # milliseconds; a condition accepts durations ("3s")
SECONDS = "s"  # seconds; a condition accepts durations
FIRST_TIME = "first"  # seconds of a first occurrence; null means "never"
USD = "usd"  # US dollars; a condition accepts "$12.50"
TEXT = "text"  # a string: == and != only
BOOL = "bool"
KINDS = (COUNT, NUMBER, RATE, MS, SECONDS, FIRST_TIME, USD, TEXT, BOOL)

# How replications aggregate a metric.
MEAN = "mean"  # the mean across replications, with a 95% interval (a first time never reached counts at the end)
SAME = "same"  # identical in every replication (the scenario's identity, closed forms): copied
NONE = "none"  # bookkeeping: not averaged (the wall time is summed)


class Metric(NamedTuple):
    """One leaf of the summary: its ``kind``, a ``label`` for people, which direction is ``better`` (``lower``,
    ``higher`` or None), how replications ``aggregate`` it, ``key``: a key figure (comparisons and reports show it),
    and ``column``: its name in a sweep's table (None: not one). ``null``: why it is null in every run of this
    scenario (a condition on it could never be checked)."""

    kind: str
    label: str = ""
    better: str | None = None
    aggregate: str = MEAN
    column: str | None = None
    null: str | None = None
    key: bool = False


def _counts(prefix: str = "") -> dict[str, Any]:
    """The counts and rates a run has for the whole scenario and for each function alike (``prefix``: the label's
    start, a function's name)."""
    p = f"{prefix}: " if prefix else ""
    top = not prefix
    return {
        "invocations": Metric(COUNT, f"{p}invocations", None, column="invocations" if top else None, key=top),
        "attempts": Metric(COUNT, f"{p}attempts (with retries)"),
        "succeeded": Metric(COUNT, f"{p}succeeded", "higher", column="succeeded" if top else None, key=top),
        "throttled": Metric(COUNT, f"{p}throttled", "lower", column="throttled" if top else None, key=top),
        "failed": Metric(COUNT, f"{p}failed", "lower", column="failed" if top else None, key=top),
        "outcomes": {cause: Metric(COUNT, f"{p}outcome {cause}", "higher" if cause == "success" else "lower")
                     for cause in OUTCOMES},
        "failure_rate": Metric(RATE, f"{p}failure rate", "lower", column="failure_rate" if top else None, key=top),
        "throttle_rate": Metric(RATE, f"{p}throttle rate", "lower", column="throttle_rate" if top else None,
                                key=top),
        "error_rate": Metric(RATE, f"{p}failed or throttled (share)", "lower", column="error_rate" if top else None,
                             key=top),
        "cold_starts": Metric(COUNT, f"{p}cold starts", "lower", key=top),
        "cold_start_rate": Metric(RATE, f"{p}cold-start rate", "lower", column="cold_start_rate" if top else None,
                                  key=top),
        "latency_ms": {q: Metric(MS, f"{p}latency {q} (ms)", "lower",
                                 column=f"latency_{q}_ms" if top and q in ("p50", "p99") else None,
                                 key=top and q != "mean")
                       for q in QUANTILES},
        "cold_start_ms": {q: Metric(MS, f"{p}cold start {q} (ms)", "lower",
                                    column="cold_start_p99_ms" if top and q == "p99" else None,
                                    key=top and q in ("p50", "p99"))
                          for q in QUANTILES},
    }


_NO_VPC = "no function of this scenario is in a VPC, so it has no ENIs"


def declaration(functions: Iterable[tuple[str, bool]], subnets: Iterable[str]) -> dict[str, Any]:
    """The summary of a scenario whose functions are ``(name, in a VPC)`` and whose subnets are ``subnets``, as a
    tree of :class:`Metric` leaves in the summary's order. ``capacity`` (the closed forms, whose shape follows from
    their values) and ``expectations`` (rows, not metrics) are None."""
    functions = list(functions)
    per_function = {}
    for name, in_vpc in functions:
        entry = _counts(name)
        entry.update({
            "peak_concurrency": Metric(COUNT, f"{name}: peak concurrency"),
            "peak_environments": Metric(COUNT, f"{name}: peak environments"),
            "peak_enis": Metric(COUNT, f"{name}: peak Lambda ENIs", "lower", null=None if in_vpc else (
                f"function {name} is not in a VPC, so it has no ENIs")),
            "first_outcome_s": {cause: Metric(FIRST_TIME, f"{name}: first {cause} at", "higher") for cause in OUTCOMES},
            "billed_ms": Metric(COUNT, f"{name}: billed duration on demand (ms)"),
            "billed_ms_provisioned": Metric(COUNT, f"{name}: billed duration on provisioned environments (ms)"),
        })
        per_function[name] = entry
    subnet_tree = {sid: {
        "az": Metric(TEXT, f"subnet {sid}: AZ", aggregate=SAME),
        "usable_ips": Metric(COUNT, f"subnet {sid}: usable addresses", aggregate=SAME),
        "peak_ips_used": Metric(COUNT, f"subnet {sid}: peak addresses used", "lower"),
        "min_free_ips": Metric(COUNT, f"subnet {sid}: min free addresses", "higher"),
        "exhausted_s": Metric(FIRST_TIME, f"subnet {sid}: ran out at", "higher"),
        "exhausted_for_s": Metric(SECONDS, f"subnet {sid}: time without a free address (s)", "lower"),
    } for sid in subnets}
    any_vpc = any(in_vpc for _, in_vpc in functions)
    return {
        "scenario": Metric(TEXT, "scenario", aggregate=SAME),
        "platform": Metric(TEXT, "platform", aggregate=SAME),
        "seed": Metric(COUNT, "seed", aggregate=SAME),
        "simulated_s": Metric(SECONDS, "simulated (s)", aggregate=SAME),
        **_counts(),
        "mean_concurrency": Metric(NUMBER, "mean concurrency", key=True),
        "peak_concurrency": Metric(COUNT, "peak concurrency", column="peak_concurrency", key=True),
        "mean_environments": Metric(NUMBER, "mean environments"),
        "peak_environments": Metric(COUNT, "peak environments", column="peak_environments", key=True),
        "peak_enis": Metric(COUNT, "peak Lambda ENIs", "lower", column="peak_enis",
                            null=None if any_vpc else _NO_VPC, key=True),
        "first_failure_s": Metric(FIRST_TIME, "first failure at", "higher", column="first_failure_s", key=True),
        "first_outcome_s": {cause: Metric(FIRST_TIME, f"first {cause} at", "higher") for cause in OUTCOMES},
        "subnets": subnet_tree,
        "functions": per_function,
        "capacity": None,
        "cost": {
            "currency": Metric(TEXT, "currency", aggregate=SAME),
            "prices": Metric(TEXT, "prices", aggregate=SAME),
            "window_s": Metric(SECONDS, "measured window (s)", aggregate=SAME),
            "requests_usd": Metric(USD, "requests (USD)", "lower"),
            "compute_usd": Metric(USD, "duration (USD)", "lower"),
            "provisioned_usd": Metric(USD, "provisioned concurrency (USD)", "lower"),
            "nat_usd": Metric(USD, "NAT gateway (USD)", "lower"),
            "total_usd": Metric(USD, "cost of the window (USD)", "lower", column="cost_usd", key=True),
            "per_million_usd": Metric(USD, "cost per million requests (USD)", "lower", key=True),
            "monthly_usd": Metric(USD, "cost per 30 days (USD)", "lower", column="monthly_usd", key=True),
            "nat_gateways": Metric(COUNT, "NAT gateways", aggregate=SAME),
            "egress_gb": Metric(NUMBER, "NAT egress (GB)"),
            "free_tier_monthly_usd": Metric(USD, "free tier per month (USD)", aggregate=SAME),
            "functions": {name: {"requests": Metric(COUNT, f"{name}: requests"),
                                 "gb_s": Metric(NUMBER, f"{name}: GB-seconds"),
                                 "usd": Metric(USD, f"{name}: cost (USD)", "lower")} for name, _ in functions},
        },
        "expectations": None,
        "warnings": None,  # what the run could not do as the scenario says (sentences, not a metric)
        "wall_s": Metric(SECONDS, "wall time (s)", aggregate=NONE),
    }


def _tree_of(summary_or_names: Any) -> dict[str, Any]:
    """The declaration for a summary (its functions and subnets) or for a scenario."""
    if hasattr(summary_or_names, "functions") and hasattr(summary_or_names, "vpc"):  # a Scenario
        sc = summary_or_names
        return declaration([(f.name, f.in_vpc) for f in sc.functions], [s.id for s in sc.vpc.subnets])
    s = summary_or_names
    fns = s.get("functions") or {}
    return declaration([(name, f.get("peak_enis") is not None) for name, f in fns.items()], list(s.get("subnets") or {}))


def shape(scenario: Any) -> dict[str, Any]:
    """The summary of ``scenario`` as a tree whose leaves are kinds, or the reason a leaf is always null (what the
    ``expect`` checker walks)."""
    def strip(node: Any) -> Any:
        if isinstance(node, Metric):
            return f"null: {node.null}" if node.null else node.kind
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items()}
        return node
    return strip({k: v for k, v in _tree_of(scenario).items() if k not in ("expectations", "warnings")})


def leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, leaf)`` of every leaf of a tree (a summary, or a declaration), in order."""
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            yield from leaves(value, path)
        else:
            yield path, value


def key_metrics(summary_or_scenario: Any, *, columns: bool = False) -> list[tuple[str, Metric]]:
    """The key figures, in order: ``(path, metric)`` of every key metric (comparisons and reports show these), or
    with ``columns`` of every metric with a sweep column (a sweep's table, a replicated run's rows)."""
    return [(p, m) for p, m in leaves(_tree_of(summary_or_scenario))
            if isinstance(m, Metric) and (m.column if columns else m.key)]


def not_averaged(summary_or_scenario: Any) -> set[str]:
    """The top-level sections replications do not average (the same in every replication, or bookkeeping)."""
    tree = _tree_of(summary_or_scenario)
    return {"replications"} | {k for k, v in tree.items() if v is None or isinstance(v, Metric) and v.aggregate != MEAN}


def get(summary: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """The value at a dotted ``path`` of a summary, or ``default`` where the summary has none (a first occurrence
    that did not happen is absent from ``first_outcome_s``: None, "never")."""
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def set_path(summary: Summary, path: str, value: Any) -> None:
    """Set the value at a dotted ``path`` of a summary, making the sections on the way."""
    parts = path.split(".")
    node = summary
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def is_first_time(path: str) -> bool:
    """Whether ``path`` is the time of a first occurrence (null: it did not happen)."""
    parts = path.split(".")
    return (path == "first_failure_s" or parts[0] == "first_outcome_s"
            or (parts[0] == "functions" and len(parts) == 4 and parts[2] == "first_outcome_s")
            or (parts[0] == "subnets" and parts[-1] == "exhausted_s"))


# --------------------------------------------------------------------------------------------------- formatting


MAX_FUNCTION_ROWS = 30
"""Beyond this many functions, the CLI's tables, the report's verdict and the compact capacity chart show the
functions that need attention first (an imported account has thousands); ``--json`` and ``summary.json`` hold all."""


def projected_peak(figures: Mapping[str, Any]) -> int:
    """The projected peak of a capacity entry (a function's, or ``total``): the p99.9 of a run's peak in service;
    in results folders written before that figure existed, the mean in service (Little's law)."""
    return figures.get("peak_in_service", figures["projected_peak"])


def attention_order(capacity_functions: Mapping[str, Any], run_functions: Mapping[str, Any] | None = None) -> list[str]:
    """Function names, those that need attention first: the ones that failed or were throttled in the run (the
    highest rate first), then the least headroom (the binding ceiling over the projected peak, p99.9); ties keep the
    scenario's order. ``capacity_functions`` is ``capacity()["functions"]``, ``run_functions`` a summary's
    ``functions``."""
    runs = run_functions or {}

    def key(item: tuple[int, tuple[str, Any]]) -> tuple[float, float, int]:
        i, (name, f) = item
        run = runs.get(name) or {}
        trouble = (run.get("failure_rate") or 0.0) + (run.get("throttle_rate") or 0.0)
        return -trouble, f["ceilings"][f["binding"]] / max(projected_peak(f), 1), i

    return [name for _, (name, _) in sorted(enumerate(capacity_functions.items()), key=key)]


def shown_functions(capacity_functions: Mapping[str, Any], run_functions: Mapping[str, Any] | None = None,
                    most: int = MAX_FUNCTION_ROWS) -> tuple[list[str], int]:
    """The functions a table shows and how many it leaves out: every one in the scenario's order when there are at
    most ``most``, else the ``most`` that need attention first (:func:`attention_order`)."""
    if len(capacity_functions) <= most:
        return list(capacity_functions), 0
    return attention_order(capacity_functions, run_functions)[:most], len(capacity_functions) - most


def percent(fraction: float) -> str:
    """0.4592 → "45.9%", 0.0012 → "0.12%": three significant digits, the precision a reader compares."""
    return "0%" if fraction == 0 else f"{fraction * 100:.3g}%"


def format_usd(value: float) -> str:
    """Dollars for people: ``$1,234``, ``$12.35``, ``$0.0042`` (two significant digits below a cent: a small load's
    cost is not $0.00)."""
    if value == 0:
        return "$0"
    if abs(value) >= 1000:
        return f"${value:,.0f}"
    if abs(value) >= 0.01:
        return f"${value:,.2f}"
    digits = 1 - math.floor(math.log10(abs(value)))  # two significant digits, never in exponent form
    return f"${value:.{digits}f}"


def format_value(value: Any, kind: str) -> str:
    """A value for people, in its metric's unit, as an expectation shows it: ``0.0523 (5.23%)``, ``1,209 ms``,
    ``6m41s``, ``never``, ``$12.35``."""
    if value is None:
        return "never" if kind == FIRST_TIME else "none"
    if isinstance(value, bool | str):
        return str(value).lower() if isinstance(value, bool) else value
    if isinstance(value, float) and math.isinf(value):
        return "never" if kind == FIRST_TIME else ("∞" if value > 0 else "-∞")
    if kind == RATE:
        return f"{value:.4g} ({percent(value)})" if value else "0"
    if kind == MS:
        return f"{value:,.1f} ms" if abs(value) < 100 else f"{value:,.0f} ms"
    if kind == USD:
        return format_usd(value)
    if kind in (SECONDS, FIRST_TIME):  # to the second past a minute ("35m14s"), to the ms below it
        return format_duration(round(value) if abs(value) >= 60 else round(value, 3))
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"


def replications_of(summary: Summary) -> int:
    """How many replications a summary aggregates (1 for a single run)."""
    return int((summary.get("replications") or {}).get("n") or 1)


def prose_count(v: float) -> str:
    """A count in a sentence; a mean of counts across replications rounded as people say it: 42 (not 41.6) and
    193,212 (not 193,212.2), but 2.4 and 0.4 (a mean below 10 keeps its decimal: 0.4 failures is not none)."""
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}" if abs(v) < 10 else f"{round(v):,}"
    return f"{int(v):,}"


# The short forms of tables (the command line's and the report's): a dash for nothing.
def fmt_num(v: Any, digits: int = 0) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isinf(v):
            return "∞"
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def fmt_pct(v: float | None) -> str:
    """A share: ``0.12%``, ``<0.001%`` (not zero), ``>99.99%`` (not all)."""
    if v is None:
        return "–"
    if v == 0:
        return "0%"
    sign, v = ("-" if v < 0 else ""), abs(v)
    if v < 0.00001:  # would print as 0.000%: it is not zero
        return f"{sign}<0.001%"
    if 0.99995 <= v < 1:  # would print as 100.00%: it is not all
        return f"{sign}>99.99%"
    return sign + (f"{v:.3%}" if v < 0.001 else f"{v:.2%}")


def fmt_ms(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def fmt_clock(t: float | None) -> str:
    """A time in the run: ``11m5s``, ``42.5s``; whole seconds from a minute on."""
    if t is None:
        return "–"
    if isinstance(t, float) and math.isinf(t):
        return "never"
    return format_duration(round(t) if t >= 60 else round(t, 1))


def fmt_count(v: float | None) -> str:
    """A count, or the mean of counts across replications: ``1,234``, ``24.8``."""
    if v is None:
        return "–"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}"
    return f"{int(v):,}"


def fmt_rate(per_s: float | None) -> str:
    """Arrivals per second."""
    if per_s is None:
        return "–"
    return f"{per_s:,.0f}/s" if per_s >= 10 else f"{per_s:,.1f}/s"


def fmt_table(v: Any, kind: str) -> str:
    """A metric's value in a table cell, by its kind: a share as a percentage, milliseconds without their unit, a
    time as a clock (``never`` for a first occurrence that did not happen), dollars, counts."""
    if v is None:
        return "never" if kind in (FIRST_TIME, SECONDS) else "–"
    if kind == RATE:
        return fmt_pct(v)
    if kind == MS:
        return fmt_ms(v)
    if kind in (SECONDS, FIRST_TIME):
        return fmt_clock(v)
    if kind == USD:
        return format_usd(v)
    if kind == NUMBER:
        return fmt_num(v, 1)
    if kind == COUNT:
        return fmt_count(v)
    return fmt_num(v)


def fmt_difference(v: float | None, kind: str) -> str:
    """A signed difference of two runs' values in the metric's unit: ``+48``, ``-61.7``, ``-7.23 pp`` and
    ``-0.00052 pp`` (a share, in percentage points: never ``-<0.001``), ``+1m2s``, ``+$658``; empty when there is
    none."""
    if v is None:
        return ""
    sign = "+" if v > 0 else "-" if v < 0 else ""
    v = abs(v)
    if kind == RATE:  # in percentage points: beside a relative change in %, "-7.23%" would read as one
        if 0 < v < 0.00001:  # below fmt_pct's "<0.001%": two significant digits
            import numpy as np

            return f"{sign}{np.format_float_positional(v * 100, precision=2, fractional=False, trim='-')} pp"
        return sign + fmt_pct(v).removesuffix("%") + " pp"
    if kind == MS:
        return sign + fmt_ms(v)
    if kind in (SECONDS, FIRST_TIME):  # a difference of times is a duration, never "never"
        return sign + format_duration(round(v, 1))
    if kind == USD:  # whole dollars from $100 on: cents beside hundreds of dollars are noise
        return sign + (f"${v:,.0f}" if v >= 100 else format_usd(v))
    return sign + fmt_num(v, 1 if kind == NUMBER else 0)
