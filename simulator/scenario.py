"""The scenario file of SPEC §2: strict pydantic models, platform presets, cross-checks and YAML with line numbers.

A scenario is validated once, when it is loaded, and is frozen afterwards: the engine, the capacity calculator and
the report trust it. Every problem is reported as ``FILE:LINE: path.to.field: what is wrong (got VALUE)``; the line
comes from the YAML node (the file is composed with PyYAML and every key's mark is kept), the path from pydantic's
error location mapped back onto the file's own keys. Unknown keys are errors, never ignored.

Platform presets (``legacy``, ``hyperplane``) fill the defaults that differ between the two; explicit values win.
``Scenario.with_changes({path: value})`` re-validates the user's own input with the changes applied, so that a
change of platform also changes the defaults that follow from it.
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from .arrivals import ArrivalSpec
from .distributions import Constant, DistributionSpec, Lognormal
from .units import Duration, PositiveDuration, format_duration

__all__ = [
    "Scenario", "Function", "Subnet", "Region", "Vpc", "ScenarioError", "Problem",
    "load_scenario", "scenario_from_dict", "PRESETS", "json_schema",
]


# --------------------------------------------------------------------------------------------------- errors


class Problem(typing.NamedTuple):
    """One thing wrong with a scenario: where (file, line, dotted path) and what."""

    file: str | None
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``problems`` lists every finding, one line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --------------------------------------------------------------------------------------------------- YAML


def _compose(text: str, filename: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML into plain data plus the line (1-based) of every key and list item, keyed by its path."""
    loader = yaml.SafeLoader(text)
    marks: dict[tuple, int] = {}
    try:
        node = loader.get_single_node()

        def build(n: yaml.Node, path: tuple) -> Any:
            marks.setdefault(path, n.start_mark.line + 1)
            if isinstance(n, yaml.MappingNode):
                loader.flatten_mapping(n)  # merge keys (<<: *anchor)
                out: dict[Any, Any] = {}
                for key_node, value_node in n.value:
                    key = loader.construct_object(key_node, deep=True)
                    if not isinstance(key, str | int | float | bool) or key is None:
                        raise ScenarioError([Problem(filename, key_node.start_mark.line + 1, _dotted(path),
                                                     f"a key must be a plain value (got {key!r})")])
                    if key in out:
                        raise ScenarioError([Problem(filename, key_node.start_mark.line + 1, _dotted(path + (key,)),
                                                     "duplicate key")])
                    marks[path + (key,)] = key_node.start_mark.line + 1
                    out[key] = build(value_node, path + (key,))
                return out
            if isinstance(n, yaml.SequenceNode):
                items = []
                for i, item in enumerate(n.value):
                    marks[path + (i,)] = item.start_mark.line + 1
                    items.append(build(item, path + (i,)))
                return items
            return loader.construct_object(n, deep=True)

        data = build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError([Problem(filename, line, "", f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(filename, None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return data, marks


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# --------------------------------------------------------------------------------------------------- models


def _between(lo: float, hi: float):
    def check(v: float | None) -> float | None:
        if v is not None and not lo <= v <= hi:
            raise ValueError(f"must be between {lo:g} and {hi:g} (got {v:g})")
        return v

    return AfterValidator(check)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class BurstScaling(_Model):
    """The account-wide token bucket of the old scaling model (DOMAIN §4: initial burst 3,000 in us-east-1,
    us-west-2 and eu-west-1, then +500 concurrent executions per minute)."""

    model: Literal["burst"] = "burst"
    burst: int = Field(default=3000, ge=0)
    per_minute: float = Field(default=500, ge=0)


class PerFunctionScaling(_Model):
    """One bucket per function (DOMAIN §4, Nov 2023: each function scales by 1,000 environments every 10 s)."""

    model: Literal["per-function"] = "per-function"
    burst: int = Field(default=1000, ge=0)
    per_minute: float = Field(default=6000, ge=0)


class UnlimitedScaling(_Model):
    model: Literal["unlimited"] = "unlimited"


Scaling = Annotated[BurstScaling | PerFunctionScaling | UnlimitedScaling, Field(discriminator="model")]


class Ec2Api(_Model):
    """The CreateNetworkInterface token bucket (DOMAIN §6: bucket 100, refill 5 per second)."""

    bucket: int = Field(default=100, ge=1)
    refill_per_s: float = Field(default=5.0, gt=0)
    on_throttle: Literal["fail", "wait"] = "fail"


class Region(_Model):
    concurrency_limit: int = Field(default=1000, ge=1)  # DOMAIN §4: 1,000 per region by default
    unreserved_min: int = Field(default=100, ge=0)  # DOMAIN §4: 100 always stays unreserved
    scaling: Scaling = Field(default_factory=BurstScaling)
    eni_quota: int = Field(default=350, ge=1)  # DOMAIN §1: 350 until late 2019, 5,000 afterwards
    enis_in_use: int = Field(default=0, ge=0)
    ec2_api: Ec2Api = Field(default_factory=Ec2Api)


class HyperplaneCfg(_Model):
    """DOMAIN §2: 65,000 connections per Hyperplane ENI, 250 ENIs per VPC, 60-90 s to create one."""

    connections_per_eni: int = Field(default=65000, ge=1)
    eni_quota_per_vpc: int = Field(default=250, ge=1)
    create: Duration = 90.0


class Subnet(_Model):
    id: str = Field(pattern=_NAME)
    az: str = Field(min_length=1)
    cidr: ipaddress.IPv4Network
    ips_in_use: int = Field(default=0, ge=0)
    route: Literal["nat", "igw", "none"] | None = None

    @field_validator("cidr", mode="before")
    @classmethod
    def _cidr(cls, v: Any) -> Any:
        try:
            net = ipaddress.IPv4Network(str(v), strict=True)
        except ValueError as exc:
            raise ValueError(f"not an IPv4 CIDR block like 10.0.1.0/24: {exc}") from None
        # DOMAIN §3: subnet sizes from /16 to /28.
        if not 16 <= net.prefixlen <= 28:
            raise ValueError(f"a subnet is /16 to /28 (got /{net.prefixlen})")
        return net

    @property
    def usable_ips(self) -> int:
        """Addresses Lambda can use: AWS reserves 5 per subnet (DOMAIN §3)."""
        return self.cidr.num_addresses - 5

    @property
    def free_ips(self) -> int:
        return self.usable_ips - self.ips_in_use


class Vpc(_Model):
    eni_memory_gb: float = Field(default=3.0, gt=0)  # DOMAIN §1: one ENI per 3 GB of environments (the doc's rule)
    # DOMAIN §1: no AWS figure; practitioners saw 3-15 s ("up to 10 s"; Sydney benchmark 12 s): median 6 s, p99 15 s.
    eni_attach: DistributionSpec = Field(default_factory=lambda: Lognormal(median=6.0, p99=15.0))
    eni_idle_release: Duration = 600.0  # DOMAIN §1: deletion is delayed; no number given. A choice, 10 min.
    eni_delete: Duration = 60.0  # DOMAIN §1: a choice; deletions were observed to take minutes.
    placement: Literal["balanced", "round-robin", "random"] = "balanced"
    subnet_failover: bool = True  # DOMAIN §1: not documented either way; a parameter.
    hyperplane: HyperplaneCfg = Field(default_factory=HyperplaneCfg)
    tenancy: Literal["default", "dedicated"] = "default"
    subnets: tuple[Subnet, ...] = ()


class ClientRetry(_Model):
    """SDK retries of a synchronous caller (DOMAIN §4: the SDK's standard mode makes 3 attempts in all)."""

    attempts: int = Field(default=3, ge=1, le=20)
    base: Duration = 0.1
    cap: Duration = 20.0


class Function(_Model):
    name: str = Field(pattern=_NAME, max_length=64)
    memory_mb: Annotated[int, _between(128, 10240)]  # DOMAIN §1: today 128..10240 MB
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    needs_internet: bool = False
    reserved_concurrency: int | None = Field(default=None, ge=0)
    provisioned_concurrency: int = Field(default=0, ge=0)
    timeout: PositiveDuration = 3.0  # Lambda's default timeout is 3 s; 1..900 s allowed (DOMAIN §1)
    duration: DistributionSpec
    # DOMAIN §7: init "from under 100 ms to over 1 second": median 250 ms, p99 1 s.
    init: DistributionSpec = Field(default_factory=lambda: Lognormal(median=0.25, p99=1.0))
    # DOMAIN §7: idle environments were observed to live about 10 minutes; peer simulators use 600 s.
    keep_alive: DistributionSpec = Field(default_factory=lambda: Constant(value=600.0))
    invocation: Literal["sync", "async"] = "sync"
    client_retry: ClientRetry | None = None
    max_event_age: Duration = 21600.0  # DOMAIN §4: MaximumEventAgeInSeconds, default 6 h
    arrivals: tuple[ArrivalSpec, ...]

    @field_validator("arrivals", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return [v]
        if isinstance(v, list | tuple) and not v:
            raise ValueError("needs at least one arrival process")
        return v

    @field_validator("timeout", mode="after")
    @classmethod
    def _timeout_range(cls, v: float) -> float:
        if not 1 <= v <= 900:  # DOMAIN §1/§7: Lambda's timeout is 1..900 s
            raise ValueError(f"must be between 1s and 15m (got {format_duration(v)})")
        return v

    @field_validator("max_event_age", mode="after")
    @classmethod
    def _age_range(cls, v: float) -> float:
        if not 60 <= v <= 21600:  # DOMAIN §4: MaximumEventAgeInSeconds 60..21600
            raise ValueError(f"must be between 1m and 6h (got {format_duration(v)})")
        return v

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnets)


class AzOutage(_Model):
    at: Duration
    kind: Literal["az_outage"] = "az_outage"
    az: str
    for_: PositiveDuration = Field(alias="for")


class IpsTaken(_Model):
    at: Duration
    kind: Literal["ips_taken"] = "ips_taken"
    subnet: str
    count: int = Field(ge=1)


class IpsReleased(_Model):
    at: Duration
    kind: Literal["ips_released"] = "ips_released"
    subnet: str
    count: int = Field(ge=1)


Event = Annotated[AzOutage | IpsTaken | IpsReleased, Field(discriminator="kind")]
EVENT_KINDS = ("az_outage", "ips_taken", "ips_released")

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


def _apply_preset(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    platform = data.get("platform", "legacy")
    preset = PRESETS.get(platform) if isinstance(platform, str) else None
    if preset is None:
        return data
    data = copy.deepcopy(data)
    for path, value in preset.items():
        node = data
        for part in path[:-1]:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
            if not isinstance(node, dict):
                break
        else:
            if path[-1] not in node:
                node[path[-1]] = copy.deepcopy(value)
    return data


class Scenario(_Model):
    """A validated, immutable scenario. Build it with :func:`load_scenario` or :func:`scenario_from_dict`."""

    version: Literal[1]
    name: str = Field(min_length=1)
    description: str = ""
    platform: Literal["legacy", "hyperplane"] = "legacy"
    seed: int = Field(default=0, ge=0)
    duration: PositiveDuration
    warmup: Duration = 0.0
    timestep: PositiveDuration = 1.0
    replications: int = Field(default=1, ge=1, le=10000)
    region: Region = Field(default_factory=Region)
    vpc: Vpc = Field(default_factory=Vpc)
    functions: tuple[Function, ...]
    events: tuple[Event, ...] = ()
    expect: dict[str, str | float | int | list[str | float | int]] = Field(default_factory=dict)

    _source: str | None = PrivateAttr(default=None)
    _raw: dict = PrivateAttr(default_factory=dict)
    _marks: dict = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        return _apply_preset(data)

    @field_validator("functions", mode="before")
    @classmethod
    def _some_functions(cls, v: Any) -> Any:
        if isinstance(v, list | tuple) and not v:
            raise ValueError("needs at least one function")
        return v

    def __eq__(self, other: object) -> bool:
        # Equal scenarios have equal content; where they came from (file, marks) does not matter.
        return type(other) is type(self) and self.__dict__ == other.__dict__  # type: ignore[union-attr]

    __hash__ = None  # type: ignore[assignment]

    # -- convenience -------------------------------------------------------------------------------------------
    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from, if any."""
        return self._source

    def function(self, name: str) -> Function:
        for f in self.functions:
            if f.name == name:
                return f
        raise KeyError(name)

    def subnet(self, subnet_id: str) -> Subnet:
        for s in self.vpc.subnets:
            if s.id == subnet_id:
                return s
        raise KeyError(subnet_id)

    @property
    def azs(self) -> list[str]:
        """Availability Zones of the VPC, in the order their first subnet appears."""
        return list(dict.fromkeys(s.az for s in self.vpc.subnets))

    # -- round trips -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The resolved scenario (defaults filled in) as plain data; loads back to an equal scenario."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_yaml(self) -> str:
        header = f"# Resolved scenario {self.name!r}: every default filled in. Loads back to the same scenario.\n"
        return header + yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=120)

    def with_changes(self, changes: Mapping[str, Any]) -> Scenario:
        """A new scenario with ``{dotted.path: value}`` applied to this one's input (the paths of ``--set``:
        functions and subnets by name, e.g. ``functions.checkout.memory_mb``, ``vpc.subnets.private-a.cidr``)."""
        raw = copy.deepcopy(self._raw or self.to_dict())
        changed: list[tuple] = []
        for path, value in changes.items():
            changed.append(set_path(raw, path, value))
        label = f"{self._source or '<scenario>'} (with changes)"
        marks = {k: v for k, v in self._marks.items() if not any(k[: len(c)] == c for c in changed)}
        base_dir = Path(self._source).parent if self._source else None
        return scenario_from_dict(raw, source=label, marks=marks, base_dir=base_dir, _origin=self._source)


# --------------------------------------------------------------------------------------------------- paths


def _parts(path: str) -> list[str]:
    if not path or any(not p for p in path.split(".")):
        raise ScenarioError([Problem(None, None, path, "not a valid path (use dots: functions.NAME.memory_mb)")])
    return path.split(".")


def set_path(data: dict, path: str, value: Any) -> tuple:
    """Set ``value`` at a dotted ``path`` in raw scenario data; lists are addressed by name/id or by index.
    Returns the path as a tuple of raw keys. ``expect.<metric path>`` takes the rest of the path as one key."""
    parts = _parts(path)
    node: Any = data
    keys: list = []
    i = 0
    while i < len(parts) - 1:
        part = parts[i]
        if isinstance(node, dict):
            if part == "expect" and node is data:
                node = node.setdefault("expect", {})
                rest = ".".join(parts[i + 1:])
                node[rest] = value
                return tuple(keys + ["expect", rest])
            if part not in node or node[part] is None:
                node[part] = {}
            node, keys = node[part], keys + [part]
        elif isinstance(node, list):
            idx = _list_index(node, part, path)
            node, keys = node[idx], keys + [idx]
        else:
            raise ScenarioError([Problem(None, None, path, f"{'.'.join(parts[:i])} is not a section")])
        i += 1
    last = parts[-1]
    if isinstance(node, dict):
        node[last] = value
        return tuple(keys + [last])
    if isinstance(node, list):
        idx = _list_index(node, last, path)
        node[idx] = value
        return tuple(keys + [idx])
    raise ScenarioError([Problem(None, None, path, f"{'.'.join(parts[:-1])} is not a section")])


def _list_index(items: list, part: str, path: str) -> int:
    for idx, item in enumerate(items):
        if isinstance(item, dict) and part in (item.get("name"), item.get("id")):
            return idx
    if part.lstrip("-").isdigit() and -len(items) <= int(part) < len(items):
        return int(part) % len(items)
    names = [str(it.get("name", it.get("id"))) for it in items if isinstance(it, dict)]
    hint = difflib.get_close_matches(part, names, n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else f" (have: {', '.join(names)})" if names else ""
    raise ScenarioError([Problem(None, None, path, f"no item named {part!r}{extra}")])


def get_path(data: Any, parts: tuple) -> Any:
    for part in parts:
        data = data[part]
    return data


# --------------------------------------------------------------------------------------------------- validation


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types behind an annotation (through Annotated, unions, Optional)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out += _unwrap(arg)
        return out
    return [tp]


def _models_at(loc: tuple, raw: Any) -> list[type[BaseModel]]:
    """The model classes that could sit at ``loc`` (pydantic's location of an error), for "allowed keys" hints."""
    current: list[Any] = [Scenario]
    node = raw
    for el in loc:
        nxt: list[Any] = []
        for tp in current:
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                # A discriminated union puts the tag in the location: keep only the model with that tag.
                tags = [f.default for f in tp.model_fields.values() if isinstance(f.default, str)
                        and typing.get_origin(f.annotation) is Literal]
                if isinstance(el, str) and el in tags and el not in _aliases(tp):
                    nxt.append(tp)
                    continue
                for name, f in tp.model_fields.items():
                    if el in (name, f.alias):
                        nxt += _unwrap(f.annotation)
            else:
                origin = typing.get_origin(tp)
                if origin in (tuple, list) and isinstance(el, int):
                    nxt += _unwrap(typing.get_args(tp)[0])
                elif origin is dict:
                    nxt += _unwrap(typing.get_args(tp)[1])
        current = nxt
        if isinstance(node, dict) and el in node or isinstance(node, list) and isinstance(el, int) and el < len(node):
            node = node[el]
    models = [t for t in current if isinstance(t, type) and issubclass(t, BaseModel)]
    # Among a union's members, the one whose tag matches the data.
    if isinstance(node, dict) and len(models) > 1:
        for tag in ("dist", "process", "kind", "model"):
            if tag in node:
                same = [m for m in models if tag in m.model_fields and m.model_fields[tag].default == node[tag]]
                if same:
                    return same
    return models


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


_UNION_TAGS = frozenset((
    "constant", "exponential", "uniform", "lognormal", "gamma", "normal", "empirical",
    "poisson", "diurnal", "trace", "burst", "per-function", "unlimited",
    "az_outage", "ips_taken", "ips_released",
))


def _raw_loc(loc: tuple, raw: Any) -> tuple:
    """Pydantic's error location restricted to the keys that exist in the file (drops union tags)."""
    out = []
    node = raw
    for i, el in enumerate(loc):
        if isinstance(node, dict) and el in node:
            out.append(el)
            node = node[el]
        elif isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node):
            out.append(el)
            node = node[el]
        elif isinstance(node, dict | list) and i == len(loc) - 1 and isinstance(el, str) and el not in _UNION_TAGS:
            out.append(el)  # a key pydantic expected but that is absent ("missing")
        # Anything else is a union tag or pydantic's internals below a scalar: not a place in the file.
    return tuple(out)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err: dict, raw: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    got = "" if isinstance(value, dict | list | tuple) else f" (got {_show(value)})"
    if kind == "extra_forbidden":
        allowed: list[str] = []
        for m in _models_at(err["loc"][:-1], raw):
            allowed += [a for a in _aliases(m) if a not in allowed]
        key = str(err["loc"][-1])
        hint = difflib.get_close_matches(key, allowed, n=1)
        if hint:
            return f"unknown key {key!r}; did you mean {hint[0]!r}?"
        return f"unknown key {key!r} (allowed: {', '.join(allowed)})" if allowed else f"unknown key {key!r}"
    if kind == "missing":
        return "required, but missing"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        return f"must be {op} {bound}{got}"
    if kind in ("value_error", "assertion_error"):
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return msg if "(got" in msg or "got " in msg or "not a " in msg else msg + got
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}{got}"
    if kind == "union_tag_invalid":
        return f"must be one of {ctx.get('expected_tags')}{got}"
    if kind == "union_tag_not_found":
        return f"needs `{ctx.get('discriminator', 'a tag').strip(chr(39))}:`"
    if kind.startswith("int_") or kind.startswith("float_") or kind.startswith("bool_"):
        what = {"int": "a whole number", "float": "a number", "bool": "true or false"}[kind.split("_")[0]]
        return f"must be {what}{got}"
    if kind in ("string_type", "string_pattern_mismatch"):
        if kind == "string_pattern_mismatch":
            return f"must be letters, digits, '-' or '_' (starting with a letter or digit){got}"
        return f"must be text{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys to values{got}"
    if kind in ("tuple_type", "list_type"):
        return f"must be a list{got}"
    msg = str(err["msg"]).replace("Input should be", "should be")
    return msg + got


def _problems_from(exc: ValidationError, raw: Any, source: str | None, marks: dict) -> list[Problem]:
    problems = []
    seen = set()
    for err in exc.errors():
        loc = _raw_loc(tuple(err["loc"]), raw)
        line = None
        for k in range(len(loc), -1, -1):
            if loc[:k] in marks:
                line = marks[loc[:k]]
                break
        p = Problem(source, line, _dotted(loc), _message(err, raw))
        if (p.line, p.path, p.message) not in seen:
            seen.add((p.line, p.path, p.message))
            problems.append(p)
    return problems


def _cross_check(sc: Scenario) -> list[tuple[tuple, str]]:
    """Rules that span several fields; each finding is (raw path, message)."""
    out: list[tuple[tuple, str]] = []
    subnet_ids: dict[str, int] = {}
    for i, s in enumerate(sc.vpc.subnets):
        if s.id in subnet_ids:
            out.append((("vpc", "subnets", i, "id"), f"duplicate subnet id {s.id!r} (also subnets[{subnet_ids[s.id]}])"))
        subnet_ids.setdefault(s.id, i)
        if s.ips_in_use > s.usable_ips:
            out.append((("vpc", "subnets", i, "ips_in_use"),
                        f"more than the subnet's {s.usable_ips} usable addresses (got {s.ips_in_use})"))
        for j, other in enumerate(sc.vpc.subnets[:i]):
            if s.cidr.overlaps(other.cidr):
                out.append((("vpc", "subnets", i, "cidr"),
                            f"overlaps subnets[{j}] ({other.id}, {other.cidr}) (got {s.cidr})"))
    names: dict[str, int] = {}
    total_reserved = 0
    for i, f in enumerate(sc.functions):
        if f.name in names:
            out.append((("functions", i, "name"), f"duplicate function name {f.name!r} (also functions[{names[f.name]}])"))
        names.setdefault(f.name, i)
        for k, sid in enumerate(f.subnets):
            if sid not in subnet_ids:
                hint = difflib.get_close_matches(sid, list(subnet_ids), n=1)
                more = f"; did you mean {hint[0]!r}?" if hint else (
                    f" (subnets: {', '.join(subnet_ids)})" if subnet_ids else " (the scenario has no vpc.subnets)")
                out.append((("functions", i, "subnets", k), f"no subnet with id {sid!r}{more}"))
        if len(set(f.subnets)) != len(f.subnets):
            out.append((("functions", i, "subnets"), f"lists a subnet twice (got {list(f.subnets)})"))
        if f.reserved_concurrency is not None:
            total_reserved += f.reserved_concurrency
            if f.provisioned_concurrency > f.reserved_concurrency:
                out.append((("functions", i, "provisioned_concurrency"),
                            f"must be <= reserved_concurrency {f.reserved_concurrency} (got {f.provisioned_concurrency})"))
        elif f.provisioned_concurrency > sc.region.concurrency_limit - sc.region.unreserved_min:
            out.append((("functions", i, "provisioned_concurrency"),
                        f"must fit in the account's concurrency limit minus unreserved_min (got {f.provisioned_concurrency})"))
        if f.invocation == "async" and f.client_retry is not None:
            out.append((("functions", i, "client_retry"),
                        "applies to sync invocations only; async events are retried by Lambda (SPEC §3.7)"))
    limit = sc.region.concurrency_limit - sc.region.unreserved_min
    if limit < 0:
        out.append((("region", "unreserved_min"),
                    f"must be <= concurrency_limit {sc.region.concurrency_limit} (got {sc.region.unreserved_min})"))
    elif total_reserved > limit:
        out.append((("functions",), f"reserved concurrency adds up to {total_reserved}, more than concurrency_limit - "
                                    f"unreserved_min = {limit}"))
    if sc.warmup >= sc.duration:
        out.append((("warmup",), f"must be shorter than duration {format_duration(sc.duration)} "
                                 f"(got {format_duration(sc.warmup)})"))
    if sc.duration / sc.timestep > 2_000_000:
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


def scenario_from_dict(
    data: Any,
    *,
    source: str | None = None,
    marks: dict | None = None,
    base_dir: str | Path | None = None,
    _origin: str | None = None,
) -> Scenario:
    """Validate plain data (as read from YAML) into a :class:`Scenario`; raises :class:`ScenarioError`."""
    marks = marks or {}
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ScenarioError([Problem(source, 1 if marks else None, "", f"a scenario is a mapping of keys (got {got})")])
    # String keys only: YAML turns `on:` into True and `1:` into 1.
    for key in data:
        if not isinstance(key, str):
            raise ScenarioError([Problem(source, marks.get((key,)), str(key), f"unknown key {key!r}")])
    context = {"base_dir": str(base_dir) if base_dir is not None else None}
    try:
        sc = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError(_problems_from(exc, data, source, marks)) from None
    sc._source = _origin or source
    sc._raw = copy.deepcopy(data)
    sc._marks = dict(marks)
    found = _cross_check(sc)
    from .expectations import expect_problems  # here: expectations imports this module

    found += expect_problems(sc, check_capacity=not found)  # capacity figures need a consistent scenario
    if found:
        problems = []
        for path, msg in found:
            line = None
            for k in range(len(path), -1, -1):
                if path[:k] in marks:
                    line = marks[path[:k]]
                    break
            problems.append(Problem(source, line, _dotted(path), msg))
        raise ScenarioError(problems)
    return sc


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and freeze a scenario file. Raises :class:`ScenarioError` with one line per problem."""
    p = Path(path)
    label = str(path)
    if not p.exists():
        raise ScenarioError([Problem(label, None, "", "no such file")])
    if p.is_dir():
        raise ScenarioError([Problem(label, None, "", "is a folder, not a scenario file")])
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(label, None, "", f"cannot read: {exc}")]) from None
    data, marks = _compose(text, label)
    return scenario_from_dict(data, source=label, marks=marks, base_dir=p.resolve().parent)


def json_schema() -> dict:
    """The JSON Schema of the scenario file (`vpcsim schema`)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "vpcsim scenario (version 1)"
    return schema
