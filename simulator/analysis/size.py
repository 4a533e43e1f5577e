"""Sizing: the smallest subnet prefixes under which a scenario's conditions hold, found by simulation.

The subnets are sized in groups: by default the subnets of a function (and of every function that shares one of
them) get one prefix together; with ``per_subnet`` each subnet gets its own. The search starts from the closed form
— per subnet, the addresses needed = the ENIs at the projected peak (p99.9, :mod:`simulator.analysis.peak`) +
``ips_in_use`` + the 5 AWS reserves — then verifies it by simulation: while the design fails, every group gets one
prefix larger; then each group in turn is made one prefix smaller for as long as the conditions still hold. The
answer is tight: for each group, one prefix smaller fails (reported in ``verified``). With ``n_minus_1`` the design
must also hold with its largest AZ lost at the busiest minute (an ``az_outage`` to the end of the run).

Runs use common random numbers (the same seeds at every size) and the rule of :mod:`~simulator.analysis.headroom`
for a point that holds (at least ``share`` of the replications; replication 0 first, so the answer is the same on
any number of workers). ``memory_tradeoff`` answers the memory question: per memory size, the ENIs, addresses,
failure rate and cost with the current subnets. See docs/answers.md.
"""

from __future__ import annotations

import ipaddress
import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ArgumentError
from ..scenario.models import Scenario, scenario_from_dict
from ..scenario.problems import ScenarioError
from .answering import (
    HeadroomError,
    bounds_the_load,
    condition_text,
    conditions_of,
    default_conditions,
    holds,
    require_load,
    share_of,
)
from .expectations import Condition

__all__ = ["SizeError", "Sizing", "size", "memory_tradeoff", "with_outage", "prefix_for", "MIN_PREFIX",
           "MAX_PREFIX"]

MIN_PREFIX, MAX_PREFIX = 16, 28  # AWS facts §3: subnets are /16 to /28
RESERVED = 5  # AWS facts §3: addresses AWS keeps in every subnet


class SizeError(HeadroomError):
    """A problem with how sizing was asked for (one line for the user)."""


def prefix_for(addresses: int) -> int:
    """The longest prefix (smallest subnet) with at least ``addresses`` addresses in all (reserved ones included),
    within /16 .. /28."""
    bits = max(0, math.ceil(math.log2(max(addresses, 1))))
    return max(MIN_PREFIX, min(MAX_PREFIX, 32 - bits))


def usable(prefix: int) -> int:
    return 2 ** (32 - prefix) - RESERVED


# --------------------------------------------------------------------------------------------------- groups


def _groups(scenario: Scenario, per_subnet: bool) -> list[list[str]]:
    """The subnets that get one prefix together: each subnet alone, or those linked by a function that uses them."""
    ids = [s.id for s in scenario.vpc.subnets if any(s.id in f.subnets for f in scenario.functions)]
    if per_subnet:
        return [[sid] for sid in ids]
    parent = {sid: sid for sid in ids}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for fn in scenario.functions:
        for sid in fn.subnets[1:]:
            parent[root(sid)] = root(fn.subnets[0])
    out: dict[str, list[str]] = {}
    for sid in ids:
        out.setdefault(root(sid), []).append(sid)
    return list(out.values())


def _layout(scenario: Scenario, prefixes: dict[str, int]) -> dict[str, str]:
    """Non-overlapping CIDR blocks of the given prefixes for the sized subnets (addresses matter to nobody here:
    the simulation counts addresses, not which). A subnet keeps its own block when it still fits; the others are
    placed in 10.0.0.0/8 beside every block already taken."""
    taken: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = [s.cidr for s in scenario.vpc.subnets
                                                                  if s.id not in prefixes]
    out: dict[str, str] = {}
    for sid in sorted(prefixes, key=lambda k: prefixes[k]):  # the largest blocks first
        own = scenario.subnet(sid).cidr
        candidates = []
        if own.prefixlen <= prefixes[sid]:
            candidates.append(next(own.subnets(new_prefix=prefixes[sid])))
        else:
            candidates.append(own.supernet(new_prefix=prefixes[sid]))
        block: ipaddress.IPv4Network | ipaddress.IPv6Network | None = next(
            (c for c in candidates if not any(c.overlaps(t) for t in taken)), None)
        if block is None:
            block = next(c for c in ipaddress.ip_network("10.0.0.0/8").subnets(new_prefix=prefixes[sid])
                         if not any(c.overlaps(t) for t in taken))
        taken.append(block)
        out[sid] = str(block)
    return out


def with_prefixes(scenario: Scenario, prefixes: dict[str, int]) -> Scenario:
    data = scenario.to_dict()
    cidrs = _layout(scenario, prefixes)
    for s in data["vpc"]["subnets"]:
        if s["id"] in cidrs:
            s["cidr"] = cidrs[s["id"]]
    return scenario_from_dict(data, source=scenario.source)


def with_outage(scenario: Scenario) -> tuple[Scenario, dict[str, Any]]:
    """``scenario`` with its largest AZ (the most addresses of function subnets) lost at the busiest minute (the
    minute of the highest total arrival rate, not before the warm-up ends) to the end of the run."""
    from ..scenario.arrivals import peak_rate

    azs: dict[str, int] = {}
    for s in scenario.vpc.subnets:
        if any(s.id in f.subnets for f in scenario.functions):
            azs[s.az] = azs.get(s.az, 0) + s.free_ips
    if len(azs) < 2:
        raise SizeError(f"--n-minus-1: the functions' subnets are all in {next(iter(azs), 'one AZ')}: losing it "
                        f"leaves nothing to run on; add a subnet in another AZ")
    largest = max(azs, key=lambda a: azs[a])
    processes = tuple(p for f in scenario.functions for p in f.arrivals)
    _, t_peak = peak_rate(processes, scenario.duration)
    at = max(scenario.warmup, math.floor(t_peak / 60) * 60)
    at = min(at, max(scenario.warmup, scenario.duration - 60))
    event = {"at": at, "kind": "az_outage", "az": largest, "for": scenario.duration - at}
    data = scenario.to_dict()
    data["events"] = [*data.get("events", []), event]
    return scenario_from_dict(data, source=scenario.source), event


# --------------------------------------------------------------------------------------------------- runs


def _evaluate(variants: list[Scenario], conditions: Sequence[Condition], replications: int, share: float,
              seed: int, workers: int, scheduler: str | None) -> list[tuple[bool, list[dict[str, Any]]]]:
    """For each variant: (holds, the summaries run). Replication 0 of every variant first; the others only where
    it still can hold (so which runs are made does not depend on the number of workers)."""
    from .answering import run_task
    from .capacity import capacity
    from .sweep import execute

    caps = [capacity(v) for v in variants]
    first = execute(run_task, [(v, seed, 0) for v in variants], workers=workers, scheduler=scheduler)
    runs = [[{**s, "capacity": c}] for s, c in zip(first, caps, strict=True)]
    allowed = replications - math.ceil(share * replications - 1e-9)
    go_on = [i for i in range(len(variants)) if replications > 1 and (holds(conditions, runs[i][0])[0] or allowed)]
    tasks = [(i, r) for i in go_on for r in range(1, replications)]
    if tasks:
        more = execute(run_task, [(variants[i], seed, r) for i, r in tasks], workers=workers, scheduler=scheduler)
        for (i, _), s in zip(tasks, more, strict=True):
            runs[i].append({**s, "capacity": caps[i]})
    out = []
    for rs in runs:
        ok = sum(holds(conditions, s)[0] for s in rs)
        out.append((len(rs) == replications and ok >= share * replications - 1e-9, rs))
    return out


@dataclass
class Sizing:
    """The answer of :func:`size` (``to_dict()`` is what ``vpcsim size --json`` prints)."""

    scenario: str
    conditions: list[str]
    subnets: dict[str, dict[str, Any]]
    eni_quota: dict[str, Any]
    verified: dict[str, Any]
    groups: list[list[str]]
    n_minus_1: dict[str, Any] | None
    replications: int
    seed: int
    evaluations: int
    wall_s: float
    memory: list[dict[str, Any]] | None = None
    memory_function: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {"scenario": self.scenario, "conditions": list(self.conditions), "subnets": self.subnets,
               "eni_quota": self.eni_quota, "verified": self.verified, "groups": self.groups,
               "n_minus_1": self.n_minus_1, "replications": self.replications, "seed": self.seed,
               "evaluations": self.evaluations, "notes": list(self.notes), "wall_s": self.wall_s}
        if self.memory is not None:
            out["memory"] = {"function": self.memory_function, "sizes": self.memory}
        return out


def size(
    scenario: Scenario,
    conditions: Sequence[Condition] | None = None,
    *,
    n_minus_1: bool = False,
    per_subnet: bool = False,
    replications: int = 3,
    share: float = 1.0,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Sizing:
    """The smallest subnet prefixes under which ``conditions`` (default: the scenario's ``expect``, or
    ``failure_rate == 0``) hold (see the module's docstring)."""
    from ..errors import require_bool, require_int
    from ..scenario.models import require_scenario
    from ..scenario.sections import MAX_SEED
    from .capacity import capacity

    require_scenario(scenario, "size")
    conditions = conditions_of(scenario, conditions, "size")
    n_minus_1 = require_bool(n_minus_1, "size", "n_minus_1")
    per_subnet = require_bool(per_subnet, "size", "per_subnet")
    if not any(f.in_vpc for f in scenario.functions):
        raise SizeError(f"scenario {scenario.name!r} has no function in a VPC (no function lists subnets): there "
                        f"are no subnets to size")
    if not isinstance(replications, numbers.Integral) or isinstance(replications, bool) or replications < 1:
        raise SizeError(f"--replications must be a whole number >= 1 (got {replications!r})")
    replications = int(replications)
    share = share_of(share, "size", SizeError)
    seed = require_int(seed, "size", "seed", maximum=MAX_SEED, allow_none=True)
    require_load(scenario, "size subnets for")
    started = time.perf_counter()
    notes: list[str] = []
    given = list(conditions) if conditions else default_conditions(scenario)
    active = [c for c in given if bounds_the_load(c)]
    if len(active) < len(given):
        notes.append("skipped (a lower bound on failures cannot be met by larger subnets): "
                     + ", ".join(condition_text(c) for c in given if not bounds_the_load(c)))
    if not active:
        raise SizeError("no condition to size for: give one with --until, e.g. --until 'failure_rate == 0'")
    run_seed = scenario.seed if seed is None else seed
    base = scenario
    outage = None
    if n_minus_1:
        base, outage = with_outage(scenario)
    groups = _groups(scenario, per_subnet)
    cap = capacity(scenario)

    # The closed form: per subnet, ENIs at the peak + addresses others hold + the reserved 5 (with N-1, the
    # survivors take the lost AZ's share); a group takes the largest block any of its subnets needs.
    def floor_prefix(sid: str) -> int:  # the smallest block that still holds what others use, plus one ENI
        return prefix_for(scenario.subnet(sid).ips_in_use + 1 + RESERVED)

    start: dict[str, int] = {}
    n_azs = len({scenario.subnet(sid).az for g in groups for sid in g})
    for g in groups:
        need = 0
        for sid in g:
            enis = cap["subnets"][sid]["enis_at_peak"]
            if n_minus_1 and n_azs > 1:
                enis = math.ceil(enis * n_azs / (n_azs - 1))
            need = max(need, enis + scenario.subnet(sid).ips_in_use + RESERVED)
        p = min(prefix_for(need), *(floor_prefix(sid) for sid in g))
        for sid in g:
            start[sid] = p
    evaluations = [0]
    cache: dict[tuple, tuple[bool, list[dict[str, Any]]]] = {}

    def check(options: list[dict[str, int]]) -> list[tuple[bool, list[dict[str, Any]]]]:
        keys = [tuple(sorted(o.items())) for o in options]
        new = [(k, o) for k, o in zip(keys, options, strict=True) if k not in cache]
        new = list({k: (k, o) for k, o in new}.values())
        if new:
            variants = [with_prefixes(base, o) for _, o in new]
            results = _evaluate(variants, active, replications, share, run_seed, workers, scheduler)
            evaluations[0] += len(new)
            for (k, _), r in zip(new, results, strict=True):
                cache[k] = r
            if progress:
                progress(f"{evaluations[0]} sizes tried")
        return [cache[k] for k in keys]

    current = dict(start)
    # Grow every group until the design holds.
    while not check([current])[0][0]:
        if all(current[g[0]] == MIN_PREFIX for g in groups):
            raise SizeError(f"the conditions ({'; '.join(condition_text(c) for c in active)}) fail even with /"
                            f"{MIN_PREFIX} subnets: addresses are not what limits this design (try "
                            f"vpcsim headroom, or vpcsim run to see what fails)")
        current = {sid: max(MIN_PREFIX, p - 1) for sid, p in current.items()}
    # Tighten each group in turn for as long as it holds (each round tries every group one prefix smaller at once;
    # those that hold are kept, one at a time in group order, so that the result does not depend on the batch).
    changed = True
    while changed:
        changed = False
        candidates = []
        for g in groups:
            if current[g[0]] < MAX_PREFIX and all(current[s] + 1 <= floor_prefix(s) for s in g):
                candidates.append((g, {**current, **{s: current[s] + 1 for s in g}}))
        results = check([c for _, c in candidates])
        for (g, _), (ok, _) in zip(candidates, results, strict=True):
            if ok:
                trial = {**current, **{s: current[s] + 1 for s in g}}
                if check([trial])[0][0]:  # with the groups kept before it in this round
                    current = trial
                    changed = True
    held, runs = check([current])[0]
    smaller: dict[str, bool | None] = {}
    for g in groups:
        if current[g[0]] < MAX_PREFIX and all(current[s] + 1 <= floor_prefix(s) for s in g):
            smaller[",".join(g)] = check([{**current, **{s: current[s] + 1 for s in g}}])[0][0]
        else:
            smaller[",".join(g)] = None  # /28 (or the addresses others hold) leaves no smaller block
    tested = [v for v in smaller.values() if v is not None]
    subnets: dict[str, dict[str, Any]] = {}
    for g in groups:
        for sid in g:
            s = scenario.subnet(sid)
            needed = max(r["subnets"][sid]["peak_ips_used"] for r in runs)
            subnets[sid] = {"az": s.az, "cidr": str(s.cidr), "usable_ips": s.usable_ips,
                            "recommended_prefix": current[sid], "recommended_usable_ips": usable(current[sid]),
                            "needed_ips": needed}
    if scenario.platform == "legacy":
        quota = {"current": scenario.region.eni_quota,
                 "needed": scenario.region.enis_in_use + max(r["peak_enis"] or 0 for r in runs),
                 "in_use_by_others": scenario.region.enis_in_use}
    else:
        quota = {"current": scenario.vpc.hyperplane.eni_quota_per_vpc,
                 "needed": max(r["peak_enis"] or 0 for r in runs), "in_use_by_others": 0}
    quota["increase_needed"] = quota["needed"] > quota["current"]
    return Sizing(
        scenario=scenario.name, conditions=[condition_text(c) for c in active], subnets=subnets, eni_quota=quota,
        verified={"holds": held, "one_prefix_smaller_holds": any(tested) if tested else None,
                  "by_group": smaller},
        groups=groups, n_minus_1=outage, replications=replications, seed=run_seed, evaluations=evaluations[0],
        wall_s=time.perf_counter() - started, notes=notes)


def memory_tradeoff(scenario: Scenario, sizes_mb: Sequence[int], *, function: str | None = None,
                    replications: int = 3, seed: int | None = None, workers: int = 1,
                    scheduler: str | None = None) -> list[dict[str, Any]]:
    """Per memory size of ``function`` (default: the only function in a VPC), with the current subnets (each row
    names its ``platform``): the ENIs at the simulated peak and by the doc's formula (``enis_formula``: None on
    Hyperplane, where the formula does not apply), the addresses used at the peak, the failure rate and the cost
    (means of ``replications``, the same seeds at every size)."""
    from ..errors import require_int
    from ..scenario.models import require_scenario
    from ..scenario.sections import MAX_SEED
    from .answering import run_task
    from .capacity import capacity
    from .sweep import execute

    require_scenario(scenario, "memory_tradeoff")
    if isinstance(sizes_mb, str | bytes) or not isinstance(sizes_mb, Sequence):
        raise ArgumentError(f"memory_tradeoff(): sizes_mb must be a list of sizes in MB such as [512, 1024], got "
                            f"{type(sizes_mb).__name__} {sizes_mb!r}")
    replications = require_int(replications, "memory_tradeoff", "replications", minimum=1)
    seed = require_int(seed, "memory_tradeoff", "seed", maximum=MAX_SEED, allow_none=True)
    vpc = [f.name for f in scenario.functions if f.in_vpc]
    if function is None:
        if len(vpc) != 1:
            raise SizeError(f"--memory: name the function whose memory to vary with --function (functions in a VPC: "
                            f"{', '.join(vpc) or 'none'})")
        function = vpc[0]
    elif function not in {f.name for f in scenario.functions}:
        raise SizeError(f"--function {function}: no such function (functions: "
                        f"{', '.join(f.name for f in scenario.functions)})")
    if not sizes_mb:
        raise SizeError("--memory: give at least one size, e.g. --memory 512,1024,1769,3008")
    run_seed = scenario.seed if seed is None else seed
    variants = []
    for mb in sizes_mb:
        try:
            variants.append(scenario.with_changes({f"functions.{function}.memory_mb": mb}))
        except ScenarioError as exc:
            raise SizeError(f"--memory {mb}: {exc.problems[0].message}") from None
    tasks = [(v, run_seed, r) for v in variants for r in range(replications)]
    summaries = execute(run_task, tasks, workers=workers, scheduler=scheduler)
    rows = []
    for k, (mb, v) in enumerate(zip(sizes_mb, variants, strict=True)):
        runs = summaries[k * replications:(k + 1) * replications]
        cap = capacity(v)["functions"][function]
        f_runs = [s["functions"][function] for s in runs]

        def mean(values: list[Any]) -> float | None:
            nums = [float(x) for x in values if x is not None]
            return math.fsum(nums) / len(nums) if nums else None

        rows.append({
            # The doc's formula is the legacy platform's: on Hyperplane it names ENIs that are never made.
            "memory_mb": mb, "platform": v.platform, "slots_per_eni": cap["slots_per_eni"], "enis_formula": math.ceil(
                cap["peak_in_service"] * mb / (v.vpc.eni_memory_gb * 1024) - 1e-9)
            if cap["slots_per_eni"] and v.platform == "legacy" else None,
            "enis_at_peak": cap["enis_at_peak"], "peak_enis": mean([f["peak_enis"] for f in f_runs]),
            "peak_ips_used": mean([sum(s["subnets"][sid]["peak_ips_used"] for sid in v.function(function).subnets)
                                   for s in runs]),
            "failure_rate": mean([f["failure_rate"] for f in f_runs]),
            "error_rate": mean([f["error_rate"] for f in f_runs]),
            "latency_p99_ms": mean([f["latency_ms"]["p99"] for f in f_runs]),
            "free_ips": sum(v.subnet(sid).free_ips for sid in v.function(function).subnets),
            "usd": mean([s["cost"]["functions"][function]["usd"] for s in runs]),
            "monthly_usd": mean([s["cost"]["monthly_usd"] for s in runs]),
        })
    return rows
