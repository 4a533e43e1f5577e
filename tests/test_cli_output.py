"""What the commands print for people: help, tables that fit a terminal, wording of counts, means and differences."""

from __future__ import annotations

import re

import pytest
import yaml

from simulator.cli import main

from .conftest import BASE, deep_merge

COMMANDS = [["run"], ["validate"], ["capacity"], ["schema"], ["check"], ["sweep"], ["compare"], ["report"],
            ["import"], ["import", "azure2019"], []]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "vpcsim")
def test_help_names_arguments_as_the_readme_does(command, capsys):
    """Typer wrote `{SCENARIO}` in the usage line and Python types (`<path>`, `<list[Path]>`, `<int>`) beside the
    arguments and options."""
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert not re.search(r"[{}]|<[^>]*>|list\[", text), text
    usage = text.splitlines()[0]
    expected = {"run": "SCENARIO", "validate": "SCENARIO...", "check": "PATH...", "compare": "SCENARIO...",
                "report": "DIR", "azure2019": "DIR"}.get(command[-1] if command else "")
    if expected:
        assert usage.endswith(f"[OPTIONS] {expected}"), usage


def scenario_file(tmp_path, name: str = "s.yaml", **changes) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(deep_merge(BASE, changes)), encoding="utf-8")
    return str(path)


def test_sweep_of_one_integer_parameter_prints_integers(tmp_path, capsys):
    """With one --vary and every other column numeric (a first failure in each run), pandas turned each row into
    floats: memory_mb showed as 1024.0."""
    path = scenario_file(tmp_path, functions=[dict(BASE["functions"][0], arrivals={"process": "constant", "rate": 80})])
    assert main(["sweep", path, "--vary", "functions.f.memory_mb=1024,2048"]) == 0
    rows = [line.split("│")[1].strip() for line in capsys.readouterr().out.splitlines() if line.startswith("│")]
    assert rows == ["1024", "2048"]
