"""Shared fixtures: tiny scenarios built from dicts, paths to the shipped scenarios and the shared traces."""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import simulator as vs

# Same tests, same examples, every run (CI must not turn red by chance): hypothesis derives its examples from the
# test itself. HYPOTHESIS_PROFILE=explore searches afresh each run, for a developer hunting for bugs.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHARED = ROOT.parent / "shared"
TRACES = SHARED / "traces"
# The Azure samples live beside the project (../shared/traces), not in it: without them the tests that replay them
# are skipped, with this reason, rather than failing.
HAVE_TRACES = (TRACES / "azure2019-sample").is_dir() and (TRACES / "azure2021-excerpt").is_dir()
needs_traces = pytest.mark.skipif(not HAVE_TRACES, reason="needs the Azure traces in ../shared/traces beside the "
                                                          "project (they are not shipped with it)")


def with_traces(values, uses_traces=lambda v: "azure" in str(v) or "03-real-trace" in str(v)):
    """Parameters for a parametrized test, those that replay the shared traces marked ``needs_traces``."""
    return [pytest.param(v, marks=needs_traces) if uses_traces(v) else v for v in values]

BASE: dict[str, Any] = {
    "version": 1,
    "name": "tiny",
    "duration": 10,
    "timestep": 1,
    "region": {"concurrency_limit": 1000, "scaling": {"model": "unlimited"}, "eni_quota": 350},
    "vpc": {
        "eni_attach": 2.0,
        "eni_idle_release": 5.0,
        "eni_delete": 1.0,
        "subnets": [
            {"id": "a", "az": "az-a", "cidr": "10.0.1.0/28"},
            {"id": "b", "az": "az-b", "cidr": "10.0.2.0/28"},
        ],
    },
    "functions": [
        {
            "name": "f",
            "memory_mb": 1024,
            "subnets": ["a", "b"],
            "timeout": 60,
            "duration": 1.0,
            "init": 0.5,
            "keep_alive": 3.0,
            "arrivals": {"process": "constant", "rate": 1},
        }
    ],
}


def deep_merge(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def tiny(**changes: Any) -> vs.Scenario:
    """A small deterministic scenario; keyword arguments deep-merge into BASE (lists replace)."""
    return vs.scenario_from_dict(deep_merge(BASE, changes))


def rows(result: vs.Result) -> list[tuple]:
    """The invocation table of an exact trace as tuples (arrival, start, end, outcome, cold, ENI wait, subnet, AZ,
    attempt), NaN as None so that a row compares with ``==``."""
    cols = ["arrival_s", "start_s", "end_s", "outcome", "cold", "wait_s", "subnet", "az", "attempt"]
    out = []
    for r in result.invocations[cols].itertuples(index=False):
        out.append(tuple(None if isinstance(v, float) and math.isnan(v) else v for v in r))
    return out


@pytest.fixture
def tiny_scenario():
    return tiny
