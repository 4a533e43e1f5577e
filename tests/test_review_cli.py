"""A user's review of the command line: output paths that must never replace what vpcsim did not write, errors that
are one line and exit 2, prose that stays on one line in CI logs, replicated verdicts, and legends that hide no data.

Each test failed before the fix it guards.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import yaml

import simulator as vs
from simulator.cli import _pct, main

from .conftest import BASE, deep_merge


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def scenario_file(tmp_path, file: str = "s.yaml", **changes) -> str:
    return write(tmp_path / file, deep_merge(BASE, changes))


def one_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------------------------------- --out


def test_run_out_onto_the_scenario_file_is_refused_and_the_file_is_kept(tmp_path, capsys):
    path = scenario_file(tmp_path)
    before = (tmp_path / "s.yaml").read_text()
    code, _, err = run(capsys, "run", path, "--out", path)
    assert code == 2
    assert "exists and is not a folder" in one_error(err)
    assert (tmp_path / "s.yaml").is_file() and (tmp_path / "s.yaml").read_text() == before


def test_run_out_onto_a_folder_of_other_files_is_refused_and_they_are_kept(tmp_path, capsys):
    path = scenario_file(tmp_path)
    folder = tmp_path / "designs"
    folder.mkdir()
    (folder / "notes.txt").write_text("precious")
    code, _, err = run(capsys, "run", path, "--out", folder)
    assert code == 2
    assert "holds 1 entry but no vpcsim-manifest.json, so vpcsim did not write it" in one_error(err)
    assert (folder / "notes.txt").read_text() == "precious"


def test_run_out_onto_the_current_folder_is_refused(tmp_path, capsys, monkeypatch):
    path = scenario_file(tmp_path)
    (tmp_path / "summary.json").write_text("{}")  # even one that looks like a results folder
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "run", path, "--out", ".")
    assert code == 2
    assert "is the current folder" in one_error(err)
    assert (tmp_path / "s.yaml").is_file()


def test_run_out_replaces_an_earlier_results_folder_and_an_empty_one(tmp_path, capsys):
    path = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", path, "--out", res)[0] == 0
    assert run(capsys, "run", path, "--out", res, "--seed", "5")[0] == 0
    assert json.loads((res / "summary.json").read_text())["seed"] == 5
    (tmp_path / "empty").mkdir()
    assert run(capsys, "run", path, "--out", tmp_path / "empty")[0] == 0


def test_compare_and_sweep_out_onto_a_file_are_refused(tmp_path, capsys):
    path = scenario_file(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text("keep me")
    code, _, err = run(capsys, "compare", path, "--set", "platform=hyperplane", "--out", other)
    assert code == 2 and "exists and is not a folder" in one_error(err)
    code, _, err = run(capsys, "sweep", path, "--vary", "functions.f.memory_mb=512,1024", "--out", other)
    assert code == 2 and "exists and is not a folder" in one_error(err)
    assert other.read_text() == "keep me"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_file_outputs_never_replace_a_device_or_pipe(tmp_path, capsys):
    """`--junit /dev/null` (as root in CI) used to replace the device with a regular file."""
    path = scenario_file(tmp_path, expect={"failure_rate": "<= 1"})
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for argv in (["check", path, "--junit", pipe], ["report", tmp_path, "--out", pipe],
                 ["import", "azure2019", tmp_path, "--out", pipe]):
        code, out, err = run(capsys, *argv)
        assert code == 2, argv
        assert "not a regular file" in one_error(err)
        assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert out == ""  # refused before anything ran


def test_check_junit_into_a_folder_is_refused_before_running(tmp_path, capsys):
    path = scenario_file(tmp_path, expect={"failure_rate": "<= 1"})
    code, out, err = run(capsys, "check", path, "--junit", tmp_path)
    assert code == 2
    assert "is a folder; give a file name" in one_error(err)
    assert out == ""


# --------------------------------------------------------------------------------------------------- errors


def test_check_names_the_problem_of_an_unreadable_file_it_was_given(tmp_path, capsys):
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(b"\xff\xfe\x00expect: x")
    code, _, err = run(capsys, "check", bad)
    assert code == 2
    assert one_error(err).startswith(f"{bad}: cannot read")


def test_report_on_a_hand_edited_summary_is_one_line_not_a_traceback(tmp_path, capsys):
    path = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", path, "--out", res)[0] == 0
    summary = json.loads((res / "summary.json").read_text())
    summary["invocations"] = "many"
    (res / "summary.json").write_text(json.dumps(summary))
    code, _, err = run(capsys, "report", res)
    assert code == 2
    assert "not a results folder vpcsim can read" in one_error(err)


@pytest.mark.parametrize(("argv", "message"), [
    (["--day", "2"], "--day 2: "),
    (["--name", ""], "--name: the scenario name must not be empty"),
    (["--region", ""], "--region: not an AWS region name"),
    (["--region", "us east"], "--region: not an AWS region name"),
])
def test_import_refuses_options_it_would_ignore_or_garble(tmp_path, capsys, argv, message):
    (tmp_path / "invocations.csv").write_text("HashOwner,HashApp,HashFunction,Trigger,1\n")
    code, _, err = run(capsys, "import", "azure2019", tmp_path, *argv)
    assert code == 2
    assert message in one_error(err)


def test_debug_shows_the_traceback_of_a_user_error(tmp_path):
    with pytest.raises(vs.ScenarioError):
        main(["--debug", "run", str(tmp_path / "nope.yaml")])
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2


def test_validate_strict_says_why_it_exits_2(tmp_path, capsys):
    path = scenario_file(tmp_path, vpc={"tenancy": "dedicated"})
    code, out, err = run(capsys, "validate", "--strict", path)
    assert code == 2
    assert "ok, 1 warning" in out
    assert one_error(err) == "vpcsim: error: --strict: 1 file with lint warnings"


def test_strict_with_one_run_is_not_silently_a_plain_check(tmp_path, capsys):
    path = scenario_file(tmp_path, expect={"failure_rate": "<= 1"})
    code, _, err = run(capsys, "run", path, "--strict")
    assert code == 2
    assert "--strict checks the unfavourable end of a 95% interval, and one run has none" in one_error(err)
    code, out, _ = run(capsys, "check", path, "--strict")
    assert code == 0
    assert "strict had no effect: one replication has no 95% interval" in out
    assert "the unfavourable end of each 95% interval was checked" not in out


def test_report_on_a_comparison_folder_points_at_its_runs(tmp_path, capsys):
    path = scenario_file(tmp_path)
    cmp = tmp_path / "cmp"
    assert run(capsys, "compare", path, "--set", "platform=hyperplane", "--out", cmp)[0] == 0
    code, _, err = run(capsys, "report", cmp)
    assert code == 2
    assert f"a comparison folder (vpcsim compare --out), not the results of one run; its runs are {cmp / 'a'}" in (
        one_error(err))
    assert run(capsys, "report", cmp / "a")[0] == 0


# --------------------------------------------------------------------------------------------------- text


def test_a_rare_outcome_is_not_shown_as_zero_percent():
    assert _pct(2 / 534_250) == "<0.001%"
    assert _pct(0) == "0%"  # one formatter for shares, the report's and the command line's
    assert _pct(0.0005) == "0.050%"


def test_long_lint_findings_stay_on_one_line_in_a_log(tmp_path, capsys):
    names = [f"function-with-a-long-descriptive-name-{i:02d}" for i in range(4)]
    fn = BASE["functions"][0]
    path = write(tmp_path / "s.yaml", deep_merge(BASE, {"functions": [
        dict(fn, name=n, subnets=["a"], arrivals={"process": "constant", "rate": 50}) for n in names]}))
    code, out, _ = run(capsys, "validate", path)
    assert code == 0
    line = next(ln for ln in out.splitlines() if "[shared-subnet]" in ln)
    assert len(line) > 160 and "free addresses" in line


def test_scenario_names_are_text_not_console_markup(tmp_path, capsys):
    path = scenario_file(tmp_path, name="[red]checkout[/red]")
    code, out, _ = run(capsys, "capacity", path)
    assert code == 0
    assert "Capacity of [red]checkout[/red]" in out


def test_replicated_verdict_says_means_and_pairs_no_load(tmp_path):
    sc = vs.scenario_from_dict(deep_merge(BASE, {"vpc": {"subnets": [
        {"id": "a", "az": "az-a", "cidr": "10.0.1.0/28"}]}, "functions": [dict(
            BASE["functions"][0], subnets=["a"], arrivals={"process": "constant", "rate": 40})]}))
    from simulator.report import verdict

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


def test_sweep_means_have_one_decimal_in_every_row():
    import pandas as pd
    from rich.console import Console

    from simulator.cli_check import _means_table

    means = pd.DataFrame({"functions.f.memory_mb": [1024, 2048], "n": [5, 5],
                          "peak_concurrency": [287.0, 330.2], "peak_enis": [95.8, 98.0]})
    console = Console(width=200, record=True)
    console.print(_means_table(means, ["functions.f.memory_mb"], "t"))
    text = console.export_text()
    assert "287.0" in text and "330.2" in text and "95.8" in text and "98.0" in text and "95.80" not in text


def test_report_shows_expectation_values_in_their_unit(tmp_path, capsys):
    path = scenario_file(tmp_path, expect={"latency_ms.p50": "< 1ms", "failure_rate": "<= 1"})
    res = tmp_path / "res"
    assert run(capsys, "run", path, "--out", res)[0] == 1
    page = (res / "report.html").read_text()
    assert '<td class="n">1,000 ms</td>' in page  # the warm starts: 1 s of duration (not "1000.000000")
    assert "latency_ms.p50 &lt; 1ms, got 1,000 ms" in page
    assert ".000000" not in page


# --------------------------------------------------------------------------------------------------- figures


def test_compare_legends_hide_no_data():
    """The overlaid timeline's legend sat over a spike at the start of the run."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from simulator.plots import compare_network, compare_timeline

    spike = {"process": "poisson", "schedule": [[0, 0], [1, 30], [3, 30], [4, 0]], "interpolate": "step"}
    sc = vs.scenario_from_dict(deep_merge(BASE, {"duration": 30, "functions": [
        dict(BASE["functions"][0], memory_mb=512, arrivals=spike)]}))
    results = {"a": vs.simulate(sc), "b": vs.simulate(sc.with_changes({"platform": "hyperplane"}))}
    for draw in (compare_timeline, compare_network):
        fig = draw(results)
        FigureCanvasAgg(fig)
        fig.draw_without_rendering()  # the final layout, as savefig draws it
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None or ax.dataLim.y1 <= 0:
                continue
            bottom = legend.get_window_extent(renderer).transformed(ax.transData.inverted()).y0
            assert ax.dataLim.y1 < bottom, (draw.__name__, ax.get_ylabel())


def test_off_scale_eni_quota_is_named_as_executions_not_enis():
    """"ENI quota 990" read as 990 ENIs; it is the executions 330 free ENIs × 3 environments allow."""
    from simulator.plots import timeline

    fig = timeline(vs.simulate(vs.scenario_from_dict(BASE)))
    titles = [ax.get_title(loc="right") for ax in fig.axes]
    note = next(t for t in titles if t.startswith("above the plot"))
    assert "ENI quota × envs/ENI 1,050" in note  # 350 ENIs × 3 environments of 1024 MB
    assert "account concurrency limit 1,000" in note


def test_ctrl_c_says_so_and_writes_nothing(tmp_path, capsys, monkeypatch):
    import simulator.results

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(simulator.results, "simulate", interrupted)
    code, _, err = run(capsys, "run", scenario_file(tmp_path), "--out", tmp_path / "res")
    assert code == 130
    assert one_error(err) == "vpcsim: interrupted (nothing was written)"
    assert not (tmp_path / "res").exists()


def test_capacity_table_headers_are_not_wrapped_in_a_log(tmp_path, capsys):
    code, out, _ = run(capsys, "capacity", scenario_file(tmp_path))
    assert code == 0
    assert "ENIs (doc formula)" in out  # a 12-column table is wider than 160 columns


def test_set_with_broken_yaml_says_so(tmp_path, capsys):
    code, _, err = run(capsys, "capacity", scenario_file(tmp_path), "--set",
                       "functions.f.duration={dist: lognormal, median: 1s")
    assert code == 2
    assert one_error(err).startswith("vpcsim: error: --set functions.f.duration: not a valid YAML mapping or list")
    code, _, err = run(capsys, "sweep", scenario_file(tmp_path), "--vary", "functions.f.subnets=[a],[b")
    assert code == 2
    assert one_error(err).startswith("vpcsim: error: --vary functions.f.subnets: not a valid YAML mapping or list")
