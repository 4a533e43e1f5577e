"""Cost in every result (issue 10, item 3), checked against bills worked out by hand to the cent.

By hand (AWS facts §9, US East, first tier): 128 invocations per second, evenly spaced, each running exactly 1 s at
1024 MB (1 GB) with no init, for one hour: 460,800 executions of 1,000 ms each = 460,800 GB-s; 0.4608 million
requests x $0.20 = $0.09216.
- x86_64 on demand: 460,800 x $0.0000166667 = $7.68001536; total $7.77217536 → $7.77.
- arm64 on demand: 460,800 x $0.0000133334 = $6.14403072; total $6.23619072 → $6.24.
- x86_64 on 128 provisioned environments (every execution finds one: an arrival at k/128 s comes exactly when the
  execution started 1 s before ends): duration 460,800 x $0.0000097222 = $4.47998976, kept warm 128 x 1 GB x 3,600 s
  x $0.0000041667 = $1.92001536; total $6.49216512 → $6.49.
- arm64 on 128 provisioned environments: 460,800 x $0.0000077778 = $3.58401024 + 128 x 3,600 x $0.0000033334 =
  $1.53603072; total $5.21220096 → $5.21.
(128 per second makes every arrival time k/128 exact in binary, so no end and arrival miss each other by a rounding.)
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import simulator as vs
from simulator.analysis.cost import cost, executions_started
from simulator.analysis.expectations import ExpectationError, format_usd, metric_kind, parse_condition
from simulator.analysis.prices import TABLE
from simulator.analysis.sweep import run_replications

HOUR: dict[str, Any] = {
    "version": 1, "name": "bill", "duration": "1h",
    "region": {"scaling": {"model": "unlimited"}},
    "functions": [{"name": "f", "memory_mb": 1024, "timeout": 60, "duration": 1.0, "init": 0,
                   "keep_alive": "1h", "arrivals": {"process": "constant", "rate": 128}}],
}


def bill(**fn: Any) -> dict[str, Any]:
    data = {**HOUR, "functions": [{**HOUR["functions"][0], **fn}]}
    return vs.simulate(vs.scenario_from_dict(data)).summary


@pytest.mark.parametrize(("fn", "compute", "provisioned", "total"), [
    ({}, 7.68001536, 0.0, 7.77),
    ({"architecture": "arm64"}, 6.14403072, 0.0, 6.24),
    ({"provisioned_concurrency": 128}, 4.47998976, 1.92001536, 6.49),
    ({"architecture": "arm64", "provisioned_concurrency": 128}, 3.58401024, 1.53603072, 5.21),
])
def test_an_hour_of_constant_load_costs_what_it_costs_by_hand(fn, compute, provisioned, total):
    s = bill(**fn)
    c = s["cost"]
    f = s["functions"]["f"]
    assert s["invocations"] == f["succeeded"] == 460_800
    billed = f["billed_ms_provisioned"] if fn.get("provisioned_concurrency") else f["billed_ms"]
    assert billed == 460_800 * 1000  # each execution 1,000 ms; none on the other kind of environment
    assert c["functions"]["f"] == {"requests": 460_800, "gb_s": pytest.approx(460_800.0), "usd": pytest.approx(
        c["total_usd"])}
    assert c["requests_usd"] == pytest.approx(0.09216)
    assert c["compute_usd"] == pytest.approx(compute, rel=1e-12)
    assert c["provisioned_usd"] == pytest.approx(provisioned, rel=1e-12)
    assert c["nat_usd"] == 0.0 and c["nat_gateways"] == 0
    assert round(c["total_usd"], 2) == total  # to the cent
    assert c["per_million_usd"] == pytest.approx(c["total_usd"] / 0.4608)
    assert c["monthly_usd"] == pytest.approx(c["total_usd"] * 720)  # 30 days of this hour
    assert c["currency"] == "USD" and "aws.amazon.com/lambda/pricing" in c["prices"] and "2026" in c["prices"]


def test_nat_gateway_hours_and_the_bytes_it_processes():
    # The same load in a VPC whose two subnets (two AZs) route through NAT, 1 MiB per execution: 460,800 MiB = 450 GB
    # (1 GB = 1024 MB, as Lambda's memory) x $0.045 = $20.25, plus 2 gateways x 1 h x $0.045 = $0.09.
    data = {**HOUR, "vpc": {"eni_attach": 0, "subnets": [
        {"id": "a", "az": "az-a", "cidr": "10.0.1.0/24", "route": "nat"},
        {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24", "route": "nat"}]},
        "functions": [{**HOUR["functions"][0], "subnets": ["a", "b"], "egress_bytes": "1MiB"}]}
    s = vs.simulate(vs.scenario_from_dict(data)).summary
    c = s["cost"]
    assert s["failed"] == 0
    assert c["nat_gateways"] == 2 and c["egress_gb"] == pytest.approx(450.0)
    assert c["nat_usd"] == pytest.approx(20.25 + 0.09)
    assert round(c["total_usd"], 2) == round(7.77217536 + 20.34, 2)
    # Half the subnets through NAT: half the bytes through it, one gateway.
    data["vpc"]["subnets"][1]["route"] = "igw"
    c = vs.simulate(vs.scenario_from_dict(data)).summary["cost"]
    assert c["nat_gateways"] == 1 and c["egress_gb"] == pytest.approx(225.0)
    assert c["nat_usd"] == pytest.approx(225 * 0.045 + 0.045)


def test_only_the_measured_window_is_billed():
    # Warm-up: the first 30 minutes are simulated, not counted — neither billed nor kept warm.
    s = vs.simulate(vs.scenario_from_dict({**HOUR, "warmup": "30m", "functions": [
        {**HOUR["functions"][0], "provisioned_concurrency": 128}]})).summary
    c = s["cost"]
    assert c["window_s"] == 1800 and c["functions"]["f"]["requests"] == 230_400
    assert c["provisioned_usd"] == pytest.approx(1.92001536 / 2)
    assert c["monthly_usd"] == pytest.approx(c["total_usd"] * 1440)


def test_pricing_overrides_replace_the_tables_figures_and_say_so():
    data = {**HOUR, "pricing": {"source": "EDP 2026", "requests_per_million_usd": 0.1,
                                "x86_64": {"duration_gb_s_usd": 0.00001}}}
    c = vs.simulate(vs.scenario_from_dict(data)).summary["cost"]
    assert c["requests_usd"] == pytest.approx(0.04608)
    assert c["compute_usd"] == pytest.approx(4.608)
    assert c["prices"].startswith("EDP 2026, over AWS Lambda")
    # arm64 keeps the table's price when only x86_64 is overridden.
    data["functions"] = [{**HOUR["functions"][0], "architecture": "arm64"}]
    c = vs.simulate(vs.scenario_from_dict(data)).summary["cost"]
    assert c["compute_usd"] == pytest.approx(460_800 * TABLE.architectures["arm64"].duration_gb_s_usd)


@pytest.mark.parametrize(("pricing", "message"), [
    ({"nat_gb_usd": -1}, "pricing.nat_gb_usd: must be >= 0.0 (got -1)"),
    ({"x86_64": {"duration_gb_s_usd": 2}}, "pricing.x86_64.duration_gb_s_usd: must be <= 1.0 (got 2)"),
    ({"arm": {}}, "pricing.arm: unknown key 'arm'; did you mean 'arm64'?"),
])
def test_bad_pricing_is_one_line_with_the_path(pricing, message):
    with pytest.raises(vs.ScenarioError) as info:
        vs.scenario_from_dict({**HOUR, "pricing": pricing})
    assert message in str(info.value) and len(info.value.problems) == 1


@pytest.mark.parametrize(("egress", "mean"), [
    ("200KB", 200_000), ("1.5MB", 1_500_000), ("2KiB", 2048), (512, 512),
    ({"dist": "uniform", "low": "1MB", "high": "3MB"}, 2_000_000),
    ({"dist": "empirical", "percentiles": {0: 0, 50: "1MB", 100: "2MB"}}, 1_000_000),
])
def test_egress_bytes_take_sizes_and_distributions_of_sizes(egress, mean):
    sc = vs.scenario_from_dict({**HOUR, "functions": [{**HOUR["functions"][0], "egress_bytes": egress}]})
    assert sc.functions[0].egress_bytes.mean * 2**30 == pytest.approx(mean)  # held in GiB
    # The resolved scenario (numbers of bytes) loads back to the same.
    assert vs.scenario_from_dict(sc.to_dict()).functions[0].egress_bytes == sc.functions[0].egress_bytes


@pytest.mark.parametrize(("egress", "message"), [
    ("20ms", "not a size in bytes: '20ms'"),
    ("-1KB", "must be >= 0 (got '-1KB')"),
    ("1TB", "the mean must be between 0 and 100 GB per invocation (got 1 TB)"),
    ({"dist": "lognormal", "median": "1KB"}, "the {median, p99} form needs both median and p99"),
])
def test_bad_egress_is_one_line_with_the_path(egress, message):
    with pytest.raises(vs.ScenarioError) as info:
        vs.scenario_from_dict({**HOUR, "functions": [{**HOUR["functions"][0], "egress_bytes": egress}]})
    assert "functions[0].egress_bytes" in str(info.value) and message in str(info.value)


def test_a_yaml_file_names_the_line_of_a_bad_architecture(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("version: 1\nname: x\nduration: 1m\nfunctions:\n  - name: f\n    memory_mb: 128\n"
                    "    duration: 1s\n    architecture: arm\n    arrivals: {process: poisson, rate: 1}\n")
    with pytest.raises(vs.ScenarioError) as info:
        vs.load_scenario(path)
    assert str(info.value) == f"{path}:8: functions[0].architecture: must be 'x86_64' or 'arm64' (got 'arm')"


def test_requests_are_the_executions_that_started():
    # Exact from the cold-start rate when there was a cold start; the ended executions otherwise.
    assert executions_started({"cold_starts": 3, "cold_start_rate": 3 / 193_105}) == 193_105
    assert executions_started({"cold_starts": 0, "cold_start_rate": 0.0, "succeeded": 10,
                               "outcomes": {"timeout": 2, "az_outage": 1}}) == 13
    assert executions_started({"cold_starts": 0, "cold_start_rate": None}) == 0
    # A throttled invocation starts no execution and is not billed.
    s = bill(reserved_concurrency=64)
    assert s["throttled"] > 0
    assert s["cost"]["functions"]["f"]["requests"] == s["succeeded"]


def test_replications_average_the_cost_and_expectations_check_it():
    sc = vs.load_scenario(vs.__file__.replace("simulator/__init__.py", "scenarios/quickstart.yaml"))
    sc = sc.with_changes({"duration": "4m", "warmup": "2m", "expect.cost.total_usd": "< $10",
                          "expect.cost.monthly_usd": ">= 1"})
    res = run_replications(sc, 3)
    totals = [s["cost"]["total_usd"] for s in res.extra["summaries"]]
    assert len(set(totals)) > 1  # the replications differ...
    assert res.summary["cost"]["total_usd"] == pytest.approx(math.fsum(totals) / 3)  # ...and the mean is reported
    assert res.summary["cost"]["prices"] == res.extra["summaries"][0]["cost"]["prices"]  # text kept as it is
    assert res.summary["replications"]["metrics"]["cost.total_usd"]["n"] == 3
    rows = {r["path"]: r for r in res.summary["expectations"]}
    assert rows["cost.total_usd"]["passed"] and rows["cost.total_usd"]["checked_as"] == "mean"
    assert rows["cost.total_usd"]["message"].startswith("cost.total_usd: mean $")


def test_dollar_conditions_parse_and_a_duration_does_not():
    sc = vs.scenario_from_dict(HOUR)
    kind = metric_kind(sc, "cost.functions.f.usd")
    assert parse_condition("cost.functions.f.usd", kind, "< $12.50").threshold == 12.5
    assert parse_condition("cost.total_usd", kind, "<= 7").threshold == 7.0
    with pytest.raises(ExpectationError, match="is in US dollars"):
        parse_condition("cost.total_usd", kind, "< 3s")


def test_dollars_are_written_for_people():
    assert [format_usd(v) for v in (0, 0.000013, 0.0042, 0.05, 12.345, 2608.68)] == [
        "$0", "$0.000013", "$0.0042", "$0.05", "$12.35", "$2,609"]


def test_cost_needs_only_the_summary_and_the_scenario():
    # A results folder written before summaries had a cost gets one when it is read back.
    sc = vs.scenario_from_dict(HOUR)
    s = vs.simulate(sc).summary
    assert cost(sc, s) == s["cost"]


def test_run_prints_a_cost_line(capsys):
    from simulator.cli.core import main

    from .conftest import SCENARIOS

    assert main(["run", str(SCENARIOS / "quickstart.yaml"), "--set", "duration=4m"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Cost: "))
    assert "for the 2m measured" in line and "per 30 days" in line and "per million requests" in line
    assert "free tier (per account, not subtracted)" in line
