"""The capacity calculator and lint of SPEC §5: closed forms, no simulation.

For each function: the doc's ENI formula, the packing figure, the projected peak concurrency from Little's law (the
mean number in service at the busiest moment, ``projected_peak``) and a peak that is a peak (``peak_in_service``: the
p99.9 of the run's peak, :mod:`simulator.analysis.peak`), and the ceilings (the concurrency it can reach before each
limit binds), with and without the largest AZ. The lint rules turn the DOMAIN sheet's guidance into findings a file
can show; they compare the ceilings with the peak, not the mean. ``capacity(scenario)`` returns plain data in the
shape ``vpcsim capacity --json`` prints; the engine and the report reuse the same figures.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine.limits import concurrency_ceiling, unreserved_pool
from ..engine.platforms import platform_of
from ..scenario.arrivals import peak_rate
from ..scenario.models import Scenario
from ..scenario.sections import BurstScaling, Function, PerFunctionScaling
from ..units import format_duration
from .peak import PEAK_QUANTILE, peak_in_service, peaks_in_service

__all__ = [
    "capacity", "slots_per_eni", "function_ceilings", "unreserved_pool", "concurrency_ceiling", "LEGACY_MAX_MEMORY_MB",
    "INIT_LIMIT_S",
]

LEGACY_MAX_MEMORY_MB = 3008  # DOMAIN §1: memory then was 128..3008 MB in 64 MB steps
INIT_LIMIT_S = 10.0  # DOMAIN §7: init is limited to 10 s


def slots_per_eni(scenario: Scenario, fn: Function) -> int:
    """Environments of ``fn`` one ENI serves, by the scenario's platform (:mod:`simulator.engine.platforms`)."""
    return platform_of(scenario).slots_per_eni(scenario, fn)


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


def enis_for(scenario: Scenario, fn: Function, executions: int) -> int | None:
    """ENIs ``fn`` holds with ``executions`` environments: packed ``slots_per_eni`` to an ENI on legacy; on
    hyperplane one per subnet (balanced), plus one per ``connections_per_eni`` executions in it. None outside a VPC."""
    if not fn.in_vpc:
        return None
    return platform_of(scenario).enis_for(scenario, fn, executions)


def function_ceilings(scenario: Scenario, fn: Function, free_ips: dict[str, int] | None = None, *,
                      pool: int | None = None, arrival_peak_per_s: float | None = None,
                      in_service: int | None = None, quantile: float = PEAK_QUANTILE) -> dict[str, Any]:
    """The figures of one function (the ``functions.NAME`` entry of ``capacity()``). ``free_ips``, ``pool`` (see
    :func:`concurrency_ceiling`), ``arrival_peak_per_s`` (its peak arrival rate) and ``in_service`` (its
    :func:`peak_in_service`) save work that spans every function or subnet, or that functions written alike share,
    when the caller computes the figures of each."""
    free = free_ips if free_ips is not None else {s.id: s.free_ips for s in scenario.vpc.subnets}
    rate = arrival_peak_per_s if arrival_peak_per_s is not None else peak_rate(fn.arrivals, scenario.duration)[0]
    projected = math.ceil(rate * fn.duration.mean - 1e-9) if fn.duration is not None else 0  # nothing arrives
    peak = in_service if in_service is not None else peak_in_service(scenario, fn, quantile=quantile)
    concurrency = concurrency_ceiling(scenario, fn, pool)
    out: dict[str, Any] = {
        "memory_mb": fn.memory_mb,
        "slots_per_eni": None,
        "projected_peak": projected,
        "peak_in_service": peak,
        "enis_formula": None,
        "enis_packed": None,
        "enis_at_peak": None,
        "ceilings": {"concurrency": concurrency, "subnet_ips": None, "eni_quota": None,
                     "n_minus_1": concurrency, "scaling_s": _scaling_seconds(
                         scenario, peak - fn.provisioned_concurrency)},
        "binding": "concurrency",
    }
    if not fn.in_vpc:
        return out
    platform = platform_of(scenario)
    slots = platform.slots_per_eni(scenario, fn)
    subnets = [scenario.subnet(s) for s in fn.subnets]
    out["slots_per_eni"] = slots
    out["enis_formula"] = math.ceil(projected * fn.memory_mb / (scenario.vpc.eni_memory_gb * 1024) - 1e-9)
    out["enis_packed"] = enis_for(scenario, fn, projected)
    out["enis_at_peak"] = enis_for(scenario, fn, peak)
    quota = platform.eni_quota(scenario)
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


def _projected_enis_per_subnet(scenario: Scenario, figures: dict[str, dict], key: str = "projected_peak",
                               enis: str = "enis_packed") -> dict[str, int]:
    """ENIs each subnet would hold at every function's ``key`` figure (``projected_peak``, or ``peak_in_service``
    with ``enis="enis_at_peak"``), by the platform's placement rule."""
    vpc = [fn.name for fn in scenario.functions if fn.in_vpc]
    return platform_of(scenario).enis_per_subnet(scenario, {n: figures[n][key] for n in vpc},
                                                 {n: figures[n][enis] for n in vpc})


def capacity(scenario: Scenario) -> dict[str, Any]:
    """Closed-form capacity figures, ceilings and lint findings of a scenario (SPEC §5). Per function,
    ``projected_peak`` is the mean number in service at the busiest moment (Little's law) and ``peak_in_service``
    the p99.9 (``PEAK_QUANTILE``) of the run's peak, the figure the lint compares with the ceilings."""
    from ..scenario.models import require_scenario

    require_scenario(scenario, "capacity")
    # The figures of a frozen scenario never change: computed once (the projected peaks solve cold-start storms,
    # and every run of the scenario puts them in its summary), handed out as copies.
    cached = scenario._capacity
    if cached is None:
        cached = _capacity(scenario)
        scenario._capacity = cached
    return _copy(cached)


def _copy(data: Any) -> Any:
    """A deep copy of plain data (dicts, lists, numbers, strings, None): what ``copy.deepcopy`` gives, without its
    memo and dispatch (ten times the cost: every result of a scenario with thousands of functions copies them)."""
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    if isinstance(data, tuple):
        return tuple(_copy(v) for v in data)
    return data


def _capacity(scenario: Scenario) -> dict[str, Any]:
    """The figures, linear in the numbers of functions and subnets: what spans all of them is computed once."""
    free = {s.id: s.free_ips for s in scenario.vpc.subnets}
    pool = unreserved_pool(scenario)
    # Functions written alike (a generated scenario, an imported account) share one evaluation of the peak arrival
    # rate and one of the peak in service (which depends on the load, the durations, keep-alive and provisioning).
    # The peaks in service of the functions that differ are solved together (their cold-start storms side by side).
    peaks: dict[Any, float] = {}
    unlike: dict[Any, Function] = {}
    alike = []
    for fn in scenario.functions:
        key = _key(fn.arrivals)
        if key not in peaks:
            peaks[key] = peak_rate(fn.arrivals, scenario.duration)[0]
        alike.append(_key((fn.arrivals, fn.duration, fn.timeout, fn.init, fn.keep_alive, fn.provisioned_concurrency,
                           fn.in_vpc)))
        unlike.setdefault(alike[-1], fn)
    in_service = dict(zip(unlike, peaks_in_service(scenario, list(unlike.values())), strict=True))
    functions = {}
    for fn, same in zip(scenario.functions, alike, strict=True):
        functions[fn.name] = function_ceilings(scenario, fn, free, pool=pool,
                                               arrival_peak_per_s=peaks[_key(fn.arrivals)], in_service=in_service[same])
    projected_enis = _projected_enis_per_subnet(scenario, functions)
    peak_enis = _projected_enis_per_subnet(scenario, functions, "peak_in_service", "enis_at_peak")
    subnets = {
        s.id: {"az": s.az, "usable_ips": s.usable_ips, "free_ips": s.free_ips, "projected_enis": projected_enis[s.id],
               "enis_at_peak": peak_enis[s.id]}
        for s in scenario.vpc.subnets
    }
    vpc_fns = [f for f in functions.values() if f["enis_packed"] is not None]
    total_peak = sum(f["peak_in_service"] for f in functions.values())
    total = {
        "projected_peak": sum(f["projected_peak"] for f in functions.values()),
        "peak_in_service": total_peak,
        "enis_formula": sum(f["enis_formula"] for f in vpc_fns) if vpc_fns else None,
        "enis_packed": sum(projected_enis.values()) if vpc_fns else None,
        "enis_at_peak": sum(peak_enis.values()) if vpc_fns else None,
        "eni_quota_free": platform_of(scenario).eni_quota(scenario),
        "scaling_s": _scaling_seconds(scenario, total_peak - sum(f.provisioned_concurrency for f in scenario.functions))
        if scenario.region.scaling.model == "burst" else max(
            (f["ceilings"]["scaling_s"] for f in functions.values()), default=0.0),
    }
    return {
        "scenario": scenario.name,
        "peak_quantile": PEAK_QUANTILE,
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


def _count(n: int, noun: str) -> str:
    """``1 environment``, ``3 environments``."""
    return f"{n:,} {noun}{'s' * (n != 1)}"


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
    if fn.duration is None:  # nothing arrives: nothing runs
        return 0.0
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
    legacy = platform_of(scenario).per_function_enis  # ENIs grow with concurrency: quota, memory and EC2 rules
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
        peak = fig["peak_in_service"]  # the p99.9 of the run's peak, not the mean in service (projected_peak)
        at_peak = f"peak {peak:,} (p99.9; mean in service {fig['projected_peak']:,})"
        if not fn.arrivals:
            out.append(_finding("no-arrivals", "no arrivals: nothing arrives for this function (an import without "
                                               "a load; give it `arrivals` and a `duration`)", fn.name, level="note"))
        if fn.reserved_concurrency == 0:
            out.append(_finding("reserved-zero", "reserved_concurrency 0 throttles every invocation", fn.name))
        elif peak > c["concurrency"]:
            out.append(_finding("concurrency", f"{at_peak} is above the concurrency ceiling "
                                               f"{c['concurrency']:,}: expect throttles", fn.name))
        if math.isinf(c["scaling_s"]):
            scaling = scenario.region.scaling
            # Only a bucket that does not refill takes forever (_scaling_seconds: unlimited scaling takes no time).
            assert isinstance(scaling, BurstScaling | PerFunctionScaling), "an infinite scaling_s comes from a bucket"
            out.append(_finding("scaling-rate", f"the scaling rate never reaches the {at_peak}: the "
                                                f"burst ({scaling.burst:,}) is smaller and per_minute is "
                                                f"0", fn.name))
        elif c["scaling_s"] > 0:
            out.append(_finding("scaling-rate", f"the scaling rate needs {format_duration(c['scaling_s'])} to reach "
                                                f"the {at_peak} from zero: expect scaling throttles in a "
                                                f"sudden spike", fn.name, level="note"))
        if legacy and fn.memory_mb > LEGACY_MAX_MEMORY_MB:
            out.append(_finding("legacy-memory", f"memory {fn.memory_mb:,} MB is above the {LEGACY_MAX_MEMORY_MB:,} MB "
                                                 f"the legacy platform allowed (DOMAIN §1)", fn.name))
        elif legacy and fn.memory_mb % 64:
            out.append(_finding("legacy-memory-step", f"memory {fn.memory_mb:,} MB is not a multiple of 64 MB, as the "
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
            out.append(_finding("subnet-ips", f"{at_peak} needs {_count(fig['enis_at_peak'], 'ENI')} "
                                              f"({_count(fig['slots_per_eni'], 'environment')} each) but its subnets "
                                              f"have {c['subnet_ips'] // fig['slots_per_eni']:,} free addresses",
                                fn.name))
        elif len(azs) > 1 and c["n_minus_1"] < peak <= min(c["concurrency"], c["eni_quota"]):
            # Only when losing the AZ is what breaks the fit: a peak above the concurrency or the ENI quota has
            # its own finding, with or without the AZ.
            out.append(_finding("n-minus-1", f"without its largest AZ the function reaches {c['n_minus_1']:,}, below "
                                             f"the {at_peak}", fn.name))
        if legacy and peak > c["eni_quota"]:
            out.append(_finding("eni-quota", f"{at_peak} needs {fig['enis_at_peak']:,} ENIs; the region has "
                                             f"{scenario.region.eni_quota - scenario.region.enis_in_use:,} free under "
                                             f"its quota of {scenario.region.eni_quota:,}", fn.name))
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
        if legacy and fig["enis_at_peak"] > scenario.region.ec2_api.bucket:
            ec2 = scenario.region.ec2_api
            secs = (fig["enis_at_peak"] - ec2.bucket) / ec2.refill_per_s
            out.append(_finding("ec2-rate", f"reaching the peak creates {fig['enis_at_peak']:,} ENIs; EC2's "
                                            f"CreateNetworkInterface bucket ({ec2.bucket:,}, +{ec2.refill_per_s:g}/s) "
                                            f"needs {format_duration(secs)} for them (DOMAIN §6)", fn.name,
                                level="note"))
    for sid, s in subnets.items():
        users = users_of[sid]
        if not users:
            out.append(_finding("unused-subnet", f"subnet {sid} is used by no function", level="note"))
        elif len(users) > 1 and s["enis_at_peak"] > s["free_ips"]:
            out.append(_finding("shared-subnet", f"subnet {sid} is shared by {_names(users)}: together they need "
                                                 f"{s['enis_at_peak']:,} ENIs at their peaks (p99.9), the subnet "
                                                 f"has {s['free_ips']:,} free addresses"))
    if legacy and total["enis_at_peak"] is not None and total["enis_at_peak"] > total["eni_quota_free"]:
        out.append(_finding("eni-quota-total", f"all functions at their peaks (p99.9) need {total['enis_at_peak']:,} "
                                               f"ENIs; the region has {total['eni_quota_free']:,} free under its quota "
                                               f"({scenario.region.eni_quota:,} - {scenario.region.enis_in_use:,} in use)"))
    if not legacy and total["enis_at_peak"] is not None and total["enis_at_peak"] > total["eni_quota_free"]:
        out.append(_finding("hyperplane-eni-quota", f"{total['enis_at_peak']:,} Hyperplane ENIs are needed; the VPC quota "
                                                    f"is {total['eni_quota_free']:,} (DOMAIN §2)"))
    return out
