"""End-to-end smoke: the README's quick start through the real entry point."""

from __future__ import annotations

import json

from simulator.cli.core import main

from .conftest import SCENARIOS


def test_quickstart_runs_and_prints_a_verdict(capsys):
    assert main(["run", str(SCENARIOS / "quickstart.yaml")]) == 0
    text = capsys.readouterr().out
    assert "quickstart" in text and "Both expectations hold." in text


# The summary's documented keys, written out rather than read from the code, so that a key removed or renamed by
# mistake fails here: SPEC §4 (../shared/SPEC.md) in its order, with what vpcsim adds — `first_outcome_s` (the first
# time of each outcome), `cost` (docs/answers.md), `warnings` (what a run could not do as the scenario says), per
# subnet `exhausted_for_s`, per function the peaks, the first outcomes and the billed duration.
SUMMARY_KEYS = [
    "scenario", "platform", "seed", "simulated_s", "invocations", "attempts", "succeeded", "throttled", "failed",
    "outcomes", "failure_rate", "throttle_rate", "error_rate", "cold_starts", "cold_start_rate", "latency_ms",
    "cold_start_ms", "mean_concurrency", "peak_concurrency", "mean_environments", "peak_environments", "peak_enis",
    "first_failure_s", "first_outcome_s", "subnets", "functions", "capacity", "cost", "expectations", "warnings",
    "wall_s",
]
OUTCOME_KEYS = ["success", "throttled_concurrency", "throttled_reserved", "throttled_scaling", "eni_limit",
                "subnet_ips", "ec2_throttled", "az_outage", "timeout", "dropped"]
PERCENTILE_KEYS = ["p50", "p95", "p99", "max", "mean"]
SUBNET_KEYS = ["az", "usable_ips", "peak_ips_used", "min_free_ips", "exhausted_s", "exhausted_for_s"]
FUNCTION_KEYS = [
    "invocations", "attempts", "succeeded", "throttled", "failed", "outcomes", "failure_rate", "throttle_rate",
    "error_rate", "cold_starts", "cold_start_rate", "latency_ms", "cold_start_ms", "peak_concurrency",
    "peak_environments", "peak_enis", "first_outcome_s", "billed_ms", "billed_ms_provisioned",
]
COST_KEYS = ["currency", "prices", "window_s", "requests_usd", "compute_usd", "provisioned_usd", "nat_usd", "total_usd",
             "per_million_usd", "monthly_usd", "nat_gateways", "egress_gb", "free_tier_monthly_usd", "functions"]
CAPACITY_KEYS = ["scenario", "peak_quantile", "functions", "subnets", "total", "lint"]


def test_quickstart_json_summary_has_every_documented_key(capsys):
    assert main(["run", str(SCENARIOS / "quickstart.yaml"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert list(summary) == SUMMARY_KEYS
    assert list(summary["outcomes"]) == OUTCOME_KEYS
    assert list(summary["latency_ms"]) == list(summary["cold_start_ms"]) == PERCENTILE_KEYS
    assert summary["subnets"] and all(list(s) == SUBNET_KEYS for s in summary["subnets"].values())
    assert summary["functions"] and all(list(f) == FUNCTION_KEYS for f in summary["functions"].values())
    for f in summary["functions"].values():
        assert list(f["outcomes"]) == OUTCOME_KEYS
        assert list(f["latency_ms"]) == list(f["cold_start_ms"]) == PERCENTILE_KEYS
    assert list(summary["cost"]) == COST_KEYS
    assert list(summary["capacity"]) == CAPACITY_KEYS
    assert summary["invocations"] == sum(summary["outcomes"].values())


def test_infinite_ceilings_are_written_as_null_not_as_invalid_json(tmp_path, capsys):
    # per_minute 0 and a peak above the burst: the scaling rate never reaches the peak (scaling_s = inf).
    path = tmp_path / "inf.yaml"
    path.write_text("version: 1\nname: inf\nduration: 20\nregion: {scaling: {model: burst, burst: 1, per_minute: 0}}\n"
                    "functions:\n  - {name: f, memory_mb: 128, duration: 1, arrivals: {process: poisson, rate: 50}}\n")
    assert main(["run", str(path), "--json", "--out", str(tmp_path / "out")]) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert printed["capacity"]["functions"]["f"]["ceilings"]["scaling_s"] is None
    assert written["capacity"]["total"]["scaling_s"] is None


def test_results_folder_is_as_readable_as_any_new_folder(tmp_path):
    import os
    import stat

    from simulator.present.folders import atomic_dir

    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "x.txt").write_text("x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~umask


def test_the_library_writers_refuse_to_replace_what_vpcsim_did_not_write(tmp_path):
    import pytest

    import simulator as vs
    from simulator.analysis.results_folder import write_run
    from simulator.present.folders import HTML_REPORT, OutputError, atomic_file

    res = vs.simulate(vs.load_scenario(SCENARIOS / "quickstart.yaml").with_changes({"duration": "3m"}))
    precious = tmp_path / "designs"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="vpcsim did not write"):
        write_run(res, precious)
    scenario_copy = tmp_path / "sc.yaml"
    scenario_copy.write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        write_run(res, scenario_copy)
    with pytest.raises(OutputError, match="not a regular file"), atomic_file("/dev/null", HTML_REPORT):
        pass
    assert (precious / "notes.txt").read_text() == "mine" and scenario_copy.read_text() == "x"
    write_run(res, tmp_path / "out")
    write_run(res, tmp_path / "out")  # a folder vpcsim wrote is replaced whole


def test_write_failures_become_one_line_naming_the_option_and_path(tmp_path, capsys):
    import errno

    import pytest
    import typer

    from simulator.cli.core import writing
    from simulator.present.folders import atomic_dir

    with pytest.raises(typer.Exit) as info, writing(tmp_path / "out"):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert info.value.exit_code == 2
    assert capsys.readouterr().err.strip() == f"vpcsim: error: --out {tmp_path / 'out'}: cannot write: No space left on device"
    taken = tmp_path / "a-file"
    taken.write_text("x")
    with pytest.raises(typer.Exit), writing(taken, "--junit"), atomic_dir(taken):
        pass
    assert capsys.readouterr().err.strip() == (f"vpcsim: error: --junit {taken}: exists and is not a folder; "
                                               "give a new folder for the results")
