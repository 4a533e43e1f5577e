"""The capacity calculator and lint of SPEC §5: closed forms, no simulation.

For each function: the doc's ENI formula, the packing figure, the projected peak concurrency from Little's law, and
the ceilings (the concurrency it can reach before each limit binds), with and without the largest AZ. The lint rules
turn the DOMAIN sheet's guidance into findings a file can show. ``capacity(scenario)`` returns plain data in the
shape ``vpcsim capacity --json`` prints; the engine and the report reuse the same figures.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .arrivals import peak_rate
from .scenario import Function, Scenario
from .units import format_duration

__all__ = [
    "capacity", "slots_per_eni", "function_ceilings", "unreserved_pool", "concurrency_ceiling", "LEGACY_MAX_MEMORY_MB",
    "INIT_LIMIT_S",
]

LEGACY_MAX_MEMORY_MB = 3008  # DOMAIN §1: memory then was 128..3008 MB in 64 MB steps
INIT_LIMIT_S = 10.0  # DOMAIN §7: init is limited to 10 s


def slots_per_eni(scenario: Scenario, fn: Function) -> int:
    """Environments of ``fn`` one ENI serves: ``max(1, floor(eni_memory_gb * 1024 / memory_mb))`` on legacy
    (SPEC §3.4, DOMAIN §1), the connections of one Hyperplane ENI on hyperplane."""
    if scenario.platform == "hyperplane":
        return scenario.vpc.hyperplane.connections_per_eni
    return max(1, math.floor(scenario.vpc.eni_memory_gb * 1024 / fn.memory_mb + 1e-9))


def unreserved_pool(scenario: Scenario) -> int:
    """The account concurrency that functions without a reservation share: the limit minus every reservation and
    minus the provisioned concurrency of functions without one (which AWS sets aside for them, DOMAIN §4)."""
    taken = sum(f.reserved_concurrency if f.reserved_concurrency is not None else f.provisioned_concurrency
                for f in scenario.functions)
    return scenario.region.concurrency_limit - taken


def concurrency_ceiling(scenario: Scenario, fn: Function, pool: int | None = None) -> int:
    """The concurrency ``fn`` can reach before it is throttled: its reservation, or the shared pool plus its own
    provisioned concurrency. ``pool`` saves recomputing :func:`unreserved_pool` (a sum over every function)."""
    if fn.reserved_concurrency is not None:
        return fn.reserved_concurrency
    return (unreserved_pool(scenario) if pool is None else pool) + fn.provisioned_concurrency


def _scaling_seconds(scenario: Scenario, need: float) -> float:
    """Seconds of scaling credit refill before ``need`` new environments can have started (from a full bucket)."""
    sc = scenario.region.scaling
    if sc.model == "unlimited" or need <= 0:
        return 0.0
    if need <= sc.burst:
        return 0.0
    if sc.per_minute <= 0:
        return math.inf
    return (need - sc.burst) / (sc.per_minute / 60.0)


def function_ceilings(scenario: Scenario, fn: Function, free_ips: dict[str, int] | None = None, *,
                      pool: int | None = None, peak: float | None = None) -> dict[str, Any]:
    """The figures of one function (the ``functions.NAME`` entry of ``capacity()``). ``free_ips``, ``pool`` (see
    :func:`concurrency_ceiling`) and ``peak`` (its peak arrival rate) save work that spans every function or
    subnet, when the caller computes the figures of each."""
    free = free_ips if free_ips is not None else {s.id: s.free_ips for s in scenario.vpc.subnets}
    rate = peak if peak is not None else peak_rate(fn.arrivals, scenario.duration)[0]
    projected = math.ceil(rate * fn.duration.mean - 1e-9)
    concurrency = concurrency_ceiling(scenario, fn, pool)
    out: dict[str, Any] = {
        "memory_mb": fn.memory_mb,
        "slots_per_eni": None,
        "projected_peak": projected,
        "enis_formula": None,
        "enis_packed": None,
        "ceilings": {"concurrency": concurrency, "subnet_ips": None, "eni_quota": None,
                     "n_minus_1": concurrency, "scaling_s": _scaling_seconds(
                         scenario, projected - fn.provisioned_concurrency)},
        "binding": "concurrency",
    }
    if not fn.in_vpc:
        return out
    slots = slots_per_eni(scenario, fn)
    subnets = [scenario.subnet(s) for s in fn.subnets]
    out["slots_per_eni"] = slots
    out["enis_formula"] = math.ceil(projected * fn.memory_mb / (scenario.vpc.eni_memory_gb * 1024) - 1e-9)
    if scenario.platform == "hyperplane":
        # One ENI per (subnet, security-group set), one more per `connections_per_eni` executions in that subnet.
        per_subnet = math.ceil(projected / len(subnets)) if projected else 0
        out["enis_packed"] = len(subnets) * max(1, math.ceil(per_subnet / slots))
        quota = scenario.vpc.hyperplane.eni_quota_per_vpc
    else:
        out["enis_packed"] = math.ceil(projected / slots)
        quota = scenario.region.eni_quota - scenario.region.enis_in_use
    by_az: dict[str, int] = {}
    for s in subnets:
        by_az[s.az] = by_az.get(s.az, 0) + max(0, free[s.id])
    ips = sum(by_az.values())
    ceilings = out["ceilings"]
    ceilings["subnet_ips"] = ips * slots
    ceilings["eni_quota"] = max(0, quota) * slots
    # N-1: lose the AZ that holds most of this function's addresses.
    worst = max(by_az.values()) if by_az else 0
    ceilings["n_minus_1"] = min(concurrency, (ips - worst) * slots, ceilings["eni_quota"])
    limits = {"concurrency": concurrency, "subnet_ips": ceilings["subnet_ips"], "eni_quota": ceilings["eni_quota"]}
    out["binding"] = min(limits, key=lambda k: limits[k])  # ties: the first in this order
    return out


def _projected_enis_per_subnet(scenario: Scenario, figures: dict[str, dict]) -> dict[str, int]:
    """ENIs each subnet would hold at every function's projected peak (balanced placement spreads a function's
    ENIs evenly over its subnets; on hyperplane one per distinct security-group set)."""
    need = {s.id: 0 for s in scenario.vpc.subnets}
    if scenario.platform == "hyperplane":
        # SPEC §3.8: the functions of one (subnet, security-group set) share its ENIs, so their executions add up
        # before dividing by the connections one ENI carries; every combination in use holds at least one ENI.
        executions: dict[tuple[str, tuple[str, ...]], int] = {}
        for fn in scenario.functions:
            if not fn.in_vpc:
                continue
            share = math.ceil(figures[fn.name]["projected_peak"] / len(fn.subnets))
            for sid in fn.subnets:
                key = (sid, tuple(sorted(set(fn.security_groups))))
                executions[key] = executions.get(key, 0) + share
        per_eni = scenario.vpc.hyperplane.connections_per_eni
        for (sid, _), n in executions.items():
            need[sid] += max(1, math.ceil(n / per_eni))
        return need
    for fn in scenario.functions:
        if not fn.in_vpc:
            continue
        n = figures[fn.name]["enis_packed"]
        k = len(fn.subnets)
        for i, sid in enumerate(fn.subnets):
            need[sid] += n // k + (1 if i < n % k else 0)
    return need


def capacity(scenario: Scenario) -> dict[str, Any]:
    """Closed-form capacity figures, ceilings and lint findings of a scenario (SPEC §5). Linear in the numbers of
    functions and subnets: what spans all of them is computed once."""
    free = {s.id: s.free_ips for s in scenario.vpc.subnets}
    pool = unreserved_pool(scenario)
    peaks: dict[str, float] = {}  # functions written alike (a generated scenario) share one peak-rate evaluation
    functions = {}
    for fn in scenario.functions:
        key = _key(fn.arrivals)
        if key not in peaks:
            peaks[key] = peak_rate(fn.arrivals, scenario.duration)[0]
        functions[fn.name] = function_ceilings(scenario, fn, free, pool=pool, peak=peaks[key])
    projected_enis = _projected_enis_per_subnet(scenario, functions)
    subnets = {
        s.id: {"az": s.az, "usable_ips": s.usable_ips, "free_ips": s.free_ips, "projected_enis": projected_enis[s.id]}
        for s in scenario.vpc.subnets
    }
    vpc_fns = [f for f in functions.values() if f["enis_packed"] is not None]
    total_peak = sum(f["projected_peak"] for f in functions.values())
    total = {
        "projected_peak": total_peak,
        "enis_formula": sum(f["enis_formula"] for f in vpc_fns) if vpc_fns else None,
        "enis_packed": sum(projected_enis.values()) if vpc_fns else None,
        "eni_quota_free": (scenario.region.eni_quota - scenario.region.enis_in_use
                           if scenario.platform == "legacy" else scenario.vpc.hyperplane.eni_quota_per_vpc),
        "scaling_s": _scaling_seconds(scenario, total_peak - sum(f.provisioned_concurrency for f in scenario.functions))
        if scenario.region.scaling.model == "burst" else max(
            (f["ceilings"]["scaling_s"] for f in functions.values()), default=0.0),
    }
    return {
        "scenario": scenario.name,
        "functions": functions,
        "subnets": subnets,
        "total": total,
        "lint": lint(scenario, functions, subnets, total),
    }


# --------------------------------------------------------------------------------------------------- lint


def _names(names: list[str], most: int = 4) -> str:
    """``a, b, c`` or ``a, b, c, d and 96 more`` (an imported trace puts hundreds of functions in one subnet)."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])} and {len(names) - most} more"


def _finding(rule: str, message: str, function: str | None = None, level: str = "warning") -> dict[str, Any]:
    return {"level": level, "rule": rule, "function": function, "message": message}


def _key(spec: Any) -> Any:
    """A dictionary key for equal specifications (frozen models hash by value; one holding a dict does not)."""
    try:
        hash(spec)
    except TypeError:
        return repr(spec)
    return spec


def _timeout_share(fn: Function, cache: dict | None = None) -> float:
    """The share of sampled executions longer than the timeout (a fixed seed: the lint says the same every time).
    ``cache`` keeps the share of each (distribution, timeout) met before: generated scenarios repeat them."""
    key = (_key(fn.duration), fn.timeout)
    if cache is not None and key in cache:
        return cache[key]
    draws = fn.duration.sample(np.random.default_rng(0), 20000)
    share = float(np.mean(draws > fn.timeout))
    if cache is not None:
        cache[key] = share
    return share


def lint(scenario: Scenario, functions: dict[str, dict], subnets: dict[str, dict], total: dict) -> list[dict]:
    """Findings against the doc's guidelines (SPEC §5, DOMAIN §1-§7). All are warnings or notes, never errors."""
    out: list[dict] = []
    legacy = scenario.platform == "legacy"
    if scenario.vpc.tenancy == "dedicated":
        out.append(_finding("dedicated-tenancy", "Lambda does not support dedicated-tenancy VPCs (DOMAIN §1): "
                                                 "functions in this VPC cannot be created"))
    shares: dict = {}
    users_of: dict[str, list[str]] = {sid: [] for sid in subnets}
    for fn in scenario.functions:
        for sid in dict.fromkeys(fn.subnets):
            users_of.setdefault(sid, []).append(fn.name)
    for fn in scenario.functions:
        fig = functions[fn.name]
        c = fig["ceilings"]
        peak = fig["projected_peak"]
        if fn.reserved_concurrency == 0:
            out.append(_finding("reserved-zero", "reserved_concurrency 0 throttles every invocation", fn.name))
        elif peak > c["concurrency"]:
            out.append(_finding("concurrency", f"projected peak {peak} is above the concurrency ceiling "
                                               f"{c['concurrency']}: expect throttles", fn.name))
        if math.isinf(c["scaling_s"]):
            out.append(_finding("scaling-rate", f"the scaling rate never reaches the projected peak {peak}: the "
                                                f"burst ({scenario.region.scaling.burst}) is smaller and per_minute is "
                                                f"0", fn.name))
        elif c["scaling_s"] > 0:
            out.append(_finding("scaling-rate", f"the scaling rate needs {format_duration(c['scaling_s'])} to reach "
                                                f"the projected peak {peak} from zero: expect scaling throttles in a "
                                                f"sudden spike", fn.name, level="note"))
        if legacy and fn.memory_mb > LEGACY_MAX_MEMORY_MB:
            out.append(_finding("legacy-memory", f"memory {fn.memory_mb} MB is above the {LEGACY_MAX_MEMORY_MB} MB "
                                                 f"the legacy platform allowed (DOMAIN §1)", fn.name))
        elif legacy and fn.memory_mb % 64:
            out.append(_finding("legacy-memory-step", f"memory {fn.memory_mb} MB is not a multiple of 64 MB, as the "
                                                      f"legacy platform required (DOMAIN §1)", fn.name, level="note"))
        share = _timeout_share(fn, shares)
        if share > 0.001:
            out.append(_finding("timeout", f"about {share:.1%} of executions run longer than the timeout "
                                           f"{format_duration(fn.timeout)}", fn.name))
        if fn.init.mean > INIT_LIMIT_S:
            out.append(_finding("init-limit", f"mean init {format_duration(fn.init.mean)} is above Lambda's "
                                              f"{INIT_LIMIT_S:g} s init limit (DOMAIN §7)", fn.name))
        if not fn.in_vpc:
            if fn.security_groups:
                out.append(_finding("no-vpc", "security_groups are set but the function has no subnets: it is not "
                                              "in the VPC", fn.name, level="note"))
            continue
        azs = {scenario.subnet(s).az for s in fn.subnets}
        if len(azs) == 1:
            out.append(_finding("single-az", f"all subnets are in {next(iter(azs))}: put a subnet in each AZ so the "
                                             f"function can run elsewhere if one AZ goes down or runs out of "
                                             f"addresses (DOMAIN §1)", fn.name))
        if peak > c["subnet_ips"]:
            out.append(_finding("subnet-ips", f"projected peak {peak} needs {fig['enis_packed']} ENIs "
                                              f"({fig['slots_per_eni']} environments each) but its subnets have "
                                              f"{c['subnet_ips'] // fig['slots_per_eni']} free addresses", fn.name))
        elif len(azs) > 1 and c["n_minus_1"] < peak <= min(c["concurrency"], c["eni_quota"]):
            # Only when losing the AZ is what breaks the fit: a peak above the concurrency or the ENI quota has
            # its own finding, with or without the AZ.
            out.append(_finding("n-minus-1", f"without its largest AZ the function reaches {c['n_minus_1']}, below "
                                             f"the projected peak {peak}", fn.name))
        if legacy and peak > c["eni_quota"]:
            out.append(_finding("eni-quota", f"projected peak {peak} needs {fig['enis_packed']} ENIs; the region has "
                                             f"{scenario.region.eni_quota - scenario.region.enis_in_use} free under "
                                             f"its quota of {scenario.region.eni_quota}", fn.name))
        if fn.needs_internet:
            for sid in fn.subnets:
                route = scenario.subnet(sid).route
                if route == "igw":
                    out.append(_finding("nat-route", f"subnet {sid} routes to an internet gateway: Lambda's ENIs have "
                                                     f"no public IP, so the function needs a NAT route (DOMAIN §1)",
                                        fn.name))
                elif route != "nat":
                    what = "has no route to the internet" if route == "none" else "does not state its route"
                    out.append(_finding("nat-route", f"subnet {sid} {what}; a function that needs the internet "
                                                     f"needs a NAT route (DOMAIN §1)", fn.name))
        if legacy and fig["enis_packed"] > scenario.region.ec2_api.bucket:
            ec2 = scenario.region.ec2_api
            secs = (fig["enis_packed"] - ec2.bucket) / ec2.refill_per_s
            out.append(_finding("ec2-rate", f"reaching the peak creates {fig['enis_packed']} ENIs; EC2's "
                                            f"CreateNetworkInterface bucket ({ec2.bucket}, +{ec2.refill_per_s:g}/s) "
                                            f"needs {format_duration(secs)} for them (DOMAIN §6)", fn.name,
                                level="note"))
    for sid, s in subnets.items():
        users = users_of[sid]
        if not users:
            out.append(_finding("unused-subnet", f"subnet {sid} is used by no function", level="note"))
        elif len(users) > 1 and s["projected_enis"] > s["free_ips"]:
            out.append(_finding("shared-subnet", f"subnet {sid} is shared by {_names(users)}: together they need "
                                                 f"{s['projected_enis']} ENIs at their projected peaks, the subnet "
                                                 f"has {s['free_ips']} free addresses"))
    if legacy and total["enis_packed"] is not None and total["enis_packed"] > total["eni_quota_free"]:
        out.append(_finding("eni-quota-total", f"all functions at their projected peaks need {total['enis_packed']} "
                                               f"ENIs; the region has {total['eni_quota_free']} free under its quota "
                                               f"({scenario.region.eni_quota} - {scenario.region.enis_in_use} in use)"))
    if not legacy and total["enis_packed"] is not None and total["enis_packed"] > total["eni_quota_free"]:
        out.append(_finding("hyperplane-eni-quota", f"{total['enis_packed']} Hyperplane ENIs are needed; the VPC quota "
                                                    f"is {total['eni_quota_free']} (DOMAIN §2)"))
    return out
