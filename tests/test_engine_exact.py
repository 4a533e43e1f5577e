"""Tier 1: exact traces of tiny deterministic scenarios (constant arrivals and durations), derived by hand.

The base scenario (tests/conftest.py): two /28 subnets (11 usable addresses each) in az-a and az-b, one 1024 MB
function (3 environments per ENI), duration 1 s, init 0.5 s, keep-alive 3 s, ENI attach 2 s, idle release 5 s,
delete 1 s, scaling unlimited.
"""

from __future__ import annotations

import pandas as pd
import pytest

import simulator as vs

from .conftest import BASE, rows, tiny

FN = BASE["functions"][0]


def fn(**changes):
    return {**FN, **changes}


def test_three_environments_share_one_attaching_eni_then_a_second_eni_goes_to_the_other_az():
    # Arrivals at 0, 1, 2, 3. The first creates ENI-1 in subnet a (balanced: both AZs empty, same free addresses,
    # file order) ready at 2; the next two take its free slots and wait for the same attach (1 s and 0 s); the
    # fourth finds ENI-1 full and creates ENI-2 in the other AZ (fewest ENIs of the function), ready at 5.
    res = vs.simulate(tiny(duration=20, functions=[fn(arrivals={"process": "constant", "rate": 1, "end": 4})]),
                      record_invocations=True)
    assert rows(res) == [
        (0.0, 2.5, 3.5, "success", True, 2.0, "a", "az-a", 1),
        (1.0, 2.5, 3.5, "success", True, 1.0, "a", "az-a", 1),
        (2.0, 2.5, 3.5, "success", True, 0.0, "a", "az-a", 1),
        (3.0, 5.5, 6.5, "success", True, 2.0, "b", "az-b", 1),
    ]
    ts = res.timeseries
    # ENI-1's environments go idle at 3.5 and are reclaimed at 6.5 (keep-alive 3 s); ENI-1 is then empty, deleted at
    # 11.5 (idle release 5 s) and its address is free at 12.5 (delete 1 s). ENI-2's environment is reclaimed at 9.5,
    # ENI-2 deleted at 14.5, free at 15.5. ips_used is the most used in each 1 s step.
    assert ts["ips_used.a"].tolist() == [1] * 13 + [0] * 7
    assert ts["ips_used.b"].tolist() == [0] * 3 + [1] * 13 + [0] * 4
    assert ts["free_ips.a"].tolist() == [10] * 13 + [11] * 7
    # Snapshots at each step's end (before events at that instant): ENI-1 attaching over [0, 2), ENI-2 over [3, 5).
    assert ts["enis_attaching"].tolist()[:6] == [1, 1, 0, 1, 1, 0]
    assert ts["enis_deleting"].tolist()[10:16] == [0, 1, 0, 0, 1, 0]
    assert ts["environments_idle"].tolist()[:11] == [0, 0, 0, 3, 3, 3, 1, 1, 1, 0, 0]
    s = res.summary
    assert (s["cold_starts"], s["peak_concurrency"], s["peak_environments"], s["peak_enis"]) == (4, 4, 4, 2)
    # Time in flight: 3.5 + 2.5 + 1.5 + 3.5 = 11 s over 20 s; environments alive 6.5 + 5.5 + 4.5 + 6.5 = 23 s.
    assert s["mean_concurrency"] == pytest.approx(0.55)
    assert s["mean_environments"] == pytest.approx(1.15)
    assert s["latency_ms"] == pytest.approx({"p50": 3000.0, "p95": 3500.0, "p99": 3500.0, "max": 3500.0,
                                             "mean": 2750.0})
    assert s["cold_start_ms"]["mean"] == pytest.approx(1750.0)  # (2.5 + 1.5 + 0.5 + 2.5) / 4
    assert s["subnets"]["a"] == {"az": "az-a", "usable_ips": 11, "peak_ips_used": 1, "min_free_ips": 10,
                                 "exhausted_s": None, "exhausted_for_s": 0.0}


def test_warm_start_takes_the_most_recently_used_environment():
    # 3008 MB: one environment per ENI. Arrivals at 0 (→ subnet a, ends 3.5) and 0.5 (→ subnet b, ends 4.0); the
    # arrival at 5 reuses the environment that finished last, the one in subnet b.
    res = vs.simulate(tiny(functions=[fn(memory_mb=3008, arrivals=[
        {"process": "constant", "rate": 2, "end": 1},
        {"process": "constant", "rate": 1, "start": 5, "end": 6},
    ])]), record_invocations=True)
    assert rows(res) == [
        (0.0, 2.5, 3.5, "success", True, 2.0, "a", "az-a", 1),
        (0.5, 3.0, 4.0, "success", True, 2.0, "b", "az-b", 1),
        (5.0, 5.0, 6.0, "success", False, 0.0, "b", "az-b", 1),
    ]


@pytest.mark.parametrize("failover, expected", [
    (True, (0.0, 2.5, 3.5, "success", True, 2.0, "b", "az-b", 1)),
    (False, (0.0, None, None, "subnet_ips", False, 0.0, None, None, 1)),
])
def test_a_full_subnet_fails_over_to_the_next_one_or_fails(failover, expected):
    # Round-robin tries subnet a first; it is full (other resources hold all 11 addresses).
    sc = tiny(vpc={"placement": "round-robin", "subnet_failover": failover,
                   "subnets": [{"id": "a", "az": "az-a", "cidr": "10.0.1.0/28", "ips_in_use": 11},
                               {"id": "b", "az": "az-b", "cidr": "10.0.2.0/28"}]},
              functions=[fn(memory_mb=3008, arrivals={"process": "constant", "rate": 1, "end": 1})])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [expected]
    assert res.summary["subnets"]["a"]["exhausted_s"] == 0.0
    assert res.summary["first_failure_s"] == (None if failover else 0.0)


@pytest.mark.parametrize("on_throttle, second", [
    # Bucket 1, refill 0.5/s: at t=1 only half a token is back.
    ("fail", (1.0, None, None, "ec2_throttled", False, 0.0, None, None, 1)),
    # Waiting: the call goes into debt of half a token, accepted 1 s later, attached 2 s after that.
    ("wait", (1.0, 4.5, 5.5, "success", True, 3.0, "b", "az-b", 1)),
])
def test_ec2_create_network_interface_bucket(on_throttle, second):
    sc = tiny(region={"ec2_api": {"bucket": 1, "refill_per_s": 0.5, "on_throttle": on_throttle}},
              functions=[fn(memory_mb=3008, arrivals={"process": "constant", "rate": 1, "end": 2})])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [(0.0, 2.5, 3.5, "success", True, 2.0, "a", "az-a", 1), second]


def test_regional_eni_quota_counts_other_enis():
    sc = tiny(region={"eni_quota": 2, "enis_in_use": 1},
              functions=[fn(memory_mb=3008, arrivals={"process": "constant", "rate": 1, "end": 2})])
    res = vs.simulate(sc, record_invocations=True)
    assert [r[3] for r in rows(res)] == ["success", "eni_limit"]
    assert res.summary["outcomes"]["eni_limit"] == 1 and res.summary["peak_enis"] == 1


def test_az_outage_loses_running_environments_and_keeps_their_addresses():
    # The invocation arriving at 0 runs in az-a from 2.5 to 3.5; az-a fails at 3 for 4.5 s. It fails at 3 with
    # az_outage. The arrival at 4 cannot use az-a: a new ENI in subnet b. ENI-1 keeps its address during the
    # outage; az-a is back at 7.5, ENI-1 is empty then, deleted at 12.5, its address free at 13.5.
    sc = tiny(duration=20, functions=[fn(memory_mb=3008, arrivals=[
        {"process": "constant", "rate": 1, "end": 1},
        {"process": "constant", "rate": 1, "start": 4, "end": 5},
    ])], events=[{"at": 3, "kind": "az_outage", "az": "az-a", "for": 4.5}])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [
        (0.0, 2.5, 3.0, "az_outage", True, 2.0, "a", "az-a", 1),
        (4.0, 6.5, 7.5, "success", True, 2.0, "b", "az-b", 1),
    ]
    assert res.timeseries["ips_used.a"].tolist() == [1] * 14 + [0] * 6
    s = res.summary
    assert s["outcomes"]["az_outage"] == 1 and s["first_failure_s"] == 3.0
    assert s["first_outcome_s"] == {"az_outage": 3.0}


def test_other_workloads_take_and_give_back_addresses():
    sc = tiny(vpc={"subnets": [{"id": "a", "az": "az-a", "cidr": "10.0.1.0/28", "ips_in_use": 11},
                               {"id": "b", "az": "az-b", "cidr": "10.0.2.0/28"}]},
              functions=[fn(memory_mb=3008, arrivals=[{"process": "constant", "rate": 1, "start": 1, "end": 2},
                                                      {"process": "constant", "rate": 1, "start": 4, "end": 5}])],
              events=[{"at": 0.5, "kind": "ips_taken", "subnet": "b", "count": 20},
                      {"at": 2.5, "kind": "ips_released", "subnet": "b", "count": 5}])
    res = vs.simulate(sc, record_invocations=True)
    assert [(r[0], r[3], r[6]) for r in rows(res)] == [(1.0, "subnet_ips", None), (4.0, "success", "b")]
    b = res.summary["subnets"]["b"]
    # Only the 11 free addresses can be taken; 5 come back; the ENI takes one of them.
    assert (b["min_free_ips"], b["exhausted_s"], b["exhausted_for_s"]) == (0, 0.5, 2.0)
    assert res.timeseries["free_ips.b"].tolist()[:6] == [0, 0, 0, 5, 4, 4]


def test_hyperplane_shares_one_eni_per_subnet_and_security_groups_and_never_waits():
    sc = tiny(platform="hyperplane",
              functions=[fn(security_groups=["sg-1"], arrivals={"process": "constant", "rate": 1, "end": 4}),
                         fn(name="g", security_groups=["sg-1"], arrivals={"process": "constant", "rate": 1,
                                                                           "end": 4})])
    res = vs.simulate(sc, record_invocations=True)
    inv = res.invocations
    assert (inv["wait_s"] == 0).all()
    assert (inv["start_s"] - inv["arrival_s"]).where(inv["cold"], 0).isin([0.0, 0.5]).all()
    # One address per (subnet, security groups) for both functions, from t=0, whatever the concurrency.
    assert res.summary["subnets"]["a"]["peak_ips_used"] == 1 and res.summary["subnets"]["b"]["peak_ips_used"] == 1
    assert set(res.timeseries["ips_used.a"]) == {1}
    assert res.summary["peak_enis"] == 2


def test_timeout_ends_the_execution_at_the_timeout():
    sc = tiny(functions=[fn(subnets=[], timeout=2, duration=5,
                            arrivals={"process": "constant", "rate": 1, "end": 1})])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [(0.0, 0.5, 2.5, "timeout", True, 0.0, None, None, 1)]
    assert res.summary["failed"] == 1 and res.summary["latency_ms"]["p50"] is None


def test_provisioned_environments_are_warm_from_the_start_and_hold_their_enis():
    sc = tiny(functions=[fn(provisioned_concurrency=2, arrivals={"process": "constant", "rate": 2, "end": 1})])
    res = vs.simulate(sc, record_invocations=True)
    assert [(r[0], r[1], r[4]) for r in rows(res)] == [(0.0, 0.0, False), (0.5, 0.5, False)]
    # One ENI (3 slots) created before t=0 for the two provisioned environments, never released.
    assert set(res.timeseries["ips_used.a"]) == {1}
    assert res.summary["cold_starts"] == 0


def test_reserved_concurrency_and_the_unreserved_pool():
    sc = tiny(region={"concurrency_limit": 102, "unreserved_min": 100},
              functions=[fn(subnets=[], reserved_concurrency=1, duration=3,
                            arrivals={"process": "constant", "rate": 1, "end": 3}),
                         fn(name="g", subnets=[], duration=3, arrivals={"process": "constant", "rate": 1, "end": 3})])
    res = vs.simulate(sc)
    f, g = res.summary["functions"]["f"], res.summary["functions"]["g"]
    # f: one in flight at a time → arrivals at 1 and 2 throttled. g: the pool is 102 - 1 = 101, no throttles.
    assert f["outcomes"]["throttled_reserved"] == 2 and f["succeeded"] == 1
    assert g["throttled"] == 0 and g["succeeded"] == 3


def test_burst_scaling_bucket_throttles_new_environments_only():
    sc = tiny(region={"scaling": {"model": "burst", "burst": 2, "per_minute": 60}},
              functions=[fn(subnets=[], init=0, duration=10, arrivals={"process": "constant", "rate": 4, "end": 1})])
    res = vs.simulate(sc, record_invocations=True)
    # Arrivals at 0, .25, .5, .75, each needing a new environment. Tokens: 2 → 1; 1 + .25 → .25; .25 + .25 = .5 < 1
    # (throttled); .5 + .25 = .75 < 1 (throttled).
    assert [r[3] for r in rows(res)] == ["success", "success", "throttled_scaling", "throttled_scaling"]
    assert res.summary["outcomes"]["throttled_scaling"] == 2


def test_async_throttles_are_retried_with_backoff_until_max_event_age():
    # Reserved 1 and a 100 s execution: the second event is throttled at 0.25 and retried after 1, 2, 4, 8, 16 s;
    # the next wait (32 s) would take it past the 60 s event age, so it is dropped at 31.25.
    sc = tiny(duration=1, functions=[fn(subnets=[], invocation="async", max_event_age=60, reserved_concurrency=1,
                                         init=0, duration=100, timeout=900,
                                         arrivals={"process": "constant", "rate": 4, "end": 0.5})])
    res = vs.simulate(sc, record_invocations=True)
    second = res.invocations[res.invocations["arrival_s"] > 0]
    assert second["arrival_s"].tolist() == [0.25, 1.25, 3.25, 7.25, 15.25, 31.25]
    assert second["attempt"].tolist() == [1, 2, 3, 4, 5, 6]
    s = res.summary
    assert (s["invocations"], s["attempts"], s["outcomes"]["success"], s["outcomes"]["dropped"]) == (2, 7, 1, 1)
    assert s["first_outcome_s"]["dropped"] == 31.25


def test_async_function_errors_are_retried_twice_after_one_and_two_minutes():
    sc = tiny(duration=1, functions=[fn(subnets=[], invocation="async", init=0, duration=5, timeout=2,
                                         arrivals={"process": "constant", "rate": 1, "end": 1})])
    res = vs.simulate(sc, record_invocations=True)
    assert res.invocations["arrival_s"].tolist() == [0.0, 62.0, 184.0]
    assert res.summary["outcomes"]["timeout"] == 1 and res.summary["attempts"] == 3


def test_sync_client_retries_use_capped_full_jitter_backoff():
    sc = tiny(duration=1, functions=[fn(subnets=[], reserved_concurrency=1, init=0, duration=30,
                                         client_retry={"attempts": 3, "base": 0.1, "cap": 20},
                                         arrivals={"process": "constant", "rate": 4, "end": 0.5})])
    res = vs.simulate(sc, record_invocations=True)
    second = res.invocations[res.invocations["arrival_s"] > 0].reset_index(drop=True)
    assert second["attempt"].tolist() == [1, 2, 3]
    gaps = second["arrival_s"].diff().dropna().tolist()
    assert 0 <= gaps[0] <= 0.1 and 0 <= gaps[1] <= 0.2  # uniform(0, min(cap, base * 2^(attempt-1)))
    assert res.summary["outcomes"]["throttled_reserved"] == 1 and res.summary["attempts"] == 4


def test_warmup_arrivals_are_simulated_but_not_counted():
    sc = tiny(warmup=5, functions=[fn(subnets=[], arrivals={"process": "constant", "rate": 1})])
    res = vs.simulate(sc)
    assert res.summary["invocations"] == 5  # arrivals at 5..9
    assert res.summary["cold_starts"] == 0  # the environment warmed up during the warm-up is reused
    assert res.timeseries["arrivals"].sum() == 10


def test_invocations_table_columns_are_those_of_the_spec():
    # SPEC §4's columns, then the invocation's first arrival (which the warm-up counts by: docs/model.md).
    res = vs.simulate(tiny(), record_invocations=True)
    assert list(res.invocations.columns) == ["function", "arrival_s", "start_s", "end_s", "outcome", "cold",
                                             "wait_s", "subnet", "az", "attempt", "first_arrival_s"]
    assert isinstance(res.invocations, pd.DataFrame) and len(res.invocations) == 10
    assert vs.simulate(tiny()).invocations is None


def test_peaks_and_address_figures_stop_at_the_horizon_while_late_retries_still_get_an_outcome():
    # One token of scaling credit, refilled at 1/s: f's arrival at 0 takes it; g's three async events at 0.1, 0.2
    # and 0.3 are throttled and retried after the 1 s horizon, where they run for 100 s side by side with f's.
    sc = tiny(duration=1, region={"scaling": {"model": "burst", "burst": 1, "per_minute": 60}},
              functions=[fn(subnets=[], init=0, duration=100, timeout=900,
                            arrivals={"process": "constant", "rate": 1, "end": 0.5}),
                         fn(name="g", subnets=[], init=0, duration=100, timeout=900, invocation="async",
                            arrivals={"process": "constant", "rate": 10, "start": 0.1, "end": 0.35})])
    res = vs.simulate(sc, record_invocations=True)
    s = res.summary
    assert s["outcomes"]["success"] == 4 and s["invocations"] == 4  # every late retry ended in an outcome
    ran = res.invocations[res.invocations["outcome"] == "success"]
    assert (ran["arrival_s"] > 1).sum() == 3  # ... after the horizon
    assert s["peak_concurrency"] == 1 and s["functions"]["g"]["peak_concurrency"] == 0
    assert s["mean_concurrency"] == pytest.approx(1.0)


def test_an_environment_whose_execution_timed_out_is_reset_and_the_next_start_is_cold():
    # Arrivals at 0 (runs 5 s, times out at 2.5 = 0.5 init + 2 s timeout) and at 3: a fresh cold start.
    sc = tiny(functions=[fn(subnets=[], timeout=2, duration=5,
                            arrivals=[{"process": "constant", "rate": 1, "end": 1},
                                      {"process": "constant", "rate": 1, "start": 3, "end": 4}])])
    res = vs.simulate(sc, record_invocations=True)
    assert [(r[0], r[3], r[4]) for r in rows(res)] == [(0.0, "timeout", True), (3.0, "timeout", True)]
    assert res.summary["cold_starts"] == 2 and res.summary["peak_environments"] == 1


def test_billed_duration_is_init_plus_run_rounded_up_to_the_millisecond():
    # AWS facts §9: duration billed per execution rounded up to 1 ms, init included, the ENI wait (Lambda's own set-up)
    # not. Arrivals at 0 and 1 (cold: ENI ready at 2, init 0.5 s, run 0.1004 s) and at 4 (warm, run only).
    # Cold: 500 + 100.4 -> 601 ms each; warm: 100.4 -> 101 ms. 0.1 s exactly bills 100 ms, not 101.
    res = vs.simulate(tiny(functions=[fn(duration=0.1004, arrivals=[
        {"process": "constant", "rate": 1, "end": 2}, {"process": "constant", "rate": 1, "start": 4, "end": 5}])]))
    f = res.summary["functions"]["f"]
    assert (f["billed_ms"], f["billed_ms_provisioned"]) == (601 + 601 + 101, 0)
    exact = vs.simulate(tiny(functions=[fn(duration=0.1, init=0.2, arrivals={"process": "constant", "rate": 1,
                                                                             "end": 1})]))
    assert exact.summary["functions"]["f"]["billed_ms"] == 300


def test_provisioned_environments_bill_apart_without_init_and_timeouts_bill_to_the_timeout():
    # Two provisioned environments (initialised before t=0): arrivals at 0 and 0.5 run on them (1.0004 s -> 1001 ms
    # each, provisioned). The arrival at 0.7 is on demand: ENI wait 2 s unbilled, init 0.5 s + 1.0004 s -> 1501 ms.
    res = vs.simulate(tiny(functions=[fn(duration=1.0004, provisioned_concurrency=2, arrivals=[
        {"process": "constant", "rate": 2, "end": 1}, {"process": "constant", "rate": 1, "start": 0.7, "end": 1}])]))
    f = res.summary["functions"]["f"]
    assert (f["billed_ms"], f["billed_ms_provisioned"]) == (1501, 2 * 1001)
    # A 5 s execution with a 2 s timeout bills 2 s (+ 0.5 s init when cold); warm-up invocations are not billed.
    t = vs.simulate(tiny(warmup=1, functions=[fn(duration=5, timeout=2, arrivals={"process": "constant", "rate": 1,
                                                                                  "end": 2})]))
    assert t.summary["functions"]["f"]["billed_ms"] == 2500
