"""The scenario file (SPEC §2): validated once when loaded, frozen afterwards.

:mod:`.models` holds the scenario model, the platform presets, the rules that span several sections and the
loader; :mod:`.sections` the models of the file's sections (region, VPC and subnets, functions, events, prices);
:mod:`.distributions` and :mod:`.arrivals` the value forms of durations and of arrival processes; :mod:`.traces`
and :mod:`.trace_files` the trace files an arrival process replays; :mod:`.yaml_marks` the YAML reader that keeps
line numbers, :mod:`.paths` the ``--set`` paths and :mod:`.messages` the translation of validation errors into
``FILE:LINE: path: message``.
"""

from __future__ import annotations

from .models import (
    PRESETS,
    Problem,
    Scenario,
    ScenarioError,
    json_schema,
    load_scenario,
    scenario_from_dict,
)
from .sections import AzOutage, Function, IpsReleased, IpsTaken, Region, Subnet, Vpc

__all__ = [
    "Scenario", "Function", "Subnet", "Region", "Vpc", "AzOutage", "IpsTaken", "IpsReleased", "ScenarioError",
    "Problem", "load_scenario", "scenario_from_dict", "PRESETS", "json_schema",
]
