"""The pytest plugin, used the way a team would: a separate project folder, `pytest --vpcsim capacity/` in a
subprocess (the plugin comes from the installed entry point, not from this repository's conftest)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "check"


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", *args],
        cwd=project, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An infrastructure repo: its own tests, and scenario files in capacity/ next to a non-scenario YAML."""
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_unit.py").write_text("def test_unit():\n    assert 1 + 1 == 2\n")
    cap = tmp_path / "capacity"
    (cap / "batch").mkdir(parents=True)
    shutil.copy(DATA / "ok" / "api-fits.yaml", cap / "api-fits.yaml")
    shutil.copy(DATA / "failing" / "subnet-too-small.yaml", cap / "batch" / "subnet-too-small.yaml")
    (cap / "owners.yaml").write_text("owner: platform-team\n")
    return tmp_path


def test_scenarios_become_tests_and_failures_explain_themselves(project):
    report = project / "junit.xml"
    run = _pytest(project, "--vpcsim", "capacity", f"--junitxml={report}")
    text = run.stdout
    assert run.returncode == 1, text + run.stderr
    assert "1 failed, 2 passed" in text
    assert "PASSED tests/test_unit.py::test_unit" in text
    assert "PASSED capacity/api-fits.yaml::api-fits" in text
    assert "FAILED capacity/batch/subnet-too-small.yaml::subnet-too-small" in text
    # The failure names the expectation, the value, the line, and the run's key figures.
    assert "vpcsim scenario 'subnet-too-small' (subnet-too-small.yaml): 1 of 2 expectations failed" in text
    assert "FAIL  failure_rate = 0.4592 (45.9%), expected <= 0.001  [subnet-too-small.yaml:23]" in text
    assert "pass  outcomes.subnet_ips = 551: > 0 holds  [subnet-too-small.yaml:24]" in text
    assert "failures by cause: subnet_ips 551" in text
    assert "Traceback" not in text
    props = {p.get("name"): p.get("value") for p in ET.parse(report).getroot().iter("property")}
    assert props["failure_rate <= 0.001"].startswith("FAIL: failure_rate = 0.4592")


def test_inactive_without_the_option_and_selectable_with_a_marker(project):
    plain = _pytest(project)
    assert plain.returncode == 0 and "1 passed" in plain.stdout and "capacity" not in plain.stdout
    only = _pytest(project, "--vpcsim", "capacity/api-fits.yaml", "-m", "vpcsim")
    assert only.returncode == 0, only.stdout
    assert "1 passed, 1 deselected" in only.stdout and "PASSED capacity/api-fits.yaml::api-fits" in only.stdout


def test_an_invalid_scenario_is_a_collection_error_naming_the_line(project):
    shutil.copy(DATA / "invalid" / "typo-in-expect.yaml", project / "capacity" / "typo.yaml")
    run = _pytest(project, "--vpcsim", "capacity")
    assert run.returncode == 2, run.stdout
    assert "ERROR collecting capacity/typo.yaml" in run.stdout
    assert "typo.yaml:15: expect.subnets.app-b.min_free_ips: no subnet named 'app-b'" in run.stdout
    missing = _pytest(project, "--vpcsim", "nowhere")
    assert missing.returncode == 4 and "--vpcsim nowhere: no such file or folder" in missing.stderr
