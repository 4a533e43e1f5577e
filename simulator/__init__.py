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

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("vpcsim")
except PackageNotFoundError:  # pragma: no cover - a source tree that was not installed
    __version__ = "0.0.0+unknown"

from .analysis.capacity import capacity
from .analysis.compare import Comparison, compare
from .analysis.estimate import Estimate, estimate
from .analysis.results import Result, simulate
from .analysis.sweep import SweepError, run_replications, sweep
from .errors import ArgumentError, VpcsimError
from .scenario import Problem, Scenario, ScenarioError, load_scenario, scenario_from_dict

__all__ = [
    "__version__", "Result", "Scenario", "capacity", "compare", "Comparison", "estimate", "Estimate",
    "load_scenario", "scenario_from_dict", "simulate", "sweep", "run_replications", "VpcsimError", "ArgumentError",
    "ScenarioError", "SweepError", "Problem",
]
