"""The limits of the model, each written once: the unreserved concurrency pool, a subnet's free addresses and the
token buckets of scaling credit and of EC2's API.

The engine applies them event by event; the closed forms of :mod:`simulator.analysis.capacity` call the same
functions, so a rule and its ceiling cannot drift apart.
"""

from __future__ import annotations

from ..scenario.models import Scenario
from ..scenario.sections import Function

__all__ = ["TokenBucket", "unreserved_pool", "concurrency_ceiling", "free_ips"]


def unreserved_pool(scenario: Scenario) -> int:
    """The account concurrency that functions without a reservation share (§3.1): the limit minus every reservation
    and minus the provisioned concurrency of functions without one (which AWS sets aside for them, AWS facts §4)."""
    taken = sum(f.reserved_concurrency if f.reserved_concurrency is not None else f.provisioned_concurrency
                for f in scenario.functions)
    return scenario.region.concurrency_limit - taken


def concurrency_ceiling(scenario: Scenario, fn: Function, pool: int | None = None) -> int:
    """The concurrency ``fn`` can reach before it is throttled: its reservation, or the shared pool plus its own
    provisioned concurrency. ``pool`` saves recomputing :func:`unreserved_pool` (a sum over every function)."""
    if fn.reserved_concurrency is not None:
        return fn.reserved_concurrency
    return (unreserved_pool(scenario) if pool is None else pool) + fn.provisioned_concurrency


def free_ips(usable: int, other: int, enis: int) -> int:
    """A subnet's free addresses (§3.4): usable (CIDR size - 5) minus those other resources hold (``ips_in_use``,
    addresses taken by events) minus Lambda's ENIs in it."""
    return usable - other - enis


class TokenBucket:
    """A token bucket refilled continuously and read lazily: scaling credit (§3.3, one per account or per function)
    and EC2's CreateNetworkInterface rate (§3.4, AWS facts §6).

    ``take(now)`` spends a token if there is one. ``take_or_wait(now)`` always spends one, going into debt when the
    bucket is empty, and returns how long the caller waits for it (EC2's ``on_throttle: wait``)."""

    __slots__ = ("size", "rate", "tokens", "last")

    def __init__(self, size: float, per_s: float):
        self.size = size
        self.rate = per_s
        self.tokens = size
        self.last = 0.0

    def _level(self, now: float) -> float:
        tokens = self.tokens + (now - self.last) * self.rate
        self.last = now
        return tokens if tokens < self.size else self.size

    def take(self, now: float) -> bool:
        tokens = self._level(now)
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False

    def take_or_wait(self, now: float) -> float:
        """Spend a token; the delay until it exists (0 when one is there). The bucket goes into debt."""
        tokens = self._level(now)
        self.tokens = tokens - 1.0
        return 0.0 if tokens >= 1.0 else -self.tokens / self.rate

    def refund(self) -> None:
        """Give back a token spent for nothing (no environment was created)."""
        self.tokens = min(self.size, self.tokens + 1.0)
