"""The engine's own event loop (simulator/engine/loop.py) handles events in SimPy's order, exactly.

The engine left SimPy (docs/model.md, "The event loop") but keeps its deterministic tie-break: by time, then by
priority, then by the order of scheduling. SimPy stays the reference: the same random schedules, including events
scheduled from inside callbacks, same-instant ties of every priority and times that are not exact in binary, are run
through both and must be handled in the same order at the same times.
"""

from __future__ import annotations

import random

import pytest
import simpy
from simpy.core import NORMAL as SIMPY_NORMAL
from simpy.core import URGENT as SIMPY_URGENT

from simulator.engine.loop import NORMAL, URGENT, Loop, Source

DELAYS = [0.0, 0.0, 0.1, 0.1, 0.2, 0.3, 1 / 3, 0.7, 1.0, 2.5]  # many ties; 0.1 + 0.2 is not 0.3 in binary


def _plan(seed: int, n: int = 300) -> list[tuple[int, float, bool, list[tuple[float, bool]]]]:
    """``n`` events: (id, delay, urgent, children scheduled when it is handled: (delay, urgent))."""
    rng = random.Random(seed)
    return [(i, rng.choice(DELAYS), rng.random() < 0.4,
             [(rng.choice(DELAYS), rng.random() < 0.4) for _ in range(rng.choice((0, 0, 1, 2)))])
            for i in range(n)]


def _run_simpy(plan) -> list[tuple[float, str]]:
    env = simpy.Environment()
    order: list[tuple[float, str]] = []

    def schedule(name: str, delay: float, urgent: bool, children) -> None:
        ev = simpy.Event(env)
        ev._ok = True
        ev._value = None
        ev.callbacks.append(lambda _ev: handle(name, children))
        env.schedule(ev, SIMPY_URGENT if urgent else SIMPY_NORMAL, delay)

    def handle(name: str, children) -> None:
        order.append((env.now, name))
        for k, (delay, urgent) in enumerate(children):
            schedule(f"{name}.{k}", delay, urgent, [])

    for i, delay, urgent, children in plan:
        schedule(str(i), delay, urgent, children)
    env.run()
    return order


def _run_loop(plan) -> list[tuple[float, str]]:
    loop = Loop()
    order: list[tuple[float, str]] = []

    def handle(arg) -> None:
        name, children = arg
        order.append((loop.now, name))
        for k, (delay, urgent) in enumerate(children):
            loop.at(loop.now + delay, handle, (f"{name}.{k}", []), URGENT if urgent else NORMAL)

    for i, delay, urgent, children in plan:
        loop.at(delay, handle, (str(i), children), URGENT if urgent else NORMAL)
    loop.run(float("inf"))
    return order


@pytest.mark.parametrize("seed", range(8))
def test_the_loop_handles_events_in_simpys_order(seed):
    plan = _plan(seed)
    expected = _run_simpy(plan)
    assert len(expected) > len(plan)  # children were scheduled from callbacks
    assert _run_loop(plan) == expected


def test_the_priorities_are_simpys():
    # The loop's constants are SimPy's own, so a model event and an arrival at the same instant keep SimPy's order.
    assert (URGENT, NORMAL) == (SIMPY_URGENT, SIMPY_NORMAL)


class _Arrivals(Source):
    """A time-ordered stream outside the heap, like the engine's merged arrivals."""

    def __init__(self, loop: Loop, times: list[float], order: list[tuple[float, str]]):
        self.loop, self.times, self.order, self.i = loop, times, order, 0
        self.key = loop.key(times[0]) if times else None

    def fire(self) -> None:
        self.order.append((self.loop.now, f"a{self.i}"))
        self.i += 1
        self.key = self.loop.key(self.times[self.i]) if self.i < len(self.times) else None


@pytest.mark.parametrize("seed", range(4))
def test_a_source_keeps_the_order_the_heap_would_give(seed):
    # The arrivals skip the heap; the order must be the one they would have had on it.
    rng = random.Random(seed)
    times = sorted(rng.choice(DELAYS) * rng.randint(1, 4) for _ in range(100))
    timers = [(rng.choice(DELAYS) * rng.randint(1, 4), rng.random() < 0.5) for _ in range(100)]

    def through_heap():
        loop, order = Loop(), []
        # An arrival schedules the next one when it is handled, as the engine's source does.
        def arrive(i):
            order.append((loop.now, f"a{i}"))
            if i + 1 < len(times):
                loop.at(times[i + 1], arrive, i + 1)
        loop.at(times[0], arrive, 0)
        for k, (t, urgent) in enumerate(timers):
            loop.at(t, lambda k: order.append((loop.now, f"t{k}")), k, URGENT if urgent else NORMAL)
        loop.run(float("inf"))
        return order

    def through_source():
        loop, order = Loop(), []
        loop.source = _Arrivals(loop, times, order)
        for k, (t, urgent) in enumerate(timers):
            loop.at(t, lambda k: order.append((loop.now, f"t{k}")), k, URGENT if urgent else NORMAL)
        loop.run(float("inf"))
        return order

    assert through_source() == through_heap()


def test_run_stops_before_until_and_resumes():
    loop, seen = Loop(), []
    for t in (1.0, 2.0, 2.0, 3.0):
        loop.at(t, seen.append, t)
    loop.run(2.0)
    assert seen == [1.0] and loop.pending()
    loop.run(10.0)
    assert seen == [1.0, 2.0, 2.0, 3.0] and not loop.pending()
