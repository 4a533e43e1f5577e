"""CloudFormation, SAM and CDK templates to :class:`~simulator.sources.common.Infrastructure` (DOMAIN §10).

Reads one template (YAML or JSON), a SAM project folder (``template.yaml``) or a CDK ``cdk.out/`` folder (every
``*.template.json``, with ``Fn::ImportValue`` resolved across the stacks' exported ``Outputs``). What is read:

- ``AWS::Lambda::Function`` and ``AWS::Serverless::Function`` (SAM's ``Globals.Function`` merged in as SAM does:
  maps merged, lists appended except ``Architectures``, which the function's own replaces, other values replaced):
  ``FunctionName`` (a literal one names the function, else its logical ID), ``MemorySize`` (default 128),
  ``Timeout`` (default 3 s), ``ReservedConcurrentExecutions``, ``VpcConfig.SubnetIds``/``SecurityGroupIds``,
  ``Architectures`` (written as ``architecture:`` when stated); provisioned concurrency from
  ``AWS::Lambda::Version``/``Alias`` ``ProvisionedConcurrencyConfig`` and SAM's ``AutoPublishAlias`` +
  ``ProvisionedConcurrencyConfig``.
- ``AWS::EC2::Subnet`` (``CidrBlock``, ``AvailabilityZone`` or ``AvailabilityZoneId``), the ``0.0.0.0/0`` route of
  its route table (``NatGatewayId`` or ``InstanceId``: ``nat``; ``GatewayId`` of an internet gateway: ``igw``; no
  such route: ``none``), ``AWS::EC2::VPC`` ``InstanceTenancy``.

Intrinsics are resolved only where these properties need them (a parameter nothing read uses needs no value):
``Ref`` (parameters: ``--parameter``, else ``Default``; pseudo parameters), ``Fn::GetAtt``, ``Fn::Sub``,
``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::GetAZs`` (the region's AZ names ``REGION`` + ``a``, ``b``, ...:
AZ names map to physical zones per account anyway, so the i-th name stands for "the i-th AZ"), ``Fn::If`` with
``Conditions`` (``Fn::Equals``, ``And``, ``Or``, ``Not``, ``Condition``), ``Fn::FindInMap``, ``Fn::ImportValue``,
``Fn::Cidr``, ``Fn::Base64``; the YAML short forms (``!Ref``, ``!GetAtt``, ``!Sub``...) are read by cfn-flip's
loader (the ``cloudformation`` extra), with the line of every key kept for messages. A resource's own name stands
for its physical ID where a string needs one (``!Sub "${Bucket}-x"``).

What EC2 or Lambda would refuse is an error naming the resource and the line (a memory size or timeout out of
range, a subnet prefix outside /16../28, a function subnet that is neither in the template nor in ``--subnets``),
except a CIDR with host bits set, which is read as the network it names with a warning.

Here: the import of one template or folder. Reading a template is :mod:`.cfn_template`, resolving intrinsics
:mod:`.cfn_intrinsics`, and what each resource type says :mod:`.cfn_resources`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ArgumentError
from .cfn_intrinsics import ACCOUNT_ID, AZ_LETTERS, Stack
from .cfn_resources import (
    SubnetRef,
    add_provisioned,
    external_subnet,
    read_function,
    read_routes,
    read_subnet,
    read_tenancy,
)
from .cfn_template import Template, read_template
from .common import (
    ImportedFunction,
    ImportedSubnet,
    Infrastructure,
    Origin,
    SourceError,
    check_region,
    did_you_mean,
)
from .subnets import read_subnets

__all__ = ["import_cloudformation", "read_template", "Template", "ACCOUNT_ID", "AZ_LETTERS"]

# --------------------------------------------------------------------------------------------------- import


class Importer:
    """The stacks of one import, with what they share: the region, the exports of a ``cdk.out/``, the notes."""

    def __init__(self, templates: list[Template], region: str, given: dict[str, str]):
        self.region = region
        self.given = given
        self.notes: list[str] = []
        self.used_get_azs = False
        self.stacks = [Stack(t, region, given, self) for t in templates]
        self._exports: dict[str, tuple[Stack, Any, tuple]] | None = None
        self._importing: list[str] = []

    def exports(self) -> dict[str, tuple[Stack, Any, tuple]]:
        """Export name -> (stack, value expression, path) across the stacks (a ``cdk.out/``)."""
        if self._exports is None:
            self._exports = {}
            for st in self.stacks:
                outputs = st.tpl.data.get("Outputs")
                for key, out in (outputs.items() if isinstance(outputs, dict) else []):
                    if not isinstance(out, dict) or not isinstance(out.get("Export"), dict):
                        continue
                    path = ("Outputs", key, "Export", "Name")
                    try:
                        name = st.text(st.resolve(out["Export"].get("Name"), path), path)
                    except SourceError:
                        continue  # an export whose name needs a parameter nobody gave: nothing can import it
                    self._exports[name] = (st, out.get("Value"), ("Outputs", key, "Value"))
        return self._exports

    def import_value(self, name: str, stack: Stack, path: tuple) -> Any:
        if name in self.given:
            value = self.given[name]
            return [x.strip() for x in value.split(",")] if "," in value else value
        exports = self.exports()
        if name not in exports:
            raise stack.error(f"Fn::ImportValue {name!r}: no stack here exports it; give --parameter {name}=VALUE "
                              f"(or import the cdk.out/ folder that holds the exporting stack)"
                              f"{did_you_mean(name, list(exports), 'exports')}", path)
        if name in self._importing:
            raise stack.error(f"circular Fn::ImportValue: {' -> '.join(self._importing + [name])}", path)
        self._importing.append(name)
        try:
            source, expr, where = exports[name]
            return source.resolve(expr, where)
        finally:
            self._importing.pop()

def import_cloudformation(
    source: str | Path,
    *,
    parameters: dict[str, str] | None = None,
    subnets_file: str | Path | None = None,
    region: str = "us-east-1",
    label: str | None = None,
    subnets_label: str | None = None,
) -> Infrastructure:
    """Read a template, a SAM project folder or a ``cdk.out/`` folder into an :class:`Infrastructure`."""
    src = Path(source)
    label = label or str(source)
    check_region(region, "import_cloudformation")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise ArgumentError(f"import_cloudformation(): parameters must be a mapping such as {{'Env': 'prod'}}, got "
                            f"{type(parameters).__name__} {parameters!r}")
    given = dict(parameters or {})
    templates = _templates(src, label)
    imp = Importer(templates, region, given)
    _check_given(imp, given)
    file_subnets = read_subnets(subnets_file, subnets_label) if subnets_file is not None else None

    functions: list[tuple[Stack, str]] = []
    subnets_in: dict[tuple[int, str], Stack] = {}
    for st in imp.stacks:
        for lid, res in st.resources.items():
            kind = res.get("Type")
            if kind in ("AWS::Lambda::Function", "AWS::Serverless::Function") and st.exists(lid):
                functions.append((st, lid))
            elif kind == "AWS::EC2::Subnet" and st.exists(lid):
                subnets_in[(id(st), lid)] = st
    if not functions:
        raise SourceError("no AWS::Lambda::Function or AWS::Serverless::Function in "
                          f"{'these templates' if len(templates) > 1 else 'the template'}", label)

    infra = Infrastructure("cloudformation", label, _scenario_name(src))
    for st in imp.stacks:
        # What is not read must be said: a resource could hide there.
        for key, res in st.tpl.data["Resources"].items():
            if str(key).startswith("Fn::ForEach"):
                infra.notes.append(f"warning: {st.tpl.label}:{st.line(('Resources', key)) or '?'} {key}: "
                                   f"Fn::ForEach (AWS::LanguageExtensions) is not expanded; its resources are "
                                   f"not imported")
            elif isinstance(res, dict) and res.get("Type") in ("AWS::CloudFormation::Stack",
                                                               "AWS::Serverless::Application"):
                infra.notes.append(f"warning: {st.origin(str(key))}: a nested stack is not read; import its "
                                   f"template too (a cdk.out/ folder holds them all)")
    routes = read_routes(imp.stacks)
    tenancy = read_tenancy(imp.stacks, infra.notes)
    if tenancy:
        infra.tenancy = "dedicated"

    # Functions first: they say which subnets matter.
    refs_by_fn: list[tuple[ImportedFunction, list[tuple[SubnetRef, tuple]], Stack]] = []
    names: dict[str, Origin] = {}
    by_logical: dict[tuple[int, str], ImportedFunction] = {}
    for st, lid in functions:
        fn, refs = read_function(st, lid)
        if fn.name in names:
            raise SourceError(f"function name {fn.name!r} is used twice (also {names[fn.name]})", fn.origin.file,
                              fn.origin.line, fn.origin.what)
        names[fn.name] = fn.origin
        refs_by_fn.append((fn, refs, st))
        by_logical[(id(st), lid)] = fn
    add_provisioned(imp.stacks, by_logical, infra.notes)

    # Subnet ids: logical IDs, qualified by the stack when two stacks use the same one.
    logical_count: dict[str, int] = {}
    for (_, lid) in subnets_in:
        logical_count[lid] = logical_count.get(lid, 0) + 1

    def subnet_id(st: Stack, lid: str) -> str:
        return lid if logical_count.get(lid, 0) <= 1 else f"{st.name}-{lid}"

    unvalued = {ref.parameter.name: ref.parameter for _, refs, _ in refs_by_fn for ref, _ in refs if ref.parameter}
    imported: dict[str, ImportedSubnet] = {}
    for fn, refs, _st in refs_by_fn:
        for ref, path in refs:
            if ref.stack is not None and ref.logical_id is not None:
                sid = subnet_id(ref.stack, ref.logical_id)
                if sid not in imported:
                    imported[sid] = read_subnet(ref.stack, ref.logical_id, sid, routes, file_subnets, infra.notes)
                fn.subnets.append(sid)
            elif ref.external_id is not None:
                sub = external_subnet(ref.external_id, fn, path, file_subnets, subnets_label)
                imported.setdefault(sub.id, sub)
                fn.subnets.append(sub.id)
            elif ref.parameter is not None:
                p = ref.parameter
                if file_subnets is None or len(unvalued) > 1:
                    why = ("" if file_subnets is None else f" (the --subnets file cannot stand for more than one "
                           f"parameter: {', '.join(sorted(unvalued))})")
                    raise p.stack.error(f"parameter {p.name} ({p.type}) names the subnets of {fn.name} but has no "
                                        f"value{why}: give --parameter {p.name}=subnet-1,subnet-2 and their CIDRs "
                                        f"and AZs with --subnets FILE (`vpcsim import aws --subnets-only` writes one)",
                                        ("Parameters", p.name) if p.stack.line(("Parameters", p.name)) else p.path)
                if not any(n.startswith(f"parameter {p.name} ") for n in infra.notes):
                    infra.notes.append(f"parameter {p.name} has no value: it takes the subnets of the --subnets file "
                                       f"({', '.join(file_subnets)})")
                for sub in file_subnets.values():
                    imported.setdefault(sub.id, sub)
                    if sub.id not in fn.subnets:
                        fn.subnets.append(sub.id)
        dupes = {s for s in fn.subnets if fn.subnets.count(s) > 1}
        if dupes:
            raise SourceError(f"VpcConfig.SubnetIds lists {', '.join(sorted(dupes))} twice", fn.origin.file,
                              fn.origin.line, fn.origin.what)
    infra.functions = [fn for fn, _, _ in refs_by_fn]
    infra.subnets = list(imported.values())
    unused = sorted(subnet_id(st, lid) for (_, lid), st in subnets_in.items() if subnet_id(st, lid) not in imported)
    if unused:
        infra.notes.append(f"{len(unused)} subnet{'s' * (len(unused) != 1)} of the template no function uses "
                           f"{'is' if len(unused) == 1 else 'are'} left out: {', '.join(unused)}")
    if imp.used_get_azs:
        infra.notes.append(f"Fn::GetAZs gives {region}a, {region}b, ... (AZ names map to physical zones per account; "
                           f"the simulation only needs to know which subnets share an AZ); region from --region")
    infra.notes = _dedupe(imp.notes + infra.notes)
    return infra


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _templates(src: Path, label: str) -> list[Template]:
    if src.is_dir():
        found = sorted(src.glob("*.template.json"))
        if found:
            return [read_template(p, f"{label.rstrip('/')}/{p.name}", p.name.removesuffix(".template.json"))
                    for p in found]
        for name in ("template.yaml", "template.yml", "template.json"):
            if (src / name).is_file():
                return [read_template(src / name, f"{label.rstrip('/')}/{name}", src.resolve().name)]
        raise SourceError("no *.template.json (a cdk.out/ folder) and no template.yaml (a SAM project) in this folder",
                          label)
    if not src.exists():
        raise SourceError("no such file or folder", label)
    return [read_template(src, label)]


def _scenario_name(src: Path) -> str:
    stem = src.resolve().name if src.is_dir() else src.name.split(".")[0]
    if stem in ("template", "cdk"):
        stem = src.resolve().parent.name or stem
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_") or "imported"
    return name[:64]


def _check_given(imp: Importer, given: dict[str, str]) -> None:
    """A ``--parameter`` must name a parameter of a template or a value some ``Fn::ImportValue`` asks for: a typo
    would otherwise be ignored."""
    known: set[str] = set()
    for st in imp.stacks:
        known |= set(st.parameters)
    imports: set[str] = set()

    def scan(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "Fn::ImportValue" and isinstance(x, str):
                    imports.add(x)
                scan(x)
        elif isinstance(v, list):
            for x in v:
                scan(x)

    for st in imp.stacks:
        scan(st.tpl.data.get("Resources"))
    for key in given:
        if key not in known and key not in imports:
            raise SourceError(f"--parameter {key}: no template parameter or Fn::ImportValue is named {key!r}"
                              f"{did_you_mean(key, sorted(known | imports), 'parameters')}")
    for st in imp.stacks:
        for key, value in given.items():
            if key in st.parameters:
                _check_constraints(st, key, value)


def _check_constraints(st: Stack, key: str, value: str) -> None:
    """The constraints CloudFormation checks before it creates a stack: AllowedValues, AllowedPattern (the whole
    value), MinLength/MaxLength and, for a Number, MinValue/MaxValue; each item of a list parameter on its own. A
    value the stack would refuse is one line at the parameter's declaration, not an import of a stack that cannot
    exist."""
    spec = st.parameters.get(key)
    if not isinstance(spec, dict):
        return
    kind = str(spec.get("Type", "String"))
    items = [x.strip() for x in value.split(",")] if kind.startswith("List<") or kind == "CommaDelimitedList" else [value]
    where = ("Parameters", key)
    allowed = spec.get("AllowedValues")
    # As CloudFormation reads them, text: YAML's true is "true" (Stack.text), and [1, 2] also allows 1.0.
    allowed_text = ([st.text(a, where + ("AllowedValues", i)) for i, a in enumerate(allowed)]
                    if isinstance(allowed, list) else None)
    pattern = spec.get("AllowedPattern")
    for item in items:
        if allowed_text is not None and item not in allowed_text and not any(
                _number(item) is not None and _number(item) == _number(a) for a in allowed_text):
            raise st.error(f"--parameter {key}={value}: {item!r} is not one of its AllowedValues "
                           f"({', '.join(allowed_text)})", where + ("AllowedValues",))
        if isinstance(pattern, str):
            try:
                matched = re.fullmatch(pattern, item) is not None
            except re.error:
                matched = True  # a pattern Python cannot read (CloudFormation's is Java's): not ours to refuse
            if not matched:
                why = spec.get("ConstraintDescription")
                raise st.error(f"--parameter {key}={value}: {item!r} does not match its AllowedPattern {pattern!r}"
                               + (f" ({why})" if isinstance(why, str) else ""), where + ("AllowedPattern",))
        shortest, longest = spec.get("MinLength"), spec.get("MaxLength")
        if isinstance(shortest, int) and len(item) < shortest:
            raise st.error(f"--parameter {key}={value}: {item!r} is shorter than its MinLength {shortest}",
                           where + ("MinLength",))
        if isinstance(longest, int) and len(item) > longest:
            raise st.error(f"--parameter {key}={value}: {item!r} is longer than its MaxLength {longest}",
                           where + ("MaxLength",))
        if kind == "Number":
            number = _number(item)
            if number is None:
                raise st.error(f"--parameter {key}={value}: the parameter is a Number", where + ("Type",))
            low, high = _number(spec.get("MinValue")), _number(spec.get("MaxValue"))
            if low is not None and number < low:
                raise st.error(f"--parameter {key}={value}: {item} breaks its MinValue {spec['MinValue']}",
                               where + ("MinValue",))
            if high is not None and number > high:
                raise st.error(f"--parameter {key}={value}: {item} breaks its MaxValue {spec['MaxValue']}",
                               where + ("MaxValue",))


def _number(x: Any) -> float | None:
    if isinstance(x, bool):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None
