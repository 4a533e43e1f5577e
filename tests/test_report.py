"""The HTML report (simulator.present.report), `run --out` writing it, and `vpcsim report DIR` rebuilding it."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

import simulator as vs
from simulator.analysis import results_folder
from simulator.analysis.results_folder import write_run
from simulator.cli.core import main
from simulator.present import report
from simulator.present.folders import atomic_dir

from .conftest import BASE, deep_merge
from .test_plots import calm, png_shape, stressed


@pytest.fixture(scope="module")
def bad_run() -> vs.Result:
    return vs.simulate(stressed())


@pytest.fixture(scope="module")
def good_run() -> vs.Result:
    return vs.simulate(calm())


@pytest.fixture(scope="module")
def bad_html(bad_run) -> str:
    return report.render_report(bad_run)


def _text(html: str) -> str:
    """The visible text of a page, tags removed, whitespace collapsed."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _rows(html: str, section: str) -> list[list[str]]:
    """Cells of the table rows that follow the heading with id ``section``."""
    part = html.split(f'id="{section}"', 1)[1].split("<h2", 1)[0]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", part, flags=re.S)]


# --------------------------------------------------------------------------------------------------- verdict


def test_verdict_of_a_run_without_failures_or_expectations(good_run):
    v = report.verdict(good_run.summary, good_run.timeseries)
    assert v["ok"] and v["causes"] == [] and v["tag"] == "NO FAILURES" and v["basis"] == "failures"
    assert v["headline"] == f"All {good_run.summary['invocations']:,} invocations succeeded."
    assert "no expectations (expect:), so this verdict counts failed and throttled invocations" in v["details"][0]


def test_verdict_names_the_main_cause_and_the_first_failure_or_throttle_with_its_load(bad_run):
    s, ts = bad_run.summary, bad_run.timeseries
    v = report.verdict(s, ts, bad_run.scenario.timestep)
    assert not v["ok"] and v["tag"] == "FAILURES"
    main_cause = max(v["causes"], key=lambda c: c["count"])
    assert main_cause["cause"] == "subnet_ips" and main_cause["count"] == s["outcomes"]["subnet_ips"]
    first = s["first_outcome_s"]["subnet_ips"]
    k = int(first // bad_run.scenario.timestep)
    assert main_cause["load"] == {"arrivals_per_s": float(ts["arrivals"][k]), "concurrency": int(ts["concurrency_max"][k]),
                                  "environments": int(ts["environments_busy"][k] + ts["environments_idle"][k])}
    bad = s["failed"] + s["throttled"]
    assert v["headline"].startswith(f"{bad:,} of {s['invocations']:,} invocations")
    cause, at = min(((c, t) for c, t in s["first_outcome_s"].items() if c != "success"), key=lambda ct: ct[1])
    assert f"; the first failure or throttle came at {report.fmt_clock(at)} ({cause})" in v["headline"]
    # Causes are listed in the order they began.
    assert [c["cause"] for c in v["causes"]] == sorted(
        (c for c in s["first_outcome_s"] if c != "success"), key=lambda c: s["first_outcome_s"][c])
    peak = s["capacity"]["functions"]["f"]["peak_in_service"]
    assert any(f"projected peak (p99.9) of {peak} concurrent executions is above its subnet_ips ceiling of 22" in d
               for d in v["details"])


def _with_expectations(summary: dict, *passed: bool) -> dict:
    rows = [{"path": f"latency_ms.p{i}", "condition": "< 1", "value": 1500.0, "kind": "ms", "passed": ok}
            for i, ok in enumerate(passed)]
    return dict(summary, expectations=rows)


def test_with_expectations_the_verdict_is_theirs(bad_run):
    """quickstart said "DOES NOT FIT" for 1 failure in 193,106 while both of its expectations held."""
    s = _with_expectations(bad_run.summary, True, True)
    v = report.verdict(s, bad_run.timeseries, bad_run.scenario.timestep)
    assert v["ok"] and v["tag"] == "EXPECTATIONS HOLD" and v["basis"] == "expectations"
    bad = s["failed"] + s["throttled"]
    assert v["headline"].startswith(f"Both expectations hold. {bad:,} of {s['invocations']:,} invocations")
    v = report.verdict(_with_expectations(bad_run.summary, True, False, True))
    assert not v["ok"] and v["tag"] == "EXPECTATIONS FAIL"
    assert v["headline"].startswith("1 of 3 expectations failed: latency_ms.p1 < 1, got 1,500 ms. ")
    v = report.verdict(_with_expectations(vs.simulate(calm()).summary, True))
    assert v["ok"] and v["headline"].startswith("The expectation holds. All ")


def test_headline_and_key_figures_give_the_same_first_failure_or_throttle(bad_run):
    """az-outage's headline said "first at 20m" (the first of its most common cause) while its key figures said
    12m49s (the first failure of any cause, a timeout). Both now give the first failure or throttle, named so."""
    s = dict(bad_run.summary)
    early = min(t for c, t in s["first_outcome_s"].items() if c != "success") - 7.5
    s["outcomes"] = dict(s["outcomes"], timeout=2)
    s["first_outcome_s"] = {"timeout": early, **s["first_outcome_s"]}
    s["failed"] += 2
    v = report.verdict(s)
    assert max(v["causes"], key=lambda c: c["count"])["cause"] == "subnet_ips"
    assert f"the first failure or throttle came at {report.fmt_clock(early)} (timeout)" in v["headline"]
    figures = dict(report._key_figures(s))
    assert figures["first failure or throttle"] == f"{report.fmt_clock(early)} (timeout)"


def test_verdict_load_is_the_timestep_of_the_first_failure():
    # A ramp: every second has a different arrival count, so the wrong timestep cannot give the right load.
    fn = {**BASE["functions"][0], "memory_mb": 3072,
          "arrivals": {"process": "constant", "rate": 1}}
    ramp = [{"process": "poisson", "interpolate": "linear", "schedule": [[0, 0], [60, 120]]}]
    res = vs.simulate(stressed(functions=[{**fn, "arrivals": ramp}], events=[], warmup=0))
    v = report.verdict(res.summary, res.timeseries, res.scenario.timestep)
    cause = next(c for c in v["causes"] if c["cause"] == "subnet_ips")
    t = res.summary["first_outcome_s"]["subnet_ips"]
    ts = res.timeseries
    k = int(t)  # timestep 1 s
    assert cause["first_s"] == t
    assert cause["load"]["arrivals_per_s"] == ts["arrivals"][k]
    assert ts["arrivals"][k] not in (ts["arrivals"][k - 1], ts["arrivals"][k + 1])
    assert cause["load"]["concurrency"] == ts["concurrency_max"][k]


def test_verdict_reports_failed_expectations(good_run):
    s = dict(good_run.summary, expectations=[{"path": "latency_ms.p99", "condition": "< 1", "value": 1500.0,
                                               "passed": False}])
    v = report.verdict(s)
    assert v["expectations_failed"] == 1
    assert v["headline"].startswith("1 of 1 expectation failed: latency_ms.p99 < 1, got 1,500")


# --------------------------------------------------------------------------------------------------- page


def test_report_puts_the_verdict_first(bad_run, bad_html):
    headline = report.verdict(bad_run.summary, bad_run.timeseries)["headline"]
    body = bad_html.split("</nav>", 1)[1]  # the navigation names every section first
    order = [body.index(marker) for marker in ('id="verdict"', "FAILURES", html.escape(headline),
                                               'id="figures-summary"', 'id="subnets"', 'id="figures"',
                                               'id="scenario"')]
    assert order == sorted(order)


def test_report_lists_the_events(bad_run, bad_html):
    """The events showed only as shading in the figures; the report lists them, in time order."""
    assert [r for r in _rows(bad_html, "events") if r] == [
        ["20s", "ips_taken", "3 addresses of b taken by other workloads", ""],
        ["30s", "az_outage", "az-a is down (subnet a)", "10s"],
    ]
    assert '<a href="#events">Events</a>' in bad_html
    assert 'id="events"' not in report.render_report(vs.simulate(calm()), images={})


def test_report_subnet_table_shows_the_summary(bad_run, bad_html):
    rows = {r[0]: r for r in _rows(bad_html, "subnets") if r}
    assert set(rows) == set(bad_run.summary["subnets"])
    for sid, v in bad_run.summary["subnets"].items():
        row = rows[sid]
        assert row[1] == v["az"]
        assert row[2] == str(bad_run.scenario.subnet(sid).cidr)
        assert row[3] == f"{v['usable_ips']:,}" and row[5] == f"{v['peak_ips_used']:,}"
        assert row[6] == f"{v['min_free_ips']:,}"
        assert row[7] == report.fmt_clock(v["exhausted_s"])


def test_report_outcome_table_counts(bad_run, bad_html):
    text = _text(bad_html)
    for cause, n in bad_run.summary["outcomes"].items():
        if n:
            assert re.search(rf"{cause} {n:,} ", text), cause
    assert "502 SubnetIPAddressLimitReachedException" in text


def test_report_is_self_contained(bad_html):
    assert not re.search(r"https?://", bad_html)
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", bad_html)  # only inline data and anchors
    assert "<script" not in bad_html and "@import" not in bad_html


def test_report_figures_are_embedded_pngs(bad_html):
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', bad_html)
    assert len(images) == len(report.FIGURES)
    for data in images:
        h, w = png_shape(base64.b64decode(data, validate=True))
        assert 900 <= w <= 2000 and 300 <= h <= 1600


def test_report_escapes_what_comes_from_the_scenario():
    sc = stressed(name="<script>alert('x')</script>", description="a & b <b>bold</b>")
    page = report.render_report(vs.simulate(sc), images={})
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "a &amp; b &lt;b&gt;bold&lt;/b&gt;" in page


def test_report_lists_lint_findings(bad_run, bad_html):
    for finding in bad_run.summary["capacity"]["lint"]:
        assert finding["rule"] in bad_html


# --------------------------------------------------------------------------------------------------- run --out


def test_write_run_writes_figures_and_report(pristine):
    out = pristine
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(f"{k}.png" for k in report.FIGURES)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<span class="tag">FAILURES</span>' in page
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert base64.b64decode(embedded[0]) == (out / "figures" / "timeline.png").read_bytes()


def test_write_run_is_whole_or_nothing(tmp_path, bad_run, monkeypatch):
    target = tmp_path / "res"
    with atomic_dir(target) as tmp:  # an earlier folder vpcsim wrote: replaceable
        (tmp / "summary.json").write_text("previous", encoding="utf-8")

    def broken(result):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(report, "draw_figures", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        write_run(bad_run, target)
    assert sorted(p.name for p in target.iterdir()) == ["summary.json", "vpcsim-manifest.json"]
    assert (target / "summary.json").read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["res"]  # no temporary folder left behind
    with pytest.raises(RuntimeError):
        write_run(bad_run, tmp_path / "new")
    assert not (tmp_path / "new").exists()


# --------------------------------------------------------------------------------------------------- report DIR


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, bad_run) -> Path:
    return write_run(bad_run, tmp_path_factory.mktemp("pristine") / "res")


@pytest.fixture
def results_dir(tmp_path, pristine) -> Path:
    """A fresh copy of one results folder (written once: drawing the figures is the slow part)."""
    return Path(shutil.copytree(pristine, tmp_path / "res"))


def test_load_results_round_trips(results_dir, bad_run):
    loaded = results_folder.load_results(results_dir)
    assert loaded.summary == json.loads(json.dumps(bad_run.summary))
    assert loaded.scenario == bad_run.scenario
    assert list(loaded.timeseries.columns) == list(bad_run.timeseries.columns)


def test_report_command_rebuilds_the_report(results_dir, capsys):
    (results_dir / "report.html").unlink()
    shutil.rmtree(results_dir / "figures")
    assert main(["report", str(results_dir)]) == 0
    page = (results_dir / "report.html").read_text(encoding="utf-8")
    assert '<span class="tag">FAILURES</span>' in page and len(re.findall(r"data:image/png;base64,", page)) == len(report.FIGURES)
    assert sorted(p.name for p in (results_dir / "figures").iterdir()) == sorted(f"{k}.png" for k in report.FIGURES)
    assert "Report written to" in capsys.readouterr().out


def test_report_command_out_writes_only_the_html(results_dir, tmp_path, capsys):
    target = tmp_path / "elsewhere" / "r.html"
    before = (results_dir / "figures" / "timeline.png").stat().st_mtime_ns
    assert main(["report", str(results_dir), "--out", str(target)]) == 0
    assert '<span class="tag">FAILURES</span>' in target.read_text(encoding="utf-8")
    assert (results_dir / "figures" / "timeline.png").stat().st_mtime_ns == before


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_report_command_on_a_missing_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "nope: no such folder" in _one_error_line(capsys)


def test_report_command_on_an_incomplete_folder(results_dir, capsys):
    (results_dir / "timeseries.csv").unlink()
    assert main(["report", str(results_dir)]) == 2
    assert "timeseries.csv missing" in _one_error_line(capsys)


def test_report_command_on_damaged_files(results_dir, capsys):
    (results_dir / "summary.json").write_text('{"scenario": "x",\n  oops}', encoding="utf-8")
    assert main(["report", str(results_dir)]) == 2
    assert f"{results_dir / 'summary.json'}:2: not valid JSON" in _one_error_line(capsys)
    (results_dir / "summary.json").write_text('{"scenario": "x"}', encoding="utf-8")
    assert main(["report", str(results_dir)]) == 2
    assert "not a vpcsim summary: missing" in _one_error_line(capsys)


def test_report_command_on_a_damaged_time_series(results_dir, capsys):
    (results_dir / "timeseries.csv").write_text("t_s,arrivals\n0,1\n", encoding="utf-8")
    assert main(["report", str(results_dir)]) == 2
    assert "not a vpcsim time series: missing column" in _one_error_line(capsys)


def test_report_command_on_an_invalid_scenario(results_dir, capsys):
    text = (results_dir / "scenario.yaml").read_text(encoding="utf-8")
    (results_dir / "scenario.yaml").write_text(text.replace("memory_mb: 3072", "memory_mb: 64"), encoding="utf-8")
    assert main(["report", str(results_dir)]) == 2
    line = _one_error_line(capsys)
    assert "scenario.yaml:" in line and "memory_mb" in line


def test_report_rebuild_keeps_the_old_report_when_rendering_fails(results_dir, monkeypatch):
    before = (results_dir / "report.html").read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("template broke")

    monkeypatch.setattr(results_folder, "draw_figures", lambda result: {})  # only the rendering matters here
    monkeypatch.setattr(results_folder, "render_report", broken)
    with pytest.raises(RuntimeError):
        results_folder.rebuild_report(results_dir)
    assert (results_dir / "report.html").read_bytes() == before
    assert sorted(p.name for p in results_dir.iterdir() if p.name.startswith(".")) == []


def test_run_out_writes_the_report_through_the_cli(tmp_path, capsys):
    path = tmp_path / "stressed.yaml"
    path.write_text(stressed().to_yaml(), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "res")]) == 0
    page = (tmp_path / "res" / "report.html").read_text(encoding="utf-8")
    assert '<span class="tag">FAILURES</span>' in page
    assert {p.name for p in (tmp_path / "res" / "figures").iterdir()} == {f"{k}.png" for k in report.FIGURES}


def test_latency_histograms_survive_a_round_trip_through_the_results_folder(tmp_path):
    import simulator as vs
    from simulator.analysis.results_folder import load_results, write_run

    from .conftest import SCENARIOS

    res = vs.simulate(vs.load_scenario(SCENARIOS / "quickstart.yaml").with_changes({"duration": "4m"}))
    dist = res.latency_distribution
    # Every successful invocation and every cold start is in exactly one bucket.
    assert dist[dist["kind"] == "latency"]["count"].sum() == res.summary["succeeded"]
    assert dist[dist["kind"] == "cold_start"]["count"].sum() == res.summary["cold_starts"]
    # The buckets hold the percentiles the summary reports (buckets are 1% wide).
    lat = dist[dist["kind"] == "latency"]
    cum = lat["count"].cumsum() / lat["count"].sum()
    p50_bucket = lat[cum >= 0.5].iloc[0]
    assert p50_bucket["low_ms"] * 0.99 <= res.summary["latency_ms"]["p50"] <= p50_bucket["high_ms"] * 1.01
    write_run(res, tmp_path / "out")
    back = load_results(tmp_path / "out")
    import pandas as pd

    pd.testing.assert_frame_equal(back.latency_distribution, dist, check_exact=False, rtol=1e-8)


# ------------------------------------------------------------------------- verdicts of replications, expectation values


def test_replicated_verdict_says_means_and_pairs_no_load(tmp_path):
    sc = vs.scenario_from_dict(deep_merge(BASE, {"vpc": {"subnets": [
        {"id": "a", "az": "az-a", "cidr": "10.0.1.0/28"}]}, "functions": [dict(
            BASE["functions"][0], subnets=["a"], arrivals={"process": "constant", "rate": 40})]}))
    from simulator.present.report import verdict

    s = dict(vs.simulate(sc).summary)
    assert s["failed"] > 0
    s.update(invocations=193_352.333333, failed=30.666667, throttled=0, replications={"n": 3})
    s["outcomes"] = dict(s["outcomes"], subnet_ips=30.666667)
    s["functions"] = {k: dict(v, peak_concurrency=282.333333) for k, v in s["functions"].items()}
    v = verdict(s, None)
    # Means of counts in prose: "on average", rounded as people say them (not "31 of 193,352.3 invocations").
    assert v["headline"].startswith("On average over 3 replications, 31 of 193,352 invocations")
    assert "arriving" not in v["headline"]
    assert any("the runs peaked at 282 on average" in d for d in v["details"])
    s.update(failed=2.4, outcomes=dict(s["outcomes"], subnet_ips=2.4))
    assert verdict(s, None)["headline"].startswith("On average over 3 replications, 2.4 of 193,352 invocations")


def test_report_shows_expectation_values_in_their_unit(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    expect = {"latency_ms.p50": "< 1ms", "failure_rate": "<= 1"}
    path.write_text(yaml.safe_dump(deep_merge(BASE, {"expect": expect})))
    res = tmp_path / "res"
    assert main(["run", str(path), "--out", str(res)]) == 1
    page = (res / "report.html").read_text()
    assert '<td class="n">1,000 ms</td>' in page  # the warm starts: 1 s of duration (not "1000.000000")
    assert "latency_ms.p50 &lt; 1ms, got 1,000 ms" in page
    assert ".000000" not in page


# --------------------------------------------------------------------------------------------------- read by an architect


def test_the_ceilings_total_names_the_peak_a_subnet_must_hold(bad_run, bad_html):
    """It said "All functions at their projected peaks: 144 concurrent executions, 48 ENIs" on quickstart, where the
    p99.9 peak is 481 and needs 161 ENIs: sized from it, subnets would be a third too small."""
    tot = bad_run.summary["capacity"]["total"]
    text = html.unescape(_text(bad_html))
    assert (f"All functions together: {tot['peak_in_service']:,} concurrent executions at the projected peak "
            f"(p99.9), which need {tot['enis_at_peak']:,} ENIs; {tot['projected_peak']:,} in service on average") in text
    assert "by the doc's formula" in text  # legacy


def test_hyperplane_reports_leave_the_legacy_formula_out():
    res = vs.simulate(stressed(platform="hyperplane"))
    text = html.unescape(_text(report.render_report(res)))
    assert "by the doc's formula" not in text and "Hyperplane ENIs per VPC" in text
    assert "connec\xadtions / ENI" in text  # the column holds connections per ENI, not environments


def test_a_replicated_report_says_it_shows_means_and_its_scenario_reproduces_them(tmp_path):
    res = vs.run_replications(stressed(), replications=3)
    text = html.unescape(_text(report.render_report(res)))
    assert "Means of 3 replications" in text and "every number below is a mean over the replications" in text
    write_run(res, tmp_path / "r")
    assert yaml.safe_load((tmp_path / "r" / "scenario.yaml").read_text())["replications"] == 3  # it said 1
    single = html.unescape(_text(report.render_report(vs.simulate(stressed()))))
    assert "Means of" not in single
    # One run of a scenario that says replications: 3 (run --replications 1, headroom's run) says 1 in its file.
    assert "replications: 1\n" in report.resolved_yaml(vs.simulate(stressed(replications=3)))


def test_counts_in_words_agree_with_their_number_and_the_warm_up(bad_run, bad_html):
    text = html.unescape(_text(bad_html))
    assert not re.search(r"\b1 invocations\b", text) and "gateway(s)" not in text
    assert "invocations (after warm-up)" in text  # stressed() has a warm-up
    assert ("Peak used, min free, ran out at and the time without a free address are counted from the end of the "
            "warm-up (5s)") in text
    no_warmup = html.unescape(_text(report.render_report(vs.simulate(stressed(warmup=0)))))
    assert "after warm-up" not in no_warmup and "warm-up" not in no_warmup.split("Usable = ")[1].split("Ceilings")[0]
    assert "workloads. The times are from the start of the run." in no_warmup


def test_compare_report_cells_use_the_metric_kind(tmp_path):
    """The comparison showed a first failure as raw seconds (769 against 12m49s in the run's report), an exhaustion
    that never came as "–", and a share's difference as -7.23% beside a relative change of -99.9%."""
    from simulator.analysis.compare import compare

    cmp = compare(stressed(), {"platform": "hyperplane"})
    rows = {r[0]: r for r in _rows(report.render_comparison(cmp), "table") if r}
    first = rows["first failure at"]
    clock = re.compile(r"(\d+h)?(\d+m)?[\d.]+s|never")  # 5.3s, 12m49s, never: not 769 or 5.3
    assert clock.fullmatch(first[1]) and clock.fullmatch(first[2]), first
    assert rows["failure rate"][3].endswith(" pp"), rows["failure rate"]


def test_functions_that_fit_alone_but_not_together_are_said_so():
    """azure-trace.yaml's verdict said "All 100 functions fit their ceilings" above a lint finding that the 100
    together need 83 ENIs in a subnet with 59 free addresses."""
    from .conftest import tiny

    fn = {**BASE["functions"][0], "arrivals": {"process": "constant", "rate": 5}}
    sc = tiny(functions=[fn, {**fn, "name": "g"}, {**fn, "name": "h"}])
    summary = vs.simulate(sc).summary
    shared = [f for f in summary["capacity"]["lint"] if f["rule"] == "shared-subnet"]
    assert shared, summary["capacity"]["lint"]  # each needs few ENIs; the three together more than a /28 holds
    details = report.verdict(summary)["details"]
    assert f"But not all at once: {shared[0]['message']}." in details, details
