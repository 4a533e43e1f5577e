"""The README and docs/ci.md show examples a reader copies: they must do what the text says. The example scenario
(`checkout-peak`) must hold the CI expectations printed beside it, in both documents."""

from __future__ import annotations

import re

import yaml

from simulator.cli.core import main

from .conftest import ROOT


def yaml_blocks(path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_the_ci_expectations_shown_hold_for_the_example_scenario(tmp_path, capsys):
    (scenario,) = [b for b in yaml_blocks(ROOT / "README.md") if "name: checkout-peak" in b]
    merged: dict[str, list] = {}
    for doc in ("README.md", "docs/ci.md"):
        (block,) = [b for b in yaml_blocks(ROOT / doc) if b.lstrip().startswith(("expect:", "# capacity/checkout"))]
        for path, cond in yaml.safe_load(block)["expect"].items():
            merged.setdefault(path, []).extend(cond if isinstance(cond, list) else [cond])
    expect = {path: sorted(set(conds)) for path, conds in merged.items()}
    n = sum(len(c) for c in expect.values())
    assert n >= 9
    path = tmp_path / "checkout-peak.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(scenario), "expect": expect}, sort_keys=False))
    code = main(["check", str(path), "--replications", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"{n} expectations in 1 scenario: {n} held, 0 failed" in out
