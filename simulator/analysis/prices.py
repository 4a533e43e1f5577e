"""The price table cost is computed with (AWS facts §9), and its override by a scenario's ``pricing:`` section.

The table holds the first-tier prices of US East (N. Virginia) with their source and the date they were checked.
A scenario's ``pricing:`` replaces any of them (a negotiated rate, another region); the resolved :class:`Prices`
names both sources, so a cost figure always says which prices it used.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..scenario.models import Scenario

__all__ = ["Prices", "ArchitecturePrices", "TABLE", "SOURCE", "FREE_TIER_REQUESTS", "FREE_TIER_GB_S", "prices_for"]

SOURCE = ("AWS Lambda and Amazon VPC pricing pages (aws.amazon.com/lambda/pricing, aws.amazon.com/vpc/pricing), "
          "US East (N. Virginia), first tier, checked 2026 (docs/aws-facts.md §9)")

# AWS facts §9: the free tier is per account and month; a planner shows it apart, never subtracted from a design.
FREE_TIER_REQUESTS = 1_000_000
FREE_TIER_GB_S = 400_000.0


@dataclasses.dataclass(frozen=True)
class ArchitecturePrices:
    """Per GB-second: on-demand duration, provisioned concurrency kept warm, duration on provisioned environments."""

    duration_gb_s_usd: float
    provisioned_gb_s_usd: float
    provisioned_duration_gb_s_usd: float


@dataclasses.dataclass(frozen=True)
class Prices:
    requests_per_million_usd: float
    architectures: dict[str, ArchitecturePrices]
    nat_gateway_hour_usd: float
    nat_gb_usd: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"requests_per_million_usd": self.requests_per_million_usd,
                **{arch: dataclasses.asdict(p) for arch, p in self.architectures.items()},
                "nat_gateway_hour_usd": self.nat_gateway_hour_usd, "nat_gb_usd": self.nat_gb_usd,
                "source": self.source}


# AWS facts §9 (requests $0.20 per million; duration, provisioned concurrency and provisioned duration per GB-s;
# NAT gateway $0.045 per hour and per GB processed).
TABLE = Prices(
    requests_per_million_usd=0.20,
    architectures={
        "x86_64": ArchitecturePrices(0.0000166667, 0.0000041667, 0.0000097222),
        "arm64": ArchitecturePrices(0.0000133334, 0.0000033334, 0.0000077778),
    },
    nat_gateway_hour_usd=0.045,
    nat_gb_usd=0.045,
    source=SOURCE,
)


def prices_for(scenario: Scenario) -> Prices:
    """The table with the scenario's ``pricing:`` overrides applied."""
    over = scenario.pricing
    if over is None:
        return TABLE
    archs = {}
    for arch, base in TABLE.architectures.items():
        given = getattr(over, arch)
        changes = {k: v for k, v in (given.model_dump() if given is not None else {}).items() if v is not None}
        archs[arch] = dataclasses.replace(base, **changes)
    def pick(name: str) -> float:
        value = getattr(over, name)
        return getattr(TABLE, name) if value is None else value

    changed = any(v is not None for k, v in over.model_dump().items() if k != "source")
    source = TABLE.source
    if changed:
        source = f"{over.source or 'the scenario’s pricing: section'}, over {TABLE.source}"
    return Prices(pick("requests_per_million_usd"), archs, pick("nat_gateway_hour_usd"), pick("nat_gb_usd"), source)
