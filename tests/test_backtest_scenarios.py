"""Tier 3: back-tests on the shipped scenarios — results checked against what the scenario's numbers imply."""

from __future__ import annotations

import math

import pytest

import simulator as vs

from .conftest import SCENARIOS

ALL = sorted(p.name for p in SCENARIOS.glob("*.yaml"))


@pytest.fixture(scope="module")
def runs():
    cache: dict[str, vs.Result] = {}

    def get(name: str) -> vs.Result:
        if name not in cache:
            cache[name] = vs.simulate(vs.load_scenario(SCENARIOS / name), record_invocations=False)
        return cache[name]

    return get


@pytest.mark.parametrize("name", [n for n in ALL if n != "azure-trace.yaml"])
def test_every_shipped_scenario_conserves_invocations_and_respects_its_ceilings(name, runs):
    res = runs(name)
    s = res.summary
    assert s["invocations"] > 0
    assert sum(s["outcomes"].values()) == s["invocations"]
    cap = s["capacity"]
    for fname, f in s["functions"].items():
        c = cap["functions"][fname]["ceilings"]
        assert f["peak_concurrency"] <= c["concurrency"]
        if c["subnet_ips"] is not None and res.scenario.platform == "legacy":
            assert f["peak_concurrency"] <= c["subnet_ips"]
    for sub in s["subnets"].values():
        assert 0 <= sub["min_free_ips"] <= sub["usable_ips"]


def test_quickstart_spike_pays_the_eni_penalty_but_fits(runs):
    s = runs("quickstart.yaml").summary
    # The doc's formula sizes the spike at 48 ENIs; new environments wait for a 6-15 s attach, so the cold starts
    # of the spike take seconds, not the init's few hundred milliseconds.
    assert s["capacity"]["functions"]["api"]["enis_formula"] == 48
    assert s["cold_start_ms"]["p50"] > 3000
    assert s["failure_rate"] <= 0.05
    assert s["functions"]["api"]["peak_concurrency"] > 48  # what the formula's 144 executions hide: the pile-up
    first = s["first_outcome_s"]
    assert all(t >= 6 * 60 for t in first.values())  # nothing fails before the spike starts at 6 minutes


def test_spike_runs_both_subnets_out_of_addresses_at_the_closed_form_ceiling(runs):
    s = runs("spike-exhausts-subnets.yaml").summary
    # 2 x 251 usable - 60 in use = 442 addresses, 2 environments per ENI at 1536 MB → 884 executions.
    ceiling = s["capacity"]["functions"]["launch-api"]["ceilings"]["subnet_ips"]
    assert ceiling == 884
    assert s["peak_concurrency"] == ceiling and s["peak_enis"] == 442
    assert s["outcomes"]["subnet_ips"] > 0 and s["failed"] == s["outcomes"]["subnet_ips"]
    assert 10 * 60 < s["first_failure_s"] < 12 * 60  # during the ramp to 4000/s (10 to 12 minutes)
    for sub in s["subnets"].values():
        assert sub["min_free_ips"] == 0 and 10 * 60 < sub["exhausted_s"] < 12 * 60


def test_az_outage_shows_that_n_minus_1_is_not_enough(runs):
    res = runs("az-outage.yaml")
    s = res.summary
    cap = s["capacity"]["functions"]["orders"]
    # 3 x (59 - 8) = 153 addresses, one per environment at 2048 MB; N-1 leaves 102, below the projected 134.
    assert cap["ceilings"]["subnet_ips"] == 153 and cap["ceilings"]["n_minus_1"] == 102
    assert cap["projected_peak"] == math.ceil(230 * res.scenario.functions[0].duration.mean)
    assert s["first_outcome_s"]["az_outage"] == 20 * 60  # in-flight invocations of us-east-1a fail at once
    assert s["first_outcome_s"]["subnet_ips"] >= 20 * 60  # addresses only run out once us-east-1a is gone
    assert s["outcomes"]["subnet_ips"] > 1000
    # Only the surviving AZs are exhausted during the outage; us-east-1a's ENIs keep their addresses meanwhile.
    assert s["subnets"]["orders-b"]["exhausted_s"] == pytest.approx(s["subnets"]["orders-c"]["exhausted_s"], abs=60)
    assert s["subnets"]["orders-a"]["exhausted_s"] is None or s["subnets"]["orders-a"]["exhausted_s"] >= 35 * 60
    ts = res.timeseries
    during = ts[(ts["t_s"] >= 20 * 60) & (ts["t_s"] < 35 * 60)]
    assert during["subnet_ips"].sum() > 0 and ts[ts["t_s"] < 20 * 60]["subnet_ips"].sum() == 0
    assert res.summary["expectations"] is None or any(not e["passed"] for e in res.summary["expectations"])


def test_hyperplane_removes_the_address_failures_of_the_spike():
    sc = vs.load_scenario(SCENARIOS / "spike-exhausts-subnets.yaml").with_changes({"platform": "hyperplane",
                                                                                  "duration": "21m"})
    s = vs.simulate(sc).summary
    assert s["outcomes"]["subnet_ips"] == 0
    assert all(sub["peak_ips_used"] == 30 + 1 for sub in s["subnets"].values())  # one shared ENI per subnet


def test_same_seed_same_results_different_seed_different_results():
    sc = vs.load_scenario(SCENARIOS / "quickstart.yaml")
    a, b = vs.simulate(sc), vs.simulate(sc)
    strip = lambda s: {k: v for k, v in s.items() if k != "wall_s"}  # noqa: E731
    assert strip(a.summary) == strip(b.summary)
    assert a.timeseries.equals(b.timeseries)
    c = vs.simulate(sc, seed=sc.seed + 1)
    assert strip(c.summary) != strip(a.summary)


def test_adding_a_function_does_not_reshuffle_the_others_streams():
    sc = vs.load_scenario(SCENARIOS / "quickstart.yaml").with_changes({"duration": "3m", "warmup": 0})
    base = vs.simulate(sc, record_invocations=True).invocations
    raw = sc.to_dict()
    extra = dict(raw["functions"][0], name="zz-other", subnets=[])
    two = vs.scenario_from_dict({**raw, "functions": [raw["functions"][0], extra]})
    both = vs.simulate(two, record_invocations=True).invocations
    mine = both[both["function"] == "api"]
    # The other function shares no limit that binds here, so "api" sees exactly the same arrivals and durations.
    assert mine["arrival_s"].tolist() == base["arrival_s"].tolist()
    assert (mine["end_s"] - mine["start_s"]).round(12).tolist() == (base["end_s"] - base["start_s"]).round(12).tolist()
