"""``vpcsim headroom`` on the command line: bad input is one line and exit 2; JSON, tables and the output folder."""

from __future__ import annotations

import json

import pytest
import yaml

from simulator.cli.core import main

from .conftest import tiny
from .test_answers_headroom import ADDRESS_BOUND


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(json.dumps(tiny(**ADDRESS_BOUND).to_dict()))
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["--until", "failure_rate <=="], "vpcsim: error: --until 'failure_rate <==': not a condition"),
    (["--until", "p99 < 2s"], "vpcsim: error: --until 'p99 < 2s': no metric 'p99' in the summary"),
    (["--max-multiplier", "-1"], "vpcsim: error: --max-multiplier must be above 0 (got -1)"),
    (["--max-multiplier", "0"], "vpcsim: error: --max-multiplier must be above 0 (got 0)"),
    (["--resolution", "2"], "vpcsim: error: --resolution must be above 0 and below 1"),
    (["--scheduler", "tcp://127.0.0.1:1", "--replications", "1"], "vpcsim: error: cannot reach the Dask scheduler"),
])
def test_bad_input_is_one_line_and_exit_2(scenario_file, capsys, args, message):
    assert main(["headroom", str(scenario_file), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1, err


def test_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["headroom", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'nope.yaml'}: no such file"


def test_headroom_json_has_the_documented_shape(scenario_file, capsys):
    assert main(["headroom", str(scenario_file), "--replications", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert list(d)[:8] == ["scenario", "multiplier", "bracket", "binding", "first_outcome", "closed_form",
                           "conditions", "points"]
    assert d["bracket"][0] <= 6.6 <= d["bracket"][1] and d["binding"] == "subnet_ips"


def test_headroom_prints_the_answer_the_closed_form_and_the_points(scenario_file, tmp_path, capsys):
    out_dir = tmp_path / "answer"
    assert main(["headroom", str(scenario_file), "--replications", "1", "--workers", "2", "--out",
                 str(out_dir)]) == 0
    text = capsys.readouterr().out
    first = text.splitlines()[0]
    assert first.startswith("Headroom x6.5") and "just above it subnet_ips binds" in first
    assert "Closed form (the p99.9 projected peak reaches the binding ceiling): x" in text
    assert "Points evaluated" in text and "subnet_ips" in text
    # One replication a point: its peaks are whole counts, written without a decimal (not 294.0).
    rows = [line for line in text.splitlines() if line.startswith("│") and " x" in line]
    assert rows and all(".0 │" not in row for row in rows), rows
    assert {p.name for p in out_dir.iterdir()} == {"headroom.json", "points.csv", "headroom.png", "run", "vpcsim-manifest.json"}
    report = (out_dir / "run" / "report.html").read_text(encoding="utf-8")
    assert 'id="figure-headroom"' in report and "This is the run at x6.5" in report
    assert (out_dir / "run" / "figures" / "headroom.png").is_file()
    run = json.loads((out_dir / "run" / "summary.json").read_text())
    assert run["failed"] == 0  # the answer holds
    # Named for its load: its figures, pasted alone, read "<scenario> at x6.5.. load", not the scenario as written.
    name = yaml.safe_load(scenario_file.read_text())["name"]
    assert run["scenario"].startswith(f"{name} at x6.5") and run["scenario"].endswith(" load"), run["scenario"]


def test_a_long_scenario_name_gives_up_its_end_for_the_load(scenario_file, tmp_path):
    """A name near the 256-character limit made the answer's run invalid after the whole search: nothing written."""
    out_dir = tmp_path / "answer"
    assert main(["headroom", str(scenario_file), "--replications", "1", "--set", "name=" + "q" * 250, "--out",
                 str(out_dir)]) == 0
    name = json.loads((out_dir / "run" / "summary.json").read_text())["scenario"]
    assert len(name) == 256 and name.startswith("q" * 200) and name.endswith(" load"), name
