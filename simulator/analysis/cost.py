"""What a run's measured window costs (``summary["cost"]``), from the billed durations the engine tallied.

Per function: requests (executions started in the window), duration billed per execution rounded up to 1 ms with
init included (AWS facts §9; the engine's ``billed_ms``), priced by architecture, on-demand or on provisioned
environments (``billed_ms_provisioned``, at the lower price); provisioned concurrency kept warm for the whole window;
NAT processing of ``egress_bytes`` per execution. For the scenario: NAT gateway hours, one gateway per AZ whose
function subnets route through NAT. ``monthly_usd`` scales the window's total to 30 days; the free tier is not
subtracted (it is per account and month) but valued apart in ``free_tier_monthly_usd``. See docs/answers.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..scenario.models import Scenario
from ..scenario.sections import Function
from ..summary import Summary
from .prices import FREE_TIER_GB_S, FREE_TIER_REQUESTS, Prices, prices_for

__all__ = ["cost", "executions_started", "MONTH_S", "BYTES_PER_GB"]

MONTH_S = 30 * 86400.0  # "monthly" is 30 days
BYTES_PER_GB = 2.0**30  # a GB of NAT processing, taken as 1024 MB like Lambda's memory GB (the pages do not say)


def executions_started(entry: Mapping[str, Any]) -> int:
    """Executions started in the measured window — the requests Lambda bills (throttled and refused invocations
    start none) — from a function's summary entry.

    The summary has no field for it; ``cold_start_rate`` is ``cold_starts / executions started``, both exact, so
    when there was a cold start the count is ``cold_starts / cold_start_rate`` exactly. With no cold start (every
    execution warm: provisioned environments, or environments made during the warm-up) it is the executions that
    ended: ``succeeded + timeout + az_outage``; an async retry of a timeout or an invocation that found every AZ down
    then counts once, not per attempt."""
    rate = entry.get("cold_start_rate")
    if rate is None:
        return 0
    cold = entry.get("cold_starts") or 0
    if cold:
        return round(cold / rate)
    outcomes = entry.get("outcomes") or {}
    return int((entry.get("succeeded") or 0) + (outcomes.get("timeout") or 0) + (outcomes.get("az_outage") or 0))


def _nat_share(scenario: Scenario, fn: Function) -> float:
    """The share of ``fn``'s executions whose traffic leaves through a NAT gateway: its subnets routed through NAT
    (balanced placement spreads executions evenly over them); 0 outside a VPC (Lambda's own network)."""
    if not fn.in_vpc:
        return 0.0
    routed = sum(scenario.subnet(sid).route == "nat" for sid in fn.subnets)
    return routed / len(fn.subnets)


def nat_azs(scenario: Scenario) -> list[str]:
    """AZs that hold a NAT gateway for the functions: those with a function subnet whose route is ``nat``."""
    azs: dict[str, None] = {}
    for fn in scenario.functions:
        for sid in fn.subnets:
            s = scenario.subnet(sid)
            if s.route == "nat":
                azs.setdefault(s.az, None)
    return list(azs)


def cost(scenario: Scenario, summary: Summary, prices: Prices | None = None) -> dict[str, Any]:
    """The ``cost`` section of a run's summary (SPEC §4 plus issue 10): USD for the measured window."""
    p = prices if prices is not None else prices_for(scenario)
    window_s = max(0.0, float(summary["simulated_s"]) - scenario.warmup)
    per_request = p.requests_per_million_usd / 1e6
    requests_usd = compute_usd = provisioned_usd = egress_usd = 0.0
    egress_gb = 0.0
    total_requests = 0
    on_demand_gb_s: dict[str, float] = {}
    functions: dict[str, dict[str, Any]] = {}
    for fn in scenario.functions:
        entry = summary["functions"][fn.name]
        arch = p.architectures[fn.architecture]
        gb = fn.memory_mb / 1024.0
        requests = executions_started(entry)
        gb_s_demand = entry["billed_ms"] / 1000.0 * gb
        gb_s_prov = entry["billed_ms_provisioned"] / 1000.0 * gb
        f_requests = requests * per_request
        f_compute = gb_s_demand * arch.duration_gb_s_usd + gb_s_prov * arch.provisioned_duration_gb_s_usd
        f_provisioned = fn.provisioned_concurrency * gb * window_s * arch.provisioned_gb_s_usd
        f_gb = 0.0
        if fn.egress_bytes is not None:
            f_gb = requests * fn.egress_bytes.mean * _nat_share(scenario, fn)  # the distribution holds GiB
        f_egress = f_gb * p.nat_gb_usd
        functions[fn.name] = {"requests": requests, "gb_s": gb_s_demand + gb_s_prov,
                              "usd": f_requests + f_compute + f_provisioned + f_egress}
        requests_usd += f_requests
        compute_usd += f_compute
        provisioned_usd += f_provisioned
        egress_usd += f_egress
        egress_gb += f_gb
        total_requests += requests
        on_demand_gb_s[fn.architecture] = on_demand_gb_s.get(fn.architecture, 0.0) + gb_s_demand
    gateways = len(nat_azs(scenario))
    nat_usd = gateways * window_s / 3600.0 * p.nat_gateway_hour_usd + egress_usd
    total = requests_usd + compute_usd + provisioned_usd + nat_usd
    scale = MONTH_S / window_s if window_s > 0 else math.nan
    return {
        "currency": "USD",
        "prices": p.source,
        "window_s": window_s,
        "requests_usd": requests_usd,
        "compute_usd": compute_usd,
        "provisioned_usd": provisioned_usd,
        "nat_usd": nat_usd,
        "total_usd": total,
        "per_million_usd": total / total_requests * 1e6 if total_requests else None,
        "monthly_usd": total * scale if window_s > 0 else None,
        "nat_gateways": gateways,
        "egress_gb": egress_gb,
        "free_tier_monthly_usd": _free_tier(p, total_requests, on_demand_gb_s, scale) if window_s > 0 else None,
        "functions": functions,
    }


def _free_tier(p: Prices, requests: int, gb_s: dict[str, float], scale: float) -> float:
    """What the account's free tier (1M requests, 400,000 GB-s a month, on-demand duration of either architecture)
    would take off a month of this load: shown apart, never subtracted, since other workloads share it."""
    month_requests = requests * scale
    month_gb_s = sum(gb_s.values()) * scale
    value = min(month_requests, FREE_TIER_REQUESTS) * p.requests_per_million_usd / 1e6
    if month_gb_s > 0:
        # The free GB-s priced at the load's own mix of architectures.
        price = sum(v * p.architectures[a].duration_gb_s_usd for a, v in gb_s.items()) / sum(gb_s.values())
        value += min(month_gb_s, FREE_TIER_GB_S) * price
    return value
