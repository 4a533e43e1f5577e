"""The foundation commands through the real entry point (``simulator.cli.core.main``): validate, capacity, schema.

Every malformed file of ``test_scenario.CASES`` goes through ``validate`` and ``capacity``: exit code 2, exactly one
``FILE:LINE: path: message`` line per problem on stderr, nothing on stdout, and never a traceback.
"""

from __future__ import annotations

import json
import math

import pytest

from simulator.cli.core import main

from .conftest import HAVE_TRACES, SCENARIOS
from .test_scenario import BASE, CASES, variant


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def expected_lines(path, problems) -> list[str]:
    out = []
    for line, where, message in problems:
        head = f"{path}:{line}" if line is not None else str(path)
        out.append(f"{head}: {where}: {message}" if where else f"{head}: {message}")
    return out


@pytest.mark.parametrize("command", ["validate", "capacity"])
@pytest.mark.parametrize("case", list(CASES))
def test_malformed_file_exits_2_with_one_line_per_problem(tmp_path, capsys, command, case):
    replace, append, problems = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(variant(replace, append))
    problems = [(line, p, msg.replace("{dir}", str(tmp_path))) for line, p, msg in problems]
    code, out, err = run(capsys, command, str(path))
    assert code == 2
    assert err.splitlines() == expected_lines(path, problems)
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize(("argv", "message"), [
    (["validate", "{dir}/nope.yaml"], "{dir}/nope.yaml: no such file"),
    (["capacity", "{dir}/nope.yaml"], "{dir}/nope.yaml: no such file"),
    (["validate", "{dir}"], "{dir}: is a folder, not a scenario file"),
    (["capacity", "{dir}"], "{dir}: is a folder, not a scenario file"),
    (["capacity", "{dir}/ok.yaml", "--set", "functions.g.memory_mb=2048"],
     "{dir}/ok.yaml: --set functions.g.memory_mb: no function named 'g' (functions: f)"),
    (["capacity", "{dir}/ok.yaml", "--set", "functions.f.memory_mb=lots"],
     "{dir}/ok.yaml: --set functions.f.memory_mb: must be a whole number (got 'lots')"),
    (["capacity", "{dir}/ok.yaml", "--set", "functions.f.memory_mb=64"],
     "{dir}/ok.yaml: --set functions.f.memory_mb: must be between 128 and 10240 (got 64)"),
    (["capacity", "{dir}/ok.yaml", "--set", "vpc.subnets.a.cidr=10.0.1.0/30"],
     "{dir}/ok.yaml: --set vpc.subnets.a.cidr: a subnet is /16 to /28 (got /30)"),
    (["capacity", "{dir}/ok.yaml", "--set", "functions.f.duration=10 minutes"],
     "{dir}/ok.yaml: --set functions.f.duration: not a duration: '10 minutes' (use a number of seconds or a "
     "string like '250ms', '30s', '10m', '2h', '1h30m')"),
    (["capacity", "{dir}/ok.yaml", "--set", "memory"],
     "vpcsim: error: --set 'memory': expected PATH=VALUE, e.g. functions.checkout.memory_mb=2048"),
])
def test_bad_paths_and_bad_changes_exit_2_with_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "ok.yaml").write_text(BASE)
    code, out, err = run(capsys, *(a.replace("{dir}", str(tmp_path)) for a in argv))
    assert code == 2
    assert err.splitlines() == [message.replace("{dir}", str(tmp_path))]
    assert out == ""


def test_validate_reports_every_file_and_fails_if_any_is_bad(tmp_path, capsys):
    (tmp_path / "ok.yaml").write_text(BASE)
    (tmp_path / "bad.yaml").write_text(variant({13: "    memory_mb: 64"}))
    code, out, err = run(capsys, "validate", str(tmp_path / "bad.yaml"), str(tmp_path / "ok.yaml"))
    assert code == 2
    assert err.splitlines() == [f"{tmp_path / 'bad.yaml'}:13: functions[0].memory_mb: must be between 128 and "
                                f"10240 (got 64)"]
    assert out.splitlines() == [f"{tmp_path / 'ok.yaml'}: ok"]


def test_lint_warnings_pass_validate_unless_strict(tmp_path, capsys):
    path = tmp_path / "single.yaml"
    path.write_text(variant({14: "    subnets: [a]"}))
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0
    assert out.splitlines()[0] == f"{path}: ok, 1 warning"
    assert "warning [single-az] f: all subnets are in az-a" in out
    assert "note [unused-subnet]" in out
    code, _, _ = run(capsys, "validate", "--strict", str(path))
    assert code == 2
    # Notes alone do not fail --strict.
    (tmp_path / "note.yaml").write_text(variant({13: "    memory_mb: 1000"}))
    assert run(capsys, "validate", "--strict", str(tmp_path / "note.yaml"))[0] == 0


def test_shipped_scenarios_validate(capsys):
    paths = sorted(str(p) for p in SCENARIOS.glob("*.yaml") if HAVE_TRACES or "azure" not in p.name)
    code, out, err = run(capsys, "validate", *paths)
    assert code == 0 and err == ""
    assert all(f"{p}: ok" in out for p in paths)


# --------------------------------------------------------------------------------------------------- capacity


def _strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_capacity_json_has_the_documented_shape(capsys):
    code, out, err = run(capsys, "capacity", str(SCENARIOS / "quickstart.yaml"), "--json")
    assert code == 0 and err == ""
    cap = _strict_json(out)
    assert list(cap) == ["scenario", "peak_quantile", "functions", "subnets", "total", "lint"]
    assert cap["peak_quantile"] == 0.999
    assert cap["scenario"] == "quickstart"
    api = cap["functions"]["api"]
    assert list(api) == ["memory_mb", "slots_per_eni", "projected_peak", "peak_in_service", "enis_formula",
                         "enis_packed", "enis_at_peak", "ceilings", "binding"]
    assert list(api["ceilings"]) == ["concurrency", "subnet_ips", "eni_quota", "n_minus_1", "scaling_s"]
    assert api["binding"] in ("concurrency", "subnet_ips", "eni_quota")
    assert all(isinstance(api[k], int) for k in ("memory_mb", "slots_per_eni", "projected_peak", "peak_in_service",
                                                 "enis_formula", "enis_packed", "enis_at_peak"))
    assert isinstance(api["ceilings"]["scaling_s"], float)
    for s in cap["subnets"].values():
        assert list(s) == ["az", "usable_ips", "free_ips", "projected_enis", "enis_at_peak"]
    assert list(cap["total"]) == ["projected_peak", "peak_in_service", "enis_formula", "enis_packed", "enis_at_peak",
                                  "eni_quota_free", "scaling_s"]
    for f in cap["lint"]:
        assert list(f) == ["level", "rule", "function", "message"]
    # By hand: 1024 MB → 3 per ENI; two /26 with 10 taken: 49 + 49 free → 294; quota (350 - 20) × 3 = 990;
    # N-1: 49 × 3 = 147; 144 projected executions → 48 ENIs.
    assert (api["slots_per_eni"], api["ceilings"]["subnet_ips"], api["ceilings"]["eni_quota"],
            api["ceilings"]["n_minus_1"], api["projected_peak"], api["enis_packed"]) == (3, 294, 990, 147, 144, 48)
    assert cap["subnets"]["app-a"] == {"az": "us-east-1a", "usable_ips": 59, "free_ips": 49, "projected_enis": 24,
                                       "enis_at_peak": math.ceil(api["enis_at_peak"] / 2)}
    assert api["enis_at_peak"] == math.ceil(api["peak_in_service"] / 3)


def test_capacity_json_writes_a_never_reached_peak_as_null(tmp_path, capsys):
    path = tmp_path / "x.yaml"
    path.write_text(variant({6: "  unreserved_min: 100\n  scaling: {model: burst, burst: 0, per_minute: 0}"}))
    code, out, _ = run(capsys, "capacity", str(path), "--json")
    assert code == 0
    cap = _strict_json(out)
    assert cap["functions"]["f"]["ceilings"]["scaling_s"] is None and cap["total"]["scaling_s"] is None
    code, out, _ = run(capsys, "capacity", str(path))
    assert code == 0 and "scaling needs forever" in out and "never reaches" in out


def test_capacity_tables_name_the_binding_limit(capsys):
    code, out, _ = run(capsys, "capacity", str(SCENARIOS / "spike-exhausts-subnets.yaml"))
    assert code == 0
    assert "launch-api" in out and "subnet_ips" in out and "(peak above)" in out
    assert "warning [subnet-ips] launch-api" in out
    assert "Subnets at the projected peaks" in out


def test_capacity_applies_set(capsys):
    code, out, _ = run(capsys, "capacity", str(SCENARIOS / "quickstart.yaml"), "--json",
                       "--set", "functions.api.memory_mb=128", "--set", "vpc.subnets.app-a.cidr=10.0.1.0/24")
    assert code == 0
    cap = _strict_json(out)
    assert cap["functions"]["api"]["slots_per_eni"] == 24
    assert cap["subnets"]["app-a"]["usable_ips"] == 251
    code, out, _ = run(capsys, "capacity", str(SCENARIOS / "quickstart.yaml"), "--json", "--set",
                       "platform=hyperplane")
    assert _strict_json(out)["functions"]["api"]["slots_per_eni"] == 65000


# --------------------------------------------------------------------------------------------------- schema


def test_schema_prints_json_schema(capsys):
    code, out, err = run(capsys, "schema")
    assert code == 0 and err == ""
    schema = _strict_json(out)
    assert schema["title"].startswith("vpcsim scenario") and "functions" in schema["required"]
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)


_PROBE = """
import contextlib, io, sys
from simulator.cli.core import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print("LOADED:" + " ".join(sorted(m for m in ("pandas", "matplotlib", "scipy", "pydantic", "numpy", "simpy",
                                  "simulator.engine.model") if m in sys.modules)))
"""


@pytest.mark.parametrize(("args", "loaded"), [
    (["--help"], ""),  # the app, typer and rich: no pydantic, no numpy
    (["run", "--help"], "pydantic"),  # typer reads a command's parameters through its pydantic adapters
    (["validate", "scenarios/quickstart.yaml"], "numpy pydantic"),  # the lint's closed forms need numpy
    (["capacity", "scenarios/quickstart.yaml"], "numpy pydantic"),
    (["schema"], "numpy pydantic"),
])
def test_commands_that_simulate_nothing_load_no_heavy_library(args, loaded):
    # `--help`, `validate`, `capacity` and `schema` start fast: pandas, matplotlib, scipy and the engine are imported
    # where they are used (a run, a figure, a trace). In a fresh interpreter, as a user's shell starts one.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=root,
                         check=True, timeout=60).stdout
    assert [line for line in out.splitlines() if line.startswith("LOADED:")] == [f"LOADED:{loaded}"], out[-300:]
