"""CloudFormation's intrinsic functions, resolved where an importer needs a value (DOMAIN §10): ``Ref``
(parameters: ``--parameter``, else ``Default``; pseudo parameters), ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``,
``Fn::Select``, ``Fn::Split``, ``Fn::GetAZs``, ``Fn::If`` with ``Conditions``, ``Fn::FindInMap``, ``Fn::ImportValue``
(through the stacks of one import), ``Fn::Cidr``, ``Fn::Base64``. A resource's physical ID is not known before
deploy: a ``Ref`` to it is a :class:`Res`, and its logical ID stands for it where a string is needed."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..scenario.yaml_marks import dotted_path
from .cfn_template import Template, section
from .common import Origin, SourceError, did_you_mean

__all__ = ["Stack", "Res", "Unvalued", "NO_VALUE", "Imports", "show", "SUPPORTED", "ACCOUNT_ID", "AZ_LETTERS"]

ACCOUNT_ID = "123456789012"  # AWS::AccountId: the documentation's example account; nothing read depends on it
AZ_LETTERS = "abcdef"  # Fn::GetAZs: the largest regions have six AZs (us-east-1a..f)
SUPPORTED = ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::GetAZs", "Fn::If",
             "Fn::FindInMap", "Fn::ImportValue", "Fn::Cidr", "Fn::Base64")


class Imports(Protocol):
    """What the stacks of one import share (:class:`~simulator.sources.cloudformation.Importer`): the values other
    stacks export, whether any stack asked for the region's AZs, and the notes the import prints."""

    used_get_azs: bool
    notes: list[str]

    def import_value(self, name: str, stack: Stack, path: tuple) -> Any: ...


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class Res:
    """A reference to a resource of a stack (``Ref``, ``Fn::GetAtt``): its physical ID is not known before deploy."""

    stack: Stack
    logical_id: str
    attr: str | None = None

    @property
    def type(self) -> str:
        return str(self.stack.resources[self.logical_id].get("Type", ""))


@dataclass(frozen=True)
class Unvalued:
    """A ``Ref`` to a parameter without a value (no ``--parameter``, no ``Default``)."""

    stack: Stack
    name: str
    path: tuple

    @property
    def type(self) -> str:
        return str((self.stack.parameters.get(self.name) or {}).get("Type", "String"))


@dataclass(eq=False)
class Stack:
    """One template with what resolving its intrinsics needs."""

    tpl: Template
    region: str
    given: dict[str, str]  # --parameter KEY=VALUE
    context: Imports
    cond_cache: dict[str, bool] = field(default_factory=dict)
    cond_stack: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        d = self.tpl.data
        self.resources: dict[str, dict] = {k: v for k, v in d["Resources"].items() if isinstance(v, dict)}
        self.parameters: dict[str, dict] = section(d, "Parameters")
        self.conditions: dict[str, Any] = section(d, "Conditions")
        self.mappings: dict[str, Any] = section(d, "Mappings")

    __hash__ = object.__hash__

    @property
    def name(self) -> str:
        return self.tpl.stack

    def line(self, path: tuple) -> int | None:
        for k in range(len(path), 0, -1):
            if path[:k] in self.tpl.marks:
                return self.tpl.marks[path[:k]]
        return None

    def error(self, message: str, path: tuple) -> SourceError:
        return SourceError(message, self.tpl.label, self.line(path), dotted_path(path))

    def origin(self, logical_id: str) -> Origin:
        res = self.resources.get(logical_id, {})
        what = f"Resources.{logical_id} ({res.get('Type')}"
        cdk_path = (res.get("Metadata") or {}).get("aws:cdk:path") if isinstance(res.get("Metadata"), dict) else None
        what += f", {cdk_path})" if isinstance(cdk_path, str) else ")"
        return Origin(self.tpl.label, self.line(("Resources", logical_id)), what)

    def pseudo(self, name: str) -> Any:
        """The value of a pseudo parameter (``AWS::Region``...), None for any other name."""
        region = self.region
        partition = "aws-cn" if region.startswith("cn-") else ("aws-us-gov" if region.startswith("us-gov-") else "aws")
        values: dict[str, Any] = {
            "AWS::Region": region, "AWS::AccountId": ACCOUNT_ID, "AWS::StackName": self.name,
            "AWS::Partition": partition, "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else
            "amazonaws.com", "AWS::NoValue": NO_VALUE, "AWS::NotificationARNs": [],
            "AWS::StackId": f"arn:{partition}:cloudformation:{region}:{ACCOUNT_ID}:stack/{self.name}/vpcsim",
        }
        return values.get(name)

    def missing(self, ref: Unvalued) -> SourceError:
        """The error for a value that needs a parameter nobody gave."""
        where = ("Parameters", ref.name)
        return ref.stack.error(f"parameter {ref.name} ({ref.type}) has no value and no Default: give "
                               f"--parameter {ref.name}=VALUE", where if ref.stack.line(where) else ref.path)

    # -- values ------------------------------------------------------------------------------------------------
    def resolve(self, value: Any, path: tuple) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                (key, arg), = value.items()
                if key == "Ref":
                    return self._ref(arg, path + (key,))
                if isinstance(key, str) and key.startswith("Fn::"):
                    return self._fn(key, arg, path + (key,))
            out = {}
            for k, v in value.items():
                r = self.resolve(v, path + (k,))
                if r is not NO_VALUE:
                    out[k] = r
            return out
        if isinstance(value, list):
            return [r for i, v in enumerate(value) if (r := self.resolve(v, path + (i,))) is not NO_VALUE]
        return value

    def text(self, value: Any, path: tuple) -> str:
        """A resolved value where a string is needed."""
        if isinstance(value, Unvalued):
            raise self.missing(value)
        if isinstance(value, Res):
            return value.logical_id if value.attr is None else f"{value.logical_id}.{value.attr}"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        raise self.error(f"needs a text value here (got {show(value)})", path)

    def as_list(self, value: Any, path: tuple) -> list:
        if isinstance(value, Unvalued):
            raise self.missing(value)
        if isinstance(value, str):  # a CommaDelimitedList parameter given as text
            return [x.strip() for x in value.split(",")]
        if not isinstance(value, list):
            raise self.error(f"needs a list here (got {show(value)})", path)
        return value

    def _ref(self, name: Any, path: tuple) -> Any:
        if not isinstance(name, str):
            raise self.error(f"Ref takes a logical ID or a parameter name (got {show(name)})", path)
        pseudo = self.pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            return self.parameter(name, path)
        if name in self.resources:
            return Res(self, name)
        raise self.error(f"Ref to unknown logical ID {name!r}"
                         f"{did_you_mean(name, list(self.parameters) + list(self.resources))}", path)

    def parameter(self, name: str, path: tuple) -> Any:
        spec = self.parameters.get(name) or {}
        if name in self.given:
            value: Any = self.given[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            return Unvalued(self, name, path)
        kind = str(spec.get("Type", "String"))
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            return [x.strip() for x in str(value).split(",") if x.strip()] if not isinstance(value, list) else value
        return value

    def _fn(self, key: str, arg: Any, path: tuple) -> Any:
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if not (isinstance(parts, list) and len(parts) == 2):
                raise self.error(f"Fn::GetAtt takes [LogicalId, Attribute] (got {show(arg)})", path)
            target = self.text(self.resolve(parts[0], path + (0,)), path)
            attr = self.text(self.resolve(parts[1], path + (1,)), path)
            if target not in self.resources:
                raise self.error(f"Fn::GetAtt of unknown logical ID {target!r}"
                                 f"{did_you_mean(target, list(self.resources))}", path)
            return Res(self, target, attr)
        if key == "Fn::Sub":
            return self._sub(arg, path)
        if key == "Fn::Join":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise self.error(f"Fn::Join takes [delimiter, [values]] (got {show(arg)})", path)
            delim = self.text(self.resolve(arg[0], path + (0,)), path)
            items = self.as_list(self.resolve(arg[1], path + (1,)), path + (1,))
            return delim.join(self.text(x, path + (1,)) for x in items)
        if key == "Fn::Select":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise self.error(f"Fn::Select takes [index, [values]] (got {show(arg)})", path)
            index_text = self.text(self.resolve(arg[0], path + (0,)), path + (0,))
            items = self.as_list(self.resolve(arg[1], path + (1,)), path + (1,))
            if not index_text.isdigit():
                raise self.error(f"Fn::Select: the index must be a whole number (got {index_text!r})", path)
            index = int(index_text)
            if index >= len(items):
                raise self.error(f"Fn::Select: index {index} is out of range: the list has {len(items)} "
                                 f"item{'s' * (len(items) != 1)}", path)
            return items[index]
        if key == "Fn::Split":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise self.error(f"Fn::Split takes [delimiter, text] (got {show(arg)})", path)
            delim = self.text(self.resolve(arg[0], path + (0,)), path)
            return self.text(self.resolve(arg[1], path + (1,)), path).split(delim)
        if key == "Fn::GetAZs":
            region = self.text(self.resolve(arg, path), path) if arg not in ("", None) else self.region
            self.context.used_get_azs = True
            return [f"{region or self.region}{c}" for c in AZ_LETTERS]
        if key == "Fn::If":
            if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
                raise self.error(f"Fn::If takes [condition, value if true, value if false] (got {show(arg)})", path)
            chosen = 1 if self.condition(arg[0], path + (0,)) else 2
            return self.resolve(arg[chosen], path + (chosen,))
        if key == "Fn::FindInMap":
            if not (isinstance(arg, list) and len(arg) in (3, 4)):
                raise self.error(f"Fn::FindInMap takes [map, top-level key, second-level key] (got {show(arg)})",
                                 path)
            names = [self.text(self.resolve(arg[i], path + (i,)), path + (i,)) for i in range(3)]
            node: Any = self.mappings
            for depth, name in enumerate(names):
                if not isinstance(node, dict) or name not in node:
                    if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                        return self.resolve(arg[3]["DefaultValue"], path + (3, "DefaultValue"))
                    what = ("map", "top-level key", "second-level key")[depth]
                    within = "Mappings" if depth == 0 else ".".join(["Mappings", *names[:depth]])
                    choices = list(node) if isinstance(node, dict) else []
                    raise self.error(f"Fn::FindInMap: no {what} {name!r} in {within}{did_you_mean(name, choices)}",
                                     path)
                node = node[name]
            return self.resolve(node, ("Mappings", *names))
        if key == "Fn::ImportValue":
            name = self.text(self.resolve(arg, path), path)
            return self.context.import_value(name, self, path)
        if key == "Fn::Cidr":
            if not (isinstance(arg, list) and len(arg) == 3):
                raise self.error(f"Fn::Cidr takes [ipBlock, count, cidrBits] (got {show(arg)})", path)
            block, count, bits = (self.text(self.resolve(arg[i], path + (i,)), path + (i,)) for i in range(3))
            try:
                net = ipaddress.IPv4Network(block, strict=False)
                subnets = list(net.subnets(new_prefix=32 - int(bits)))[: int(count)]
            except ValueError as exc:
                raise self.error(f"Fn::Cidr: {exc}", path) from None
            return [str(s) for s in subnets]
        if key == "Fn::Base64":
            return self.text(self.resolve(arg, path), path)
        raise self.error(f"unsupported intrinsic function {key} (vpcsim resolves {', '.join(SUPPORTED)})", path)

    def _sub(self, arg: Any, path: tuple) -> str:
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
            template, variables = arg[0], {k: self.resolve(v, path + (1, k)) for k, v in arg[1].items()}
        elif isinstance(arg, str):
            template, variables = arg, {}
        else:
            raise self.error(f"Fn::Sub takes a text or [text, {{variables}}] (got {show(arg)})", path)
        if not isinstance(template, str):
            raise self.error(f"Fn::Sub takes a text (got {show(template)})", path)

        def one(m: re.Match) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                return self.text(variables[name], path)
            if "." in name and not name.startswith("AWS::"):
                return self.text(self._fn("Fn::GetAtt", name, path), path)
            return self.text(self._ref(name, path), path)

        return re.sub(r"\$\{([^}]*)\}", one, template)

    # -- conditions --------------------------------------------------------------------------------------------
    def condition(self, name: str, path: tuple) -> bool:
        if name in self.cond_cache:
            return self.cond_cache[name]
        if name not in self.conditions:
            raise self.error(f"no condition named {name!r}{did_you_mean(name, list(self.conditions), 'conditions')}",
                             path)
        if name in self.cond_stack:
            cycle = " -> ".join(self.cond_stack[self.cond_stack.index(name):] + [name])
            raise self.error(f"circular conditions: {cycle}", ("Conditions", name))
        self.cond_stack.append(name)
        try:
            value = self._cond(self.conditions[name], ("Conditions", name))
        finally:
            self.cond_stack.pop()
        self.cond_cache[name] = value
        return value

    def _cond(self, expr: Any, path: tuple) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            (key, arg), = expr.items()
            p = path + (key,)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg, p)
            if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
                a, b = (self.resolve(x, p + (i,)) for i, x in enumerate(arg))
                return self._plain(a, p) == self._plain(b, p)
            if key in ("Fn::And", "Fn::Or") and isinstance(arg, list) and arg:
                values = [self._cond(x, p + (i,)) for i, x in enumerate(arg)]
                return all(values) if key == "Fn::And" else any(values)
            if key == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
                return not self._cond(arg[0], p + (0,))
            if key == "Fn::If":
                return bool(self._cond(self.resolve(expr, path), path))
        if isinstance(expr, bool):
            return expr
        raise self.error(f"not a condition: use Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition "
                         f"(got {show(expr)})", path)

    def _plain(self, value: Any, path: tuple) -> Any:
        if isinstance(value, list):
            return [self._plain(v, path) for v in value]
        return self.text(value, path)

    def exists(self, logical_id: str) -> bool:
        """A resource whose ``Condition`` is false is not created."""
        cond = self.resources[logical_id].get("Condition")
        return cond is None or self.condition(str(cond), ("Resources", logical_id, "Condition"))


def show(value: Any) -> str:
    if isinstance(value, Res):
        return f"a reference to {value.logical_id}"
    if isinstance(value, Unvalued):
        return f"parameter {value.name}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
