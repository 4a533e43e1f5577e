"""The ``--load FILE`` overlay: the load that infrastructure does not say, per function.

A template, a plan or an account says how functions are configured, not what calls them. The load file gives each
function the scenario's per-function load keys (:data:`~simulator.sources.common.LOAD_KEYS`: ``arrivals``,
``duration``, ``init``, ``keep_alive``, ``invocation``, ``client_retry``, ``max_event_age``, ``needs_internet``)::

    checkout:
      arrivals: {process: poisson, rate: 200}
      duration: {dist: lognormal, median: 120ms, p99: 900ms}
    reports:
      arrivals: {process: trace, file: traces/reports.csv, format: per_minute}
      duration: 2s

A name that matches no imported function is an error with a did-you-mean; so is a key that is not a load key (the
template's settings are changed with ``--set`` instead). Trace files are relative to the load file, and are written
relative to the scenario. The values themselves are checked when the scenario is validated, and a problem in them
names the load file's line.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from ..scenario.yaml_marks import compose_yaml
from .common import LOAD_KEYS, Infrastructure, Origin, SourceError, did_you_mean, read_source_text

__all__ = ["read_load", "apply_load", "Load"]

Load = dict[str, tuple[dict[str, Any], dict[str, Origin]]]  # name -> (keys, where each key came from)


def read_load(path: str | Path, label: str | None = None) -> Load:
    label = label or str(path)
    p = Path(path)
    text = read_source_text(p, label, "a --load file")
    data, marks = compose_yaml(text, label)
    if not isinstance(data, dict) or not data:
        raise SourceError("a load file maps function names to their load keys, e.g. `checkout: {arrivals: {process: "
                          "poisson, rate: 50}, duration: 120ms}`", label, 1 if marks else None)
    base = p.resolve().parent
    out: Load = {}
    for name, keys in data.items():
        line = marks.get((name,))
        if not isinstance(keys, dict) or not keys:
            raise SourceError(f"the load of a function is a mapping of load keys ({', '.join(LOAD_KEYS)})", label,
                              line, str(name))
        where: dict[str, Origin] = {"": Origin(label, line, str(name))}  # "": the name itself
        for key in keys:
            if key not in LOAD_KEYS:
                hint = did_you_mean(str(key), list(LOAD_KEYS), "load keys")
                extra = " (settings from the infrastructure change with --set)" if key in (
                    "memory_mb", "timeout", "subnets", "reserved_concurrency", "provisioned_concurrency",
                    "security_groups") else ""
                raise SourceError(f"{key!r} is not a load key{hint}{extra}", label, marks.get((name, key), line),
                                  f"{name}.{key}")
            where[key] = Origin(label, marks.get((name, key), line), f"{name}.{key}")
        out[str(name)] = (_absolute_files(copy.deepcopy(keys), base), where)
    return out


def _absolute_files(keys: dict[str, Any], base: Path) -> dict[str, Any]:
    """Trace paths relative to the load file become absolute; the writer makes them relative to the scenario."""
    arrivals = keys.get("arrivals")
    for proc in arrivals if isinstance(arrivals, list) else [arrivals]:
        if isinstance(proc, dict) and isinstance(proc.get("file"), str) and not os.path.isabs(proc["file"]):
            proc["file"] = str(base / proc["file"])
    return keys


def apply_load(infra: Infrastructure, load: Load, label: str) -> None:
    """Give each named function its load (in place). An unknown name is an error with a did-you-mean."""
    names = [f.name for f in infra.functions]
    for name, (keys, where) in load.items():
        if name not in names:
            raise SourceError(f"no imported function is named {name!r}{did_you_mean(name, names, 'functions')}",
                              label, where[""].line, name)
        fn = infra.function(name)
        fn.load.update(keys)
        fn.load_origin.update(where)  # "" too: the function's entry, where a load key it lacks belongs
