"""The capacity calculator and lint of SPEC §5, checked against figures worked out by hand.

By hand (DOMAIN §1 and §3; ``eni_memory_gb`` 3 → 3072 MB per ENI):
- 1000 executions at 1024 MB: the doc's formula ceil(1000 * 1024 / 3072) = ceil(333.3) = 334 ENIs; packing
  floor(3072 / 1024) = 3 per ENI → ceil(1000 / 3) = 334.
- 128 MB: floor(3072 / 128) = 24 environments per ENI; 1000 executions → formula ceil(41.7) = 42, packed 42.
- 3008 MB: floor(3072 / 3008) = 1 per ENI; formula ceil(979.2) = 980, packed 1000.
- 1200 MB: floor(2.56) = 2 per ENI; formula ceil(390.6) = 391, packed 500 (packing needs MORE than the formula).
- A /24 has 256 - 5 = 251 usable addresses, a /28 16 - 5 = 11, a /26 59, a /16 65,531.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import simulator as vs
from simulator.analysis.capacity import capacity, slots_per_eni

from .conftest import deep_merge

BASE: dict[str, Any] = {
    "version": 1,
    "name": "cap",
    "duration": "10m",
    "region": {"concurrency_limit": 1000, "unreserved_min": 100, "eni_quota": 350, "enis_in_use": 0,
               "scaling": {"model": "unlimited"}},
    "vpc": {"subnets": [
        {"id": "a", "az": "az-a", "cidr": "10.0.1.0/24", "route": "nat"},
        {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24", "route": "nat"},
    ]},
    "functions": [{
        "name": "f", "memory_mb": 1024, "subnets": ["a", "b"], "timeout": 60, "duration": "1s",
        "arrivals": {"process": "constant", "rate": 100},
    }],
}


def scenario(fn: dict | None = None, functions: list | None = None, **changes: Any) -> vs.Scenario:
    """BASE with ``changes`` deep-merged; ``fn`` merges into the first function, ``functions`` replaces them."""
    raw = deep_merge(BASE, changes)

    def function(f: dict) -> dict:
        out = deep_merge(BASE["functions"][0], f)
        if "arrivals" in f:  # replaced, not merged into the base's process
            out["arrivals"] = f["arrivals"]
        return out

    if functions is not None:
        raw["functions"] = [function(f) for f in functions]
    elif fn:
        raw["functions"] = [function(fn)]
    return vs.scenario_from_dict(raw)


def at_peak(executions: int, memory_mb: int, **fn: Any) -> dict:
    """The figures of one function whose projected peak is ``executions`` (rate × a constant 1 s duration)."""
    sc = scenario({"memory_mb": memory_mb, "arrivals": {"process": "constant", "rate": executions}, **fn},
                  region={"concurrency_limit": 100_000})
    return capacity(sc)["functions"]["f"]


def rules(cap: dict, function: str | None = "f") -> set[str]:
    return {f["rule"] for f in cap["lint"] if f["function"] == function}


# --------------------------------------------------------------------------------------------------- by hand


@pytest.mark.parametrize(("memory_mb", "slots", "formula", "packed"), [
    (1024, 3, 334, 334), (128, 24, 42, 42), (3008, 1, 980, 1000), (1200, 2, 391, 500), (1536, 2, 500, 500),
    (10240, 1, 3334, 1000),
])
def test_enis_for_1000_executions(memory_mb, slots, formula, packed):
    f = at_peak(1000, memory_mb)
    assert f["projected_peak"] == 1000
    assert (f["slots_per_eni"], f["enis_formula"], f["enis_packed"]) == (slots, formula, packed)
    assert f["enis_formula"] == math.ceil(1000 * memory_mb / 3072)


@pytest.mark.parametrize(("cidr", "usable"), [("10.0.0.0/16", 65531), ("10.0.1.0/24", 251), ("10.0.1.0/26", 59),
                                               ("10.0.1.0/28", 11)])
def test_usable_addresses_leave_aws_its_five(cidr, usable):
    sc = scenario(vpc={"subnets": [{"id": "a", "az": "az-a", "cidr": cidr, "route": "nat", "ips_in_use": 3},
                                   {"id": "b", "az": "az-b", "cidr": "172.16.0.0/24", "route": "nat"}]})
    a = capacity(sc)["subnets"]["a"]
    assert {k: v for k, v in a.items() if k != "enis_at_peak"} == {"az": "az-a", "usable_ips": usable,
                                                                   "free_ips": usable - 3, "projected_enis": 17}
    assert a["enis_at_peak"] > a["projected_enis"]  # the peak, not the mean in service


def test_eni_memory_gb_sets_the_slots():
    sc = scenario({"memory_mb": 512}, vpc={"eni_memory_gb": 1.5})
    assert slots_per_eni(sc, sc.functions[0]) == 3  # floor(1536 / 512)
    sc = scenario({"memory_mb": 2048}, vpc={"eni_memory_gb": 1})
    assert slots_per_eni(sc, sc.functions[0]) == 1  # never below one


def test_projected_peak_is_littles_law_rounded_up():
    # 40/s × lognormal mean; 3 processes add up at their common peak.
    sc = scenario({"duration": {"dist": "exponential", "mean": "250ms"},
                   "arrivals": [{"process": "poisson", "rate": 40}, {"process": "constant", "rate": "600/min"},
                                {"process": "poisson", "schedule": [[0, 0], ["5m", 50], ["6m", 0]]}]})
    assert capacity(sc)["functions"]["f"]["projected_peak"] == math.ceil((40 + 10 + 50) * 0.25)
    sc = scenario({"duration": "333ms", "arrivals": {"process": "constant", "rate": 3}})
    assert capacity(sc)["functions"]["f"]["projected_peak"] == 1  # ceil(0.999)
    sc = scenario({"duration": "1s", "arrivals": {"process": "diurnal", "mean": 100, "amplitude": 0.5,
                                                  "period": "10m", "peak_at": "5m"}})
    assert capacity(sc)["functions"]["f"]["projected_peak"] == 150


# --------------------------------------------------------------------------------------------------- ceilings


def two_functions(**changes: Any) -> dict:
    """f reserved 200 at 1024 MB; g on the unreserved pool at 128 MB. Subnet a holds 30 other addresses."""
    sc = scenario(functions=[{"name": "f", "reserved_concurrency": 200},
                             {"name": "g", "memory_mb": 128, "arrivals": {"process": "constant", "rate": 10}}],
                  vpc={"subnets": [{"id": "a", "az": "az-a", "cidr": "10.0.1.0/24", "route": "nat",
                                    "ips_in_use": 30},
                                   {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24", "route": "nat"}]},
                  region={"enis_in_use": 40}, **changes)
    return capacity(sc)


def test_ceilings_by_hand():
    cap = two_functions()
    f, g = cap["functions"]["f"], cap["functions"]["g"]
    # concurrency: f's reservation; g the unreserved pool 1000 - 200.
    assert f["ceilings"]["concurrency"] == 200 and g["ceilings"]["concurrency"] == 800
    # subnet_ips: (221 + 251) free addresses × slots (3 at 1024 MB, 24 at 128 MB).
    assert f["ceilings"]["subnet_ips"] == 472 * 3 == 1416
    assert g["ceilings"]["subnet_ips"] == 472 * 24
    # eni_quota: (350 - 40) × slots.
    assert f["ceilings"]["eni_quota"] == 310 * 3 == 930
    assert g["ceilings"]["eni_quota"] == 310 * 24
    # N-1: lose az-b (251 addresses, the most): 221 × slots, then the smallest with the other limits.
    assert f["ceilings"]["n_minus_1"] == min(200, 221 * 3, 930) == 200
    assert g["ceilings"]["n_minus_1"] == min(800, 221 * 24, 310 * 24) == 800
    assert f["binding"] == "concurrency" and g["binding"] == "concurrency"


def test_n_minus_1_loses_the_az_with_most_of_the_functions_addresses():
    # az-a has two /26 subnets (59 + 59 free), az-b one /24 (251): az-b holds the most, so N-1 keeps 118.
    sc = scenario(vpc={"subnets": [{"id": "a1", "az": "az-a", "cidr": "10.0.1.0/26", "route": "nat"},
                                   {"id": "a2", "az": "az-a", "cidr": "10.0.1.64/26", "route": "nat"},
                                   {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24", "route": "nat"}]},
                  fn={"subnets": ["a1", "a2", "b"]})
    c = capacity(sc)["functions"]["f"]["ceilings"]
    assert c["subnet_ips"] == (59 + 59 + 251) * 3
    assert c["n_minus_1"] == (59 + 59) * 3
    # Subnets all in one AZ: losing it leaves nothing.
    sc = scenario(fn={"subnets": ["a"]})
    assert capacity(sc)["functions"]["f"]["ceilings"]["n_minus_1"] == 0


@pytest.mark.parametrize(("changes", "binding", "value"), [
    ({}, "concurrency", 900),  # the reservation: 900 < 472 x 3 addresses and 350 x 3 ENIs
    ({"region": {"eni_quota": 50}}, "eni_quota", 150),  # 50 ENIs x 3
    ({"vpc": {"subnets": [{"id": "a", "az": "az-a", "cidr": "10.0.1.0/28", "route": "nat"},
                          {"id": "b", "az": "az-b", "cidr": "10.0.2.0/28", "route": "nat"}]}}, "subnet_ips", 66),
])
def test_binding_is_the_smallest_limit(changes, binding, value):
    sc = scenario(fn={"reserved_concurrency": 900}, **changes)
    f = capacity(sc)["functions"]["f"]
    assert f["binding"] == binding
    assert f["ceilings"][binding] == value == min(f["ceilings"][k] for k in ("concurrency", "subnet_ips",
                                                                             "eni_quota"))


def test_a_function_outside_the_vpc_has_only_the_concurrency_ceiling():
    sc = scenario(fn={"subnets": [], "reserved_concurrency": 300})
    f = capacity(sc)["functions"]["f"]
    peak = f.pop("peak_in_service")
    assert f == {"memory_mb": 1024, "slots_per_eni": None, "projected_peak": 100, "enis_formula": None,
                 "enis_packed": None, "enis_at_peak": None,
                 "ceilings": {"concurrency": 300, "subnet_ips": None, "eni_quota": None, "n_minus_1": 300,
                              "scaling_s": 0.0},
                 "binding": "concurrency"}
    assert peak > 100


@pytest.mark.parametrize(("scaling", "rate", "provisioned", "seconds"), [
    ({"model": "burst", "burst": 3000, "per_minute": 500}, 4000, 0, lambda p: (p - 3000) / (500 / 60)),
    ({"model": "burst", "burst": 3000, "per_minute": 500}, 4000, 500, lambda p: (p - 500 - 3000) / (500 / 60)),
    ({"model": "burst", "burst": 3000, "per_minute": 500}, 2000, 0, lambda p: 0.0),  # within the burst
    ({"model": "per-function"}, 2000, 0, lambda p: (p - 1000) / 100),  # 1000 at once, then 100 per second
    ({"model": "unlimited"}, 50000, 0, lambda p: 0.0),
    ({"model": "burst", "burst": 10, "per_minute": 0}, 20, 0, lambda p: math.inf),
])
def test_scaling_seconds(scaling, rate, provisioned, seconds):
    # The time to reach the peak (p99.9 of the run's peak; provisioned environments need no credit), from a full
    # bucket. The steady load starts warm enough: no init, no ENI wait, so the peak is the Poisson figure.
    sc = scenario({"arrivals": {"process": "constant", "rate": rate}, "reserved_concurrency": provisioned or None,
                   "provisioned_concurrency": provisioned, "init": 0},
                  region={"concurrency_limit": 100_000, "scaling": scaling}, vpc={"eni_attach": 0})
    f = capacity(sc)["functions"]["f"]
    assert rate < f["peak_in_service"] < rate + 6 * math.sqrt(rate) + 3  # the Poisson figure of the peak
    assert f["ceilings"]["scaling_s"] == pytest.approx(seconds(f["peak_in_service"]))


def test_shared_subnets_add_up_their_projected_enis():
    # f: 1000 at 1024 MB → 334 ENIs over a, b (167 + 167); g: 100 at 128 MB → 5 ENIs (3 + 2).
    sc = scenario(functions=[{"name": "f", "arrivals": {"process": "constant", "rate": 1000}, "init": 0},
                             {"name": "g", "memory_mb": 128, "arrivals": {"process": "constant", "rate": 100},
                              "init": 0}],
                  region={"concurrency_limit": 5000}, vpc={"eni_attach": 0})
    cap = capacity(sc)
    assert cap["functions"]["f"]["enis_packed"] == 334 and cap["functions"]["g"]["enis_packed"] == 5
    assert cap["subnets"]["a"]["projected_enis"] == 167 + 3
    assert cap["subnets"]["b"]["projected_enis"] == 167 + 2
    peaks = [cap["functions"][n]["peak_in_service"] for n in "fg"]
    at_peak = [cap["functions"][n]["enis_at_peak"] for n in "fg"]
    assert at_peak == [math.ceil(peaks[0] / 3), math.ceil(peaks[1] / 24)]
    assert cap["subnets"]["a"]["enis_at_peak"] + cap["subnets"]["b"]["enis_at_peak"] == sum(at_peak)
    assert cap["total"] == {"projected_peak": 1100, "peak_in_service": sum(peaks), "enis_formula": 334 + 5,
                            "enis_packed": 339, "enis_at_peak": sum(at_peak), "eni_quota_free": 350,
                            "scaling_s": 0.0}
    assert "shared-subnet" not in {f["rule"] for f in cap["lint"]}


# --------------------------------------------------------------------------------------------------- hyperplane


def test_hyperplane_figures():
    sc = scenario({"security_groups": ["sg-1"], "arrivals": {"process": "constant", "rate": 1000}},
                  platform="hyperplane", region={"concurrency_limit": 5000, "scaling": {"model": "unlimited"}})
    f = capacity(sc)["functions"]["f"]
    assert f["slots_per_eni"] == 65000  # connections per Hyperplane ENI (DOMAIN §2)
    assert f["enis_formula"] == 334  # the legacy rule, for comparison
    assert f["enis_packed"] == 2  # one per (subnet, security-group set)
    assert f["ceilings"]["subnet_ips"] == (251 + 251) * 65000
    assert f["ceilings"]["eni_quota"] == 250 * 65000  # ENIs per VPC for Lambda
    assert f["ceilings"]["n_minus_1"] == min(5000, 251 * 65000)
    cap = capacity(sc)
    assert cap["total"]["eni_quota_free"] == 250 and cap["total"]["enis_packed"] == 2


def test_hyperplane_functions_with_the_same_security_groups_share_their_enis():
    # f and g: sg-1 in a and b, 80,000 executions each → 40,000 + 40,000 per subnet share one combination:
    # ceil(80,000 / 65,000) = 2 ENIs per subnet. h: sg-2 in a only → 1 more in a. (Summing each function's
    # extra ENIs separately would give a: 2, b: 1.)
    sc = scenario(functions=[
        {"name": "f", "security_groups": ["sg-1"], "arrivals": {"process": "constant", "rate": 80000}},
        {"name": "g", "security_groups": ["sg-1"], "arrivals": {"process": "constant", "rate": 80000}},
        {"name": "h", "security_groups": ["sg-2"], "subnets": ["a"], "arrivals": {"process": "constant", "rate": 1}},
    ], platform="hyperplane", region={"concurrency_limit": 200_000})
    cap = capacity(sc)
    assert {k: v["enis_packed"] for k, v in cap["functions"].items()} == {"f": 2, "g": 2, "h": 1}
    assert cap["subnets"]["a"]["projected_enis"] == 3 and cap["subnets"]["b"]["projected_enis"] == 2
    assert cap["total"]["enis_packed"] == 5
    # The order of the security groups does not make another combination.
    sc2 = sc.with_changes({"functions.g.security_groups": ["sg-1", "sg-1"]})
    assert capacity(sc2)["subnets"] == cap["subnets"]


# --------------------------------------------------------------------------------------------------- lint


def test_a_sound_scenario_has_no_findings():
    # 100/s from the first second with a 6-15 s ENI wait needs 8 times the steady environments: its peak creates
    # more ENIs than EC2's API bucket holds (a note). Ramped in, the same load has no finding at all.
    storm = capacity(scenario())
    assert {f["rule"] for f in storm["lint"]} == {"ec2-rate"}
    ramped = capacity(scenario(fn={"arrivals": {"process": "poisson", "schedule": [[0, 0], ["5m", 100]]}}))
    assert ramped["lint"] == []


@pytest.mark.parametrize(("rule", "bad", "good"), [
    ("dedicated-tenancy", {"vpc": {"tenancy": "dedicated"}}, {"vpc": {"tenancy": "default"}}),
    ("reserved-zero", {"fn": {"reserved_concurrency": 0}}, {"fn": {"reserved_concurrency": 1}}),
    ("legacy-memory", {"fn": {"memory_mb": 3072}}, {"fn": {"memory_mb": 3008}}),
    ("legacy-memory", {"fn": {"memory_mb": 3072}}, {"fn": {"memory_mb": 3072}, "platform": "hyperplane"}),
    ("legacy-memory-step", {"fn": {"memory_mb": 1000}}, {"fn": {"memory_mb": 960}}),
    ("timeout", {"fn": {"duration": {"dist": "lognormal", "median": "1s", "p99": "3s"}, "timeout": "2.5s"}},
     {"fn": {"duration": {"dist": "lognormal", "median": "1s", "p99": "3s"}, "timeout": "10s"}}),
    ("init-limit", {"fn": {"init": "11s"}}, {"fn": {"init": "9s"}}),
    ("no-vpc", {"fn": {"subnets": [], "security_groups": ["sg-1"]}}, {"fn": {"subnets": []}}),
    ("single-az", {"fn": {"subnets": ["a"]}}, {"fn": {"subnets": ["a", "b"]}}),
    ("nat-route", {"fn": {"needs_internet": True}, "vpc": {"subnets": [
        {"id": "a", "az": "az-a", "cidr": "10.0.1.0/24", "route": "igw"},
        {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24", "route": "nat"}]}},
     {"fn": {"needs_internet": False}, "vpc": {"subnets": [
         {"id": "a", "az": "az-a", "cidr": "10.0.1.0/24", "route": "igw"},
         {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24", "route": "nat"}]}}),
    ("nat-route", {"fn": {"needs_internet": True}, "vpc": {"subnets": [
        {"id": "a", "az": "az-a", "cidr": "10.0.1.0/24"},
        {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24", "route": "none"}]}},
     {"fn": {"needs_internet": True}}),
])
def test_each_function_rule_fires_when_it_should_and_not_otherwise(rule, bad, good):
    """The rules that do not depend on the peak; those that do are tested at the peak below."""
    def build(spec):
        spec = dict(spec)
        return scenario(spec.pop("fn", None), **spec)

    assert rule in rules(capacity(build(bad)), None if rule == "dedicated-tenancy" else "f"), bad
    assert rule not in rules(capacity(build(good)), None if rule == "dedicated-tenancy" else "f"), good


# 100/s ramped in over five minutes: no cold-start storm, so the peak is the Poisson figure (~150 for a mean of 100).
STEADY = {"arrivals": {"process": "poisson", "schedule": [[0, 0], ["5m", 100]]}}


def test_the_peak_rules_fire_at_the_peak_not_at_the_mean():
    """Each rule built on the projected peak fires when its limit is one below the peak (p99.9 of the run's peak),
    and not at the peak: the mean in service (Little's law, 100) would let them all pass."""
    steady = capacity(scenario(fn=STEADY))["functions"]["f"]
    mean, peak, enis = steady["projected_peak"], steady["peak_in_service"], steady["enis_at_peak"]
    assert mean == 100 and 130 < peak < 170 and enis == math.ceil(peak / 3)

    def fires(rule: str, **changes: Any) -> bool:
        fn = {**STEADY, **changes.pop("fn", {})}
        return rule in rules(capacity(scenario(fn=fn, **changes)))

    assert fires("concurrency", fn={"reserved_concurrency": peak - 1})
    assert not fires("concurrency", fn={"reserved_concurrency": peak})
    assert fires("scaling-rate", region={"scaling": {"model": "burst", "burst": peak - 1, "per_minute": 60}})
    assert not fires("scaling-rate", region={"scaling": {"model": "burst", "burst": peak, "per_minute": 60}})
    assert fires("eni-quota", region={"eni_quota": enis - 1 + 7, "enis_in_use": 7})
    assert not fires("eni-quota", region={"eni_quota": enis + 7, "enis_in_use": 7})
    assert fires("ec2-rate", region={"ec2_api": {"bucket": enis - 1}})
    assert not fires("ec2-rate", region={"ec2_api": {"bucket": enis}})

    def subnets(free_a: int, free_b: int) -> dict:
        return {"subnets": [{"id": "a", "az": "az-a", "cidr": "10.0.1.0/24", "route": "nat", "ips_in_use": 251 - free_a},
                            {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24", "route": "nat", "ips_in_use": 251 - free_b}]}

    assert fires("subnet-ips", vpc=subnets(enis // 2, enis - enis // 2 - 1))
    assert not fires("subnet-ips", vpc=subnets(enis // 2, enis - enis // 2))
    # N-1: losing the larger subnet's AZ leaves the other, which must hold the peak alone.
    assert fires("n-minus-1", vpc=subnets(enis + 10, enis - 1))
    assert not fires("n-minus-1", vpc=subnets(enis + 10, enis))


def test_lint_findings_have_the_documented_shape():
    cap = capacity(scenario(fn={"subnets": ["a"], "memory_mb": 1000}))
    for f in cap["lint"]:
        assert set(f) == {"level", "rule", "function", "message"}
        assert f["level"] in ("warning", "note") and f["message"]
    levels = {f["rule"]: f["level"] for f in cap["lint"]}
    assert levels == {"single-az": "warning", "legacy-memory-step": "note", "unused-subnet": "note",
                      "ec2-rate": "note"}


def test_nat_route_names_each_subnet_that_lacks_one():
    sc = scenario(fn={"needs_internet": True}, vpc={"subnets": [
        {"id": "a", "az": "az-a", "cidr": "10.0.1.0/24", "route": "igw"},
        {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24"}]})
    messages = [f["message"] for f in capacity(sc)["lint"] if f["rule"] == "nat-route"]
    assert len(messages) == 2
    assert "subnet a routes to an internet gateway" in messages[0]
    assert "subnet b does not state its route" in messages[1]


def test_n_minus_1_stays_quiet_when_another_limit_is_what_breaks():
    # Peak 100 above the reservation of 10: the `concurrency` finding says so; losing an AZ changes nothing.
    cap = capacity(scenario(fn={"reserved_concurrency": 10}))
    assert "concurrency" in rules(cap) and "n-minus-1" not in rules(cap)


def test_scaling_rate_that_never_reaches_the_peak_is_a_warning():
    cap = capacity(scenario(region={"scaling": {"model": "burst", "burst": 10, "per_minute": 0}}))
    (finding,) = [f for f in cap["lint"] if f["rule"] == "scaling-rate"]
    assert finding["level"] == "warning" and "never reaches" in finding["message"]
    assert cap["functions"]["f"]["ceilings"]["scaling_s"] == math.inf


def test_subnet_rules():
    # unused-subnet: c is used by nobody.
    sc = scenario(vpc={"subnets": [*BASE["vpc"]["subnets"], {"id": "c", "az": "az-c", "cidr": "10.0.3.0/24"}]})
    assert "unused-subnet" in rules(capacity(sc), None)
    assert "unused-subnet" not in rules(capacity(scenario()), None)
    # shared-subnet: f and g each fit alone in two /24s with 100 taken (151 free each), but not together.
    def shared(rate_g):
        return scenario(functions=[{"name": "f", "arrivals": {"process": "poisson", "schedule": [[0, 0], ["5m", 450]]}},
                                   {"name": "g", "arrivals": {"process": "poisson",
                                                              "schedule": [[0, 0], ["5m", rate_g]]}}],
                        vpc={"subnets": [{"id": "a", "az": "az-a", "cidr": "10.0.1.0/24", "ips_in_use": 100,
                                          "route": "nat"},
                                         {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24", "ips_in_use": 100,
                                          "route": "nat"}]},
                        region={"concurrency_limit": 5000, "eni_quota": 5000})
    # At their peaks (p99.9, not the means of 450 and 456): f's ENIs and g's add up in each subnet.
    fits, over = capacity(shared(100)), capacity(shared(456))
    assert fits["subnets"]["a"]["enis_at_peak"] <= 151 and "shared-subnet" not in rules(fits, None)
    assert over["subnets"]["a"]["projected_enis"] == 75 + 76 == 151, "the means fit"
    assert over["subnets"]["a"]["enis_at_peak"] > 151 and "shared-subnet" in rules(over, None)
    assert "subnet-ips" not in rules(over, "f") | rules(over, "g"), "each alone fits"


def test_eni_quota_total_fires_when_only_the_sum_is_too_much():
    def two(quota):
        ramp = {"process": "poisson", "schedule": [[0, 0], ["5m", 150]]}
        return capacity(scenario(functions=[{"name": "f", "arrivals": ramp}, {"name": "g", "arrivals": ramp}],
                                 region={"eni_quota": quota, "concurrency_limit": 5000}))
    enis = two(1000)["functions"]["f"]["enis_at_peak"]  # the ENIs of one function at its peak (p99.9)
    assert "eni-quota-total" not in rules(two(2 * enis), None)
    cap = two(2 * enis - 1)  # one short for both, each alone fits
    assert "eni-quota-total" in rules(cap, None) and "eni-quota" not in rules(cap, "f")


def test_hyperplane_eni_quota_per_vpc():
    def hp(quota):
        return capacity(scenario({"security_groups": ["sg-1"]}, platform="hyperplane",
                                 vpc={"hyperplane": {"eni_quota_per_vpc": quota}}))
    assert "hyperplane-eni-quota" in rules(hp(1), None)
    assert "hyperplane-eni-quota" not in rules(hp(2), None)


def test_hyperplane_has_no_legacy_rules():
    sc = scenario(fn={"memory_mb": 4000, "arrivals": {"process": "constant", "rate": 900}}, platform="hyperplane",
                  region={"eni_quota": 10, "concurrency_limit": 5000})
    found = rules(capacity(sc))
    assert not found & {"legacy-memory", "legacy-memory-step", "eni-quota", "ec2-rate"}


def test_capacity_of_the_shipped_scenarios_reads_as_their_comments_say():
    from .conftest import SCENARIOS

    spike = capacity(vs.load_scenario(SCENARIOS / "spike-exhausts-subnets.yaml"))
    f = spike["functions"]["launch-api"]
    # 2 environments per ENI at 1536 MB; two /24s with 30 taken each: 442 free → 884 executions.
    assert f["slots_per_eni"] == 2 and f["ceilings"]["subnet_ips"] == 884 and f["binding"] == "subnet_ips"
    assert f["projected_peak"] > 884 and "subnet-ips" in rules(spike, "launch-api")
    quick = capacity(vs.load_scenario(SCENARIOS / "quickstart.yaml"))
    # The spike's mean in service (144) fits the 98 free addresses x 3; its peak, a cold-start storm while ENIs
    # attach, does not (the run fills both subnets to the last address).
    q = quick["functions"]["api"]
    assert q["slots_per_eni"] == 3 and q["projected_peak"] <= q["ceilings"]["subnet_ips"] < q["peak_in_service"]
    assert {f["rule"] for f in quick["lint"]} == {"subnet-ips", "ec2-rate"}
    outage = capacity(vs.load_scenario(SCENARIOS / "az-outage.yaml"))
    o = outage["functions"]["orders"]
    assert o["ceilings"]["subnet_ips"] == 3 * 51 and o["ceilings"]["n_minus_1"] == 2 * 51


def test_shared_subnet_finding_names_a_few_functions_and_counts_the_rest():
    from simulator.analysis.capacity import _names

    assert _names(["a", "b"]) == "a, b"
    assert _names([f"f{i}" for i in range(100)]) == "f0, f1, f2, f3 and 96 more"


def test_provisioned_concurrency_without_a_reservation_is_set_aside_from_the_pool():
    import simulator as vs

    fn = {"memory_mb": 128, "duration": 1, "arrivals": {"process": "poisson", "rate": 1}}
    sc = vs.scenario_from_dict({"version": 1, "name": "pool", "duration": 60, "functions": [
        {"name": "f", "reserved_concurrency": 200, **fn},
        {"name": "g", "provisioned_concurrency": 50, **fn},
        {"name": "h", **fn}]})
    ceilings = {name: f["ceilings"]["concurrency"] for name, f in vs.capacity(sc)["functions"].items()}
    # 1000 - 200 reserved - 50 provisioned for g = 750 shared; g also has its own 50.
    assert ceilings == {"f": 200, "g": 800, "h": 750}


def test_subnet_ips_finding_counts_in_the_singular_when_one():
    """A function of 3008 MB packs one environment per ENI: "(1 environment each)", not "(1 environments each)"."""
    sc = scenario({"memory_mb": 3008, "arrivals": {"process": "constant", "rate": 30}}, vpc={"subnets": [
        {"id": "a", "az": "az-a", "cidr": "10.0.1.0/28", "route": "nat"},
        {"id": "b", "az": "az-b", "cidr": "10.0.2.0/28", "route": "nat"}]})
    cap = capacity(sc)
    peak = cap["functions"]["f"]["peak_in_service"]
    finding = next(f for f in cap["lint"] if f["rule"] == "subnet-ips")
    assert (f"peak {peak} (p99.9; mean in service 30) needs {peak} ENIs (1 environment each) but its subnets have "
            f"22 free addresses") in finding["message"]


def test_lint_findings_write_large_numbers_as_the_tables_do():
    """A lint line read "peak 1418 (p99.9; mean in service 1245)" beside a table's "1,418 (1,245)"."""
    import re

    from .conftest import BASE, tiny

    sc = tiny(functions=[{**BASE["functions"][0], "arrivals": {"process": "constant", "rate": 2000}}])
    messages = [f["message"] for f in vs.capacity(sc)["lint"]]
    assert any("peak 7,260 (p99.9; mean in service 2,000)" in m for m in messages), messages
    assert any("2,420 ENIs" in m for m in messages) and any("ceiling 1,000" in m for m in messages), messages
    for m in messages:  # no run of four or more digits outside a section number or a time
        assert not re.search(r"(?<![\d.,§])\d{4,}(?![\d.,])", m), m


def test_lint_memory_findings_write_thousands_too():
    from .conftest import BASE, tiny

    sc = tiny(functions=[{**BASE["functions"][0], "memory_mb": 4096}])
    assert any("memory 4,096 MB is above the 3,008 MB" in f["message"] for f in vs.capacity(sc)["lint"])
