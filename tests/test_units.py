"""The value forms of SPEC §1: durations and rates, their formatting, and the JSON-Schema patterns that mirror them.

Property tests (hypothesis): formatting round-trips through parsing; composite durations add up; any character
outside the written forms' alphabet is rejected with a message that quotes the input; the schema's patterns accept
exactly what the parsers accept.
"""

from __future__ import annotations

import math
import re
import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.units import (
    DURATION_PATTERN,
    RATE_PATTERN,
    format_duration,
    format_rate,
    parse_duration,
    parse_rate,
)

FAST = settings(max_examples=300, deadline=None)

# --------------------------------------------------------------------------------------------------- durations


@pytest.mark.parametrize(("text", "seconds"), [
    ("250ms", 0.25), ("30s", 30.0), ("10m", 600.0), ("2h", 7200.0), ("1h30m", 5400.0), ("1d", 86400.0),
    ("1.5h", 5400.0), ("1h 30m", 5400.0), (" 45 s ", 45.0), ("10MS", 0.01), ("1H30M", 5400.0), ("500us", 5e-4),
    ("1e3ms", 1.0), (".5s", 0.5), ("2m30s500ms", 150.5), ("30", 30.0), ("2.5", 2.5), (0, 0.0), (7, 7.0),
    (0.125, 0.125), (np.int64(5), 5.0), (np.float32(0.5), 0.5),
])
def test_duration_written_forms(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize("garbage", [
    "10 minutes", "10min", "5 sec", "1m30", "abc", "", "   ", "ms", "1h-30m", "1.5.5s", "1,5s", "5x", "h1", "inf",
    "nan", "--5s", "1 h 3", "5s5", "10/s",
])
def test_duration_garbage_is_rejected_with_the_input_quoted(garbage):
    with pytest.raises(ValueError) as info:
        parse_duration(garbage)
    assert repr(garbage) in str(info.value)
    assert "250ms" in str(info.value)  # the hint names the accepted forms


@pytest.mark.parametrize("value", [True, False, np.bool_(True), None, [1], {"s": 1}, float("nan"), float("inf"),
                                   -float("inf")])
def test_duration_rejects_non_durations(value):
    with pytest.raises(ValueError, match="not a (finite )?duration"):
        parse_duration(value)


def test_negative_duration_strings_parse_so_the_range_check_can_name_them():
    # The field types then say "must be >= 0 (got '-5s')" instead of calling a sign garbage.
    assert parse_duration("-5s") == -5.0
    assert parse_duration("-1h30m") == -5400.0


@FAST
@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False), st.sampled_from([1, -1]))
def test_format_duration_round_trips_within_a_thousandth(seconds, sign):
    text = format_duration(sign * seconds)
    assert parse_duration(text) == pytest.approx(sign * seconds, rel=1e-3)


@FAST
@given(st.integers(min_value=0, max_value=10**8))
def test_whole_seconds_round_trip_exactly(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (0.25, "250ms"), (5400, "1h30m"), (42.5, "42.5s"), (86400 + 61, "1d0h1m1s"), (9 * 3600 + 30, "9h0m30s"), (5e-4, "500us"),
    (-90, "-1m30s"), (math.inf, "forever"),
])
def test_format_duration_is_short_and_human(seconds, text):
    assert format_duration(seconds) == text


@FAST
@given(st.integers(0, 30), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999),
       st.booleans(), st.booleans())
def test_composite_durations_add_up(d, h, m, s, ms, spaced, upper):
    parts = [(d, "d"), (h, "h"), (m, "m"), (s, "s"), (ms, "ms")]
    written = [f"{n}{u}" for n, u in parts if n] or ["0s"]
    text = (" " if spaced else "").join(written)
    text = text.upper() if upper else text
    assert parse_duration(text) == pytest.approx(d * 86400 + h * 3600 + m * 60 + s + ms / 1000, abs=1e-9)


# Characters that can appear in a written duration: anything else makes the text garbage.
_DURATION_ALPHABET = set(string.digits + ".eE+- usmhdUSMHD")


@FAST
@given(st.text(min_size=1, max_size=12))
def test_any_character_outside_the_duration_alphabet_is_rejected(text):
    # Whitespace (any kind, "\r" included) may surround the number and the unit.
    if {c for c in text if not c.isspace()} <= _DURATION_ALPHABET:
        return
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert repr(text) in str(info.value)


@FAST
@given(st.text(alphabet="0123456789. +usmhdUSMHDx/", max_size=10))
def test_schema_pattern_accepts_exactly_the_non_negative_durations_the_parser_accepts(text):
    try:
        ok = parse_duration(text) >= 0
    except ValueError:
        ok = False
    assert bool(re.match(DURATION_PATTERN, text)) == ok, text


# --------------------------------------------------------------------------------------------------- rates


@pytest.mark.parametrize(("text", "per_s"), [
    ("100/s", 100.0), ("6000/min", 100.0), ("2/h", 2 / 3600), ("1/d", 1 / 86400), ("30 / minute", 0.5),
    ("7200/hour", 2.0), ("5/sec", 5.0), ("5/second", 5.0), ("60/m", 1.0), ("3/hr", 3 / 3600), ("1/day", 1 / 86400),
    ("100/S", 100.0), ("40", 40.0), (40, 40.0), (0.5, 0.5), (np.int64(3), 3.0), ("1e3/min", 1000 / 60),
])
def test_rate_written_forms(text, per_s):
    assert parse_rate(text) == pytest.approx(per_s, rel=1e-12)


@pytest.mark.parametrize("garbage", [
    "10 per second", "100/minutes", "5/ms", "/s", "abc", "", "100//s", "1/2/s", "10s", "5/", "inf/s", "1e999/s",
])
def test_rate_garbage_is_rejected_with_the_input_quoted(garbage):
    with pytest.raises(ValueError) as info:
        parse_rate(garbage)
    assert repr(garbage) in str(info.value)


@pytest.mark.parametrize("value", [True, False, None, [1, 2], float("nan"), float("inf")])
def test_rate_rejects_non_rates(value):
    with pytest.raises(ValueError, match="not a (finite )?rate"):
        parse_rate(value)


def test_negative_rates_parse_in_every_form_so_the_range_check_names_them():
    # A sign in "-5/s" used to be garbage ("not a rate") while "-5" got "must be >= 0": now both reach the check.
    assert parse_rate("-5/s") == -5.0
    assert parse_rate("-300/min") == -5.0
    assert parse_rate(-5) == -5.0


@FAST
@given(st.floats(min_value=1e-6, max_value=1e7, allow_nan=False))
def test_format_rate_round_trips_within_a_thousandth(per_s):
    assert parse_rate(format_rate(per_s)) == pytest.approx(per_s, rel=1e-3)


@pytest.mark.parametrize(("per_s", "text"), [(100, "100/s"), (0.5, "30/min"), (1 / 3600, "1/h"), (0, "0/s")])
def test_format_rate_picks_a_readable_unit(per_s, text):
    assert format_rate(per_s) == text


@FAST
@given(st.sampled_from(["", "+", "-"]), st.from_regex(r"[0-9]{1,4}(\.[0-9]{0,2})?", fullmatch=True),
       st.sampled_from(["", " "]),
       st.sampled_from(["", "/s", "/sec", "/second", "/m", "/min", "/minute", "/h", "/hr", "/hour", "/d", "/day",
                        "/MIN", "/ms", "/minutes", "/", "/x", " per s"]))
def test_schema_pattern_accepts_exactly_the_non_negative_rates_the_parser_accepts(sign, number, space, unit):
    text = f"{sign}{number}{space}{unit}"
    try:
        ok = parse_rate(text) >= 0 and sign != "-"
    except ValueError:
        ok = False
    assert bool(re.match(RATE_PATTERN, text)) == ok, text
