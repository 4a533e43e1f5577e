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

__all__ = ["stream", "sampler", "BLOCK"]

BLOCK = 4096  # the largest block of draws a sampler holds


def stream(seed: int, replication: int, *names: str) -> np.random.Generator:
    """The generator of one named random stream (one ``SeedSequence`` child per stream)."""
    key = [replication] + [int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8).digest(), "little")
                           for n in names]
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key)))


def sampler(dist: Any, rng: np.random.Generator) -> Callable[[], float]:
    """A zero-argument function that returns the next draw. Draws come in numpy blocks that start small and double
    up to :data:`BLOCK` (a scenario with hundreds of rarely-called functions must not hold thousands of unused
    draws for each)."""
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
            size[0] = min(size[0] * 2, BLOCK)
        return buf.pop()

    return draw
