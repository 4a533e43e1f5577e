"""What each CloudFormation resource type says (:mod:`.cloudformation` imports a template with these): a function
(SAM's ``Globals.Function`` merged in), the subnets it names, a subnet, the default routes of the route tables, a
VPC's tenancy and provisioned concurrency from versions and aliases. Every value read goes through the stack's
resolver (:mod:`.cfn_intrinsics`), and every error names the resource and the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..scenario.yaml_marks import dotted_path
from .cfn_intrinsics import NO_VALUE, Res, Stack, Unvalued, show
from .cfn_template import section
from .common import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    ImportedFunction,
    ImportedSubnet,
    Origin,
    SourceError,
    check_architecture,
    check_memory,
    check_timeout,
    did_you_mean,
    subnet_cidr,
)

__all__ = ["SubnetRef", "read_function", "external_subnet", "read_subnet", "read_routes", "read_tenancy",
           "add_provisioned"]


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
class SubnetRef:
    """What a function's ``SubnetIds`` item names: a subnet of a stack, an id from outside, or a parameter that has
    no value."""

    stack: Stack | None = None
    logical_id: str | None = None
    external_id: str | None = None
    parameter: Unvalued | None = None


def read_function(st: Stack, lid: str) -> tuple[ImportedFunction, list[tuple[SubnetRef, tuple]]]:
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
        archs = st.as_list(arch, apath)
        where = Origin(st.tpl.label, st.line(apath), dotted_path(apath))
        architecture = check_architecture([st.text(a, apath) for a in archs], where)
    fn = ImportedFunction(name=name, memory_mb=memory, timeout_s=timeout, origin=origin, reserved=reserved,
                          architecture=architecture)

    refs: list[tuple[SubnetRef, tuple]] = []
    if "VpcConfig" in props:
        vpc_path = paths["VpcConfig"]
        vpc = props["VpcConfig"]
        vpc = st.resolve(vpc, vpc_path) if _is_intrinsic(vpc) else vpc
        if vpc is not NO_VALUE and isinstance(vpc, dict):
            if "SubnetIds" in vpc:
                sp = vpc_path + ("SubnetIds",)
                items = st.resolve(vpc["SubnetIds"], sp)
                if isinstance(items, Unvalued):
                    refs.append((SubnetRef(parameter=items), sp))
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


def _subnet_ref(st: Stack, item: Any, path: tuple) -> SubnetRef:
    if isinstance(item, Res):
        if item.type != "AWS::EC2::Subnet":
            raise st.error(f"names {item.logical_id}, a {item.type or 'resource without a Type'}, not a subnet", path)
        if not item.stack.exists(item.logical_id):
            raise st.error(f"names subnet {item.logical_id}, whose Condition is false (it is not created)", path)
        return SubnetRef(stack=item.stack, logical_id=item.logical_id)
    if isinstance(item, Unvalued):
        return SubnetRef(parameter=item)
    if isinstance(item, str) and item:
        return SubnetRef(external_id=item)
    raise st.error(f"not a subnet (got {show(item)})", path)


def _group_name(st: Stack, g: Any, path: tuple, fn_name: str) -> str:
    if isinstance(g, Res):
        return g.logical_id
    if isinstance(g, Unvalued):
        st.context.notes.append(f"security groups of {fn_name}: parameter {g.name} has no value; the group is named "
                                f"after it")
        return g.name
    return st.text(g, path)


def external_subnet(sid: str, fn: ImportedFunction, path: tuple, file_subnets: dict[str, ImportedSubnet] | None,
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


def read_subnet(st: Stack, lid: str, sid: str, routes: dict[tuple[int, str], str | None],
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


def _created(stacks: list[Stack], *types: str) -> Iterator[tuple[Stack, str, dict[str, Any], tuple]]:
    """(stack, logical ID, properties, path of the properties) of every resource of ``types`` that the stacks
    create (its Condition, if any, is true), in file order."""
    for st in stacks:
        for lid, res in st.resources.items():
            if res.get("Type") in types and st.exists(lid):
                yield st, lid, section(res, "Properties"), ("Resources", lid, "Properties")


def read_routes(stacks: list[Stack]) -> dict[tuple[int, str], str | None]:
    """(stack, subnet logical ID) -> nat | igw | none | None (a default route through something else)."""
    table_route: dict[tuple[int, str], str | None] = {}
    for st, _lid, props, base in _created(stacks, "AWS::EC2::Route"):
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
    for st, _lid, props, base in _created(stacks, "AWS::EC2::SubnetRouteTableAssociation"):
        subnet = st.resolve(props.get("SubnetId"), base + ("SubnetId",))
        table = st.resolve(props.get("RouteTableId"), base + ("RouteTableId",))
        if isinstance(subnet, Res) and isinstance(table, Res):
            out[(id(subnet.stack), subnet.logical_id)] = table_route.get((id(table.stack), table.logical_id),
                                                                          "none")
    return out


def read_tenancy(stacks: list[Stack], notes: list[str]) -> bool:
    dedicated = []
    for st, lid, props, base in _created(stacks, "AWS::EC2::VPC"):
        if "InstanceTenancy" in props:
            path = base + ("InstanceTenancy",)
            if st.text(st.resolve(props["InstanceTenancy"], path), path) == "dedicated":
                dedicated.append(str(st.origin(lid)))
    if dedicated:
        notes.append(f"dedicated tenancy: {', '.join(dedicated)} (Lambda does not support it; the lint says so)")
    return bool(dedicated)


def add_provisioned(stacks: list[Stack], by_logical: dict[tuple[int, str], ImportedFunction], notes: list[str]) -> None:
    """``AWS::Lambda::Version``/``Alias`` ``ProvisionedConcurrencyConfig``: added to the function they name."""
    by_name = {fn.name: fn for fn in by_logical.values()}
    sources: dict[str, list[str]] = {}
    for st, lid, props, base in _created(stacks, "AWS::Lambda::Version", "AWS::Lambda::Alias"):
        if "ProvisionedConcurrencyConfig" not in props:
            continue
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
