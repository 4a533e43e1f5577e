"""The pydantic field types of the scenario's durations and rates: the written forms of :mod:`simulator.units`
(``"250ms"``, ``"6000/min"``) parsed before validation, so the models hold plain floats (seconds, per second) that
dump back as numbers and load to equal values; each within its range, and shown in the JSON Schema as the written
forms a file may hold."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from ..units import (
    MAX_DISTRIBUTION_S,
    MAX_HORIZON_S,
    MAX_RATE_PER_S,
    duration_json_schema,
    format_duration,
    parse_duration,
    parse_rate,
    rate_json_schema,
)

__all__ = ["Duration", "PositiveDuration", "Rate", "DistDuration", "PositiveDistDuration", "duration_type",
           "duration_metadata"]


def _duration_range(low_s: float, high_s: float):
    def check(v: float) -> float:
        if low_s > 0 and not low_s <= v <= high_s:
            raise ValueError(f"must be between {format_duration(low_s)} and {format_duration(high_s)} "
                             f"(got {format_duration(v)})")
        if v > high_s:
            raise ValueError(f"must be at most {format_duration(high_s)} (got {format_duration(v)})")
        return v

    return AfterValidator(check)


def _at_most_rate(v: float) -> float:
    if v > MAX_RATE_PER_S:
        raise ValueError(f"must be at most {MAX_RATE_PER_S:,.0f}/s (got {v:,.6g}/s)")
    return v


def duration_metadata(*, positive: bool = False, minimum: float = 0.0,
                      maximum: float = MAX_HORIZON_S) -> tuple[Any, ...]:
    """The pydantic metadata of a duration in seconds (a number or a written form), > 0 (``positive``) or >= 0, at
    least ``minimum`` and at most ``maximum``. A field type is ``Annotated[float, *duration_metadata(...)]``,
    written at module level: pydantic validates with the metadata, type checkers read a float."""
    return (BeforeValidator(parse_duration), Field(gt=0) if positive else Field(ge=0),
            _duration_range(minimum, maximum),
            WithJsonSchema(duration_json_schema(positive=positive, minimum=minimum, maximum=maximum)))


def duration_type(*, positive: bool = False, minimum: float = 0.0, maximum: float = MAX_HORIZON_S) -> Any:
    """A pydantic field type built at run time: a duration in seconds, as :func:`duration_metadata` describes.
    Type checkers cannot read a call as a type: in annotations, prefer ``Annotated[float, *duration_metadata()]``."""
    return Annotated[float, *duration_metadata(positive=positive, minimum=minimum, maximum=maximum)]


Duration = Annotated[float, *duration_metadata()]
"""A duration in seconds, 0 .. 366 days, written as a number or a string like "250ms"."""
PositiveDuration = Annotated[float, *duration_metadata(positive=True)]
"""A duration in seconds, > 0 and at most 366 days."""
DistDuration = Annotated[float, *duration_metadata(maximum=MAX_DISTRIBUTION_S)]
"""A parameter of a distribution of durations: 0 .. 1 day."""
PositiveDistDuration = Annotated[float, *duration_metadata(positive=True, maximum=MAX_DISTRIBUTION_S)]
"""A parameter of a distribution of durations: > 0 and at most 1 day."""
Rate = Annotated[float, BeforeValidator(parse_rate), Field(ge=0), AfterValidator(_at_most_rate),
                 WithJsonSchema(rate_json_schema())]
"""A rate per second, 0 .. 1,000,000, written as a number or a string like "6000/min"."""
