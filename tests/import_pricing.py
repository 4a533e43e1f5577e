"""For the importer tests: that an imported function's architecture is what its cost is priced by."""

from __future__ import annotations

import pytest

import simulator as vs
from simulator.analysis.prices import prices_for


def assert_priced_as(sc: vs.Scenario, name: str, architecture: str) -> None:
    """Run ``name`` alone for a few minutes under a small load (no provisioned concurrency, so that its cost is
    requests plus on-demand GB-seconds) and check that the summary's cost of it uses ``architecture``'s price per
    GB-second, not the other architecture's."""
    fn = next(f for f in sc.functions if f.name == name)
    assert fn.architecture == architecture
    loaded = sc.with_changes({
        "duration": "3m", "warmup": "0s",
        f"functions.{name}.arrivals": [{"process": "constant", "rate": 5}],
        f"functions.{name}.duration": {"dist": "constant", "value": "200ms"},
        f"functions.{name}.provisioned_concurrency": 0,
    })
    res = vs.simulate(loaded, seed=1)
    billed = res.summary["cost"]["functions"][name]
    prices = prices_for(loaded)
    assert billed["requests"] > 0 and billed["gb_s"] > 0
    requests_usd = billed["requests"] * prices.requests_per_million_usd / 1e6
    expected = requests_usd + billed["gb_s"] * prices.architectures[architecture].duration_gb_s_usd
    other = "x86_64" if architecture == "arm64" else "arm64"
    assert prices.architectures[other].duration_gb_s_usd != prices.architectures[architecture].duration_gb_s_usd
    assert billed["usd"] == pytest.approx(expected, rel=1e-9)
