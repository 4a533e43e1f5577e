"""The event loop: one heap of ``(time, priority, sequence, callback, argument)``, popped in order.

The engine owns its loop instead of driving SimPy's (issue 11): SimPy's ``Environment`` is a fine general-purpose
scheduler, but this model needs no processes, no yields and no event objects, and reaching into SimPy's private
queue for speed made every SimPy release a risk to the results. The order is SimPy's, exactly: by time, then by
priority (``FIRST`` < ``URGENT`` < ``NORMAL``), then by the order in which events were scheduled (a counter), so the
same scenario and seed give the same results as the SimPy-based engine did, bit for bit. ``docs/model.md`` has the
benchmark figures behind the decision.

A callback is a plain function of one argument. An event cannot be cancelled: a timer that is no longer wanted
checks, when it fires, whether it is still the one its owner expects (a token), and returns.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

__all__ = ["Loop", "FIRST", "URGENT", "NORMAL"]

FIRST = -1  # the end of a time step: before anything else at the same instant
URGENT = 0  # model events (ends of executions, scenario events): before arrivals and timers at the same instant
NORMAL = 1  # arrivals, retries and timers

Callback = Callable[[Any], None]


class Loop:
    """A discrete-event clock and its future events."""

    __slots__ = ("now", "heap", "_seq")

    def __init__(self) -> None:
        self.now = 0.0
        self.heap: list[tuple[float, int, int, Callback, Any]] = []
        self._seq = itertools.count()

    def at(self, t: float, callback: Callback, arg: Any = None, priority: int = NORMAL) -> None:
        """``callback(arg)`` at time ``t`` (>= now). The time is stored as ``now + (t - now)``, which is how SimPy
        turned a time into a delay and back; it can differ from ``t`` in the last bit, and keeping it keeps every
        result identical to the SimPy-based engine's."""
        now = self.now
        heappush(self.heap, (now + (t - now), priority, next(self._seq), callback, arg))

    def push(self, t: float, callback: Callback, arg: Any, priority: int = URGENT) -> None:
        """``callback(arg)`` at exactly ``t`` (the ends of executions, scheduled by their own end time)."""
        heappush(self.heap, (t, priority, next(self._seq), callback, arg))

    def seq(self) -> int:
        """A fresh sequence number (for code that pushes onto :attr:`heap` itself, in the hottest path)."""
        return next(self._seq)

    def step(self) -> None:
        """Handle the next event."""
        t, _, _, callback, arg = heappop(self.heap)
        self.now = t
        callback(arg)

    def run(self, until: float) -> None:
        """Handle every event before time ``until`` (events at ``until`` wait for the next call)."""
        heap = self.heap
        while heap and heap[0][0] < until:
            t, _, _, callback, arg = heappop(heap)
            self.now = t
            callback(arg)
