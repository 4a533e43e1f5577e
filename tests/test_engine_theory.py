"""Tier 2a: the model against theory, over several seeds, with stated tolerances.

- A concurrency limit with Poisson arrivals and nothing else binding is an Erlang loss system M/G/c/c: the share
  of throttled invocations is Erlang-B(c, a) with a = λ·E[S], whatever the service distribution (insensitivity).
- Little's law: mean concurrency = throughput × mean time in flight.
- A steady concurrency N at memory M needs ceil(N / floor(3072 / M)) ENIs (the packing reading of the doc's rule).
- Two exhausted subnets cap concurrency at (their free addresses × environments per ENI).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulator as vs

from .conftest import BASE, tiny

SEEDS = (1, 2, 3, 4)


def erlang_b(c: int, a: float) -> float:
    """Erlang's loss formula by the stable recursion B(0)=1, B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def loss_scenario(c: int, rate: float, service: dict | float, duration: float = 4000):
    return tiny(duration=duration, warmup=100, timestep=10,
                functions=[{**BASE["functions"][0], "subnets": [], "reserved_concurrency": c, "init": 0,
                            "timeout": 900, "keep_alive": "1h", "duration": service,
                            "arrivals": {"process": "poisson", "rate": rate}}])


@pytest.mark.parametrize("c, rate, service", [
    (10, 8.0, {"dist": "exponential", "mean": 1.0}),
    (5, 4.0, {"dist": "lognormal", "mean": 1.0, "cv": 1.5}),  # insensitivity: only the mean matters
    (20, 25.0, {"dist": "constant", "value": 0.8}),
])
def test_throttle_rate_of_a_concurrency_limit_is_erlang_b(c, rate, service):
    mean_s = vs.scenario_from_dict({"version": 1, "name": "x", "duration": 1, "functions": [
        {"name": "f", "memory_mb": 128, "duration": service, "arrivals": {"process": "poisson", "rate": 1}}]}
    ).functions[0].duration.mean
    a = rate * mean_s
    expected = erlang_b(c, a)
    rates = [vs.simulate(loss_scenario(c, rate, service), seed=s).summary["throttle_rate"] for s in SEEDS]
    # Tolerance: 0.01 absolute on the mean of 4 runs of ~16-100k arrivals each (about 4 standard errors).
    assert np.mean(rates) == pytest.approx(expected, abs=0.01)
    # And the carried load is a(1 - B) (Little's law on the accepted stream), within 3%.
    res = vs.simulate(loss_scenario(c, rate, service), seed=9)
    assert res.summary["mean_concurrency"] == pytest.approx(a * (1 - expected), rel=0.03)


def test_littles_law_with_cold_starts_and_eni_waits():
    # A legacy VPC function with ENI waits: L = λ W, W measured as the mean end-to-end latency of successes.
    for seed in SEEDS[:3]:
        sc = tiny(duration=600, warmup=0, timestep=10, vpc={"eni_attach": {"dist": "lognormal", "median": 2,
                                                                           "p99": 6}},
                  functions=[{**BASE["functions"][0], "keep_alive": 20, "duration": {"dist": "gamma", "mean": 0.3,
                                                                                       "cv": 1},
                              "arrivals": {"process": "poisson", "rate": 20}}])
        sc = sc.with_changes({"vpc.subnets.a.cidr": "10.0.1.0/24", "vpc.subnets.b.cidr": "10.0.2.0/24"})
        s = vs.simulate(sc, seed=seed).summary
        assert s["failed"] == 0 and s["throttled"] == 0
        throughput = s["succeeded"] / s["simulated_s"]
        assert s["mean_concurrency"] == pytest.approx(throughput * s["latency_ms"]["mean"] / 1000, rel=0.03)


@pytest.mark.parametrize("memory_mb", [128, 512, 1024, 1536, 2048, 3008])
def test_steady_concurrency_needs_ceil_n_over_slots_enis(memory_mb):
    # Constant arrivals 8/s of exactly 4 s: 32 executions in flight at every moment after 4 s, no attach delay, so
    # environments are reused exactly and the ENI count is the packing figure.
    n = 32
    sc = tiny(duration=60, vpc={"eni_attach": 0, "subnets": [
        {"id": "a", "az": "az-a", "cidr": "10.0.1.0/24"}, {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24"}]},
        functions=[{**BASE["functions"][0], "memory_mb": memory_mb, "init": 0, "duration": 4, "keep_alive": "10m",
                    "arrivals": {"process": "constant", "rate": 8}}])
    s = vs.simulate(sc).summary
    slots = max(1, 3072 // memory_mb)
    assert s["peak_concurrency"] == n and s["peak_environments"] == n
    assert s["peak_enis"] == math.ceil(n / slots)
    cap = s["capacity"]["functions"]["f"]
    assert cap["slots_per_eni"] == slots and cap["enis_packed"] == s["peak_enis"]
    # The doc's fractional formula never asks for more ENIs than the packing.
    assert cap["enis_formula"] == math.ceil(n * memory_mb / 3072) <= cap["enis_packed"]


@pytest.mark.parametrize("seed", SEEDS)
def test_two_exhausted_subnets_cap_concurrency_at_free_addresses_times_slots(seed):
    # Two /28 subnets (11 usable), one address each held by others: 20 free x 3 environments = 60.
    sc = tiny(duration=120, timestep=5, vpc={"eni_attach": 0.5, "subnets": [
        {"id": "a", "az": "az-a", "cidr": "10.0.1.0/28", "ips_in_use": 1},
        {"id": "b", "az": "az-b", "cidr": "10.0.2.0/28", "ips_in_use": 1}]},
        functions=[{**BASE["functions"][0], "init": 0.2, "keep_alive": 30, "duration": {"dist": "exponential",
                                                                                         "mean": 1.0},
                    "arrivals": {"process": "poisson", "rate": 200}}])
    s = vs.simulate(sc, seed=seed).summary
    assert s["capacity"]["functions"]["f"]["ceilings"]["subnet_ips"] == 60
    assert s["peak_concurrency"] == 60  # reached, never exceeded
    assert s["outcomes"]["subnet_ips"] > 0
    assert s["subnets"]["a"]["min_free_ips"] == 0 and s["subnets"]["b"]["min_free_ips"] == 0
    # The same load on hyperplane: one address per subnet, no address failures.
    h = vs.simulate(sc.with_changes({"platform": "hyperplane", "region.scaling": {"model": "unlimited"}}),
                    seed=seed).summary
    assert h["outcomes"]["subnet_ips"] == 0 and h["subnets"]["a"]["peak_ips_used"] == 2


def test_cold_start_rate_falls_with_keep_alive():
    # Poisson 2/s of 0.2 s: with a keep-alive far above the gaps almost every start is warm; with a keep-alive far
    # below the mean gap (0.5 s) most starts are cold. The share of warm starts with one environment alive is
    # P(gap < keep_alive) = 1 - exp(-λ k) (the environment is almost always idle).
    def rate(keep_alive):
        sc = tiny(duration=3000, functions=[{**BASE["functions"][0], "subnets": [], "init": 0, "duration": 0.01,
                                             "keep_alive": keep_alive, "arrivals": {"process": "poisson",
                                                                                    "rate": 2}}])
        return vs.simulate(sc, seed=5).summary["cold_start_rate"]

    assert rate(0.25) == pytest.approx(math.exp(-2 * 0.25), abs=0.02)  # cold iff the gap exceeds the keep-alive
    # With 60 s nearly all starts are warm; the rest are overlaps (two arrivals within 10 ms) and their expiry.
    assert rate(60) < 0.01
