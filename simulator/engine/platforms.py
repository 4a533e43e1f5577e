"""What differs between Lambda's two VPC platforms, behind one interface (§3.4, §3.8 of docs/model.md).

- :data:`LEGACY` — the pre-2019 model: each function has its own ENIs, ``max(1, floor(eni_memory_gb * 1024 /
  memory_mb))`` environments each, counted against the regional ENI quota with every other ENI of the region.
- :data:`HYPERPLANE` — today's model: one shared ENI per (subnet, security-group set), one more per
  ``connections_per_eni`` executions, counted against the per-VPC Hyperplane quota.

The engine builds its network from the platform; the closed forms (:mod:`simulator.analysis.capacity`), the
figures and the report ask the platform rather than branching on ``scenario.platform``.
"""

from __future__ import annotations

import math

from ..scenario.models import Scenario
from ..scenario.sections import Function
from .loop import Loop
from .network import HyperplaneNetwork, LegacyNetwork

__all__ = ["Platform", "LEGACY", "HYPERPLANE", "platform_of"]


class Platform:
    """One VPC platform's rules and closed forms."""

    name = ""
    per_function_enis = True  # each function has ENIs of its own (legacy) or shares them (hyperplane)
    slot_word = "environments"  # what one ENI's slots hold, in figures: "envs/ENI", "connections/ENI"

    def slots_per_eni(self, scenario: Scenario, fn: Function) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def network(self, scenario: Scenario, loop: Loop) -> LegacyNetwork | HyperplaneNetwork:  # pragma: no cover
        raise NotImplementedError

    def eni_quota(self, scenario: Scenario) -> int:  # pragma: no cover - overridden
        """ENIs Lambda can still create under the quota that applies."""
        raise NotImplementedError

    def quota_label(self, scenario: Scenario, long: bool = False) -> str:  # pragma: no cover - overridden
        """The quota's name for a figure (``long``: said in full, for the figure of ENIs)."""
        raise NotImplementedError

    def enis_for(self, scenario: Scenario, fn: Function, executions: int) -> int:  # pragma: no cover
        """ENIs ``fn`` holds with ``executions`` environments spread over its subnets (the packing figure)."""
        raise NotImplementedError

    def enis_per_subnet(self, scenario: Scenario, executions: dict[str, int],
                        enis: dict[str, int]) -> dict[str, int]:  # pragma: no cover - overridden
        """ENIs each subnet holds when every VPC function has ``executions[name]`` environments (``enis[name]``
        its packing figure): a subnet shared by several functions adds them up."""
        raise NotImplementedError


class _Legacy(Platform):
    name = "legacy"
    slot_word = "envs/ENI"

    def slots_per_eni(self, scenario: Scenario, fn: Function) -> int:
        return max(1, math.floor(scenario.vpc.eni_memory_gb * 1024 / fn.memory_mb + 1e-9))

    def network(self, scenario: Scenario, loop: Loop) -> LegacyNetwork:
        return LegacyNetwork(scenario, loop)

    def eni_quota(self, scenario: Scenario) -> int:
        return scenario.region.eni_quota - scenario.region.enis_in_use

    def quota_label(self, scenario: Scenario, long: bool = False) -> str:
        r = scenario.region
        if long:
            return f"regional ENI quota free for Lambda ({r.eni_quota} - {r.enis_in_use})"
        return f"ENI quota ({r.eni_quota} - {r.enis_in_use} in use)"

    def enis_for(self, scenario: Scenario, fn: Function, executions: int) -> int:
        return math.ceil(executions / self.slots_per_eni(scenario, fn))

    def enis_per_subnet(self, scenario: Scenario, executions: dict[str, int],
                        enis: dict[str, int]) -> dict[str, int]:
        # Balanced placement spreads a function's ENIs evenly over its subnets, in the file's order.
        need = {s.id: 0 for s in scenario.vpc.subnets}
        for fn in scenario.functions:
            if not fn.in_vpc:
                continue
            n, k = enis[fn.name], len(fn.subnets)
            for i, sid in enumerate(fn.subnets):
                need[sid] += n // k + (1 if i < n % k else 0)
        return need


class _Hyperplane(Platform):
    name = "hyperplane"
    per_function_enis = False
    slot_word = "connections/ENI"

    def slots_per_eni(self, scenario: Scenario, fn: Function) -> int:
        return scenario.vpc.hyperplane.connections_per_eni

    def network(self, scenario: Scenario, loop: Loop) -> HyperplaneNetwork:
        return HyperplaneNetwork(scenario, loop)

    def eni_quota(self, scenario: Scenario) -> int:
        return scenario.vpc.hyperplane.eni_quota_per_vpc

    def quota_label(self, scenario: Scenario, long: bool = False) -> str:
        return "Hyperplane ENIs per VPC quota" if long else "Hyperplane ENI quota"

    def enis_for(self, scenario: Scenario, fn: Function, executions: int) -> int:
        # One ENI per (subnet, security-group set), one more per `connections_per_eni` executions in that subnet.
        k = len(fn.subnets)
        per_subnet = math.ceil(executions / k) if executions else 0
        return k * max(1, math.ceil(per_subnet / self.slots_per_eni(scenario, fn)))

    def enis_per_subnet(self, scenario: Scenario, executions: dict[str, int],
                        enis: dict[str, int]) -> dict[str, int]:
        # §3.8: the functions of one (subnet, security-group set) share its ENIs, so their executions add up before
        # dividing by the connections one ENI carries; every combination in use holds at least one ENI.
        need = {s.id: 0 for s in scenario.vpc.subnets}
        combos: dict[tuple[str, tuple[str, ...]], int] = {}
        for fn in scenario.functions:
            if not fn.in_vpc:
                continue
            share = math.ceil(executions[fn.name] / len(fn.subnets))
            for sid in fn.subnets:
                key = (sid, tuple(sorted(set(fn.security_groups))))
                combos[key] = combos.get(key, 0) + share
        per_eni = scenario.vpc.hyperplane.connections_per_eni
        for (sid, _), n in combos.items():
            need[sid] += max(1, math.ceil(n / per_eni))
        return need


LEGACY: Platform = _Legacy()
HYPERPLANE: Platform = _Hyperplane()
_PLATFORMS = {p.name: p for p in (LEGACY, HYPERPLANE)}


def platform_of(scenario: Scenario) -> Platform:
    """The platform a scenario runs on."""
    return _PLATFORMS[scenario.platform]
