"""Every arrival process of a scenario merged into one time-ordered stream of (time, function), a window at a time.

The engine handles one stream, whatever the number of functions and processes, without a heap operation per
arrival: each process draws its times in numpy blocks (:mod:`simulator.scenario.arrivals`), and a window takes from every
process the times before the window's end and sorts them together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .loop import Source

__all__ = ["ArrivalStream"]


class ArrivalStream(Source):
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

    def __init__(self, sources: list[tuple[Any, Iterator[np.ndarray]]], horizon: float,
                 handler: Callable[[ArrivalStream], None], on_window: Callable[[np.ndarray], None]):
        self.fns = [fn for fn, _ in sources]
        self.blocks = [blocks for _, blocks in sources]
        self.current = [np.empty(0) for _ in sources]
        self.active = list(range(len(sources)))
        self.start = 0.0
        self.span = min(self._FIRST_SPAN_S, max(horizon, 1e-3))
        self.horizon = horizon
        self.times: list[float] = []
        self.fn_of: list[Any] = []
        self.i = 0
        self.key = None  # the next arrival's key in the event loop (set by the handler)
        self.handler = handler  # handles arrivals from the next one on, while they come first
        self.on_window = on_window  # told every window's arrival times at once (the per-step arrival counts)

    def fire(self) -> None:
        self.handler(self)

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
            self.on_window(times)
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
