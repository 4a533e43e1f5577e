"""The discrete-event model of SPEC §3 on SimPy: admission, environments, ENIs, events, retries.

Design for speed (the engine is the product's heart; see ``benchmarks/``):

- No SimPy Process per invocation. Work is put on SimPy's queue as :class:`_Call` events whose single callback
  is a bound method; an invocation costs one arrival event and one end event. A cold start needs no extra event:
  the ENI's ready time and the init time are known when the environment is created, so the end is scheduled at
  ``arrival + ENI wait + init + duration`` directly.
- Timers are lazy: an idle environment has at most one keep-alive timer pending; when it fires early (the
  environment was reused and went idle again) it re-arms itself for the new expiry instead of one timer per idle
  period. ENIs do the same for their idle release.
- Idle environments sit in a dict used as an ordered set: ``popitem()`` gives the most recently used one in O(1),
  ``del`` reclaims any one in O(1). No scan of all environments or ENIs happens per event.
- Random numbers come in numpy blocks through per-stream samplers; arrival times come in blocks too.
- Measurements stream into counters, per-step lists and a fixed-size latency histogram (memory stays flat).

Every random stream has its own ``SeedSequence`` child keyed by the stream's *name* (``arrivals/checkout/0``,
``duration/checkout``, ``eni_attach/checkout``, ``placement/checkout``...), so adding a function does not reshuffle
the others and the same seed gives the same results on any machine.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from heapq import heappush
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT, Event

from .distributions import Constant
from .metrics import FAILURES, OUTCOMES, THROTTLES, LatencyHistogram
from .network import AzState, Eni, FnNet, make_network
from .scenario import AzOutage, Function, IpsReleased, IpsTaken, Scenario

__all__ = ["simulate_once", "stream", "Engine"]

log = logging.getLogger(__name__)

_OUT = {name: i for i, name in enumerate(OUTCOMES)}
SUCCESS, TIMEOUT, DROPPED, AZ_OUTAGE = _OUT["success"], _OUT["timeout"], _OUT["dropped"], _OUT["az_outage"]
assert SUCCESS == 0  # the success path indexes the per-step counts directly
THR_CONC, THR_RES, THR_SCALE = _OUT["throttled_concurrency"], _OUT["throttled_reserved"], _OUT["throttled_scaling"]
_THROTTLE_IDX = frozenset(_OUT[c] for c in THROTTLES)
_FAILURE_IDX = frozenset(_OUT[c] for c in FAILURES)
# What a client or Lambda's async queue retries: throttles (429) and the 5xx errors of the VPC (DOMAIN §4, §5).
# A timeout is a function error: the SDK does not retry it; the async queue retries it twice (SPEC §3.7).
_RETRYABLE = frozenset(_OUT[c] for c in (*THROTTLES, "eni_limit", "subnet_ips", "ec2_throttled", "az_outage"))
_ASYNC_BACKOFF_CAP_S = 300.0  # DOMAIN §4: async retries of throttles back off from 1 s up to 5 minutes
_ASYNC_ERROR_RETRIES = (60.0, 120.0)  # DOMAIN §4: on function errors, 2 more attempts after 1 and 2 minutes
_BLOCK = 4096
# The end of a time step is handled before anything else at the same instant (as if every tick had been scheduled
# before the run began), yet each tick schedules the next one: memory does not grow with the number of steps.
_TICK = URGENT - 1


def stream(seed: int, replication: int, *names: str) -> np.random.Generator:
    """The generator of one named random stream (SPEC §3: one ``SeedSequence`` child per stream)."""
    key = [replication] + [int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8).digest(), "little")
                           for n in names]
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key)))


def sampler(dist: Any, rng: np.random.Generator) -> Callable[[], float]:
    """A zero-argument function that returns the next draw. Draws come in numpy blocks that start small and double
    up to ``_BLOCK`` (a scenario with hundreds of rarely-called functions must not hold thousands of unused draws
    for each)."""
    if isinstance(dist, Constant):
        value = dist.value
        return lambda: value
    buf: list[float] = []
    size = [16]

    def draw() -> float:
        if not buf:
            block = dist.sample(rng, size[0]).tolist()
            block.reverse()
            buf.extend(block)
            size[0] = min(size[0] * 2, _BLOCK)
        return buf.pop()

    return draw


class _Call(Event):
    """A SimPy event with one callback and a payload: the cheapest way to put work on SimPy's queue."""

    def __init__(self, env: simpy.Environment, callback: Callable[[Event], None], value: Any):
        self.env = env
        self.callbacks = [callback]
        self._ok = True
        self._value = value


class _Env(Event):
    """An execution environment and, while busy, the invocation it runs.

    It is also the SimPy event of that invocation's end: an environment runs one invocation at a time, so it has at
    most one end pending, and scheduling the end allocates nothing (SimPy's ``step`` reads only ``callbacks`` and
    ``_ok`` of an event; ``callbacks`` is set to the engine's one-element tuple when the end is scheduled). An end
    left on the queue by an environment lost in an outage is recognised by ``lost`` and ignored."""

    __slots__ = ("fn", "eni", "az", "provisioned", "busy", "lost", "expire", "timer", "timer_at",
                 "arr", "t0", "attempt", "errors", "cold", "start", "wait", "end", "timed_out", "counted",
                 "callbacks")
    _ok = True

    def __init__(self, fn: _Fn, eni: Eni | None, az: AzState | None, provisioned: bool):
        # Event.__init__ is not called: this object is scheduled by hand (see _arrive) and is never yielded.
        self.fn = fn
        self.eni = eni
        self.az = az
        self.provisioned = provisioned
        self.busy = False
        self.lost = False
        self.expire = 0.0
        self.timer: Event | None = None
        self.timer_at = math.inf


class _Fn:
    """A function's live state and counters."""

    __slots__ = ("idx", "spec", "name", "reserved", "own", "in_flight", "idle", "idle_prov", "envs", "net",
                 "duration", "init", "keep_alive", "keep_alive_const", "timeout", "retry", "async_", "max_age",
                 "rng_retry", "bucket", "invocations", "attempts", "outcomes", "cold", "starts", "peak_conc",
                 "peak_envs", "peak_enis", "first_outcome", "billed_ms", "billed_ms_provisioned")

    def __init__(self, idx: int, spec: Function):
        self.idx = idx
        self.spec = spec
        self.name = spec.name
        self.reserved = spec.reserved_concurrency
        # Provisioned concurrency of a function without a reservation is taken out of the unreserved pool for it
        # alone (DOMAIN §4, as the scenario's validation counts it): its first `own` executions in flight do not
        # draw on the pool, and the pool is smaller by as much for everyone.
        self.own = spec.provisioned_concurrency if self.reserved is None else 0
        self.in_flight = 0
        self.idle: dict[_Env, None] = {}
        self.idle_prov: list[_Env] = []
        self.envs = 0
        self.net: FnNet | None = None
        self.timeout = spec.timeout
        self.retry = spec.client_retry if spec.invocation == "sync" else None
        self.async_ = spec.invocation == "async"
        self.max_age = spec.max_event_age
        self.bucket: _Bucket | None = None
        self.invocations = 0
        self.attempts = 0
        self.outcomes = [0] * len(OUTCOMES)
        self.cold = 0
        self.starts = 0
        # Duration Lambda bills (AWS facts §9): each execution rounded up to 1 ms, init included.
        self.billed_ms = 0
        self.billed_ms_provisioned = 0
        self.peak_conc = 0
        self.peak_envs = 0
        self.peak_enis = 0
        self.first_outcome: dict[str, float] = {}


class _Bucket:
    """Scaling credit (SPEC §3.3): a token bucket refilled continuously, read lazily."""

    __slots__ = ("size", "rate", "tokens", "last")

    def __init__(self, size: float, per_s: float):
        self.size = size
        self.rate = per_s
        self.tokens = size
        self.last = 0.0

    def take(self, now: float) -> bool:
        tokens = self.tokens + (now - self.last) * self.rate
        if tokens > self.size:
            tokens = self.size
        self.last = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False

    def refund(self) -> None:
        self.tokens = min(self.size, self.tokens + 1.0)


class _Arrivals:
    """Every arrival process of the scenario merged into one time-ordered stream, one window at a time.

    Each window takes from every process the arrival times before the window's end and sorts them together (a
    stable sort: simultaneous arrivals keep the processes' order), so the engine handles one stream, whatever the
    number of functions, without a heap operation per arrival.

    Memory is bounded by count, not by a share of the horizon: a window never reaches past the end of any process's
    current block (each process holds one block of at most a few thousand times), and its span adapts to hold about
    ``_WINDOW`` arrivals. A 30-day run at 1,000/s holds what a one-minute run holds. The merged order is the sort by
    (time, process) whatever the windows, so where they fall changes nothing in the results.
    """

    _WINDOW = 8192
    _FIRST_SPAN_S = 1.0  # grows fourfold per empty window, so a sparse load costs a few empty windows

    def __init__(self, sources: list[tuple[_Fn, Iterator[np.ndarray]]], horizon: float):
        self.fns = [fn for fn, _ in sources]
        self.blocks = [blocks for _, blocks in sources]
        self.current = [np.empty(0) for _ in sources]
        self.active = list(range(len(sources)))
        self.start = 0.0
        self.span = min(self._FIRST_SPAN_S, max(horizon, 1e-3))
        self.horizon = horizon
        self.times: list[float] = []
        self.fn_of: list[_Fn] = []
        self.i = 0

    def _load(self) -> float:
        """Give every active process a non-empty current block (dropping exhausted ones); return the earliest end of
        those blocks, which the window must not pass."""
        limit = math.inf
        still = []
        for k in self.active:
            cur = self.current[k]
            while not len(cur):
                nxt = next(self.blocks[k], None)
                if nxt is None:
                    break
                cur = np.asarray(nxt, dtype=float)
            self.current[k] = cur
            if len(cur):
                still.append(k)
                last = float(cur[-1])
                if last < limit:
                    limit = last
        self.active = still
        return limit

    def refill(self) -> bool:
        """Load the next non-empty window; False when every process is exhausted."""
        while True:
            limit = self._load()
            if not self.active:
                return False
            # Up to the earliest block end (that time included: ties there are taken together, in process order).
            until = min(self.start + self.span, float(np.nextafter(limit, math.inf)))
            parts: list[np.ndarray] = []
            owners: list[int] = []
            for k in self.active:
                cur = self.current[k]
                cut = int(np.searchsorted(cur, until, side="left"))
                if cut:
                    parts.append(cur[:cut])
                    owners.append(k)
                    self.current[k] = cur[cut:]
            self.start = until
            if not parts:
                self.span *= 4  # an empty window: look further ahead next time
                continue
            times = np.concatenate(parts) if len(parts) > 1 else parts[0]
            count = len(times)
            self.span *= min(4.0, max(0.25, self._WINDOW / count))
            if len(parts) == 1:
                self.times = times.tolist()
                self.fn_of = [self.fns[owners[0]]] * count
            else:
                who = np.repeat(np.asarray(owners), [len(p) for p in parts])
                order = np.argsort(times, kind="stable")
                self.times = times[order].tolist()
                fns = self.fns
                self.fn_of = [fns[k] for k in who[order].tolist()]
            self.i = 0
            return True


class Engine:
    """One run of one scenario with one seed (and replication index). Use :func:`simulate_once`."""

    def __init__(self, scenario: Scenario, seed: int, replication: int = 0, record_invocations: bool = False):
        self.sc = scenario
        self.seed = seed
        self.rep = replication
        self.env = simpy.Environment()
        self.queue = self.env._queue
        self.eid = self.env._eid
        self._end_callbacks = (self._on_end,)  # SimPy only iterates an event's callbacks: one shared tuple
        self.horizon = scenario.duration
        self.warmup = scenario.warmup
        self.step = scenario.timestep
        self.nsteps = max(1, math.ceil(self.horizon / self.step - 1e-9))
        self.inv_step = 1.0 / self.step
        self.record = record_invocations
        self.rows: list[tuple] = []

        fns = [_Fn(i, f) for i, f in enumerate(scenario.functions)]
        self.fns = fns
        self.net = make_network(scenario, self._schedule_plain, lambda: self.env.now)
        for f in fns:
            spec = f.spec
            f.duration = sampler(spec.duration, self._rng("duration", f.name))
            f.init = sampler(spec.init, self._rng("init", f.name))
            f.keep_alive = sampler(spec.keep_alive, self._rng("keep_alive", f.name))
            f.keep_alive_const = spec.keep_alive.value if isinstance(spec.keep_alive, Constant) else None
            f.rng_retry = self._rng("retry", f.name)
            if spec.in_vpc:
                f.net = self.net.fn_net(spec, sampler(scenario.vpc.eni_attach, self._rng("eni_attach", f.name)),
                                        self._rng("placement", f.name))

        scaling = scenario.region.scaling
        if scaling.model == "burst":
            shared = _Bucket(scaling.burst, scaling.per_minute / 60.0)
            for f in fns:
                f.bucket = shared
        elif scaling.model == "per-function":
            for f in fns:
                f.bucket = _Bucket(scaling.burst, scaling.per_minute / 60.0)

        self.pool_limit = scenario.region.concurrency_limit - sum((f.reserved or 0) + f.own for f in fns)
        self.pool_in_flight = 0
        self.conc = 0
        self.area = 0.0
        self.last_t = 0.0
        self.peak_conc = 0
        self.step_max = 0
        self.envs_total = 0
        self.env_area = 0.0
        self.env_last = 0.0
        self.peak_envs = 0
        self.pending = 0  # retries waiting to arrive
        self.first_failure: float | None = None
        self.first_outcome: dict[str, float] = {}
        self.lat = LatencyHistogram(len(fns))
        self.cold_lat = LatencyHistogram(len(fns), buffer=1 << 15)

        n = self.nsteps
        self.ts_arrivals = [0] * n
        self.ts_out = [0] * (n * len(OUTCOMES))
        self.ts_cold = [0] * n
        self.ts_conc_mean = np.zeros(n)
        self.ts_conc_max = np.zeros(n, dtype=np.int64)
        self.ts_busy = np.zeros(n, dtype=np.int64)
        self.ts_idle = np.zeros(n, dtype=np.int64)
        self.ts_ready = np.zeros(n, dtype=np.int64)
        self.ts_attaching = np.zeros(n, dtype=np.int64)
        self.ts_deleting = np.zeros(n, dtype=np.int64)
        self.subnet_list = list(self.net.subnets.values())
        self.ts_used = np.zeros((len(self.subnet_list), n), dtype=np.int64)
        self.ts_free = np.zeros((len(self.subnet_list), n), dtype=np.int64)
        self.tick_area = 0.0
        self.warm_area = 0.0
        self.warm_env_area = 0.0
        self.horizon_stats: dict[str, Any] = {}

        self.arrivals = _Arrivals([(f, proc.blocks(self._rng("arrivals", f.name, str(k)), self.horizon))
                                   for f in fns for k, proc in enumerate(f.spec.arrivals)], self.horizon)

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _rng(self, *names: str) -> np.random.Generator:
        return stream(self.seed, self.rep, *names)

    def _at(self, t: float, callback: Callable[[Event], None], value: Any, priority: int = NORMAL) -> _Call:
        ev = _Call(self.env, callback, value)
        self.env.schedule(ev, priority, t - self.env._now)
        return ev

    def _schedule_plain(self, t: float, fn: Callable[[Any], None], arg: Any) -> None:
        """The network's timers: ``fn(arg)`` at time ``t``."""
        self._at(max(t, self.env._now), lambda ev: fn(ev._value), arg)

    # -- set-up ---------------------------------------------------------------------------------------------------
    def _setup(self) -> None:
        for f in self.fns:
            for _ in range(f.spec.provisioned_concurrency):
                eni, az = None, None
                if f.net is not None:
                    eni, cause = self.net.acquire(f.net, 0.0, initial=True)
                    if eni is None:
                        log.warning("function %s: only %d of %d provisioned environments could get an ENI (%s)",
                                    f.name, f.envs, f.spec.provisioned_concurrency, cause)
                        break
                    az = eni.az
                env = _Env(f, eni, az, provisioned=True)
                if az is not None:
                    az.envs[env] = None
                f.idle_prov.append(env)
                f.envs += 1
                self.envs_total += 1
        self.peak_envs = self.envs_total
        for f in self.fns:
            f.peak_envs = f.envs
            f.peak_enis = f.net.enis if f.net is not None else 0
        if self.arrivals.refill():
            self._at(self.arrivals.times[0], self._on_arrival, self.arrivals)
        self._at(min(self.step, self.horizon), self._on_tick, 0, _TICK)
        if self.warmup > 0:
            self._at(self.warmup, self._on_warmup, None, URGENT)
        for i, ev in enumerate(self.sc.events):
            self._at(ev.at, self._on_event, i, URGENT)

    # -- arrivals ------------------------------------------------------------------------------------------------
    def _on_arrival(self, ev: Event) -> None:
        """Arrivals. While the next arrival comes before everything on SimPy's queue, it is handled here at once
        (the clock moved to it) instead of going through the queue: the same order of events, without a heap push
        and pop per arrival."""
        src: _Arrivals = ev._value
        env = self.env
        queue = env._queue
        arrive = self._arrive
        times = src.times
        fn_of = src.fn_of
        i = src.i
        t = times[i]
        while True:
            arrive(fn_of[i], t, t, 1)
            i += 1
            if i >= len(times):
                if not src.refill():
                    return
                times = src.times
                fn_of = src.fn_of
                i = 0
            tn = times[i]
            if queue and queue[0][0] <= tn:
                break
            env._now = t = tn
        src.i = i
        # Re-arm the same event object for the next arrival.
        ev.callbacks = [self._on_arrival]
        env.schedule(ev, NORMAL, tn - t)

    def _on_retry(self, ev: Event) -> None:
        f, t0, attempt, errors = ev._value
        self.pending -= 1
        self._arrive(f, self.env._now, t0, attempt, errors)

    def _arrive(self, f: _Fn, t: float, t0: float, attempt: int, errors: int = 0) -> None:
        """SPEC §3 rules 1-6 for one attempt arriving at ``t`` (``t0``: the invocation's first arrival; ``errors``:
        the async retries of function errors it already had)."""
        k = int(t * self.inv_step)
        if k < self.nsteps:
            self.ts_arrivals[k] += 1
        counted = t0 >= self.warmup
        if counted:
            f.attempts += 1
            if attempt == 1:
                f.invocations += 1
        # 1. Concurrency.
        reserved = f.reserved
        if reserved is not None:
            if f.in_flight >= reserved:
                self._failed(f, t, t0, attempt, THR_RES, None, errors)
                return
        elif self.pool_in_flight >= self.pool_limit and f.in_flight >= f.own:
            self._failed(f, t, t0, attempt, THR_CONC, None, errors)
            return
        # 2. Warm start on the most recently used idle environment (provisioned ones first).
        if f.idle_prov:
            env = f.idle_prov.pop()
            start = t
            cold = False
            wait = 0.0
        elif f.idle:
            env = f.idle.popitem()[0]
            start = t
            cold = False
            wait = 0.0
        else:
            # 3. Scaling credit.
            bucket = f.bucket
            if bucket is not None and not bucket.take(t):
                self._failed(f, t, t0, attempt, THR_SCALE, None, errors)
                return
            # 4. A slot on an ENI.
            eni = None
            az = None
            wait = 0.0
            if f.net is not None:
                eni, cause = self.net.acquire(f.net, t)
                if eni is None:
                    if bucket is not None:
                        bucket.refund()  # no environment was created
                    self._failed(f, t, t0, attempt, _OUT[cause], None, errors)
                    return
                az = eni.az
                if eni.ready_at > t:
                    wait = eni.ready_at - t
            env = _Env(f, eni, az, False)
            if az is not None:
                az.envs[env] = None
            # 5. Cold start: wait for the ENI, then init.
            start = t + wait + f.init()
            cold = True
            self.env_area += self.envs_total * (t - self.env_last)
            self.env_last = t
            self.envs_total += 1
            f.envs += 1
            if self.envs_total > self.peak_envs:
                self.peak_envs = self.envs_total
            if f.envs > f.peak_envs:
                f.peak_envs = f.envs
            if f.net is not None and f.net.enis > f.peak_enis:
                f.peak_enis = f.net.enis
            if k < self.nsteps:
                self.ts_cold[k] += 1
        # 6. Run.
        d = f.duration()
        timed_out = d > f.timeout
        if timed_out:
            d = f.timeout
        env.busy = True
        env.arr = t
        env.t0 = t0
        env.attempt = attempt
        env.errors = errors
        env.cold = cold
        env.start = start
        env.wait = wait
        env.timed_out = timed_out
        env.end = start + d
        env.counted = counted
        if counted:
            f.starts += 1
            if cold:
                f.cold += 1
        if reserved is None and f.in_flight >= f.own:
            self.pool_in_flight += 1
        f.in_flight += 1
        self.area += self.conc * (t - self.last_t)
        self.last_t = t
        c = self.conc + 1
        self.conc = c
        if c > self.peak_conc:
            self.peak_conc = c
        if c > self.step_max:
            self.step_max = c
        if f.in_flight > f.peak_conc:
            f.peak_conc = f.in_flight
        # env.schedule() inlined (same tuple, same tie-breaking counter): one call less per invocation.
        env.callbacks = self._end_callbacks
        heappush(self.queue, (env.end, URGENT, next(self.eid), env))

    # -- endings -------------------------------------------------------------------------------------------------
    def _on_end(self, env: _Env) -> None:
        if env.lost:
            return  # its AZ went down; the invocation already failed
        t = env.end
        f = env.fn
        if env.counted:
            self._bill(f, env, t)
        # Leave (inlined, like the success path below: this is the hottest path of the engine).
        f.in_flight -= 1
        if f.reserved is None and f.in_flight >= f.own:
            self.pool_in_flight -= 1
        self.area += self.conc * (t - self.last_t)
        self.last_t = t
        self.conc -= 1
        env.busy = False
        if env.timed_out:
            self._failed(f, t, env.t0, env.attempt, TIMEOUT, env, env.errors)
            if not env.provisioned:
                # Lambda resets an environment whose execution timed out: the next invocation starts cold.
                self._drop(env, t)
                return
        else:
            k = int(t * self.inv_step)
            if k < self.nsteps:
                self.ts_out[k] += 1  # SUCCESS is outcome 0: its per-step counts come first
            if env.counted:
                f.outcomes[0] += 1
                lat = self.lat
                lat.keys.append(f.idx)
                lat.values.append(t - env.t0)
                if len(lat.values) >= lat.buffer:
                    lat.fold()
                if env.cold:
                    self.cold_lat.add(f.idx, env.start - env.arr)
            if self.record:
                self._row(f, env.arr, env.start, t, SUCCESS, env)
        # The environment is idle now: it serves the next invocation or is reclaimed after keep_alive.
        if env.provisioned:
            f.idle_prov.append(env)
            return
        f.idle[env] = None
        ka = f.keep_alive_const
        expire = t + (ka if ka is not None else f.keep_alive())
        env.expire = expire
        if expire < env.timer_at:
            env.timer_at = expire
            env.timer = self._at(expire, self._on_keep_alive, env)

    @staticmethod
    def _bill(f: _Fn, env: _Env, t: float) -> None:
        """The execution on ``env`` ended at ``t``: Lambda bills from the start of init (a cold start, after the ENI
        wait, which is Lambda's own) or of the run (warm) to ``t``, rounded up to a whole millisecond (AWS facts §9;
        a nanosecond's slack keeps 0.1 s at 100 ms, not 101, where the subtraction of two times leaves 1e-14 s)."""
        ms = math.ceil((t - env.arr - env.wait) * 1000.0 - 1e-6)
        if env.provisioned:
            f.billed_ms_provisioned += ms
        else:
            f.billed_ms += ms

    def _leave(self, f: _Fn) -> None:
        t = self.env._now
        f.in_flight -= 1
        if f.reserved is None and f.in_flight >= f.own:
            self.pool_in_flight -= 1
        self.area += self.conc * (t - self.last_t)
        self.last_t = t
        self.conc -= 1

    def _failed(self, f: _Fn, t: float, t0: float, attempt: int, cause: int, env: _Env | None = None,
                errors: int = 0) -> None:
        """An attempt failed with ``cause``: retry it (SPEC §3.7) or count the invocation's final outcome.
        ``errors``: the async retries of function errors the invocation already had (counted apart from the retries
        of throttles, which do not use up its two retries of function errors)."""
        if self.record:
            self._row(f, env.arr if env else t, env.start if env else None, t if env else None, cause, env,
                      attempt=attempt)
        if f.async_:
            if cause in _RETRYABLE:
                # Backoff from 1 s, doubling with each retry of a throttle or 5xx (not with those of function errors).
                delay = min(_ASYNC_BACKOFF_CAP_S, 2.0 ** (attempt - 1 - errors))
                if t + delay - t0 <= f.max_age:
                    self._retry(f, t + delay, t0, attempt + 1, errors)
                    return
                cause = DROPPED
            elif cause == TIMEOUT and errors < len(_ASYNC_ERROR_RETRIES):
                delay = _ASYNC_ERROR_RETRIES[errors]
                if t + delay - t0 <= f.max_age:
                    self._retry(f, t + delay, t0, attempt + 1, errors + 1)
                    return
                cause = DROPPED  # the event would be too old for its next retry (Lambda: EventAgeExceeded)
        elif f.retry is not None and cause in _RETRYABLE and attempt < f.retry.attempts:
            # The SDK's full-jitter backoff: uniform(0, min(cap, base * 2^(attempt-1))).
            backoff = min(f.retry.cap, f.retry.base * 2.0 ** (attempt - 1))
            self._retry(f, t + float(f.rng_retry.random()) * backoff, t0, attempt + 1)
            return
        k = int(t * self.inv_step)
        if k < self.nsteps:
            self.ts_out[cause * self.nsteps + k] += 1
        if t0 >= self.warmup:
            f.outcomes[cause] += 1
            name = OUTCOMES[cause]
            if name not in f.first_outcome:
                f.first_outcome[name] = t
                if name not in self.first_outcome or t < self.first_outcome[name]:
                    self.first_outcome[name] = t
            if cause in _FAILURE_IDX and self.first_failure is None:
                self.first_failure = t

    def _retry(self, f: _Fn, at: float, t0: float, attempt: int, errors: int = 0) -> None:
        self.pending += 1
        self._at(at, self._on_retry, (f, t0, attempt, errors))

    def _row(self, f: _Fn, arr: float, start: float | None, end: float | None, cause: int, env: _Env | None,
             attempt: int | None = None) -> None:
        eni = env.eni if env is not None else None
        self.rows.append((
            f.name, arr, start, end, OUTCOMES[cause], bool(env.cold) if env is not None else False,
            env.wait if env is not None else 0.0,
            eni.subnet.id if eni is not None else None, env.az.name if env is not None and env.az else None,
            attempt if attempt is not None else env.attempt,  # type: ignore[union-attr]
        ))

    # -- keep-alive and environment loss ----------------------------------------------------------------------------
    def _on_keep_alive(self, ev: Event) -> None:
        env: _Env = ev._value
        if env.timer is not ev:
            return  # superseded by an earlier expiry
        env.timer = None
        env.timer_at = math.inf
        if env.busy or env.lost:
            return  # re-armed when it goes idle again
        t = self.env._now
        if t < env.expire:
            env.timer_at = env.expire
            env.timer = self._at(env.expire, self._on_keep_alive, env)
            return
        f = env.fn
        del f.idle[env]
        self._drop(env, t)

    def _drop(self, env: _Env, t: float) -> None:
        """The environment is gone (reclaimed, reset or lost): release its ENI slot."""
        f = env.fn
        env.lost = True  # a keep-alive timer still pending for it must not reclaim it twice
        if env.az is not None:
            env.az.envs.pop(env, None)
        self.env_area += self.envs_total * (t - self.env_last)
        self.env_last = t
        self.envs_total -= 1
        f.envs -= 1
        if env.eni is not None:
            self.net.release(env.eni, t, f.net)

    # -- scenario events -------------------------------------------------------------------------------------------
    def _on_event(self, ev: Event) -> None:
        spec = self.sc.events[ev._value]
        t = self.env._now
        if isinstance(spec, AzOutage):
            az = self.net.azs[spec.az]
            self.net.az_down(az, t)
            for env in list(az.envs):
                self._lose(env, t)
            self._at(t + spec.for_, self._on_az_back, az, URGENT)
        elif isinstance(spec, IpsTaken):
            got = self.net.take_ips(spec.subnet, spec.count, t)
            if got < spec.count:
                log.info("ips_taken at %gs: subnet %s had only %d free addresses", t, spec.subnet, got)
        elif isinstance(spec, IpsReleased):
            self.net.release_ips(spec.subnet, spec.count, t)

    def _on_az_back(self, ev: Event) -> None:
        self.net.az_up(ev._value, self.env._now)

    def _lose(self, env: _Env, t: float) -> None:
        f = env.fn
        env.lost = True
        if env.busy:
            env.busy = False
            if env.counted:
                self._bill(f, env, t)  # billed until its environment was lost
            self._leave(f)
            self._failed(f, t, env.t0, env.attempt, AZ_OUTAGE, env, env.errors)
        elif env.provisioned:
            f.idle_prov.remove(env)
        else:
            del f.idle[env]
        self._drop(env, t)

    # -- measurement ---------------------------------------------------------------------------------------------
    def _on_tick(self, ev: Event) -> None:
        k = ev._value
        t = self.env._now
        self.area += self.conc * (t - self.last_t)
        self.last_t = t
        width = min(self.step, self.horizon - k * self.step)
        self.ts_conc_mean[k] = (self.area - self.tick_area) / width if width > 0 else self.conc
        self.tick_area = self.area
        self.ts_conc_max[k] = self.step_max
        self.step_max = self.conc
        self.ts_busy[k] = self.conc
        self.ts_idle[k] = self.envs_total - self.conc
        net = self.net
        self.ts_ready[k] = net.enis_ready
        self.ts_attaching[k] = net.enis_attaching
        self.ts_deleting[k] = net.enis_deleting
        for j, s in enumerate(self.subnet_list):
            self.ts_used[j, k] = s.step_max_used
            self.ts_free[j, k] = s.step_min_free
            s.step_min_free = s.free
            s.step_max_used = s.used
        if k == self.nsteps - 1:
            self._on_horizon(t)
        else:
            self._at(min((k + 2) * self.step, self.horizon), self._on_tick, k + 1, _TICK)

    def _on_warmup(self, ev: Event) -> None:
        t = self.env._now
        self.area += self.conc * (t - self.last_t)
        self.last_t = t
        self.env_area += self.envs_total * (t - self.env_last)
        self.env_last = t
        self.warm_area = self.area
        self.warm_env_area = self.env_area
        self.peak_conc = self.conc
        self.peak_envs = self.envs_total
        self.net.peak_enis = self.net.n_enis
        for f in self.fns:
            f.peak_conc = f.in_flight
            f.peak_envs = f.envs
            f.peak_enis = f.net.enis if f.net is not None else 0
        for s in self.subnet_list:
            s.reset_stats(t)

    def _on_horizon(self, t: float) -> None:
        self.env_area += self.envs_total * (t - self.env_last)
        self.env_last = t
        span = self.horizon - self.warmup
        # Every figure about time is taken here, at the horizon: the drain that follows (in-flight executions and
        # retries landing after the horizon) adds outcomes, not peaks or address history.
        self.horizon_stats = {
            "mean_concurrency": (self.area - self.warm_area) / span,
            "mean_environments": (self.env_area - self.warm_env_area) / span,
            "peak_concurrency": self.peak_conc,
            "peak_environments": self.peak_envs,
            "peak_enis": self.net.peak_enis,
            "subnets": {s.id: {"peak_ips_used": int(s.peak_used), "min_free_ips": int(s.min_free),
                               "exhausted_s": s.exhausted_at, "exhausted_for_s": s.exhausted_for(t)}
                        for s in self.subnet_list},
            "functions": [(f.peak_conc, f.peak_envs, f.peak_enis) for f in self.fns],
        }

    # -- run -----------------------------------------------------------------------------------------------------
    def run(self, progress: Callable[[float], None] | None = None) -> Engine:
        """Simulate to the horizon, then let what is in flight (and pending retries) finish."""
        started = time.perf_counter()
        self._setup()
        env = self.env
        chunks = 100 if progress is not None else 1
        for i in range(1, chunks + 1):
            env.run(until=self.horizon * i / chunks)
            if progress is not None:
                progress(i / chunks)
        # The tick at the horizon is URGENT at t=horizon, which run(until=horizon) processes first... unless
        # SimPy stopped before it: process what is left at exactly the horizon.
        while not self.horizon_stats and env._queue:
            env.step()
        queue = env._queue
        while (self.conc or self.pending) and queue:
            env.step()
        self.wall_s = time.perf_counter() - started
        return self


def simulate_once(scenario: Scenario, seed: int | None = None, replication: int = 0,
                  record_invocations: bool = False, progress: Callable[[float], None] | None = None) -> Engine:
    """Run the model once and return the finished engine (``results.build_result`` turns it into a Result)."""
    engine = Engine(scenario, scenario.seed if seed is None else seed, replication, record_invocations)
    return engine.run(progress)

