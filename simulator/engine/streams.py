"""Random streams: one named ``SeedSequence`` child per stream, and samplers that draw numbers in blocks.

Every random stream has its own child keyed by the stream's *name* (``arrivals/checkout/0``, ``duration/checkout``,
``eni_attach/checkout``, ``placement/checkout``...), so adding a function does not reshuffle the others and the same
seed gives the same results on any machine and in any worker process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ..scenario.distributions import Constant

__all__ = ["stream", "LazyStream", "sampler", "BLOCK"]

BLOCK = 4096  # the largest block of draws a sampler holds


def stream(seed: int, replication: int, *names: str) -> np.random.Generator:
    """The generator of one named random stream (one ``SeedSequence`` child per stream)."""
    key = [replication] + [int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8).digest(), "little")
                           for n in names]
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key)))


class LazyStream:
    """A named random stream whose generator is made when first asked for (call it): making one costs about 30 µs,
    and a function has seven streams, most never drawn from in a run (a constant init or keep-alive, no retries,
    balanced placement). The generator is the one :func:`stream` makes, so results do not depend on laziness."""

    __slots__ = ("_key", "_rng")

    def __init__(self, seed: int, replication: int, *names: str):
        self._key: tuple | None = (seed, replication, names)
        self._rng: np.random.Generator | None = None

    def __call__(self) -> np.random.Generator:
        rng = self._rng
        if rng is None:
            seed, replication, names = self._key  # type: ignore[misc]
            rng = self._rng = stream(seed, replication, *names)
            self._key = None
        return rng


def sampler(dist: Any, rng: np.random.Generator | LazyStream) -> Callable[[], float]:
    """A zero-argument function that returns the next draw. Draws come in numpy blocks that start small and double
    up to :data:`BLOCK` (a scenario with hundreds of rarely-called functions must not hold thousands of unused
    draws for each); a :class:`LazyStream` is only made into a generator at the first draw (never for a constant)."""
    if isinstance(dist, Constant):
        value = dist.value
        return lambda: value
    buf: list[float] = []
    size = [16]
    generator = rng if isinstance(rng, np.random.Generator) else None

    def draw() -> float:
        nonlocal generator
        if not buf:
            if generator is None:
                generator = rng()  # type: ignore[operator]
            block = dist.sample(generator, size[0]).tolist()
            block.reverse()
            buf.extend(block)
            size[0] = min(size[0] * 2, BLOCK)
        return buf.pop()

    return draw
