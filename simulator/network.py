"""Subnets, address pools, ENIs and placement (SPEC §3.4, §3.6, §3.8, §3.9), without SimPy.

Two platforms sit behind one small interface, so that the engine never branches on the platform:

- :class:`LegacyNetwork` — the pre-2019 model: each function has its own ENIs, each with
  ``max(1, floor(eni_memory_gb * 1024 / memory_mb))`` environment slots; a new ENI takes an address at once, passes
  the regional ENI quota and the EC2 CreateNetworkInterface token bucket, and is ready after ``eni_attach``; an
  ENI left without environments for ``eni_idle_release`` is deleted and its address is free ``eni_delete`` later.
- :class:`HyperplaneNetwork` — today's model: one ENI per (subnet, security-group set), shared by every function
  with that combination and created before t=0; one more per ``connections_per_eni`` environments; no wait.

``acquire(fn, now)`` returns ``(eni, None)`` or ``(None, cause)``; ``release(eni, now)`` gives the slot back.
Timers (ENI ready, idle release, deletion) go through the ``schedule(t, callback, arg)`` the engine passes in.
Nothing here scans all ENIs or environments per event: free slots are found on a per-function stack, placement
looks only at the function's own subnets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .capacity import slots_per_eni
from .scenario import Function, Scenario

__all__ = ["SubnetState", "AzState", "Eni", "FnNet", "LegacyNetwork", "HyperplaneNetwork", "make_network"]

Schedule = Callable[[float, Callable[[Any], None], Any], None]


class SubnetState:
    """Addresses of one subnet. ``free = usable - other - enis`` never goes below 0 or above ``usable``."""

    __slots__ = ("id", "az", "index", "usable", "other", "enis", "min_free", "peak_used", "exhausted_at",
                 "exhausted_since", "exhausted_total", "step_min_free", "step_max_used")

    def __init__(self, sid: str, az: AzState, index: int, usable: int, other: int):
        self.id = sid
        self.az = az
        self.index = index
        self.usable = usable
        self.other = other  # addresses other resources hold (ips_in_use, events)
        self.enis = 0  # Lambda ENIs holding an address here (attaching, ready or being deleted)
        self.exhausted_at: float | None = None
        self.exhausted_since: float | None = None
        self.exhausted_total = 0.0
        self.reset_stats(0.0)
        self.step_min_free = self.min_free  # the time series' per-step extremes, reset by each tick only
        self.step_max_used = self.peak_used

    @property
    def free(self) -> int:
        return self.usable - self.other - self.enis

    @property
    def used(self) -> int:
        return self.other + self.enis

    def reset_stats(self, now: float) -> None:
        """Start measuring the summary's figures afresh (at t=0 and again at the end of the warm-up)."""
        free = self.free
        self.min_free = free
        self.peak_used = self.usable - free
        self.exhausted_total = 0.0
        self.exhausted_since = now if free <= 0 else None
        self.exhausted_at = now if free <= 0 else None

    def changed(self, now: float) -> None:
        """Book-keeping after ``other`` or ``enis`` changed."""
        free = self.usable - self.other - self.enis
        used = self.usable - free
        if free < self.min_free:
            self.min_free = free
        if used > self.peak_used:
            self.peak_used = used
        if free < self.step_min_free:
            self.step_min_free = free
        if used > self.step_max_used:
            self.step_max_used = used
        if free <= 0:
            if self.exhausted_since is None:
                self.exhausted_since = now
                if self.exhausted_at is None:
                    self.exhausted_at = now
        elif self.exhausted_since is not None:
            self.exhausted_total += now - self.exhausted_since
            self.exhausted_since = None

    def exhausted_for(self, now: float) -> float:
        extra = now - self.exhausted_since if self.exhausted_since is not None else 0.0
        return self.exhausted_total + extra


class AzState:
    """An Availability Zone: up or down, and what lives in it (for an outage)."""

    __slots__ = ("name", "up", "down", "envs", "enis", "subnets")

    def __init__(self, name: str):
        self.name = name
        self.up = True
        self.down = 0  # outages in progress: overlapping outages keep the AZ down until the last one ends
        self.envs: dict[Any, None] = {}  # environments in this AZ, for az_outage
        self.enis: dict[Eni, None] = {}  # legacy ENIs in this AZ
        self.subnets: list[SubnetState] = []


class Eni:
    """A legacy ENI of one function (or, on hyperplane, a (subnet, security groups) combination's capacity)."""

    __slots__ = ("fn", "subnet", "az", "slots", "used", "ready_at", "ready", "deleting", "in_free", "empty_since",
                 "timer", "seq")

    def __init__(self, fn: FnNet | None, subnet: SubnetState, slots: int, ready_at: float, seq: int):
        self.fn = fn
        self.subnet = subnet
        self.az = subnet.az
        self.slots = slots
        self.used = 0
        self.ready_at = ready_at
        self.ready = False
        self.deleting = False
        self.in_free = False
        self.empty_since = 0.0
        self.timer: object | None = None
        self.seq = seq


class FnNet:
    """A function's view of the network: its subnets, its ENIs with a free slot, its ENIs per AZ."""

    __slots__ = ("name", "subnets", "slots", "free", "az_count", "rr", "sg", "enis", "attach", "rng_place")

    def __init__(self, name: str, subnets: list[SubnetState], slots: int, sg: tuple[str, ...],
                 attach: Callable[[], float], rng_place: np.random.Generator):
        self.name = name
        # The function's own random streams (SPEC §3: adding a function must not change another's ENI waits).
        self.attach = attach
        self.rng_place = rng_place
        self.subnets = subnets
        self.slots = slots
        self.free: list[Eni] = []  # ENIs that had a free slot when pushed (checked again when popped)
        self.az_count: dict[str, int] = {s.az.name: 0 for s in subnets}
        self.rr = 0
        self.sg = sg
        self.enis = 0


class _Base:
    """What both platforms share: subnets, AZs, placement, address book-keeping."""

    def __init__(self, scenario: Scenario, schedule: Schedule, clock: Callable[[], float]):
        self.scenario = scenario
        self.schedule = schedule
        self.clock = clock
        self.azs: dict[str, AzState] = {}
        self.subnets: dict[str, SubnetState] = {}
        for i, s in enumerate(scenario.vpc.subnets):
            az = self.azs.setdefault(s.az, AzState(s.az))
            st = SubnetState(s.id, az, i, s.usable_ips, s.ips_in_use)
            az.subnets.append(st)
            self.subnets[s.id] = st
        self.placement = scenario.vpc.placement
        self.failover = scenario.vpc.subnet_failover
        self.enis_ready = 0
        self.enis_attaching = 0
        self.enis_deleting = 0
        self.peak_enis = 0
        self.enis_created = 0

    def fn_net(self, fn: Function, attach: Callable[[], float], rng_place: np.random.Generator) -> FnNet:
        """The function's view of the network, with its own ENI-attach sampler and placement generator."""
        return FnNet(fn.name, [self.subnets[s] for s in fn.subnets], slots_per_eni(self.scenario, fn),
                     tuple(sorted(fn.security_groups)), attach, rng_place)

    @property
    def n_enis(self) -> int:
        return self.enis_ready + self.enis_attaching + self.enis_deleting

    def order(self, f: FnNet) -> list[SubnetState]:
        """The function's subnets in up AZs, in the order placement tries them (failover walks the rest)."""
        up = [s for s in f.subnets if s.az.up]
        if len(up) <= 1:
            return up
        if self.placement == "balanced":
            # Fewest ENIs (environments on hyperplane) of this function in the AZ, then the most free addresses.
            return sorted(up, key=lambda s: (f.az_count[s.az.name], -s.free, s.index))
        if self.placement == "round-robin":
            k = f.rr % len(up)
            f.rr += 1
            return up[k:] + up[:k]
        return [up[i] for i in f.rng_place.permutation(len(up))]

    # Events that change addresses (SPEC §3.9).
    def take_ips(self, sid: str, count: int, now: float) -> int:
        """Another workload takes up to ``count`` addresses (no more than are free). Returns how many it got."""
        s = self.subnets[sid]
        got = max(0, min(count, s.free))
        s.other += got
        s.changed(now)
        return got

    def release_ips(self, sid: str, count: int, now: float) -> int:
        """Another workload gives back up to ``count`` addresses (no more than other workloads hold)."""
        s = self.subnets[sid]
        back = max(0, min(count, s.other))
        s.other -= back
        s.changed(now)
        return back


class LegacyNetwork(_Base):
    """Per-function ENIs with memory-based slots, attach latency, idle release and delete delay (SPEC §3.4-§3.6)."""

    def __init__(self, scenario: Scenario, schedule: Schedule, clock: Callable[[], float]):
        super().__init__(scenario, schedule, clock)
        region = scenario.region
        self.quota = region.eni_quota
        self.region_enis = region.enis_in_use  # other ENIs of the region count against the same quota
        self.peak_region_enis = self.region_enis
        self.ec2_size = float(region.ec2_api.bucket)
        self.ec2_rate = region.ec2_api.refill_per_s
        self.ec2_wait = region.ec2_api.on_throttle == "wait"
        self.ec2_tokens = self.ec2_size
        self.ec2_last = 0.0
        self.idle_release = scenario.vpc.eni_idle_release
        self.delete_s = scenario.vpc.eni_delete
        self._seq = 0

    def _ec2_take(self, now: float) -> float | None:
        """A CreateNetworkInterface call: the delay before EC2 accepts it (0 normally), or None if throttled."""
        tokens = min(self.ec2_size, self.ec2_tokens + (now - self.ec2_last) * self.ec2_rate)
        self.ec2_last = now
        if tokens >= 1.0:
            self.ec2_tokens = tokens - 1.0
            return 0.0
        if not self.ec2_wait:
            self.ec2_tokens = tokens
            return None
        # Wait in line: the bucket goes into debt and this call waits until it would be back at zero.
        self.ec2_tokens = tokens - 1.0
        return -self.ec2_tokens / self.ec2_rate

    def acquire(self, f: FnNet, now: float, initial: bool = False) -> tuple[Eni | None, str | None]:
        free = f.free
        while free:
            eni = free[-1]
            if eni.used < eni.slots and not eni.deleting and eni.az.up:
                eni.used += 1
                if eni.used >= eni.slots:
                    free.pop()
                    eni.in_free = False
                return eni, None
            free.pop()
            eni.in_free = False
        return self._create(f, now, initial)

    def _create(self, f: FnNet, now: float, initial: bool) -> tuple[Eni | None, str | None]:
        if self.region_enis >= self.quota:
            return None, "eni_limit"
        order = self.order(f)
        if not order:
            return None, "az_outage"  # every AZ of the function is down
        chosen = None
        for s in order:
            if s.usable - s.other - s.enis > 0:
                chosen = s
                break
            if not self.failover:
                break
        if chosen is None:
            return None, "subnet_ips"
        if initial:
            delay, attach = 0.0, 0.0  # provisioned concurrency: set up before t=0
        else:
            delay = self._ec2_take(now)
            if delay is None:
                return None, "ec2_throttled"
            attach = f.attach()
        self._seq += 1
        eni = Eni(f, chosen, f.slots, now + delay + attach, self._seq)
        eni.used = 1
        chosen.enis += 1
        chosen.changed(now)
        chosen.az.enis[eni] = None
        f.az_count[chosen.az.name] += 1
        f.enis += 1
        self.region_enis += 1
        self.enis_created += 1
        if self.region_enis > self.peak_region_enis:
            self.peak_region_enis = self.region_enis
        if eni.slots > 1:
            f.free.append(eni)
            eni.in_free = True
        if eni.ready_at <= now:
            eni.ready = True
            self.enis_ready += 1
        else:
            self.enis_attaching += 1
            self.schedule(eni.ready_at, self._on_ready, eni)
        n = self.enis_ready + self.enis_attaching + self.enis_deleting
        if n > self.peak_enis:
            self.peak_enis = n
        return eni, None

    def _on_ready(self, eni: Eni) -> None:
        if not eni.deleting:
            eni.ready = True
            self.enis_attaching -= 1
            self.enis_ready += 1

    def release(self, eni: Eni, now: float, f: FnNet) -> None:
        """An environment on ``eni`` is gone: free its slot; an empty ENI starts its idle-release clock."""
        eni.used -= 1
        if not eni.az.up:
            return  # frozen until the AZ is back (az_up looks at it then)
        if not eni.in_free and not eni.deleting:
            eni.fn.free.append(eni)  # type: ignore[union-attr]
            eni.in_free = True
        if eni.used == 0:
            eni.empty_since = now
            if eni.timer is None:
                self._arm(eni, now + self.idle_release)

    def _arm(self, eni: Eni, at: float) -> None:
        token = object()
        eni.timer = token
        self.schedule(at, self._on_idle, (eni, token))

    def _on_idle(self, arg: tuple[Eni, object]) -> None:
        eni, token = arg
        if eni.timer is not token:
            return
        eni.timer = None
        if eni.used or eni.deleting or not eni.az.up:
            return
        due = eni.empty_since + self.idle_release
        if self.clock() < due:
            self._arm(eni, due)  # reused and emptied again since the timer was set
            return
        self._delete(eni)

    def _delete(self, eni: Eni) -> None:
        f = eni.fn
        assert f is not None
        eni.deleting = True
        f.az_count[eni.az.name] -= 1  # placement counts the ENIs that stay; f.enis counts until the address is free
        if eni.ready:
            self.enis_ready -= 1
        else:
            self.enis_attaching -= 1
        self.enis_deleting += 1
        self.schedule(self.clock() + self.delete_s, self._on_deleted, eni)

    def _on_deleted(self, eni: Eni) -> None:
        self.enis_deleting -= 1
        self.region_enis -= 1
        eni.fn.enis -= 1  # type: ignore[union-attr]
        s = eni.subnet
        s.enis -= 1
        s.changed(self.clock())
        del eni.az.enis[eni]

    def az_down(self, az: AzState, now: float) -> None:
        az.down += 1
        az.up = False  # its ENIs keep their addresses and take no new environment (SPEC §3.9)

    def az_up(self, az: AzState, now: float) -> None:
        az.down -= 1
        if az.down:
            return  # another outage of this AZ is still going on
        az.up = True
        for eni in az.enis:
            if eni.deleting:
                continue
            if eni.used < eni.slots and not eni.in_free:
                eni.fn.free.append(eni)  # type: ignore[union-attr]
                eni.in_free = True
            if eni.used == 0:
                eni.empty_since = now
                if eni.timer is None:
                    self._arm(eni, now + self.idle_release)


class _Combo(Eni):
    """Hyperplane: the ENIs of one (subnet, security-group set); ``used`` counts environments, ``slots`` capacity."""

    __slots__ = ("enis",)


class HyperplaneNetwork(_Base):
    """Shared Hyperplane ENIs per (subnet, security-group set), created before t=0 (SPEC §3.8)."""

    def __init__(self, scenario: Scenario, schedule: Schedule, clock: Callable[[], float]):
        super().__init__(scenario, schedule, clock)
        self.per_eni = scenario.vpc.hyperplane.connections_per_eni
        self.quota = scenario.vpc.hyperplane.eni_quota_per_vpc
        self.vpc_enis = 0
        self.peak_region_enis = 0
        self.combos: dict[tuple[str, tuple[str, ...]], _Combo] = {}
        for fn in scenario.functions:
            sg = tuple(sorted(fn.security_groups))
            for sid in fn.subnets:
                key = (sid, sg)
                if key in self.combos:
                    continue
                combo = _Combo(None, self.subnets[sid], 0, -math.inf, len(self.combos))
                combo.enis = 0
                combo.ready = True
                self.combos[key] = combo
                self._add_eni(combo, 0.0)

    def _add_eni(self, combo: _Combo, now: float) -> str | None:
        s = combo.subnet
        if self.vpc_enis >= self.quota:
            return "eni_limit"
        if s.usable - s.other - s.enis <= 0:
            return "subnet_ips"
        combo.enis += 1
        combo.slots += self.per_eni
        s.enis += 1
        s.changed(now)
        self.vpc_enis += 1
        self.enis_ready += 1
        self.enis_created += 1
        self.peak_enis = max(self.peak_enis, self.vpc_enis)
        self.peak_region_enis = self.peak_enis
        return None

    def acquire(self, f: FnNet, now: float, initial: bool = False) -> tuple[_Combo | None, str | None]:
        order = self.order(f)
        if not order:
            return None, "az_outage"
        cause = "subnet_ips"
        for s in order:
            combo = self.combos[(s.id, f.sg)]
            if combo.used >= combo.slots:
                why = self._add_eni(combo, now)
                if why is not None:
                    cause = why
                    # At the VPC's quota no subnet can add an ENI, but another subnet's ENIs may still have room.
                    if why == "subnet_ips" and not self.failover:
                        return None, why
                    continue
            combo.used += 1
            f.az_count[s.az.name] += 1
            return combo, None
        return None, cause

    def release(self, combo: Eni, now: float, f: FnNet) -> None:
        combo.used -= 1
        f.az_count[combo.az.name] -= 1

    def az_down(self, az: AzState, now: float) -> None:
        az.down += 1
        az.up = False

    def az_up(self, az: AzState, now: float) -> None:
        az.down -= 1
        az.up = not az.down


def make_network(scenario: Scenario, schedule: Schedule,
                 clock: Callable[[], float]) -> LegacyNetwork | HyperplaneNetwork:
    """The network model of the scenario's platform."""
    cls = HyperplaneNetwork if scenario.platform == "hyperplane" else LegacyNetwork
    return cls(scenario, schedule, clock)
