"""The Python API checks its arguments (issue 12, item 9): a wrong kind of argument raises the package's own error,
one line naming the function and the parameter, never an internal AttributeError or KeyError from deep inside."""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator as vs
from simulator.analysis.sweep import run_replications
from simulator.errors import ArgumentError, VpcsimError

from .conftest import BASE, SCENARIOS, tiny

QUICK = SCENARIOS / "quickstart.yaml"


@pytest.fixture(scope="module")
def sc():
    return tiny()


IAC = next((Path(__file__).resolve().parents[2] / "shared" / "iac").rglob("*.yaml"))
AZURE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "azure2019-sample" / "100"
NO_LOAD = {"version": 1, "name": "no-load", "duration": "3m", "functions": [{"name": "f", "memory_mb": 512}]}


def _cases(sc):
    from simulator.analysis.compare import compare
    from simulator.analysis.headroom import headroom, parse_until
    from simulator.analysis.results_folder import load_results, write_run
    from simulator.analysis.size import memory_tradeoff, size
    from simulator.sources.azure import import_azure2019
    from simulator.sources.cloudformation import import_cloudformation

    return [
        ("simulate", lambda: vs.simulate(str(QUICK)), "load the file first"),
        ("simulate", lambda: vs.simulate(QUICK), "load the file first"),
        ("simulate", lambda: vs.simulate(BASE), "scenario_from_dict"),
        ("simulate", lambda: vs.simulate(None), "must be a Scenario"),
        ("simulate", lambda: vs.simulate(sc, seed="1"), "seed"),
        ("simulate", lambda: vs.simulate(sc, seed=-1), "seed"),
        ("simulate", lambda: vs.simulate(sc, seed=1.5), "seed"),
        ("simulate", lambda: vs.simulate(sc, seed=True), "seed"),
        ("simulate", lambda: vs.simulate(sc, record_invocations="yes"), "record_invocations"),
        ("simulate", lambda: vs.simulate(sc, replication=-2), "replication"),
        ("simulate", lambda: vs.simulate(sc, replication="0"), "replication"),
        ("simulate", lambda: vs.simulate(sc, progress=5), "progress"),
        ("capacity", lambda: vs.capacity(str(QUICK)), "load the file first"),
        ("capacity", lambda: vs.capacity({"version": 1}), "scenario_from_dict"),
        ("capacity", lambda: vs.capacity(42), "must be a Scenario"),
        ("sweep", lambda: vs.sweep(sc, {"functions.f.memory_mb": "512"}), "must be a list"),
        ("sweep", lambda: vs.sweep(sc, {"functions.f.memory_mb": 512}), "must be a list"),
        ("sweep", lambda: vs.sweep(sc, {"functions.f.memory_mb": {"a": 1}}), "must be a list"),
        ("sweep", lambda: vs.sweep(sc, ["functions.f.memory_mb"]), "vary"),
        ("sweep", lambda: vs.sweep(sc, {1: [512]}), "dotted paths"),
        ("sweep", lambda: vs.sweep(sc, {}), "nothing to vary"),
        ("sweep", lambda: vs.sweep(sc, {"functions.f.memory_mb": []}), "no values"),
        ("sweep", lambda: vs.sweep(str(QUICK), {"functions.f.memory_mb": [512]}), "load the file first"),
        ("sweep", lambda: vs.sweep(sc, {"functions.f.memory_mb": [512]}, replications="2"), "replications"),
        ("sweep", lambda: vs.sweep(sc, {"functions.f.memory_mb": [512]}, replications=0), "replications"),
        ("sweep", lambda: vs.sweep(sc, {"functions.f.memory_mb": [512]}, workers=-1), "workers"),
        ("sweep", lambda: vs.sweep(sc, {"functions.f.memory_mb": [512]}, workers="2"), "workers"),
        ("sweep", lambda: vs.sweep(sc, {"functions.f.memory_mb": [512]}, seed="x"), "seed"),
        ("run_replications", lambda: run_replications(str(QUICK), 2), "load the file first"),
        ("run_replications", lambda: run_replications(sc, "2"), "replications"),
        ("run_replications", lambda: run_replications(sc, 0), "replications"),
        ("run_replications", lambda: run_replications(sc, 2, workers=None), "workers"),
        ("with_changes", lambda: sc.with_changes("platform=hyperplane"), "mapping"),
        ("with_changes", lambda: sc.with_changes(["platform"]), "mapping"),
        ("with_changes", lambda: sc.with_changes({3: "x"}), "dotted paths"),
        ("with_changes", lambda: sc.with_changes({"functions.nope.memory_mb": 512}), "no function named"),
        ("load_scenario", lambda: vs.load_scenario(42), "path"),
        ("load_scenario", lambda: vs.load_scenario(None), "path"),
        ("load_scenario", lambda: vs.load_scenario(BASE), "scenario_from_dict"),
        ("load_scenario", lambda: vs.load_scenario("no/such/file.yaml"), "no such file"),
        ("scenario_from_dict", lambda: vs.scenario_from_dict("version: 1"), "mapping"),
        ("scenario_from_dict", lambda: vs.scenario_from_dict(None), "mapping"),
        ("scenario_from_dict", lambda: vs.scenario_from_dict([BASE]), "mapping"),
        ("compare", lambda: compare(str(QUICK), {"platform": "hyperplane"}), "load the file first"),
        ("compare", lambda: compare(sc, "platform=hyperplane"), "mapping"),
        ("compare", lambda: compare(sc, {"platform": "hyperplane"}, seed="1"), "seed"),
        ("compare", lambda: compare(sc, 5), "a Scenario or a mapping"),
        ("write_run", lambda: write_run(sc, "out"), "Result"),
        ("write_run", lambda: write_run(None, "out"), "Result"),
        ("simulate", lambda: vs.simulate(sc, seed=2**64), "at most 9,223,372,036,854,775,807"),
        ("run_replications", lambda: run_replications(sc, 2, strict="no"), "strict must be True or False"),
        ("run_replications", lambda: run_replications(sc, 1, strict=True), "one run has none"),
        ("run_replications", lambda: run_replications(sc, 2, record_invocations="x"), "record_invocations"),
        ("headroom", lambda: headroom(sc, share="1"), "share must be a finite number"),
        ("headroom", lambda: headroom(sc, resolution="0.02"), "resolution must be a finite number"),
        ("headroom", lambda: headroom(sc, max_multiplier=None), "max_multiplier must be a finite number"),
        ("headroom", lambda: headroom(sc, [5]), "a condition is a text"),
        ("headroom", lambda: headroom(sc, 5), "conditions must be a list"),
        ("headroom", lambda: headroom(sc, seed="x"), "seed"),
        ("headroom", lambda: headroom(vs.scenario_from_dict(NO_LOAD)), "has no load"),
        ("size", lambda: size(sc, n_minus_1="no"), "n_minus_1 must be True or False"),
        ("size", lambda: size(sc, per_subnet="no"), "per_subnet must be True or False"),
        ("size", lambda: size(sc, share="x"), "share must be a finite number"),
        ("size", lambda: size(BASE), "scenario_from_dict"),
        ("memory_tradeoff", lambda: memory_tradeoff(sc, [512], replications=0), "replications must be >= 1"),
        ("memory_tradeoff", lambda: memory_tradeoff(sc, 512), "sizes_mb must be a list"),
        ("memory_tradeoff", lambda: memory_tradeoff(BASE, [512]), "scenario_from_dict"),
        ("estimate", lambda: vs.estimate(BASE), "scenario_from_dict"),
        ("estimate", lambda: vs.estimate(sc, replications=0), "replications must be >= 1"),
        ("estimate", lambda: vs.estimate(sc, workers=-1), "workers must be >= 0"),
        ("estimate", lambda: vs.estimate(sc, points="3"), "points"),
        ("parse_until", lambda: parse_until(sc, None), "texts must be a list"),
        ("compare", lambda: compare(sc, {"seed": 5}), "give compare(..., seed=5)"),
        ("compare", lambda: compare(sc, {"platform": "hyperplane"}, labels="ab"), "labels must be two"),
        ("compare", lambda: compare(sc, {"platform": "hyperplane"}, labels=(1, 2)), "labels must be two"),
        ("Scenario.function", lambda: sc.function("g"), "no function named 'g'"),
        ("Scenario.subnet", lambda: sc.subnet("c"), "no subnet named 'c'"),
        ("write_run", lambda: write_run(vs.simulate(sc), None), "out_dir must be a path"),
        ("load_results", lambda: load_results(None), "folder must be a path"),
        ("load_results", lambda: load_results(5), "folder must be a path"),
        ("import_azure2019", lambda: import_azure2019(AZURE, day=0), "day must be >= 1"),
        ("import_azure2019", lambda: import_azure2019(AZURE, timestep_s=0), "timestep_s must be above 0"),
        ("import_azure2019", lambda: import_azure2019(AZURE, region="mars-1"), "AWS region name"),
        ("import_azure2019", lambda: import_azure2019(AZURE, top="5"), "top must be a whole number"),
        ("import_azure2019", lambda: import_azure2019(AZURE, functions="1fa06535"), "a list of hashes"),
        ("import_cloudformation", lambda: import_cloudformation(IAC, region="mars-1"), "AWS region name"),
        ("import_cloudformation", lambda: import_cloudformation(IAC, parameters=["Env=prod"]),
         "parameters must be a mapping"),
        ("Scenario.model_validate", lambda: vs.Scenario.model_validate(
            {**BASE, "functions": [{**BASE["functions"][0], "subnets": ["nope"]}]}), "no subnet with id"),
    ]


def test_fifty_wrong_calls_each_raise_the_packages_own_error_in_one_line(sc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = _cases(sc)
    assert len(cases) >= 50
    wrong = []
    for name, call, words in cases:
        try:
            call()
        except VpcsimError as exc:
            text = str(exc)
            if words not in text or "\n" in text:
                wrong.append((name, words, text))
        except Exception as exc:  # noqa: BLE001 - the point: anything else is a defect
            wrong.append((name, words, f"{type(exc).__name__}: {exc}"))
        else:
            wrong.append((name, words, "no error"))
    assert wrong == []
    assert not (tmp_path / "out").exists()


def test_argument_errors_are_type_and_value_errors_too():
    # Code that caught TypeError/ValueError before still catches them.
    with pytest.raises(TypeError):
        vs.simulate("file.yaml")
    with pytest.raises(ValueError):
        vs.simulate(tiny(), seed=-1)
    assert issubclass(ArgumentError, VpcsimError) and issubclass(vs.ScenarioError, VpcsimError)


def test_a_path_object_is_accepted_where_a_path_is_meant():
    assert vs.load_scenario(Path(QUICK)).name == "quickstart"
    assert vs.simulate(tiny(), seed=3).summary["seed"] == 3
