"""Scenario YAML read with every key's line kept, within bounds (no alias bomb, no nesting beyond 64 levels).

The file is composed with PyYAML (libyaml when available) and each mapping key's mark is kept as
``{path tuple: line}``, so that a problem anywhere in the file is reported at its line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from .problems import Problem, ScenarioError, show_value

__all__ = ["compose_yaml", "measure_yaml", "yaml_value", "dotted_path", "TagReader", "MAX_YAML_NODES", "MAX_YAML_DEPTH",
           "MAX_YAML_ALIASES"]


MAX_YAML_NODES = 2_000_000
"""The most values (keys, scalars, lists, mappings) a YAML document may hold once its aliases are expanded: a
scenario of 8 MiB holds about 600,000. A few hundred bytes of nested aliases would otherwise expand to billions
(a "billion laughs" file)."""
MAX_YAML_DEPTH = 64
"""The deepest nesting of lists and mappings, aliases expanded: a scenario needs 8 (a schedule point)."""
MAX_YAML_ALIASES = 1_000_000
"""The most uses of anchors (``*name``) in one document. Generous: ``yaml.safe_dump`` writes an alias wherever a
generator shared one object, several per function. What stops an alias bomb is :data:`MAX_YAML_NODES`."""


@dataclass(frozen=True)
class TagReader:
    """How a dialect of YAML with tags of its own is read (CloudFormation's short forms: ``!Ref X``): ``loader(base)``
    is a loader class derived from ``base`` that constructs a tagged node into a mapping (``{"Ref": "X"}``), and
    ``key(tag)`` the key that mapping has (``!Ref`` -> ``Ref``), through which the paths of the lines inside go."""

    loader: Callable[[type], type]
    key: Callable[[str], str]


def compose_yaml(text: str, filename: str, *, tags: TagReader | None = None,
                 string_keys: bool = False) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML into plain data plus the line (1-based) of every key and list item, keyed by its path.

    The document is measured before anything is built from it (see :func:`measure_yaml`): a file whose aliases expand
    beyond :data:`MAX_YAML_NODES`, that nests deeper than :data:`MAX_YAML_DEPTH` or refers to itself is refused in
    one line, in about the time it takes to parse it.

    libyaml (C) parses when PyYAML has it: the same nodes and marks, several times faster on large imported
    scenarios. A file it rejects is parsed again by the pure-Python parser, whose messages say more.

    ``tags`` reads a dialect's tags (else a tag is invalid YAML); ``string_keys`` makes every key text (``80:`` is
    ``"80"``), as a format whose keys are names wants."""
    def loader(base: type) -> type:
        return tags.loader(base) if tags is not None else base

    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _compose_with(loader(fast), text, filename, tags, string_keys)
        except ScenarioError as exc:
            message = exc.problems[0].message
            if not message.startswith("invalid YAML") or "maximum nesting depth" in message:
                raise  # beyond the limits, or nested past libyaml's own limit: no better message to find
            try:
                return _compose_with(loader(yaml.SafeLoader), text, filename, tags, string_keys)
            except RecursionError:  # the pure-Python composer recurses; libyaml's own message stands
                raise exc from None
    try:
        return _compose_with(loader(yaml.SafeLoader), text, filename, tags, string_keys)
    except RecursionError:
        raise ScenarioError([Problem(filename, None, "", f"the YAML nests deeper than this reader can follow "
                                                         f"(limit {MAX_YAML_DEPTH} levels)")]) from None


def measure_yaml(root: yaml.Node, filename: str) -> None:
    """Refuse a composed document that would expand too far: aliases are shared nodes in the composed graph, so it
    is small even when the data built from it would not be. One walk over the graph, without recursion, finds the
    size and the depth of every node with its aliases expanded, and any alias to a node that contains it."""

    def refuse(n: yaml.Node, message: str) -> None:
        raise ScenarioError([Problem(filename, n.start_mark.line + 1, "", message)])

    def kids(n: yaml.Node) -> list:
        return [x for pair in n.value for x in pair] if isinstance(n, yaml.MappingNode) else n.value

    size: dict[int, int] = {}  # id(collection) -> values it expands to (itself included)
    depth: dict[int, int] = {}  # id(collection) -> levels of nesting it expands to
    scalars: set[int] = set()  # scalars met (an alias may name a scalar too)
    open_: set[int] = set()  # the collections on the current path
    aliases = 0
    if not isinstance(root, yaml.CollectionNode):
        return
    # A frame: [node, children, next child, values so far, deepest child so far]
    stack: list[list] = [[root, kids(root), 0, 1, 0]]
    open_.add(id(root))
    while stack:
        frame = stack[-1]
        children = frame[1]
        i = frame[2]
        if i < len(children):
            frame[2] = i + 1
            child = children[i]
            key = id(child)
            # An alias has no place of its own in the composed graph: its problems are reported at the line of the
            # list or mapping that holds it.
            if not isinstance(child, yaml.CollectionNode):  # a scalar: the bulk of a document, kept cheap
                if key in scalars:
                    aliases += 1
                    if aliases > MAX_YAML_ALIASES:
                        refuse(frame[0], f"more than {MAX_YAML_ALIASES:,} aliases (limit {MAX_YAML_ALIASES})")
                else:
                    scalars.add(key)
                frame[3] += 1
                frame[4] = frame[4] or 1
                continue
            if key in open_:
                refuse(frame[0], "a recursive alias: this value contains an alias to itself")
            if key in size:  # a collection met before: an alias to it
                aliases += 1
                if aliases > MAX_YAML_ALIASES:
                    refuse(frame[0], f"more than {MAX_YAML_ALIASES:,} aliases (limit {MAX_YAML_ALIASES})")
                if len(stack) + depth[key] > MAX_YAML_DEPTH:
                    refuse(frame[0], f"nests deeper than {MAX_YAML_DEPTH} levels, aliases expanded "
                                     f"(limit {MAX_YAML_DEPTH})")
                frame[3] += size[key]
                frame[4] = max(frame[4], depth[key])
                continue
            if len(stack) + 1 > MAX_YAML_DEPTH:
                refuse(child, f"nests deeper than {MAX_YAML_DEPTH} levels (limit {MAX_YAML_DEPTH})")
            stack.append([child, kids(child), 0, 1, 0])
            open_.add(key)
            continue
        stack.pop()
        node, total, deepest = frame[0], frame[3], frame[4]
        open_.discard(id(node))
        if total > MAX_YAML_NODES:
            refuse(node, f"expands to more than {MAX_YAML_NODES:,} values through its aliases "
                         f"(limit {MAX_YAML_NODES})" if aliases else
                         f"holds more than {MAX_YAML_NODES:,} values (limit {MAX_YAML_NODES})")
        size[id(node)] = total
        depth[id(node)] = deepest + 1
        if stack:
            stack[-1][3] += total
            stack[-1][4] = max(stack[-1][4], deepest + 1)


_SCALAR_TAGS = tuple(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp"))


def _compose_with(loader_class: type, text: str, filename: str, tags: TagReader | None,
                  string_keys: bool) -> tuple[Any, dict[tuple, int]]:
    loader = loader_class(text)
    marks: dict[tuple, int] = {}

    def inside(n: yaml.Node, path: tuple) -> None:
        """The lines within a tagged node (built whole by the dialect's constructor)."""
        marks.setdefault(path, n.start_mark.line + 1)
        if tags is not None and n.tag.startswith("!"):
            path += (tags.key(n.tag),)
            marks.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                inside(item, path + (i,))
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    marks.setdefault(path + (k.value,), k.start_mark.line + 1)
                    inside(v, path + (k.value,))
    try:
        node = loader.get_single_node()
        if node is not None:
            measure_yaml(node, filename)

        # The plain scalar types, constructed directly: construct_object's bookkeeping costs more than the value.
        direct = {tag: loader.yaml_constructors[tag] for tag in _SCALAR_TAGS if tag in loader.yaml_constructors}

        def scalar(n: yaml.Node) -> Any:
            try:
                make = direct.get(n.tag)
                return make(loader, n) if make is not None else loader.construct_object(n, deep=True)
            except ValueError as exc:  # a number of 5,000 digits, a date on the 45th of a month
                why = (f"a number of more than {sys.get_int_max_str_digits():,} digits" if "digits" in str(exc)
                       else str(exc)[:80])
                raise ScenarioError([Problem(filename, n.start_mark.line + 1, "",
                                             f"invalid YAML: a value YAML cannot read ({why})")]) from None

        def build(n: yaml.Node, path: tuple) -> Any:
            marks.setdefault(path, n.start_mark.line + 1)
            if tags is not None and n.tag.startswith("!"):
                value = loader.construct_object(n, deep=True)
                inside(n, path)
                return dict(value)
            if isinstance(n, yaml.MappingNode):
                loader.flatten_mapping(n)  # merge keys (<<: *anchor)
                out: dict[Any, Any] = {}
                for key_node, value_node in n.value:
                    if not isinstance(key_node, yaml.ScalarNode):  # never built: it may be an alias to anything
                        what = "a mapping" if isinstance(key_node, yaml.MappingNode) else "a list"
                        raise ScenarioError([Problem(filename, key_node.start_mark.line + 1, dotted_path(path),
                                                     f"a key must be a plain value (got {what})")])
                    key = scalar(key_node)
                    if not isinstance(key, str | int | float | bool) or key is None:
                        raise ScenarioError([Problem(filename, key_node.start_mark.line + 1, dotted_path(path),
                                                     f"a key must be a plain value (got {show_value(key)})")])
                    if string_keys and not isinstance(key, str):
                        key = str(key)
                    if key in out:
                        raise ScenarioError([Problem(filename, key_node.start_mark.line + 1, dotted_path(path + (key,)),
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
            return scalar(n)

        data = build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = exc.problem or exc.context or "invalid YAML"
        # An unclosed bracket or quote is noticed lines later: name the line where that construct began too.
        if exc.context and exc.context_mark is not None and line is not None and exc.context_mark.line + 1 != line:
            reason = f"{exc.context} on line {exc.context_mark.line + 1}, {reason}"
        raise ScenarioError([Problem(filename, line, "", f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(filename, None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return data, marks


def yaml_value(text: str) -> Any:
    """One value written in YAML (``--set``, ``--vary``), within the limits of a scenario file; raises
    :class:`ScenarioError` (a problem without file or line) for invalid YAML or a value beyond the limits."""
    try:
        return compose_yaml(text, "")[0]
    except ScenarioError as exc:
        raise ScenarioError([p._replace(file=None, line=None) for p in exc.problems]) from None


def dotted_path(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
