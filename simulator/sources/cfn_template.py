"""A CloudFormation template read with the line of every key (DOMAIN §10): YAML with the short-form tags (``!Ref``,
``!GetAtt``, ``!Sub``...) read by cfn-flip's constructor, or JSON, within the bounds of a scenario file (no alias
bomb, no nesting past 64 levels)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..scenario.problems import ScenarioError
from ..scenario.yaml_marks import TagReader, compose_yaml
from .common import SourceError, parse_source_json, read_source_text, require

__all__ = ["Template", "read_template", "section", "SHORT_FORMS"]


@dataclass
class Template:
    data: dict[str, Any]
    marks: dict[tuple, int]
    label: str  # the file as the user named it
    stack: str  # the stack's name (CDK: the file name; else the file's stem)


def section(node: Any, key: str) -> dict[str, Any]:
    """``node[key]`` when it is a mapping, else an empty one (a template's optional sections and properties)."""
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, dict) else {}


def _short_form_loader(base: type) -> type:
    """``base`` (PyYAML's loader) with cfn-flip's constructor for the short-form tags: ``!Ref X`` becomes
    ``{"Ref": "X"}``, ``!GetAtt A.B`` ``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub s`` ``{"Fn::Sub": "s"}``.

    cfn-flip's public ``load_yaml`` gives the data but not the lines, and parses in pure Python; so its tag
    constructor (``cfn_tools.yaml_loader.multi_constructor``, with ``FN_PREFIX`` and ``UNCONVERTED_SUFFIXES``) is
    registered on our own loader, which composes nodes and keeps their marks. Checked on cfn-flip 1.3.0 (pinned
    ``<2``); a test compares the result with ``cfn_tools.load_yaml`` on every template the tests use."""
    loader_mod = require("cfn_tools.yaml_loader", "reading CloudFormation YAML (short-form tags such as !Ref)",
                         "cloudformation", "cfn-flip")
    cls: Any = type("CfnLoader", (base,), {})  # a yaml Loader class, made at run time
    cls.add_multi_constructor("!", loader_mod.multi_constructor)
    return cls


def _tag_key(tag: str) -> str:
    """The key cfn-flip gives a short-form tag (``!Ref`` -> ``Ref``, ``!Sub`` -> ``Fn::Sub``)."""
    from cfn_tools.yaml_loader import FN_PREFIX, UNCONVERTED_SUFFIXES

    suffix = tag[1:]
    return suffix if suffix in UNCONVERTED_SUFFIXES else FN_PREFIX + suffix


SHORT_FORMS = TagReader(_short_form_loader, _tag_key)
"""CloudFormation's short-form tags, for :func:`~simulator.scenario.yaml_marks.compose_yaml`. Inside a tag the
path of a line goes through the function's key (``...SubnetIds[0].Fn::GetAtt``)."""


def _compose(text: str, label: str, tags: bool = True) -> tuple[Any, dict[tuple, int]]:
    """Plain data plus the line (1-based) of every key and list item, keyed by path. Keys are text (``80:`` is
    ``"80"``). JSON has no tags (``tags=False``): it needs no extra."""
    try:
        return compose_yaml(text, label, tags=SHORT_FORMS if tags else None, string_keys=True)
    except SourceError:
        raise
    except ScenarioError as exc:
        p = exc.problems[0]
        raise SourceError(p.message, label, p.line, p.path) from None


def read_template(path: Path, label: str, stack: str | None = None) -> Template:
    """A template from a YAML or JSON file. JSON is read by ``json`` (the data), and its lines by the YAML parser
    (JSON is YAML), which numbers every key without changing a value."""
    text = read_source_text(path, label, "a CloudFormation template")
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        data = parse_source_json(text, label)
        try:
            _, marks = _compose(text, label, tags=False)
        except SourceError:
            marks = {}  # valid JSON that YAML 1.1 cannot read (rare escapes): no line numbers, same data
    else:
        data, marks = _compose(text, label)
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise SourceError("not a CloudFormation template: it has no Resources section", label,
                          1 if marks else None)
    return Template(data, marks, label, stack or path.name.split(".")[0])
