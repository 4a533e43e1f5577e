"""What the commands print for people: help, tables that fit a terminal, wording of counts, means and differences."""

from __future__ import annotations

import re

import pytest
import yaml

from simulator.cli.core import main
from simulator.cli.run import _pct

from .conftest import BASE, SCENARIOS, deep_merge

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


def _cells(text: str, label: str) -> list[str]:
    """The cells of the table row whose first cell is ``label``."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in:\n{text}")


def test_compare_calls_one_invocation_noise_and_prints_small_differences_whole(capsys):
    """quickstart has one subnet_ips failure in 193,106 invocations; on Hyperplane none. That was "better" in five
    rows, and the share's difference printed as "-<0.001%"."""
    assert main(["compare", str(SCENARIOS / "quickstart.yaml"), "--set", "platform=hyperplane"]) == 0
    text = capsys.readouterr().out
    assert "-<" not in text and "+<" not in text
    failed = _cells(text, "failed")
    assert failed[1:4] == ["1", "0", "-1"] and failed[-1] == "within noise"
    assert _cells(text, "failure rate")[3] == "-0.00052 pp"  # percentage points, beside a relative change in %
    assert _cells(text, "first failure at")[-1] == "within noise"
    assert _cells(text, "cold starts")[-1] == "better"  # 274 against 181: far outside the noise
    assert "within noise: B differs from A by less than the run-to-run noise" in text


def _depth(text: str) -> int:
    """How deeply parentheses nest in ``text``."""
    depth = deepest = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        deepest = max(deepest, depth)
    return deepest


def test_replicated_expectation_values_do_not_nest_parentheses(tmp_path, capsys):
    """A rate is written "0.0002157 (0.0216%)"; its interval in parentheses nested them:
    "0.0002157 (0.0216%) (0 .. 0.0005639 (0.0564%))"."""
    spiky = {"process": "poisson", "rate": 80}
    path = scenario_file(tmp_path, functions=[dict(BASE["functions"][0], arrivals=spiky)],
                         expect={"failure_rate": "<= 1"}, replications=3)
    assert main(["check", path]) == 0
    check = capsys.readouterr().out
    assert main(["run", path]) == 0
    run = capsys.readouterr().out
    for text in (check, run):
        row = next(line for line in text.splitlines() if "failure_rate" in line and "<= 1" in line)
        assert "95% interval" in row and _depth(row) == 1, row


def test_run_lists_the_scenarios_events(tmp_path, capsys):
    """An AZ outage or an address grab showed only as shading in the figures."""
    events = [{"at": 30, "kind": "az_outage", "az": "az-a", "for": 10},
              {"at": 20, "kind": "ips_taken", "subnet": "b", "count": 3},
              {"at": 45, "kind": "ips_released", "subnet": "b", "count": 1}]
    path = scenario_file(tmp_path, duration=60, events=events)
    assert main(["run", path]) == 0
    text = capsys.readouterr().out
    assert "Events" in text
    assert _cells(text, "20s") == ["20s", "ips_taken", "3 addresses of b taken by other workloads", ""]
    assert _cells(text, "30s") == ["30s", "az_outage", "az-a is down (subnet a)", "10s"]
    assert _cells(text, "45s") == ["45s", "ips_released", "1 address of b released by other workloads", ""]


def test_run_without_events_prints_no_events_table(tmp_path, capsys):
    assert main(["run", scenario_file(tmp_path)]) == 0
    assert "Events" not in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------- 80 columns


def _on_a_terminal(*argv: str, columns: int = 80) -> tuple[int, str]:
    """Exit code and what ``vpcsim ARGV`` shows on a terminal ``columns`` wide: stdout is a pseudo-terminal of that
    size (and COLUMNS says so), as when a person types the command; ANSI styles are removed."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import tempfile
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = dict(os.environ, COLUMNS=str(columns), TERM="xterm", NO_COLOR="1")
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([sys.executable, "-m", "simulator", *argv], stdin=subprocess.DEVNULL, stdout=follower,
                                stderr=errors, env=env, cwd=SCENARIOS.parent)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the command ended and closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=120)
        os.close(leader)
        errors.seek(0)
        assert b"Traceback" not in errors.read()
    text = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_every_table_fits_80_columns_and_no_cell_is_cut(tmp_path):
    """At 80 columns capacity showed `1,0…` and `su…`, run's ceilings `subne…`: rich cut what did not fit."""
    pytest.importorskip("termios")  # a pseudo-terminal: POSIX only
    long_paths = scenario_file(tmp_path, "long.yaml", expect={
        "capacity.functions.f.binding": "== subnet_ips", "subnets.a.min_free_ips": ">= 0",
        "functions.f.cold_start_ms.p99": "< 1h"})
    runs = {
        "run": (["run", "scenarios/az-outage.yaml"], 1, ["SubnetIPAddressLimitReachedE", "534,250", "38,651",
                                                       "az_outage", "us-east-1a is down"]),
        "capacity": (["capacity", "scenarios/spike-exhausts-subnets.yaml"], 0, ["3,000", "launch-api", "subnet_ips"]),
        "check": (["check", "scenarios/quickstart.yaml", long_paths], 0, ["capacity.functions.f.binding",
                                                                         "5.179e-06", "latency_ms.p50"]),
        "sweep": (["sweep", long_paths, "--vary", "functions.f.memory_mb=512,1024,2048", "--vary",
                   "vpc.subnets.a.cidr=10.0.1.0/28,10.0.1.0/27"], 0, ["10.0.1.0/27", "2048"]),
        "compare": (["compare", "scenarios/quickstart.yaml", "--set", "platform=hyperplane"], 0,
                    ["193,106", "-0.00052 pp", "within noise", "subnet_ips"]),
    }
    for name, (argv, expected_code, shown) in runs.items():
        code, text = _on_a_terminal(*argv)
        assert code == expected_code, (name, text)
        assert "…" not in text, (name, text)
        widest = max(text.splitlines(), key=len)
        assert len(widest) <= 80, (name, widest)
        for whole in shown:
            assert whole in text, (name, whole, text)
        assert "┏" in text, (name, "no table")


def test_output_that_is_not_a_terminal_keeps_whole_lines(capsys):
    """A CI log or a file keeps 200 columns: the capacity table stays one row per function, sentences one line."""
    assert main(["capacity", str(SCENARIOS / "spike-exhausts-subnets.yaml")]) == 0
    text = capsys.readouterr().out
    header = next(line for line in text.splitlines() if "function" in line)
    assert "memory" in header and "binding" in header
    assert any(line.startswith("All functions at their projected peaks") and line.endswith(".")
               for line in text.splitlines())


def test_the_readmes_verdict_is_what_run_prints(capsys):
    readme = (SCENARIOS.parent / "README.md").read_text(encoding="utf-8")
    quoted = next(line for line in readme.splitlines() if line.startswith("1 of 1 expectation failed: failure_rate"))
    assert main(["run", str(SCENARIOS / "az-outage.yaml")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert quoted in lines
    # The verdict comes after the estimate, the lint findings and the heading, before any table.
    assert lines.index(quoted) < next(i for i, line in enumerate(lines) if line.startswith("Outcomes"))


def test_means_of_counts_are_rounded_and_said_to_be_means(tmp_path, capsys):
    """With replications run printed "193,320.33333333334" invocations and "Cold starts: 272.3333333333333"."""
    path = scenario_file(tmp_path, functions=[dict(BASE["functions"][0], arrivals={"process": "poisson", "rate": 7})])
    assert main(["run", path, "--replications", "3"]) == 0
    text = capsys.readouterr().out.split("Across 3 replications")[0]  # that table gives means and intervals
    counts = "\n".join(line for line in text.splitlines() if not line.startswith("Cost"))  # dollars have cents
    assert not re.search(r"\d\.\d{2,}(?![\d%])", counts), text  # a count with decimals (not a share)
    prose = next(line for line in text.splitlines() if "Cold starts" in line)
    assert prose.startswith("On average over 3 replications: concurrency mean"), prose


def test_key_figures_of_replications_round_means_of_counts():
    """check's failure explanation printed "failed 39,177.3" and "az_outage 34.33" for means of 3 replications."""
    import simulator as vs
    from simulator.analysis.expectations import key_figures

    s = dict(vs.simulate(vs.scenario_from_dict(BASE)).summary)
    s.update(invocations=533_819.4, failed=39_177.3, replications={"n": 3},
             outcomes=dict(s["outcomes"], subnet_ips=39_141.7, az_outage=34.33, timeout=1.33))
    text = key_figures(s)
    assert "invocations 533,819: failed 39,177 (" in text
    assert "failures by cause: subnet_ips 39,142, az_outage 34, timeout 1.3" in text
    assert text.endswith("(on average over 3 replications)")


# --------------------------------------------------------------------------------------------------- prose in CI logs


def test_a_rare_outcome_is_not_shown_as_zero_percent():
    assert _pct(2 / 534_250) == "<0.001%"
    assert _pct(0) == "0%"  # one formatter for shares, the report's and the command line's
    assert _pct(0.0005) == "0.050%"


def test_long_lint_findings_stay_on_one_line_in_a_log(tmp_path, capsys):
    names = [f"function-with-a-long-descriptive-name-{i:02d}" for i in range(4)]
    fn = BASE["functions"][0]
    path = scenario_file(tmp_path, functions=[
        dict(fn, name=n, subnets=["a"], arrivals={"process": "constant", "rate": 50}) for n in names])
    assert main(["validate", path]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "[shared-subnet]" in ln)
    assert len(line) > 160 and "free addresses" in line


def test_scenario_names_are_text_not_console_markup(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(deep_merge(BASE, {"name": "[red]checkout[/red]"})))
    assert main(["capacity", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Capacity of [red]checkout[/red]" in out


def test_capacity_table_headers_are_not_wrapped_in_a_log(tmp_path, capsys):
    assert main(["capacity", scenario_file(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ENIs (doc formula)" in out  # a 12-column table is wider than 160 columns (capacity: at the mean in service)


def _account(tmp_path) -> str:
    """40 functions outside a VPC: f37 throttled by a reservation of 1 (3 calls a second of 1 s), f38 with a
    reservation of 12 that holds (the least headroom of those without trouble), the others roomy."""
    functions = []
    for i in range(40):
        f = dict(BASE["functions"][0], name=f"f{i:02d}", subnets=[], arrivals={"process": "constant", "rate": 1})
        if i == 37:
            f.update(reserved_concurrency=1, arrivals={"process": "constant", "rate": 3})
        if i == 38:
            f.update(reserved_concurrency=12)
        functions.append(f)
    return scenario_file(tmp_path, duration=30, functions=functions)


def test_many_functions_show_those_that_need_attention_first(tmp_path, capsys):
    # An imported account has thousands of functions: beyond 30 the tables show the 30 that failed or were
    # throttled most, then those with the least headroom, and say how many more there are and where they are.
    path = _account(tmp_path)
    assert main(["run", path]) != 2
    text = capsys.readouterr().out
    table = text[text.index("Ceilings (closed form)"):]
    rows = [line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│")]
    assert len(rows) == 30 and rows[:2] == ["f37", "f38"], rows
    assert "the 30 of 40 functions that failed or were throttled most" in " ".join(table.split())
    assert "10 more functions, none with failures or throttles, none with less headroom: every function is in --json" \
        in " ".join(text.split())
    assert main(["capacity", path]) == 0
    text = capsys.readouterr().out
    rows = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
    assert rows[:2] == ["f37", "f38"] and len([r for r in rows if r.startswith("f")]) == 30, rows
    assert "10 more functions, none with less headroom" in " ".join(text.split())


def test_the_report_verdict_of_many_functions_names_those_above_their_ceiling_and_sums_up_the_rest(tmp_path):
    import simulator as vs
    from simulator.present.report import verdict

    sc = vs.load_scenario(_account(tmp_path))
    r = vs.simulate(sc)
    details = verdict(r.summary, r.timeseries, sc.timestep)["details"]
    named = [d for d in details if d.startswith("f")]
    assert len(named) == 1 and named[0].startswith("f37: the projected peak (p99.9)"), details
    assert "The other 39 functions fit their ceilings at the projected peak (p99.9), each on its own." in details
    few = vs.load_scenario(scenario_file(tmp_path, "few.yaml"))
    r = vs.simulate(few)
    assert [d for d in verdict(r.summary, r.timeseries, few.timestep)["details"] if d.startswith("f:")]
