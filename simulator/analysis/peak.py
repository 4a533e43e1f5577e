"""The projected peak of a function: a stated quantile of the number of executions in service at its busiest moment.

``capacity``'s ``projected_peak`` is Little's law, ``ceil(peak rate × mean duration)``: the *mean* number in service
at the busiest moment, not its peak. A run's peak lies well above it for two reasons, and this module adds both:

- **Randomness.** With Poisson arrivals the number in service of an M/G/∞ system is Poisson distributed with that
  mean, whatever the distribution of durations; the peak figure is its ``quantile`` (default p99.9).
- **Cold starts hold longer.** An invocation that finds no idle environment holds its execution for init (and, on the
  legacy platform, the wait for a new ENI) before it runs. When the load rises faster than environments pile up
  (the start of a run, a spike), all those arrivals are cold: for a jump of Δλ the mean in service gains Δλ × C,
  C = mean init + mean ENI wait. Environments outlive their execution by ``keep_alive``, so a load that returns to a
  level it reached within the last keep-alive finds its environments waiting and starts warm.

The mean in service is therefore ``m(t) = λ(t)·S + C·max(0, λ(t) − Λ(t − S − C))``, with S the mean duration and
``Λ(τ)`` the highest arrival rate within the keep-alive before τ (the environments still alive; provisioned
concurrency counts as always alive), on a grid of the horizon. The peak figure is the ``quantile`` of
``Poisson(max m)``. Arrivals that are not Poisson (``constant``, traces spread ``even``) vary less, so the figure is
conservative for them. Tested against simulated peaks over seeds (tests/test_answers_peak.py).
"""

from __future__ import annotations

import math

import numpy as np

from ..scenario.arrivals import rate_at
from ..scenario.models import Function, Scenario

__all__ = ["PEAK_QUANTILE", "poisson_quantile", "cold_holding_s", "mean_in_service", "peak_in_service"]

PEAK_QUANTILE = 0.999
_GRID = 20001  # points over the horizon (as arrivals.peak_rate)


def poisson_quantile(q: float, mean: float) -> int:
    """The smallest k with P(X <= k) >= q for X ~ Poisson(mean) (exact, in log space; no scipy at import).

    Above the median the upper tail is summed from far above downwards: a quantile such as 1 - 1e-7 is decided by a
    tail of 1e-7, which a sum of the whole distribution could not resolve."""
    if not 0 < q < 1:
        raise ValueError(f"a quantile is between 0 and 1 (got {q})")
    if mean <= 0:
        return 0
    sd = math.sqrt(mean)
    log_mean = math.log(mean)
    if q <= 0.5:
        k = max(0, math.floor(mean - 12 * sd - 1))  # the mass below is negligible
        log_p = -mean + k * log_mean - math.lgamma(k + 1)
        cdf = 0.0
        while True:
            cdf += math.exp(log_p)
            if cdf >= q:
                return k
            k += 1
            log_p += log_mean - math.log(k)
    # P(X > k) summed down from a k far in the tail, until it reaches 1 - q: the answer is that k.
    k = math.ceil(mean + 40 * sd + 50)
    log_p = -mean + k * log_mean - math.lgamma(k + 1)
    tail = 0.0  # P(X > k)
    while k > 0:
        tail_below = tail + math.exp(log_p)  # P(X > k - 1)
        if tail_below > 1 - q:
            return k
        tail = tail_below
        log_p += math.log(k) - log_mean
        k -= 1
    return 0


def cold_holding_s(scenario: Scenario, fn: Function) -> float:
    """The mean extra time a cold start holds its execution: init, plus the wait for a new ENI on the legacy
    platform (SPEC §3.5; the hyperplane platform has no per-environment wait)."""
    extra = fn.init.mean
    if fn.in_vpc and scenario.platform == "legacy":
        extra += scenario.vpc.eni_attach.mean
    return extra


def _trailing_max(x: np.ndarray, width: int) -> np.ndarray:
    """``out[i] = max(x[max(0, i - width + 1) : i + 1])`` in O(n log width), without scipy."""
    if width >= len(x):  # every window reaches back to the start (a keep-alive longer than the horizon)
        return np.maximum.accumulate(x)
    out = x.copy()
    span = 1
    while span < width:
        step = min(span, width - span)  # windows of span + step
        shifted = np.concatenate([np.full(step, -np.inf), out[:-step]]) if step < len(out) else np.full_like(out, -np.inf)
        out = np.maximum(out, shifted)
        span += step
    return out


_HOLD_DRAWS = 4096  # draws of the holding times (fixed seed: the figure is the same every time)
_STORM_STEPS = 400  # steps of the local grid on which a cold-start storm is solved (at least; see _in_service)
_STORM_MAX_STEPS = 3000


def _holding_draws(scenario: Scenario, fn: Function) -> tuple[np.ndarray, np.ndarray]:
    """Sorted draws of a warm execution's holding time (its duration, capped at the timeout) and of a cold one's
    (init, the ENI wait on the legacy platform, and the duration)."""
    assert fn.duration is not None, "called by _in_service only for a function with a duration"
    rng = np.random.default_rng(0)
    run = np.minimum(fn.duration.sample(rng, _HOLD_DRAWS), fn.timeout)
    cold = run + fn.init.sample(rng, _HOLD_DRAWS)
    if fn.in_vpc and scenario.platform == "legacy":
        cold = cold + scenario.vpc.eni_attach.sample(rng, _HOLD_DRAWS)
    return np.sort(run), np.sort(cold)


def _storm(lam: np.ndarray, h: float, rate0: float, capacity0: float, warm_draws: np.ndarray,
           cold_draws: np.ndarray) -> float:
    """The highest mean number in service during the cold-start storm on a local grid of step ``h`` (arrival rates
    ``lam``), when the environments alive can serve ``capacity0`` per second warm and ``rate0`` per second were
    arriving before.

    A fluid: an arrival takes an idle environment (one freed by an ending execution, or one kept alive) and starts
    warm, or, when there is none, starts cold and holds its new environment for init (+ ENI wait) + duration. When
    the mean duration S is shorter than a step, an idle environment serves h/S warm arrivals in the step and is
    idle again at its end. Solved until no cold arrival is left in service."""
    n = len(lam)
    x = h * np.arange(n + 1)

    def survival(draws: np.ndarray) -> np.ndarray:
        return 1.0 - np.searchsorted(draws, x, side="right") / len(draws)  # P(hold > x)

    duration_s = max(float(warm_draws.mean()), 1e-9)  # a function that returns at once (0 ms) still takes a slot
    fast = duration_s < h
    reuse = h / duration_s if fast else 1.0
    s_warm, s_cold = survival(warm_draws), survival(cold_draws)
    f_warm, f_cold = s_warm[:-1] - s_warm[1:], s_cold[:-1] - s_cold[1:]  # ends in step k after the start
    idle = max(0.0, (capacity0 - rate0) * duration_s)  # environments alive but idle at the start
    warm = np.zeros(n)  # warm arrivals per step (slow case: they hold their environment as the draws say)
    cold = np.zeros(n)
    busy_fast = rate0 * duration_s  # fast case: environments busy with warm work, freed at the end of each step
    # Still running from before the storm at step k (slow case): rate0 * h * (the warm survival summed from k on).
    tail = np.concatenate([np.cumsum(s_warm[::-1])[::-1], [0.0]]).tolist()
    # The step's scalars as Python floats (the same doubles; numpy scalars cost more per operation). The sums over
    # earlier steps stay np.dot calls on the same slices, so every figure is the same to the last bit.
    arrivals = (lam * h).tolist()
    warm_left = s_warm.tolist()
    dot = np.dot
    best = rate0 * duration_s
    for k in range(n):
        if fast:
            idle += busy_fast
            ended = float(dot(cold[:k], f_cold[k - 1::-1])) if k else 0.0
        else:
            ended = rate0 * h * warm_left[k] + (float(dot(warm[:k], f_warm[k - 1::-1])) + float(
                dot(cold[:k], f_cold[k - 1::-1])) if k else 0.0)
        idle += ended
        arriving = arrivals[k]
        served = min(arriving, idle * reuse)
        cold_k = arriving - served
        cold[k] = cold_k
        if fast:
            busy_fast = served / reuse
            idle -= busy_fast
            running = served * duration_s / h
        else:
            warm[k] = served
            idle -= served
            running = rate0 * tail[k] * h + float(dot(warm[:k + 1], s_warm[k::-1]))
        initialising = float(dot(cold[:k + 1], s_cold[k::-1]))
        best = max(best, running + initialising)
        if k > 0 and cold_k == 0.0 and initialising < 0.5:
            break
    return best


def _in_service(scenario: Scenario, fn: Function, multiplier: float) -> tuple[np.ndarray, np.ndarray]:
    """(grid times, mean number in service at each) for ``fn`` with its load scaled by ``multiplier``: λ(t)·S
    where environments are warm, the solution of the cold-start storm where the rate rises above what the
    environments alive (those of the last keep-alive) can serve."""
    horizon = scenario.duration
    t = np.linspace(0.0, horizon, _GRID)
    if fn.duration is None:  # nothing arrives (an import without a load)
        return t, np.zeros_like(t)
    duration_s = max(fn.duration.mean, 1e-6)
    dt = t[1] - t[0]
    rate = rate_at(fn.arrivals, t, horizon) * multiplier
    m = rate * duration_s
    if not np.any(rate > 0):
        return t, m
    # The rate the environments alive at t can serve: the highest rate of the keep-alive before (its environments
    # are idle, not gone), none before the run but the provisioned ones.
    alive = _trailing_max(rate, max(1, round(fn.keep_alive.mean / dt) + 1))
    alive = np.concatenate([[0.0], alive[:-1]])
    floor = fn.provisioned_concurrency / duration_s
    alive = np.maximum(alive, floor)
    rising = rate > alive * (1 + 1e-9) + 1e-12
    starts = np.flatnonzero(rising & ~np.concatenate([[False], rising[:-1]]))
    if not len(starts):
        return t, m
    warm_draws, cold_draws = _holding_draws(scenario, fn)
    window = 10 * float(cold_draws.mean())

    # A storm's mean in service is at most its highest rate times the mean holding time plus the warm ones: solve
    # the storms that could top the warm peak (or an earlier storm), largest first.
    bounds = []
    for i in starts:
        top = float(rate[(t >= t[i]) & (t <= t[i] + window)].max())
        bounds.append((top * (duration_s + float(cold_draws.mean()) * 3), i))
    best = float(m.max())
    for bound, i in sorted(bounds, reverse=True):
        if bound <= best:
            break
        t0 = max(0.0, t[i] - dt) if i else 0.0
        # Steps of a quarter of the mean duration at most: a warm environment's throughput (1/S) must not be
        # blurred by the grid; the storm is over long before ten holding times anyway.
        h = max(window / _STORM_MAX_STEPS, min(window / _STORM_STEPS, duration_s / 4))
        u = np.minimum(t0 + h * np.arange(min(_STORM_MAX_STEPS, math.ceil(window / h))), horizon)
        rate0 = float(rate[i - 1]) if i else 0.0
        value = _storm(rate_at(fn.arrivals, u, horizon) * multiplier, h, rate0, float(alive[i]), warm_draws,
                       cold_draws)
        if value > m[i]:
            m[i] = value
            best = max(best, value)
    return t, m


def mean_in_service(scenario: Scenario, fn: Function, multiplier: float = 1.0) -> tuple[float, float]:
    """(mean number in service at the busiest moment, its time) for ``fn`` with its load scaled by ``multiplier``."""
    t, m = _in_service(scenario, fn, multiplier)
    i = int(np.argmax(m))
    return float(m[i]), float(t[i])


def peak_in_service(scenario: Scenario, fn: Function, multiplier: float = 1.0,
                    quantile: float = PEAK_QUANTILE) -> int:
    """The number of ``fn``'s executions in service (initialising or running) that a run passes with probability
    ``1 - quantile``: the ``quantile`` of the run's peak.

    The number in service at one moment is Poisson with mean m(t) (M/G/∞); over a stretch where m stays near its
    highest (within one standard deviation), the count is looked at afresh about once per mean duration, so the peak
    of n such looks is below k with probability F(k)^n, and the figure is the k with F(k)^n >= ``quantile``."""
    t, m = _in_service(scenario, fn, multiplier)
    top = float(m.max())
    if top <= 0:
        return 0
    # Something is in service, so the function has a duration (_in_service gives zeros without one; and a function
    # with arrivals has one, checked at load).
    assert fn.duration is not None, "a function with arrivals has a duration: checked at load"
    near = m >= top - math.sqrt(top)
    stretch_s = float(np.count_nonzero(near)) * (t[1] - t[0])
    looks = max(1.0, stretch_s / max(fn.duration.mean, 1e-3))
    return poisson_quantile(quantile ** (1.0 / looks), top)
