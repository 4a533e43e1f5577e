"""The package's errors: one base for every problem with what a user gave vpcsim, and the checks of the public
functions' arguments.

Every error about user input derives from :class:`VpcsimError`, so a caller (the CLI, a notebook, a CI script)
catches one type and shows its one-line message. A Python caller who passes the wrong kind of argument gets an
:class:`ArgumentError` naming the function, the parameter and what to pass instead, never an ``AttributeError`` from
deep inside the engine.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

__all__ = ["VpcsimError", "ArgumentError", "shown", "require_int", "require_bool", "require_mapping"]


class VpcsimError(Exception):
    """A problem with what the user gave vpcsim (a file, an option, an argument): its message is one clear line."""


class ArgumentError(VpcsimError, TypeError, ValueError):
    """A public function was called with an argument of the wrong kind or out of range."""


def shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def require_int(value: Any, function: str, parameter: str, *, minimum: int = 0, maximum: int | None = None,
                allow_none: bool = False) -> Any:
    """``value`` as an ``int`` from ``minimum`` to ``maximum`` (a bool is not a number; None only when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            value = int(value)
        else:
            raise ArgumentError(f"{function}(): {parameter} must be a whole number >= {minimum}"
                                f"{' or None' if allow_none else ''}, got {shown(value)}")
    if value < minimum:
        raise ArgumentError(f"{function}(): {parameter} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ArgumentError(f"{function}(): {parameter} must be at most {maximum:,}, got {value:,}")
    return int(value)


def require_number(value: Any, function: str, parameter: str) -> float:
    """``value`` as a finite ``float`` (a bool or a text is not a number)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ArgumentError(f"{function}(): {parameter} must be a finite number, got {shown(value)}")
    return float(value)


def require_bool(value: Any, function: str, parameter: str) -> bool:
    if not isinstance(value, bool):
        raise ArgumentError(f"{function}(): {parameter} must be True or False, got {shown(value)}")
    return value


def require_path(value: Any, function: str, parameter: str) -> Any:
    """``value`` as a path (text, ``pathlib.Path`` or any ``os.PathLike``)."""
    if isinstance(value, bool) or not (isinstance(value, str) and value or hasattr(value, "__fspath__")):
        raise ArgumentError(f"{function}(): {parameter} must be a path (text or pathlib.Path), got {shown(value)}")
    return value


def require_mapping(value: Any, function: str, parameter: str, example: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise ArgumentError(f"{function}(): {parameter} must be a mapping such as {example}, got {shown(value)}")
    for key in value:
        if not isinstance(key, str):
            raise ArgumentError(f"{function}(): the keys of {parameter} are dotted paths (text) such as {example}, "
                                f"got {shown(key)}")
    return value
