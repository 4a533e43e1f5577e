"""vpcsim: a capacity-planning simulator for AWS Lambda functions in a VPC.

The public API (SPEC §7)::

    import simulator as vs
    sc = vs.load_scenario("scenarios/quickstart.yaml")   # validated, immutable
    res = vs.simulate(sc, seed=1)                        # a Result: summary, timeseries, plot()
    vs.capacity(sc)                                      # closed-form figures and lint (SPEC §5)
    vs.sweep(sc, {"functions.api.memory_mb": [512, 1024]}, replications=5)
    vs.compare(sc, {"platform": "hyperplane"})           # two runs, one seed, side by side

The packages show the layers, each importing only the ones below it: :mod:`.scenario` (the file, validated and
frozen), :mod:`.sources` (what becomes a scenario), :mod:`.engine` (the model and its recorder), :mod:`.summary`
(the results contract), :mod:`.analysis` (runs, closed forms and answers), :mod:`.present` (figures, reports,
results folders) and :mod:`.cli` (the command line). docs/architecture.md draws them.

The names below are the package's functions; the modules of the same meaning live in the packages
(``simulator.analysis.capacity`` is the module, ``simulator.capacity`` the function).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import hooks

# The public names, each from the module that defines it. They are imported when first used (PEP 562), so that
# `vpcsim --help` and `vpcsim validate` do not load pandas, matplotlib and the engine they do not need.
_API = {
    "__version__": ".version",  # from the package metadata (importlib.metadata: 30 ms, paid when asked)
    "capacity": ".analysis.capacity",
    "compare": ".analysis.compare", "Comparison": ".analysis.compare",
    "estimate": ".analysis.estimate", "Estimate": ".analysis.estimate",
    "Result": ".analysis.results", "simulate": ".analysis.results",
    "SweepError": ".analysis.sweep", "run_replications": ".analysis.sweep", "sweep": ".analysis.sweep",
    "ArgumentError": ".errors", "VpcsimError": ".errors",
    "Problem": ".scenario.models", "Scenario": ".scenario.models", "ScenarioError": ".scenario.models",
    "load_scenario": ".scenario.models", "scenario_from_dict": ".scenario.models",
}

__all__ = [
    "__version__", "capacity", "compare", "Comparison", "estimate", "Estimate", "Result", "simulate", "SweepError",
    "run_replications", "sweep", "ArgumentError", "VpcsimError", "Problem", "Scenario", "ScenarioError",
    "load_scenario", "scenario_from_dict",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors; at run time __getattr__ imports them
    from .analysis.capacity import capacity
    from .analysis.compare import Comparison, compare
    from .analysis.estimate import Estimate, estimate
    from .analysis.results import Result, simulate
    from .analysis.sweep import SweepError, run_replications, sweep
    from .errors import ArgumentError, VpcsimError
    from .scenario.models import Problem, Scenario, ScenarioError, load_scenario, scenario_from_dict
    from .version import __version__


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


# The scenario loader's hooks (simulator.hooks): the layers above it provide them, imported when first called.
def _expect_problems(scenario: Any, *, check_capacity: bool = True) -> list[tuple[tuple, str]]:
    from .analysis.expectations import expect_problems

    return expect_problems(scenario, check_capacity=check_capacity)


def _load_infrastructure(data: dict, **options: Any) -> Any:
    from .sources.infrastructure import load_infrastructure

    return load_infrastructure(data, **options)


hooks.install(expect_problems=_expect_problems, load_infrastructure=_load_infrastructure)
