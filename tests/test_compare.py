"""Comparing two runs (simulator.analysis.compare, `vpcsim compare`): one seed, the right differences, whole-or-nothing
output."""

from __future__ import annotations

import copy
import json
import re

import pytest

import simulator as vs
from simulator.analysis import compare as cmp_mod
from simulator.analysis.compare import compare, metric_rows, write_comparison
from simulator.cli.core import main
from simulator.present.folders import atomic_dir

from .test_plots import stressed


@pytest.fixture(scope="module")
def legacy_vs_hyperplane() -> cmp_mod.Comparison:
    return compare(stressed(), {"platform": "hyperplane"})


def _by_metric(rows):
    return {r["metric"]: r for r in rows}


# --------------------------------------------------------------------------------------------------- rows


def test_differences_relative_changes_and_directions():
    a = vs.simulate(stressed()).summary
    b = copy.deepcopy(a)
    b["failed"] = a["failed"] - 100
    b["latency_ms"]["p99"] = a["latency_ms"]["p99"] * 1.5
    b["subnets"]["a"]["min_free_ips"] = 5
    b["peak_concurrency"] = a["peak_concurrency"] + 3
    rows = _by_metric(metric_rows(a, b))
    assert rows["failed"]["difference"] == -100
    assert rows["failed"]["relative"] == pytest.approx(-100 / a["failed"])
    assert rows["failed"]["verdict"] == "better"
    assert rows["latency_ms.p99"]["difference"] == pytest.approx(a["latency_ms"]["p99"] * 0.5)
    assert rows["latency_ms.p99"]["relative"] == pytest.approx(0.5)
    assert rows["latency_ms.p99"]["verdict"] == "worse"
    assert rows["subnets.a.min_free_ips"]["difference"] == 5 and rows["subnets.a.min_free_ips"]["verdict"] == "better"
    assert rows["peak_concurrency"]["difference"] == 3 and rows["peak_concurrency"]["verdict"] is None
    assert rows["invocations"]["difference"] == 0 and rows["invocations"]["verdict"] is None


def test_never_is_better_than_a_time_and_missing_values_have_no_difference():
    a = vs.simulate(stressed()).summary
    b = copy.deepcopy(a)
    b["subnets"]["a"]["exhausted_s"] = None
    b["first_failure_s"] = None
    b["latency_ms"]["p50"] = None
    rows = _by_metric(metric_rows(a, b))
    assert rows["subnets.a.exhausted_s"]["verdict"] == "better" and rows["subnets.a.exhausted_s"]["difference"] is None
    assert rows["first_failure_s"]["verdict"] == "better"
    assert rows["latency_ms.p50"]["difference"] is None and rows["latency_ms.p50"]["relative"] is None
    back = _by_metric(metric_rows(b, a))
    assert back["subnets.a.exhausted_s"]["verdict"] == "worse"


def test_outcome_rows_only_for_causes_that_happened(legacy_vs_hyperplane):
    rows = _by_metric(legacy_vs_hyperplane.rows())
    happened = {c for r in (legacy_vs_hyperplane.a, legacy_vs_hyperplane.b)
                for c, n in r.summary["outcomes"].items() if n and c != "success"}
    assert {m.split(".", 1)[1] for m in rows if m.startswith("outcomes.")} == happened
    assert "outcomes.subnet_ips" in rows


# --------------------------------------------------------------------------------------------------- runs


def test_both_runs_use_one_seed_and_the_same_arrivals(legacy_vs_hyperplane):
    c = legacy_vs_hyperplane
    assert c.a.summary["seed"] == c.b.summary["seed"] == c.seed == stressed().seed
    assert c.a.summary["platform"] == "legacy" and c.b.summary["platform"] == "hyperplane"
    assert c.labels == ("stressed", "platform=hyperplane")
    assert c.a.summary["invocations"] == c.b.summary["invocations"]


def test_hyperplane_removes_the_address_failures(legacy_vs_hyperplane):
    rows = _by_metric(legacy_vs_hyperplane.rows())
    a_failed = legacy_vs_hyperplane.a.summary["failed"]
    assert a_failed > 0
    assert rows["failed"]["a"] == a_failed
    assert rows["failed"]["difference"] == legacy_vs_hyperplane.b.summary["failed"] - a_failed
    assert rows["outcomes.subnet_ips"]["b"] == 0 and rows["outcomes.subnet_ips"]["verdict"] == "better"
    assert rows["capacity.functions.f.binding"]["a"] == "subnet_ips"
    assert rows["capacity.functions.f.binding"]["verdict"] == "changed"


def test_the_same_scenario_twice_differs_in_nothing():
    c = compare(stressed(), stressed(), seed=5)
    assert c.labels == ("A", "B")
    for r in c.rows():
        assert r["a"] == r["b"], r["metric"]
        assert r["verdict"] is None


def test_seed_override_and_labels():
    c = compare(stressed(), stressed(name="other"), seed=11, labels=("before", "after"))
    assert c.seed == 11 and c.a.summary["seed"] == c.b.summary["seed"] == 11
    assert list(c.table().columns[:3]) == ["label", "kind", "before"]
    with pytest.raises(ValueError, match="two different names"):
        compare(stressed(), stressed(), labels=("x", "x"))


# --------------------------------------------------------------------------------------------------- output


def test_write_comparison_writes_a_self_contained_report(legacy_vs_hyperplane, tmp_path, monkeypatch):
    # Each run's own report is test_report's business; here its figures would only cost time.
    monkeypatch.setattr("simulator.present.report.draw_figures", lambda result: {})
    out = write_comparison(legacy_vs_hyperplane, tmp_path / "cmp")
    names = {p.name for p in out.iterdir()}
    assert names == {"a", "b", "figures", "comparison.json", "report.html", "vpcsim-manifest.json"}
    assert (out / "a" / "summary.json").is_file() and (out / "b" / "report.html").is_file()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://", page)
    assert "stressed" in page and "platform=hyperplane" in page
    assert len(re.findall(r"data:image/png;base64,", page)) == len(list((out / "figures").iterdir())) == 5
    data = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert data["labels"] == ["stressed", "platform=hyperplane"] and data["a"]["platform"] == "legacy"


def test_write_comparison_is_whole_or_nothing(legacy_vs_hyperplane, tmp_path, monkeypatch):
    target = tmp_path / "cmp"
    with atomic_dir(target) as tmp:  # an earlier folder vpcsim wrote: replaceable
        (tmp / "comparison.json").write_text("{}", encoding="utf-8")

    def broken(self):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(cmp_mod.Comparison, "images", broken)
    monkeypatch.setattr("simulator.present.report.draw_figures", lambda result: {})  # keep the run folders quick
    with pytest.raises(RuntimeError, match="figure failed"):
        write_comparison(legacy_vs_hyperplane, target)
    assert sorted(p.name for p in target.iterdir()) == ["comparison.json", "vpcsim-manifest.json"]
    assert (target / "comparison.json").read_text(encoding="utf-8") == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["cmp"]


# --------------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "stressed.yaml"
    path.write_text(stressed().to_yaml(), encoding="utf-8")
    return path


def test_cli_compare_with_set_prints_json(scenario_file, capsys):
    assert main(["compare", str(scenario_file), "--set", "platform=hyperplane", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["labels"] == ["stressed", "platform=hyperplane"]
    assert data["changes"] == {"platform": "hyperplane"}
    rows = _by_metric(data["rows"])
    assert rows["failed"]["difference"] == data["b"]["failed"] - data["a"]["failed"]
    assert data["a"]["seed"] == data["b"]["seed"]


def test_cli_compare_two_files_prints_a_table(scenario_file, tmp_path, capsys):
    other = tmp_path / "bigger.yaml"
    other.write_text(stressed(name="bigger").with_changes({"vpc.subnets.a.cidr": "10.0.1.0/26"}).to_yaml(),
                     encoding="utf-8")
    assert main(["compare", str(scenario_file), str(other), "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert "stressed vs bigger, both with seed 3" in text
    assert re.search(r"subnet a: min free addresses\s*│\s*0\s*│", text)
    assert "A (stressed): " in text and "invocations" in text and "failed or were throttled" in text


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_cli_compare_needs_a_second_run(scenario_file, capsys):
    assert main(["compare", str(scenario_file)]) == 2
    assert "give a second scenario file, or --set" in _one_error_line(capsys)


def test_cli_compare_rejects_a_bad_set_before_running(scenario_file, capsys):
    assert main(["compare", str(scenario_file), "--set", "functions.f.memory_mb=64"]) == 2
    assert "memory_mb" in _one_error_line(capsys)


def test_cli_compare_rejects_three_files(scenario_file, capsys):
    assert main(["compare", str(scenario_file), str(scenario_file), str(scenario_file)]) == 2
    assert "one or two scenario files" in _one_error_line(capsys)


# --------------------------------------------------------------------------------------------------- noise


def _one_failure_apart(a_failed: int, b_failed: int, invocations: int = 193_106) -> tuple[dict, dict]:
    """Two summaries of ``invocations`` each, ``a_failed`` and ``b_failed`` of them subnet_ips failures."""
    base = vs.simulate(stressed()).summary

    def summary(failed: int) -> dict:
        s = copy.deepcopy(base)
        s.update(invocations=invocations, failed=failed, throttled=0, succeeded=invocations - failed,
                 failure_rate=failed / invocations, throttle_rate=0.0, error_rate=failed / invocations,
                 first_failure_s=368.0 if failed else None)
        s["outcomes"] = {c: 0 for c in s["outcomes"]} | {"success": invocations - failed, "subnet_ips": failed}
        return s

    return summary(a_failed), summary(b_failed)


def test_one_invocation_is_noise_not_better():
    """1 failure in 193,106 against none was "better" in five rows; it is within the noise of a binomial
    proportion (two standard errors of the difference)."""
    a, b = _one_failure_apart(1, 0)
    rows = _by_metric(metric_rows(a, b))
    for path in ("succeeded", "failed", "error_rate", "failure_rate", "outcomes.subnet_ips", "first_failure_s"):
        assert rows[path]["verdict"] == "within noise", path
    a, b = _one_failure_apart(40, 0)
    rows = _by_metric(metric_rows(a, b))
    for path in ("succeeded", "failed", "error_rate", "failure_rate", "outcomes.subnet_ips", "first_failure_s"):
        assert rows[path]["verdict"] == "better", path


def test_latency_below_the_histograms_resolution_is_noise():
    a = vs.simulate(stressed()).summary
    b = copy.deepcopy(a)
    b["latency_ms"]["p95"] = a["latency_ms"]["p95"] * 1.009  # buckets are 1% wide: this is the same percentile
    b["latency_ms"]["p99"] = a["latency_ms"]["p99"] * 1.05
    rows = _by_metric(metric_rows(a, b))
    assert rows["latency_ms.p95"]["verdict"] == "within noise"
    assert rows["latency_ms.p99"]["verdict"] == "worse"


def test_with_replications_overlapping_intervals_are_noise():
    a, b = _one_failure_apart(30, 10)
    for s, (low, high) in ((a, (20, 40)), (b, (0, 25))):
        s["replications"] = {"n": 5, "metrics": {"failed": {"mean": s["failed"], "ci_low": low, "ci_high": high}}}
    rows = _by_metric(metric_rows(a, b))
    assert rows["failed"]["verdict"] == "within noise"
    b["replications"]["metrics"]["failed"]["ci_high"] = 15
    assert _by_metric(metric_rows(a, b))["failed"]["verdict"] == "better"


def test_a_notebook_shows_noise_as_within_noise():
    import dataclasses

    a, b = _one_failure_apart(1, 0)
    ra = vs.simulate(stressed())
    c = cmp_mod.Comparison(("A", "B"), dataclasses.replace(ra, summary=a), dataclasses.replace(ra, summary=b), 1)
    page = c._repr_html_()
    assert "<td>within noise</td>" in page and "<td>same</td>" not in page
