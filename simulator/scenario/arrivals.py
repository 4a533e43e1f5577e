"""Arrival processes of SPEC §2: their written forms, their rate profile, and vectorised generators of arrival times.

A process yields sorted arrival times in blocks (numpy arrays), so the engine draws randomness a few thousand values
at a time instead of once per invocation. Every process also knows its rate as a function of time (``rate_at``),
which the capacity calculator uses for the peak rate and the figures use for the offered load.

- ``poisson`` with ``rate``: homogeneous Poisson, exponential gaps.
- ``poisson`` with ``schedule``: non-homogeneous Poisson by inversion of the cumulative intensity, exact for the
  piecewise-linear (``interpolate: linear``) or piecewise-constant (``step``) rate.
- ``constant``: evenly spaced, deterministic.
- ``diurnal``: ``mean * (1 + amplitude * cos(2π (t - peak_at) / period))``, by thinning a Poisson process at the peak
  rate (Lewis & Shedler 1979).
- ``trace``: replay of a measured workload (see :mod:`simulator.scenario.traces`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .fields import Duration, Rate, duration_type

__all__ = [
    "PoissonProcess", "ConstantProcess", "DiurnalProcess", "TraceProcess", "ArrivalProcess", "ArrivalSpec",
    "PROCESS_NAMES", "peak_rate", "rate_at",
]

MAX_SCALE = 1000.0
"""The largest ``scale`` of a trace: a thousand times the measured load."""

BLOCK = 8192
"""Arrival times drawn per block: large enough to amortise numpy's call overhead, small enough to stay flat."""


class _Process(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def rate_at(self, t: np.ndarray, horizon: float) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def breakpoints(self, horizon: float) -> np.ndarray:
        """Times where the rate may have a corner or a jump (the peak of a piecewise rate sits on one)."""
        return np.array([0.0])

    def blocks(self, rng: np.random.Generator, horizon: float) -> Iterator[np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def expected_count(self, horizon: float) -> float:
        """Expected number of arrivals in [0, horizon): the integral of the rate."""
        grid = np.union1d(np.linspace(0.0, horizon, 4097), self.breakpoints(horizon))
        grid = grid[(grid >= 0) & (grid <= horizon)]
        return float(np.trapezoid(self.rate_at(grid, horizon), grid))


def _homogeneous(rng: np.random.Generator, rate: float, start: float, end: float, *,
                 only_user: bool = False) -> Iterator[np.ndarray]:
    """Poisson points of ``rate`` in [start, end), in blocks.

    ``only_user``: nothing else draws from ``rng``, so a block that is likely the last is drawn only as long as the
    rest of the interval needs (a rarely-called function among thousands draws dozens of gaps, not :data:`BLOCK`),
    and completed to a full block when it falls short. The times are those of full blocks either way: the leading
    draws of a block and their running sum do not depend on its length, and what lies past ``end`` is dropped."""
    if rate <= 0 or end <= start:
        return
    t = start
    scale = 1.0 / rate
    while True:
        size = BLOCK
        if only_user:
            expected = rate * (end - t)
            size = min(BLOCK, math.ceil(expected + 6 * math.sqrt(expected) + 16))
        gaps = rng.exponential(scale, size)
        times = t + np.cumsum(gaps)
        if size < BLOCK and times[-1] < end:  # short of the end: the rest of the block, as if drawn at once
            gaps = np.concatenate([gaps, rng.exponential(scale, BLOCK - size)])
            times = t + np.cumsum(gaps)
        t = float(times[-1])
        if t >= end:
            yield times[times < end]
            return
        yield times


class PoissonProcess(_Process):
    """Poisson arrivals at a fixed ``rate``, or following a ``schedule`` of ``[time, rate]`` points."""

    process: Literal["poisson"] = "poisson"
    rate: Rate | None = None
    schedule: tuple[tuple[Duration, Rate], ...] | None = None
    interpolate: Literal["linear", "step"] = "linear"

    @field_validator("schedule", mode="before")
    @classmethod
    def _pairs(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, list | tuple) or not v:
            raise ValueError(f"a schedule is a non-empty list of [time, rate] pairs (got {v!r})")
        for i, point in enumerate(v):
            if not isinstance(point, list | tuple) or len(point) != 2:
                raise ValueError(f"point {i} must be a [time, rate] pair (got {point!r})")
        return v

    @model_validator(mode="after")
    def _one_form(self) -> PoissonProcess:
        if (self.rate is None) == (self.schedule is None):
            raise ValueError("give either `rate` or `schedule`")
        if self.schedule is not None:
            times = [p[0] for p in self.schedule]
            for a, b in zip(times, times[1:], strict=False):
                if b <= a:
                    raise ValueError(f"schedule times must increase (got {a:g}s then {b:g}s)")
        return self

    # The schedule as arrays, extended to cover [0, horizon]: the rate is held before the first point and after
    # the last one.
    def _knots(self, horizon: float) -> tuple[np.ndarray, np.ndarray]:
        assert self.schedule is not None
        t = np.array([p[0] for p in self.schedule], dtype=float)
        r = np.array([p[1] for p in self.schedule], dtype=float)
        if t[0] > 0:
            t, r = np.insert(t, 0, 0.0), np.insert(r, 0, r[0])
        if t[-1] < horizon:
            t, r = np.append(t, horizon), np.append(r, r[-1])
        return t, r

    def rate_at(self, t: np.ndarray, horizon: float) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if self.rate is not None:
            return np.full(t.shape, self.rate)
        kt, kr = self._knots(horizon)
        if self.interpolate == "linear":
            return np.interp(t, kt, kr)
        idx = np.clip(np.searchsorted(kt, t, side="right") - 1, 0, len(kr) - 1)
        return kr[idx]

    def breakpoints(self, horizon: float) -> np.ndarray:
        if self.schedule is None:
            return np.array([0.0])
        kt, _ = self._knots(horizon)
        # A step rate jumps at each knot: look just before it too.
        return np.union1d(kt, np.maximum(kt - 1e-9, 0.0))

    def expected_count(self, horizon: float) -> float:
        if self.rate is not None:
            return self.rate * horizon
        cum, _, _, _ = self._cumulative(horizon)
        return float(cum[-1])

    def _cumulative(self, horizon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Cumulative intensity at each knot, with the knots, the rate at the start of each segment and its slope."""
        kt, kr = self._knots(horizon)
        kt_c = np.minimum(kt, horizon)
        dt = np.diff(kt_c)
        if self.interpolate == "linear":
            slope = np.divide(np.diff(kr), np.diff(kt), out=np.zeros(len(kt) - 1), where=np.diff(kt) > 0)
            area = kr[:-1] * dt + slope * dt * dt / 2
        else:
            slope = np.zeros(len(kt) - 1)
            area = kr[:-1] * dt
        cum = np.concatenate([[0.0], np.cumsum(area)])
        return cum, kt_c, kr[:-1], slope

    def blocks(self, rng: np.random.Generator, horizon: float) -> Iterator[np.ndarray]:
        if self.rate is not None:
            yield from _homogeneous(rng, self.rate, 0.0, horizon, only_user=True)
            return
        # Inversion: unit-rate Poisson points y_k mapped through the inverse cumulative intensity.
        cum, kt, r0, slope = self._cumulative(horizon)
        total = cum[-1]
        if total <= 0:
            return
        for y in _homogeneous(rng, 1.0, 0.0, total, only_user=True):
            seg = np.clip(np.searchsorted(cum, y, side="right") - 1, 0, len(r0) - 1)
            dy = y - cum[seg]
            a, b = slope[seg], r0[seg]
            # Solve a/2 x^2 + b x = dy for x >= 0 (linear when a == 0). The "stable" root form avoids cancellation.
            disc = np.sqrt(np.maximum(b * b + 2 * a * dy, 0.0))
            denom = b + disc
            x = np.divide(2 * dy, denom, out=np.zeros_like(dy), where=denom > 0)
            yield np.minimum(kt[seg] + x, np.nextafter(horizon, 0))


class ConstantProcess(_Process):
    """Evenly spaced arrivals ``start``, ``start + 1/rate``, ... before ``end`` (deterministic; the exact-trace
    tests use it)."""

    process: Literal["constant"] = "constant"
    rate: Rate
    start: Duration = 0.0
    end: Duration | None = None

    @model_validator(mode="after")
    def _window(self) -> ConstantProcess:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end must be after start (got start={self.start:g}s, end={self.end:g}s)")
        return self

    def _stop(self, horizon: float) -> float:
        return horizon if self.end is None else min(self.end, horizon)

    def rate_at(self, t: np.ndarray, horizon: float) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return np.where((t >= self.start) & (t < self._stop(np.inf)), self.rate, 0.0)

    def breakpoints(self, horizon: float) -> np.ndarray:
        return np.array([0.0, self.start] + ([self.end, max(self.end - 1e-9, 0.0)] if self.end is not None else []))

    def expected_count(self, horizon: float) -> float:
        stop = self._stop(horizon)
        if self.rate <= 0 or self.start >= stop:
            return 0.0
        return float(math.ceil((stop - self.start) * self.rate - 1e-9))

    def blocks(self, rng: np.random.Generator, horizon: float) -> Iterator[np.ndarray]:
        stop = self._stop(horizon)
        if self.rate <= 0:
            return
        k = 0
        while True:
            times = self.start + np.arange(k, k + BLOCK) / self.rate
            k += BLOCK
            if times[-1] >= stop:
                kept = times[times < stop]
                if len(kept):
                    yield kept
                return
            yield times


class DiurnalProcess(_Process):
    """A daily cycle: ``mean * (1 + amplitude * cos(2π (t - peak_at) / period))`` arrivals per second."""

    process: Literal["diurnal"] = "diurnal"
    mean: Rate
    amplitude: float = Field(default=0.5, ge=0, le=1, strict=True, allow_inf_nan=False)
    # At least a minute: the peaks of the cycle are points of the rate's profile, one per period of the horizon.
    period: duration_type(positive=True, minimum=60.0) = 86400.0  # type: ignore[valid-type]
    peak_at: Duration = 14 * 3600.0

    def rate_at(self, t: np.ndarray, horizon: float) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return self.mean * (1 + self.amplitude * np.cos(2 * np.pi * (t - self.peak_at) / self.period))

    def breakpoints(self, horizon: float) -> np.ndarray:
        # Peaks of the cosine inside [0, horizon].
        k0 = math.floor((0 - self.peak_at) / self.period)
        k1 = math.ceil((horizon - self.peak_at) / self.period)
        peaks = self.peak_at + self.period * np.arange(k0, k1 + 1)
        return np.concatenate([[0.0, horizon], peaks[(peaks >= 0) & (peaks <= horizon)]])

    def expected_count(self, horizon: float) -> float:
        # The integral in closed form (a fixed grid aliases a period much shorter than the horizon).
        w = 2 * math.pi / self.period
        swing = (math.sin(w * (horizon - self.peak_at)) - math.sin(-w * self.peak_at)) / w
        return float(self.mean * (horizon + self.amplitude * swing))

    def blocks(self, rng: np.random.Generator, horizon: float) -> Iterator[np.ndarray]:
        top = self.mean * (1 + self.amplitude)
        for cand in _homogeneous(rng, top, 0.0, horizon):
            keep = rng.random(len(cand)) * top < self.rate_at(cand, horizon)
            if keep.any():
                yield cand[keep]


class TraceProcess(_Process):
    """Replay of measured arrivals from a file (SPEC §2); reading and placement live in :mod:`simulator.scenario.traces`."""

    # Fields validate in this order: `file` is checked knowing its format, `function` knowing the file.
    process: Literal["trace"] = "trace"
    format: Literal["timestamps", "per_minute", "azure2019", "azure2021"] = "timestamps"
    file: str = Field(min_length=1, max_length=4096)  # PATH_MAX
    # Azure keys are APP/FUNCTION, two 64-character hashes.
    function: str | None = Field(default=None, validate_default=True, max_length=256)
    scale: float = Field(default=1.0, ge=0, le=MAX_SCALE, strict=True, allow_inf_nan=False)
    spread: Literal["poisson", "even"] | None = None  # None: poisson (per-minute formats only)

    # The function's calls, read when the scenario is validated and held by it from then on: a run (in a worker
    # process, on a Dask worker) replays them without the file, and a file changed after loading changes nothing.
    _loaded: Any = PrivateAttr(default=None)

    @field_validator("file")
    @classmethod
    def _resolve(cls, v: str, info: ValidationInfo) -> str:
        # Relative to the scenario file; stored absolute so that the resolved scenario reproduces the run anywhere
        # on this machine. The file is parsed now (once, cached) so that a bad trace is a validation error.
        from .traces import read_table

        base = (info.context or {}).get("base_dir")
        path = Path(v).expanduser()
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        if not path.exists():
            raise ValueError(f"trace file not found: {str(path)!r}")
        if "format" in info.data:
            read_table(path, info.data["format"])
        return str(path.resolve())

    @field_validator("function")
    @classmethod
    def _known(cls, v: str | None, info: ValidationInfo) -> str | None:
        from .traces import read_table

        if "file" in info.data and "format" in info.data:  # else their own error is reported
            read_table(info.data["file"], info.data["format"]).select(v)
        return v

    @field_validator("spread")
    @classmethod
    def _per_minute_only(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and info.data.get("format") in ("timestamps", "azure2021"):
            raise ValueError(f"applies to per-minute formats (per_minute, azure2019); a {info.data['format']} "
                             f"trace keeps its own times (got {v!r})")
        return v

    def __eq__(self, other: object) -> bool:
        # The same process is the same fields: the calls it holds are what those fields read (pydantic would compare
        # the private attribute too, and a scenario sent to a worker process would no longer equal itself).
        return type(other) is type(self) and self.__dict__ == other.__dict__

    @model_validator(mode="after")
    def _load(self) -> TraceProcess:
        self._loaded = self._read()
        return self

    def _read(self) -> Any:
        """The :class:`~simulator.scenario.traces.Trace` this process replays (the file is parsed once, cached)."""
        from .traces import read_table

        return read_table(self.file, self.format).trace(self.function, self.scale, self.spread)

    def _trace(self) -> Any:
        if self._loaded is None:  # a process built without validation (model_construct)
            self._loaded = self._read()
        return self._loaded

    def rate_at(self, t: np.ndarray, horizon: float) -> np.ndarray:
        return self._trace().rate_at(np.asarray(t, dtype=float))

    def breakpoints(self, horizon: float) -> np.ndarray:
        return self._trace().breakpoints(horizon)

    def expected_count(self, horizon: float) -> float:
        return self._trace().expected_count(horizon)

    def blocks(self, rng: np.random.Generator, horizon: float) -> Iterator[np.ndarray]:
        return self._trace().blocks(rng, horizon)


ArrivalProcess = PoissonProcess | ConstantProcess | DiurnalProcess | TraceProcess
PROCESS_NAMES = ("poisson", "constant", "diurnal", "trace")


def _coerce(value: Any) -> Any:
    if isinstance(value, dict):
        if "process" not in value:
            raise ValueError(f"an arrival process needs `process:` (one of {', '.join(PROCESS_NAMES)})")
        if value["process"] not in PROCESS_NAMES:
            raise ValueError(f"unknown process {value['process']!r} (use one of {', '.join(PROCESS_NAMES)})")
    return value


ArrivalSpec = Annotated[Annotated[ArrivalProcess, Field(discriminator="process")], BeforeValidator(_coerce)]


def rate_at(processes: tuple[_Process, ...], t: np.ndarray, horizon: float) -> np.ndarray:
    """The summed offered rate (per second) of several processes at times ``t``."""
    t = np.asarray(t, dtype=float)
    total = np.zeros(t.shape)
    for p in processes:
        total += p.rate_at(t, horizon)
    return total


def peak_rate(processes: tuple[_Process, ...], horizon: float) -> tuple[float, float]:
    """(peak rate per second, time of the peak) of the summed processes over [0, horizon].

    Evaluated on every process's breakpoints (where piecewise peaks sit) plus a fine grid (for smooth shapes).
    """
    if not processes:
        return 0.0, 0.0
    if horizon > 0 and all(isinstance(p, PoissonProcess) and p.rate is not None for p in processes):
        # Constant rates: the grid below would find their sum at its first point, t = 0 (added in the same order).
        total = 0.0
        for p in processes:
            total += p.rate  # type: ignore[attr-defined]
        return total, 0.0
    if horizon > 0 and len(processes) == 1 and isinstance(processes[0], TraceProcess):
        return processes[0]._trace().peak(horizon)  # the same point as the grid below finds, without the grid
    grid = [np.linspace(0.0, horizon, 20001)]
    grid += [p.breakpoints(horizon) for p in processes]
    t = np.unique(np.concatenate(grid))
    t = t[(t >= 0) & (t < horizon)] if horizon > 0 else np.array([0.0])
    if len(t) == 0:
        t = np.array([0.0])
    r = rate_at(processes, t, horizon)
    i = int(np.argmax(r))
    return float(r[i]), float(t[i])

