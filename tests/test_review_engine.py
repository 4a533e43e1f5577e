"""Exact tests written during an adversarial review of the engine (each one failed before its fix).

Same base scenario as tests/test_engine_exact.py (tests/conftest.py): two /28 subnets in az-a and az-b, one 1024 MB
function (3 environments per ENI), duration 1 s, init 0.5 s, keep-alive 3 s, ENI attach 2 s, idle release 5 s,
delete 1 s, scaling unlimited.
"""

from __future__ import annotations

import simulator as vs

from .conftest import BASE, tiny

FN = BASE["functions"][0]


def fn(**changes):
    return {**FN, **changes}


def test_overlapping_outages_of_one_az_keep_it_down_until_the_last_one_ends():
    # Outages of az-a over [5, 25) and [10, 15): the AZ is down until 25, not back at 15 when the shorter one ends.
    sc = tiny(duration=30, vpc={"subnets": [{"id": "a", "az": "az-a", "cidr": "10.0.1.0/28"}]},
              functions=[fn(subnets=["a"], arrivals={"process": "constant", "rate": 1, "start": 0.25})],
              events=[{"at": 5, "kind": "az_outage", "az": "az-a", "for": 20},
                      {"at": 10, "kind": "az_outage", "az": "az-a", "for": 5}])
    inv = vs.simulate(sc, record_invocations=True).invocations
    down = inv[(inv["arrival_s"] > 5) & (inv["arrival_s"] < 25)]
    assert len(down) == 20 and set(down["outcome"]) == {"az_outage"}
    assert set(inv[inv["arrival_s"] > 25]["outcome"]) == {"success"}


def test_hyperplane_at_the_eni_quota_uses_room_on_another_subnets_eni():
    # One connection per ENI and a quota of 2: the ENIs of (a, sg) and (b, sg) exist before t=0. g (subnet a only)
    # fills a's ENI at 0. f (subnets a and b) arrives at 2: a's ENI is full and no ENI can be added, but b's ENI has
    # room, so f runs there instead of failing with eni_limit.
    sc = tiny(platform="hyperplane", duration=5,
              vpc={"hyperplane": {"connections_per_eni": 1, "eni_quota_per_vpc": 2}},
              functions=[fn(name="g", subnets=["a"], duration=100, timeout=900,
                            arrivals={"process": "constant", "rate": 1, "end": 1}),
                         fn(name="f", subnets=["a", "b"], duration=100, timeout=900,
                            arrivals={"process": "constant", "rate": 1, "start": 2, "end": 3})])
    inv = vs.simulate(sc, record_invocations=True).invocations
    f = inv[inv["function"] == "f"]
    assert f["outcome"].tolist() == ["success"] and f["subnet"].tolist() == ["b"]


def test_async_function_errors_get_their_two_retries_after_throttle_retries():
    # Reserved 1, every execution times out after 2 s. Event 2 (0.25) is throttled at 0.25 and 1.25 (retries after
    # 1 s and 2 s), runs at 3.25 and times out at 5.25: a function error, retried after 1 min (65.25) and, timing out
    # again, after 2 min (187.25). Throttle retries do not use up the two retries of function errors (DOMAIN §4).
    sc = tiny(duration=1, functions=[fn(subnets=[], invocation="async", reserved_concurrency=1, init=0, duration=5,
                                         timeout=2, arrivals={"process": "constant", "rate": 4, "end": 0.5})])
    res = vs.simulate(sc, record_invocations=True)
    inv = res.invocations
    # Event 1 (t=0) times out at 2 and is retried at 62 and 184 as before.
    assert list(zip(inv["arrival_s"], inv["outcome"], inv["attempt"], strict=True)) == [
        (0.0, "timeout", 1), (0.25, "throttled_reserved", 1), (1.25, "throttled_reserved", 2), (3.25, "timeout", 3),
        (62.0, "timeout", 2), (65.25, "timeout", 4), (184.0, "timeout", 3), (187.25, "timeout", 5)]
    assert res.summary["outcomes"]["timeout"] == 2 and res.summary["attempts"] == 8


def test_provisioned_concurrency_without_a_reservation_is_kept_out_of_the_unreserved_pool():
    # Limit 103, 100 kept unreserved: p's 3 provisioned environments take 3 of the account's concurrency (as the
    # scenario validation counts them), so g alone can hold only 100, and p's call at 5 runs on an idle provisioned
    # environment instead of being throttled by a pool that g filled.
    sc = tiny(duration=10, region={"concurrency_limit": 103, "unreserved_min": 100},
              functions=[fn(name="p", subnets=[], provisioned_concurrency=3,
                            arrivals={"process": "constant", "rate": 1, "start": 5, "end": 6}),
                         fn(name="g", subnets=[], duration=100, timeout=900,
                            arrivals={"process": "constant", "rate": 200, "end": 1})])
    s = vs.simulate(sc).summary
    p, g = s["functions"]["p"], s["functions"]["g"]
    assert p["succeeded"] == 1 and p["throttled"] == 0 and p["cold_starts"] == 0
    assert g["succeeded"] == 100 and g["outcomes"]["throttled_concurrency"] == 100
    assert s["peak_concurrency"] == 101


def test_hyperplane_peak_enis_of_a_function_counts_the_shared_enis_it_uses():
    # One ENI per (subnet, security groups) before t=0: f, in subnets a and b, uses two (shared) ENIs, not zero.
    # With one connection per ENI, f's three environments (arrivals at 0, 0.5, 1; 1.5 s each) need a third ENI.
    s = vs.simulate(tiny(platform="hyperplane", duration=2, functions=[fn(init=0.5, duration=1, arrivals={
        "process": "constant", "rate": 2, "end": 1.5})])).summary
    assert s["functions"]["f"]["peak_enis"] == s["peak_enis"] == 2
    s = vs.simulate(tiny(platform="hyperplane", duration=2, vpc={"hyperplane": {"connections_per_eni": 1}},
                         functions=[fn(init=0.5, duration=1, arrivals={
                             "process": "constant", "rate": 2, "end": 1.5})])).summary
    assert s["functions"]["f"]["peak_enis"] == s["peak_enis"] == 3


def test_warmup_does_not_cut_the_time_series_step_it_falls_in():
    # Another workload holds 4 addresses of subnet a over [5.2, 5.4); the warm-up ends at 5.5, inside step [5, 6).
    # The summary starts measuring at 5.5 (nothing used), but the time series covers the whole run: step 5 shows the
    # 4 addresses.
    sc = tiny(duration=8, warmup=5.5, functions=[fn(subnets=[], arrivals={"process": "constant", "rate": 1})],
              events=[{"at": 5.2, "kind": "ips_taken", "subnet": "a", "count": 4},
                      {"at": 5.4, "kind": "ips_released", "subnet": "a", "count": 4}])
    res = vs.simulate(sc)
    assert res.timeseries["ips_used.a"].tolist() == [0] * 5 + [4] + [0] * 2
    assert res.timeseries["free_ips.a"].tolist() == [11] * 5 + [7] + [11] * 2
    assert res.summary["subnets"]["a"]["peak_ips_used"] == 0 and res.summary["subnets"]["a"]["min_free_ips"] == 11


def test_diurnal_expected_count_is_the_integral_of_its_rate_for_any_period():
    # mean * horizon + mean * amplitude * period / 2π * [sin(2π (t - peak_at) / period)] from 0 to horizon. A fixed
    # grid of 4097 points aliases a one-minute cycle over a day (it gave 916,520 instead of 864,000).
    import math

    from simulator.arrivals import DiurnalProcess

    # 107 s, like any period that is no divisor of the day (a period is at least a minute: docs/scenario.md).
    for period, peak_at, horizon in ((60.0, 0.0, 86400.0), (107.0, 13.0, 86400.0), (86400.0, 50400.0, 3600.0)):
        p = DiurnalProcess(mean=10, amplitude=1, period=period, peak_at=peak_at)
        w = 2 * math.pi / period
        exact = 10 * horizon + 10 / w * (math.sin(w * (horizon - peak_at)) - math.sin(-w * peak_at))
        assert abs(p.expected_count(horizon) - exact) < 1e-6 * exact


def test_async_function_error_retries_stop_at_the_maximum_event_age():
    # max_event_age 90 s: the event times out at 2 and 64 (retried at 62, age 62 s), but its second retry would come at
    # 184 (age 184 s): Lambda discards it (EventAgeExceeded), so its outcome is `dropped` at 64.
    sc = tiny(duration=1, functions=[fn(subnets=[], invocation="async", max_event_age=90, init=0, duration=5, timeout=2,
                                         arrivals={"process": "constant", "rate": 1, "end": 1})])
    res = vs.simulate(sc, record_invocations=True)
    assert res.invocations["arrival_s"].tolist() == [0.0, 62.0]
    s = res.summary
    assert (s["outcomes"]["dropped"], s["outcomes"]["timeout"], s["attempts"]) == (1, 0, 2)
    assert s["first_outcome_s"] == {"dropped": 64.0}
