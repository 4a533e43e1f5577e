"""Scenarios with `infrastructure:` (the template is imported afresh on every load): `vpcsim check` and the pytest
plugin run them; a change of the template's subnets changes the verdict; errors point at the template's line or the
scenario's, whichever is at fault; `--set` works on the merged result."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import simulator as vs
from simulator.cli.core import main
from simulator.scenario.problems import ScenarioError

DATA = Path(__file__).parent / "data" / "iac"
CI = DATA / "orders-ci.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A team's repository: the template and the CI scenario beside it."""
    (tmp_path / "cloudformation").mkdir()
    shutil.copy(DATA / "cloudformation" / "orders-sam.yaml", tmp_path / "cloudformation" / "orders-sam.yaml")
    shutil.copy(CI, tmp_path / "orders-ci.yaml")
    return tmp_path


def _shrink_subnets(repo: Path) -> None:
    tpl = repo / "cloudformation" / "orders-sam.yaml"
    text = tpl.read_text()
    assert "10.20.1.0/26" in text and "10.20.1.64/26" in text
    tpl.write_text(text.replace("10.20.1.0/26", "10.20.1.0/28").replace("10.20.1.64/26", "10.20.1.64/28"))


def test_loading_merges_the_template_and_the_scenario():
    sc = vs.load_scenario(CI)
    api, worker = sc.function("orders-api"), sc.function("OrdersWorker")
    # From the template: memory, subnets, provisioned concurrency; from the scenario: the load.
    assert (api.memory_mb, api.subnets, api.provisioned_concurrency) == (1024, ("PrivateA", "PrivateB"), 20)
    assert len(api.arrivals) == 2 and api.duration is not None
    assert worker.arrivals == () and worker.reserved_concurrency == 100  # no entry: nothing arrives
    assert sc.subnet("PrivateA").ips_in_use == 6 and sc.subnet("PrivateB").ips_in_use == 0
    assert sc.name == "orders-ci" and sc.duration == 600
    # By hand, as for the imported file: 1024 MB -> 3 per ENI; (59 - 6) + 59 addresses.
    cap = vs.capacity(sc)["functions"]["orders-api"]
    assert cap["ceilings"]["subnet_ips"] == (53 + 59) * 3
    # Marks of the scenario's own keys survive the merge (check and the plugin quote the expectation's line).
    assert sc._marks[("expect", "failure_rate")] == CI.read_text().splitlines().index(
        '  failure_rate: "<= 0.001"') + 1
    # --set works on the merged result, by the template's names.
    sc2 = sc.with_changes({"functions.OrdersWorker.memory_mb": 512, "vpc.subnets.PrivateB.ips_in_use": 9})
    assert sc2.function("OrdersWorker").memory_mb == 512 and sc2.subnet("PrivateB").ips_in_use == 9


def test_check_passes_and_a_smaller_subnet_in_the_template_fails_it(repo, capsys):
    scenario = repo / "orders-ci.yaml"
    assert main(["check", str(scenario)]) == 0
    assert "2 expectations in 1 scenario: 2 held, 0 failed." in capsys.readouterr().out
    _shrink_subnets(repo)  # the branch changes the template's CIDRs; the scenario file is the same
    assert main(["check", str(scenario)]) == 1
    text = capsys.readouterr().out
    assert "FAIL" in text and "failure_rate" in text
    # vpcsim capacity says why: two /28 subnets hold (11 - 6) + 11 addresses, 3 environments each.
    cap = vs.capacity(vs.load_scenario(scenario))["functions"]["orders-api"]
    assert cap["ceilings"]["subnet_ips"] == (5 + 11) * 3


def test_the_pytest_plugin_runs_an_infrastructure_scenario(repo):
    def plugin() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "--vpcsim",
                               "orders-ci.yaml"], cwd=repo, capture_output=True, text=True, timeout=120)

    run = plugin()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASSED orders-ci.yaml::orders-ci" in run.stdout
    _shrink_subnets(repo)
    run = plugin()
    assert run.returncode == 1 and "FAILED orders-ci.yaml::orders-ci" in run.stdout
    assert "FAIL  failure_rate" in run.stdout and "[orders-ci.yaml:" in run.stdout and "Traceback" not in run.stdout


def _problem(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        vs.load_scenario(path)
    assert len(info.value.problems) == 1, info.value.problems
    return str(info.value.problems[0])


def test_errors_point_at_the_scenario_or_the_template(repo, capsys):
    scenario = repo / "orders-ci.yaml"
    text = scenario.read_text()
    lines = text.splitlines()
    # The scenario names a function the template does not have: the scenario's line, with a did-you-mean.
    scenario.write_text(text.replace("- name: orders-api", "- name: orders-apj"))
    line = lines.index("  - name: orders-api                 # matched by name: the load the template cannot say") + 1
    assert _problem(scenario) == (f"{scenario}:{line}: functions[0].name: no function 'orders-apj' in "
                                  f"{repo / 'cloudformation' / 'orders-sam.yaml'}; did you mean 'orders-api'?")
    # The scenario overrides a value badly: the scenario's line.
    scenario.write_text(text.replace("    duration: {dist: lognormal", "    memory_mb: 64\n    duration: {dist: lognormal"))
    mline = scenario.read_text().splitlines().index("    memory_mb: 64") + 1
    assert _problem(scenario) == f"{scenario}:{mline}: functions[0].memory_mb: must be between 128 and 10240 (got 64)"
    # The scenario gives arrivals but no duration: the scenario's entry is at fault, not the template.
    scenario.write_text("\n".join(x for x in lines if not x.startswith("    duration:")) + "\n")
    assert _problem(scenario) == f"{scenario}:{line}: functions[0].duration: required when the function has arrivals"
    # The template is wrong: the template's line (through `vpcsim validate`: one line, exit 2).
    scenario.write_text(text)
    tpl = repo / "cloudformation" / "orders-sam.yaml"
    tpl.write_text(tpl.read_text().replace("      MemorySize: 2048", "      MemorySize: 20480"))
    tline = tpl.read_text().splitlines().index("      MemorySize: 20480") + 1
    assert main(["validate", str(scenario)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"{repo / 'cloudformation' / 'orders-sam.yaml'}:{tline}: Resources.OrdersWorker.Properties."
                   f"MemorySize: Lambda accepts 128 to 10240 MB in whole MB (got 20480)")
    # A merged value the template gave that the scenario's settings make invalid: the template's item.
    tpl.write_text(tpl.read_text().replace("MemorySize: 20480", "MemorySize: 2048").replace(
        "ReservedConcurrentExecutions: 100", "ReservedConcurrentExecutions: 950"))
    msg = _problem(scenario)
    assert msg.startswith(f"{repo / 'cloudformation' / 'orders-sam.yaml'}:") and "Resources.OrdersWorker" in msg
    assert "reserved and provisioned concurrency add up to more than" in msg


@pytest.mark.parametrize("section, message", [
    ("infrastructure: {cloudformation: missing.yaml}", "infrastructure.cloudformation: no such file or folder: "),
    ("infrastructure: {cloudformation: cloudformation/orders-sam.yaml, parameter: {Env: dev}}",
     "infrastructure.parameter: unknown key 'parameter'; did you mean 'parameters'?"),
    ("infrastructure: {}", "infrastructure: names one source: cloudformation: PATH"),
    ("infrastructure: {cloudformation: cloudformation/orders-sam.yaml, terraform: plan.json}", "(got both"),
    ("infrastructure: {cloudformation: cloudformation/orders-sam.yaml, parameters: {Envv: dev}}",
     "infrastructure.parameters: Envv: no template parameter or Fn::ImportValue is named 'Envv'; did you mean"),
    ("infrastructure: {cloudformation: cloudformation/orders-sam.yaml, subnets: nope.yaml}",
     "infrastructure.subnets: no such file: "),
])
def test_bad_infrastructure_sections(repo, section, message):
    scenario = repo / "orders-ci.yaml"
    text = scenario.read_text()
    start = text.index("infrastructure:")
    end = text.index("functions:")
    scenario.write_text(text[:start] + section + "\n" + text[end:])
    line = scenario.read_text().splitlines().index(section) + 1
    msg = _problem(scenario)
    assert msg.startswith(f"{scenario}:{line}: "), msg
    assert message in msg, msg


def test_capacity_and_run_on_the_command_line(capsys):
    assert main(["capacity", str(CI), "--json", "--set", "vpc.subnets.PrivateA.cidr=10.20.1.0/28"]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert data["subnets"]["PrivateA"]["usable_ips"] == 11
    assert data["functions"]["orders-api"]["ceilings"]["subnet_ips"] == (5 + 59) * 3
