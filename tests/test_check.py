"""`vpcsim check`: passing, failing and invalid scenario files end to end, the table, exit codes and JUnit XML."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from simulator.cli.core import main

DATA = Path(__file__).parent / "data" / "check"


def test_all_hold_exit_0(capsys):
    assert main(["check", str(DATA / "ok")]) == 0
    text = capsys.readouterr().out
    for row in ("api-fits", "worker-fits", "capacity.functions.api.binding", "first_failure_s", "peak_concurrency"):
        assert row in text
    assert "9 expectations in 2 scenarios: 9 held, 0 failed; 1 YAML file without expect: skipped." in text
    assert "FAIL" not in text


def test_a_broken_assumption_exits_1_and_says_which(capsys):
    assert main(["check", str(DATA / "failing" / "subnet-too-small.yaml")]) == 1
    text = capsys.readouterr().out
    # Which assumption, where in the file, the measured value, and why (the run's figures).
    assert f"FAIL subnet-too-small ({DATA / 'failing' / 'subnet-too-small.yaml'}:23):" in text
    assert "failure_rate = 0.4592 (45.9%), expected <= 0.001" in text
    assert "failures by cause: subnet_ips 551" in text
    assert "fewest free subnet addresses: tiny-a 0/11, exhausted at 500ms" in text
    assert "2 expectations in 1 scenario: 1 held, 1 failed." in text


def test_an_invalid_file_exits_2_with_file_and_line(capsys):
    assert main(["check", str(DATA / "invalid")]) == 2
    captured = capsys.readouterr()
    bad = DATA / "invalid" / "typo-in-expect.yaml"
    assert captured.err.splitlines() == [
        f"{bad}:15: expect.subnets.app-b.min_free_ips: no subnet named 'app-b' in this scenario; did you mean "
        "'app-a'?",
        f"{bad}:16: expect.latency_ms.p99: latency_ms.p99 is in milliseconds: write a number or a duration like "
        "'3s', '250ms', '10m' (got '2 seconds')",
    ]
    assert "Traceback" not in captured.out + captured.err


def test_junit_report_of_everything(tmp_path, capsys):
    report = tmp_path / "reports" / "capacity.xml"
    assert main(["check", str(DATA), "--junit", str(report)]) == 2  # the invalid file wins over the failure
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("12", "1", "1")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    bad = str(DATA / "invalid" / "typo-in-expect.yaml")
    assert set(suites) == {"api-fits", "worker-fits", "subnet-too-small", bad}
    failing = suites["subnet-too-small"]
    assert (failing.get("tests"), failing.get("failures")) == ("2", "1")
    cases = {c.get("name"): c for c in failing.iter("testcase")}
    failure = cases["failure_rate <= 0.001"].find("failure")
    assert failure.get("message") == "subnet-too-small: failure_rate = 0.4592 (45.9%), expected <= 0.001"
    assert "failures by cause: subnet_ips 551" in failure.text
    assert cases["failure_rate <= 0.001"].get("line") == "23"
    assert cases["outcomes.subnet_ips > 0"].find("failure") is None
    error = suites[bad].find("testcase/error")
    assert error.get("message").startswith(f"{bad}:15: expect.subnets.app-b.min_free_ips")
    assert len(error.text.splitlines()) == 2
    props = {p.get("name"): p.get("value") for p in suites["worker-fits"].iter("property")}
    assert props["replications"] == "3"
    worker = {c.get("name") for c in suites["worker-fits"].iter("testcase")}
    assert worker == {"error_rate == 0", "peak_concurrency > 1", "peak_concurrency < 100"}
    assert f"JUnit report written to {report}" in capsys.readouterr().out


def test_junit_is_written_whole_or_not_at_all(tmp_path, capsys):
    target = tmp_path / "report.xml"
    target.mkdir()  # a folder where the file should go: replacing it fails
    assert main(["check", str(DATA / "ok" / "api-fits.yaml"), "--junit", str(target)]) == 2
    assert "--junit" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xml"]  # no temporary file left behind


def test_discovery_rules(tmp_path, capsys):
    shutil.copy(DATA / "ok" / "api-fits.yaml", tmp_path / "api.yml")
    (tmp_path / ".cache").mkdir()
    shutil.copy(DATA / "failing" / "subnet-too-small.yaml", tmp_path / ".cache" / "ignored.yaml")
    (tmp_path / "helm.yaml").write_text("replicas: {{ .Values.replicas }}\n  bad: [\n")  # not ours, not YAML
    assert main(["check", str(tmp_path)]) == 0
    assert "6 expectations in 1 scenario: 6 held, 0 failed; 1 YAML file without expect: skipped." in (
        capsys.readouterr().out)
    # A broken file that has an expect: section must not pass silently.
    (tmp_path / "broken.yaml").write_text("version: 1\nname: broken\nexpect:\n  failure_rate: [\n")
    assert main(["check", str(tmp_path)]) == 2
    assert "broken.yaml:5: invalid YAML" in capsys.readouterr().err


def test_nothing_to_check_and_missing_paths(tmp_path, capsys):
    (tmp_path / "notes.yaml").write_text("owner: me\n")
    assert main(["check", str(tmp_path)]) == 2
    assert "no scenario with an `expect:` section found" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
