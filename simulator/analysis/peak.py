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
from collections.abc import Iterator

import numpy as np

from ..scenario.arrivals import rate_at
from ..scenario.models import Scenario
from ..scenario.sections import Function

__all__ = ["PEAK_QUANTILE", "poisson_quantile", "cold_holding_s", "mean_in_service", "peak_in_service",
           "peaks_in_service"]

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


class _Storm:
    """One cold-start storm to solve: the arrivals per step of its local grid (step ``h``), the rate arriving
    before (``rate0``), the rate the environments alive can serve warm (``capacity0``) and the sorted draws of the
    holding times; with what every step of the solution reads, computed once."""

    __slots__ = ("n", "h", "rate0", "duration_s", "fast", "reuse", "idle0", "arrivals", "s_warm", "s_cold", "f_warm",
                 "f_cold", "tail")

    def __init__(self, lam: np.ndarray, h: float, rate0: float, capacity0: float, warm_draws: np.ndarray,
                 cold_draws: np.ndarray) -> None:
        n = len(lam)
        x = h * np.arange(n + 1)

        def survival(draws: np.ndarray) -> np.ndarray:
            return 1.0 - np.searchsorted(draws, x, side="right") / len(draws)  # P(hold > x)

        self.n, self.h, self.rate0 = n, h, rate0
        self.duration_s = max(float(warm_draws.mean()), 1e-9)  # a function that returns at once still takes a slot
        self.fast = self.duration_s < h
        self.reuse = h / self.duration_s if self.fast else 1.0
        self.s_warm, self.s_cold = survival(warm_draws), survival(cold_draws)
        self.f_warm = self.s_warm[:-1] - self.s_warm[1:]  # ends in step k after the start
        self.f_cold = self.s_cold[:-1] - self.s_cold[1:]
        self.idle0 = max(0.0, (capacity0 - rate0) * self.duration_s)  # environments alive but idle at the start
        self.arrivals = lam * h
        # Still running from before the storm at step k (slow case): rate0 * h * (the warm survival summed from k on).
        self.tail = np.concatenate([np.cumsum(self.s_warm[::-1])[::-1], [0.0]])


# A storm is solved step by step: each step's idle environments depend on the executions that ended, which depend
# on every earlier step. Storms are independent of each other, so many are solved side by side, one step of all of
# them per numpy operation (capacity() of an account with thousands of functions); the last few, alone, go on in
# Python floats, where a numpy call per scalar would cost more. Both do the same operations in the same order, and a
# row's dot product over earlier steps is matmul's vector @ vector, which is np.dot's: the figures are the same to the
# bit whichever way a storm is solved (tests/test_answers_peak.py).
_SIDE_BY_SIDE = 4  # fewer storms than this left: one by one
_CHUNK_CELLS = 1 << 17  # storms x steps solved side by side at most (each of the chunk's 14 arrays 1 MB)


def _solve_one(st: _Storm, k0: int = 0, idle: float | None = None, busy_fast: float | None = None,
               best: float | None = None, warm: np.ndarray | None = None, cold: np.ndarray | None = None) -> float:
    """The highest mean number in service during storm ``st``, from step ``k0`` on (0: from its start; later: the
    state where solving it side by side with others stopped).

    A fluid: an arrival takes an idle environment (one freed by an ending execution, or one kept alive) and starts
    warm, or, when there is none, starts cold and holds its new environment for init (+ ENI wait) + duration. When
    the mean duration S is shorter than a step, an idle environment serves h/S warm arrivals in the step and is
    idle again at its end. Solved until no cold arrival is left in service."""
    n, h, rate0, duration_s, fast, reuse = st.n, st.h, st.rate0, st.duration_s, st.fast, st.reuse
    f_warm, f_cold, s_warm, s_cold = st.f_warm, st.f_cold, st.s_warm, st.s_cold
    if warm is None or cold is None:
        warm = np.zeros(n)  # warm arrivals per step (slow case: they hold their environment as the draws say)
        cold = np.zeros(n)
    idle = st.idle0 if idle is None else idle
    busy_fast = rate0 * duration_s if busy_fast is None else busy_fast  # fast case: busy with warm work this step
    best = rate0 * duration_s if best is None else best
    # The step's scalars as Python floats (the same doubles; numpy scalars cost more per operation).
    tail = st.tail.tolist()
    arrivals = st.arrivals.tolist()
    warm_left = s_warm.tolist()
    dot = np.dot
    for k in range(k0, n):
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


def _padded(rows: list[np.ndarray], width: int, reverse: bool = False) -> np.ndarray:
    """The rows in one ``len(rows) x width`` array, zeros after each row (``reverse``: each row reversed after
    padding, so that the first k values of a row, last first, are the contiguous columns ``width - k ..``)."""
    out = np.zeros((len(rows), width))
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out[:, ::-1].copy() if reverse else out


def _solve_side_by_side(storms: list[_Storm]) -> list[float]:
    """:func:`_solve_one` of every storm, one step of all of them per numpy operation (same figures, to the bit)."""
    rows = len(storms)
    n_max = max(st.n for st in storms)
    width = n_max + 2  # the longest row: tail (n + 2 values)
    ids = np.arange(rows)
    n = np.array([st.n for st in storms])
    h = np.array([st.h for st in storms])
    rate0 = np.array([st.rate0 for st in storms])
    duration_s = np.array([st.duration_s for st in storms])
    fast = np.array([st.fast for st in storms])
    reuse = np.array([st.reuse for st in storms])
    rate0_h = rate0 * h
    idle = np.array([st.idle0 for st in storms])
    busy_fast = rate0 * duration_s
    best = rate0 * duration_s
    arrivals = _padded([st.arrivals for st in storms], width)
    tail = _padded([st.tail for st in storms], width)
    s_warm = _padded([st.s_warm for st in storms], width)
    s_warm_rev = _padded([st.s_warm for st in storms], width, reverse=True)
    s_cold_rev = _padded([st.s_cold for st in storms], width, reverse=True)
    f_warm_rev = _padded([st.f_warm for st in storms], width, reverse=True)
    f_cold_rev = _padded([st.f_cold for st in storms], width, reverse=True)
    warm = np.zeros((rows, width))
    cold = np.zeros((rows, width))
    out = [0.0] * rows
    live = np.ones(rows, dtype=bool)
    matmul = np.matmul
    for k in range(n_max):
        if k:  # sum over earlier steps j of x_j * f_(k-1-j): each row's x[:k] @ (f[:k] last first)
            ended_cold = matmul(cold[:, None, :k], f_cold_rev[:, width - k:, None])[:, 0, 0]
            ended_slow = rate0_h * s_warm[:, k] + (
                matmul(warm[:, None, :k], f_warm_rev[:, width - k:, None])[:, 0, 0] + ended_cold)
        else:
            ended_cold = np.zeros(len(idle))
            ended_slow = rate0_h * s_warm[:, 0] + 0.0
        idle = np.where(fast, idle + busy_fast, idle)
        idle = idle + np.where(fast, ended_cold, ended_slow)
        arriving = arrivals[:, k]
        served = np.minimum(arriving, idle * reuse)
        cold_k = arriving - served
        cold[:, k] = cold_k
        warm[:, k] = np.where(fast, 0.0, served)
        busy_fast = np.where(fast, served / reuse, busy_fast)
        idle = np.where(fast, idle - busy_fast, idle - served)
        running_slow = rate0 * tail[:, k] * h + matmul(warm[:, None, :k + 1], s_warm_rev[:, width - k - 1:, None])[:, 0, 0]
        running = np.where(fast, served * duration_s / h, running_slow)
        initialising = matmul(cold[:, None, :k + 1], s_cold_rev[:, width - k - 1:, None])[:, 0, 0]
        best = np.maximum(best, running + initialising)
        done = live & ((n == k + 1) | ((k > 0) & (cold_k == 0.0) & (initialising < 0.5)))
        if done.any():
            for i in np.flatnonzero(done).tolist():
                out[int(ids[i])] = float(best[i])
            live &= ~done
            left = int(live.sum())
            if left == 0:
                break
            if left < _SIDE_BY_SIDE:  # the last few go on alone, from this step's state
                for i in np.flatnonzero(live).tolist():
                    st = storms[int(ids[i])]
                    out[int(ids[i])] = _solve_one(st, k + 1, float(idle[i]), float(busy_fast[i]), float(best[i]),
                                                  warm[i, :st.n].copy(), cold[i, :st.n].copy())
                break
            if left <= len(live) * 3 // 4:  # drop the finished rows
                keep = live
                ids, n, h, rate0, duration_s, fast, reuse, rate0_h, idle, busy_fast, best = (
                    a[keep] for a in (ids, n, h, rate0, duration_s, fast, reuse, rate0_h, idle, busy_fast, best))
                arrivals, tail, s_warm, s_warm_rev, s_cold_rev, f_warm_rev, f_cold_rev, warm, cold = (
                    a[keep] for a in (arrivals, tail, s_warm, s_warm_rev, s_cold_rev, f_warm_rev, f_cold_rev, warm,
                                      cold))
                live = live[keep]
    return out


def _solve(storms: list[_Storm]) -> list[float]:
    """The highest mean number in service of each storm: alone when few, else side by side in chunks of storms of
    about the same length."""
    out = [0.0] * len(storms)
    order = sorted(range(len(storms)), key=lambda i: storms[i].n)
    i = 0
    while i < len(order):
        # Sorted by length: a chunk's longest storm is its last, and sets the width of its arrays.
        chunk = order[i:i + max(1, _CHUNK_CELLS // (storms[order[i]].n + 2))]
        while len(chunk) > 1 and len(chunk) * (storms[chunk[-1]].n + 2) > _CHUNK_CELLS:
            chunk = chunk[:len(chunk) // 2]
        values = ([_solve_one(storms[j]) for j in chunk] if len(chunk) < _SIDE_BY_SIDE
                  else _solve_side_by_side([storms[j] for j in chunk]))
        for j, v in zip(chunk, values, strict=True):
            out[j] = v
        i += len(chunk)
    return out


class _Plan:
    """A function's mean in service on the grid of the horizon while its storms are solved: ``m`` (raised where a
    storm tops it), its storms largest bound first, and what solving one needs."""

    __slots__ = ("m", "best", "bounds", "next", "fn", "multiplier", "duration_s", "window", "warm_draws",
                 "cold_draws")
    # Set by _plan when the function has a storm to solve.
    duration_s: float
    window: float
    warm_draws: np.ndarray
    cold_draws: np.ndarray

    def __init__(self, m: np.ndarray, fn: Function, multiplier: float) -> None:
        self.m, self.fn, self.multiplier = m, fn, multiplier
        self.bounds: list[tuple[float, int, float, float]] = []  # (bound, grid index, rate before, rate alive)
        self.next = 0
        self.best = float(m.max())

    def pending(self) -> bool:
        """Whether the next storm could top the peak so far (bounds are largest first: once one cannot, none can)."""
        return self.next < len(self.bounds) and self.bounds[self.next][0] > self.best

    def storm(self, t: np.ndarray, horizon: float) -> _Storm:
        _, i, rate0, capacity0 = self.bounds[self.next]
        t0 = max(0.0, t[i] - (t[1] - t[0])) if i else 0.0
        # Steps of a quarter of the mean duration at most: a warm environment's throughput (1/S) must not be
        # blurred by the grid; the storm is over long before ten holding times anyway.
        window = self.window
        h = max(window / _STORM_MAX_STEPS, min(window / _STORM_STEPS, self.duration_s / 4))
        u = np.minimum(t0 + h * np.arange(min(_STORM_MAX_STEPS, math.ceil(window / h))), horizon)
        return _Storm(rate_at(self.fn.arrivals, u, horizon) * self.multiplier, h, rate0, capacity0, self.warm_draws,
                      self.cold_draws)

    def solved(self, value: float) -> None:
        i = self.bounds[self.next][1]
        if value > self.m[i]:
            self.m[i] = value
            self.best = max(self.best, value)
        self.next += 1


def _plan(scenario: Scenario, t: np.ndarray, fn: Function, multiplier: float) -> _Plan:
    """λ(t)·S on the grid ``t`` of the horizon, and the storms where the rate rises above what the environments
    alive (those of the last keep-alive) can serve."""
    horizon = scenario.duration
    if fn.duration is None:  # nothing arrives (an import without a load)
        return _Plan(np.zeros_like(t), fn, multiplier)
    duration_s = max(fn.duration.mean, 1e-6)
    dt = t[1] - t[0]
    rate = rate_at(fn.arrivals, t, horizon) * multiplier
    plan = _Plan(rate * duration_s, fn, multiplier)
    if not np.any(rate > 0):
        return plan
    # The rate the environments alive at t can serve: the highest rate of the keep-alive before (its environments
    # are idle, not gone), none before the run but the provisioned ones.
    alive = _trailing_max(rate, max(1, round(fn.keep_alive.mean / dt) + 1))
    alive = np.concatenate([[0.0], alive[:-1]])
    floor = fn.provisioned_concurrency / duration_s
    alive = np.maximum(alive, floor)
    rising = rate > alive * (1 + 1e-9) + 1e-12
    starts = np.flatnonzero(rising & ~np.concatenate([[False], rising[:-1]]))
    if not len(starts):
        return plan
    plan.warm_draws, plan.cold_draws = _holding_draws(scenario, fn)
    plan.window = window = 10 * float(plan.cold_draws.mean())
    plan.duration_s = duration_s
    # A storm's mean in service is at most its highest rate times the mean holding time plus the warm ones: solve
    # the storms that could top the warm peak (or an earlier storm), largest first.
    bounds = []
    ends = np.searchsorted(t, t[starts] + window, side="right").tolist()  # the grid is increasing: [i, end) is
    cold_mean = float(plan.cold_draws.mean())                              # t[i] <= t <= t[i] + window
    for i, end in zip(starts.tolist(), ends, strict=True):
        top = float(rate[i:end].max())
        bounds.append((top * (duration_s + cold_mean * 3), i, float(rate[i - 1]) if i else 0.0, float(alive[i])))
    plan.bounds = sorted(bounds, reverse=True)
    return plan


FUNCTIONS_TOGETHER = 64  # functions planned and solved together (each holds its grid of the horizon, 160 KB)


def _in_service_many(scenario: Scenario, functions: list[Function],
                     multipliers: list[float]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(grid times, mean number in service at each) of every function in turn, with its load scaled by its
    multiplier: λ(t)·S where environments are warm, the solution of the cold-start storm where the rate rises above
    what the environments alive can serve. Each function's storms are solved largest first, until none could top
    its peak so far; the storms of a group of functions in each such round are solved together."""
    horizon = scenario.duration
    t = np.linspace(0.0, horizon, _GRID)
    for first in range(0, len(functions), FUNCTIONS_TOGETHER):
        plans = [_plan(scenario, t, fn, x) for fn, x in zip(functions[first:first + FUNCTIONS_TOGETHER],
                                                             multipliers[first:first + FUNCTIONS_TOGETHER],
                                                             strict=True)]
        pending = [p for p in plans if p.pending()]
        while pending:
            values = _solve([p.storm(t, horizon) for p in pending])
            for p, v in zip(pending, values, strict=True):
                p.solved(v)
            pending = [p for p in pending if p.pending()]
        for p in plans:
            yield t, p.m


def _in_service(scenario: Scenario, fn: Function, multiplier: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_in_service_many` of one function."""
    return next(_in_service_many(scenario, [fn], [multiplier]))


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
    return peaks_in_service(scenario, [fn], multiplier, quantile)[0]


def peaks_in_service(scenario: Scenario, functions: list[Function], multiplier: float = 1.0,
                     quantile: float = PEAK_QUANTILE) -> list[int]:
    """:func:`peak_in_service` of each function, their cold-start storms solved together (what ``capacity()`` of a
    scenario with thousands of functions needs; the same figures as one by one)."""
    out = []
    for fn, (t, m) in zip(functions, _in_service_many(scenario, functions, [multiplier] * len(functions)),
                          strict=True):
        top = float(m.max())
        if top <= 0:
            out.append(0)
            continue
        # Something is in service, so the function has a duration (_in_service gives zeros without one; and a
        # function with arrivals has one, checked at load).
        assert fn.duration is not None, "a function with arrivals has a duration: checked at load"
        near = m >= top - math.sqrt(top)
        stretch_s = float(np.count_nonzero(near)) * (t[1] - t[0])
        looks = max(1.0, stretch_s / max(fn.duration.mean, 1e-3))
        out.append(poisson_quantile(quantile ** (1.0 / looks), top))
    return out
