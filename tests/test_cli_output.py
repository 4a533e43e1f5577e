"""What the commands print for people: help, tables that fit a terminal, wording of counts, means and differences."""

from __future__ import annotations

import re

import pytest

from simulator.cli import main

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
