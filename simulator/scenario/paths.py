"""The dotted paths of ``--set`` and ``Scenario.with_changes``: functions and subnets by name
(``functions.checkout.memory_mb``, ``vpc.subnets.private-a.cidr``), lists by index, applied to a scenario's data."""

from __future__ import annotations

import copy
import difflib
from typing import Any

from .problems import Problem, ScenarioError

__all__ = ["set_path", "copy_plain", "is_inside"]


def copy_plain(data: Any) -> Any:
    """A deep copy of data as YAML gives it (dicts, lists, scalars), several times faster than ``copy.deepcopy``;
    anything else (a caller's own objects) is copied by ``copy.deepcopy``."""
    kind = type(data)
    if kind is dict:
        return {k: copy_plain(v) for k, v in data.items()}
    if kind is list:
        return [copy_plain(v) for v in data]
    if kind in (str, int, float, bool) or data is None:
        return data
    return copy.deepcopy(data)


def is_inside(path: str, prefix: str) -> bool:
    """Whether dotted ``path`` is ``prefix`` or lies below it (``functions[0].duration.p99`` in ``functions[0]``)."""
    return path == prefix or path.startswith(prefix) and path[len(prefix)] in ".["


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
                if parts[i + 1].lstrip("-").isdigit() or part in _ITEM_NAMES:
                    # A list cannot be created by naming one of its items: there is nothing to change.
                    what = _ITEM_NAMES.get(part, "item")
                    raise ScenarioError([Problem(None, None, path, f"the scenario has no {part} (no {what} "
                                                                   f"{parts[i + 1]!r} to change)")])
                node[part] = {}
            node, keys = node[part], keys + [part]
        elif isinstance(node, list):
            idx = _list_index(node, part, path, keys[-1] if keys else "")
            node, keys = node[idx], keys + [idx]
        else:
            raise ScenarioError([Problem(None, None, path, f"{'.'.join(parts[:i])} is not a section")])
        i += 1
    last = parts[-1]
    if isinstance(node, dict):
        node[last] = value
        return tuple(keys + [last])
    if isinstance(node, list):
        idx = _list_index(node, last, path, keys[-1] if keys else "")
        node[idx] = value
        return tuple(keys + [idx])
    raise ScenarioError([Problem(None, None, path, f"{'.'.join(parts[:-1])} is not a section")])


_ITEM_NAMES = {"functions": "function", "subnets": "subnet", "events": "event", "arrivals": "arrival process"}


def _list_index(items: list, part: str, path: str, within: Any = "") -> int:
    """The index of the item named ``part`` (a function's ``name``, a subnet's ``id``) or numbered ``part``."""
    for idx, item in enumerate(items):
        if isinstance(item, dict) and part in (item.get("name"), item.get("id")):
            return idx
    if part.lstrip("-").isdigit() and -len(items) <= int(part) < len(items):
        return int(part) % len(items)
    names = [str(it.get("name", it.get("id"))) for it in items
             if isinstance(it, dict) and it.get("name", it.get("id")) is not None]
    what = _ITEM_NAMES.get(within, "item") if isinstance(within, str) else "item"
    hint = difflib.get_close_matches(part, names, n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else f" ({within}: {', '.join(names)})" if names else (
        f" (there are {len(items)}, numbered from 0)")
    raise ScenarioError([Problem(None, None, path, f"no {what} named {part!r}{extra}")])
