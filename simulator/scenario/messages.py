"""Pydantic's validation errors in the file's own words: the location mapped back onto the keys the user wrote
(through discriminated unions, coerced values and single items written without their list), with did-you-mean
hints, as one :class:`~simulator.scenario.problems.Problem` per error."""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .problems import Problem, show_value
from .yaml_marks import dotted_path

__all__ = ["problems_from", "line_of"]


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


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tag(model: type[BaseModel]) -> tuple[str, str] | None:
    """(field, value) of the Literal tag of a union member (``dist: lognormal``, ``model: burst``), if any."""
    for name, f in model.model_fields.items():
        if typing.get_origin(f.annotation) is Literal and isinstance(f.default, str):
            return f.alias or name, f.default
    return None


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


class _Place(typing.NamedTuple):
    """Where a pydantic error location lands in the file."""

    path: tuple  # the keys and indexes that exist in the data (plus a final absent key: "missing", "unknown")
    models: list  # the model classes that describe the data at that place (for "allowed keys" hints)
    node: Any  # the data at that place
    below: bool  # the location went on below a plain value (e.g. a bare "120ms" that became a constant)


def _locate(loc: tuple, raw: Any, root: type[BaseModel]) -> _Place:
    """Follow pydantic's error location through the types and the file's data together.

    The location holds things that are no place in the file: the tag of a discriminated union (``lognormal`` in
    ``duration.lognormal.p99``), the inside of a value the loader coerced (``constant.value`` below ``"120ms"``),
    an item index below a single mapping written without its list (``arrivals``). Walking the types beside the
    data tells them apart, even where a tag and a key share a name (``scaling: {model: burst, burst: 5}``).
    """
    current: list[Any] = [root]
    node = raw
    path: list = []
    below = False
    for i, el in enumerate(loc):
        models = [t for t in current if _is_model(t)]
        if isinstance(el, str) and len(models) > 1:
            tagged = [m for m in models if (_tag(m) or ("", ""))[1] == el]
            if tagged and (not isinstance(node, dict) or node.get(_tag(tagged[0])[0]) == el):  # type: ignore[index]
                current = tagged  # a union tag: narrows the type, stays at the same place in the data
                continue
        nxt: list[Any] = []
        for tp in current:
            if _is_model(tp):
                for name, f in tp.model_fields.items():
                    if el in (name, f.alias):
                        nxt += _unwrap(f.annotation)
                continue
            origin, args = typing.get_origin(tp), typing.get_args(tp)
            if origin in (tuple, list) and isinstance(el, int) and args:
                if len(args) == 2 and args[1] is Ellipsis or origin is list:
                    nxt += _unwrap(args[0])
                elif el < len(args):
                    nxt += _unwrap(args[el])
            elif origin is dict and args:
                nxt += _unwrap(args[0] if el == "[key]" else args[1])
        current = nxt
        if below:
            continue
        if isinstance(node, dict) and el in node:
            path.append(el)
            node = node[el]
        elif isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node):
            path.append(el)
            node = node[el]
        elif isinstance(node, dict) and isinstance(el, int):
            pass  # one item written without its list (`arrivals: {process: ...}`): the mapping is the item
        elif isinstance(node, dict) and isinstance(el, str) and i == len(loc) - 1:
            path.append(el)  # a key that is absent from the data: "required, but missing"
            node = None
        else:
            below = True  # pydantic's internals below a plain value: the place is that value
    return _Place(tuple(path), [t for t in current if _is_model(t)], node, below)


def _got(value: Any) -> str:
    if value is None:
        return " (got nothing: the key has no value)"
    if isinstance(value, dict):
        return " (got a mapping)" if value else " (got an empty mapping)"
    if isinstance(value, list | tuple):
        return " (got a list)" if value else " (got an empty list)"
    return f" (got {show_value(value)})"


def _message(err: ErrorDetails, raw: Any, place: _Place, root: type[BaseModel]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    # Quote what the user wrote ("-5s"), not what the loader made of it (-5.0), when the error is inside it.
    value = place.node if place.below and not isinstance(place.node, dict | list) else err.get("input")
    got = _got(value)
    if kind == "extra_forbidden":
        allowed: list[str] = []
        for m in _locate(tuple(err["loc"][:-1]), raw, root).models:
            allowed += [a for a in _aliases(m) if a not in allowed]
        key = err["loc"][-1]
        if isinstance(key, bool):  # YAML 1.1 reads on/off/yes/no as booleans, even as keys
            return f"unknown key {key!r} (YAML reads on/off/yes/no as true/false: quote a key you meant as text)"
        key = str(key)
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
        if "(got" in msg or "got " in msg or "not a " in msg or isinstance(value, dict | list | tuple) and value:
            return msg  # the message quotes the value already, or the value is a whole section
        return msg + got
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}{got}"
    if kind == "union_tag_invalid":
        return f"must be one of {ctx.get('expected_tags')}{_got(ctx.get('tag'))}"
    if kind == "union_tag_not_found":
        tags = [t[1] for m in place.models if (t := _tag(m))]
        return "required, but missing" + (f" (one of {', '.join(tags)})" if tags else "")
    if kind == "finite_number":
        return f"must be a finite number{got}"
    what = "a whole number" if kind == "int_type" else "a number"
    if kind in ("int_type", "float_type") and isinstance(value, str) and _reads_as_text(value):
        # YAML 1.1 reads 1e3 as text (its floats need a dot and a signed exponent: 1.0e+3): there are no quotes
        # to remove, so say what to write.
        number = float(value)
        if not math.isfinite(number):
            return f"must be a finite number{got}"
        if number == int(number):
            instead = f"write {int(number)}"
        elif kind == "int_type":
            return f"must be a whole number{got}"
        else:
            instead = f"write {_yaml11_float(number)}"
        return f"must be {what}: YAML reads {value.strip()} as text, not a number; {instead}{got}"
    if kind in ("int_type", "float_type") and isinstance(value, str) and _numeric_text(value):
        return f"must be {what}, not text: write it without quotes{got}"
    if kind == "float_type" and isinstance(value, int) and not isinstance(value, bool):
        return f"must be a finite number{got}"  # an int too large for a float
    if kind in ("int_type", "float_type") and isinstance(value, bool):
        return f"must be {what}, not true/false{got}"
    if kind.startswith("int_") or kind.startswith("float_") or kind.startswith("bool_"):
        what = {"int": "a whole number", "float": "a number", "bool": "true or false"}[kind.split("_")[0]]
        return f"must be {what}{got}"
    if kind in ("string_type", "string_pattern_mismatch"):
        if kind == "string_pattern_mismatch":
            return f"must be letters, digits, '-' or '_' (starting with a letter or digit){got}"
        return f"must be text{got}"
    if kind == "string_too_short":
        return f"must not be empty{got}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters (got {len(value):,})" if isinstance(
            value, str) else f"must be at most {ctx.get('max_length')} characters"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys to values{got}"
    if kind in ("tuple_type", "list_type"):
        return f"must be a list{got}"
    msg = str(err["msg"]).replace("Input should be", "should be")
    return msg + got


_YAML11_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")  # numbers YAML 1.1 reads as text


def _reads_as_text(text: str) -> bool:
    """A number in exponent form that YAML 1.1 reads as text when written without quotes (1e3, 1.5e3); one it
    reads as a number (1.0e+3) was quoted, and the advice is to drop the quotes."""
    import yaml

    return bool(_YAML11_EXPONENT.fullmatch(text.strip())) and isinstance(yaml.safe_load(text.strip()), str)


def _yaml11_float(number: float) -> str:
    """``number`` as YAML 1.1 reads a float: 0.0015, or 1.5e-07 written 1.5e-07 (a dot and a signed exponent)."""
    text = repr(number)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent if exponent[0] in '+-' else '+' + exponent}"


def _numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_key(message: str, node: Any) -> str | None:
    """A model-level message that starts with one of the mapping's keys ("high must be >= low", "schedule times
    must increase") is about that key: the error then points at its line, not at the mapping's first line."""
    if not isinstance(node, dict) or not message:
        return None
    word = message.split()[0].strip("`'\":,")
    return word if word in node else None


def line_of(marks: dict, path: tuple) -> int | None:
    """The line of the deepest part of ``path`` that the file has. The document's own line (1) only stands for
    top-level keys: a section the file does not have is no place in it."""
    for k in range(len(path), 0, -1):
        if path[:k] in marks:
            return marks[path[:k]]
    return marks.get(()) if len(path) <= 1 else None


def problems_from(exc: ValidationError, raw: Any, source: str | None, marks: dict,
                  root: type[BaseModel]) -> list[Problem]:
    problems = []
    seen = set()
    for err in exc.errors():
        place = _locate(tuple(err["loc"]), raw, root)
        path = place.path
        message = _message(err, raw, place, root)
        if err["type"] in ("union_tag_invalid", "union_tag_not_found") and isinstance(place.node, dict):
            path += (str(err.get("ctx", {}).get("discriminator", "")).strip("'"),)
        elif err["type"] == "value_error" and not place.below and (key := _first_key(message, place.node)):
            path += (key,)
        p = Problem(source, line_of(marks, path), dotted_path(path), message)
        if (p.line, p.path, p.message) not in seen:
            seen.add((p.line, p.path, p.message))
            problems.append(p)
    return problems
