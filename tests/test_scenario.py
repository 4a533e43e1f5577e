"""The scenario file of SPEC §2: strict validation with one ``FILE:LINE: path: message`` line per problem, platform
presets, ``with_changes`` (the paths of ``--set``), round trips through YAML, immutability and the JSON Schema.

The malformed files are variants of ``BASE`` (its line numbers are fixed, so every case asserts the exact line,
path and message of each problem it causes); the CLI side of the same files is in ``test_cli_foundation.py``.
"""

from __future__ import annotations

import copy
import pickle
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import simulator as vs
from simulator.scenario.models import PRESETS, json_schema, load_scenario, scenario_from_dict
from simulator.scenario.problems import Problem, ScenarioError

from .conftest import ROOT, SCENARIOS, with_traces

BASE = """\
version: 1
name: probe
duration: 10m
region:
  concurrency_limit: 1000
  unreserved_min: 100
vpc:
  subnets:
    - {id: a, az: az-a, cidr: 10.0.1.0/24}
    - {id: b, az: az-b, cidr: 10.0.2.0/24}
functions:
  - name: f
    memory_mb: 1024
    subnets: [a, b]
    duration: 100ms
    arrivals:
      - {process: poisson, rate: 10}
events:
  - {at: 1m, kind: az_outage, az: az-a, for: 1m}
"""


def variant(replace: dict[int, str] | None = None, append: str = "") -> str:
    """BASE with whole lines replaced (``{line: new text}``, the text may hold several lines) and text appended."""
    lines = BASE.splitlines()
    for n, text in sorted((replace or {}).items(), reverse=True):
        lines[n - 1:n] = text.splitlines()
    return "\n".join(lines) + "\n" + append


def problems_of(path: Path) -> list[tuple]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [(p.line, p.path, p.message) for p in info.value.problems]


def test_base_is_valid(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    sc = load_scenario(tmp_path / "base.yaml")
    assert sc.name == "probe" and sc.duration == 600 and sc.functions[0].duration.mean == 0.1


# Each case: (lines replaced, text appended, the problems as (line, path, message)), one per problem, in order.
CASES = {
    'unk_top': ({2: 'name: probe\nnmae: x'}, '',
        [(3, 'nmae', "unknown key 'nmae'; did you mean 'name'?")]),
    'unk_region': ({5: '  concurency_limit: 1000'}, '',
        [(5, 'region.concurency_limit', "unknown key 'concurency_limit'; did you mean 'concurrency_limit'?")]),
    'unk_scaling': ({6: '  unreserved_min: 100\n  scaling: {model: burst, burst: 10, bursts: 5}'}, '',
        [(7, 'region.scaling.bursts', "unknown key 'bursts'; did you mean 'burst'?")]),
    'unk_ec2': ({6: '  unreserved_min: 100\n  ec2_api: {bucket: 5, refil_per_s: 1}'}, '',
        [(7, 'region.ec2_api.refil_per_s', "unknown key 'refil_per_s'; did you mean 'refill_per_s'?")]),
    'unk_vpc': ({7: 'vpc:\n  eni_memory: 3'}, '',
        [(8, 'vpc.eni_memory', "unknown key 'eni_memory'; did you mean 'eni_memory_gb'?")]),
    'unk_hyper': ({7: 'vpc:\n  hyperplane: {conections_per_eni: 5}'}, '',
        [(8, 'vpc.hyperplane.conections_per_eni', "unknown key 'conections_per_eni'; did you mean 'connections_per_eni'?")]),
    'unk_subnet': ({10: '    - {id: b, az: az-b, cidr: 10.0.2.0/24, zone: x}'}, '',
        [(10, 'vpc.subnets[1].zone', "unknown key 'zone' (allowed: id, az, cidr, ips_in_use, route)")]),
    'unk_fn': ({13: '    memroy_mb: 1024'}, '',
        [(12, 'functions[0].memory_mb', 'required, but missing'), (13, 'functions[0].memroy_mb', "unknown key 'memroy_mb'; did you mean 'memory_mb'?")]),
    'unk_retry': ({13: '    memory_mb: 1024\n    client_retry: {attempt: 3}'}, '',
        [(14, 'functions[0].client_retry.attempt', "unknown key 'attempt'; did you mean 'attempts'?")]),
    'unk_dist': ({15: '    duration: {dist: lognormal, median: 1s, p90: 2s}'}, '',
        [(15, 'functions[0].duration.p90', "unknown key 'p90'; did you mean 'p99'?")]),
    'unk_init': ({15: '    duration: 100ms\n    init:\n      dist: gamma\n      mean: 1s\n      cv: 1\n      sd: 2'}, '',
        [(20, 'functions[0].init.sd', "unknown key 'sd' (allowed: dist, mean, cv)")]),
    'unk_attach': ({7: 'vpc:\n  eni_attach: {dist: uniform, low: 1s, hi: 2s}'}, '',
        [(8, 'vpc.eni_attach.high', 'required, but missing'), (8, 'vpc.eni_attach.hi', "unknown key 'hi'; did you mean 'high'?")]),
    'unk_poisson': ({17: '      - {process: poisson, rate: 10, rat: 5}'}, '',
        [(17, 'functions[0].arrivals[0].rat', "unknown key 'rat'; did you mean 'rate'?")]),
    'unk_constant': ({17: '      - {process: constant, rate: 10, offset: 5}'}, '',
        [(17, 'functions[0].arrivals[0].offset', "unknown key 'offset' (allowed: process, rate, start, end)")]),
    'unk_diurnal': ({17: '      - {process: diurnal, mean: 10, amplitud: 0.5}'}, '',
        [(17, 'functions[0].arrivals[0].amplitud', "unknown key 'amplitud'; did you mean 'amplitude'?")]),
    'unk_event': ({19: '  - {at: 1m, kind: az_outage, az: az-a, for: 1m, zone: x}'}, '',
        [(19, 'events[0].zone', "unknown key 'zone' (allowed: at, kind, az, for)")]),
    'unk_event2': ({19: '  - {at: 1m, kind: ips_taken, subnet: a, count: 5, cnt: 1}'}, '',
        [(19, 'events[0].cnt', "unknown key 'cnt'; did you mean 'count'?")]),
    'wt_mem': ({13: '    memory_mb: lots'}, '',
        [(13, 'functions[0].memory_mb', "must be a whole number (got 'lots')")]),
    'wt_memf': ({13: '    memory_mb: 1024.5'}, '',
        [(13, 'functions[0].memory_mb', 'must be a whole number (got 1024.5)')]),
    'wt_res': ({13: '    memory_mb: 1024\n    reserved_concurrency: many'}, '',
        [(14, 'functions[0].reserved_concurrency', "must be a whole number (got 'many')")]),
    'wt_subnets': ({14: '    subnets: a'}, '',
        [(14, 'functions[0].subnets', "must be a list (got 'a')")]),
    'wt_bool': ({13: '    memory_mb: 1024\n    needs_internet: maybe'}, '',
        [(14, 'functions[0].needs_internet', "must be true or false (got 'maybe')")]),
    'wt_seed': ({2: 'name: probe\nseed: 1.5'}, '',
        [(3, 'seed', 'must be a whole number (got 1.5)')]),
    'wt_fns': ({11: 'functions: {name: f}', 12: '', 13: '', 14: '', 15: '', 16: '', 17: ''}, '',
        [(11, 'functions', 'must be a list (got a mapping)')]),
    'wt_region': ({4: 'region: [1, 2]', 5: '', 6: ''}, '',
        [(4, 'region', 'must be a mapping of keys to values (got a list)')]),
    'wt_vpc_null': ({7: 'vpc:', 8: '', 9: '', 10: '', 14: '    subnets: []'}, '',
        [(7, 'vpc', 'must be a mapping of keys to values (got nothing: the key has no value)')]),
    'wt_name': ({2: 'name: [probe]'}, '',
        [(2, 'name', 'must be text (got a list)')]),
    'units_dur': ({3: 'duration: 10 minutes'}, '',
        [(3, 'duration', "not a duration: '10 minutes' (use a number of seconds or a string like '250ms', '30s', '10m', '2h', '1h30m')")]),
    'units_rate': ({17: '      - {process: poisson, rate: 10 per second}'}, '',
        [(17, 'functions[0].arrivals[0].rate', "not a rate: '10 per second' (use a number per second or a string like '100/s', '6000/min', '2/h')")]),
    'units_timeout': ({13: '    memory_mb: 1024\n    timeout: 30 sec'}, '',
        [(14, 'functions[0].timeout', "not a duration: '30 sec' (use a number of seconds or a string like '250ms', '30s', '10m', '2h', '1h30m')")]),
    'neg_top': ({3: 'duration: -10m'}, '',
        [(3, 'duration', "must be > 0 (got '-10m')")]),
    'neg_fn': ({15: '    duration: -5s'}, '',
        [(15, 'functions[0].duration', "must be >= 0 (got '-5s')")]),
    'neg_warmup': ({3: 'duration: 10m\nwarmup: -1m'}, '',
        [(4, 'warmup', "must be >= 0 (got '-1m')")]),
    'neg_event': ({19: '  - {at: -1m, kind: az_outage, az: az-a, for: 1m}'}, '',
        [(19, 'events[0].at', "must be >= 0 (got '-1m')")]),
    'neg_rate': ({17: '      - {process: poisson, rate: -5/s}'}, '',
        [(17, 'functions[0].arrivals[0].rate', "must be >= 0 (got '-5/s')")]),
    'neg_median': ({15: '    duration: {dist: lognormal, median: -1s, p99: 2s}'}, '',
        [(15, 'functions[0].duration.median', "must be > 0 (got '-1s')")]),
    'cidr30': ({9: '    - {id: a, az: az-a, cidr: 10.0.1.0/30}'}, '',
        [(9, 'vpc.subnets[0].cidr', 'a subnet is /16 to /28 (got /30)')]),
    'cidr15': ({9: '    - {id: a, az: az-a, cidr: 10.0.0.0/15}'}, '',
        [(9, 'vpc.subnets[0].cidr', 'a subnet is /16 to /28 (got /15)')]),
    'cidrhost': ({9: '    - {id: a, az: az-a, cidr: 10.0.1.7/24}'}, '',
        [(9, 'vpc.subnets[0].cidr', "not an IPv4 CIDR block like 10.0.1.0/24: 10.0.1.7/24 has host bits set (got '10.0.1.7/24')")]),
    'cidrgarbage': ({9: '    - {id: a, az: az-a, cidr: banana}'}, '',
        [(9, 'vpc.subnets[0].cidr', "not an IPv4 CIDR block like 10.0.1.0/24: Expected 4 octets in 'banana' (got 'banana')")]),
    'cidr6': ({9: "    - {id: a, az: az-a, cidr: '2001:db8::/64'}"}, '',
        [(9, 'vpc.subnets[0].cidr', "not an IPv4 CIDR block like 10.0.1.0/24: Expected 4 octets in '2001:db8::' (got '2001:db8::/64')")]),
    'overlap': ({10: '    - {id: b, az: az-b, cidr: 10.0.1.128/25}'}, '',
        [(10, 'vpc.subnets[1].cidr', 'overlaps subnets[0] (a, 10.0.1.0/24) (got 10.0.1.128/25)')]),
    'dupsub': ({10: '    - {id: a, az: az-b, cidr: 10.0.2.0/24}', 14: '    subnets: [a]'}, '',
        [(10, 'vpc.subnets[1].id', "duplicate subnet id 'a' (also subnets[0])")]),
    'dupfn': ({17: '      - {process: poisson, rate: 10}\n  - {name: f, memory_mb: 128, duration: 1s, arrivals: {process: poisson, rate: 1}}'}, '',
        [(18, 'functions[1].name', "duplicate function name 'f' (also functions[0])")]),
    'dangling': ({14: '    subnets: [a, c]'}, '',
        [(14, 'functions[0].subnets[1]', "no subnet with id 'c' (subnets: a, b)")]),
    'dangling_hint': ({14: '    subnets: [a, bb]'}, '',
        [(14, 'functions[0].subnets[1]', "no subnet with id 'bb'; did you mean 'b'?")]),
    'ev_az': ({19: '  - {at: 1m, kind: az_outage, az: az-z, for: 1m}'}, '',
        [(19, 'events[0].az', "no subnet is in AZ 'az-z' (AZs: az-a, az-b)")]),
    'ev_subnet': ({19: '  - {at: 1m, kind: ips_taken, subnet: z, count: 3}'}, '',
        [(19, 'events[0].subnet', "no subnet with id 'z'")]),
    'ev_after': ({19: '  - {at: 20m, kind: az_outage, az: az-a, for: 1m}'}, '',
        [(19, 'events[0].at', 'after the end of the run 10m (got 20m)')]),
    'ev_kind': ({19: '  - {at: 1m, kind: meteor, az: az-a}'}, '',
        [(19, 'events[0].kind', "must be one of 'az_outage', 'ips_taken', 'ips_released' (got 'meteor')")]),
    'ev_nokind': ({19: '  - {at: 1m, az: az-a, for: 1m}'}, '',
        [(19, 'events[0].kind', 'required, but missing (one of az_outage, ips_taken, ips_released)')]),
    'reserved': ({13: '    memory_mb: 1024\n    reserved_concurrency: 950'}, '',
        [(14, 'functions[0].reserved_concurrency', 'reserved and provisioned concurrency add up to more than concurrency_limit - unreserved_min = 1000 - 100 = 900 (got 950)')]),
    'reserved2': ({13: '    memory_mb: 1024\n    reserved_concurrency: 500', 17: '      - {process: poisson, rate: 10}\n  - name: g\n    memory_mb: 128\n    reserved_concurrency: 401\n    duration: 1s\n    arrivals: {process: poisson, rate: 1}'}, '',
        [(21, 'functions[1].reserved_concurrency', 'reserved and provisioned concurrency add up to more than concurrency_limit - unreserved_min = 1000 - 100 = 900; other functions already take 500 (got 401)')]),
    'prov': ({13: '    memory_mb: 1024\n    reserved_concurrency: 10\n    provisioned_concurrency: 20'}, '',
        [(15, 'functions[0].provisioned_concurrency', 'must be <= reserved_concurrency 10 (got 20)')]),
    'prov_pool': ({13: '    memory_mb: 1024\n    provisioned_concurrency: 901'}, '',
        [(14, 'functions[0].provisioned_concurrency', 'reserved and provisioned concurrency add up to more than concurrency_limit - unreserved_min = 1000 - 100 = 900 (got 901)')]),
    'unres': ({5: '  concurrency_limit: 50'}, '',
        [(6, 'region.unreserved_min', 'must be <= concurrency_limit 50 (got 100)')]),
    'ipsinuse': ({9: '    - {id: a, az: az-a, cidr: 10.0.1.0/24, ips_in_use: 252}'}, '',
        [(9, 'vpc.subnets[0].ips_in_use', "more than the subnet's 251 usable addresses (got 252)")]),
    'sched': ({17: '      - process: poisson\n        schedule:\n          - [0, 1]\n          - [5m, 2]\n          - [4m, 3]'}, '',
        [(18, 'functions[0].arrivals[0].schedule', 'schedule times must increase (got 300s then 240s)')]),
    'sched_point': ({17: '      - {process: poisson, schedule: [[0, 1], [5m]]}'}, '',
        [(17, 'functions[0].arrivals[0].schedule', "point 1 must be a [time, rate] pair (got ['5m'])")]),
    'trace': ({17: '      - {process: trace, file: nothere.csv}'}, '',
        [(17, 'functions[0].arrivals[0].file', "trace file not found: '{dir}/nothere.csv' (got 'nothere.csv')")]),
    'dupkey': ({2: 'name: probe\nname: again'}, '',
        [(3, 'name', 'duplicate key')]),
    'dupkey_nested': ({13: '    memory_mb: 1024\n    memory_mb: 2048'}, '',
        [(14, 'functions[0].memory_mb', 'duplicate key')]),
    'badyaml': ({2: 'name: [probe'}, '',
        [(3, '', "invalid YAML: while parsing a flow sequence on line 2, expected ',' or ']', but got ':'")]),
    'badyaml_indent': ({13: '     memory_mb: 1024'}, '',
        [(13, '', 'invalid YAML: mapping values are not allowed here')]),
    'tab': ({13: '\tmemory_mb: 1024'}, '',
        [(13, '', "invalid YAML: found character '\\t' that cannot start any token")]),
    'version2': ({1: 'version: 2'}, '',
        [(1, 'version', 'must be 1 (got 2)')]),
    'noversion': ({1: '# no version'}, '',
        [(2, 'version', 'required, but missing')]),
    'noname': ({2: 'description: x'}, '',
        [(1, 'name', 'required, but missing')]),
    'mem64': ({13: '    memory_mb: 64'}, '',
        [(13, 'functions[0].memory_mb', 'must be between 128 and 10240 (got 64)')]),
    'timeout20m': ({13: '    memory_mb: 1024\n    timeout: 20m'}, '',
        [(14, 'functions[0].timeout', 'must be between 1s and 15m (got 20m)')]),
    'platform': ({2: 'name: probe\nplatform: lambda'}, '',
        [(3, 'platform', "must be 'legacy' or 'hyperplane' (got 'lambda')")]),
    'nofns': ({11: 'functions: []', 12: '', 13: '', 14: '', 15: '', 16: '', 17: ''}, '',
        [(11, 'functions', 'needs at least one function (got an empty list)')]),
    'noarrivals': ({16: '    arrivals: []', 17: ''}, '',
        [(16, 'functions[0].arrivals', 'needs at least one arrival process (got an empty list)')]),
    'timestep': ({3: 'duration: 10m\ntimestep: 1h'}, '',
        [(4, 'timestep', 'must not be longer than duration 10m (got 1h)')]),
    'warmup': ({3: 'duration: 10m\nwarmup: 10m'}, '',
        [(4, 'warmup', 'must be shorter than duration 10m (got 10m)')]),
    'onkey': ({2: 'name: probe\non: 1'}, '',
        [(3, 'True', 'unknown key True (YAML reads on/off/yes/no as true/false: quote a key you meant as text)')]),
    'expect_map': ({}, 'expect:\n  failure_rate: {a: 1}\n',
        [(21, 'expect.failure_rate', 'must be a condition such as "<= 0.001", or a list of them (got a mapping: {\'a\': 1})')]),
    'dist_unknown': ({15: '    duration: {dist: weibull, mean: 1s}'}, '',
        [(15, 'functions[0].duration', "unknown distribution 'weibull' (use one of constant, exponential, uniform, lognormal, gamma, normal, empirical)")]),
    'uniform': ({15: '    duration:\n      dist: uniform\n      low: 2s\n      high: 1s'}, '',
        [(18, 'functions[0].duration.high', 'high must be >= low (got low=2.0, high=1.0)')]),
    'empirical': ({15: '    duration:\n      dist: empirical\n      percentiles: {0: 1s, 50: 3s, 100: 2s}'}, '',
        [(17, 'functions[0].duration.percentiles', 'percentiles must not decrease from one key to the next (got [1.0, 3.0, 2.0])')]),
    'scaling_model': ({6: '  unreserved_min: 100\n  scaling: {model: fast}'}, '',
        [(7, 'region.scaling.model', "must be one of 'burst', 'per-function', 'unlimited' (got 'fast')")]),
    'two_problems': ({13: '    memory_mb: 64', 9: '    - {id: a, az: az-a, cidr: 10.0.1.0/30}'}, '',
        [(9, 'vpc.subnets[0].cidr', 'a subnet is /16 to /28 (got /30)'), (13, 'functions[0].memory_mb', 'must be between 128 and 10240 (got 64)')]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_file_gives_one_line_per_problem_at_the_right_line(tmp_path, case):
    replace, append, expected = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(variant(replace, append))
    expected = [(line, p, msg.replace("{dir}", str(tmp_path))) for line, p, msg in expected]
    assert problems_of(path) == expected


def test_problem_lines_read_file_line_path_message(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(variant({13: "    memory_mb: 64"}))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}:13: functions[0].memory_mb: must be between 128 and 10240 (got 64)"
    assert str(Problem(None, None, "", "bad")) == "<scenario>: bad"
    assert str(Problem("f.yaml", None, "a.b", "bad")) == "f.yaml: a.b: bad"


@pytest.mark.parametrize(("content", "expected"), [
    ("", (None, "", "a scenario is a mapping of keys (got an empty file)")),
    ("# only a comment\n", (None, "", "a scenario is a mapping of keys (got an empty file)")),
    ("- a\n- b\n", (1, "", "a scenario is a mapping of keys (got a list)")),
    ("just text\n", (1, "", "a scenario is a mapping of keys (got a str)")),
    ("a: b\n---\nc: d\n", (2, "", "invalid YAML: expected a single document in the stream on line 1, but found "
                                  "another document")),
    ("{1: x}\n", (1, "1", "unknown key 1")),
])
def test_files_that_are_not_a_mapping(tmp_path, content, expected):
    path = tmp_path / "x.yaml"
    path.write_text(content)
    assert problems_of(path) == [expected]


def test_none_given_in_python_is_not_called_an_empty_file():
    with pytest.raises(ScenarioError, match=r"^<scenario>: a scenario is a mapping of keys \(got None\)$"):
        scenario_from_dict(None)


def test_missing_file_folder_and_binary_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"nope\.yaml: no such file$"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="is a folder, not a scenario file$"):
        load_scenario(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "bin.yaml")


def test_a_trace_file_is_found_relative_to_the_scenario(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "calls.csv").write_text("timestamp\n0.5\n1.5\n")
    path = tmp_path / "x.yaml"
    path.write_text(variant({17: "      - {process: trace, file: sub/calls.csv}"}))
    sc = load_scenario(path)
    assert sc.functions[0].arrivals[0].file == str((tmp_path / "sub" / "calls.csv").resolve())


# --------------------------------------------------------------------------------------------------- presets


def _raw() -> dict:
    return yaml.safe_load(BASE)


def test_legacy_is_the_default_platform_and_fills_the_old_defaults():
    sc = scenario_from_dict(_raw())
    assert sc.platform == "legacy"
    assert sc.region.scaling.model == "burst"  # DOMAIN §4: the old account-wide burst
    assert (sc.region.scaling.burst, sc.region.scaling.per_minute) == (3000, 500)
    assert sc.region.eni_quota == 350  # DOMAIN §1: before late 2019


def test_hyperplane_preset_fills_the_current_defaults():
    sc = scenario_from_dict({**_raw(), "platform": "hyperplane"})
    assert sc.region.scaling.model == "per-function"  # DOMAIN §4: 1,000 environments per 10 s per function
    assert (sc.region.scaling.burst, sc.region.scaling.per_minute) == (1000, 6000)
    assert sc.region.eni_quota == 5000
    assert sc.vpc.hyperplane.connections_per_eni == 65000 and sc.vpc.hyperplane.eni_quota_per_vpc == 250


def test_the_preset_table_is_what_the_models_get():
    for platform, preset in PRESETS.items():
        sc = scenario_from_dict({**_raw(), "platform": platform})
        for path, value in preset.items():
            node = sc
            for part in path:
                node = getattr(node, part)
            got = node.model_dump() if hasattr(node, "model_dump") else node
            assert got == value, (platform, path)


def test_explicit_values_win_over_the_preset():
    raw = _raw()
    raw["platform"] = "hyperplane"
    raw["region"]["scaling"] = {"model": "burst", "burst": 500, "per_minute": 500}
    raw["region"]["eni_quota"] = 350
    sc = scenario_from_dict(raw)
    assert sc.region.scaling.model == "burst" and sc.region.scaling.burst == 500
    assert sc.region.eni_quota == 350
    # A model without its figures takes that model's own defaults, whatever the platform.
    raw = _raw()
    raw["region"]["scaling"] = {"model": "per-function"}
    sc = scenario_from_dict(raw)
    assert (sc.region.scaling.burst, sc.region.scaling.per_minute) == (1000, 6000)


def test_changing_the_platform_changes_the_defaults_that_follow():
    sc = scenario_from_dict(_raw())
    hp = sc.with_changes({"platform": "hyperplane"})
    assert hp.platform == "hyperplane" and hp.region.scaling.model == "per-function" and hp.region.eni_quota == 5000
    back = hp.with_changes({"platform": "legacy"})
    assert back == sc
    # ... but a value the file states stays.
    raw = _raw()
    raw["region"]["eni_quota"] = 1200
    hp = scenario_from_dict(raw).with_changes({"platform": "hyperplane"})
    assert hp.region.eni_quota == 1200 and hp.region.scaling.model == "per-function"


# --------------------------------------------------------------------------------------------------- with_changes


def test_with_changes_addresses_functions_and_subnets_by_name(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(BASE)
    sc = load_scenario(path)
    sc2 = sc.with_changes({"functions.f.memory_mb": 2048, "vpc.subnets.b.cidr": "10.0.3.0/26",
                           "functions.f.duration": "1s", "region.concurrency_limit": 3000, "seed": 9})
    assert sc2.function("f").memory_mb == 2048 and sc2.subnet("b").usable_ips == 59
    assert sc2.functions[0].duration.mean == 1.0 and sc2.region.concurrency_limit == 3000 and sc2.seed == 9
    assert sc.function("f").memory_mb == 1024, "the original is untouched"
    assert sc2.source == sc.source == str(path)
    # Items by index too, and a change to nothing changes nothing.
    assert sc.with_changes({"functions.0.memory_mb": 2048}) == sc2.with_changes(
        {"vpc.subnets.b.cidr": "10.0.2.0/24", "functions.f.duration": "100ms", "region.concurrency_limit": 1000,
         "seed": 0})
    assert sc.with_changes({}) == sc


@pytest.mark.parametrize(("change", "expected"), [
    ({"functions.g.memory_mb": 2048}, "--set functions.g.memory_mb: no function named 'g' (functions: f)"),
    ({"functions.ff.memory_mb": 2048}, "--set functions.ff.memory_mb: no function named 'ff'; did you mean 'f'?"),
    ({"vpc.subnets.c.cidr": "10.0.9.0/24"}, "--set vpc.subnets.c.cidr: no subnet named 'c' (subnets: a, b)"),
    ({"functions.f.memory_mb": "lots"}, "--set functions.f.memory_mb: must be a whole number (got 'lots')"),
    ({"functions.f.memroy_mb": 1}, "--set functions.f.memroy_mb: unknown key 'memroy_mb'; did you mean "
                                   "'memory_mb'?"),
    ({"vpc.subnets.b.cidr": "10.0.1.0/25"}, "--set vpc.subnets.b.cidr: overlaps subnets[0] (a, 10.0.1.0/24) "
                                            "(got 10.0.1.0/25)"),
    ({"region.scaling.model": "fast"}, "--set region.scaling.model: must be one of 'burst', 'per-function', "
                                       "'unlimited' (got 'fast')"),
    ({"functions..memory_mb": 1}, "--set functions..memory_mb: not a valid path (use dots: functions.NAME.memory_mb)"),
    ({"name.x": 1}, "--set name.x: name is not a section"),
    ({"platform": "lambda"}, "--set platform: must be 'legacy' or 'hyperplane' (got 'lambda')"),
    # A change that breaks another field: that field's own line in the file is named (it has one)...
    ({"region.concurrency_limit": 500, "functions.f.reserved_concurrency": 450},
     "--set functions.f.reserved_concurrency: reserved and provisioned concurrency add up to more than "
     "concurrency_limit - unreserved_min = 500 - 100 = 400 (got 450)"),
    # ... and a section the file does not have is no line of it.
    ({"region.unreserved_min": 2000}, "--set region.unreserved_min: must be <= concurrency_limit 1000 (got 2000)"),
])
def test_a_bad_change_is_named_as_written_not_as_a_line_of_the_file(tmp_path, change, expected):
    path = tmp_path / "x.yaml"
    path.write_text(BASE)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path).with_changes(change)
    assert [str(p) for p in info.value.problems] == [f"{path}: {expected}"]


def test_a_change_that_breaks_an_unchanged_field_points_at_that_field(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(variant({13: "    memory_mb: 1024\n    reserved_concurrency: 450"}))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path).with_changes({"region.concurrency_limit": 500})
    assert [(p.line, p.path) for p in info.value.problems] == [(14, "functions[0].reserved_concurrency")]


# --------------------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", with_traces(sorted(p.name for p in SCENARIOS.glob("*.yaml"))))
def test_shipped_scenarios_round_trip_through_yaml(name):
    sc = load_scenario(SCENARIOS / name)
    again = scenario_from_dict(yaml.safe_load(sc.to_yaml()))
    assert again == sc
    assert again.to_yaml() == sc.to_yaml()
    assert pickle.loads(pickle.dumps(sc)) == sc


_durations = st.one_of(
    st.integers(1, 600),
    st.sampled_from(["250ms", "1.5s", "2m", "1h30m", "45s", "100ms"]),
)
_dists = st.one_of(
    _durations,
    st.builds(lambda m: {"dist": "exponential", "mean": m}, _durations),
    st.builds(lambda m, k: {"dist": "lognormal", "median": m, "p99": f"{k}s"}, st.sampled_from(["100ms", "1s"]),
              st.integers(2, 30)),
    st.builds(lambda m, cv: {"dist": "gamma", "mean": m, "cv": cv}, _durations, st.floats(0.1, 3)),
    st.builds(lambda a, b: {"dist": "uniform", "low": a, "high": a + b}, st.integers(0, 5), st.integers(0, 5)),
    st.builds(lambda m, sd: {"dist": "normal", "mean": m, "sd": sd}, st.integers(0, 5), st.integers(1, 5)),
    st.builds(lambda a, b: {"dist": "empirical", "percentiles": {0: a, 50: a + b, 100: a + 2 * b}},
              st.integers(0, 3), st.integers(0, 3)),
)
_arrivals = st.one_of(
    st.builds(lambda r: {"process": "poisson", "rate": r}, st.sampled_from([1, 2.5, "600/min", "7200/h"])),
    st.builds(lambda r: {"process": "constant", "rate": r, "start": "1s"}, st.integers(1, 50)),
    st.builds(lambda m, a: {"process": "diurnal", "mean": m, "amplitude": a, "period": "1h"}, st.integers(1, 50),
              st.floats(0, 1)),
    st.just({"process": "poisson", "schedule": [[0, 0], ["1m", "60/s"], ["2m", 0]], "interpolate": "step"}),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(platform=st.sampled_from(["legacy", "hyperplane"]), memory=st.integers(128, 10240), dur=_dists,
       init=_dists, keep=_dists, arrivals=st.lists(_arrivals, min_size=1, max_size=3),
       reserved=st.one_of(st.none(), st.integers(0, 900)), sgs=st.lists(st.sampled_from(["sg-1", "sg-2"]),
                                                                         max_size=2, unique=True))
def test_any_valid_scenario_round_trips_through_yaml(platform, memory, dur, init, keep, arrivals, reserved, sgs):
    raw = _raw()
    raw["platform"] = platform
    fn = raw["functions"][0]
    fn.update(memory_mb=memory, duration=dur, init=init, keep_alive=keep, arrivals=arrivals,
              reserved_concurrency=reserved, security_groups=sgs)
    sc = scenario_from_dict(raw)
    again = scenario_from_dict(yaml.safe_load(sc.to_yaml()))
    assert again == sc
    assert again.functions[0].duration.mean == pytest.approx(sc.functions[0].duration.mean)


def test_resolved_scenario_fills_every_default():
    sc = scenario_from_dict(_raw())
    d = sc.to_dict()
    assert d["region"]["scaling"] == {"model": "burst", "burst": 3000, "per_minute": 500.0}
    assert d["functions"][0]["keep_alive"] == {"dist": "constant", "value": 600.0}
    assert d["vpc"]["eni_attach"] == {"dist": "lognormal", "median": 6.0, "p99": 15.0}
    assert d["functions"][0]["timeout"] == 3.0 and d["seed"] == 0 and d["warmup"] == 0.0


def test_a_function_without_arrivals_loads_back_and_its_results_folder_reads_back(tmp_path):
    """A function imported from a template without a load has no arrivals: its resolved scenario leaves them out
    (an empty list is refused), so to_dict, to_yaml and a results folder load back."""
    import simulator as vs
    from simulator.analysis.results_folder import load_results, write_run

    sc = scenario_from_dict({"version": 1, "name": "t", "duration": "3m", "functions": [{"name": "f",
                                                                                         "memory_mb": 512}]})
    assert "arrivals" not in sc.to_dict()["functions"][0]
    assert scenario_from_dict(sc.to_dict()) == sc == scenario_from_dict(yaml.safe_load(sc.to_yaml()))
    res = vs.simulate(sc)
    write_run(res, tmp_path / "out")
    back = load_results(tmp_path / "out")
    assert back.scenario == sc
    assert back.timeseries["t_s"].dtype == res.timeseries["t_s"].dtype == float  # whole steps read back as times
    assert back.timeseries["t_s"].tolist() == res.timeseries["t_s"].tolist()


# --------------------------------------------------------------------------------------------------- immutability


def test_scenario_is_frozen_all_the_way_down():
    raw = _raw()
    raw["expect"] = {"failure_rate": "<= 0.01", "latency_ms.p99": ["< 3000", "> 0"]}
    raw["functions"][0]["duration"] = {"dist": "empirical", "percentiles": {0: 0.1, 100: 0.2}}
    sc = scenario_from_dict(raw)
    before = sc.to_dict()
    with pytest.raises(ValidationError, match="frozen"):
        sc.name = "x"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        sc.functions[0].memory_mb = 2048  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        sc.vpc.subnets[0].ips_in_use = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        sc.functions[0] = sc.functions[0]  # type: ignore[index]
    with pytest.raises(TypeError, match="immutable"):
        sc.expect["error_rate"] = "< 1"
    with pytest.raises(TypeError, match="immutable"):
        sc.expect["latency_ms.p99"].append("< 5")
    with pytest.raises(TypeError, match="immutable"):
        sc.functions[0].duration.percentiles[50] = 0.15
    assert sc.to_dict() == before
    assert copy.deepcopy(sc) == sc and pickle.loads(pickle.dumps(sc)) == sc
    assert isinstance(sc.expect, dict) and isinstance(sc.expect["latency_ms.p99"], list)  # still read as such


def test_equal_content_is_equal_whatever_the_origin(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(BASE)
    assert load_scenario(path) == scenario_from_dict(_raw())
    assert load_scenario(path) != scenario_from_dict({**_raw(), "seed": 1})


# --------------------------------------------------------------------------------------------------- schema, docs


def _property_names(node, out: set) -> set:
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            out.add(name)
            _property_names(sub, out)
        for key, sub in node.items():
            if key != "properties":
                _property_names(sub, out)
    elif isinstance(node, list):
        for sub in node:
            _property_names(sub, out)
    return out


def test_json_schema_is_valid_and_the_shipped_scenarios_validate_against_it():
    jsonschema = pytest.importorskip("jsonschema")  # not a dependency: checked where it is installed
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(SCENARIOS.glob("*.yaml")):
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path.name
    assert not list(validator.iter_errors(_raw()))
    for broken in ({**_raw(), "nmae": 1}, {**_raw(), "duration": "10 minutes"}, {**_raw(), "duration": "-5s"},
                   {**_raw(), "platform": "lambda"}, {k: v for k, v in _raw().items() if k != "functions"}):
        assert list(validator.iter_errors(broken)), broken


def test_json_schema_knows_the_written_forms():
    schema = json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    fn = schema["$defs"]["Function"]["properties"]
    # A distribution may be a bare duration; arrivals one process or a list.
    assert any(alt.get("anyOf") for alt in fn["duration"]["anyOf"])
    assert {"type": "array"}.items() <= fn["arrivals"]["anyOf"][1].items()
    keys: set = set()  # the keywords used by every (sub)schema

    def walk(node):
        if isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, dict):
            keys.update(node)
            for k, v in node.items():
                if k in ("properties", "$defs", "patternProperties"):  # maps of names to subschemas
                    for sub in v.values():
                        walk(sub)
                elif k not in ("enum", "const", "default", "examples"):  # values, not subschemas
                    walk(v)

    walk(schema)
    assert not keys & {"ge", "gt", "le", "lt"}, "only JSON-Schema keywords (minimum, not pydantic's ge)"


def test_docs_name_every_key_of_the_schema():
    text = (ROOT / "docs" / "scenario.md").read_text(encoding="utf-8")
    names = _property_names(json_schema(), set())
    assert len(names) > 60
    missing = sorted(n for n in names if not re.search(rf"`{re.escape(n)}`", text))
    assert missing == [], f"docs/scenario.md does not document: {missing}"


def test_api_names_are_exported():
    for name in ("load_scenario", "scenario_from_dict", "Scenario", "ScenarioError", "capacity"):
        assert hasattr(vs, name), name


@pytest.mark.parametrize("change, message", [
    ({"foo.bar": 1}, "--set foo.bar: unknown key 'foo'"),
    ({"events.0.at": "1m"}, "--set events.0.at: the scenario has no events (no event '0' to change)"),
    ({"functions.api.arrivals.7.rate": 5}, "--set functions.api.arrivals.7.rate: no arrival process named '7' "
                                           "(there are 2, numbered from 0)"),
])
def test_set_errors_name_the_change_not_a_line_of_the_file(change, message):
    from .conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / "quickstart.yaml")
    with pytest.raises(ScenarioError) as info:
        sc.with_changes(change)
    (problem,) = info.value.problems
    assert problem.line is None and message in str(problem)
