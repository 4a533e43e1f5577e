"""From an :class:`~simulator.sources.common.Infrastructure` to a validated scenario and its YAML text.

:func:`build` makes the scenario data (a function's settings, then its load when it has one), applies ``--set``
changes, validates the result exactly as ``vpcsim run`` will read it, and renders the text: a header that starts
with ``# Imported by `vpcsim import SOURCE``` (so that vpcsim recognises a file it wrote) and says what was assumed, and a
comment above every function and subnet saying where it came from (file, line, logical ID or address). A problem the
validation finds in an imported item is reported at that item's origin (the template's line, the load file's line),
not at a line of a file that does not exist yet. :func:`write` writes the scenario and the files beside it (traces)
whole or not at all.
"""

from __future__ import annotations

import copy
import os
import tempfile
import textwrap
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..scenario.models import Scenario, scenario_from_dict
from ..scenario.paths import is_inside, set_path
from ..scenario.problems import Problem, ScenarioError
from ..scenario.yaml_marks import compose_yaml, dotted_path
from .common import LOAD_KEYS, Infrastructure, Origin

__all__ = ["Built", "build", "write", "write_files", "load_text", "scenario_data", "HEADER"]

HEADER = "# Imported by `vpcsim import"  # + " SOURCE`": simulator.present.folders.IMPORTED_SCENARIO recognises it
DEFAULT_DURATION = "1h"  # the horizon of an imported scenario when the source does not say one (--set duration=...)


@dataclass
class Built:
    data: dict[str, Any]
    text: str
    scenario: Scenario
    notes: list[str] = field(default_factory=list)
    no_load: list[str] = field(default_factory=list)  # functions nothing arrives for


def scenario_data(infra: Infrastructure, base_dir: Path | None = None) -> tuple[dict[str, Any], dict[str, Origin]]:
    """The scenario data of ``infra`` and, by dotted path, where each imported item (and load key) came from.
    Trace paths of a load become relative to ``base_dir`` (the scenario's folder)."""
    origins: dict[str, Origin] = {}
    data: dict[str, Any] = {"version": 1, "name": infra.name,
                            "description": f"Imported from {infra.label} by vpcsim import {infra.kind}.",
                            "duration": infra.duration or DEFAULT_DURATION}
    if infra.region:
        data["region"] = dict(infra.region)
    vpc: dict[str, Any] = {}
    if infra.tenancy != "default":
        vpc["tenancy"] = infra.tenancy
    if infra.subnets:
        vpc["subnets"] = []
        for i, s in enumerate(infra.subnets):
            vpc["subnets"].append(s.entry())
            origins[f"vpc.subnets[{i}]"] = s.origin
    if vpc:
        data["vpc"] = vpc
    data["functions"] = []
    for i, f in enumerate(infra.functions):
        entry = f.entry()
        if base_dir is not None:
            _relative_files(entry, base_dir)
        data["functions"].append(entry)
        origins[f"functions[{i}]"] = f.origin
        for key, where in f.load_origin.items():
            if key:
                origins[f"functions[{i}].{key}"] = where
        if "" in f.load_origin:  # a load file's entry: a load key missing from it is the load file's to give
            for key in LOAD_KEYS:
                if key not in entry:
                    origins[f"functions[{i}].{key}"] = f.load_origin[""]
    return data, origins


def _relative_files(entry: dict[str, Any], base_dir: Path) -> None:
    arrivals = entry.get("arrivals")
    for proc in arrivals if isinstance(arrivals, list) else [arrivals]:
        if isinstance(proc, dict) and isinstance(proc.get("file"), str) and os.path.isabs(proc["file"]):
            proc["file"] = Path(os.path.relpath(proc["file"], base_dir)).as_posix()


def attribute(problems: list[Problem], origins: dict[str, Origin], changed: dict[str, str],
              fallback: str | None, source: str | None = None) -> list[Problem]:
    """Point each problem at what is at fault: a ``--set`` change (named after ``source``, what was imported, as
    ``vpcsim run FILE --set`` names FILE), an imported item's origin (the longest matching path), or else
    ``fallback``."""
    out = []
    for p in problems:
        cause = next((c for c in changed if is_inside(p.path, c) or is_inside(c, p.path)), None)
        if cause is not None:
            out.append(p._replace(file=source or fallback, line=None, path=f"--set {changed[cause]}"))
            continue
        best = max((k for k in origins if is_inside(p.path, k)), key=len, default=None)
        out.append(origins[best].problem(p.message, p.path) if best is not None else p._replace(file=fallback))
    return out


def build(infra: Infrastructure, out_file: Path | None = None, sets: dict[str, Any] | None = None) -> Built:
    """Validated scenario data and text for ``infra`` (``out_file``: where it will be written; trace paths are
    relative to its folder). Raises :class:`ScenarioError` with the problem at its origin."""
    base_dir = (out_file.resolve().parent if out_file is not None else Path.cwd())
    data, origins = scenario_data(infra, base_dir)
    changed: dict[str, str] = {}
    for path, value in (sets or {}).items():
        try:
            changed[dotted_path(set_path(data, path, value))] = path
        except ScenarioError as exc:
            raise ScenarioError([p._replace(file=infra.label, path=f"--set {path}") for p in exc.problems]) from None
    label = str(out_file) if out_file is not None else "<import>"
    no_load = [f["name"] for f in data["functions"] if not f.get("arrivals")]
    text = render(data, infra, origins, no_load)
    parsed, _ = compose_yaml(text, label)
    # Files written beside the scenario (a trace) do not exist yet: validate against temporary copies.
    with tempfile.TemporaryDirectory(prefix="vpcsim-import-") as tmp:
        check = copy.deepcopy(parsed)
        for name, content in infra.extra_files.items():
            (Path(tmp) / name).write_text(content, encoding="utf-8")
        for fn in check.get("functions") or []:
            arrivals = fn.get("arrivals") if isinstance(fn, dict) else None
            for proc in arrivals if isinstance(arrivals, list) else [arrivals]:
                if isinstance(proc, dict) and proc.get("file") in infra.extra_files:
                    proc["file"] = str(Path(tmp) / proc["file"])
                elif isinstance(proc, dict) and isinstance(proc.get("file"), str):
                    # The scenario's folder may not exist yet: resolve ../ here rather than through it.
                    proc["file"] = os.path.normpath(os.path.join(base_dir, proc["file"]))
        try:
            sc = scenario_from_dict(check, source=label, base_dir=base_dir)
        except ScenarioError as exc:
            raise ScenarioError(attribute(exc.problems, origins, changed, label, infra.label)) from None
    return Built(parsed, text, sc, list(infra.notes), no_load)


def _comment(text: str, indent: str = "") -> list[str]:
    return [indent + "# " + line for line in textwrap.wrap(text, 116 - len(indent), break_on_hyphens=False,
                                                          break_long_words=False)]


def render(data: dict[str, Any], infra: Infrastructure, origins: dict[str, Origin], no_load: list[str]) -> str:
    n_fn, n_sub = len(data["functions"]), len((data.get("vpc") or {}).get("subnets") or [])
    lines = [f"{HEADER} {infra.kind}` from {infra.label}: {n_fn} function{'s' * (n_fn != 1)}, "
             f"{n_sub} subnet{'s' * (n_sub != 1)}."]
    if infra.kind in ("cloudformation", "terraform"):
        lines += _comment("Each function and subnet says where it came from. Re-import after the source changes, or "
                          "let a scenario refer to it with `infrastructure:` so that it is imported afresh on every "
                          "load (docs/import.md).")
    if no_load:
        who = "any function" if len(no_load) == len(data["functions"]) else ", ".join(no_load)
        lines += _comment(f"No load: nothing arrives for {who}. `vpcsim capacity` works on this file as it is (the "
                          f"ceilings); give each function `arrivals` and a `duration` (vpcsim import ... --load FILE, "
                          f"docs/import.md) before `vpcsim run`.")
    for note in infra.notes:
        lines += _comment(note)
    body = copy.deepcopy(data)
    functions = body.pop("functions")
    vpc = body.pop("vpc", None)
    for key, value in body.items():
        lines += _lines(key, value, 0)
    if vpc is not None:
        subnets = vpc.pop("subnets", [])
        lines.append("vpc:")
        for key, value in vpc.items():
            lines += _lines(key, value, 2)
        if subnets:
            lines.append("  subnets:")
            for i, s in enumerate(subnets):
                where = origins.get(f"vpc.subnets[{i}]")
                if where is not None:
                    lines.append(f"    # {where}")
                lines += _item(s, 4)
    lines.append("functions:")
    for i, f in enumerate(functions):
        fn = infra.functions[i] if i < len(infra.functions) else None
        where = origins.get(f"functions[{i}]")
        if where is not None:
            arch = f", {fn.architecture}" if fn is not None and fn.architecture else ""
            lines.append(f"  # {where}{arch}")
        loads = sorted({(o.file, o.line or 0) for k, o in origins.items() if k.startswith(f"functions[{i}].")})
        if loads:
            lines.append(f"  # load from {loads[0][0]}" + (f":{loads[0][1]}" if loads[0][1] else ""))
        lines += _item(f, 2)
    return "\n".join(lines) + "\n"


def flow_yaml(value: Any) -> str:
    """One value in YAML's flow style (``{a: 1}``, ``[x, y]``, ``"<= 0.1"``)."""
    return yaml.safe_dump([value], default_flow_style=True, sort_keys=False, width=10_000, allow_unicode=True).strip()[1:-1]


def _leaf(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, dict | list) for v in value.values())
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) for v in value)
    return True


def _lines(key: Any, value: Any, indent: int) -> list[str]:
    """``key: value`` in block style, with leaf collections (only plain values inside) in flow style."""
    head = " " * indent + flow_yaml(key) + ":"
    if _leaf(value):
        return [head + " " + flow_yaml(value)]
    if isinstance(value, dict):
        return [head] + [line for k, v in value.items() for line in _lines(k, v, indent + 2)]
    return [head] + [line for item in value for line in _item(item, indent + 2)]


def _item(item: Any, indent: int) -> list[str]:
    if _leaf(item) or not isinstance(item, dict):
        return [" " * indent + "- " + flow_yaml(item)]
    lines = [line for k, v in item.items() for line in _lines(k, v, indent + 2)]
    lines[0] = " " * indent + "- " + lines[0][indent + 2:]
    return lines


def write(out_file: Path, built_text: str, extra_files: dict[str, str] | None = None, *,
          force: bool = False) -> list[Path]:
    """Write the scenario and the traces beside it whole or not at all: every file is complete in a temporary file
    before any replaces its target; an existing file vpcsim did not write is refused unless ``force``."""
    from ..present.folders import IMPORTED_SCENARIO, IMPORTED_TRACE, atomic_file

    targets = [(out_file.parent / name, text, IMPORTED_TRACE) for name, text in (extra_files or {}).items()]
    targets.append((out_file, built_text, IMPORTED_SCENARIO))
    with ExitStack() as stack:
        for target, text, kind in targets:
            fh = stack.enter_context(atomic_file(target, kind, force=force))
            fh.write(text)
    return [t for t, _, _ in targets]


def write_files(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` (name -> text) as the results folder ``folder``, whole or not at all, with vpcsim's manifest
    (an existing folder is replaced only when vpcsim wrote it)."""
    from ..present.folders import atomic_dir

    with atomic_dir(folder) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
    return [folder / name for name in files]


def load_text(entries: dict[str, dict[str, Any]], header: list[str]) -> str:
    """A ``--load`` file: function name -> load keys, in block style with leaf collections in flow style."""
    lines = list(header)
    for name, keys in entries.items():
        lines += _lines(name, keys, 0)
    return "\n".join(lines) + "\n"
