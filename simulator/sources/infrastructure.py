"""Scenarios whose infrastructure lives elsewhere: ``infrastructure: {cloudformation: PATH | terraform: PATH, ...}``.

Such a scenario says where its VPC and functions are defined instead of copying them, so that ``vpcsim check`` in CI
tests the sizing assumptions against the template as it is in the branch::

    version: 1
    name: orders-ci
    duration: 30m
    infrastructure:
      cloudformation: ../template.yaml      # or terraform: plan.json; relative to this file
      parameters: {Env: prod}               # template parameters (and Fn::ImportValue names)
      subnets: subnets.yaml                 # subnets the template only names (--subnets FILE)
      region: us-east-1                     # Fn::GetAZs, pseudo parameters (default us-east-1)
    functions:                              # matched by name: the load, and any override
      - name: orders-api
        arrivals: {process: poisson, rate: 300}
        duration: {dist: lognormal, median: 120ms, p99: 600ms}
    vpc:
      subnets:                              # matched by id: what the template cannot say
        - {id: PrivateA, ips_in_use: 12}
    expect:
      failure_rate: "<= 0.001"

Loading imports the template afresh (:mod:`.cloudformation`, :mod:`.terraform`), then lays the scenario over it:
every other key of the scenario wins, ``functions`` entries are matched by name and ``vpc.subnets`` entries by id (a
name or id the template does not have is an error with a did-you-mean). The merged data is validated as any
scenario; a problem is reported at the scenario's line when the scenario wrote the value (or left out a key it had
to give) and at the template's line when the template did. ``--set`` changes the merged result.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from ..scenario.models import Scenario, scenario_from_dict
from ..scenario.paths import is_inside
from ..scenario.problems import Problem, ScenarioError
from ..scenario.yaml_marks import dotted_path
from .common import Infrastructure, Origin, SourceError, did_you_mean
from .writer import scenario_data

__all__ = ["load_infrastructure", "INFRASTRUCTURE_KEYS"]

INFRASTRUCTURE_KEYS = ("cloudformation", "terraform", "parameters", "subnets", "region")


def _problem(source: str | None, marks: dict, path: tuple, message: str) -> ScenarioError:
    line = None
    for k in range(len(path), 0, -1):
        if path[:k] in marks:
            line = marks[path[:k]]
            break
    return ScenarioError([Problem(source, line, dotted_path(path), message)])


def _path(base_dir: Path | None, source: str | None, value: str) -> tuple[Path, str]:
    """The file (resolved against the scenario's folder) and its label (as a person would name it)."""
    full = Path(value) if os.path.isabs(value) else (base_dir or Path.cwd()) / value
    label = value if os.path.isabs(value) or not source else os.path.normpath(
        os.path.join(os.path.dirname(source), value))
    return full, label


def read_infrastructure(spec: Any, *, source: str | None, marks: dict, base_dir: Path | None) -> Infrastructure:
    """Import what the ``infrastructure`` section names."""
    from .cloudformation import import_cloudformation

    here = ("infrastructure",)
    if not isinstance(spec, dict):
        raise _problem(source, marks, here, "a mapping: {cloudformation: PATH} or {terraform: PATH}, with optional "
                                            "parameters, subnets, region")
    for key in spec:
        if key not in INFRASTRUCTURE_KEYS:
            raise _problem(source, marks, here + (key,),
                           f"unknown key {key!r}{did_you_mean(str(key), list(INFRASTRUCTURE_KEYS), 'allowed')}")
    kinds = [k for k in ("cloudformation", "terraform") if k in spec]
    if len(kinds) != 1:
        raise _problem(source, marks, here, "names one source: cloudformation: PATH (a template, a SAM project or a "
                                            "cdk.out/ folder) or terraform: PATH (terraform show -json output)"
                       + (f" (got both {' and '.join(kinds)})" if kinds else ""))
    kind = kinds[0]
    for key in (kind, "subnets", "region"):
        if key in spec and (not isinstance(spec[key], str) or not spec[key].strip()):
            raise _problem(source, marks, here + (key,), f"must be a path{'' if key != 'region' else ' or name'} "
                                                         f"(got {spec[key]!r})")
    params = spec.get("parameters") or {}
    if not isinstance(params, dict) or any(isinstance(v, dict | list) for v in params.values()):
        raise _problem(source, marks, here + ("parameters",), "a mapping of parameter names to values")
    if kind == "terraform" and params:
        raise _problem(source, marks, here + ("parameters",), "applies to cloudformation (a plan has its variables "
                                                              "already)")
    if kind == "terraform" and "region" in spec:
        raise _problem(source, marks, here + ("region",), "applies to cloudformation (a plan has its AZs already)")
    target, label = _path(base_dir, source, spec[kind])
    if not target.exists():
        raise _problem(source, marks, here + (kind,), f"no such file or folder: {label}")
    subnets_file = subnets_label = None
    if "subnets" in spec:
        subnets_file, subnets_label = _path(base_dir, source, spec["subnets"])
        if not subnets_file.is_file():
            raise _problem(source, marks, here + ("subnets",), f"no such file: {subnets_label}")
    if kind == "cloudformation":
        text = {str(k): ("true" if v is True else "false" if v is False else str(v)) for k, v in params.items()}
        try:
            return import_cloudformation(target, parameters=text, subnets_file=subnets_file,
                                         region=spec.get("region", "us-east-1"), label=label,
                                         subnets_label=subnets_label)
        except SourceError as exc:
            if exc.problems[0].file is None:  # a parameter the template does not have: the scenario's fault
                raise _problem(source, marks, here + ("parameters",), str(exc).removeprefix("--parameter ")) from None
            raise
    from .terraform import import_terraform

    return import_terraform(target, subnets_file=subnets_file, label=label, subnets_label=subnets_label)


def load_infrastructure(data: dict[str, Any], *, source: str | None, marks: dict, base_dir: str | Path | None,
                        origin: str | None = None) -> Scenario:
    """Import the scenario's infrastructure and lay the scenario over it (see the module's docstring)."""
    base = Path(base_dir) if base_dir is not None else None
    infra = read_infrastructure(data["infrastructure"], source=source, marks=marks, base_dir=base)
    imported, origins = scenario_data(infra)
    merged: dict[str, Any] = {k: v for k, v in imported.items() if k not in ("functions", "vpc")}
    # owner: dotted path -> where a problem there is at fault (an Origin: the template's; a line: the scenario's);
    # the longest prefix wins.
    owner: dict[str, Origin | int | None] = dict(origins)
    for section, items in (("functions", imported["functions"]), ("vpc.subnets", (imported.get("vpc") or {}).get(
            "subnets") or [])):
        for i, item in enumerate(items):
            for k in item:
                owner[f"{section}[{i}].{k}"] = origins[f"{section}[{i}]"]
    new_marks: dict[tuple, int] = {}
    for key, value in data.items():
        if key in ("infrastructure", "functions", "vpc"):
            continue
        merged[key] = copy.deepcopy(value)
        owner[key] = marks.get((key,))
    for k, line in marks.items():
        if k and k[0] not in ("infrastructure", "functions", "vpc"):
            new_marks[k] = line
    if "region" in data and isinstance(data["region"], dict) and isinstance(imported.get("region"), dict):
        merged["region"] = {**imported["region"], **copy.deepcopy(data["region"])}

    # functions: the template's, in its order; the scenario's entries matched by name.
    functions = copy.deepcopy(imported["functions"])
    by_name = {f["name"]: i for i, f in enumerate(functions)}
    own = data.get("functions")
    if own is not None and not isinstance(own, list):
        raise _problem(source, marks, ("functions",), "a list of functions matched by name (the template's "
                                                      "functions get their load and overrides from it)")
    _lay_over(own or [], functions, by_name, "functions", "name", "function", infra.label, source, marks, owner,
              new_marks)
    merged["functions"] = functions

    vpc = copy.deepcopy(imported.get("vpc") or {})
    own_vpc = data.get("vpc")
    if own_vpc is not None:
        if not isinstance(own_vpc, dict):
            raise _problem(source, marks, ("vpc",), "a mapping (the template gives the subnets)")
        for key, value in own_vpc.items():
            if key != "subnets":
                vpc[key] = copy.deepcopy(value)
                owner[f"vpc.{key}"] = marks.get(("vpc", key))
        for k, line in marks.items():
            if len(k) >= 2 and k[0] == "vpc" and k[1] != "subnets":
                new_marks[k] = line
        if "subnets" in own_vpc:
            if not isinstance(own_vpc["subnets"], list):
                raise _problem(source, marks, ("vpc", "subnets"), "a list of subnets matched by id (the template's "
                                                                  "subnets get these values)")
            subnets = vpc.setdefault("subnets", [])
            _lay_over(own_vpc["subnets"], subnets, {s["id"]: i for i, s in enumerate(subnets)}, "vpc.subnets", "id",
                      "subnet", infra.label, source, marks, owner, new_marks)
    if vpc:
        merged["vpc"] = vpc
    new_marks[()] = marks.get((), 1)

    try:
        sc = scenario_from_dict(merged, source=source, marks=new_marks, base_dir=base_dir, _origin=origin)
    except ScenarioError as exc:
        raise ScenarioError([_attribute(p, owner, source) for p in exc.problems]) from None
    return sc


def _lay_over(entries: list, items: list[dict], index: dict[str, int], where: str, key: str, what: str,
              label: str, source: str | None, marks: dict, owner: dict, new_marks: dict) -> None:
    """Apply the scenario's ``entries`` to the template's ``items`` (matched by ``key``), recording who owns what."""
    prefix = tuple(where.split("."))
    for j, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
            raise _problem(source, marks, prefix + (j,), f"an entry names the template's {what} it changes: "
                                                         f"{{{key}: ...}}")
        name = entry[key]
        if name not in index:
            raise _problem(source, marks, prefix + (j, key), f"no {what} {name!r} in {label}"
                                                             f"{did_you_mean(name, list(index), what + 's')}")
        i = index[name]
        items[i].update(copy.deepcopy(entry))
        owner[f"{where}[{i}]"] = marks.get(prefix + (j,))  # a key it left out is the scenario's to give
        for k in entry:
            if k != key:
                owner[f"{where}[{i}].{k}"] = marks.get(prefix + (j, k))
        for mk, line in marks.items():
            if mk[: len(prefix) + 1] == prefix + (j,):
                new_marks[prefix + (i,) + mk[len(prefix) + 1:]] = line


def _attribute(p: Problem, owner: dict[str, Origin | int | None], source: str | None) -> Problem:
    best = max((k for k in owner if is_inside(p.path, k)), key=len, default=None)
    if best is None:
        return p
    who = owner[best]
    if isinstance(who, Origin):
        # A template item's value is at fault, unless the scenario gave the key: then the scenario is.
        return who.problem(p.message, p.path)
    return p._replace(file=source, line=p.line if p.line is not None else who)
