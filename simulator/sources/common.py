"""The shape every source produces, its errors, and the Lambda and EC2 limits an import checks.

A source reads its input into an :class:`Infrastructure`: functions and subnets with the settings the scenario needs,
each with an :class:`Origin` (file, line, what) so that the written scenario can say where every item came from and
an error can point at the place that is at fault. Errors are :class:`SourceError`, a :class:`ScenarioError` with one
:class:`Problem`, so that ``vpcsim validate``, ``check`` and the pytest plugin report a template's fault on a
scenario that refers to it (``infrastructure:``) as they report the scenario's own.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ArgumentError
from ..inputs import MAX_SOURCE_BYTES, InputFileError, read_text_file
from ..scenario.problems import Problem, ScenarioError

__all__ = [
    "REGION", "check_region",
    "read_source_text", "parse_source_json",
    "SourceError", "MissingExtra", "Origin", "ImportedFunction", "ImportedSubnet", "Infrastructure", "did_you_mean",
    "check_memory", "check_timeout", "check_architecture", "subnet_cidr", "require", "MIN_MEMORY_MB", "MAX_MEMORY_MB", "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT_S", "MAX_TIMEOUT_S", "LOAD_KEYS", "ARCHITECTURES",
]

# DOMAIN §10 / §1: CloudFormation's and Terraform's defaults, and Lambda's limits today.
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_S = 3
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10240
MAX_TIMEOUT_S = 900
ARCHITECTURES = ("x86_64", "arm64")  # Lambda's `Architectures`: one of these; x86_64 when not said

# The per-function keys a load gives (``--load FILE``): what the infrastructure does not say.
LOAD_KEYS = ("arrivals", "duration", "init", "keep_alive", "invocation", "client_retry", "max_event_age",
             "needs_internet")


class SourceError(ScenarioError):
    """Input a source cannot use: one line naming the file, the line and the place (a logical ID, an address, an
    AWS action)."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None, path: str = ""):
        super().__init__([Problem(file, line, path, message)])

    def __str__(self) -> str:
        p = self.problems[0]
        return str(p) if p.file else (f"{p.path}: {p.message}" if p.path else p.message)


def read_source_text(path: str | Path, label: str, what: str, *, folder_hint: str = "") -> str:
    """The UTF-8 text of a file an importer reads, through :func:`simulator.inputs.read_text_file`: a FIFO, a device,
    a file of /proc or one beyond :data:`~simulator.inputs.MAX_SOURCE_BYTES` is one line, never a hang or a
    MemoryError. ``folder_hint`` says what to give instead of a folder."""
    try:
        return read_text_file(path, what=what, limit_bytes=MAX_SOURCE_BYTES)
    except InputFileError as exc:
        reason = f"is a folder: {folder_hint}" if folder_hint and exc.reason.startswith("is a folder") else exc.reason
        raise SourceError(reason, label) from None


def parse_source_json(text: str, label: str, *, at_start: str = "") -> Any:
    """JSON an importer reads, or one line: where it is invalid (``at_start`` is added when the very first character
    is wrong, e.g. a binary file), or that it nests deeper than Python's parser follows (never a RecursionError)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = at_start if exc.lineno == 1 and exc.colno == 1 else ""
        raise SourceError(f"invalid JSON: {exc.msg} (column {exc.colno}){hint}", label, exc.lineno) from None
    except RecursionError:
        raise SourceError("the JSON nests deeper than this reader can follow", label) from None


class MissingExtra(SourceError):
    """An optional dependency that is not installed: says which ``pip install`` brings it."""

    def __init__(self, what: str, extra: str, package: str):
        super().__init__(f"{what} needs the '{extra}' extra: pip install 'vpcsim[{extra}]' (or pip install {package})")


def require(module: str, what: str, extra: str, package: str) -> Any:
    """Import an optional dependency, or raise :class:`MissingExtra`."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(what, extra, package) from None


@dataclass(frozen=True)
class Origin:
    """Where an imported item came from: the file (as the user named it), the line, and what it is there
    (``Resources.Api (AWS::Serverless::Function)``, ``module.vpc.aws_subnet.private[0]``, ``lambda function api``)."""

    file: str
    line: int | None
    what: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.what}" if self.line else f"{self.file} {self.what}"

    def problem(self, message: str, detail: str = "") -> Problem:
        return Problem(self.file, self.line, self.what + (f" ({detail})" if detail else ""), message)


@dataclass
class ImportedSubnet:
    id: str
    az: str
    cidr: str
    origin: Origin
    ips_in_use: int = 0
    route: str | None = None  # nat | igw | none; None: not known

    def entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "az": self.az, "cidr": self.cidr}
        if self.ips_in_use:
            out["ips_in_use"] = self.ips_in_use
        if self.route is not None:
            out["route"] = self.route
        return out


@dataclass
class ImportedFunction:
    name: str
    memory_mb: int
    timeout_s: float
    origin: Origin
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    reserved: int | None = None
    provisioned: int = 0
    # x86_64 | arm64 when the source states it (written as the function's `architecture:`, which prices its
    # GB-seconds, and said in its comment); None: not stated, the scenario's default x86_64 applies.
    architecture: str | None = None
    load: dict[str, Any] = field(default_factory=dict)  # arrivals, duration... (a --load file, CloudWatch)
    load_origin: dict[str, Origin] = field(default_factory=dict)  # where each load key came from

    def entry(self) -> dict[str, Any]:
        from ..units import format_duration

        out: dict[str, Any] = {"name": self.name, "memory_mb": self.memory_mb}
        if self.architecture is not None:
            out["architecture"] = self.architecture
        if self.subnets:
            out["subnets"] = list(self.subnets)
        if self.security_groups:
            out["security_groups"] = list(self.security_groups)
        if self.reserved is not None:
            out["reserved_concurrency"] = self.reserved
        if self.provisioned:
            out["provisioned_concurrency"] = self.provisioned
        out["timeout"] = format_duration(self.timeout_s)
        out.update(self.load)
        return out


@dataclass
class Infrastructure:
    """What one source said: the scenario's ``vpc.subnets``, ``functions``, the region figures it knows, and the
    notes for the file's header (assumptions, normalisations, fallbacks)."""

    kind: str  # cloudformation | terraform | aws
    label: str  # the file, folder or account it came from, as the user named it
    name: str  # a scenario name
    functions: list[ImportedFunction] = field(default_factory=list)
    subnets: list[ImportedSubnet] = field(default_factory=list)
    tenancy: str = "default"
    region: dict[str, Any] = field(default_factory=dict)  # concurrency_limit, eni_quota, enis_in_use
    notes: list[str] = field(default_factory=list)  # said in the header and printed
    extra_files: dict[str, str] = field(default_factory=dict)  # file name (beside the scenario) -> text
    duration: str | None = None  # the scenario's horizon when the source knows it (the CloudWatch window)

    def function(self, name: str) -> ImportedFunction:
        for f in self.functions:
            if f.name == name:
                return f
        raise KeyError(name)


REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")  # us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4


def check_region(region: Any, function: str) -> str:
    """``region`` if it is an AWS region's name (an importer names its AZs after it: ``us-east-1a``)."""
    if not isinstance(region, str) or not REGION.fullmatch(region):
        raise ArgumentError(f"{function}(): region must be an AWS region name like us-east-1, got {region!r}")
    return region


def did_you_mean(word: str, choices: list[str], what: str = "") -> str:
    """``; did you mean 'x'?`` or `` (WHAT: a, b, c)`` or ``""``."""
    hint = difflib.get_close_matches(word, choices, n=1)
    if hint:
        return f"; did you mean {hint[0]!r}?"
    if choices:
        shown = ", ".join(choices[:8]) + (f" and {len(choices) - 8} more" if len(choices) > 8 else "")
        return f" ({what + ': ' if what else ''}{shown})"
    return ""


def check_memory(value: Any, where: Origin) -> int:
    """A memory size Lambda accepts (DOMAIN §1: 128..10240 MB); anything else is an error at ``where``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SourceError(f"not a number of MB (got {value!r})", where.file, where.line, where.what)
    try:
        mb = float(value)
    except ValueError:
        raise SourceError(f"not a number of MB (got {value!r})", where.file, where.line, where.what) from None
    if mb != int(mb) or not MIN_MEMORY_MB <= mb <= MAX_MEMORY_MB:
        raise SourceError(f"Lambda accepts {MIN_MEMORY_MB} to {MAX_MEMORY_MB} MB in whole MB (got {value!r})",
                          where.file, where.line, where.what)
    return int(mb)


def check_timeout(value: Any, where: Origin) -> float:
    """A timeout Lambda accepts (DOMAIN §1, §7: 1..900 s)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SourceError(f"not a number of seconds (got {value!r})", where.file, where.line, where.what)
    try:
        s = float(value)
    except ValueError:
        raise SourceError(f"not a number of seconds (got {value!r})", where.file, where.line,
                          where.what) from None
    if not 1 <= s <= MAX_TIMEOUT_S:
        raise SourceError(f"Lambda accepts 1 to {MAX_TIMEOUT_S} seconds (got {value!r})", where.file,
                          where.line, where.what)
    return s


def check_architecture(value: Any, where: Origin) -> str | None:
    """The one architecture a function's ``Architectures`` list states (Lambda takes exactly one: ``x86_64`` or
    ``arm64``), or None when the list is empty or absent (Lambda's default, x86_64, applies)."""
    items = value if isinstance(value, list | tuple) else [] if value is None else [value]
    if not items:
        return None
    if len(items) > 1:
        raise SourceError(f"Lambda takes one architecture (got {', '.join(map(str, items))})", where.file,
                          where.line, where.what)
    arch = items[0]
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        raise SourceError(f"Lambda's architectures are x86_64 and arm64 (got {arch!r})", where.file, where.line,
                          where.what)
    return arch


def subnet_cidr(value: Any, where: Origin, key: str, notes: list[str]) -> str:
    """A subnet CIDR as EC2 takes it (DOMAIN §3: /16 to /28). Host bits set (``10.0.1.0/23``) are a normalisation
    with a warning: EC2 refuses the block, and the network it names is the only reading that keeps its size."""
    try:
        net = ipaddress.IPv4Network(str(value), strict=False)
    except ValueError:
        raise SourceError(f"{key}: not an IPv4 CIDR block like 10.0.1.0/24 (got {value!r})", where.file, where.line,
                          where.what) from None
    if not 16 <= net.prefixlen <= 28:
        raise SourceError(f"{key}: EC2 subnets are /16 to /28 (got {value})", where.file, where.line, where.what)
    if str(net) != str(value):
        notes.append(f"warning: {where}: {key} {value} has host bits set, which EC2 refuses; read as {net}")
    return str(net)
