"""vpcsim: a capacity-planning simulator for AWS Lambda functions in a VPC.

The public API (SPEC §7)::

    import simulator as vs
    sc = vs.load_scenario("scenarios/quickstart.yaml")   # validated, immutable
    vs.capacity(sc)                                      # closed-form figures and lint (SPEC §5)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .capacity import capacity
from .results import Result, simulate
from .scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from .sweep import sweep  # the function; `from simulator.sweep import ...` still reaches the module

__all__ = [
    "__version__", "Result", "Scenario", "ScenarioError", "capacity", "load_scenario", "scenario_from_dict", "simulate",
    "sweep",
]
