"""The event loop: one heap of ``(time, priority, sequence, callback, argument)``, popped in order.

The engine owns its loop instead of driving SimPy's (issue 11): SimPy's ``Environment`` is a fine general-purpose
scheduler, but this model needs no processes, no yields and no event objects, and reaching into SimPy's private
queue for speed made every SimPy release a risk to the results. The order is SimPy's, exactly: by time, then by
priority (``FIRST`` < ``URGENT`` < ``NORMAL``), then by the order in which events were scheduled (a counter), so the
same scenario and seed give the same results as the SimPy-based engine did, bit for bit. ``docs/model.md`` has the
benchmark figures behind the decision.

A callback is a plain function of one argument. An event cannot be cancelled: a timer that is no longer wanted
checks, when it fires, whether it is still the one its owner expects (a token), and returns.

Besides the heap, the loop has one *source*: a stream of events that is already in time order (the merged
arrivals). Its next event has a key like a heap entry's, ``(time, priority, sequence)``; the loop hands control to
the source whenever that key comes first, and the source handles its events for as long as they come before the
heap's head, then sets its next key. The order is the same as if every arrival went through the heap; a run saves a
push and a pop for each.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

__all__ = ["Loop", "Source", "FIRST", "URGENT", "NORMAL"]

FIRST = -1  # the end of a time step: before anything else at the same instant
URGENT = 0  # model events (ends of executions, scenario events): before arrivals and timers at the same instant
NORMAL = 1  # arrivals, retries and timers

Callback = Callable[[Any], None]


class Source:
    """A time-ordered stream of events outside the heap: ``key`` is its next event's ``(time, priority, sequence)``
    (None when it has no more), ``fire()`` handles events from that one on."""

    key: tuple[float, int, int] | None = None

    def fire(self) -> None:  # pragma: no cover - the engine's merged arrivals override it
        raise NotImplementedError


class Loop:
    """A discrete-event clock, its future events and (optionally) one ordered source of events."""

    __slots__ = ("now", "heap", "_seq", "source")

    def __init__(self) -> None:
        self.now = 0.0
        self.heap: list[tuple[float, int, int, Callback, Any]] = []
        self._seq = itertools.count()
        self.source: Source | None = None

    def at(self, t: float, callback: Callback, arg: Any = None, priority: int = NORMAL) -> None:
        """``callback(arg)`` at time ``t`` (>= now). The time is stored as ``now + (t - now)``, which is how SimPy
        turned a time into a delay and back; it can differ from ``t`` in the last bit, and keeping it keeps every
        result identical to the SimPy-based engine's."""
        now = self.now
        heappush(self.heap, (now + (t - now), priority, next(self._seq), callback, arg))

    def push(self, t: float, callback: Callback, arg: Any, priority: int = URGENT) -> None:
        """``callback(arg)`` at exactly ``t`` (the ends of executions, scheduled by their own end time)."""
        heappush(self.heap, (t, priority, next(self._seq), callback, arg))

    def key(self, t: float, priority: int = NORMAL) -> tuple[float, int, int]:
        """The key an event scheduled now for time ``t`` gets (for the source's next event)."""
        now = self.now
        return (now + (t - now), priority, next(self._seq))

    def seq_counter(self) -> Callable[[], int]:
        """The function that gives fresh sequence numbers, for code that pushes onto :attr:`heap` itself in the
        hottest path (an entry is ``(time, priority, seq(), callback, argument)``)."""
        return self._seq.__next__

    def pending(self) -> bool:
        """Whether any event is left (on the heap or in the source)."""
        return bool(self.heap) or (self.source is not None and self.source.key is not None)

    def step(self) -> None:
        """Handle the next event."""
        self.run(math.inf, once=True)

    def run(self, until: float, once: bool = False) -> None:
        """Handle every event before time ``until`` (events at ``until`` wait for the next call); with ``once``,
        only the next event."""
        heap = self.heap
        source = self.source
        pop = heappop
        while True:
            key = source.key if source is not None else None
            if heap and (key is None or heap[0] < key):
                if heap[0][0] >= until:
                    return
                t, _, _, callback, arg = pop(heap)
                self.now = t
                callback(arg)
            elif key is not None:
                if key[0] >= until:
                    return
                self.now = key[0]
                source.fire()  # type: ignore[union-attr]
            else:
                return
            if once:
                return
