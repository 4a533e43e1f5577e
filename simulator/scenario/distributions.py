"""Distributions of durations (SPEC §1): the written forms, an analytic mean, and vectorised samplers.

Each form is a frozen pydantic model tagged by ``dist``. A bare duration (``"120ms"``, ``0.5``) means a constant.
``mean`` is analytic (the capacity calculator uses it without sampling); ``sample(rng, n)`` draws ``n`` values from
a ``numpy.random.Generator`` the caller owns, so every random stream stays under the scenario's seed.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..units import MAX_DISTRIBUTION_S, duration_json_schema, parse_duration
from .fields import DistDuration, PositiveDistDuration

__all__ = [
    "Constant", "Exponential", "Uniform", "Lognormal", "Gamma", "Normal", "Empirical",
    "Distribution", "DistributionSpec", "DIST_NAMES", "FrozenDict",
]


class FrozenDict(dict):
    """A dict that refuses changes, for mappings inside frozen models (pydantic freezes attributes, not the
    containers they hold). It still is a dict: it compares, serialises and pickles like one."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a scenario is immutable: make a changed copy with Scenario.with_changes()")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse  # type: ignore[assignment]

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict) -> FrozenDict:
        return self

    def __reduce__(self) -> tuple:
        # The default reduction of a dict subclass refills it item by item, which _refuse would stop.
        return (FrozenDict, (dict(self),))

# z such that Phi(z) = 0.99: turns a (median, p99) pair into a lognormal sigma.
_Z99 = 2.3263478740408408

# Ranges (besides every duration parameter's 0 .. 1 day): a coefficient of variation of 0.001..100 (below, the
# gamma's shape 1/cv^2 passes 10^6; above, nearly every draw is 0), and a lognormal p99 at most 10,000 times its
# median (sigma <= 3.96: the mean stays within 2,600 times the median, so no closed form overflows).
MIN_CV, MAX_CV = 0.001, 100.0
MAX_P99_OVER_MEDIAN = 10_000.0
CV = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=MIN_CV, le=MAX_CV)]
"""A coefficient of variation (standard deviation / mean): a number, not text nor true/false."""


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def mean(self) -> float:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> str:
        """A short human form for tables: ``lognormal(median 120ms, p99 900ms)``."""
        from ..units import format_duration

        fields = {k: v for k, v in self.model_dump(by_alias=True, exclude_none=True).items() if k != "dist"}
        inner = ", ".join(
            f"{k} {format_duration(v)}" if isinstance(v, float) and k != "cv" else f"{k} {v}"
            for k, v in fields.items()
        )
        return f"{self.dist}({inner})"  # type: ignore[attr-defined]


class Constant(_Dist):
    dist: Literal["constant"] = "constant"
    value: DistDuration

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    def describe(self) -> str:
        from ..units import format_duration

        return format_duration(self.value)


class Exponential(_Dist):
    dist: Literal["exponential"] = "exponential"
    mean_: PositiveDistDuration = Field(alias="mean")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_, n)


class Uniform(_Dist):
    dist: Literal["uniform"] = "uniform"
    low: DistDuration
    high: DistDuration

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high must be >= low (got low={self.low}, high={self.high})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Lognormal(_Dist):
    """Written as ``{median, p99}`` (how latencies are usually reported) or ``{mean, cv}``."""

    dist: Literal["lognormal"] = "lognormal"
    median: PositiveDistDuration | None = None
    p99: PositiveDistDuration | None = None
    mean_: PositiveDistDuration | None = Field(default=None, alias="mean")
    cv: CV | None = None
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_form(self) -> Lognormal:
        pair_a = self.median is not None or self.p99 is not None
        pair_b = self.mean_ is not None or self.cv is not None
        if pair_a and pair_b:
            raise ValueError("give either {median, p99} or {mean, cv}, not both")
        if pair_a and (self.median is None or self.p99 is None):
            raise ValueError("the {median, p99} form needs both median and p99")
        if pair_b and (self.mean_ is None or self.cv is None):
            raise ValueError("the {mean, cv} form needs both mean and cv")
        if not (pair_a or pair_b):
            raise ValueError("needs {median, p99} or {mean, cv}")
        if pair_a and self.p99 <= self.median:  # type: ignore[operator]
            raise ValueError(f"p99 must be above the median (got median={self.median}, p99={self.p99})")
        if pair_a and self.p99 > MAX_P99_OVER_MEDIAN * self.median:  # type: ignore[operator]
            raise ValueError(f"p99 must be at most {MAX_P99_OVER_MEDIAN:,.0f} times the median (got median="
                             f"{self.median:g}, p99={self.p99:g})")
        return self

    @property
    def mu_sigma(self) -> tuple[float, float]:
        if self.median is not None:
            mu = math.log(self.median)
            return mu, (math.log(self.p99) - mu) / _Z99  # type: ignore[arg-type]
        s2 = math.log1p(self.cv**2)  # type: ignore[operator]
        return math.log(self.mean_) - s2 / 2, math.sqrt(s2)  # type: ignore[arg-type]

    @property
    def mean(self) -> float:
        if self.mean_ is not None:
            return self.mean_
        mu, sigma = self.mu_sigma
        return math.exp(mu + sigma * sigma / 2)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        mu, sigma = self.mu_sigma
        return rng.lognormal(mu, sigma, n)


class Gamma(_Dist):
    dist: Literal["gamma"] = "gamma"
    mean_: PositiveDistDuration = Field(alias="mean")
    cv: CV
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_ / shape, n)


class Normal(_Dist):
    """A normal distribution truncated at 0 (durations are never negative); ``mean`` is the truncated mean."""

    dist: Literal["normal"] = "normal"
    mean_: DistDuration = Field(alias="mean")
    sd: PositiveDistDuration
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def mean(self) -> float:
        alpha = -self.mean_ / self.sd
        pdf = math.exp(-alpha * alpha / 2) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(alpha / math.sqrt(2))  # P(Z > alpha)
        return self.mean_ + self.sd * pdf / tail

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        out = rng.normal(self.mean_, self.sd, n)
        bad = out < 0
        # Rejection: with mean >= 0 at least half of the draws are kept, so this loop ends after a few rounds.
        while bad.any():
            out[bad] = rng.normal(self.mean_, self.sd, int(bad.sum()))
            bad = out < 0
        return out


def _percentile_key(v: Any) -> Any:
    """A key of ``percentiles``: a finite number (text keys are read as numbers: the resolved scenario writes them
    as text), never true/false; ``_valid`` checks the range 0..100."""
    if isinstance(v, bool):
        raise ValueError(f"a percentile is a number from 0 to 100 (got {v!r})")
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"a percentile is a number from 0 to 100 (got {str(v)[:40]!r})") from None
    if not math.isfinite(x):
        raise ValueError(f"a percentile is a number from 0 to 100 (got {str(v)[:40]!r})")
    return x


class Empirical(_Dist):
    """A piecewise-linear inverse CDF through given percentiles, the form the Azure 2019 trace publishes."""

    dist: Literal["empirical"] = "empirical"
    percentiles: Annotated[dict[Annotated[float, BeforeValidator(_percentile_key)], DistDuration],
                           AfterValidator(FrozenDict)]

    @model_validator(mode="after")
    def _valid(self) -> Empirical:
        keys = sorted(self.percentiles)
        if not keys or keys[0] != 0 or keys[-1] != 100:
            raise ValueError(f"percentiles need the keys 0 and 100 (got {keys})")
        if any(k < 0 or k > 100 for k in keys):
            raise ValueError(f"percentile keys must be within 0..100 (got {keys})")
        values = [self.percentiles[k] for k in keys]
        if any(b < a for a, b in zip(values, values[1:], strict=False)):
            raise ValueError(f"percentiles must not decrease from one key to the next (got {values})")
        return self

    @property
    def points(self) -> tuple[np.ndarray, np.ndarray]:
        keys = sorted(self.percentiles)
        return np.array(keys, dtype=float) / 100.0, np.array([self.percentiles[k] for k in keys], dtype=float)

    @property
    def mean(self) -> float:
        q, v = self.points
        return float(np.sum(np.diff(q) * (v[:-1] + v[1:]) / 2))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        q, v = self.points
        return np.interp(rng.random(n), q, v)


Distribution = Constant | Exponential | Uniform | Lognormal | Gamma | Normal | Empirical
DIST_NAMES = ("constant", "exponential", "uniform", "lognormal", "gamma", "normal", "empirical")


def _coerce(value: Any) -> Any:
    """A bare duration means a constant; a mapping must say which distribution it is."""
    if isinstance(value, _Dist):
        return value
    if isinstance(value, dict):
        if "dist" not in value:
            raise ValueError(f"a distribution needs `dist:` (one of {', '.join(DIST_NAMES)})")
        if value["dist"] not in DIST_NAMES:
            raise ValueError(f"unknown distribution {value['dist']!r} (use one of {', '.join(DIST_NAMES)})")
        return value
    return {"dist": "constant", "value": parse_duration(value)}


class _OrDuration:
    """JSON Schema of a distribution field: a bare duration (a constant) is allowed besides the tagged forms."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return {"anyOf": [duration_json_schema(maximum=MAX_DISTRIBUTION_S), handler(core_schema)]}


DistributionSpec = Annotated[Annotated[Distribution, Field(discriminator="dist")], BeforeValidator(_coerce),
                             _OrDuration]
"""A distribution field: a duration (constant) or a ``{dist: ...}`` mapping."""
