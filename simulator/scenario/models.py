"""The scenario file of SPEC §2: the scenario model, platform presets, cross-checks and loading.

A scenario is validated once, when it is loaded, and is frozen afterwards: the engine, the capacity calculator and
the report trust it. Every problem is reported as ``FILE:LINE: path.to.field: what is wrong (got VALUE)``; the line
comes from the YAML node (the file is composed with PyYAML and every key's mark is kept), the path from pydantic's
error location mapped back onto the file's own keys. Unknown keys are errors, never ignored.

Platform presets (``legacy``, ``hyperplane``) fill the defaults that differ between the two; explicit values win.
``Scenario.with_changes({path: value})`` re-validates the user's own input with the changes applied, so that a
change of platform also changes the defaults that follow from it.

Beside it: :mod:`.sections` (the models of the file's sections: region, VPC, functions, events, prices),
:mod:`.problems` (the one-line problems), :mod:`.yaml_marks` (YAML with lines, bounded),
:mod:`.paths` (the ``--set`` paths) and :mod:`.messages` (pydantic's errors in the file's words).
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .. import hooks
from ..errors import ArgumentError, VpcsimError, require_mapping, shown
from ..inputs import MAX_SCENARIO_BYTES, InputFileError, read_text_file
from ..units import format_duration
from .distributions import FrozenDict
from .fields import Duration, PositiveDuration
from .messages import line_of, problems_from
from .paths import copy_plain, is_inside, set_path
from .problems import Problem, ScenarioError, show_value
from .sections import (
    MAX_LABEL,
    MAX_TEXT,
    AzOutage,
    Event,
    Function,
    IpsReleased,
    IpsTaken,
    Pricing,
    Region,
    Replications,
    Seed,
    StrictModel,
    Subnet,
    Vpc,
)
from .yaml_marks import compose_yaml, dotted_path

__all__ = [
    "Scenario", "Function", "Subnet", "Region", "Vpc", "ScenarioError", "Problem",
    "load_scenario", "scenario_from_dict", "PRESETS", "json_schema",
]


class UnknownName(VpcsimError, KeyError):
    """A function or subnet the scenario does not have: one line with the names it has (a ``KeyError`` too, for code
    that caught one)."""

    def __init__(self, kind: str, name: Any, known: list[str]):
        close = difflib.get_close_matches(str(name), known, n=1)
        names = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
        self.message = (f"no {kind} named {name!r} in this scenario ({kind}s: {names or 'none'})"
                        + (f"; did you mean {close[0]!r}?" if close else ""))
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError's own would quote the sentence
        return self.message


class FrozenList(list):
    """A list that refuses changes (inside frozen models); still a ``list`` for readers that test for one."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a scenario is immutable: make a changed copy with Scenario.with_changes()")

    # Every mutating method refuses. The in-place operators return None rather than the list: on purpose.
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse  # type: ignore[assignment]
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: dict) -> FrozenList:
        return self

    def __reduce__(self) -> tuple:
        return (FrozenList, (list(self),))


def _expect_value(v: Any) -> Any:
    """One ``expect`` entry: a condition (text such as ``"<= 0.001"``, or a number) or a list of them. The
    conditions themselves are parsed by :mod:`simulator.analysis.expectations`; here only the shape is checked, so that a
    mapping gives one clear line rather than one per member of a type union."""
    scalar = (str, int, float, bool, type(None))
    if isinstance(v, scalar):
        return v
    if isinstance(v, list | tuple) and all(isinstance(x, scalar) for x in v):
        return FrozenList(v)
    what = "a mapping" if isinstance(v, dict) else f"a {type(v).__name__}" if not isinstance(v, list | tuple) else (
        "a list holding more than conditions")
    raise ValueError(f"must be a condition such as \"<= 0.001\", or a list of them (got {what}: {show_value(v)})")


_CONDITION_SCHEMA = {"anyOf": [{"type": "string"}, {"type": "number"}]}
ExpectValue = Annotated[Any, BeforeValidator(_expect_value), WithJsonSchema(
    {"anyOf": [*_CONDITION_SCHEMA["anyOf"], {"type": "array", "items": _CONDITION_SCHEMA}],
     "description": 'a condition "OP VALUE" (OP one of < <= > >= == !=), or a list of them'})]

# What each platform changes in the defaults (SPEC §2): explicit values in the file always win.
PRESETS: dict[str, dict[tuple[str, ...], Any]] = {
    "legacy": {
        ("region", "scaling"): {"model": "burst", "burst": 3000, "per_minute": 500},  # DOMAIN §4, old model
        ("region", "eni_quota"): 350,  # DOMAIN §1: the regional quota until late 2019
    },
    "hyperplane": {
        ("region", "scaling"): {"model": "per-function", "burst": 1000, "per_minute": 6000},  # DOMAIN §4, Nov 2023
        ("region", "eni_quota"): 5000,  # DOMAIN §1: 5,000 afterwards
    },
}


def _version(v: Any) -> Any:
    if isinstance(v, bool | float):  # YAML `true` or `1.0` would pass Literal[1] (True == 1)
        raise ValueError(f"must be 1, the format version (got {v!r})")
    return v


def _apply_preset(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    platform = data.get("platform", "legacy")
    preset = PRESETS.get(platform) if isinstance(platform, str) else None
    if preset is None:
        return data
    data = dict(data)  # copies along the paths the preset fills, not of the whole file (functions and subnets)
    for path, value in preset.items():
        node = data
        for part in path[:-1]:
            if node.get(part) is None:
                node[part] = {}
            elif isinstance(node[part], dict):
                node[part] = dict(node[part])
            node = node[part]
            if not isinstance(node, dict):
                break
        else:
            if path[-1] not in node:
                node[path[-1]] = copy.deepcopy(value)
    return data


class Scenario(StrictModel):
    """A validated, immutable scenario. Build it with :func:`load_scenario` or :func:`scenario_from_dict`."""

    version: Annotated[Literal[1], BeforeValidator(_version)]
    name: str = Field(min_length=1, max_length=MAX_LABEL)
    description: str = Field(default="", max_length=MAX_TEXT)
    platform: Literal["legacy", "hyperplane"] = "legacy"
    seed: Seed = 0
    duration: PositiveDuration
    warmup: Duration = 0.0
    timestep: PositiveDuration = 1.0
    replications: Replications = 1
    region: Region = Field(default_factory=Region)
    vpc: Vpc = Field(default_factory=Vpc)
    functions: tuple[Function, ...]
    events: tuple[Event, ...] = ()
    pricing: Pricing | None = None
    expect: Annotated[dict[Annotated[str, Field(max_length=MAX_LABEL)], ExpectValue],
                      AfterValidator(FrozenDict)] = Field(default_factory=FrozenDict)

    _source: str | None = PrivateAttr(default=None)
    _raw: dict = PrivateAttr(default_factory=dict)
    _marks: dict = PrivateAttr(default_factory=dict)
    _capacity: dict | None = PrivateAttr(default=None)  # capacity(self), kept once computed (the scenario is frozen)
    _index: dict = PrivateAttr(default_factory=dict)  # lookups by name and id (function(), subnet())

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        return _apply_preset(data)

    @field_validator("expect", mode="before")
    @classmethod
    def _some_expectations(cls, v: Any) -> Any:
        if isinstance(v, dict) and not v:
            raise ValueError("an empty mapping checks nothing: add a condition (e.g. failure_rate: \"<= 0.001\") or "
                             "remove `expect`")
        return v

    @field_validator("functions", mode="before")
    @classmethod
    def _some_functions(cls, v: Any) -> Any:
        if isinstance(v, list | tuple) and not v:
            raise ValueError("needs at least one function")
        return v

    # A scenario is only ever what the loader accepts: pydantic's own entry point ``Scenario.model_validate(data)``
    # runs the loader (cross-checks included), so that a function in a subnet that does not exist is refused here,
    # not as a KeyError in the middle of a run. (``__init__`` is left alone: pydantic calls a custom one from every
    # validation; build scenarios with load_scenario or scenario_from_dict.)
    @classmethod
    def model_validate(cls, obj: Any, *, strict: bool | None = None, from_attributes: bool | None = None,
                       context: Any | None = None, **kwargs: Any) -> Scenario:
        if (context or {}).get(LOADING):
            return super().model_validate(obj, strict=strict, from_attributes=from_attributes, context=context,
                                          **kwargs)
        if isinstance(obj, cls):
            return obj
        return scenario_from_dict(obj, base_dir=(context or {}).get("base_dir"))

    def __eq__(self, other: object) -> bool:
        # Equal scenarios have equal content; where they came from (file, marks) does not matter.
        return type(other) is type(self) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    # -- convenience -------------------------------------------------------------------------------------------
    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from, if any."""
        return self._source

    def function(self, name: str) -> Function:
        by_name = self._index.get("functions")
        if by_name is None:  # built once: callers look functions up inside loops over functions
            by_name = self._index["functions"] = {}
            for f in self.functions:
                by_name.setdefault(f.name, f)
        try:
            return by_name[name]
        except (KeyError, TypeError):
            raise UnknownName("function", name, list(by_name)) from None

    def subnet(self, subnet_id: str) -> Subnet:
        by_id = self._index.get("subnets")
        if by_id is None:
            by_id = self._index["subnets"] = {}
            for s in self.vpc.subnets:
                by_id.setdefault(s.id, s)
        try:
            return by_id[subnet_id]
        except (KeyError, TypeError):
            raise UnknownName("subnet", subnet_id, list(by_id)) from None

    @property
    def azs(self) -> list[str]:
        """Availability Zones of the VPC, in the order their first subnet appears."""
        return list(dict.fromkeys(s.az for s in self.vpc.subnets))

    # -- round trips -------------------------------------------------------------------------------------------
    def __repr__(self) -> str:  # pydantic's would print every field: 80 KB for a 100-function scenario
        vpc = f", {len(self.vpc.subnets)} subnet{'' if len(self.vpc.subnets) == 1 else 's'}" if self.vpc.subnets else ""
        n = len(self.functions)
        return (f"<Scenario {self.name!r} {self.platform}: {n} function{'' if n == 1 else 's'}{vpc}, "
                f"{format_duration(self.duration)}, seed {self.seed}>")

    def to_dict(self) -> dict:
        """The resolved scenario (defaults filled in) as plain data; loads back to an equal scenario."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if not data.get("expect"):
            data.pop("expect", None)  # `expect: {}` is refused as a check of nothing
        for fn in data.get("functions", []):
            if not fn.get("arrivals"):
                fn.pop("arrivals", None)  # nothing arrives is written by leaving it out: an empty list is refused
        return data

    def to_yaml(self) -> str:
        header = f"# Resolved scenario {self.name!r}: every default filled in. Loads back to the same scenario.\n"
        # libyaml's emitter when PyYAML has it: the same text as safe_dump's, several times faster (a 100-function
        # scenario: 0.1 s -> 0.02 s).
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        return header + yaml.dump(self.to_dict(), Dumper=dumper, sort_keys=False, default_flow_style=None, width=120)

    def with_changes(self, changes: Mapping[str, Any]) -> Scenario:
        """A new scenario with ``{dotted.path: value}`` applied to this one's input (the paths of ``--set``:
        functions and subnets by name, e.g. ``functions.checkout.memory_mb``, ``vpc.subnets.private-a.cidr``)."""
        require_mapping(changes, "with_changes", "changes", '{"functions.api.memory_mb": 2048}')
        raw = copy_plain(self._raw or self.to_dict())
        changed: dict[str, str] = {}  # dotted raw path (functions[0].memory_mb) → the change as written
        for path, value in changes.items():
            try:
                changed[dotted_path(set_path(raw, path, value))] = path
            except ScenarioError as exc:
                raise ScenarioError([p._replace(file=self._source, path=f"--set {path}") for p in exc.problems]) from None
        keep = {k: v for k, v in self._marks.items() if dotted_path(k) not in changed and not any(
            is_inside(dotted_path(k), c) for c in changed)}
        existing = {dotted_path(k) for k in self._marks} if self._marks else None  # the file's own keys
        base_dir = Path(self._source).parent if self._source else None
        try:
            return scenario_from_dict(raw, source=self._source, marks=keep, base_dir=base_dir, _owned=True)
        except ScenarioError as exc:
            # A problem in a changed value is the change's fault: name the change as written, not a line of the
            # file (which does not hold that value).
            problems = []
            for p in exc.problems:
                # The change is at fault when the problem lies in what it set, or in a section it created (a
                # section the file does not have: `--set foo.bar=1` makes an unknown key `foo`).
                created = existing is not None and p.path not in existing
                cause = next((c for c in changed if is_inside(p.path, c) or (
                    is_inside(c, p.path) and ("[" in p.path or "." in p.path or created))), None)
                problems.append(p._replace(line=None, path=f"--set {changed[cause]}") if cause is not None else p)
            raise ScenarioError(problems) from None


def _overlaps(blocks: list[ipaddress.IPv4Network]) -> dict[int, int]:
    """For each block that overlaps an earlier one (in file order), the earliest of those: in n log n.

    CIDR blocks either nest or are disjoint, so the blocks overlapping one are the blocks containing it and the
    blocks inside it. Sorted by start (the larger block first at a shared start), the blocks containing a block are
    the ones open on a stack when it comes, and the blocks inside it are the ones that come while it is open."""
    order = sorted(range(len(blocks)), key=lambda i: (int(blocks[i].network_address), blocks[i].prefixlen, i))
    first = list(range(len(blocks)))  # the earliest index among a block and the blocks overlapping it
    # Open blocks: [index, end, earliest index of the blocks containing it and itself, of the blocks inside it].
    stack: list[list[int]] = []

    def close() -> None:
        i, _, _, inside = stack.pop()
        first[i] = min(first[i], inside)
        if stack:
            stack[-1][3] = min(stack[-1][3], inside)

    for i in order:
        start = int(blocks[i].network_address)
        while stack and stack[-1][1] < start:
            close()
        outer = stack[-1][2] if stack else i
        first[i] = min(first[i], outer)
        stack.append([i, int(blocks[i].broadcast_address), min(outer, i), i])
    while stack:
        close()
    return {i: j for i, j in enumerate(first) if j < i}


def _cross_check(sc: Scenario) -> list[tuple[tuple, str]]:
    """Rules that span several fields; each finding is (raw path, message)."""
    out: list[tuple[tuple, str]] = []
    subnet_ids: dict[str, int] = {}
    overlaps = _overlaps([s.cidr for s in sc.vpc.subnets])
    for i, s in enumerate(sc.vpc.subnets):
        if s.id in subnet_ids:
            out.append((("vpc", "subnets", i, "id"), f"duplicate subnet id {s.id!r} (also subnets[{subnet_ids[s.id]}])"))
        subnet_ids.setdefault(s.id, i)
        if s.ips_in_use > s.usable_ips:
            out.append((("vpc", "subnets", i, "ips_in_use"),
                        f"more than the subnet's {s.usable_ips} usable addresses (got {s.ips_in_use})"))
        if i in overlaps:
            other = sc.vpc.subnets[overlaps[i]]
            out.append((("vpc", "subnets", i, "cidr"),
                        f"overlaps subnets[{overlaps[i]}] ({other.id}, {other.cidr}) (got {s.cidr})"))
    hints = 20  # "did you mean" for the first unknown references only: each one compares with every id
    names: dict[str, int] = {}
    # DOMAIN §4: reservations (and provisioned concurrency drawn from the unreserved pool) may take at most
    # `limit - unreserved_min` in total. The finding points at the function whose share crosses that line.
    pool = sc.region.concurrency_limit - sc.region.unreserved_min
    committed = 0
    for i, f in enumerate(sc.functions):
        if f.name in names:
            out.append((("functions", i, "name"), f"duplicate function name {f.name!r} (also functions[{names[f.name]}])"))
        names.setdefault(f.name, i)
        for k, sid in enumerate(f.subnets):
            if sid not in subnet_ids:
                hints -= 1
                hint = difflib.get_close_matches(sid, list(subnet_ids), n=1) if hints >= 0 else []
                more = f"; did you mean {hint[0]!r}?" if hint else (
                    f" (subnets: {', '.join(subnet_ids)})" if subnet_ids else " (the scenario has no vpc.subnets)")
                out.append((("functions", i, "subnets", k), f"no subnet with id {sid!r}{more}"))
        if len(set(f.subnets)) != len(f.subnets):
            out.append((("functions", i, "subnets"), f"lists a subnet twice (got {list(f.subnets)})"))
        if f.reserved_concurrency is not None and f.provisioned_concurrency > f.reserved_concurrency:
            out.append((("functions", i, "provisioned_concurrency"),
                        f"must be <= reserved_concurrency {f.reserved_concurrency} (got {f.provisioned_concurrency})"))
        share = f.reserved_concurrency if f.reserved_concurrency is not None else f.provisioned_concurrency
        if share and pool >= 0 and committed <= pool < committed + share:
            key = "reserved_concurrency" if f.reserved_concurrency is not None else "provisioned_concurrency"
            before = f"; other functions already take {committed}" if committed else ""
            out.append((("functions", i, key),
                        f"reserved and provisioned concurrency add up to more than concurrency_limit - unreserved_min "
                        f"= {sc.region.concurrency_limit} - {sc.region.unreserved_min} = {pool}{before} (got {share})"))
        committed += share
        if f.arrivals and f.duration is None:
            out.append((("functions", i, "duration"), "required when the function has arrivals"))
        if f.invocation == "async" and f.client_retry is not None:
            out.append((("functions", i, "client_retry"),
                        "applies to sync invocations only; async events are retried by Lambda (SPEC §3.7)"))
    if pool < 0:
        out.append((("region", "unreserved_min"),
                    f"must be <= concurrency_limit {sc.region.concurrency_limit} (got {sc.region.unreserved_min})"))
    if sc.warmup >= sc.duration:
        out.append((("warmup",), f"must be shorter than duration {format_duration(sc.duration)} "
                                 f"(got {format_duration(sc.warmup)})"))
    if sc.timestep > sc.duration:
        out.append((("timestep",), f"must not be longer than duration {format_duration(sc.duration)} "
                                   f"(got {format_duration(sc.timestep)})"))
    elif sc.duration / sc.timestep > 2_000_000:
        out.append((("timestep",), f"gives {sc.duration / sc.timestep:.0f} time-series rows; use a larger timestep "
                                   f"(got {format_duration(sc.timestep)})"))
    azs = set(sc.azs)
    for i, ev in enumerate(sc.events):
        if ev.at >= sc.duration:
            out.append((("events", i, "at"), f"after the end of the run {format_duration(sc.duration)} "
                                             f"(got {format_duration(ev.at)})"))
        if isinstance(ev, AzOutage) and ev.az not in azs:
            out.append((("events", i, "az"), f"no subnet is in AZ {ev.az!r} (AZs: {', '.join(sorted(azs)) or 'none'})"))
        if isinstance(ev, IpsTaken | IpsReleased) and ev.subnet not in subnet_ids:
            out.append((("events", i, "subnet"), f"no subnet with id {ev.subnet!r}"))
    return out


LOADING = "vpcsim-loading"  # in the validation context: the loader runs the cross-checks itself, with line numbers


def scenario_from_dict(
    data: Any,
    *,
    source: str | None = None,
    marks: dict | None = None,
    base_dir: str | Path | None = None,
    _origin: str | None = None,
    _owned: bool = False,
) -> Scenario:
    """Validate plain data (as read from YAML) into a :class:`Scenario`; raises :class:`ScenarioError`."""
    marks = marks or {}
    if isinstance(data, dict) and "infrastructure" in data:
        # The VPC and functions live in a template or a plan (docs/import.md): import it afresh and merge.
        return hooks.load_infrastructure(data, source=source, marks=marks, base_dir=base_dir, origin=_origin)
    if not isinstance(data, dict):
        got = ("an empty file" if source is not None else "None") if data is None else f"a {type(data).__name__}"
        raise ScenarioError([Problem(source, 1 if marks else None, "", f"a scenario is a mapping of keys (got {got})")])
    # String keys only: YAML turns `on:` into True and `1:` into 1.
    for key in data:
        if not isinstance(key, str):
            hint = " (YAML reads on/off/yes/no as true/false: quote a key you meant as text)" if isinstance(
                key, bool) else ""
            raise ScenarioError([Problem(source, marks.get((key,)), str(key), f"unknown key {key!r}{hint}")])
    context = {"base_dir": str(base_dir) if base_dir is not None else None, LOADING: True}
    try:
        sc = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError(problems_from(exc, data, source, marks, Scenario)) from None
    sc._source = _origin or source
    sc._raw = data if _owned else copy_plain(data)
    sc._marks = dict(marks)
    found = _cross_check(sc)
    # `expect` paths name the summary's metrics and the capacity figures, which live above this layer (simulator.hooks)
    found += hooks.expect_problems(sc, check_capacity=not found)  # capacity figures need a consistent scenario
    if found:
        problems = []
        for path, msg in found:
            problems.append(Problem(source, line_of(marks, path), dotted_path(path), msg))
        raise ScenarioError(problems)
    return sc


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and freeze a scenario file. Raises :class:`ScenarioError` with one line per problem."""
    if isinstance(path, Mapping):
        raise ArgumentError("load_scenario(): path must be a file path; to validate data already in Python, use "
                            "simulator.scenario_from_dict(data)")
    if not isinstance(path, str | Path) and not hasattr(path, "__fspath__"):
        raise ArgumentError(f"load_scenario(): path must be a file path (text or pathlib.Path), got "
                            f"{type(path).__name__} {path!r}")
    p = Path(path)
    label = str(path)
    try:  # a regular file of at most MAX_SCENARIO_BYTES: not a FIFO, a device or a file of /proc (simulator.inputs)
        text = read_text_file(p, what="a scenario file", limit_bytes=MAX_SCENARIO_BYTES)
    except InputFileError as exc:
        raise ScenarioError([Problem(label, None, "", exc.reason)]) from None
    data, marks = compose_yaml(text, label)
    return scenario_from_dict(data, source=label, marks=marks, base_dir=p.resolve().parent, _owned=True)


def require_scenario(value: Any, function: str, parameter: str = "scenario") -> Any:
    """``value`` if it is a loaded :class:`~simulator.scenario.models.Scenario`; else an :class:`ArgumentError` that says
    how to get one."""
    if isinstance(value, Scenario):
        return value
    hint = ""
    if isinstance(value, str | bytes) or hasattr(value, "__fspath__"):
        hint = f": load the file first, {function}(simulator.load_scenario({str(value)!r}))"
    elif isinstance(value, Mapping):
        hint = f": validate the data first, {function}(simulator.scenario_from_dict(data))"
    raise ArgumentError(f"{function}(): {parameter} must be a Scenario (from simulator.load_scenario or "
                        f"scenario_from_dict), got {shown(value)}{hint}")


def json_schema() -> dict:
    """The JSON Schema of the scenario file (`vpcsim schema`)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    # `arrivals` is one process or a list of them (the loader wraps a single mapping in a list).
    arrivals = schema["$defs"]["Function"]["properties"]["arrivals"]
    schema["$defs"]["Function"]["properties"]["arrivals"] = {
        "anyOf": [arrivals["items"], {k: v for k, v in arrivals.items() if k != "title"}],
        "title": arrivals.get("title", "Arrivals"),
        "description": "one arrival process or a list of processes whose rates add up"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "vpcsim scenario (version 1)"
    return schema
