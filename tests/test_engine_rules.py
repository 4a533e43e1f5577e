"""Tier 1: the model's rules one by one, in the order of docs/model.md, each pinned down by an exact trace.

tests/test_engine_exact.py walks through whole scenarios; here each test is a tiny deterministic scenario built to
expose one rule, its trace derived by hand in its comment, so that breaking the rule fails the test. Where a
docstring lists mutations, the test was checked against them: the rule mutated in the engine, the test run (it
failed), the engine restored (issue 11, item 6: with each of those mutations the whole suite had stayed green).
The other tests each failed before the fix they guard.

Same base scenario as tests/test_engine_exact.py (tests/conftest.py): two /28 subnets (11 usable addresses each) in
az-a and az-b, one 1024 MB function (3 environments per ENI), duration 1 s, init 0.5 s, keep-alive 3 s, ENI attach
2 s, idle release 5 s, delete 1 s, scaling unlimited. Times are chosen exact in binary (0.25, 0.5, 1.25 ...) so that
the traces compare with ``==``.
"""

from __future__ import annotations

import pytest

import simulator as vs

from .conftest import BASE, rows, tiny

FN = BASE["functions"][0]
FULL_A = {"id": "a", "az": "az-a", "cidr": "10.0.1.0/28", "ips_in_use": 11}  # no free address
B = {"id": "b", "az": "az-b", "cidr": "10.0.2.0/28"}


def fn(**changes):
    return {**FN, **changes}


def once(at: float) -> dict:
    """One arrival at ``at``."""
    return {"process": "constant", "rate": 1, "start": at, "end": at + 0.5}


def with_function(result) -> list[tuple]:
    """The rows of ``rows()`` with the function's name in front."""
    return [(name, *r) for name, r in zip(result.invocations["function"], rows(result), strict=True)]


# ---------------------------------------------------------------------------------- admission: concurrency, warm starts


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


def test_warm_starts_take_the_most_recently_used_provisioned_environment_before_any_on_demand_one():
    """Mutations: Engine._arrive takes the least recently used provisioned environment (`idle_prov.pop(0)`); or it
    looks at the on-demand idle environments before the provisioned ones."""
    # 3008 MB (one environment per ENI), subnets a, b, c in three AZs, 2 provisioned environments. Before t=0,
    # balanced placement puts P1 in a (a tie: file order) and P2 in b (fewest ENIs); P2 was set up last.
    #  0     P2 (b), the most recently set up, runs 0 -> 1.
    #  0.25  P1 (a) runs 0.25 -> 1.25.
    #  0.5   both busy: an on-demand environment D on a new ENI in c (the AZ without one), ready at 2.5: 3 -> 4.
    #  2     P1 (idle since 1.25) is more recent than P2 (since 1): P1, in a, runs 2 -> 3.
    #  5     idle: P2 (since 1), P1 (since 3), D (since 4, until 7): a provisioned one first, the most recent: P1.
    sc = tiny(vpc={"subnets": [{"id": "a", "az": "az-a", "cidr": "10.0.1.0/28"}, B,
                               {"id": "c", "az": "az-c", "cidr": "10.0.3.0/28"}]},
              functions=[fn(memory_mb=3008, subnets=["a", "b", "c"], provisioned_concurrency=2, arrivals=[
                  {"process": "constant", "rate": 4, "end": 0.75}, once(2), once(5)])])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [
        (0.0, 0.0, 1.0, "success", False, 0.0, "b", "az-b", 1),
        (0.25, 0.25, 1.25, "success", False, 0.0, "a", "az-a", 1),
        (0.5, 3.0, 4.0, "success", True, 2.0, "c", "az-c", 1),
        (2.0, 2.0, 3.0, "success", False, 0.0, "a", "az-a", 1),
        (5.0, 5.0, 6.0, "success", False, 0.0, "a", "az-a", 1),
    ]
    f = res.summary["functions"]["f"]
    # Billed: the four provisioned runs 1 s each apart; D's init 0.5 s + run 1 s on demand (its ENI wait is not).
    assert (f["billed_ms_provisioned"], f["billed_ms"]) == (4000, 1500)


# -------------------------------------------------------------------------------------------- admission: scaling credit


def test_the_scaling_token_of_an_attempt_that_gets_no_eni_slot_is_given_back():
    """Mutation: `bucket.refund()` removed from Engine._create (or TokenBucket.refund made a no-op)."""
    # Burst bucket of 1 token refilled at 6 per minute (0.1 per second). Subnet a only, all 11 addresses held by
    # other resources. At 0 the arrival takes the token, finds no address (`subnet_ips`) and gives the token back.
    # At 0.5 another workload releases one address. At 1 the bucket holds min(1, 1 + 0.1) = 1 token: the arrival
    # takes it and creates an ENI (ready at 3, runs 3.5 -> 4.5). Without the refund it would hold 0.1: throttled.
    sc = tiny(region={"scaling": {"model": "burst", "burst": 1, "per_minute": 6}},
              vpc={"subnets": [FULL_A, B]},
              functions=[fn(subnets=["a"], arrivals=[once(0), once(1)])],
              events=[{"at": 0.5, "kind": "ips_released", "subnet": "a", "count": 1}])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [
        (0.0, None, None, "subnet_ips", False, 0.0, None, None, 1),
        (1.0, 3.5, 4.5, "success", True, 2.0, "a", "az-a", 1),
    ]
    assert res.summary["outcomes"]["throttled_scaling"] == 0


def test_per_function_scaling_gives_each_function_its_own_bucket_refilled_at_per_minute_over_60():
    """Mutations: Engine.__init__ gives every function one shared bucket for `per-function` (as for `burst`); or
    the per-function bucket refills at `per_minute` per second (`/ 60.0` dropped), or per hour (`/ 3600.0`)."""
    # Per function: a bucket of 1 token refilled at 60 per minute = 1 per second. Outside the VPC, no init, 10 s
    # executions (no environment is reused). f arrives every 0.5 s from 0, g every 0.5 s from 0.25:
    #   f: 0 takes its token (0 left); 0.5 finds 0.5: throttled; 1 finds 1.0: runs; 1.5 throttled; 2 runs.
    #   g: 0.25 takes its own token; 0.75 finds 0.5: throttled; 1.25 runs; 1.75 throttled; 2.25 runs.
    # One shared bucket would throttle g at 0.25 (f just emptied it). A refill of 60 per second would let every
    # arrival run; 1 per minute would throttle all but the first of each.
    sc = tiny(duration=2.5, region={"scaling": {"model": "per-function", "burst": 1, "per_minute": 60}},
              functions=[fn(subnets=[], init=0, duration=10, arrivals={"process": "constant", "rate": 2}),
                         fn(name="g", subnets=[], init=0, duration=10,
                            arrivals={"process": "constant", "rate": 2, "start": 0.25})])
    res = vs.simulate(sc, record_invocations=True)
    got = sorted((r[1], r[0], r[4]) for r in with_function(res))
    ok, thr = "success", "throttled_scaling"
    assert got == [(0.0, "f", ok), (0.25, "g", ok), (0.5, "f", thr), (0.75, "g", thr), (1.0, "f", ok),
                   (1.25, "g", ok), (1.5, "f", thr), (1.75, "g", thr), (2.0, "f", ok), (2.25, "g", ok)]
    for name in ("f", "g"):
        assert res.summary["functions"][name]["outcomes"]["throttled_scaling"] == 2


# ---------------------------------------------------------------------------- admission: ENI placement and idle release


def test_balanced_placement_breaks_a_tie_of_enis_by_the_most_free_addresses():
    """Mutations: the `-s.free` term removed from the balanced sort key in network._Base.order (file order decides),
    or made `s.free` (fewest free addresses first)."""
    # 3008 MB: one environment per ENI, each invocation a new ENI. Subnet a has 3 addresses held by others (8 free),
    # b has 11. Arrivals at 0, 0.5, 1 (each running while the next arrives):
    #  0    the function has no ENI in either AZ: tie -> the most free addresses: b (11 > 8).
    #  0.5  one ENI in az-b, none in az-a: fewest ENIs first -> a (even though b has more free addresses, 10 > 8).
    #  1    one ENI in each AZ: tie -> most free addresses: b (10 > 7).
    #  1.5  one in az-a, two in az-b -> a. Each waits 2 s for its ENI, then init 0.5 s, then runs 1 s.
    sc = tiny(vpc={"subnets": [{"id": "a", "az": "az-a", "cidr": "10.0.1.0/28", "ips_in_use": 3}, B]},
              functions=[fn(memory_mb=3008, arrivals={"process": "constant", "rate": 2, "end": 1.75})])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [
        (0.0, 2.5, 3.5, "success", True, 2.0, "b", "az-b", 1),
        (0.5, 3.0, 4.0, "success", True, 2.0, "a", "az-a", 1),
        (1.0, 3.5, 4.5, "success", True, 2.0, "b", "az-b", 1),
        (1.5, 4.0, 5.0, "success", True, 2.0, "a", "az-a", 1),
    ]


def test_an_eni_emptied_again_before_its_idle_timer_fires_is_deleted_idle_release_after_the_last_emptying():
    """Mutations: LegacyNetwork._on_idle deletes when its first timer fires (the `if self.loop.now < due:` re-arm
    removed); LegacyNetwork.release sets `empty_since` only when it arms a timer (the first emptying)."""
    # 3008 MB: one environment per ENI; keep-alive 1 s; subnet a only; arrivals at 0, 6 and 10.
    #  0    cold: ENI-1 created in a, ready at 2; init 0.5 -> runs 2.5 -> 3.5; idle, reclaimed at 4.5.
    #  4.5  ENI-1 empty: its idle-release timer is armed for 4.5 + 5 = 9.5.
    #  6    no idle environment: a new one on ENI-1's free slot, ENI already ready (wait 0): 6.5 -> 7.5; reclaimed
    #       at 8.5: ENI-1 empty again; its timer (9.5) is still pending, so none is armed.
    #  9.5  the timer fires: ENI-1 has been empty only since 8.5 -> re-armed for 13.5 (the rule under test).
    # 10    ENI-1 is still there: cold start without a wait, 10.5 -> 11.5; reclaimed at 12.5 (empty again).
    # 13.5  the timer fires: empty since 12.5 -> re-armed for 17.5.
    # 17.5  deleted; its address is free at 18.5 (delete 1 s).
    # Deleting at the first timer (9.5) would make the arrival at 10 create ENI-2 and wait 2 s for it.
    sc = tiny(duration=20, functions=[fn(memory_mb=3008, subnets=["a"], keep_alive=1,
                                         arrivals=[once(0), once(6), once(10)])])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [
        (0.0, 2.5, 3.5, "success", True, 2.0, "a", "az-a", 1),
        (6.0, 6.5, 7.5, "success", True, 0.0, "a", "az-a", 1),
        (10.0, 10.5, 11.5, "success", True, 0.0, "a", "az-a", 1),
    ]
    ts = res.timeseries
    # Steps are 1 s; ENI counts are the state at each step's end, addresses the most used during the step.
    assert ts["enis_ready"].tolist() == [0, 0] + [1] * 15 + [0] * 3
    assert ts["enis_deleting"].tolist() == [0] * 17 + [1] + [0] * 2
    assert ts["ips_used.a"].tolist() == [1] * 19 + [0]
    assert res.summary["peak_enis"] == 1


# -------------------------------------------------------------------------------------------------------------- retries


def test_async_retries_of_throttles_and_5xx_back_off_doubling_from_1s_up_to_5_minutes():
    """Mutation: ASYNC_BACKOFF_CAP_S = math.inf (or any other cap) in engine/model.py."""
    # An async event for a function whose only subnet has no free address: every attempt fails `subnet_ips` (a 5xx,
    # retried by Lambda's queue). Its n-th attempt is retried after min(300, 2^(n-1)) s: 1, 2, 4, ..., 256, then
    # 300 (not 512), 300: attempts at 0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 811, 1111. The next retry would come
    # at 1411, older than max_event_age 20 minutes (1200 s): dropped at 1111. Uncapped, the 10th attempt would wait
    # 512 s (1023) and the event be dropped there.
    sc = tiny(duration=1, vpc={"subnets": [FULL_A, B]},
              functions=[fn(subnets=["a"], invocation="async", max_event_age=1200, arrivals=once(0))])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [(t, None, None, "subnet_ips", False, 0.0, None, None, n) for n, t in enumerate(
        [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0, 127.0, 255.0, 511.0, 811.0, 1111.0], start=1)]
    s = res.summary
    assert (s["invocations"], s["attempts"], s["outcomes"]["dropped"]) == (1, 12, 1)
    assert s["first_outcome_s"] == {"dropped": 1111.0}


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


# ----------------------------------------------------------------------------------------------------------- hyperplane


@pytest.mark.parametrize("failover, f_row", [
    (True, (1.0, 1.5, 2.5, "success", True, 0.0, "b", "az-b", 1)),
    (False, (1.0, None, None, "subnet_ips", False, 0.0, None, None, 1)),
])
def test_hyperplane_subnet_failover_decides_whether_a_full_subnet_fails_the_attempt(failover, f_row):
    """Mutations: in HyperplaneNetwork.acquire, `if why == "subnet_ips" and not self.failover:` made `if False:`
    (always fails over) or `if why == "subnet_ips":` (never fails over)."""
    # Hyperplane, one connection per ENI. Subnet a has 1 free address, taken before t=0 by the ENI of (a, sg); b's
    # ENI takes one of b's 11. g (subnet a only) fills a's ENI at 0 for 100 s. f (subnets a, b; round-robin, so a
    # first) arrives at 1: a's ENI is full and a has no address for another ENI (`subnet_ips`). With failover f goes
    # on to b, whose ENI has room: no wait on hyperplane, cold start = init 0.5 s, runs 1.5 -> 2.5. Without failover
    # the attempt fails `subnet_ips` at once.
    sc = tiny(platform="hyperplane", duration=3,
              vpc={"placement": "round-robin", "subnet_failover": failover,
                   "hyperplane": {"connections_per_eni": 1},
                   "subnets": [{**FULL_A, "ips_in_use": 10}, B]},
              functions=[fn(name="g", subnets=["a"], duration=100, timeout=900, arrivals=once(0)),
                         fn(name="f", subnets=["a", "b"], arrivals=once(1))])
    res = vs.simulate(sc, record_invocations=True)
    assert with_function(res) == [("g", 0.0, 0.5, 100.5, "success", True, 0.0, "a", "az-a", 1), ("f", *f_row)]
    assert res.summary["functions"]["f"]["outcomes"]["subnet_ips"] == (0 if failover else 1)
    assert res.summary["subnets"]["a"]["min_free_ips"] == 0


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


@pytest.mark.parametrize("create, second", [
    (8.0, (1.0, 9.5, 10.5, "success", True, 8.0, "a", "az-a", 1)),
    (0.0, (1.0, 1.5, 2.5, "success", True, 0.0, "a", "az-a", 1)),
])
def test_a_hyperplane_eni_added_during_the_run_is_usable_create_seconds_later(create, second):
    """Mutations: in HyperplaneNetwork._add_eni, the later ENI made ready at once (``if True:``), or its ready time
    not handed to the environment (``combo.ready_at = -math.inf`` in acquire)."""
    # One connection per ENI, f in subnet a only. The ENI of (a, sg) exists before t=0: the arrival at 0 runs at
    # once (cold start = init 0.5 s). The arrival at 1 finds it full: Lambda adds a second ENI, ready `create`
    # seconds later; the environment waits for it (8 s: runs 9.5 -> 10.5), as a legacy environment waits for its
    # ENI's attach. With create 0 it runs at once. Meanwhile the time series counts the ENI as attaching.
    sc = tiny(platform="hyperplane", duration=12,
              vpc={"hyperplane": {"connections_per_eni": 1, "create": create}},
              functions=[fn(subnets=["a"], duration=1, arrivals={"process": "constant", "rate": 1, "end": 2})])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [(0.0, 0.5, 1.5, "success", True, 0.0, "a", "az-a", 1), second]
    ts = res.timeseries.set_index("t_s")
    if create:
        assert ts.loc[2.0, "enis_attaching"] == 1 and ts.loc[2.0, "enis_ready"] == 1
        assert ts.loc[10.0, "enis_attaching"] == 0 and ts.loc[10.0, "enis_ready"] == 2
    else:
        assert (ts["enis_attaching"] == 0).all()
    assert res.summary["subnets"]["a"]["min_free_ips"] == 11 - 2


# --------------------------------------------------------------------------------------------------------------- events


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


# ----------------------------------------------------------------------------------- what is measured: latency, warm-up


def test_latency_of_a_retried_invocation_runs_from_its_first_arrival():
    """Mutation: the recorder's `succeeded` appends `t - env.arr` (the last attempt's arrival) instead of
    `t - env.t0`."""
    # Async, reserved concurrency 1, outside the VPC, no init, 1.25 s per execution. The event at 0 runs 0 -> 1.25
    # (latency 1.25 s). The event at 0.5 is throttled (the one execution allowed is in flight) and retried 1 s later,
    # at 1.5, on the environment idle since 1.25: runs 1.5 -> 2.75. Its latency is 2.75 - 0.5 = 2.25 s, not the
    # 1.25 s of its last attempt. Percentiles of [1250, 2250] ms by linear interpolation: p50 1750.
    sc = tiny(functions=[fn(subnets=[], invocation="async", reserved_concurrency=1, init=0, duration=1.25,
                            arrivals={"process": "constant", "rate": 2, "end": 0.75})])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [
        (0.0, 0.0, 1.25, "success", True, 0.0, None, None, 1),
        (0.5, None, None, "throttled_reserved", False, 0.0, None, None, 1),
        (1.5, 1.5, 2.75, "success", False, 0.0, None, None, 2),
    ]
    s = res.summary
    assert (s["invocations"], s["attempts"], s["succeeded"]) == (2, 3, 2)
    assert s["latency_ms"]["max"] == 2250.0 and s["latency_ms"]["mean"] == 1750.0
    assert s["functions"]["f"]["latency_ms"]["max"] == 2250.0


def test_latency_of_an_invocation_the_sdk_retried_runs_from_its_first_arrival():
    # The same through the SDK's retries (sync, full-jitter backoff: the retry time is random, so it is read from
    # the table). The event at 0.5 is throttled; its retry at 0.5 + U(0, 1) s finds the environment idle since 1.25
    # or throttled again; its last attempt succeeds. Latency = end of its success - 0.5.
    sc = tiny(functions=[fn(subnets=[], reserved_concurrency=1, init=0, duration=1.25,
                            client_retry={"attempts": 4, "base": 1, "cap": 8},
                            arrivals={"process": "constant", "rate": 2, "end": 0.75})])
    res = vs.simulate(sc, record_invocations=True)
    inv = res.invocations
    second = inv[inv["arrival_s"] >= 0.5]
    assert second["outcome"].iloc[-1] == "success" and second["attempt"].iloc[-1] > 1
    assert res.summary["latency_ms"]["max"] == pytest.approx((second["end_s"].iloc[-1] - 0.5) * 1000)


def test_warmup_counts_an_invocation_by_its_first_arrival_not_by_its_retries():
    """Mutations: Engine._arrive counts an attempt by its own arrival (`counted = t >= self.warmup`); the recorder's
    `failed` counts a final outcome by when it was decided (`t >= self.warmup`)."""
    # Warm-up 2 s. f: async, reserved 1, outside the VPC, no init, 1.25 s per execution; events at 1, 1.5 and 3.
    #  1    runs 1 -> 2.25 (first arrival before the warm-up: not counted).
    #  1.5  throttled; retried at 2.5 (after the warm-up) on the idle environment, 2.5 -> 3.75: NOT counted.
    #  3    throttled (the retry of 1.5 is running); retried at 4, warm, 4 -> 5.25: counted, latency 2.25 s,
    #       2 attempts.
    # g: async, its only subnet (a) has no free address: every attempt fails `subnet_ips`; max_event_age 60 s.
    #  1    attempts at 1, 2, 4, 8, 16, 32; the next (64) would be 63 s old: dropped at 32 — not counted, though
    #       decided after the warm-up.
    #  3    attempts at 3, 4, 6, 10, 18, 34; dropped at 34: counted, 6 attempts.
    sc = tiny(duration=10, warmup=2, vpc={"subnets": [FULL_A, B]},
              functions=[fn(subnets=[], invocation="async", reserved_concurrency=1, init=0, duration=1.25,
                            arrivals=[{"process": "constant", "rate": 2, "start": 1, "end": 1.75}, once(3)]),
                         fn(name="g", subnets=["a"], invocation="async", max_event_age=60,
                            arrivals=[once(1), once(3)])])
    res = vs.simulate(sc, record_invocations=True)
    inv = res.invocations
    f_rows = [r[1:] for r in with_function(res) if r[0] == "f"]
    assert f_rows == [
        (1.0, 1.0, 2.25, "success", True, 0.0, None, None, 1),
        (1.5, None, None, "throttled_reserved", False, 0.0, None, None, 1),
        (2.5, 2.5, 3.75, "success", False, 0.0, None, None, 2),
        (3.0, None, None, "throttled_reserved", False, 0.0, None, None, 1),
        (4.0, 4.0, 5.25, "success", False, 0.0, None, None, 2),
    ]
    assert sorted(inv[inv["function"] == "g"]["arrival_s"]) == [1.0, 2.0, 3.0, 4.0, 4.0, 6.0, 8.0, 10.0, 16.0,
                                                                18.0, 32.0, 34.0]
    s = res.summary
    f, g = s["functions"]["f"], s["functions"]["g"]
    assert (f["invocations"], f["attempts"], f["succeeded"], f["throttled"], f["cold_starts"]) == (1, 2, 1, 0, 0)
    assert f["latency_ms"]["max"] == 2250.0 and f["latency_ms"]["mean"] == 2250.0
    assert (g["invocations"], g["attempts"], g["outcomes"]["dropped"]) == (1, 6, 1)
    assert g["first_outcome_s"] == {"dropped": 34.0}
    assert (s["invocations"], s["attempts"], s["first_failure_s"]) == (2, 8, 34.0)


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


# --------------------------------------------------------------------------------------------------- a mutation audit
# Rules that a systematic mutation audit (stop 18) found no test held: each test below fails with its mutation.


def test_round_robin_placement_takes_the_function_s_subnets_in_turn():
    """Mutation: the turn counter not advanced (`f.rr += 1` removed in network._Base.order): every ENI in subnet a.
    3008 MB: one environment per ENI; arrivals every 0.5 s while each runs 3.5 s, so each needs a new ENI."""
    sc = tiny(vpc={"placement": "round-robin"},
              functions=[fn(memory_mb=3008, arrivals={"process": "constant", "rate": 2, "end": 1.75})])
    res = vs.simulate(sc, record_invocations=True)
    assert res.invocations["subnet"].tolist() == ["a", "b", "a", "b"]


def test_random_placement_draws_an_order_of_the_subnets():
    """Mutation: the draw skipped (the subnets in file order): every ENI in subnet a. Eight new ENIs: the order is
    drawn for each from the function's placement stream, so both subnets are used (the same ones for the seed)."""
    sc = tiny(vpc={"placement": "random"},
              functions=[fn(memory_mb=3008, arrivals={"process": "constant", "rate": 4, "end": 1.9})])
    first = vs.simulate(sc, record_invocations=True).invocations["subnet"].tolist()
    assert len(first) == 8 and set(first) == {"a", "b"}
    assert vs.simulate(sc, record_invocations=True).invocations["subnet"].tolist() == first


def test_an_execution_as_long_as_the_timeout_succeeds():
    """SPEC §3.6: *longer* than the timeout fails. Mutation: `d >= f.timeout` in the engine's run step."""
    sc = tiny(functions=[fn(subnets=[], timeout=2, duration=2.0, init=0, arrivals={"process": "constant", "rate": 1,
                                                                                    "end": 0.5})])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [(0.0, 0.0, 2.0, "success", True, 0.0, None, None, 1)]
    assert res.summary["outcomes"].get("timeout", 0) == 0


def test_sdk_retries_wait_at_most_the_cap():
    """SPEC §3.7: full jitter, uniform(0, min(cap, base * 2^(attempt-1))). Mutation: the cap left out. With a base
    of 10 s and a cap of 0.25 s, every retry comes within 0.25 s of the throttle before it (without the cap: up to
    10, 20, 40 s)."""
    sc = tiny(duration=30, functions=[fn(subnets=[], reserved_concurrency=1, init=0, duration=5,
                                         client_retry={"attempts": 4, "base": 10, "cap": 0.25},
                                         arrivals={"process": "constant", "rate": 2, "end": 10})])
    inv = vs.simulate(sc, record_invocations=True).invocations
    retried = 0
    for _, attempts in inv.groupby("first_arrival_s"):
        times = attempts.sort_values("attempt")["arrival_s"].tolist()
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        retried += len(gaps)
        assert all(0 <= g <= 0.25 + 1e-12 for g in gaps), gaps
    assert retried >= 20


def test_an_async_invocation_lost_in_an_az_outage_goes_back_to_the_queue():
    """SPEC §3.7: async throttles and 5xx are retried; an execution lost with its AZ is a 5xx to the queue. Mutation:
    `az_outage` left out of the retryable causes: the invocation ends as az_outage. The invocation at 0 waits 2 s for
    its ENI and runs from 2.5; az-a goes down at 3 for 2 s; the retries come back until the AZ is up again."""
    sc = tiny(duration=20, events=[{"at": 3, "kind": "az_outage", "az": "az-a", "for": 2}],
              functions=[fn(subnets=["a"], invocation="async", duration=3,
                            arrivals={"process": "constant", "rate": 1, "end": 0.5})])
    res = vs.simulate(sc, record_invocations=True)
    # Lost at 3; the retry at 4 (1 s) finds the AZ down; the one at 6 (2 s) a new environment on the ENI it kept.
    assert rows(res) == [(0.0, 2.5, 3.0, "az_outage", True, 2.0, "a", "az-a", 1),
                         (4.0, None, None, "az_outage", False, 0.0, None, None, 2),
                         (6.0, 6.5, 9.5, "success", True, 0.0, "a", "az-a", 3)]
    assert res.summary["outcomes"] == {**{k: 0 for k in res.summary["outcomes"]}, "success": 1}


def test_provisioned_environments_take_no_scaling_credit():
    """SPEC §3.3: provisioned environments exist from t=0 and need no scaling credit. Mutation: they take a token
    each from the bucket. A burst of 1 (refilled at 1 a minute): the two provisioned environments serve the arrivals
    at 0 and 0.25; the one at 0.5 needs a new environment and gets the bucket's one token."""
    sc = tiny(region={"scaling": {"model": "burst", "burst": 1, "per_minute": 1}},
              functions=[fn(subnets=[], provisioned_concurrency=2, duration=5, init=0,
                            arrivals={"process": "constant", "rate": 4, "end": 0.6})])
    res = vs.simulate(sc, record_invocations=True)
    assert [(r[0], r[3], r[4]) for r in rows(res)] == [(0.0, "success", False), (0.25, "success", False),
                                                         (0.5, "success", True)]
    assert res.summary["outcomes"]["throttled_scaling"] == 0


def test_an_az_outage_loses_the_provisioned_environments_in_it():
    """SPEC §3.9: environments in the AZ are lost, provisioned ones too. Mutation: a provisioned environment not
    registered with its AZ, so the outage passes it by. One provisioned environment in az-a runs the invocation
    at 0 from 0 to 5; az-a goes down at 1."""
    sc = tiny(events=[{"at": 1, "kind": "az_outage", "az": "az-a", "for": 2}],
              functions=[fn(subnets=["a"], provisioned_concurrency=1, duration=5, init=0,
                            arrivals={"process": "constant", "rate": 1, "end": 0.5})])
    res = vs.simulate(sc, record_invocations=True)
    assert rows(res) == [(0.0, 0.0, 1.0, "az_outage", False, 0.0, "a", "az-a", 1)]
