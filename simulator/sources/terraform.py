"""Terraform plans (``terraform show -json PLANFILE``) to :class:`~simulator.sources.common.Infrastructure`.

The plan's ``planned_values`` (the root module and its ``child_modules``, recursively) give each resource's address,
type and values; ``configuration`` gives the expressions, whose ``references`` say what an attribute points at
while its value is still unknown (``after_unknown`` in ``resource_changes``): a function's
``vpc_config.subnet_ids`` refers to ``aws_subnet.private`` directly, or to ``var.vpc_subnet_ids`` of a module whose
call passes ``module.vpc.private_subnets``, an output whose expression refers to ``aws_subnet.private``. Those
references are followed through module calls, module variables and module outputs (the terraform-aws-modules layout:
``module.vpc.aws_subnet.private[0]``, ``module.NAME.aws_lambda_function.this[0]``). A reference to a counted
resource together with ``count.index`` pairs instance i with instance i (or with the only instance).

Read: ``aws_lambda_function`` (``function_name``, ``memory_size`` 128, ``timeout`` 3,
``reserved_concurrent_executions`` -1 = none, ``vpc_config``, ``architectures`` written as ``architecture:`` when
the plan states one),
``aws_lambda_provisioned_concurrency_config``, ``aws_subnet`` (``cidr_block``, ``availability_zone``; an existing
subnet read by ``data "aws_subnet"`` brings its id, CIDR, AZ and the addresses in use), the ``0.0.0.0/0`` route of
each subnet's table (``aws_route`` resources or a table's inline ``route`` blocks: ``nat_gateway_id`` or
``instance_id`` -> ``nat``, ``gateway_id`` of an ``aws_internet_gateway`` -> ``igw``, no such route -> ``none``; a
subnet without an ``aws_route_table_association`` uses its VPC's main table, which a plan does not describe: its
route is left unstated), ``aws_vpc`` ``instance_tenancy``. A state (``terraform show -json`` without a plan) is read
the same way, with every id known. A format other than 1.x is refused, as the format's documentation asks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    parse_source_json,
    read_source_text,
    subnet_cidr,
)
from .subnets import read_subnets

__all__ = ["import_terraform", "FORMAT_MAJOR"]

FORMAT_MAJOR = 1  # Terraform's JSON Output Format: "reject any input which reports an unsupported major version"
_INDEX = re.compile(r"\[[^\]]*\]")


def _values(resource: dict[str, Any]) -> dict[str, Any]:
    """A planned resource's ``values`` (an empty mapping when the plan has none)."""
    values = resource.get("values")
    return values if isinstance(values, dict) else {}


@dataclass
class _Resource:
    address: str
    module: str  # the module instance's address ("" for the root)
    mode: str  # managed | data
    type: str
    name: str
    index: Any
    values: dict[str, Any]

    @property
    def base(self) -> str:
        """The address without the instance key: ``module.vpc.aws_subnet.private``."""
        prefix = f"{self.module}." if self.module else ""
        return prefix + ("data." if self.mode == "data" else "") + f"{self.type}.{self.name}"


class _Unfollowable(Exception):
    """A reference the plan does not describe (a local value)."""

    def __init__(self, ref: str):
        super().__init__(ref)
        self.ref = ref


class _Plan:
    def __init__(self, data: dict[str, Any], label: str):
        self.data = data
        self.label = label
        self.resources: dict[str, _Resource] = {}
        planned = data.get("planned_values") if isinstance(data.get("planned_values"), dict) else data.get("values")
        if not isinstance(planned, dict) or not isinstance(planned.get("root_module"), dict):
            raise SourceError("no planned_values.root_module: not the output of `terraform show -json PLANFILE`",
                              label)
        self._walk(planned["root_module"], "")
        prior = data.get("prior_state")
        if isinstance(prior, dict) and isinstance(prior.get("values"), dict) and isinstance(
                prior["values"].get("root_module"), dict):
            self._walk(prior["values"]["root_module"], "", only_new=True)  # data sources read during the plan
        self.unknown: dict[str, Any] = {}
        for change in data.get("resource_changes") or []:
            if isinstance(change, dict) and isinstance(change.get("change"), dict):
                self.unknown[str(change.get("address"))] = change["change"].get("after_unknown") or {}
        self.config_modules: dict[str, dict] = {}
        config = data.get("configuration")
        if isinstance(config, dict) and isinstance(config.get("root_module"), dict):
            self._config(config["root_module"], "")
        self.by_id: dict[str, _Resource] = {}
        for r in self.resources.values():
            rid = r.values.get("id")
            if isinstance(rid, str) and rid:
                self.by_id.setdefault(rid, r)

    def _walk(self, module: dict, address: str, only_new: bool = False) -> None:
        for r in module.get("resources") or []:
            if not isinstance(r, dict) or "address" not in r:
                continue
            addr = str(r["address"])
            if only_new and addr in self.resources:
                continue
            self.resources[addr] = _Resource(addr, address, str(r.get("mode", "managed")), str(r.get("type", "")),
                                             str(r.get("name", "")), r.get("index"),
                                             _values(r))
        for child in module.get("child_modules") or []:
            if isinstance(child, dict):
                self._walk(child, str(child.get("address", "")), only_new)

    def _config(self, module: dict, key: str) -> None:
        self.config_modules[key] = module
        for name, call in (module.get("module_calls") or {}).items():
            if isinstance(call, dict) and isinstance(call.get("module"), dict):
                self._config(call["module"], f"{key}.module.{name}" if key else f"module.{name}")

    # -- configuration -----------------------------------------------------------------------------------------
    def config_of(self, r: _Resource) -> dict:
        module = self.config_modules.get(_INDEX.sub("", r.module)) or {}
        base = ("data." if r.mode == "data" else "") + f"{r.type}.{r.name}"
        for c in module.get("resources") or []:
            if isinstance(c, dict) and c.get("address") == base:
                return c.get("expressions") or {}
        return {}

    def expression(self, r: _Resource, *path: Any) -> dict | None:
        node: Any = self.config_of(r)
        for part in path:
            if isinstance(part, int):
                node = node[part] if isinstance(node, list) and len(node) > part else None
            else:
                node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                return None
        return node if isinstance(node, dict) else None

    def targets(self, expr: dict | None, scope: str, index: Any = None, depth: int = 0) -> list[_Resource | str]:
        """What an expression refers to: resources (in ``scope``, the module instance it is written in) or
        constant values, following variables, module calls and module outputs."""
        if not expr or depth > 50:
            return []
        if "constant_value" in expr:
            value = expr["constant_value"]
            return [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
        refs = [r for r in expr.get("references") or [] if isinstance(r, str)]
        # Terraform lists a traversal and each of its prefixes: keep the most specific ones.
        refs = [r for r in refs if not any(o != r and (o.startswith(r + ".") or o.startswith(r + "[")) for o in refs)]
        counted = "count.index" in refs
        out: list[_Resource | str] = []
        for ref in refs:
            head = ref.split(".")[0].split("[")[0]
            if head in ("count", "each", "path", "terraform", "self"):
                continue
            if head == "local":
                raise _Unfollowable(ref)
            if head == "var":
                out += self._variable(ref, scope, index, depth)
            elif head == "module":
                out += self._output(ref, scope, index, depth)
            else:
                out += self._resources(ref, scope, index if counted else None)
        return out

    def _variable(self, ref: str, scope: str, index: Any, depth: int) -> list[_Resource | str]:
        name = _INDEX.sub("", ref.split(".")[1])
        if not scope:
            value = ((self.data.get("variables") or {}).get(name) or {}).get("value")
            return [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
        parent, _, call = scope.rpartition(".module.") if ".module." in scope else ("", "", scope[len("module."):])
        call = _INDEX.sub("", call)
        module = self.config_modules.get(_INDEX.sub("", parent)) or {}
        expr = ((module.get("module_calls") or {}).get(call) or {}).get("expressions", {}).get(name)
        return self.targets(expr, parent, index, depth + 1)

    def _output(self, ref: str, scope: str, index: Any, depth: int) -> list[_Resource | str]:
        parts = ref.split(".")
        if len(parts) < 3:
            return []
        call = _INDEX.sub("", parts[1])
        child_key = _INDEX.sub("", f"{scope}.module.{call}" if scope else f"module.{call}")
        output = ((self.config_modules.get(child_key) or {}).get("outputs") or {}).get(_INDEX.sub("", parts[2]))
        if not isinstance(output, dict):
            return []
        prefix = f"{scope}.module.{parts[1]}" if scope else f"module.{parts[1]}"
        instances = sorted({r.module for r in self.resources.values()
                            if r.module == prefix or r.module.startswith(prefix + "[")}) or [prefix]
        out: list[_Resource | str] = []
        for inst in instances:
            out += self.targets(output.get("expression"), inst, index, depth + 1)
        return out

    def _resources(self, ref: str, scope: str, index: Any) -> list[_Resource]:
        data = ref.startswith("data.")
        parts = ref.split(".")[1:] if data else ref.split(".")
        if len(parts) < 2:
            return []
        type_, name_key = parts[0], parts[1]
        m = re.match(r"([^\[]+)(\[(.*)\])?$", name_key)
        if not m:
            return []
        name, key = m.group(1), m.group(3)
        base = (f"{scope}." if scope else "") + ("data." if data else "") + f"{type_}.{name}"
        found = [r for a, r in self.resources.items() if a == base or a.startswith(base + "[")]
        if key is not None:
            try:
                want = json.loads(key)
            except ValueError:
                want = key
            return [r for r in found if r.index == want]
        if index is not None and len(found) > 1:
            return [r for r in found if r.index == index] or found
        return sorted(found, key=lambda r: (str(type(r.index)), r.index if r.index is not None else 0))

    def unknown_at(self, r: _Resource, *path: Any) -> bool:
        node: Any = self.unknown.get(r.address)
        for part in path:
            if node is True:
                return True
            if isinstance(part, int):
                node = node[part] if isinstance(node, list) and len(node) > part else None
            else:
                node = node.get(part) if isinstance(node, dict) else None
        return node is True


def _short_id(r: _Resource, taken: set[str]) -> str:
    """A scenario id for a subnet: its address without ``module.`` and the type (``vpc-private-0``)."""
    modules = [p for p in re.findall(r"module\.([^.\[]+)(?:\[([^\]]*)\])?", r.module)]
    parts = [m + (f"-{k.strip(chr(34))}" if k else "") for m, k in modules] + [r.name]
    if r.index is not None:
        parts.append(str(r.index))
    sid = re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts)).strip("-_") or "subnet"
    out, n = sid, 2
    while out in taken:
        out, n = f"{sid}-{n}", n + 1
    taken.add(out)
    return out


def _read(path: Path, label: str) -> dict[str, Any]:
    text = read_source_text(path, label, "a Terraform plan",
                            folder_hint="give the file `terraform show -json PLANFILE > plan.json` wrote")
    data = parse_source_json(text, label, at_start=" (a binary plan file? convert it with `terraform show -json "
                                                   "PLANFILE > plan.json`)")
    if not isinstance(data, dict) or "format_version" not in data:
        raise SourceError("not the output of `terraform show -json PLANFILE` (no format_version)", label)
    version = str(data["format_version"])
    if not re.fullmatch(r"\d+\.\d+", version) or int(version.split(".")[0]) != FORMAT_MAJOR:
        raise SourceError(f"format_version {version}: vpcsim reads Terraform's JSON output format {FORMAT_MAJOR}.x "
                          f"(terraform show -json of Terraform 1.x)", label)
    return data


def import_terraform(path: str | Path, *, subnets_file: str | Path | None = None, label: str | None = None,
                     subnets_label: str | None = None) -> Infrastructure:
    """Read ``terraform show -json`` output into an :class:`Infrastructure`."""
    p = Path(path)
    label = label or str(path)
    plan = _Plan(_read(p, label), label)
    file_subnets = read_subnets(subnets_file, subnets_label) if subnets_file is not None else None
    stem = p.name.removesuffix(".json").removesuffix(".tfplan")
    infra = Infrastructure("terraform", label, re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:64] or "plan")

    functions = [r for r in plan.resources.values() if r.mode == "managed" and r.type == "aws_lambda_function"]
    if not functions:
        raise SourceError("no aws_lambda_function in the plan's planned_values", label)
    routes = _routes(plan)
    taken: set[str] = set()
    subnet_ids: dict[str, str] = {}  # resource address (or outside id) -> scenario id
    subnets: dict[str, ImportedSubnet] = {}
    names: dict[str, str] = {}

    def origin(r: _Resource) -> Origin:
        return Origin(label, None, r.address)

    def subnet_for(target: _Resource | str, fn_origin: Origin) -> str:
        if isinstance(target, str):  # an id known at plan time
            known = plan.by_id.get(target)
            if known is not None and known.type == "aws_subnet":
                return subnet_for(known, fn_origin)
            if file_subnets is not None and target in file_subnets:
                sub = file_subnets[target]
                subnets.setdefault(sub.id, sub)
                return sub.id
            raise SourceError(f"subnet {target!r} is not in the plan: give its CIDR and AZ with --subnets FILE"
                              + ("" if file_subnets is None else
                                 f" ({subnets_label or '--subnets'} has no such id"
                                 f"{did_you_mean(target, list(file_subnets))})"),
                              label, None, fn_origin.what)
        if target.type != "aws_subnet":
            raise SourceError(f"vpc_config.subnet_ids refers to {target.address}, not to a subnet", label, None,
                              fn_origin.what)
        if target.address in subnet_ids:
            return subnet_ids[target.address]
        sub = _subnet(plan, target, routes, file_subnets, taken, infra.notes)
        subnet_ids[target.address] = sub.id
        subnets[sub.id] = sub
        return sub.id

    for r in functions:
        fn = _function(plan, r, origin(r))
        if fn.name in names:
            raise SourceError(f"function name {fn.name!r} is used twice (also {names[fn.name]})", label, None,
                              r.address)
        names[fn.name] = r.address
        for target in _vpc_targets(plan, r, "subnet_ids"):
            sid = subnet_for(target, fn.origin)
            if sid in fn.subnets:
                raise SourceError(f"vpc_config.subnet_ids lists {sid} twice", label, None, r.address)
            fn.subnets.append(sid)
        for target in _vpc_targets(plan, r, "security_group_ids"):
            group = target if isinstance(target, str) else str(target.values.get("id") or target.address)
            if group not in fn.security_groups:
                fn.security_groups.append(group)
        infra.functions.append(fn)
    _provisioned(plan, infra.functions, functions, infra.notes)
    infra.subnets = list(subnets.values())
    dedicated = [r.address for r in plan.resources.values()
                 if r.type == "aws_vpc" and r.mode == "managed" and r.values.get("instance_tenancy") == "dedicated"]
    if dedicated:
        infra.tenancy = "dedicated"
        infra.notes.append(f"dedicated tenancy: {', '.join(dedicated)} (Lambda does not support it; the lint says so)")
    unused = sorted(r.address for r in plan.resources.values() if r.type == "aws_subnet" and r.mode == "managed"
                    and r.address not in subnet_ids)
    if unused:
        infra.notes.append(f"{len(unused)} subnet{'s' * (len(unused) != 1)} of the plan no function uses "
                           f"{'is' if len(unused) == 1 else 'are'} left out: {', '.join(unused)}")
    infra.notes = list(dict.fromkeys(infra.notes))
    return infra


def _function(plan: _Plan, r: _Resource, origin: Origin) -> ImportedFunction:
    v = r.values
    name = v.get("function_name")
    if not isinstance(name, str) or not name:
        raise SourceError("function_name is not known until apply: give the function a name the plan knows",
                          plan.label, None, r.address)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name):
        raise SourceError(f"function_name {name!r}: Lambda names are letters, digits, '-' and '_', at most 64",
                          plan.label, None, r.address)
    memory = v.get("memory_size", DEFAULT_MEMORY_MB)
    memory = check_memory(memory if memory is not None else DEFAULT_MEMORY_MB,
                          Origin(plan.label, None, f"{r.address}.memory_size"))
    timeout = v.get("timeout", DEFAULT_TIMEOUT_S)
    timeout = check_timeout(timeout if timeout is not None else DEFAULT_TIMEOUT_S,
                            Origin(plan.label, None, f"{r.address}.timeout"))
    reserved = v.get("reserved_concurrent_executions")
    if reserved is not None and not isinstance(reserved, int):
        raise SourceError(f"not a whole number (got {reserved!r})", plan.label, None,
                          f"{r.address}.reserved_concurrent_executions")
    # [] (or absent, unknown until apply): not stated, the provider's default x86_64 applies.
    architecture = check_architecture(v.get("architectures"), Origin(plan.label, None, f"{r.address}.architectures"))
    return ImportedFunction(name=name, memory_mb=memory, timeout_s=timeout, origin=origin,
                            reserved=None if reserved is None or reserved < 0 else reserved,  # -1: no reservation
                            architecture=architecture)


def _vpc_targets(plan: _Plan, r: _Resource, key: str) -> list[_Resource | str]:
    vpc = r.values.get("vpc_config")
    entry = vpc[0] if isinstance(vpc, list) and vpc and isinstance(vpc[0], dict) else {}
    known = entry.get(key)
    if isinstance(known, list) and known and not plan.unknown_at(r, "vpc_config", 0, key):
        return [str(x) for x in known]
    if not plan.unknown_at(r, "vpc_config", 0, key) and not known:
        return []  # no VPC
    try:
        found = plan.targets(plan.expression(r, "vpc_config", 0, key), r.module)
    except _Unfollowable as exc:
        raise SourceError(f"vpc_config.{key} goes through {exc.ref}, which the plan's configuration does not "
                          f"describe; refer to the resources (or a module output) instead, or give a plan whose "
                          f"{key} are known", plan.label, None, r.address) from None
    if not found:
        raise SourceError(f"vpc_config.{key} is not known until apply and its expression refers to nothing the plan "
                          f"has", plan.label, None, r.address)
    return found


def _subnet(plan: _Plan, r: _Resource, routes: dict[str, str | None], file_subnets: dict[str, ImportedSubnet] | None,
            taken: set[str], notes: list[str]) -> ImportedSubnet:
    v = r.values
    outside = r.mode == "data"
    sid = str(v.get("id")) if outside and v.get("id") else _short_id(r, taken)
    given = (file_subnets or {}).get(sid) or (file_subnets or {}).get(r.address)
    origin = Origin(plan.label, None, r.address)
    if given is not None:
        notes.append(f"subnet {sid}: from {given.origin}")
        return ImportedSubnet(id=sid, az=given.az, cidr=given.cidr, origin=origin, ips_in_use=given.ips_in_use,
                              route=given.route or routes.get(r.address))
    cidr = v.get("cidr_block")
    if not isinstance(cidr, str) or not cidr:
        raise SourceError(f"cidr_block is not known until apply: give it in --subnets FILE with id {sid}",
                          plan.label, None, r.address)
    cidr = subnet_cidr(cidr, origin, "cidr_block", notes)
    az = v.get("availability_zone") or v.get("availability_zone_id")
    if not isinstance(az, str) or not az:
        raise SourceError(f"availability_zone is not known until apply (EC2 would choose one): set it, or give it "
                          f"in --subnets FILE with id {sid}", plan.label, None, r.address)
    ips = 0
    if outside and isinstance(v.get("available_ip_address_count"), int):
        import ipaddress

        usable = ipaddress.IPv4Network(cidr).num_addresses - 5
        ips = max(0, usable - v["available_ip_address_count"])
        notes.append(f"subnet {sid} ({r.address}): {ips} addresses in use when the plan was made")
    return ImportedSubnet(id=sid, az=az, cidr=cidr, origin=origin, ips_in_use=ips,
                          route=routes.get(r.address) if not outside else None)


def _route_kind(plan: _Plan, r: _Resource, values: dict, expr: dict | None) -> str | None:
    """nat | igw | None for a 0.0.0.0/0 route (values where known, else the configuration's expressions)."""
    for key in ("nat_gateway_id", "instance_id"):
        if values.get(key) or (expr and key in expr and expr[key]):
            return "nat"
    gw = values.get("gateway_id")
    if isinstance(gw, str) and gw.startswith("igw-"):
        return "igw"
    if expr and "gateway_id" in expr:
        try:
            targets = plan.targets(expr["gateway_id"], r.module, r.index)
        except _Unfollowable:
            return None
        if any(isinstance(t, _Resource) and t.type == "aws_internet_gateway" or isinstance(t, str) and t.startswith(
                "igw-") for t in targets):
            return "igw"
    return None


def _routes(plan: _Plan) -> dict[str, str | None]:
    """Subnet address -> nat | igw | none (its table has no default route) | None (not known)."""
    table_kind: dict[str, str | None] = {}
    for r in plan.resources.values():
        if r.type == "aws_route_table" and r.mode == "managed":
            kind: str | None = "none"
            routes = r.values.get("route")
            if isinstance(routes, list) and not plan.unknown_at(r, "route"):
                for item in routes:
                    if isinstance(item, dict) and item.get("cidr_block") == "0.0.0.0/0":
                        kind = _route_kind(plan, r, item, None)
            else:
                blocks = plan.config_of(r).get("route")
                for block in blocks if isinstance(blocks, list) else []:
                    cidr = (block.get("cidr_block") or {}).get("constant_value") if isinstance(block, dict) else None
                    if cidr == "0.0.0.0/0":
                        kind = _route_kind(plan, r, {}, block)
            table_kind[r.address] = kind
    for r in plan.resources.values():
        if r.type == "aws_route" and r.mode == "managed" and r.values.get("destination_cidr_block") == "0.0.0.0/0":
            for table in _linked(plan, r, "route_table_id", "aws_route_table"):
                table_kind[table.address] = _route_kind(plan, r, r.values, plan.config_of(r))
    out: dict[str, str | None] = {}
    for r in plan.resources.values():
        if r.type == "aws_route_table_association" and r.mode == "managed":
            tables = _linked(plan, r, "route_table_id", "aws_route_table")
            for subnet in _linked(plan, r, "subnet_id", "aws_subnet"):
                if tables:
                    out[subnet.address] = table_kind.get(tables[0].address, "none")
    return out


def _linked(plan: _Plan, r: _Resource, key: str, type_: str) -> list[_Resource]:
    """The resources of ``type_`` that attribute ``key`` of ``r`` names (by a known id, else by reference)."""
    value = r.values.get(key)
    if isinstance(value, str) and value in plan.by_id:
        found = [plan.by_id[value]]
    else:
        try:
            found = [t for t in plan.targets(plan.expression(r, key), r.module, r.index) if isinstance(t, _Resource)]
        except _Unfollowable:
            return []
    return [t for t in found if t.type == type_]


def _provisioned(plan: _Plan, fns: list[ImportedFunction], resources: list[_Resource], notes: list[str]) -> None:
    by_name = {f.name: f for f in fns}
    by_address = {r.address: f for r, f in zip(resources, fns, strict=True)}
    for r in plan.resources.values():
        if r.type != "aws_lambda_provisioned_concurrency_config" or r.mode != "managed":
            continue
        n = r.values.get("provisioned_concurrent_executions")
        if not isinstance(n, int) or n < 0:
            raise SourceError(f"provisioned_concurrent_executions: not a whole number >= 0 (got {n!r})", plan.label,
                              None, r.address)
        name = r.values.get("function_name")
        fn = by_name.get(str(name).split(":")[-1]) if isinstance(name, str) else None
        if fn is None:
            try:
                targets = plan.targets(plan.expression(r, "function_name"), r.module)
            except _Unfollowable:
                targets = []
            fn = next((by_address[t.address] for t in targets if isinstance(t, _Resource)
                       and t.address in by_address), None)
        if fn is None:
            notes.append(f"{r.address}: provisioned concurrency for {name!r}, a function not in the plan: left out")
            continue
        fn.provisioned += n
