"""Absurd but valid scenarios are refused before they start (issue 12, item 6): the estimate of invocations, events,
time and memory from the closed forms, shown in `run`'s first line, and one line with how to go on (`--yes`)."""

from __future__ import annotations

import time

import pytest
import yaml

import simulator as vs
import simulator.analysis.estimate as est_mod
from simulator.analysis.estimate import estimate
from simulator.cli.core import main

from .conftest import BASE, SCENARIOS, deep_merge, with_traces


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def scenario_file(tmp_path, **changes) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(deep_merge(BASE, changes), sort_keys=False))
    return str(path)


@pytest.mark.parametrize("name", with_traces(["quickstart", "az-outage", "azure-trace"]))
def test_the_estimated_invocations_are_the_arrivals_the_run_simulates(name):
    sc = vs.load_scenario(SCENARIOS / f"{name}.yaml")
    res = vs.simulate(sc)
    arrived = int(res.timeseries["arrivals"].sum())  # every attempt, warm-up included
    retries = res.summary["attempts"] - res.summary["invocations"]
    assert estimate(sc).invocations == pytest.approx(arrived - retries, rel=0.03)


def test_recording_invocations_costs_about_400_bytes_each():
    sc = vs.load_scenario(SCENARIOS / "spike-exhausts-subnets.yaml")
    plain, recorded = estimate(sc), estimate(sc, record_invocations=True)
    assert recorded.memory_mb - plain.memory_mb == pytest.approx(plain.invocations * 400 / 2**20)


def test_replications_multiply_the_work_and_workers_share_it():
    sc = vs.load_scenario(SCENARIOS / "quickstart.yaml")
    one, ten, ten_on_two = estimate(sc), estimate(sc, replications=10), estimate(sc, replications=10, workers=2)
    assert ten.runs == 10 and ten.wall_s == pytest.approx(10 * one.wall_s)
    assert ten_on_two.wall_s == pytest.approx(5 * one.wall_s)
    assert ten_on_two.memory_mb > ten.memory_mb  # a second process holds its own interpreter


def test_a_million_per_second_for_ten_days_is_refused_in_one_line_before_any_work(tmp_path, capsys):
    # The largest rate a scenario may ask for (1,000,000/s; 1e9/s is refused by validation) over ten days.
    path = scenario_file(tmp_path, duration="10d", timestep=60,
                         functions=[{**BASE["functions"][0], "arrivals": {"process": "poisson", "rate": "1000000/s"}}])
    started = time.perf_counter()
    code, out, err = run(capsys, "run", path)
    assert time.perf_counter() - started < 10
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert "would take about 50 days" in line and "864 billion invocations" in line and "--yes" in line


def test_a_billion_replications_are_refused_on_memory(tmp_path, capsys):
    path = scenario_file(tmp_path)
    code, _, err = run(capsys, "run", path, "--replications", "1000000000")
    (line,) = err.splitlines()
    assert code == 2 and "of memory" in line and "is available now" in line and "fewer replications" in line


def test_recording_a_huge_run_is_refused_and_says_to_drop_the_recording(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(est_mod, "available_memory_mb", lambda: 4096.0)
    path = scenario_file(tmp_path, duration=3 * 3600,
                         functions=[{**BASE["functions"][0], "arrivals": {"process": "poisson", "rate": 2000}}])
    code, _, err = run(capsys, "run", path, "--record-invocations", "--out", str(tmp_path / "r"))
    assert code == 2 and "drop --record-invocations" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", [["run"], ["check"], ["sweep", "--vary", "functions.f.memory_mb=512,1024"],
                                     ["compare", "--set", "functions.f.memory_mb=512"]])
def test_every_simulating_command_is_gated_and_yes_goes_on(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setattr(est_mod, "MAX_WALL_S", 0.0)  # every run "takes too long"
    path = scenario_file(tmp_path, expect={"failure_rate": "<= 1"})
    code, _, err = run(capsys, command[0], path, *command[1:])
    assert code == 2 and "would take about" in err and "--yes" in err
    code, out, _ = run(capsys, command[0], path, *command[1:], "--yes")
    assert code == 0, out


def test_run_says_what_it_is_about_to_do_in_its_first_line(tmp_path, capsys):
    code, out, _ = run(capsys, "run", str(SCENARIOS / "quickstart.yaml"))
    first = out.splitlines()[0]
    assert first.startswith("Simulating quickstart: about 200,000 invocations and 390,000 events; about ")
    assert first.endswith("of memory.")


def test_run_json_stays_json(capsys):
    import json

    code, out, _ = run(capsys, "run", str(SCENARIOS / "quickstart.yaml"), "--json")
    assert json.loads(out)["scenario"] == "quickstart"


def test_run_shows_the_lint_findings_before_it_simulates(tmp_path, capsys):
    # A dedicated-tenancy VPC and a 12 s init used to simulate and exit 0 without a word (issue 12, newcomer 4).
    path = scenario_file(tmp_path, vpc={**BASE["vpc"], "tenancy": "dedicated"},
                         functions=[{**BASE["functions"][0], "init": "12s"}])
    code, out, _ = run(capsys, "run", path)
    lines = out.splitlines()
    assert lines[0].startswith("Simulating tiny:") and lines[1] == "Lint:"
    assert "[dedicated-tenancy]" in lines[2] and "[init-limit]" in out
    clean = scenario_file(tmp_path)
    assert "Lint" not in run(capsys, "run", clean)[1]  # no findings: nothing said


def test_a_provisioned_shortfall_is_a_warning_in_the_summary_and_in_run(tmp_path, capsys):
    # Issue 11: the shortfall was only logged. 30 provisioned environments of 3008 MB need 30 ENIs; two /28 subnets
    # have 22 addresses.
    fn = {**BASE["functions"][0], "memory_mb": 3008, "provisioned_concurrency": 30}
    path = scenario_file(tmp_path, functions=[fn])
    s = vs.simulate(vs.load_scenario(path)).summary
    assert s["warnings"] == ["function f: only 22 of its 30 provisioned environments could get an ENI before the "
                             "run (subnet_ips)"]
    code, out, err = run(capsys, "run", path)
    assert "warning function f: only 22 of its 30 provisioned environments" in out and err == ""


def test_memory_per_function_is_what_a_run_holds():
    # benchmarks/bench_functions.py measures 22-32 KB a function at 3,000 to 10,000 functions (the engine's state,
    # histograms, arrival blocks), plus the projected peaks' batch of 64 functions (about 20 MB). The estimate was
    # 200 KB a function, three times what a 3,000-function run holds, and could refuse a run that fits.
    def account(n: int) -> vs.Scenario:
        fn = BASE["functions"][0]
        return vs.scenario_from_dict(deep_merge(BASE, {"functions": [{**fn, "name": f"f{i}"} for i in range(n)],
                                                       "region": {"concurrency_limit": 100_000}}))

    small, large = estimate(account(1000)).memory_mb, estimate(account(3000)).memory_mb
    per_function_kb = (large - small) / 2000 * 1024
    assert 20 <= per_function_kb <= 40, per_function_kb
    batch_mb = small - estimate(account(1)).memory_mb - 999 * per_function_kb / 1024
    assert 15 <= batch_mb <= 25, batch_mb
