"""Replications: Student-t intervals, aggregation of summaries, determinism across worker counts, --strict."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

import simulator as vs
from simulator.analysis.sweep import aggregate, mean_ci, run_replications, t_quantile
from simulator.cli.core import main

from .conftest import tiny

DATA = Path(__file__).parent / "data" / "check"

# Poisson arrivals and exponential durations: replications really differ, so equality across workers means something.
NOISY = dict(duration=60, functions=[
    {"name": "f", "memory_mb": 1024, "subnets": ["a", "b"], "timeout": 60,
     "duration": {"dist": "exponential", "mean": 2.0}, "init": 0.5, "keep_alive": 3.0,
     "arrivals": {"process": "poisson", "rate": 8}},
])


def _without_wall(summary):
    s = dict(summary)
    s.pop("wall_s")
    return s


def test_t_quantile_textbook_values():
    assert round(t_quantile(0.95, 4), 3) == 2.776
    assert round(t_quantile(0.95, 1), 3) == 12.706
    assert round(t_quantile(0.95, 9999), 2) == 1.96


def test_mean_ci_by_hand():
    m = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert m["mean"] == 3.0 and m["n"] == 5
    assert m["ci_low"] == pytest.approx(3.0 - half) and m["ci_high"] == pytest.approx(3.0 + half)
    same = mean_ci([7, 7, 7])
    assert same == {"mean": 7, "ci_low": 7, "ci_high": 7, "sd": 0.0, "n": 3} and isinstance(same["mean"], int)
    assert mean_ci([4.0])["ci_low"] is None
    assert mean_ci([])["mean"] is None


def test_identical_whatever_the_number_of_workers():
    sc = tiny(**NOISY, expect={"latency_ms.p99": "< 60s"})
    one = run_replications(sc, 4, workers=1)
    two = run_replications(sc, 4, workers=2)
    assert _without_wall(one.summary) == _without_wall(two.summary)
    assert [_without_wall(s) for s in one.extra["summaries"]] == [_without_wall(s) for s in two.extra["summaries"]]
    assert one.timeseries.equals(two.timeseries)
    # ... and the replications are genuinely different runs.
    invocations = [s["invocations"] for s in one.extra["summaries"]]
    assert len(set(invocations)) > 1


def test_replication_0_is_the_single_run():
    sc = tiny(**NOISY)
    rep = run_replications(sc, 3)
    assert _without_wall(rep.extra["summaries"][0]) == _without_wall(vs.simulate(sc).summary)
    assert rep.timeseries.equals(vs.simulate(sc).timeseries)
    single = run_replications(sc, 1)
    assert "replications" not in single.summary


def test_aggregate_means_intervals_and_shape():
    sc = tiny(**NOISY)
    res = run_replications(sc, 5)
    s, runs = res.summary, res.extra["summaries"]
    assert list(s)[:-1] == list(runs[0]) and list(s)[-1] == "replications"
    reps = s["replications"]
    assert reps["n"] == 5 and reps["confidence"] == 0.95 and len(reps["runs"]) == 5
    inv = [r["invocations"] for r in runs]
    assert s["invocations"] == pytest.approx(sum(inv) / 5)
    m = reps["metrics"]["latency_ms.p99"]
    values = [r["latency_ms"]["p99"] for r in runs]
    assert m["mean"] == pytest.approx(sum(values) / 5)
    assert m["ci_low"] < m["mean"] < m["ci_high"]
    assert m["ci_high"] - m["mean"] == pytest.approx(t_quantile(0.95, 4) * m["sd"] / math.sqrt(5))
    assert s["subnets"]["a"]["az"] == "az-a" and s["capacity"] == runs[0]["capacity"]
    assert reps["runs"][2]["invocations"] == inv[2]


def test_first_time_metrics_are_censored_at_the_end_of_the_run():
    sc = tiny(**NOISY)
    runs = copy.deepcopy(run_replications(sc, 3).extra["summaries"])
    for s, t in zip(runs, (10.0, None, 20.0), strict=True):
        s["first_failure_s"] = t
    for s in runs:
        s["subnets"]["b"]["exhausted_s"] = None
    agg = aggregate(sc, runs)
    assert agg["first_failure_s"] == pytest.approx((10 + 60 + 20) / 3)
    assert agg["replications"]["metrics"]["first_failure_s"]["n_null"] == 1
    assert agg["subnets"]["b"]["exhausted_s"] is None  # never, in any replication


def test_strict_checks_the_unfavourable_end():
    sc = tiny(**NOISY)
    runs = run_replications(sc, 5).extra["summaries"]
    m = aggregate(sc, runs)["replications"]["metrics"]["latency_ms.p99"]
    below = (m["mean"] + m["ci_high"]) / 2  # above the mean, below the high end
    above = (m["mean"] + m["ci_low"]) / 2
    sc2 = sc.with_changes({"expect.latency_ms.p99": [f"< {below}", f"> {above}"]})
    lenient = aggregate(sc2, runs)["expectations"]
    strict = aggregate(sc2, runs, strict=True)["expectations"]
    assert [r["passed"] for r in lenient] == [True, True]
    assert [r["passed"] for r in strict] == [False, False]
    assert [r["checked_as"] for r in strict] == ["ci_high", "ci_low"]
    assert strict[0]["checked"] == m["ci_high"] and strict[1]["checked"] == m["ci_low"]
    assert "upper end of the 95% interval" in strict[0]["message"]


def test_cli_replications_json_and_strict(capsys):
    path = str(DATA / "ok" / "nested" / "worker-fits.yaml")  # replications: 3 in the file
    assert main(["run", path, "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["replications"]["n"] == 3
    assert main(["run", path, "--json", "--replications", "2", "--workers", "2"]) == 0
    s2 = json.loads(capsys.readouterr().out)
    assert s2["replications"]["n"] == 2
    assert s2["replications"]["runs"] == s["replications"]["runs"][:2]
    # peak_concurrency > 1 holds on the mean, but 2 replications give a wide interval: pick a bound inside it.
    m = s2["replications"]["metrics"]["peak_concurrency"]
    assert m["ci_low"] < m["mean"]
    bound = (m["ci_low"] + m["mean"]) / 2
    args = ["run", path, "--replications", "2", "--set", f"expect.peak_concurrency=> {bound}"]
    assert main(args) == 0
    assert main([*args, "--strict"]) == 1
    text = capsys.readouterr().out
    assert "lower end of the 95% interval" in text and "Across 2 replications" in text


def test_cli_rejects_bad_counts(capsys):
    path = str(DATA / "ok" / "api-fits.yaml")
    assert main(["run", path, "--replications", "0"]) == 2
    assert main(["run", path, "--workers", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--replications" in err and "Traceback" not in err


def test_intervals_of_quantities_that_cannot_be_negative_stop_at_zero():
    m = mean_ci([0.0, 0.0, 0.0, 0.0004])
    assert m["ci_low"] == 0.0 and m["ci_high"] > m["mean"] > 0
    assert mean_ci([-1.0, 1.0, 2.0])["ci_low"] < 0  # a quantity that can be negative keeps its interval
