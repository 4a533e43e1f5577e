"""The discrete-event model: the rules of docs/model.md §3 applied to every invocation, environment and event.

An attempt arrives (:meth:`Engine._arrive`) and the rules are applied in order: admit it against the concurrency
limits (§3.1), take the most recently used idle environment (§3.2), or create one — scaling credit (§3.3), a slot
on an ENI (§3.4), the cold start (§3.5) — then run it (§3.6), and end it (:meth:`Engine._on_end`): a success, a
timeout, and the environment idle until its keep-alive ends. A failed attempt is retried or gets its final outcome
(§3.7, :meth:`Engine._failed`); scenario events take AZs down and addresses away (§3.9).

Design for speed (the engine is the product's heart; ``benchmarks/bench_engine.py``):

- No process and no event object per invocation: the loop (:mod:`.loop`) calls plain functions; an invocation
  costs its arrival (taken straight from the merged arrival stream, not through the heap, while it comes first)
  and one heap entry for its end. A cold start needs no extra event: the ENI's ready time and the init time are
  known when the environment is created, so the end is scheduled at ``arrival + ENI wait + init + duration``.
- Timers are lazy: an idle environment has at most one keep-alive timer pending; when it fires early (the
  environment was reused and went idle again) it re-arms itself for the new expiry. ENIs do the same.
- Idle environments sit in a dict used as an ordered set: ``popitem()`` gives the most recently used one in O(1).
  Nothing scans all environments or ENIs per event.
- Measurement is the recorder's (:mod:`.recorder`): the model tells it what happened and holds no counters.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from heapq import heappush
from typing import Any, cast

from ..scenario.distributions import Constant
from ..scenario.models import Scenario
from ..scenario.sections import AzOutage, Function, IpsReleased, IpsTaken
from ..summary import OUTCOMES, THROTTLES
from .limits import TokenBucket, unreserved_pool
from .loop import FIRST, URGENT, Loop
from .merge import ArrivalStream
from .network import AzState, Eni, FnNet
from .platforms import platform_of
from .recorder import Recorder
from .streams import LazyStream, sampler, stream

__all__ = ["Engine", "simulate_once"]

log = logging.getLogger(__name__)

_OUT = {name: i for i, name in enumerate(OUTCOMES)}
SUCCESS, TIMEOUT, DROPPED, AZ_OUTAGE = _OUT["success"], _OUT["timeout"], _OUT["dropped"], _OUT["az_outage"]
THR_CONC, THR_RES, THR_SCALE = _OUT["throttled_concurrency"], _OUT["throttled_reserved"], _OUT["throttled_scaling"]
# What a client or Lambda's async queue retries: throttles (429) and the 5xx errors of the VPC (AWS facts §4, §5).
# A timeout is a function error: the SDK does not retry it; the async queue retries it twice (§3.7).
_RETRYABLE = frozenset(_OUT[c] for c in (*THROTTLES, "eni_limit", "subnet_ips", "ec2_throttled", "az_outage"))
ASYNC_BACKOFF_CAP_S = 300.0  # AWS facts §4: async retries of throttles back off from 1 s up to 5 minutes
ASYNC_ERROR_RETRIES_S = (60.0, 120.0)  # AWS facts §4: on function errors, 2 more attempts after 1 and 2 minutes


class _Env:
    """An execution environment and, while busy, the invocation it runs (its arrival, first arrival, attempt,
    ENI wait, start and end). An end left on the heap by an environment lost in an outage is recognised by
    ``lost`` and ignored."""

    __slots__ = ("fn", "eni", "az", "provisioned", "busy", "lost", "expire", "timer", "timer_at",
                 "arr", "t0", "attempt", "errors", "cold", "start", "wait", "end", "timed_out", "counted")

    # The invocation it runs, set by Engine._arrive (``wait`` first by Engine._create for a new environment) and
    # read only while it is busy (or by the end it left on the heap). Annotations only: no defaults, no cost.
    arr: float
    t0: float
    attempt: int
    errors: int
    cold: bool
    start: float
    wait: float
    end: float
    timed_out: bool
    counted: bool

    def __init__(self, fn: _Fn, eni: Eni | None, az: AzState | None, provisioned: bool):
        self.fn = fn
        self.eni = eni
        self.az = az
        self.provisioned = provisioned
        self.busy = False
        self.lost = False
        self.expire = 0.0
        self.timer: tuple | None = None  # the pending keep-alive timer's token
        self.timer_at = math.inf


class _Fn:
    """A function's live state: its limits, its environments and its random streams."""

    __slots__ = ("idx", "spec", "name", "reserved", "own", "in_flight", "idle", "idle_prov", "net",
                 "duration", "init", "keep_alive", "keep_alive_const", "timeout", "retry", "async_", "max_age",
                 "rng_retry", "bucket")

    # Its samplers and retry stream, set by Engine.__init__ (they need the engine's seed and replication).
    duration: Callable[[], float]
    init: Callable[[], float]
    keep_alive: Callable[[], float]
    keep_alive_const: float | None
    rng_retry: LazyStream

    def __init__(self, idx: int, spec: Function):
        self.idx = idx
        self.spec = spec
        self.name = spec.name
        self.reserved = spec.reserved_concurrency
        # Provisioned concurrency of a function without a reservation is taken out of the unreserved pool for it
        # alone (AWS facts §4, as the scenario's validation counts it): its first `own` executions in flight do
        # not draw on the pool, and the pool is smaller by as much for everyone.
        self.own = spec.provisioned_concurrency if self.reserved is None else 0
        self.in_flight = 0
        self.idle: dict[_Env, None] = {}
        self.idle_prov: list[_Env] = []
        self.net: FnNet | None = None
        self.timeout = spec.timeout
        self.retry = spec.client_retry if spec.invocation == "sync" else None
        self.async_ = spec.invocation == "async"
        self.max_age = spec.max_event_age
        self.bucket: TokenBucket | None = None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused inside, and left as it was after (already paused: still paused)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class Engine:
    """One run of one scenario with one seed (and replication index). Use :func:`simulate_once`."""

    def __init__(self, scenario: Scenario, seed: int, replication: int = 0, record_invocations: bool = False):
        with collector_paused():  # thousands of functions make hundreds of thousands of objects here (see run)
            self._build(scenario, seed, replication, record_invocations)

    def _build(self, scenario: Scenario, seed: int, replication: int, record_invocations: bool) -> None:
        self.sc = scenario
        self.seed = seed
        self.rep = replication
        self.loop = Loop()
        self.platform = platform_of(scenario)
        self.horizon = scenario.duration
        self.warmup = scenario.warmup
        self.record = record_invocations
        self.warnings: list[str] = []
        self.wall_s = 0.0

        fns = [_Fn(i, f) for i, f in enumerate(scenario.functions)]
        self.fns = fns
        self.net = net = self.platform.network(scenario, self.loop)
        for f in fns:
            spec = f.spec
            # Streams are made on first use: most of a function's seven are never drawn from in a run.
            f.duration = sampler(spec.duration, self._lazy_rng("duration", f.name))
            f.init = sampler(spec.init, self._lazy_rng("init", f.name))
            f.keep_alive = sampler(spec.keep_alive, self._lazy_rng("keep_alive", f.name))
            f.keep_alive_const = spec.keep_alive.value if isinstance(spec.keep_alive, Constant) else None
            f.rng_retry = self._lazy_rng("retry", f.name)
            if spec.in_vpc:
                f.net = net.fn_net(spec, self.platform.slots_per_eni(scenario, spec),
                                   sampler(scenario.vpc.eni_attach, self._lazy_rng("eni_attach", f.name)),
                                   self._lazy_rng("placement", f.name))

        scaling = scenario.region.scaling
        if scaling.model == "burst":  # one account-wide bucket (§3.3)
            shared = TokenBucket(scaling.burst, scaling.per_minute / 60.0)
            for f in fns:
                f.bucket = shared
        elif scaling.model == "per-function":
            for f in fns:
                f.bucket = TokenBucket(scaling.burst, scaling.per_minute / 60.0)

        self.pool_limit = unreserved_pool(scenario)
        self.pool_in_flight = 0
        self.pending = 0  # retries waiting to arrive

        # One ceiling of executions from addresses exists when every function is in the VPC with the same
        # environments per ENI.
        slots = {f.net.slots for f in fns if f.net is not None}
        used = {sid for f in scenario.functions for sid in f.subnets}
        uniform = len(slots) == 1 and all(f.net is not None for f in fns)
        self.rec = Recorder([f.name for f in fns], list(net.subnets.values()), horizon=self.horizon,
                            warmup=self.warmup, step=scenario.timestep, record=record_invocations,
                            ceiling_subnets=[s for s in net.subnets.values() if s.id in used],
                            slots=slots.pop() if uniform else None)
        net.observer = self.rec
        self.rec.enis_added(net.n_enis)  # Hyperplane ENIs exist before t=0
        self.arrivals = ArrivalStream([(f, proc.blocks(self._rng("arrivals", f.name, str(k)), self.horizon))
                                       for f in fns for k, proc in enumerate(f.spec.arrivals)], self.horizon,
                                      self._on_arrival, self.rec.count_arrivals)
        self._end = self._on_end  # bound once: the hottest push of the run
        self._seq = self.loop.seq_counter()

    def _rng(self, *names: str) -> Any:
        return stream(self.seed, self.rep, *names)

    def _lazy_rng(self, *names: str) -> LazyStream:
        return LazyStream(self.seed, self.rep, *names)

    # -- set-up ---------------------------------------------------------------------------------------------------
    def _setup(self) -> None:
        """Provisioned environments before t=0 (§3.3: they need no scaling credit), then the first events."""
        loop, rec = self.loop, self.rec
        for f in self.fns:
            wanted = f.spec.provisioned_concurrency
            for made in range(wanted):
                eni, az = None, None
                if f.net is not None:
                    eni, cause = self.net.acquire(f.net, 0.0, initial=True)
                    if eni is None:
                        self.warnings.append(f"function {f.name}: only {made} of its {wanted} provisioned "
                                             f"environments could get an ENI before the run ({cause})")
                        log.info(self.warnings[-1])
                        break
                    az = eni.az
                env = _Env(f, eni, az, provisioned=True)
                if az is not None:
                    az.envs[env] = None
                f.idle_prov.append(env)
                rec.created(f, 0.0, cold=False)
        if self.arrivals.refill():
            self.arrivals.key = loop.key(self.arrivals.times[0])
            loop.source = self.arrivals
        loop.at(min(self.sc.timestep, self.horizon), self._on_tick, 0, FIRST)
        if self.warmup > 0:
            loop.at(self.warmup, self._on_warmup, None, URGENT)
        for i, ev in enumerate(self.sc.events):
            loop.at(ev.at, self._on_event, i, URGENT)

    # -- arrivals ------------------------------------------------------------------------------------------------
    def _on_arrival(self, src: ArrivalStream) -> None:
        """Arrivals, the loop's source (:class:`~.loop.Source`): while the next arrival comes before everything on
        the heap, it is handled here at once (the clock moved to it); then the stream's key says when the loop is to
        come back. The same order of events as one heap event per arrival, without a push and a pop for each."""
        loop = self.loop
        heap = loop.heap
        arrive = self._arrive
        times = src.times
        fn_of = src.fn_of
        n = len(times)
        i = src.i
        t = times[i]
        while True:
            arrive(fn_of[i], t, t, 1)
            i += 1
            if i >= n:
                if not src.refill():
                    src.key = None
                    return
                times = src.times
                fn_of = src.fn_of
                n = len(times)
                i = 0
            tn = times[i]
            if heap and heap[0][0] <= tn:
                break
            loop.now = t = tn
        src.i = i
        src.key = loop.key(tn)

    def _on_retry(self, arg: tuple[_Fn, float, int, int]) -> None:
        f, t0, attempt, errors = arg
        self.pending -= 1
        t = self.loop.now
        self.rec.retried(f, t, t0 >= self.warmup)
        self._arrive(f, t, t0, attempt, errors)

    def _arrive(self, f: _Fn, t: float, t0: float, attempt: int, errors: int = 0) -> None:
        """Rules §3.1-§3.6 for one attempt arriving at ``t`` (``t0``: the invocation's first arrival; ``errors``:
        the async retries of function errors it already had)."""
        counted = t0 >= self.warmup
        # 1. Concurrency: the function's reservation, or the shared pool (beyond its own provisioned concurrency).
        reserved = f.reserved
        if reserved is not None:
            if f.in_flight >= reserved:
                self._reject(f, t, t0, attempt, THR_RES, errors, counted)
                return
        elif self.pool_in_flight >= self.pool_limit and f.in_flight >= f.own:
            self._reject(f, t, t0, attempt, THR_CONC, errors, counted)
            return
        # 2. Warm start on the most recently used idle environment (provisioned ones first).
        env: _Env | None  # an annotation only: each branch below leaves an _Env (or returns)
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
            # 3-5. A new environment: scaling credit, a slot on an ENI, the cold start.
            env = self._create(f, t, t0, attempt, errors, counted)
            if env is None:
                return
            wait = env.wait
            start = t + wait + f.init()
            cold = True
        # 6. Run, cut at the timeout.
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
        if reserved is None and f.in_flight >= f.own:
            self.pool_in_flight += 1
        f.in_flight += 1
        self.rec.started(env, t)
        heappush(self.loop.heap, (env.end, URGENT, self._seq(), self._end, env))  # Loop.push, inlined

    def _reject(self, f: _Fn, t: float, t0: float, attempt: int, cause: int, errors: int, counted: bool) -> None:
        """The attempt arriving at ``t`` cannot start: it fails with ``cause`` (and may be retried)."""
        self.rec.arrived(f, counted)
        self._failed(f, t, t0, attempt, cause, None, errors)

    def _create(self, f: _Fn, t: float, t0: float, attempt: int, errors: int, counted: bool) -> _Env | None:
        """§3.3-§3.4: a new environment for ``f`` at ``t`` (its ``wait`` set to the ENI's attach still to come), or
        None after the attempt failed (throttled, or no ENI slot)."""
        bucket = f.bucket
        if bucket is not None and not bucket.take(t):
            self._reject(f, t, t0, attempt, THR_SCALE, errors, counted)
            return None
        eni = None
        az = None
        wait = 0.0
        if f.net is not None:
            eni, cause = self.net.acquire(f.net, t)
            if eni is None:
                if bucket is not None:
                    bucket.refund()  # no environment was created
                self._reject(f, t, t0, attempt, _OUT[cause], errors, counted)  # type: ignore[index]
                return None
            az = eni.az
            if eni.ready_at > t:
                wait = eni.ready_at - t
        env = _Env(f, eni, az, False)
        env.wait = wait
        if az is not None:
            az.envs[env] = None
        self.rec.created(f, t)
        return env

    # -- endings -------------------------------------------------------------------------------------------------
    def _on_end(self, env: _Env) -> None:
        """§3.6: the execution on ``env`` ends (a success, or a timeout); the environment goes idle."""
        if env.lost:
            return  # its AZ went down; the invocation already failed
        t = env.end
        f = env.fn
        f.in_flight -= 1
        if f.reserved is None and f.in_flight >= f.own:
            self.pool_in_flight -= 1
        env.busy = False
        if env.timed_out:
            self.rec.stopped(env, t)
            self._failed(f, t, env.t0, env.attempt, TIMEOUT, env, env.errors)
            if not env.provisioned:
                # Lambda resets an environment whose execution timed out: the next invocation starts cold.
                self._drop(env, t)
                return
        else:
            self.rec.succeeded(env, t)
            if self.record:
                self.rec.row(f, env.arr, env.start, t, SUCCESS, env, env.attempt, env.t0)
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
            env.timer = token = (env,)
            self.loop.at(expire, self._on_keep_alive, token)

    def _failed(self, f: _Fn, t: float, t0: float, attempt: int, cause: int, env: _Env | None = None,
                errors: int = 0) -> None:
        """An attempt failed with ``cause``: retry it (§3.7) or record the invocation's final outcome.
        ``errors``: the async retries of function errors the invocation already had (counted apart from the retries
        of throttles, which do not use up its two retries of function errors)."""
        if self.record:
            self.rec.row(f, env.arr if env else t, env.start if env else None, t if env else None, cause, env,
                         attempt, t0)
        if f.async_:
            if cause in _RETRYABLE:
                # Backoff from 1 s, doubling with each retry of a throttle or 5xx (not with those of function errors).
                delay = min(ASYNC_BACKOFF_CAP_S, 2.0 ** (attempt - 1 - errors))
                if t + delay - t0 <= f.max_age:
                    self._retry(f, t + delay, t0, attempt + 1, errors)
                    return
                cause = DROPPED
            elif cause == TIMEOUT and errors < len(ASYNC_ERROR_RETRIES_S):
                delay = ASYNC_ERROR_RETRIES_S[errors]
                if t + delay - t0 <= f.max_age:
                    self._retry(f, t + delay, t0, attempt + 1, errors + 1)
                    return
                cause = DROPPED  # the event would be too old for its next retry (Lambda: EventAgeExceeded)
        elif f.retry is not None and cause in _RETRYABLE and attempt < f.retry.attempts:
            # The SDK's full-jitter backoff: uniform(0, min(cap, base * 2^(attempt-1))).
            backoff = min(f.retry.cap, f.retry.base * 2.0 ** (attempt - 1))
            self._retry(f, t + float(f.rng_retry().random()) * backoff, t0, attempt + 1)
            return
        self.rec.failed(f, t, t0, cause)

    def _retry(self, f: _Fn, at: float, t0: float, attempt: int, errors: int = 0) -> None:
        self.pending += 1
        self.loop.at(at, self._on_retry, (f, t0, attempt, errors))

    # -- keep-alive and environment loss ----------------------------------------------------------------------------
    def _on_keep_alive(self, token: tuple[_Env]) -> None:
        env = token[0]
        if env.timer is not token:
            return  # superseded by an earlier expiry
        env.timer = None
        env.timer_at = math.inf
        if env.busy or env.lost:
            return  # re-armed when it goes idle again
        t = self.loop.now
        if t < env.expire:
            env.timer_at = env.expire
            env.timer = token = (env,)
            self.loop.at(env.expire, self._on_keep_alive, token)
            return
        del env.fn.idle[env]
        self._drop(env, t)

    def _drop(self, env: _Env, t: float) -> None:
        """The environment is gone (reclaimed, reset or lost): release its ENI slot."""
        f = env.fn
        env.lost = True  # a keep-alive timer still pending for it must not reclaim it twice
        if env.az is not None:
            env.az.envs.pop(env, None)
        self.rec.dropped(f, t)
        if env.eni is not None:
            # An environment has an ENI only if its function is in the VPC, so f.net is set (a cast, not a check).
            self.net.release(env.eni, t, cast("FnNet", f.net))

    # -- scenario events -------------------------------------------------------------------------------------------
    def _on_event(self, i: int) -> None:
        spec = self.sc.events[i]
        t = self.loop.now
        if isinstance(spec, AzOutage):
            az = self.net.azs[spec.az]
            self.net.az_down(az, t)
            for env in list(az.envs):
                self._lose(env, t)
            self.loop.at(t + spec.for_, self._on_az_back, az, URGENT)
        elif isinstance(spec, IpsTaken):
            got = self.net.take_ips(spec.subnet, spec.count, t)
            if got < spec.count:
                log.info("ips_taken at %gs: subnet %s had only %d free addresses", t, spec.subnet, got)
        elif isinstance(spec, IpsReleased):
            self.net.release_ips(spec.subnet, spec.count, t)

    def _on_az_back(self, az: AzState) -> None:
        self.net.az_up(az, self.loop.now)

    def _lose(self, env: _Env, t: float) -> None:
        """§3.9: an environment of a downed AZ is lost; an invocation running on it fails ``az_outage``."""
        f = env.fn
        env.lost = True
        if env.busy:
            env.busy = False
            f.in_flight -= 1
            if f.reserved is None and f.in_flight >= f.own:
                self.pool_in_flight -= 1
            self.rec.stopped(env, t)  # billed until its environment was lost
            self._failed(f, t, env.t0, env.attempt, AZ_OUTAGE, env, env.errors)
        elif env.provisioned:
            f.idle_prov.remove(env)
        else:
            del f.idle[env]
        self._drop(env, t)

    # -- time ----------------------------------------------------------------------------------------------------
    def _on_tick(self, k: int) -> None:
        rec = self.rec
        t = self.loop.now
        rec.tick(k, t, self.net)
        if k == rec.nsteps - 1:
            rec.ended(t)
        else:
            self.loop.at(min((k + 2) * self.sc.timestep, self.horizon), self._on_tick, k + 1, FIRST)

    def _on_warmup(self, _: Any) -> None:
        self.rec.warmed_up(self.loop.now, self.fns, self.net)

    # -- run -----------------------------------------------------------------------------------------------------
    def run(self, progress: Callable[[float], None] | None = None) -> Engine:
        """Simulate to the horizon, then let what is in flight (and pending retries) finish.

        Python's cycle collector is paused during the run (and restored after, as it was): the engine makes no
        reference cycles (its garbage goes with reference counts; tests/test_many_functions.py checks that a run
        leaves no cycle to collect), and the collector's full passes over a heap that grows with the scenario's
        functions took a fifth to a quarter of the engine's time at 3,000 to 10,000 functions (docs/model.md). The
        same holds while the engine is built: at 10,000 functions the collector took two thirds of that time."""
        started = time.perf_counter()
        with collector_paused():
            self._setup()
            loop = self.loop
            chunks = 100 if progress is not None else 1
            for i in range(1, chunks + 1):
                loop.run(until=self.horizon * i / chunks)
                if progress is not None:
                    progress(i / chunks)
            rec = self.rec
            while not rec.at_horizon and loop.pending():  # the last tick is at exactly the horizon
                loop.step()
            while (rec.conc or self.pending) and loop.pending():
                loop.step()
        self.wall_s = time.perf_counter() - started
        return self


def simulate_once(scenario: Scenario, seed: int | None = None, replication: int = 0,
                  record_invocations: bool = False, progress: Callable[[float], None] | None = None) -> Engine:
    """Run the model once and return the finished engine (``results.build_result`` turns it into a Result)."""
    with collector_paused():  # from building to the end of the run (re-enabled in between, it would collect at once)
        engine = Engine(scenario, scenario.seed if seed is None else seed, replication, record_invocations)
        return engine.run(progress)
