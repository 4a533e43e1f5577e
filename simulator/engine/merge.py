"""Every arrival process of a scenario merged into one time-ordered stream of (time, function), a window at a time.

The engine handles one stream, whatever the number of functions and processes, without a heap operation per
arrival: each process draws its times in numpy blocks (:mod:`simulator.scenario.arrivals`), and a window takes from every
process the times before the window's end and sorts them together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from heapq import heappop, heappush
from typing import Any

import numpy as np

from .loop import Source

__all__ = ["ArrivalStream"]

_EMPTY = np.empty(0)
_UNREAD = object()  # a process's next block, not read yet


class ArrivalStream(Source):
    """Every arrival process of the scenario merged into one time-ordered stream, one window at a time.

    Each window takes from the processes the arrival times before the window's end and sorts them together (a
    stable sort over the parts in process order: simultaneous arrivals keep the processes' order), so the engine
    handles one stream, whatever the number of functions, without a heap operation per arrival.

    Memory is bounded by count, not by a share of the horizon: a window never reaches past the end of a process's
    current block while that process has another block to come (each process holds one block of at most a few
    thousand times), and its span adapts to hold about ``_WINDOW`` arrivals, or ``_PER_PROCESS`` per live process
    when there are many. A 30-day run at 1,000/s holds what a one-minute run holds. The merged order is the sort by
    (time, process) whatever the windows, so where they fall changes nothing in the results.

    Cost does not grow with the number of processes: a window touches only the processes with an arrival in it
    (a heap keyed by each process's next time), and a process's last block bounds no window: the process whose
    block end would bound one reads its next block ahead, and if there is none the end bounds nothing. Without
    that, each of N processes ending would close a window of its own, and each window would visit all N.
    """

    _WINDOW = 8192
    _PER_PROCESS = 8  # arrivals per live process a window aims at (bounds the heap work per arrival)
    _FIRST_SPAN_S = 1.0  # grows fourfold per empty window, so a sparse load costs a few empty windows

    def __init__(self, sources: list[tuple[Any, Iterator[np.ndarray]]], horizon: float,
                 handler: Callable[[ArrivalStream], None], on_window: Callable[[np.ndarray], None]):
        self.fns = [fn for fn, _ in sources]
        self.blocks = [blocks for _, blocks in sources]
        self.current: list[np.ndarray] = [_EMPTY] * len(sources)
        # The block after the current one, once read ahead: _UNREAD until then, None when there is none.
        self.following: list[np.ndarray | None | object] = [_UNREAD] * len(sources)
        self.by_next: list[tuple[float, int]] = []  # (next arrival time, process) of the processes with times left
        self.ends: list[tuple[float, int]] = []  # (end of the current block, process) unless known to be the last
        self.start = 0.0
        self.span = min(self._FIRST_SPAN_S, max(horizon, 1e-3))
        self.horizon = horizon
        self.times: list[float] = []
        self.fn_of: list[Any] = []
        self.i = 0
        self.key = None  # the next arrival's key in the event loop (set by the handler)
        self.handler = handler  # handles arrivals from the next one on, while they come first
        self.on_window = on_window  # told every window's arrival times at once (the per-step arrival counts)
        for k in range(len(sources)):
            self._install(k, self._next_block(k))

    def fire(self) -> None:
        self.handler(self)

    def _next_block(self, k: int) -> np.ndarray | None:
        """Process ``k``'s next non-empty block, or None when it has no more."""
        for block in self.blocks[k]:
            if len(block):
                return np.asarray(block, dtype=float)
        return None

    def _install(self, k: int, block: np.ndarray | None) -> None:
        """Make ``block`` process ``k``'s current one (None: the process is done)."""
        self.following[k] = _UNREAD
        if block is None:
            self.current[k] = _EMPTY
            return
        self.current[k] = block
        heappush(self.by_next, (float(block[0]), k))
        heappush(self.ends, (float(block[-1]), k))

    def _bound(self, until: float) -> float:
        """``until``, or earlier: just past the first block end before it of a process with another block to come
        (read ahead here, for those processes only); the ends of last blocks are dropped."""
        ends, following = self.ends, self.following
        while ends and ends[0][0] < until:
            k = ends[0][1]
            if following[k] is _UNREAD:
                following[k] = self._next_block(k)
            if following[k] is not None:
                return float(np.nextafter(ends[0][0], math.inf))
            heappop(ends)  # its last block: the process ends there, nothing to wait for
        return until

    def refill(self) -> bool:
        """Load the next non-empty window; False when every process is exhausted."""
        by_next, ends, current = self.by_next, self.ends, self.current
        while by_next:
            # Up to the earliest end of a block that another follows (that time included: ties there are taken
            # together, in process order); the block after it is only read from the next window on.
            until = self._bound(self.start + self.span)
            taken: list[int] = []
            while by_next and by_next[0][0] < until:
                taken.append(heappop(by_next)[1])
            self.start = until
            if not taken:
                self.span *= 4  # an empty window: look further ahead next time
                continue
            taken.sort()  # process order, which the stable sort below keeps for simultaneous arrivals
            parts: list[np.ndarray] = []
            used_up: list[int] = []
            for k in taken:
                cur = current[k]
                cut = int(np.searchsorted(cur, until, side="left"))
                parts.append(cur[:cut])
                if cut < len(cur):
                    rest = cur[cut:]
                    current[k] = rest
                    heappush(by_next, (float(rest[0]), k))
                else:
                    used_up.append(k)
            while ends and ends[0][0] < until:  # those blocks are used up: every time before `until` was taken
                heappop(ends)
            for k in used_up:
                following = self.following[k]
                self._install(k, self._next_block(k) if following is _UNREAD else following)  # type: ignore[arg-type]
            times = np.concatenate(parts) if len(parts) > 1 else parts[0]
            self.on_window(times)
            count = len(times)
            target = max(self._WINDOW, self._PER_PROCESS * len(by_next))
            self.span *= min(4.0, max(0.25, target / count))
            if len(parts) == 1:
                self.times = times.tolist()
                self.fn_of = [self.fns[taken[0]]] * count
            else:
                who = np.repeat(np.asarray(taken), [len(p) for p in parts])
                order = np.argsort(times, kind="stable")
                self.times = times[order].tolist()
                fns = self.fns
                self.fn_of = [fns[k] for k in who[order].tolist()]
            self.i = 0
            return True
        return False
