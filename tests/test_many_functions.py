"""Many functions (issue 11, item 8): the cost of an invocation and the memory of a function must not grow with the
number of functions, and the closed forms run once per scenario, not once per result. The benchmark measures the
process (`python benchmarks/bench_functions.py`: 1 to 10,000 functions, the same 200,000 invocations); these tests pin
the mechanisms, with tolerances wide enough for a shared machine."""

from __future__ import annotations

import time
import tracemalloc

import simulator as vs
from simulator.analysis import capacity as capacity_module
from simulator.analysis.results import build_result
from simulator.engine import Engine, simulate_once

from .conftest import tiny


def _many(n: int, invocations: int = 4000, horizon: float = 20.0, alike: bool = True) -> vs.Scenario:
    """``n`` functions sharing ``invocations`` Poisson arrivals over ``horizon`` seconds, in a legacy VPC where no
    limit binds. ``alike``: one duration for all (the closed forms evaluate them once), else each its own."""
    rate = invocations / horizon / n
    return tiny(duration=horizon, region={"concurrency_limit": 100_000, "eni_quota": 100_000,
                                          "scaling": {"model": "unlimited"},
                                          "ec2_api": {"bucket": 100_000, "refill_per_s": 100_000}},
                vpc={"subnets": [{"id": "a", "az": "us-east-1a", "cidr": "10.0.0.0/16"},
                                 {"id": "b", "az": "us-east-1b", "cidr": "10.1.0.0/16"}]},
                functions=[{"name": f"f{i}", "memory_mb": 128, "timeout": 60, "subnets": ["a", "b"],
                            "keep_alive": 3600,
                            "duration": {"dist": "exponential", "mean": 0.2 if alike else 0.15 + i * 1e-5},
                            "arrivals": [{"process": "poisson", "rate": rate}]} for i in range(n)])


def test_functions_ending_do_not_each_close_a_window():
    # Each process's last block used to bound the window: 2,000 processes ending one after the other closed 2,000
    # windows, each visiting all 2,000 processes (quadratic). Their last blocks now bound nothing.
    src = Engine(_many(2000), 1).arrivals
    windows = 0
    while src.refill():
        windows += 1
    assert windows <= 10


def test_a_window_visits_only_the_processes_with_an_arrival_in_it(monkeypatch):
    import numpy as np

    from simulator.engine import merge

    cuts = []
    real = np.searchsorted
    monkeypatch.setattr(merge.np, "searchsorted", lambda a, v, side="left": cuts.append(1) or real(a, v, side))
    src = Engine(_many(2000, invocations=2000), 1).arrivals
    arrivals = 0
    while src.refill():
        arrivals += len(src.times)
    assert len(cuts) <= arrivals  # at most one cut per arrival, not one per process per window


def _cpu(fn) -> float:
    """The least CPU time of three calls of ``fn`` (a shared machine slows one call now and then)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def test_run_and_result_cost_is_linear_in_functions():
    # The same 4,000 invocations split over 300 and over 1,200 functions: four times the functions may cost up to
    # four times as much (each function has a fixed cost: its streams, its cold start, its figures), a quadratic
    # cost (a summary re-reading every function's buffer per function, a window visiting every function) sixteen
    # times. Measured as the least of three calls, allowed seven times.
    costs = {}
    for n in (300, 1200):
        sc = _many(n)
        vs.capacity(sc)  # the closed forms once per scenario (the test below counts them)
        engine = simulate_once(sc, 1)
        costs[n] = (_cpu(lambda sc=sc: simulate_once(sc, 1)), _cpu(lambda engine=engine: build_result(engine)))
    (run_small, result_small), (run_big, result_big) = costs[300], costs[1200]
    assert run_big <= 7 * run_small, costs
    assert result_big <= 7 * result_small, costs


def test_memory_per_function_is_small():
    # What a finished engine holds for each function (its state, streams, recorder rows and histograms): measured
    # as the difference between 1,000 and 100 functions carrying the same invocations. Was about 44 KB (two dense
    # latency rows of 2,778 buckets); now about 9 KB.
    held = {}
    for n in (100, 1000):
        sc = _many(n)
        tracemalloc.start()
        try:
            engine = simulate_once(sc, 1)
            held[n] = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        del engine
    per_function = (held[1000] - held[100]) / 900
    assert per_function < 16_000, f"{per_function:,.0f} bytes per function"


def test_capacity_and_the_timeout_lint_run_once_per_scenario(monkeypatch):
    # Every result puts capacity() in its summary; replications and repeated runs of one scenario must reuse it.
    calls = {"capacity": 0, "timeout": 0}
    real_capacity, real_share = capacity_module._capacity, capacity_module._timeout_share

    def counting_capacity(scenario):
        calls["capacity"] += 1
        return real_capacity(scenario)

    def counting_share(fn, cache=None):
        calls["timeout"] += 1
        return real_share(fn, cache)

    monkeypatch.setattr(capacity_module, "_capacity", counting_capacity)
    monkeypatch.setattr(capacity_module, "_timeout_share", counting_share)
    sc = _many(3, invocations=300, alike=False)
    first = vs.simulate(sc, seed=1)
    vs.simulate(sc, seed=2)
    vs.run_replications(sc, 3, workers=1)
    vs.capacity(sc)
    assert calls == {"capacity": 1, "timeout": 3}  # one evaluation; the lint's sampling once per function
    assert first.summary["capacity"] == vs.capacity(sc)
    # Handed out as copies: a caller's change does not reach the next result.
    first.summary["capacity"]["functions"]["f0"]["peak_in_service"] = -1
    assert vs.simulate(sc, seed=1).summary["capacity"]["functions"]["f0"]["peak_in_service"] >= 0
    # A changed scenario is another scenario: its figures are its own.
    vs.simulate(sc.with_changes({"functions.f0.memory_mb": 256}), seed=1)
    assert calls["capacity"] == 2


def _churn(hours: float, platform: str) -> vs.Scenario:
    """Bursts every 5 minutes that outlast nothing: keep-alive 1 minute, so every burst creates environments and the
    pause reclaims them; a /28 subnet that runs out (ENI failures), an AZ outage, async retries, timeouts."""
    schedule = []
    for k in range(int(hours * 12)):
        schedule += [[k * 300, 0], [k * 300 + 10, 200], [k * 300 + 70, 0]]
    return tiny(duration=hours * 3600, platform=platform, warmup=0,
                region={"concurrency_limit": 10_000, "scaling": {"model": "unlimited"}, "eni_quota": 5000},
                vpc={"subnets": [{"id": "a", "az": "us-east-1a", "cidr": "10.0.0.0/28"},
                                 {"id": "b", "az": "us-east-1b", "cidr": "10.0.16.0/22"}]},
                events=[{"kind": "az_outage", "az": "us-east-1b", "at": 600, "for": "5m"}],
                functions=[{"name": kind, "memory_mb": 512, "subnets": ["a", "b"], "timeout": 2, "keep_alive": 60,
                            "invocation": kind, "duration": {"dist": "exponential", "mean": 0.4},
                            "arrivals": {"process": "poisson", "interpolate": "step", "schedule": schedule}}
                           for kind in ("sync", "async")])


def test_a_run_makes_no_cyclic_garbage_that_grows_with_it():
    # The engine pauses Python's cycle collector during a run (its full passes over a heap of thousands of
    # functions cost a fifth of the run); that is only safe while a run makes no reference cycles per invocation,
    # environment or ENI: what the collector finds after a run must not grow with the run's length.
    import gc

    for platform in ("legacy", "hyperplane"):
        found = []
        for hours in (1, 3):
            sc = _churn(hours, platform)
            gc.collect()
            gc.disable()  # as it is during the run, until everything the run made is counted
            try:
                engine = simulate_once(sc, 1)
                summary = build_result(engine).summary
                outcomes = summary["outcomes"]
                assert summary["cold_starts"] > 20 * hours and outcomes["timeout"] > 0 and (
                    outcomes["subnet_ips"] > 0 or platform == "hyperplane") and summary["attempts"] > summary[
                    "invocations"], outcomes
                del engine, summary, outcomes
                found.append(gc.collect())
            finally:
                gc.enable()
        # The engine's own structure (its loop holds its bound methods, ...) is a few hundred objects whatever the
        # length; a cycle per environment would add thousands (about 5,000 cold starts an hour here).
        assert found[1] <= found[0] + 10, (platform, found)


def test_the_cycle_collector_is_left_as_it_was():
    import gc

    sc = tiny()
    assert gc.isenabled()
    simulate_once(sc, 1)
    assert gc.isenabled()
    gc.disable()
    try:
        simulate_once(sc, 1)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_cycle_collector_is_paused_while_an_engine_is_built_between_building_and_running_and_while_it_runs(
        monkeypatch):
    # Building the engine of 10,000 functions makes hundreds of thousands of objects: with the collector on, its
    # full passes took two thirds of the building time (docs/model.md). Three pauses: Engine() while it builds,
    # simulate_once from building to the end of the run (re-enabled in between, it would traverse everything just
    # built), and Engine.run. Each is observed where it must hold.
    import gc

    from simulator.engine import model

    seen: dict[str, list[bool]] = {"building": [], "between": [], "running": []}
    build, run, setup = model.Engine._build, model.Engine.run, model.Engine._setup

    def watched_build(self, *args):
        seen["building"].append(gc.isenabled())
        return build(self, *args)

    def watched_run(self, *args):
        seen["between"].append(gc.isenabled())
        return run(self, *args)

    def watched_setup(self):
        seen["running"].append(gc.isenabled())
        return setup(self)

    monkeypatch.setattr(model.Engine, "_build", watched_build)
    monkeypatch.setattr(model.Engine, "run", watched_run)
    monkeypatch.setattr(model.Engine, "_setup", watched_setup)
    sc = _many(50, invocations=500)
    assert gc.isenabled()
    simulate_once(sc, 1)  # builds, then runs
    engine = Engine(sc, 1)  # built alone, then run alone
    assert gc.isenabled()
    engine.run()
    assert gc.isenabled()  # and on again after each
    assert seen == {"building": [False, False], "between": [False, True], "running": [False, False]}, seen
