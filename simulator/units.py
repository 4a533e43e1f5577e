"""Value forms of SPEC §1: durations ("250ms", "1h30m"), rates ("6000/min") and their human formatting.

Everything inside the simulator is a float: seconds for time, events per second for rates. These parsers are the
only place where the written forms are understood; they raise ``ValueError`` with a message that quotes the bad
input, which the scenario loader turns into a ``FILE:LINE: path: message`` line.

Every duration and rate of a scenario has a finite range (``MAX_HORIZON_S``, ``MAX_DISTRIBUTION_S``,
``MAX_RATE_PER_S``), so that nothing computed from them downstream (counts, arrays of minutes, closed forms) can
overflow: a value outside its range is an error that names it, never a wrapped number or a traceback later.

Plain Python (no pydantic: the commands that start fast import this module): the pydantic field types built on these
parsers are in :mod:`simulator.scenario.fields`.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

__all__ = [
    "parse_duration", "parse_rate", "parse_bytes", "format_duration", "format_rate", "format_bytes",
    "duration_json_schema", "rate_json_schema", "bytes_json_schema", "MAX_HORIZON_S", "MAX_DISTRIBUTION_S", "MAX_RATE_PER_S",
]

MAX_HORIZON_S = 366 * 86400.0
"""The longest time a scenario may state (a run's duration, an event's time, a schedule point, a trace's span):
a year, leap or not."""
MAX_DISTRIBUTION_S = 86400.0
"""The largest parameter of a distribution of durations (execution, init, keep-alive, ENI attach): a day. Lambda's
executions end at 15 minutes and its inits at 10 s; a day leaves room for any what-if."""
MAX_RATE_PER_S = 1_000_000.0
"""The largest arrival rate a scenario may state, per process: a million invocations per second."""

_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PART = re.compile(rf"({_NUMBER})\s*(us|ms|s|m|h|d)")
_DURATION = re.compile(rf"^\s*(?:{_NUMBER}\s*(?:us|ms|s|m|h|d)\s*)+$")
_PLAIN = re.compile(rf"^\s*[+-]?{_NUMBER}\s*$")

_RATE_UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0,
    "m": 60.0, "min": 60.0, "minute": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0,
    "d": 86400.0, "day": 86400.0,
}
_RATE = re.compile(rf"^\s*([+-]?)({_NUMBER})\s*/\s*([a-z]+)\s*$")

# Sizes in bytes (egress per invocation): decimal units as AWS's pricing pages write them, binary ones for those who
# measure in KiB. Both spellings are exact: "1.5MB" is 1,500,000 bytes, "1MiB" is 1,048,576.
_BYTE_UNITS = {"b": 1.0, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
               "kib": 2.0**10, "mib": 2.0**20, "gib": 2.0**30, "tib": 2.0**40}
_BYTES = re.compile(rf"^\s*([+-]?)({_NUMBER})\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)\s*$")

DURATION_HINT = "a number of seconds or a string like '250ms', '30s', '10m', '2h', '1h30m'"
RATE_HINT = "a number per second or a string like '100/s', '6000/min', '2/h'"


def _finite(x: float, what: str, raw: object) -> float:
    if not math.isfinite(x):
        raise ValueError(f"not a finite {what}: {_quote(raw)}")
    return x


def _quote(raw: object) -> str:
    """A written value for a message; a whole number too long to show is described by its length."""
    if isinstance(raw, numbers.Integral) and not isinstance(raw, bool) and abs(int(raw)) >= 10**21:
        return f"a whole number of {len(str(abs(int(raw))))} digits"
    text = repr(raw)
    return text if len(text) <= 160 else text[:157] + "..."


def _float(value: numbers.Real, what: str) -> float:
    """``float(value)``, refusing what does not fit a float (a whole number of 400 digits) with a ValueError."""
    try:
        return _finite(float(value), what, value)
    except OverflowError:
        raise ValueError(f"not a finite {what}: {_quote(value)}") from None


def parse_duration(value: object) -> float:
    """Seconds from a number (seconds) or a string of number+unit parts: ``"1h30m"`` → 5400.0.

    Units: ``us``, ``ms``, ``s``, ``m`` (minutes), ``h``, ``d``. A bare numeric string counts as seconds.
    """
    if type(value) is float and math.isfinite(value):  # the common case, before the slower checks below
        return value
    if isinstance(value, bool):  # YAML `yes`/`no` would otherwise become 1/0 seconds
        raise ValueError(f"not a duration: {value!r} (use {DURATION_HINT})")
    # Text first: the abstract-class check of numbers.Real is slow for it, and a file is mostly text.
    if not isinstance(value, str) and isinstance(value, numbers.Real):  # numpy scalars: sweeps use np.linspace
        return _float(value, "duration")
    if isinstance(value, str):
        text = value.strip().lower()
        if _PLAIN.match(text):
            return _finite(float(text), "duration", value)
        if text.startswith("-") and _DURATION.match(text[1:]):  # parsed, so that the range check can say "< 0"
            return -parse_duration(text[1:])
        if _DURATION.match(text):
            total = 0.0
            for number, unit in _PART.findall(text):
                total += float(number) * _DURATION_UNITS[unit]
            return _finite(total, "duration", value)
    raise ValueError(f"not a duration: {_quote(value)} (use {DURATION_HINT})")


def parse_rate(value: object) -> float:
    """Events per second from a number (per second) or ``"N/unit"``: ``"6000/min"`` → 100.0."""
    if type(value) is float and math.isfinite(value):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a rate: {value!r} (use {RATE_HINT})")
    if not isinstance(value, str) and isinstance(value, numbers.Real):
        return _float(value, "rate")
    if isinstance(value, str):
        text = value.strip().lower()
        if _PLAIN.match(text):
            return _finite(float(text), "rate", value)
        m = _RATE.match(text)
        if m and m.group(3) in _RATE_UNITS:
            # A sign is parsed (not rejected as garbage) so that the range check can say "must be >= 0".
            sign = -1.0 if m.group(1) == "-" else 1.0
            return _finite(sign * float(m.group(2)) / _RATE_UNITS[m.group(3)], "rate", value)
    raise ValueError(f"not a rate: {_quote(value)} (use {RATE_HINT})")


BYTES_HINT = "a number of bytes or a string like '512KB', '1.5MB', '2GiB'"


def parse_bytes(value: object) -> float:
    """Bytes from a number or a string ``"N unit"``: ``"1.5MB"`` → 1500000.0, ``"1KiB"`` → 1024.0. Units: ``B``,
    ``KB``, ``MB``, ``GB``, ``TB`` (powers of 1000) and ``KiB``, ``MiB``, ``GiB``, ``TiB`` (powers of 1024), in any
    case. A duration or a rate is refused, so that ``"20ms"`` in a size is an error, not 0.02 bytes."""
    if isinstance(value, bool):
        raise ValueError(f"not a size in bytes: {value!r} (use {BYTES_HINT})")
    if isinstance(value, numbers.Real):
        return _finite(float(value), "size", value)
    if isinstance(value, str):
        text = value.strip().lower()
        if _PLAIN.match(text):
            return _finite(float(text), "size", value)
        m = _BYTES.match(text)
        if m:
            sign = -1.0 if m.group(1) == "-" else 1.0
            return _finite(sign * float(m.group(2)) * _BYTE_UNITS[m.group(3)], "size", value)
    raise ValueError(f"not a size in bytes: {value!r} (use {BYTES_HINT})")


def format_bytes(n: float) -> str:
    """A size for people, in decimal units: 512 → "512 B", 1500000 → "1.5 MB"."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.3g} B"


def format_duration(seconds: float) -> str:
    """A short human form: 0.25 → "250ms", 5400 → "1h30m", 42.5 → "42.5s". Round-trips through parse_duration
    to within 0.1% (sub-second values keep 4 significant digits)."""
    if seconds == 0:
        return "0s"
    if not math.isfinite(seconds):  # a rate of 0 never gets there: say so rather than crash a report
        return "nan" if math.isnan(seconds) else "forever" if seconds > 0 else "-forever"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s >= 1e10:  # beyond three centuries (an out-of-range value in a message): days would run to 300 digits
        return f"{sign}{s:.4g}s"
    if s < 1e-3:
        return f"{sign}{s * 1e6:.4g}us"
    if s < 1:
        return f"{sign}{s * 1e3:.4g}ms"
    if s < 60:
        return f"{sign}{s:.4g}s"
    whole = round(s)
    if abs(s - whole) > 1e-9 * s:  # not a whole number of seconds: stay exact-ish in seconds
        return f"{sign}{s:.6g}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, whole = divmod(whole, size)
        parts.append((n, unit))
    used = [i for i, (n, _) in enumerate(parts) if n]
    # Zeros between the first and last unit stay: 9h0m30s, not 9h30s (which reads as nine and a half hours).
    return sign + "".join(f"{n}{unit}" for n, unit in parts[used[0]:used[-1] + 1])


def format_rate(per_second: float) -> str:
    """A human rate: 100 → "100/s", 0.5 → "30/min", 1/3600 → "1/h"."""
    if per_second == 0 or per_second >= 1:
        return f"{per_second:.4g}/s"
    if per_second * 60 >= 1:
        return f"{per_second * 60:.4g}/min"
    return f"{per_second * 3600:.4g}/h"


def _any_case(word: str) -> str:
    """A JSON-Schema (ECMA-262) pattern matching ``word`` in any case: the parsers lower-case their input."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


_JS_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_JS_DURATION_UNIT = "(?:" + "|".join(_any_case(u) for u in ("us", "ms", "s", "m", "h", "d")) + ")"
_JS_RATE_UNIT = "(?:" + "|".join(_any_case(u) for u in sorted(_RATE_UNITS, key=len, reverse=True)) + ")"
# Strings of non-negative values only: a negative string parses but is then out of range.
DURATION_PATTERN = rf"^\s*(?:\+?{_JS_NUMBER}\s*|(?:{_JS_NUMBER}\s*{_JS_DURATION_UNIT}\s*)+)$"
RATE_PATTERN = rf"^\s*\+?{_JS_NUMBER}\s*(?:/\s*{_JS_RATE_UNIT}\s*)?$"
_JS_BYTE_UNIT = "(?:" + "|".join(_any_case(u) for u in sorted(_BYTE_UNITS, key=len, reverse=True)) + ")"
BYTES_PATTERN = rf"^\s*\+?{_JS_NUMBER}\s*{_JS_BYTE_UNIT}?\s*$"


def duration_json_schema(*, positive: bool = False, minimum: float = 0.0,
                         maximum: float = MAX_HORIZON_S) -> dict[str, Any]:
    """The JSON Schema of a duration field: a number of seconds or a string such as "250ms" or "1h30m". A string's
    value is not range-checked by the schema (the description says the range); the loader checks it."""
    if minimum > 0:
        number: dict[str, Any] = {"type": "number", "minimum": minimum, "maximum": maximum}
        low = f">= {format_duration(minimum)}"
    else:
        number = {"type": "number", ("exclusiveMinimum" if positive else "minimum"): 0, "maximum": maximum}
        low = "> 0" if positive else ">= 0"
    return {"anyOf": [number, {"type": "string", "pattern": DURATION_PATTERN}],
            "description": f"seconds, {low} and at most {format_duration(maximum)}: {DURATION_HINT}"}


def rate_json_schema() -> dict[str, Any]:
    """The JSON Schema of a rate field: a number per second or a string such as "6000/min"."""
    return {"anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_RATE_PER_S},
                      {"type": "string", "pattern": RATE_PATTERN}],
            "description": f"per second, >= 0 and at most {MAX_RATE_PER_S:,.0f}: {RATE_HINT}"}


def bytes_json_schema(maximum: float) -> dict[str, Any]:
    """The JSON Schema of a size in bytes up to ``maximum``: a number or a string such as "512KB" or "1.5MB"."""
    return {"anyOf": [{"type": "number", "minimum": 0, "maximum": maximum},
                      {"type": "string", "pattern": BYTES_PATTERN}],
            "description": f"bytes, >= 0: {BYTES_HINT}"}
