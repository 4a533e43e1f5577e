"""The scenario file (SPEC §2): validated once when loaded, frozen afterwards.

:mod:`.models` holds the pydantic models, the platform presets, the YAML reader that keeps line numbers, the
``--set`` paths and the translation of validation errors into ``FILE:LINE: path: message``; :mod:`.distributions`
and :mod:`.arrivals` the value forms of durations and of arrival processes; :mod:`.traces` the trace files an
arrival process replays.
"""

from __future__ import annotations

from .models import (
    PRESETS,
    AzOutage,
    Function,
    IpsReleased,
    IpsTaken,
    Problem,
    Region,
    Scenario,
    ScenarioError,
    Subnet,
    Vpc,
    json_schema,
    load_scenario,
    scenario_from_dict,
)

__all__ = [
    "Scenario", "Function", "Subnet", "Region", "Vpc", "AzOutage", "IpsTaken", "IpsReleased", "ScenarioError",
    "Problem", "load_scenario", "scenario_from_dict", "PRESETS", "json_schema",
]
