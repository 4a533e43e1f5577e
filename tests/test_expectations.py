"""Expectations: the summary's shape known at load time, conditions with units, line-numbered errors, verdicts."""

from __future__ import annotations

import copy
import math
import textwrap

import pytest

import simulator as vs
from simulator.analysis.expectations import (
    ExpectationError,
    evaluate,
    explain,
    metric_kind,
    parse_condition,
    summary_shape,
)
from simulator.cli.core import main

from .conftest import tiny

MIXED = dict(functions=[
    {"name": "f", "memory_mb": 1024, "subnets": ["a", "b"], "timeout": 60, "duration": 1.0, "init": 0.5,
     "keep_alive": 3.0, "arrivals": {"process": "constant", "rate": 1}},
    {"name": "plain", "memory_mb": 256, "timeout": 60, "duration": 0.5, "init": 0.2,
     "arrivals": {"process": "constant", "rate": 2}},
])


def _leaves(node, prefix=""):
    for k, v in node.items():
        path = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            yield from _leaves(v, path)
        else:
            yield path, v


def test_static_shape_matches_a_real_summary():
    """Every value a run reports can be addressed, and every addressable path exists in a run (drift guard)."""
    sc = tiny(**MIXED, events=[{"at": 2, "kind": "ips_taken", "subnet": "a", "count": 11}])
    summary = vs.simulate(sc).summary
    reported = {p for p, _ in _leaves({k: v for k, v in summary.items()
                                       if k not in ("capacity", "expectations", "warnings")})}
    for path in reported:
        if path.startswith("functions.plain.peak_enis"):
            continue  # null for a function outside a VPC: rejected on purpose (tested below)
        metric_kind(sc, path)  # raises if the static shape lacks it
    static = {p for p, v in _leaves({k: v for k, v in summary_shape(sc).items() if k != "capacity"})}
    # First occurrences are reported only when they happen (the whole run's and each function's).
    missing = {p for p in static - reported if not p.startswith("first_outcome_s.") and ".first_outcome_s." not in p}
    assert not missing, f"the static shape has paths a run does not report: {sorted(missing)}"
    for path, value in _leaves(summary["capacity"]):
        if value is not None and not isinstance(value, list):
            metric_kind(sc, f"capacity.{path}")


@pytest.mark.parametrize("path, kind", [
    ("failure_rate", "rate"), ("latency_ms.p99", "ms"), ("subnets.a.min_free_ips", "count"),
    ("functions.f.throttle_rate", "rate"), ("capacity.functions.f.binding", "text"), ("outcomes.subnet_ips", "count"),
    ("first_failure_s", "first"), ("first_outcome_s.eni_limit", "first"), ("subnets.b.exhausted_s", "first"),
    ("functions.plain.cold_start_ms.p50", "ms"), ("capacity.functions.f.ceilings.scaling_s", "s"),
    ("platform", "text"), ("mean_concurrency", "number"),
])
def test_metric_kinds(path, kind):
    assert metric_kind(tiny(**MIXED), path) == kind


@pytest.mark.parametrize("path, message", [
    ("failure_rat", "did you mean 'failure_rate'?"),
    ("functions.g.failure_rate", "no function named 'g'"),
    ("subnets.c.min_free_ips", "no subnet named 'c'"),
    ("latency_ms", "is a group, not a value; pick one of: p50, p95, p99, max, mean"),
    ("failure_rate.p99", "failure_rate is a single value"),
    ("functions.plain.peak_enis", "not in a VPC"),
    ("capacity.lint", "a list"),
    ("capacity.functions.plain.enis_formula", "null"),
    ("expectations", "not a metric"),
    ("latency_ms..p99", "not a metric path"),
])
def test_unknown_paths_are_explained(path, message):
    with pytest.raises(ExpectationError, match=message.replace("(", r"\(").replace("?", r"\?")):
        metric_kind(tiny(**MIXED), path)


@pytest.mark.parametrize("path, written, op, threshold", [
    ("latency_ms.p99", "< 3s", "<", 3000.0),
    ("latency_ms.p99", "<250ms", "<", 250.0),
    ("latency_ms.p99", "< 1500", "<", 1500.0),  # a bare number is in the metric's unit (ms)
    ("first_failure_s", "> 10m", ">", 600.0),
    ("first_failure_s", "> 90", ">", 90.0),
    ("subnets.a.exhausted_s", "== never", "==", math.inf),
    ("failure_rate", "<= 0.1%", "<=", 0.001),
    ("failure_rate", "<= 1e-3", "<=", 0.001),
    ("failure_rate", 0, "==", 0.0),  # a bare YAML number means equality
    ("outcomes.subnet_ips", "!= 0", "!=", 0.0),
    ("capacity.functions.f.binding", "== subnet_ips", "==", "subnet_ips"),
])
def test_conditions_parse_with_units(path, written, op, threshold):
    sc = tiny(**MIXED)
    c = parse_condition(path, metric_kind(sc, path), written)
    assert (c.op, c.threshold) == (op, threshold)


@pytest.mark.parametrize("path, written, message", [
    ("failure_rate", "< 3s", "fraction of invocations"),
    ("peak_concurrency", "< 3s", "has no unit"),
    ("latency_ms.p99", "< three", "is in milliseconds"),
    ("failure_rate", "=< 0.1", "use == for equality"),
    ("failure_rate", "0.1", "for equality write '== 0.1'"),
    ("failure_rate", "<", "a number must follow"),
    ("platform", "< legacy", "only == and != apply"),
    ("failure_rate", "<= never", "fraction"),
    ("first_failure_s", "< never", "'never' works with == and != only"),
    ("failure_rate", True, "not a condition"),
    # Thresholds the metric can never reach: always true or never true, a slip rather than a check.
    ("failure_rate", "<= 10", "from 0 to 1 .* for 10 percent write '10%'"),
    ("failure_rate", "<= 150%", "outside it"),
    ("functions.f.throttle_rate", 2, "share of invocations"),
    ("failure_rate", "> -0.1", "outside it"),
    ("latency_ms.p99", "< -5", "never below 0"),
    ("outcomes.subnet_ips", "> -1", "never below 0"),
    ("first_failure_s", "> -10s", "never below 0"),
])
def test_malformed_conditions_are_errors(path, written, message):
    sc = tiny(**MIXED)
    with pytest.raises(ExpectationError, match=message):
        parse_condition(path, metric_kind(sc, path), written)


def test_load_time_errors_name_the_line(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(textwrap.dedent("""\
        version: 1
        name: s
        duration: 10
        vpc:
          subnets:
            - {id: a, az: az-a, cidr: 10.0.1.0/28}
        functions:
          - name: f
            memory_mb: 1024
            subnets: [a]
            duration: 1
            arrivals: {process: constant, rate: 1}
        expect:
          failure_rate: "<= 0.1%"
          latency_ms.p99:
            - "< 3s"
            - "=< 2"
          subnets.b.min_free_ips: ">= 1"
          capacity.functions.f.binding: "== subnet_ip"
          platform: "== legacy"
          peak_concurrency: []
        """))
    with pytest.raises(vs.ScenarioError) as info:
        vs.load_scenario(f)
    lines = [str(p) for p in info.value.problems]
    assert lines == [
        f"{f}:17: expect.latency_ms.p99[1]: not a condition: '=< 2'; write OP VALUE with OP one of "
        "< <= > >= == !=, e.g. '<= 0.001' (use == for equality)",
        f"{f}:18: expect.subnets.b.min_free_ips: no subnet named 'b' in this scenario; subnets: a",
        f"{f}:19: expect.capacity.functions.f.binding: capacity.functions.f.binding is one of concurrency, "
        "subnet_ips, eni_quota; did you mean 'subnet_ips'? (got 'subnet_ip')",
        f"{f}:21: expect.peak_concurrency: an empty list of conditions checks nothing",
    ]


def test_a_set_that_breaks_an_expectation_path_is_an_error():
    sc = tiny(expect={"functions.f.failure_rate": "== 0"})
    with pytest.raises(vs.ScenarioError, match="no function named 'f'"):
        sc.with_changes({"functions.f.name": "g"})


def test_verdicts_on_an_exact_run():
    # Constant arrivals, 1 per second for 10 s, 1 s each: 10 invocations, none fails, deterministic latency.
    sc = tiny(expect={
        "invocations": ["== 10", "> 10"],
        "failure_rate": "<= 0.1%",
        "first_failure_s": ["> 5s", "< 5s", "== never"],
        "latency_ms.max": "<= 3.5s",
        "subnets.a.exhausted_s": "> 1m",
    })
    summary = vs.simulate(sc).summary
    assert summary["invocations"] == 10 and summary["failed"] == 0
    rows = {(r["path"], r["condition"]): r for r in summary["expectations"]}
    assert [k for k, r in rows.items() if not r["passed"]] == [("invocations", "> 10"), ("first_failure_s", "< 5s")]
    assert rows[("invocations", "> 10")]["message"] == "invocations = 10, expected > 10"
    assert rows[("first_failure_s", "== never")]["message"] == "first_failure_s = never: == never holds"
    assert rows[("latency_ms.max", "<= 3.5s")]["value"] == summary["latency_ms"]["max"]
    assert all(r["checked_as"] == "value" and r["ci"] is None and r["n"] == 1 for r in rows.values())


def test_no_value_fails_with_a_reason():
    sc = tiny(expect={"latency_ms.p99": "< 1s", "failure_rate": "<= 0.5"})
    summary = copy.deepcopy(vs.simulate(sc).summary)
    summary["latency_ms"]["p99"] = None  # as when no invocation succeeded
    row = evaluate(sc, summary)[0]
    assert row["passed"] is False
    assert "no value" in row["message"] and "expected < 1s" in row["message"]


def test_explain_strict_and_mean_wording():
    row = {"path": "failure_rate", "condition": "<= 0.01", "value": 0.008, "checked": 0.012, "checked_as": "ci_high",
           "ci": [0.004, 0.012], "n": 5, "kind": "rate", "passed": False}
    assert explain(row) == ("failure_rate: upper end of the 95% interval 0.012 (1.2%) (mean 0.008 (0.8%), "
                            "5 replications), expected <= 0.01")


def test_run_exits_1_when_an_expectation_fails(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    data = tiny().to_dict()
    data["expect"] = {"invocations": "> 10"}
    import yaml

    f.write_text(yaml.safe_dump(data))
    assert main(["run", str(f)]) == 1
    text = capsys.readouterr().out
    assert "FAIL invocations = 10, expected > 10" in text
    assert main(["run", str(f), "--set", "expect.invocations=== 10"]) == 0
    assert main(["run", str(f), "--set", "expect.invocation=== 10"]) == 2
    assert "did you mean 'invocations'?" in capsys.readouterr().err
