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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..scenario.yaml_marks import dotted_path
from .cfn_intrinsics import ACCOUNT_ID, AZ_LETTERS, NO_VALUE, Res, Stack, Unvalued, show
from .cfn_template import Template, read_template, section
from .common import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    ImportedFunction,
    ImportedSubnet,
    Infrastructure,
    Origin,
    SourceError,
    check_architecture,
    check_memory,
    check_timeout,
    did_you_mean,
    subnet_cidr,
)
from .subnets import read_subnets

__all__ = ["import_cloudformation", "read_template", "Template", "ACCOUNT_ID", "AZ_LETTERS"]

SUBNET_TYPES = ("AWS::EC2::Subnet::Id", "List<AWS::EC2::Subnet::Id>")


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


def _sam_globals(stack: Stack) -> tuple[dict[str, Any], tuple]:
    glob = stack.tpl.data.get("Globals")
    fn = glob.get("Function") if isinstance(glob, dict) else None
    return (fn if isinstance(fn, dict) else {}), ("Globals", "Function")


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Ref", "Condition") or (
        isinstance(value, dict) and len(value) == 1 and str(next(iter(value))).startswith("Fn::"))


# Lists a resource's own value replaces rather than appends to: a function runs on one architecture (SAM's
# Globals merge strategy REPLACE for Function.Architectures, aws/serverless-application-model#3939).
_SAM_REPLACED = frozenset({"Architectures"})


def _sam_merge(glob: Any, own: Any) -> Any:
    """SAM's rule for Globals: maps are merged, lists appended, anything else (an intrinsic too) replaced."""
    if isinstance(glob, dict) and isinstance(own, dict) and not _is_intrinsic(glob) and not _is_intrinsic(own):
        out = dict(glob)
        for k, v in own.items():
            out[k] = _sam_merge(glob[k], v) if k in glob else v
        return out
    if isinstance(glob, list) and isinstance(own, list):
        return glob + own
    return own


@dataclass
class _FunctionProps:
    props: dict[str, Any]
    paths: dict[str, tuple]  # property -> where it is written (the resource, or Globals.Function)


def _function_props(stack: Stack, logical_id: str) -> _FunctionProps:
    res = stack.resources[logical_id]
    own = section(res, "Properties")
    base = ("Resources", logical_id, "Properties")
    paths = {k: base + (k,) for k in own}
    if res.get("Type") != "AWS::Serverless::Function":
        return _FunctionProps(own, paths)
    glob, gpath = _sam_globals(stack)
    merged = dict(own)
    for k, v in glob.items():
        if k in own and k in _SAM_REPLACED:
            continue  # the resource's own value replaces the global one
        if k in own:
            merged[k] = _sam_merge(v, own[k])
        else:
            merged[k] = v
            paths[k] = gpath + (k,)
    return _FunctionProps(merged, paths)


def _whole(value: Any, stack: Stack, path: tuple, what: str, minimum: int = 0) -> int:
    if isinstance(value, Unvalued):
        raise stack.missing(value)
    try:
        n = int(str(value))
    except ValueError:
        raise stack.error(f"{what}: not a whole number (got {show(value)})", path) from None
    if n < minimum:
        raise stack.error(f"{what}: must be >= {minimum} (got {n})", path)
    return n


@dataclass
class _SubnetRef:
    """What a function's ``SubnetIds`` item names: a subnet of a stack, an id from outside, or a parameter that has
    no value."""

    stack: Stack | None = None
    logical_id: str | None = None
    external_id: str | None = None
    parameter: Unvalued | None = None


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
    routes = _routes(imp)
    tenancy = _tenancy(imp, infra.notes)
    if tenancy:
        infra.tenancy = "dedicated"

    # Functions first: they say which subnets matter.
    refs_by_fn: list[tuple[ImportedFunction, list[tuple[_SubnetRef, tuple]], Stack]] = []
    names: dict[str, Origin] = {}
    by_logical: dict[tuple[int, str], ImportedFunction] = {}
    for st, lid in functions:
        fn, refs = _function(st, lid)
        if fn.name in names:
            raise SourceError(f"function name {fn.name!r} is used twice (also {names[fn.name]})", fn.origin.file,
                              fn.origin.line, fn.origin.what)
        names[fn.name] = fn.origin
        refs_by_fn.append((fn, refs, st))
        by_logical[(id(st), lid)] = fn
    _provisioned(imp, by_logical, infra.notes)

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
                    imported[sid] = _subnet(ref.stack, ref.logical_id, sid, routes, file_subnets, infra.notes)
                fn.subnets.append(sid)
            elif ref.external_id is not None:
                sub = _external(ref.external_id, fn, path, file_subnets, subnets_label)
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


def _function(st: Stack, lid: str) -> tuple[ImportedFunction, list[tuple[_SubnetRef, tuple]]]:
    fp = _function_props(st, lid)
    props, paths = fp.props, fp.paths
    origin = st.origin(lid)
    base = ("Resources", lid, "Properties")

    def get(key: str) -> tuple[Any, tuple, bool]:
        if key not in props:
            return None, base, False
        value = st.resolve(props[key], paths[key])
        return value, paths[key], value is not NO_VALUE

    name_value = props.get("FunctionName")
    name = name_value if isinstance(name_value, str) and name_value else lid
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name):
        raise st.error(f"FunctionName {name!r}: Lambda names are letters, digits, '-' and '_', at most 64",
                       paths.get("FunctionName", base))
    mem, mpath, has = get("MemorySize")
    where = Origin(st.tpl.label, st.line(mpath), dotted_path(mpath))
    memory = check_memory(_scalar(mem, st), where) if has else DEFAULT_MEMORY_MB
    tout, tpath, has = get("Timeout")
    where = Origin(st.tpl.label, st.line(tpath), dotted_path(tpath))
    timeout = check_timeout(_scalar(tout, st), where) if has else DEFAULT_TIMEOUT_S
    rc, rpath, has = get("ReservedConcurrentExecutions")
    reserved = _whole(rc, st, rpath, "ReservedConcurrentExecutions") if has else None
    arch, apath, has = get("Architectures")
    architecture = None
    if has:
        archs = st._list(arch, apath)
        where = Origin(st.tpl.label, st.line(apath), dotted_path(apath))
        architecture = check_architecture([st.text(a, apath) for a in archs], where)
    fn = ImportedFunction(name=name, memory_mb=memory, timeout_s=timeout, origin=origin, reserved=reserved,
                          architecture=architecture)

    refs: list[tuple[_SubnetRef, tuple]] = []
    if "VpcConfig" in props:
        vpc_path = paths["VpcConfig"]
        vpc = props["VpcConfig"]
        vpc = st.resolve(vpc, vpc_path) if _is_intrinsic(vpc) else vpc
        if vpc is not NO_VALUE and isinstance(vpc, dict):
            if "SubnetIds" in vpc:
                sp = vpc_path + ("SubnetIds",)
                items = st.resolve(vpc["SubnetIds"], sp)
                if isinstance(items, Unvalued):
                    refs.append((_SubnetRef(parameter=items), sp))
                elif items is not NO_VALUE:
                    for i, item in enumerate(items if isinstance(items, list) else [items]):
                        refs.append((_subnet_ref(st, item, sp + (i,)), sp + (i,)))
            if "SecurityGroupIds" in vpc:
                gp = vpc_path + ("SecurityGroupIds",)
                groups = st.resolve(vpc["SecurityGroupIds"], gp)
                if isinstance(groups, Unvalued):
                    fn.security_groups = [groups.name]
                    st.context.notes.append(f"security groups of {name}: parameter {groups.name} has no value; the "
                                            f"group is named after it")
                elif groups is not NO_VALUE:
                    for g in groups if isinstance(groups, list) else [groups]:
                        fn.security_groups.append(_group_name(st, g, gp, name))
        elif vpc is not NO_VALUE:
            raise st.error(f"VpcConfig must be a mapping with SubnetIds and SecurityGroupIds (got {show(vpc)})",
                           vpc_path)

    if st.resources[lid].get("Type") == "AWS::Serverless::Function" and "ProvisionedConcurrencyConfig" in props:
        pcc, ppath, has = get("ProvisionedConcurrencyConfig")
        if has:
            if "AutoPublishAlias" not in props:
                raise st.error("ProvisionedConcurrencyConfig needs AutoPublishAlias (SAM refuses the template "
                               "without it)", ppath)
            if not isinstance(pcc, dict) or "ProvisionedConcurrentExecutions" not in pcc:
                raise st.error("ProvisionedConcurrencyConfig needs ProvisionedConcurrentExecutions", ppath)
            fn.provisioned = _whole(pcc["ProvisionedConcurrentExecutions"], st,
                                    ppath + ("ProvisionedConcurrentExecutions",), "ProvisionedConcurrentExecutions")
    return fn, refs


def _scalar(value: Any, st: Stack) -> Any:
    if isinstance(value, Unvalued):
        raise st.missing(value)
    return value


def _subnet_ref(st: Stack, item: Any, path: tuple) -> _SubnetRef:
    if isinstance(item, Res):
        if item.type != "AWS::EC2::Subnet":
            raise st.error(f"names {item.logical_id}, a {item.type or 'resource without a Type'}, not a subnet", path)
        if not item.stack.exists(item.logical_id):
            raise st.error(f"names subnet {item.logical_id}, whose Condition is false (it is not created)", path)
        return _SubnetRef(stack=item.stack, logical_id=item.logical_id)
    if isinstance(item, Unvalued):
        return _SubnetRef(parameter=item)
    if isinstance(item, str) and item:
        return _SubnetRef(external_id=item)
    raise st.error(f"not a subnet (got {show(item)})", path)


def _group_name(st: Stack, g: Any, path: tuple, fn_name: str) -> str:
    if isinstance(g, Res):
        return g.logical_id
    if isinstance(g, Unvalued):
        st.context.notes.append(f"security groups of {fn_name}: parameter {g.name} has no value; the group is named "
                                f"after it")
        return g.name
    return st.text(g, path)


def _external(sid: str, fn: ImportedFunction, path: tuple, file_subnets: dict[str, ImportedSubnet] | None,
              subnets_label: str | None) -> ImportedSubnet:
    if file_subnets is not None and sid in file_subnets:
        return file_subnets[sid]
    if file_subnets is None:
        msg = (f"subnet {sid!r} of {fn.name} is not in the template: give its CIDR and AZ with --subnets FILE "
               f"(`vpcsim import aws --subnets-only` writes one)")
    else:
        msg = (f"subnet {sid!r} of {fn.name} is neither in the template nor in {subnets_label or '--subnets'}"
               f"{did_you_mean(sid, list(file_subnets), 'it has')}")
    raise SourceError(msg, fn.origin.file, fn.origin.line, fn.origin.what)


def _subnet(st: Stack, lid: str, sid: str, routes: dict[tuple[int, str], str | None],
            file_subnets: dict[str, ImportedSubnet] | None, notes: list[str]) -> ImportedSubnet:
    res = st.resources[lid]
    props = section(res, "Properties")
    base = ("Resources", lid, "Properties")
    origin = st.origin(lid)
    given = (file_subnets or {}).get(sid) or (file_subnets or {}).get(lid)
    if "CidrBlock" in props:
        raw = st.resolve(props["CidrBlock"], base + ("CidrBlock",))
        where = Origin(st.tpl.label, st.line(base + ("CidrBlock",)), origin.what)
        cidr = subnet_cidr(st.text(raw, base + ("CidrBlock",)), where, "CidrBlock", notes)
    elif given is not None:
        cidr = given.cidr
    else:
        raise st.error("the subnet has no CidrBlock (an IPv6-only subnet has no addresses for Lambda's ENIs); give "
                       f"it in --subnets FILE with id {sid}", ("Resources", lid))
    az = None
    for key in ("AvailabilityZone", "AvailabilityZoneId"):
        if key in props:
            value = st.resolve(props[key], base + (key,))
            if value is not NO_VALUE:
                az = st.text(value, base + (key,))
                break
    if given is not None and az is None:
        az = given.az
    if not az:
        raise st.error("the subnet names no AvailabilityZone: EC2 would choose one at deploy time, and the simulation "
                       f"needs to know it; set AvailabilityZone (e.g. !Select [0, !GetAZs '']) or give it in "
                       f"--subnets FILE with id {sid}", ("Resources", lid))
    route = routes.get((id(st), lid), "none")
    ips = 0
    if given is not None:
        ips = given.ips_in_use
        route = given.route or route
        notes.append(f"subnet {sid}: addresses in use and route from {given.origin}")
    return ImportedSubnet(id=sid, az=az, cidr=cidr, origin=origin, ips_in_use=ips, route=route)


def _routes(imp: Importer) -> dict[tuple[int, str], str | None]:
    """(stack, subnet logical ID) -> nat | igw | none | None (a default route through something else)."""
    table_route: dict[tuple[int, str], str | None] = {}
    for st in imp.stacks:
        for lid, res in st.resources.items():
            if res.get("Type") != "AWS::EC2::Route" or not st.exists(lid):
                continue
            props = section(res, "Properties")
            base = ("Resources", lid, "Properties")
            dest = st.resolve(props.get("DestinationCidrBlock"), base + ("DestinationCidrBlock",))
            if dest != "0.0.0.0/0":
                continue
            table = st.resolve(props.get("RouteTableId"), base + ("RouteTableId",))
            if not isinstance(table, Res):
                continue
            kind: str | None = None
            if props.get("NatGatewayId") is not None or props.get("InstanceId") is not None:
                kind = "nat"
            elif props.get("GatewayId") is not None:
                gw = st.resolve(props["GatewayId"], base + ("GatewayId",))
                if isinstance(gw, Res) and gw.type == "AWS::EC2::InternetGateway" or (
                        isinstance(gw, str) and gw.startswith("igw-")):
                    kind = "igw"
            table_route[(id(table.stack), table.logical_id)] = kind
    out: dict[tuple[int, str], str | None] = {}
    for st in imp.stacks:
        for lid, res in st.resources.items():
            if res.get("Type") != "AWS::EC2::SubnetRouteTableAssociation" or not st.exists(lid):
                continue
            props = section(res, "Properties")
            base = ("Resources", lid, "Properties")
            subnet = st.resolve(props.get("SubnetId"), base + ("SubnetId",))
            table = st.resolve(props.get("RouteTableId"), base + ("RouteTableId",))
            if isinstance(subnet, Res) and isinstance(table, Res):
                out[(id(subnet.stack), subnet.logical_id)] = table_route.get((id(table.stack), table.logical_id),
                                                                              "none")
    return out


def _tenancy(imp: Importer, notes: list[str]) -> bool:
    dedicated = []
    for st in imp.stacks:
        for lid, res in st.resources.items():
            if res.get("Type") == "AWS::EC2::VPC" and st.exists(lid):
                props = section(res, "Properties")
                if "InstanceTenancy" in props:
                    path = ("Resources", lid, "Properties", "InstanceTenancy")
                    if st.text(st.resolve(props["InstanceTenancy"], path), path) == "dedicated":
                        dedicated.append(str(st.origin(lid)))
    if dedicated:
        notes.append(f"dedicated tenancy: {', '.join(dedicated)} (Lambda does not support it; the lint says so)")
    return bool(dedicated)


def _provisioned(imp: Importer, by_logical: dict[tuple[int, str], ImportedFunction], notes: list[str]) -> None:
    """``AWS::Lambda::Version``/``Alias`` ``ProvisionedConcurrencyConfig``: added to the function they name."""
    by_name = {fn.name: fn for fn in by_logical.values()}
    sources: dict[str, list[str]] = {}
    for st in imp.stacks:
        for lid, res in st.resources.items():
            if res.get("Type") not in ("AWS::Lambda::Version", "AWS::Lambda::Alias") or not st.exists(lid):
                continue
            props = section(res, "Properties")
            if "ProvisionedConcurrencyConfig" not in props:
                continue
            base = ("Resources", lid, "Properties")
            pcc = st.resolve(props["ProvisionedConcurrencyConfig"], base + ("ProvisionedConcurrencyConfig",))
            if pcc is NO_VALUE:
                continue
            ppath = base + ("ProvisionedConcurrencyConfig", "ProvisionedConcurrentExecutions")
            if not isinstance(pcc, dict) or "ProvisionedConcurrentExecutions" not in pcc:
                raise st.error("ProvisionedConcurrencyConfig needs ProvisionedConcurrentExecutions", ppath[:-1])
            n = _whole(pcc["ProvisionedConcurrentExecutions"], st, ppath, "ProvisionedConcurrentExecutions")
            target = st.resolve(props.get("FunctionName"), base + ("FunctionName",))
            fn = None
            if isinstance(target, Res):
                fn = by_logical.get((id(target.stack), target.logical_id))
            elif isinstance(target, str):
                fn = by_name.get(target.split(":")[-1]) or by_name.get(target)
            if fn is None:
                notes.append(f"{st.origin(lid)}: provisioned concurrency for {show(target)}, a function not in "
                             f"the template: left out")
                continue
            fn.provisioned += n
            sources.setdefault(fn.name, []).append(lid)
    for name, lids in sources.items():
        if len(lids) > 1:
            notes.append(f"provisioned concurrency of {name} adds up {', '.join(lids)}")
