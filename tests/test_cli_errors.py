"""User errors on the command line: one line naming what is wrong, exit code 2, never a traceback (``--debug``
shows it); and ``--strict`` that would have no effect says so rather than passing silently.

Each test failed before the fix it guards.
"""

from __future__ import annotations

import json

import pytest
import yaml

import simulator as vs
from simulator.cli.core import main

from .conftest import BASE, deep_merge


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def scenario_file(tmp_path, **changes) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(deep_merge(BASE, changes), sort_keys=False))
    return str(path)


def one_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


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


def test_report_on_a_comparison_folder_points_at_its_runs(tmp_path, capsys):
    path = scenario_file(tmp_path)
    cmp = tmp_path / "cmp"
    assert run(capsys, "compare", path, "--set", "platform=hyperplane", "--out", cmp)[0] == 0
    code, _, err = run(capsys, "report", cmp)
    assert code == 2
    assert f"a comparison folder (vpcsim compare --out), not the results of one run; its runs are {cmp / 'a'}" in (
        one_error(err))
    assert run(capsys, "report", cmp / "a")[0] == 0


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


def test_set_with_broken_yaml_says_so(tmp_path, capsys):
    code, _, err = run(capsys, "capacity", scenario_file(tmp_path), "--set",
                       "functions.f.duration={dist: lognormal, median: 1s")
    assert code == 2
    assert one_error(err).startswith("vpcsim: error: --set functions.f.duration: not a valid YAML mapping or list")
    code, _, err = run(capsys, "sweep", scenario_file(tmp_path), "--vary", "functions.f.subnets=[a],[b")
    assert code == 2
    assert one_error(err).startswith("vpcsim: error: --vary functions.f.subnets: not a valid YAML mapping or list")


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


@pytest.mark.parametrize("args", [["capacity", "quickstart"], ["capacity", "quickstart", "--json"], ["schema"],
                                  ["run", "quickstart", "--json"], ["run", "--help"]])
def test_a_reader_that_goes_away_stops_the_command_as_sigpipe_would(args):
    """``vpcsim capacity ... | head -1`` exited 1 (rich's choice, and click's for what it writes), which the CLI's exit
    codes keep for "an expectation failed": a CI script would read a closed pipe as a broken sizing assumption."""
    import os
    import subprocess
    import sys

    from .conftest import SCENARIOS

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line, as `head -0` is: every write meets a closed pipe
    argv = [str(SCENARIOS / f"{a}.yaml") if a == "quickstart" else a for a in args]
    proc = subprocess.Popen([sys.executable, "-m", "simulator", *argv], stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141 and err == b"", err
