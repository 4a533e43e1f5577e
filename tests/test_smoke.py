"""End-to-end smoke: the README's quick start through the real entry point."""

from __future__ import annotations

import json

from simulator.cli import main

from .conftest import SCENARIOS


def test_quickstart_runs_and_prints_a_verdict(capsys):
    assert main(["run", str(SCENARIOS / "quickstart.yaml")]) == 0
    text = capsys.readouterr().out
    assert "quickstart" in text and ("Fits" in text or "Does not fit" in text)


def test_quickstart_json_summary_has_every_key(capsys):
    from simulator.results import SUMMARY_KEYS

    assert main(["run", str(SCENARIOS / "quickstart.yaml"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert list(summary) == list(SUMMARY_KEYS)
    assert summary["invocations"] == sum(summary["outcomes"].values())
