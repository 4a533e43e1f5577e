"""Hostile inputs (issue 12: items 3, 4, 7 and 10 of "must fix", item 2 of the newcomer's list).

A scenario may come from a pull request that CI validates, so every input is untrusted: the files it names (special
files must be refused, and an error must never print a file's contents), its YAML (an alias bomb must be refused
quickly), its numbers (every one has a finite range) and its size (validation stays linear). Each case ends in exit
code 2 and one line naming the file, the line and the field, never in a traceback, a hang or a silent acceptance.

Cases that would hang or eat the machine if they regressed (a FIFO, /dev/zero, an alias bomb) run in a subprocess
with a timeout and a memory limit. Each test here failed before the change it guards.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import random
import re
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import simulator as vs
from simulator import inputs
from simulator.cli.core import main
from simulator.scenario import models as scenario
from simulator.scenario import trace_files, traces, yaml_marks
from simulator.scenario.models import json_schema, load_scenario, scenario_from_dict
from simulator.scenario.problems import ScenarioError

from .conftest import ROOT

SECRET = "SECRETxyzzy42"

# Every section and numeric field a scenario has, each written out (one value per line once dumped).
FULL: dict = {
    "version": 1, "name": "hostile", "seed": 1, "duration": "10m", "warmup": "1m", "timestep": "10s",
    "replications": 1,
    "region": {"concurrency_limit": 1000, "unreserved_min": 100, "eni_quota": 350, "enis_in_use": 0,
               "scaling": {"model": "burst", "burst": 3000, "per_minute": 500},
               "ec2_api": {"bucket": 100, "refill_per_s": 5}},
    "vpc": {"eni_memory_gb": 3, "eni_attach": {"dist": "lognormal", "median": "6s", "p99": "15s"},
            "eni_idle_release": "10m", "eni_delete": "1m",
            "hyperplane": {"connections_per_eni": 65000, "eni_quota_per_vpc": 250, "create": "90s"},
            "subnets": [{"id": "a", "az": "az-a", "cidr": "10.0.1.0/24", "ips_in_use": 0},
                        {"id": "b", "az": "az-b", "cidr": "10.0.2.0/24", "ips_in_use": 0}]},
    "functions": [{"name": "f", "memory_mb": 1024, "subnets": ["a", "b"], "timeout": "10s",
                   "reserved_concurrency": 500, "provisioned_concurrency": 0,
                   "duration": {"dist": "lognormal", "median": "100ms", "p99": "1s"},
                   "init": {"dist": "gamma", "mean": "300ms", "cv": 0.5},
                   "keep_alive": {"dist": "uniform", "low": "5m", "high": "7m"},
                   "max_event_age": "1h", "client_retry": {"attempts": 3, "base": "100ms", "cap": "20s"},
                   "arrivals": [{"process": "poisson", "rate": 10}]}],
    "events": [{"at": "5m", "kind": "ips_taken", "subnet": "a", "count": 10},
               {"at": "6m", "kind": "az_outage", "az": "az-b", "for": "1m"}],
}


def dump(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err[:2000]
    assert "Traceback" not in err
    return lines[0]


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))


def cli(*argv, timeout: float = 60) -> subprocess.CompletedProcess:
    """The command in a child process with a timeout and a 2 GB memory limit: a regression hangs or fails the test,
    never the test run."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "simulator", *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=_limit_memory, env=env, errors="replace")


def scenario_with_trace(tmp_path: Path, target: str | Path, fmt: str, name: str = "s.yaml") -> Path:
    data = copy.deepcopy(FULL)
    data["functions"][0]["arrivals"] = [{"process": "trace", "format": fmt, "file": str(target),
                                         **({"function": "x"} if fmt.startswith("azure") else {})}]
    path = tmp_path / name
    path.write_text(dump(data))
    return path


# =================================================================================================== item 3: files


@pytest.fixture
def specials(tmp_path):
    """Paths that are not regular files, or are files of /proc and /sys: (path, the refusal's words)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock))
    s.close()
    (tmp_path / "environ-link").symlink_to("/proc/self/environ")
    (tmp_path / "zero-link").symlink_to("/dev/zero")
    found = {
        "fifo": (fifo, "is a FIFO (named pipe)"),
        "socket": (sock, "is a socket"),
        "/dev/zero": (Path("/dev/zero"), "is a character device"),
        "/dev/null": (Path("/dev/null"), "is a character device"),
        "/proc/self/environ": (Path("/proc/self/environ"), "is a file of /proc"),
        "/proc/self/status": (Path("/proc/self/status"), "is a file of /proc"),
        "/sys file": (Path("/sys/kernel/mm/transparent_hugepage/enabled"), "is a file of /sys"),
        "symlink to /proc/self/environ": (tmp_path / "environ-link", "is a file of /proc"),
        "symlink to /dev/zero": (tmp_path / "zero-link", "is a character device"),
    }
    return {k: v for k, v in found.items() if v[0].exists()}


# Before the fix these blocked forever (a FIFO) or read until memory ran out (/dev/zero): run in a child process.
BLOCKING = ("fifo", "/dev/zero", "symlink to /dev/zero")


def test_a_special_file_as_the_scenario_is_refused_in_one_line(specials, capsys):
    for which, (path, reason) in specials.items():
        if which in BLOCKING:
            continue
        for command in ("validate", "run"):
            code, out, err = run(capsys, command, path)
            assert code == 2, (which, command)
            assert one_line(err) == f"{path}: {reason}, not a scenario file" + (
                ": files of /proc and /sys are never read" if "file of" in reason else ": only regular files are read")
            assert out == ""
    blocking = [specials[w] for w in BLOCKING if w in specials]
    t0 = time.monotonic()
    done = cli("validate", *(p for p, _ in blocking), timeout=60)
    assert time.monotonic() - t0 < 30
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"{p}: {r}, not a scenario file: only regular files are read"
                                        for p, r in blocking]
    done = cli("run", specials["fifo"][0], timeout=60)
    assert done.returncode == 2 and one_line(done.stderr).startswith(f"{specials['fifo'][0]}: is a FIFO")


IAC = ROOT / "tests" / "data" / "iac"


@pytest.mark.parametrize("args, what", [
    (("import", "cloudformation", "{f}"), "a CloudFormation template"),
    (("import", "terraform", "{f}"), "a Terraform plan"),
    (("import", "cloudwatch", "{f}"), "a CloudWatch metrics file"),
    (("import", "cloudformation", str(IAC / "cloudformation" / "payments-plain.yaml"), "--load", "{f}"),
     "a --load file"),
    (("import", "cloudformation", str(IAC / "cloudformation" / "payments-plain.yaml"), "--subnets", "{f}"),
     "a --subnets file"),
])
def test_an_importer_refuses_a_special_file_in_one_line(tmp_path, specials, args, what):
    # Before the fix every importer read its files with Path.read_text: a FIFO blocked forever, /dev/zero read until
    # memory ran out. In a child process with a timeout and a memory limit.
    for which in ("fifo", "/dev/zero"):
        path, reason = specials[which]
        argv = [a.format(f=path) for a in args] + ["--out", str(tmp_path / "out.yaml")]
        done = cli(*argv, timeout=60)
        assert done.returncode == 2, (which, done.stderr[-300:])
        assert one_line(done.stderr) == f"vpcsim: error: {path}: {reason}, not {what}: only regular files are read"
        assert not (tmp_path / "out.yaml").exists()


def test_an_importer_bounds_what_a_file_expands_to(tmp_path):
    # A template whose aliases expand to billions of values ran out of memory (a MemoryError traceback), and JSON
    # nested 100,000 deep was a RecursionError traceback, in every JSON reader. Now one line and exit 2, like a
    # scenario file (the same bounds, simulator.scenario.yaml_marks). In a child process with a memory limit.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\nResources: {}\n")
    done = cli("import", "cloudformation", bomb, "--out", tmp_path / "out.yaml", timeout=60)
    assert done.returncode == 2
    assert one_line(done.stderr) == (f"vpcsim: error: {bomb}:7: expands to more than 2,000,000 values through its "
                                     f"aliases (limit 2000000)")
    deep = tmp_path / "deep.json"
    deep.write_text('{"Resources": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for source in ("cloudformation", "terraform", "cloudwatch"):
        done = cli("import", source, deep, "--out", tmp_path / "out.yaml", timeout=60)
        assert done.returncode == 2, (source, done.stderr[-300:])
        assert one_line(done.stderr) == f"vpcsim: error: {deep}: the JSON nests deeper than this reader can follow"
    assert not (tmp_path / "out.yaml").exists()


def test_a_special_file_as_a_trace_is_refused_in_one_line(tmp_path, specials, capsys):
    for which, (path, reason) in specials.items():
        if which in BLOCKING:
            continue
        for fmt in traces.FORMATS:
            scen = scenario_with_trace(tmp_path, path, fmt)
            code, _, err = run(capsys, "validate", scen)
            assert code == 2, (which, fmt)
            line = one_line(err)
            assert line.startswith(f"{scen}:"), line
            assert f"functions[0].arrivals[0].file: {path}: {reason}, not a trace file" in line
            assert len(line) < 400
    files = [scenario_with_trace(tmp_path, specials[w][0], "timestamps", f"{i}.yaml")
             for i, w in enumerate(BLOCKING) if w in specials]
    done = cli("validate", *files, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == len(files) and all("not a trace file: only regular files are read" in li for li in lines)


def test_the_environment_never_reaches_a_message(tmp_path, monkeypatch, capsys):
    # What the red team saw: `file: /proc/self/environ` printed every variable of the CI job.
    monkeypatch.setenv("VPCSIM_TEST_TOKEN", SECRET)
    for fmt in traces.FORMATS:
        scen = scenario_with_trace(tmp_path, "/proc/self/environ", fmt, f"{fmt}.yaml")
        code, out, err = run(capsys, "validate", scen)
        assert code == 2
        assert SECRET not in out + err and "PATH=" not in err
        one_line(err)


# A credentials file, an env file, a CSV with a secret cell, a header of secrets, a 10 KB cell, terminal escapes.
LEAKY = {
    "credentials": f"[default]\naws_access_key_id = AKIA{SECRET}\naws_secret_access_key = {SECRET}/abc\n",
    "env file": f"TOKEN={SECRET}\nPATH=/usr/bin\n",
    "csv with a secret cell": f"user,password\nroot,{SECRET}\n",
    "header of secrets": f"{SECRET},{SECRET}/x+y\n1,2\n",
    "one long cell": "timestamp\n" + "9" * 5 + "x" * 10000 + SECRET + "\n",
    "a secret after a long prefix": "count\n" + "y" * 45 + SECRET + "\n",
    "terminal escapes": "timestamp\n\x1b]0;owned\x07\x1b[31mred\n",
    "shadow-like": "root:$6$" + SECRET + ":19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
}


@pytest.mark.parametrize("fmt", traces.FORMATS)
@pytest.mark.parametrize("content", list(LEAKY))
def test_trace_errors_quote_at_most_a_short_sanitised_excerpt(tmp_path, capsys, content, fmt):
    trace = tmp_path / "leaky.csv"
    trace.write_text(LEAKY[content])
    scen = scenario_with_trace(tmp_path, trace, fmt)
    code, out, err = run(capsys, "validate", scen)
    assert code == 2
    line = one_line(err)
    assert SECRET not in out + err  # before: the secret line was quoted whole
    assert "\x1b" not in err and "\x07" not in err
    quoted = re.findall(r"'((?:[^'\\]|\\.)*)'", line.split("file: ", 1)[-1])
    assert all(len(q) <= inputs.EXCERPT_CHARS + 3 for q in quoted), line  # 16 characters and "..."


def test_excerpt_and_column_names():
    assert inputs.excerpt("abc") == "'abc'"
    assert inputs.excerpt("a\x1b[31m\x00b") == "'a?[31m?b'"
    assert inputs.excerpt("x" * 100) == "'" + "x" * inputs.EXCERPT_CHARS + "...'"
    known = trace_files._known
    assert inputs.column_names(["count"], known) == "1 column: count"
    assert inputs.column_names(["Timestamp", "fn", SECRET], known) == "3 columns: Timestamp and 2 others"
    assert inputs.column_names(["PATH=/usr/bin:/bin"], known) == "1 column"  # a header line of unknown content
    assert inputs.column_label(SECRET, 3, known) == "3" and inputs.column_label("480", 5, known) == "'480'"


def test_oversized_files_are_refused_before_a_byte_is_read(tmp_path, capsys, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_text(dump(FULL))
    os.truncate(big, inputs.MAX_SCENARIO_BYTES + 1)  # sparse: no disk used, no time spent
    code, _, err = run(capsys, "validate", big)
    assert code == 2
    assert one_line(err) == (f"{big}: has 8 MiB, more than a scenario file may have "
                             f"(limit {inputs.MAX_SCENARIO_BYTES:,} bytes = 8 MiB)")
    trace = tmp_path / "big.csv"
    trace.write_text("timestamp\n0\n")
    os.truncate(trace, inputs.MAX_TRACE_BYTES + 2**20)
    code, _, err = run(capsys, "validate", scenario_with_trace(tmp_path, trace, "timestamps"))
    assert code == 2
    assert f"{trace}: has 1 GiB, more than a trace file may have (limit 1,073,741,824 bytes = 1 GiB)" in one_line(err)


def test_reading_stops_at_the_limit_even_when_the_size_lies(tmp_path, monkeypatch):
    path = tmp_path / "s.yaml"
    path.write_text("x" * 1000)
    real = inputs._check
    monkeypatch.setattr(inputs, "_check", lambda p, st, what, limit: real(p, st, what, 10**9))
    with pytest.raises(inputs.InputFileError, match="has more than a scenario file may have"):
        inputs.read_text_file(path, what="a scenario file", limit_bytes=100)


def test_check_does_not_block_on_a_fifo_or_expand_a_bomb_in_the_folder(tmp_path):
    (tmp_path / "ok.yaml").write_text(dump({**FULL, "expect": {"failure_rate": "<= 1"}}))
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "bomb.yaml").write_text(BOMB)
    t0 = time.monotonic()
    done = cli("check", tmp_path, timeout=120)
    assert time.monotonic() - t0 < 60  # before: blocked on the FIFO forever
    assert "Traceback" not in done.stderr
    assert done.returncode in (0, 1), done.stderr[-2000:]


def test_a_special_file_in_a_results_folder_is_refused(tmp_path, capsys):
    from simulator.analysis.results_folder import ResultsFolderError, load_results

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "scenario.yaml").write_text(dump(FULL))
    (folder / "timeseries.csv").write_text("t_s\n0\n")
    os.mkfifo(folder / "summary.json")
    with pytest.raises(ResultsFolderError, match="is a FIFO"):
        load_results(folder)


# =================================================================================================== item 4: YAML

# 9 levels of 10 aliases each: 377 bytes that expand to 10^9 values (5.6-6.7 GB and minutes before).
BOMB = "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
MERGE_BOMB = "m0: &m0 {k0: 1}\n" + "".join(
    f"m{i}: &m{i}\n  <<: [{', '.join([f'*m{i - 1}'] * 10)}]\n  k{i}: 1\n" for i in range(1, 9))


def _block_nesting(n: int) -> str:
    return "x:\n" + "".join("  " * i + "-\n" for i in range(1, n)) + "  " * n + "- 1\n"


YAML_CASES = {
    # Line 7: a6, the first anchor whose expansion (10^7 values) passes the limit.
    "billion laughs": (BOMB, 7, "expands to more than 2,000,000 values through its aliases (limit 2000000)"),
    "bomb inside a section": (dump(FULL) + "x:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines()), None,
                              "(limit 2000000)"),
    "merge-key bomb": (MERGE_BOMB, None, "(limit 2000000)"),
    "alias bomb as a key": (BOMB + "? *a8\n: 1\n", None, "(limit 2000000)"),
    "recursive alias in a list": ("a: &a [*a]\n", 1, "a recursive alias: this value contains an alias to itself"),
    "recursive alias in a mapping": ("a: &a {b: *a}\n", 1, "a recursive alias"),
    "recursive merge": ("a: &a {<<: *a}\n", 1, "a recursive alias"),
    "500-deep list": ("x: " + "[" * 500 + "]" * 500 + "\n", 1, "nests deeper than 64 levels (limit 64)"),
    "500-deep mapping": ("x: " + "{a: " * 500 + "1" + "}" * 500 + "\n", 1, "nests deeper than 64 levels (limit 64)"),
    "1,001-deep list (beyond libyaml)": ("x: " + "[" * 1001 + "]" * 1001 + "\n", 1, "invalid YAML"),
    "500-deep block list": (_block_nesting(500), None, "nests deeper than 64 levels (limit 64)"),
    "a deep value through aliases": ("a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n",
                                     None, "nests deeper than 64 levels, aliases expanded (limit 64)"),
    "a number of 5,000 digits": ("seed: " + "9" * 5000 + "\n", 1, "a number of more than 4,300 digits"),
}


BOMBS = ("billion laughs", "bomb inside a section", "merge-key bomb", "alias bomb as a key")


@pytest.mark.parametrize("case", [c for c in YAML_CASES if c not in BOMBS])
def test_yaml_beyond_the_limits_is_refused_in_one_line(tmp_path, capsys, case):
    text, line, message = YAML_CASES[case]
    path = tmp_path / "x.yaml"
    path.write_text(text)
    code, out, err = run(capsys, "validate", path)  # before: a RecursionError traceback, or accepted
    assert code == 2
    got = one_line(err)
    assert got.startswith(f"{path}:{line}: " if line else f"{path}:"), got
    assert message in got


def test_alias_bombs_are_refused_quickly_in_one_line(tmp_path):
    paths = []
    for i, case in enumerate(BOMBS):
        paths.append(tmp_path / f"{i}.yaml")
        paths[-1].write_text(YAML_CASES[case][0])
    t0 = time.monotonic()
    done = cli("validate", *paths, timeout=120)  # before: each past 120 s and 5.6-6.7 GB
    assert time.monotonic() - t0 < 30
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    assert len(lines) == len(BOMBS), done.stderr[-3000:]
    for got, path, case in zip(lines, paths, BOMBS, strict=True):
        _, line, message = YAML_CASES[case]
        assert got.startswith(f"{path}:{line}: " if line else f"{path}:"), got
        assert message in got


def test_the_composer_refuses_a_bomb_without_building_it():
    t0 = time.monotonic()
    with pytest.raises(ScenarioError, match=r"f:7: expands to more than 2,000,000 values"):
        yaml_marks.compose_yaml(BOMB, "f")
    assert time.monotonic() - t0 < 2  # measured on the composed graph: milliseconds


def test_documents_within_the_limits_still_load(monkeypatch):
    data, marks = yaml_marks.compose_yaml("a: " + "[" * 63 + "]" * 63 + "\n", "f")  # 64 levels with the root mapping
    assert marks[("a",)] == 1
    with pytest.raises(ScenarioError, match="nests deeper than 64 levels"):
        yaml_marks.compose_yaml("a: " + "[" * 64 + "]" * 64 + "\n", "f")
    monkeypatch.setattr(yaml_marks, "MAX_YAML_NODES", 20)
    assert yaml_marks.compose_yaml("a: &x [1, 2, 3]\nb: [*x, *x]\n", "f")[0] == {"a": [1, 2, 3], "b": [[1, 2, 3]] * 2}
    with pytest.raises(ScenarioError, match=r"f:2: expands to more than 20 values through its aliases \(limit 20\)"):
        yaml_marks.compose_yaml("a: &x [1, 2, 3]\nb: [*x, *x, *x, *x, *x]\n", "f")


def test_aliases_beyond_their_limit_are_refused(monkeypatch):
    monkeypatch.setattr(yaml_marks, "MAX_YAML_ALIASES", 100)
    assert len(yaml_marks.compose_yaml("a: &a 1\nb: [" + ",".join(["*a"] * 100) + "]\n", "f")[0]["b"]) == 100
    with pytest.raises(ScenarioError, match=r"^f:2: more than 100 aliases \(limit 100\)$"):
        yaml_marks.compose_yaml("a: &a 1\nb: [" + ",".join(["*a"] * 101) + "]\n", "f")


def test_a_generated_scenario_full_of_aliases_loads(tmp_path):
    # yaml.safe_dump writes an anchor for each object a generator shares, and an alias for each further use: here
    # 12,000 (the first limit, 10,000, refused such a file).
    shared = {"dist": "lognormal", "median": "100ms", "p99": "1s"}
    data = copy.deepcopy(FULL)
    data["functions"] = [{**data["functions"][0], "name": f"f{i}", "reserved_concurrency": None, "duration": shared,
                          "init": shared, "keep_alive": shared} for i in range(4000)]
    text = yaml.safe_dump(data, sort_keys=False)
    assert text.count("*id") >= 11_999
    path = tmp_path / "generated.yaml"
    path.write_text(text)
    assert len(load_scenario(path).functions) == 4000


def test_anchors_and_aliases_in_a_real_scenario_still_work(tmp_path):
    text = dump(FULL).replace("duration:\n    dist: lognormal", "duration: &dur\n    dist: lognormal")
    data = yaml.safe_load(text)
    data["functions"].append({**copy.deepcopy(data["functions"][0]), "name": "g", "reserved_concurrency": 100})
    text = dump(data)
    path = tmp_path / "anchors.yaml"
    path.write_text(text)
    sc = load_scenario(path)
    assert sc.function("g").duration == sc.function("f").duration


SET_VALUES = {
    "500-deep list": ("[" * 500 + "]" * 500, "the value nests deeper than 64 levels (limit 64)"),
    "30,000-deep list": ("[" * 30000 + "]" * 30000, "not a valid YAML mapping or list"),
    "500-deep mapping": ("{a: " * 500 + "1" + "}" * 500, "the value nests deeper than 64 levels (limit 64)"),
    "recursive alias": ("&a [*a]", "the value a recursive alias: this value contains an alias to itself"),
    "alias bomb": ("{" + BOMB.strip().replace("\n", ", ") + "}", "(limit 2000000)"),
}


def _set_argv(path: Path, option: str, value: str) -> list:
    if option == "--set":
        return ["capacity", path, "--set", f"description={value}"]
    return ["sweep", path, "--vary", f"description={value}"]


@pytest.mark.parametrize("label", [v for v in SET_VALUES if v != "alias bomb"])
@pytest.mark.parametrize("option", ["--set", "--vary"])
def test_set_and_vary_values_are_read_within_the_same_limits(tmp_path, capsys, label, option):
    value, message = SET_VALUES[label]
    path = tmp_path / "ok.yaml"
    path.write_text(dump(FULL))
    code, _, err = run(capsys, *_set_argv(path, option, value))  # before: RecursionError tracebacks
    assert code == 2
    got = one_line(err)
    assert got.startswith(f"vpcsim: error: {option} description: "), got
    assert message in got and len(got) < 400


@pytest.mark.parametrize("option", ["--set", "--vary"])
def test_an_alias_bomb_in_a_set_or_vary_value_is_refused(tmp_path, option):
    path = tmp_path / "ok.yaml"
    path.write_text(dump(FULL))
    value, message = SET_VALUES["alias bomb"]
    done = cli(*_set_argv(path, option, value), timeout=120)  # before: --vary never ended
    assert done.returncode == 2, done.stderr[-3000:]
    got = one_line(done.stderr)
    assert got.startswith(f"vpcsim: error: {option} description: the value ") and message in got


# =================================================================================================== item 7: numbers

VALUES = {".inf": ".inf", "-.inf": "-.inf", ".nan": ".nan", "1e308": "1.0e+308", "10^1000": "1" + "0" * 1000,
          "true": "true", "'1024'": "'1024'"}

# (path in the data, field as the error names it, kind, changes that make the field take effect)
_F0 = ("functions", 0)
NUMERIC = [
    (("seed",), "int", None), (("duration",), "duration", None), (("warmup",), "duration", None),
    (("timestep",), "duration", None), (("replications",), "int", None),
    (("region", "concurrency_limit"), "int", None), (("region", "unreserved_min"), "int", None),
    (("region", "eni_quota"), "int", None), (("region", "enis_in_use"), "int", None),
    (("region", "scaling", "burst"), "int", None), (("region", "scaling", "per_minute"), "float", None),
    (("region", "ec2_api", "bucket"), "int", None), (("region", "ec2_api", "refill_per_s"), "float", None),
    (("vpc", "eni_memory_gb"), "float", None), (("vpc", "eni_idle_release"), "duration", None),
    (("vpc", "eni_delete"), "duration", None), (("vpc", "eni_attach", "median"), "duration", None),
    (("vpc", "eni_attach", "p99"), "duration", None), (("vpc", "eni_attach"), "duration", None),
    (("vpc", "hyperplane", "connections_per_eni"), "int", None),
    (("vpc", "hyperplane", "eni_quota_per_vpc"), "int", None), (("vpc", "hyperplane", "create"), "duration", None),
    (("vpc", "subnets", 0, "ips_in_use"), "int", None),
    (_F0 + ("memory_mb",), "int", None), (_F0 + ("reserved_concurrency",), "int", None),
    (_F0 + ("provisioned_concurrency",), "int", None), (_F0 + ("timeout",), "duration", None),
    (_F0 + ("max_event_age",), "duration", None), (_F0 + ("duration",), "duration", None),
    (_F0 + ("duration", "median"), "duration", None), (_F0 + ("duration", "p99"), "duration", None),
    (_F0 + ("init", "mean"), "duration", None), (_F0 + ("init", "cv"), "float", None),
    (_F0 + ("keep_alive", "low"), "duration", None), (_F0 + ("keep_alive", "high"), "duration", None),
    (_F0 + ("client_retry", "attempts"), "int", None), (_F0 + ("client_retry", "base"), "duration", None),
    (_F0 + ("client_retry", "cap"), "duration", None),
    (_F0 + ("arrivals", 0, "rate"), "rate", None),
    (("events", 0, "at"), "duration", None), (("events", 0, "count"), "int", None),
    (("events", 1, "for"), "duration", None),
    # Other distributions and arrival processes, each put in place first.
    (_F0 + ("duration", "mean"), "duration", {"dist": "exponential", "mean": 1}),
    (_F0 + ("duration", "value"), "duration", {"dist": "constant", "value": 1}),
    (_F0 + ("duration", "mean"), "duration", {"dist": "normal", "mean": 1, "sd": 1}),
    (_F0 + ("duration", "sd"), "duration", {"dist": "normal", "mean": 1, "sd": 1}),
    (_F0 + ("duration", "mean"), "duration", {"dist": "lognormal", "mean": 1, "cv": 1}),
    (_F0 + ("duration", "cv"), "float", {"dist": "lognormal", "mean": 1, "cv": 1}),
    (_F0 + ("duration", "percentiles", 50), "duration", {"dist": "empirical", "percentiles": {0: 0, 50: 1, 100: 2}}),
    (_F0 + ("arrivals", 0, "schedule", 1, 0), "duration", {"process": "poisson", "schedule": [[0, 1], [60, 2]]}),
    (_F0 + ("arrivals", 0, "schedule", 1, 1), "rate", {"process": "poisson", "schedule": [[0, 1], [60, 2]]}),
    (_F0 + ("arrivals", 0, "rate"), "rate", {"process": "constant", "rate": 1}),
    (_F0 + ("arrivals", 0, "start"), "duration", {"process": "constant", "rate": 1, "start": 0}),
    (_F0 + ("arrivals", 0, "end"), "duration", {"process": "constant", "rate": 1, "end": 60}),
    (_F0 + ("arrivals", 0, "mean"), "rate", {"process": "diurnal", "mean": 1}),
    (_F0 + ("arrivals", 0, "amplitude"), "float", {"process": "diurnal", "mean": 1, "amplitude": 0.5}),
    (_F0 + ("arrivals", 0, "period"), "duration", {"process": "diurnal", "mean": 1, "period": "1h"}),
    (_F0 + ("arrivals", 0, "peak_at"), "duration", {"process": "diurnal", "mean": 1, "peak_at": "1h"}),
    (_F0 + ("arrivals", 0, "scale"), "float", {"process": "trace", "format": "per_minute", "file": "pm.csv",
                                              "scale": 1}),
]
MARK = "@@VALUE@@"


def _field(path: tuple) -> str:
    return scenario.dotted_path(path)


def _numeric_case(tmp_path: Path, path: tuple, context: dict | None, value: str) -> tuple[Path, int]:
    data = copy.deepcopy(FULL)
    if context is not None:  # the distribution or process that has the field
        holder = ("arrivals", 0) if "process" in context else (path[2],)
        node = data["functions"][0]
        for part in holder[:-1]:
            node = node[part]
        node[holder[-1]] = copy.deepcopy(context)
    (tmp_path / "pm.csv").write_text("count\n1\n2\n3\n")
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = MARK
    text = dump(data)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if MARK in row)
    target = tmp_path / "n.yaml"
    target.write_text(text.replace(f"'{MARK}'", value).replace(MARK, value))
    return target, line


def _numeric_params():
    out = []
    for k, (path, kind, context) in enumerate(NUMERIC):
        for j, (label, value) in enumerate(VALUES.items()):
            if label == "'1024'" and kind in ("duration", "rate"):
                continue  # "1024" is a written duration or rate (seconds, per second): tested below
            # validate for every field and value; capacity and run for every field, each value in turn.
            command = ("validate", "capacity", "run")[(k + j) % 3] if (k + j) % 3 else "validate"
            tag = f"{_field(path)}{'' if context is None else '(' + next(iter(context.values())) + ')'}={label}"
            out.append(pytest.param(path, kind, context, value, "validate", id=f"validate {tag}"))
            if command != "validate":
                out.append(pytest.param(path, kind, context, value, command, id=f"{command} {tag}"))
    return out


@pytest.mark.parametrize(("path", "kind", "context", "value", "command"), _numeric_params())
def test_every_numeric_field_refuses_what_is_not_a_number_in_range(tmp_path, capsys, path, kind, context, value,
                                                                    command):
    target, line = _numeric_case(tmp_path, path, context, value)
    code, out, err = run(capsys, command, target)
    assert code == 2, (out + err)[-2000:]
    got = one_line(err)
    assert got.startswith(f"{target}:{line}: {_field(path)}: "), got
    assert out == ""
    assert len(got) < 400


@pytest.mark.parametrize(("path", "value", "message"), [
    ("functions.f.memory_mb", "true", "must be a whole number, not true/false (got True)"),
    ("functions.f.memory_mb", "'1024'", "must be a whole number, not text: write it without quotes (got '1024')"),
    ("functions.f.memory_mb", "1" + "0" * 1000, "must be between 128 and 10240 (got a whole number of 1001 digits)"),
    ("functions.f.arrivals.0.rate", "1e308", "must be at most 1,000,000/s (got 1e+308/s)"),
    ("vpc.eni_memory_gb", ".inf", "must be a finite number (got inf)"),
    ("region.concurrency_limit", "yes", "must be a whole number, not true/false (got True)"),
    ("functions.f.init.cv", ".inf", "must be a finite number (got inf)"),
    ("seed", "1" + "0" * 1000, "must be <= 9223372036854775807 (got a whole number of 1001 digits)"),
    ("duration", "1e300", "must be at most 366d (got 1e+300s)"),
])
def test_set_values_are_checked_the_same(tmp_path, capsys, path, value, message):
    target = tmp_path / "ok.yaml"
    target.write_text(dump(FULL))
    code, _, err = run(capsys, "capacity", target, "--set", f"{path}={value}")
    assert code == 2
    assert one_line(err) == f"{target}: --set {path}: {message}"


@pytest.mark.parametrize(("text", "message"), [
    ("1e3", "must be a whole number: YAML reads 1e3 as text, not a number; write 1000 (got '1e3')"),
    ("1.5e3", "must be a whole number: YAML reads 1.5e3 as text, not a number; write 1500 (got '1.5e3')"),
    ("1e400", "must be a finite number (got '1e400')"),
    ("'1000'", "must be a whole number, not text: write it without quotes (got '1000')"),
    ("'1.0e+3'", "must be a whole number, not text: write it without quotes (got '1.0e+3')"),  # quoted: a number
    ("1.5e0", "must be a whole number (got '1.5e0')"),  # no advice that would give a fraction again
])
def test_a_number_yaml_reads_as_text_gets_advice_that_works(tmp_path, capsys, text, message):
    """YAML 1.1 reads 1e3 as text: "write it without quotes" was advice with no quotes to remove."""
    target = tmp_path / "exp.yaml"
    target.write_text(dump(FULL).replace("concurrency_limit: 1000", f"concurrency_limit: {text}", 1))
    assert f"concurrency_limit: {text}" in target.read_text()
    code, _, err = run(capsys, "validate", target)
    assert code == 2
    assert one_line(err).endswith(f": region.concurrency_limit: {message}"), one_line(err)


def test_a_seed_option_beyond_the_range_is_one_line(tmp_path, capsys):
    target = tmp_path / "ok.yaml"
    target.write_text(dump(FULL))
    code, _, err = run(capsys, "run", target, "--seed", "1" + "0" * 30)
    assert code == 2
    assert one_line(err) == f"{target}: --seed: must be <= 9223372036854775807 (got a whole number of 31 digits)"


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"vpc": {"eni_memory_gb": 1e-300}}, "vpc.eni_memory_gb", "must be >= 0.125 (got 1e-300)"),
    ({"functions": [{**FULL["functions"][0], "init": {"dist": "gamma", "mean": 1, "cv": 1e-200}}]},
     "functions[0].init.cv", "must be >= 0.001 (got 1e-200)"),
    ({"functions": [{**FULL["functions"][0], "arrivals": {"process": "diurnal", "mean": 1, "period": "1us"}}]},
     "functions[0].arrivals.period", "must be between 1m and 366d (got 1us)"),
    ({"functions": [{**FULL["functions"][0], "arrivals": {"process": "poisson", "rate": "1e9/s"}}]},
     "functions[0].arrivals.rate", "must be at most 1,000,000/s (got 1e+09/s)"),
    ({"functions": [{**FULL["functions"][0], "duration": {"dist": "lognormal", "median": "1us", "p99": "1d"}}]},
     "functions[0].duration.p99", "p99 must be at most 10,000 times the median"),
    ({"duration": "400d"}, "duration", "must be at most 366d (got 400d)"),
    ({"version": True}, "version", "must be 1, the format version (got True)"),
    ({"functions": [{**FULL["functions"][0], "needs_internet": "yes"}]}, "functions[0].needs_internet",
     "must be true or false"),
])
def test_values_that_overflowed_downstream_are_refused_at_load(change, field, message):
    # Before: tracebacks in capacity or run (OverflowError, ZeroDivisionError, MemoryError), or silent acceptance.
    data = {**copy.deepcopy(FULL), **change}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    (problem,) = info.value.problems
    assert problem.path == field and message in problem.message


def test_written_forms_and_the_largest_values_are_still_accepted(tmp_path, capsys):
    data = copy.deepcopy(FULL)
    data["duration"] = "366d"
    data["timestep"] = "1h"
    data["seed"] = 2**63 - 1
    data["functions"][0].update(memory_mb=10240, timeout="900", max_event_age="6h", reserved_concurrency=None,
                                duration={"dist": "lognormal", "median": "1s", "p99": "10000s"},
                                arrivals=[{"process": "poisson", "rate": "1000000/s"},
                                          {"process": "diurnal", "mean": "60000000/min", "period": "1m"}])
    data["region"]["concurrency_limit"] = 1_000_000
    data["vpc"]["eni_memory_gb"] = 1024
    target = tmp_path / "max.yaml"
    target.write_text(dump(data))
    code, out, err = run(capsys, "validate", target)
    assert code == 0, err
    sc = load_scenario(target)
    assert sc.function("f").timeout == 900 and sc.function("f").arrivals[0].rate == 1e6
    assert vs.scenario_from_dict(sc.to_dict()) == sc  # the resolved scenario loads back
    code, out, err = run(capsys, "capacity", target, "--json")
    assert code == 0, err


TRACE_NUMBERS = {
    "azure2019 count of 2^31": ("azure2019", "HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,x,http,2147483648,1\n",
                                2, "column '1': more than 60,000,000 calls in a minute"),
    "azure2019 count of 2^32 - 1": ("azure2019", "HashOwner,HashApp,HashFunction,Trigger,1,2\n"
                                                 "o,a,x,http,4294967295,1\n", 2, "more than 60,000,000 calls"),
    "azure2019 count of 2^64": ("azure2019", "HashOwner,HashApp,HashFunction,Trigger,1,2\n"
                                             "o,a,x,http,18446744073709551616,1\n", 2, "more than 60,000,000 calls"),
    "per_minute count of 2^63": ("per_minute", "count\n9223372036854775808\n1\n", 2, "more than 60,000,000 calls"),
    "per_minute count of 1e300": ("per_minute", "count\n1e300\n", 2, "more than 60,000,000 calls"),
    "per_minute minutes 0 and 1e15": ("per_minute", "minute,count\n0,1\n1000000000000000,1\n", None,
                                      "the minutes span more than a trace may (limit 527,040 minutes"),
    "timestamps spanning 1e300 s": ("timestamps", "timestamp\n0\n1e300\n", None,
                                    "more than a trace may span (limit 366d)"),
    "timestamps from year 1 to 9999": ("timestamps", "timestamp\n0001-01-01T00:00:00\n9999-12-31T00:00:00\n", None,
                                       "more than a trace may span (limit 366d)"),
    "azure2021 end of 1e300": ("azure2021", "app,func,end_timestamp,duration\na,x,1e300,1\na,x,1,0.5\n", None,
                               "more than a trace may span (limit 366d)"),
}


@pytest.mark.parametrize("case", list(TRACE_NUMBERS))
def test_trace_numbers_that_would_wrap_or_overflow_are_refused(tmp_path, capsys, case):
    fmt, content, line, message = TRACE_NUMBERS[case]
    trace = tmp_path / "t.csv"
    trace.write_text(content)
    scen = scenario_with_trace(tmp_path, trace, fmt)
    for command in ("validate", "capacity", "run"):  # before: wrong figures (wrapped counts), or a traceback
        code, _, err = run(capsys, command, scen)
        assert code == 2
        got = one_line(err)
        assert f"{trace}{f':{line}' if line else ''}: " in got and message in got, got


def test_trace_counts_at_the_limit_are_kept_exactly(tmp_path):
    most = traces.MAX_CALLS_PER_MINUTE
    (tmp_path / "pm.csv").write_text(f"count\n{most}\n0\n7\n")
    assert traces.read_table(tmp_path / "pm.csv", "per_minute").series[""].tolist() == [most, 0, 7]
    (tmp_path / "az.csv").write_text(f"HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,x,http,{most},3\n")
    table = traces.read_table(tmp_path / "az.csv", "azure2019")
    assert table.series["a/x"].tolist() == [most, 3] and table.total("a/x") == most + 3


@pytest.mark.parametrize(("expect", "message"), [
    ({"failure_rate": float("nan")}, "a threshold must be a finite number (got nan)"),
    ({"failure_rate": float("inf")}, "a threshold must be a finite number (got inf)"),
    ({"failure_rate": "<= 1e400"}, "a threshold must be a finite number"),
    ({"latency_ms.p99": "< 1e400s"}, "latency_ms.p99 is in milliseconds: write a number or a duration"),
    ({"failure_rate": 10**1000}, "a threshold must be a finite number (got a whole number of 1001 digits)"),
    ({}, "an empty mapping checks nothing"),
])
def test_expectations_that_can_never_fail_or_never_pass_are_errors(expect, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({**copy.deepcopy(FULL), "expect": expect})
    (problem,) = info.value.problems
    assert problem.path.startswith("expect") and message in problem.message, problem


def test_a_scenario_without_expectations_round_trips_without_an_empty_expect():
    sc = scenario_from_dict(copy.deepcopy(FULL))
    assert "expect" not in sc.to_dict()
    assert scenario_from_dict(yaml.safe_load(sc.to_yaml())) == sc


# -- the ranges are documented, and the docs agree with the schema


def _range_of(prop: dict, description: str = "") -> str | None:
    """The range of a numeric field as docs/scenario.md writes it, from its JSON Schema."""
    from simulator.units import format_duration

    if "anyOf" in prop:
        for alt in prop["anyOf"]:
            found = _range_of(alt, prop.get("description", description))
            if found:
                return found
        return None
    if prop.get("type") == "array" and "prefixItems" in prop:
        return "[" + ", ".join(_range_of(p, p.get("description", "")) or "?" for p in prop["prefixItems"]) + "]"
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
        return _range_of(prop["items"], prop["items"].get("description", description))
    if prop.get("type") == "object" and isinstance(prop.get("additionalProperties"), dict):
        values = prop["additionalProperties"]
        return _range_of(values, values.get("description", description))
    if prop.get("type") not in ("integer", "number") or "const" in prop:
        return None
    low = prop.get("minimum", prop.get("exclusiveMinimum"))
    assert low is not None and "maximum" in prop, f"a numeric field without a finite range: {prop}"
    if description.startswith("seconds"):
        show = format_duration
    else:
        def show(x: float) -> str:
            return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"
    text = ("> " if "exclusiveMinimum" in prop else "") + f"{show(low)} .. {show(prop['maximum'])}"
    return text + "/s" if description.startswith("per second") else text


_WHERE = {
    "Scenario": "top level", "Region": "`region`", "BurstScaling": "`region.scaling`, `model: burst`",
    "PerFunctionScaling": "`region.scaling`, `model: per-function`", "Ec2Api": "`region.ec2_api`", "Vpc": "`vpc`",
    "HyperplaneCfg": "`vpc.hyperplane`", "Subnet": "`vpc.subnets[]`", "Function": "`functions[]`",
    "ClientRetry": "`functions[].client_retry`", "PoissonProcess": "`process: poisson`",
    "ConstantProcess": "`process: constant`", "DiurnalProcess": "`process: diurnal`",
    "TraceProcess": "`process: trace`", "Constant": "`dist: constant`", "Exponential": "`dist: exponential`",
    "Uniform": "`dist: uniform`", "Lognormal": "`dist: lognormal`", "Gamma": "`dist: gamma`",
    "Normal": "`dist: normal`", "Empirical": "`dist: empirical`", "AzOutage": "`kind: az_outage`",
    "IpsTaken": "`kind: ips_taken`", "IpsReleased": "`kind: ips_released`", "UnlimitedScaling": "",
    "Pricing": "`pricing`", "ArchitecturePricing": "`pricing.x86_64`, `pricing.arm64`",
}


def test_docs_state_the_range_of_every_numeric_field_as_the_schema_does():
    schema = json_schema()
    expected = set()
    for name, model in {"Scenario": schema, **schema["$defs"]}.items():
        assert name in _WHERE, f"new section {name}: say where it is in docs/scenario.md"
        for key, prop in model.get("properties", {}).items():
            if (name, key) == ("Scenario", "expect"):
                continue  # conditions, not numbers (their thresholds must be finite: tested above)
            text = _range_of(prop)
            if text is not None:
                expected.add(f"| {_WHERE[name]} | `{key}` | {text} |")
    assert len(expected) > 60
    doc = (ROOT / "docs" / "scenario.md").read_text(encoding="utf-8")
    section = doc.split("## Ranges and limits", 1)[1].split("\n## ", 1)[0]
    documented = {row for row in section.splitlines() if row.startswith("| ") and row.count("|") == 4
                  and "`" in row.split("|")[2]}
    assert sorted(expected - documented) == [], "docs/scenario.md lacks these ranges (or states others)"
    assert sorted(documented - expected) == [], "docs/scenario.md states ranges the schema does not have"


# =================================================================================================== item 10: scale


def _subnets(n: int) -> dict:
    data = copy.deepcopy(FULL)
    data["vpc"]["subnets"] = [{"id": f"s{i}", "az": f"az-{i % 3}", "cidr": str(ipaddress.IPv4Network(
        (0x0A000000 + 16 * i, 28)))} for i in range(n)]
    data["functions"][0]["subnets"] = ["s0", "s1"]
    data["events"] = [{"at": "5m", "kind": "ips_taken", "subnet": "s0", "count": 1}]
    return data


def test_20000_subnets_validate_in_seconds(tmp_path, capsys):
    path = tmp_path / "subnets.yaml"
    path.write_text(dump(_subnets(20_000)))
    t0 = time.monotonic()
    code, out, err = run(capsys, "validate", path)  # before: 497 s (pairwise overlaps, linear lookups)
    elapsed = time.monotonic() - t0
    assert code == 0, err[-2000:]
    assert elapsed < 30, f"{elapsed:.1f} s"


def test_20000_functions_load_and_size_in_seconds():
    data = copy.deepcopy(FULL)
    fn = {**data["functions"][0], "reserved_concurrency": None}
    data["functions"] = [{**copy.deepcopy(fn), "name": f"f{i}"} for i in range(20_000)]
    data["events"] = []
    t0 = time.monotonic()
    sc = scenario_from_dict(data)
    cap = vs.capacity(sc)  # before: quadratic (the unreserved pool summed again for each function): 4,000 took 36 s
    elapsed = time.monotonic() - t0
    assert len(cap["functions"]) == 20_000
    assert elapsed < 40, f"{elapsed:.1f} s"


def test_overlapping_subnets_are_found_as_the_pairwise_check_found_them():
    rng = random.Random(12)
    for _ in range(2000):
        blocks = []
        for _ in range(rng.randint(0, 14)):
            prefix = rng.randint(16, 20)
            blocks.append(ipaddress.IPv4Network((0x0A000000 + (rng.randrange(2 ** (prefix - 16)) << (32 - prefix)),
                                                 prefix)))
        pairwise = {}
        for i, b in enumerate(blocks):
            earlier = [j for j in range(i) if b.overlaps(blocks[j])]
            if earlier:
                pairwise[i] = earlier[0]
        assert scenario._overlaps(blocks) == pairwise, blocks


def test_overlaps_are_reported_once_per_subnet_naming_the_earliest():
    data = _subnets(3)
    data["vpc"]["subnets"] += [{"id": "big", "az": "az-a", "cidr": "10.0.0.0/16"},
                               {"id": "dup", "az": "az-a", "cidr": "10.0.0.16/28"}]
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("vpc.subnets[3].cidr", "overlaps subnets[0] (s0, 10.0.0.0/28) (got 10.0.0.0/16)"),
        ("vpc.subnets[4].cidr", "overlaps subnets[1] (s1, 10.0.0.16/28) (got 10.0.0.16/28)"),
    ]


@pytest.mark.parametrize(("path", "length", "limit"), [
    (("name",), 100_000, 256), (("description",), 1_000_000, 10_000), (("vpc", "subnets", 0, "id"), 65, 64),
    (("vpc", "subnets", 0, "az"), 100_000, 64), (("functions", 0, "name"), 65, 64),
    (("functions", 0, "security_groups"), 300, 256),
])
def test_names_have_bounded_lengths(path, length, limit):
    data = copy.deepcopy(FULL)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = ["s" * length] if path[-1] == "security_groups" else "s" * length
    t0 = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)  # before: accepted; a 100k-character name made `run --out` take 110 s
    assert time.monotonic() - t0 < 5
    messages = [p.message for p in info.value.problems]
    assert f"must be at most {limit} characters (got {length:,})" in messages, messages


# =================================================================================================== newcomer 2


def test_a_valid_capacity_expectation_is_not_blamed_for_another_error():
    data = copy.deepcopy(FULL)
    data["functions"][0]["subnets"] = ["a", "zzz"]
    data["expect"] = {"capacity.functions.f.binding": "== concurrency", "capacity.total.projected_peak": "< 1000"}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    # Before: also "capacity.functions.f.binding has no unit: write a plain number (got 'concurrency')".
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("functions[0].subnets[1]", "no subnet with id 'zzz' (subnets: a, b)")]
    data["functions"][0]["subnets"] = ["a", "b"]
    assert scenario_from_dict(data).expect["capacity.functions.f.binding"] == "== concurrency"
    data["expect"]["capacity.functions.f.binding"] = "== subnet_ip"  # a real error is still reported
    with pytest.raises(ScenarioError, match="did you mean 'subnet_ips'"):
        scenario_from_dict(data)
