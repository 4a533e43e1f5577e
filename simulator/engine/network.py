"""Subnets, address pools, ENIs and placement (§3.4, §3.6, §3.8, §3.9 of docs/model.md).

Two platforms sit behind one small interface, so that the engine never branches on the platform:

- :class:`LegacyNetwork` — the pre-2019 model: each function has its own ENIs, each with
  ``max(1, floor(eni_memory_gb * 1024 / memory_mb))`` environment slots; a new ENI takes an address at once, passes
  the regional ENI quota and the EC2 CreateNetworkInterface token bucket, and is ready after ``eni_attach``; an
  ENI left without environments for ``eni_idle_release`` is deleted and its address is free ``eni_delete`` later.
- :class:`HyperplaneNetwork` — today's model: one ENI per (subnet, security-group set), shared by every function
  with that combination and created before t=0; one more per ``connections_per_eni`` environments; no wait.

``acquire(fn, now)`` returns ``(eni, None)`` or ``(None, cause)``; ``release(eni, now)`` gives the slot back.
Timers (ENI ready, idle release, deletion) go through the engine's event loop (:class:`~.loop.Loop`).
Nothing here scans all ENIs or environments per event: free slots are found on a per-function stack, placement
looks only at the function's own subnets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..scenario.models import Scenario
from ..scenario.sections import Function
from .limits import TokenBucket, free_ips
from .loop import Loop

__all__ = ["SubnetState", "AzState", "Eni", "FnNet", "LegacyNetwork", "HyperplaneNetwork"]


class SubnetState:
    """Addresses of one subnet. ``free = usable - other - enis`` never goes below 0 or above ``usable``."""

    __slots__ = ("id", "az", "index", "usable", "other", "enis")

    def __init__(self, sid: str, az: AzState, index: int, usable: int, other: int):
        self.id = sid
        self.az = az
        self.index = index
        self.usable = usable
        self.other = other  # addresses other resources hold (ips_in_use, events)
        self.enis = 0  # Lambda ENIs holding an address here (attaching, ready or being deleted)

    @property
    def free(self) -> int:
        return free_ips(self.usable, self.other, self.enis)

    @property
    def used(self) -> int:
        return self.other + self.enis


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
                 "timer")

    def __init__(self, fn: FnNet | None, subnet: SubnetState, slots: int, ready_at: float):
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


class FnNet:
    """A function's view of the network: its subnets, its ENIs with a free slot, its ENIs per AZ."""

    __slots__ = ("name", "subnets", "slots", "free", "az_count", "rr", "sg", "enis", "attach", "rng_place")

    def __init__(self, name: str, subnets: list[SubnetState], slots: int, sg: tuple[str, ...],
                 attach: Callable[[], float], rng_place: Callable[[], np.random.Generator]):
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

    def __init__(self, scenario: Scenario, loop: Loop):
        self.scenario = scenario
        self.loop = loop
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
        self.observer: Any = None  # the engine's recorder, told when addresses or ENIs change

    def _changed(self, s: SubnetState, now: float) -> None:
        if self.observer is not None:
            self.observer.subnet_changed(s, now)

    def fn_net(self, fn: Function, slots: int, attach: Callable[[], float],
               rng_place: Callable[[], np.random.Generator]) -> FnNet:
        """The function's view of the network: ``slots`` environments per ENI (the platform's rule), its own
        ENI-attach sampler and placement generator (made on first use)."""
        return FnNet(fn.name, [self.subnets[s] for s in fn.subnets], slots, tuple(sorted(fn.security_groups)), attach,
                     rng_place)

    def _at(self, t: float, callback: Callable[[Any], None], arg: Any) -> None:
        """A network timer (ENI ready, idle release, deletion): ``callback(arg)`` at ``t``."""
        loop = self.loop
        loop.at(t if t > loop.now else loop.now, callback, arg)

    @property
    def n_enis(self) -> int:
        return self.enis_ready + self.enis_attaching + self.enis_deleting

    def function_enis(self, f: FnNet, peak: int) -> int:
        """The ENIs a function's summary reports, given the peak the recorder saw of its own ENIs."""
        return peak

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
        return [up[i] for i in f.rng_place().permutation(len(up))]

    # Events that change addresses (SPEC §3.9).
    def take_ips(self, sid: str, count: int, now: float) -> int:
        """Another workload takes up to ``count`` addresses (no more than are free). Returns how many it got."""
        s = self.subnets[sid]
        got = max(0, min(count, s.free))
        s.other += got
        self._changed(s, now)
        return got

    def release_ips(self, sid: str, count: int, now: float) -> int:
        """Another workload gives back up to ``count`` addresses (no more than other workloads hold)."""
        s = self.subnets[sid]
        back = max(0, min(count, s.other))
        s.other -= back
        self._changed(s, now)
        return back


class LegacyNetwork(_Base):
    """Per-function ENIs with memory-based slots, attach latency, idle release and delete delay (SPEC §3.4-§3.6)."""

    def __init__(self, scenario: Scenario, loop: Loop):
        super().__init__(scenario, loop)
        region = scenario.region
        self.quota = region.eni_quota
        self.region_enis = region.enis_in_use  # other ENIs of the region count against the same quota
        self.ec2 = TokenBucket(float(region.ec2_api.bucket), region.ec2_api.refill_per_s)
        self.ec2_wait = region.ec2_api.on_throttle == "wait"
        self.idle_release = scenario.vpc.eni_idle_release
        self.delete_s = scenario.vpc.eni_delete

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
            if s.free > 0:
                chosen = s
                break
            if not self.failover:
                break
        if chosen is None:
            return None, "subnet_ips"
        if initial:
            delay, attach = 0.0, 0.0  # provisioned concurrency: set up before t=0
        else:
            # A CreateNetworkInterface call: EC2's bucket accepts it, makes it wait, or throttles it.
            if self.ec2_wait:
                delay = self.ec2.take_or_wait(now)
            elif self.ec2.take(now):
                delay = 0.0
            else:
                return None, "ec2_throttled"
            attach = f.attach()
        eni = Eni(f, chosen, f.slots, now + delay + attach)
        eni.used = 1
        chosen.enis += 1
        self._changed(chosen, now)
        chosen.az.enis[eni] = None
        f.az_count[chosen.az.name] += 1
        f.enis += 1
        self.region_enis += 1
        if eni.slots > 1:
            f.free.append(eni)
            eni.in_free = True
        if eni.ready_at <= now:
            eni.ready = True
            self.enis_ready += 1
        else:
            self.enis_attaching += 1
            self._at(eni.ready_at, self._on_ready, eni)
        if self.observer is not None:
            self.observer.enis_added(self.enis_ready + self.enis_attaching + self.enis_deleting)
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
        self._at(at, self._on_idle, (eni, token))

    def _on_idle(self, arg: tuple[Eni, object]) -> None:
        eni, token = arg
        if eni.timer is not token:
            return
        eni.timer = None
        if eni.used or eni.deleting or not eni.az.up:
            return
        due = eni.empty_since + self.idle_release
        if self.loop.now < due:
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
        self._at(self.loop.now + self.delete_s, self._on_deleted, eni)

    def _on_deleted(self, eni: Eni) -> None:
        self.enis_deleting -= 1
        self.region_enis -= 1
        eni.fn.enis -= 1  # type: ignore[union-attr]
        s = eni.subnet
        s.enis -= 1
        self._changed(s, self.loop.now)
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
    """Hyperplane: the ENIs of one (subnet, security-group set); ``used`` counts environments, ``slots`` capacity,
    ``ready_times`` when each ENI is (or was) ready, in the order they were created."""

    __slots__ = ("enis", "ready_times")

    # Set by HyperplaneNetwork.__init__ right after the ENI fields (annotations only: no defaults).
    enis: int
    ready_times: list[float]


class HyperplaneNetwork(_Base):
    """Shared Hyperplane ENIs per (subnet, security-group set), created before t=0 (SPEC §3.8); one more when a
    combination's ENIs are full, usable ``vpc.hyperplane.create`` after Lambda starts creating it."""

    def __init__(self, scenario: Scenario, loop: Loop):
        super().__init__(scenario, loop)
        self.per_eni = scenario.vpc.hyperplane.connections_per_eni
        self.quota = scenario.vpc.hyperplane.eni_quota_per_vpc
        self.create_s = scenario.vpc.hyperplane.create
        self.vpc_enis = 0
        self.combos: dict[tuple[str, tuple[str, ...]], _Combo] = {}
        for fn in scenario.functions:
            sg = tuple(sorted(fn.security_groups))
            for sid in fn.subnets:
                key = (sid, sg)
                if key in self.combos:
                    continue
                combo = _Combo(None, self.subnets[sid], 0, -math.inf)
                combo.enis = 0
                combo.ready_times = []
                combo.ready = True
                self.combos[key] = combo
                self._add_eni(combo, 0.0, initial=True)

    def _add_eni(self, combo: _Combo, now: float, initial: bool = False) -> str | None:
        """One more ENI for ``combo``: it takes an address at once; the ENIs of t=0 exist already (the functions
        are ``Active``), a later one is usable ``create`` seconds after Lambda starts creating it (DOMAIN §2)."""
        s = combo.subnet
        if self.vpc_enis >= self.quota:
            return "eni_limit"
        if s.free <= 0:
            return "subnet_ips"
        combo.enis += 1
        combo.slots += self.per_eni
        s.enis += 1
        self._changed(s, now)
        self.vpc_enis += 1
        if initial or self.create_s <= 0:
            combo.ready_times.append(-math.inf)
            self.enis_ready += 1
        else:
            combo.ready_times.append(now + self.create_s)
            self.enis_attaching += 1
            self._at(now + self.create_s, self._created, combo)
        if self.observer is not None:
            self.observer.enis_added(self.vpc_enis)
        return None

    def _created(self, combo: _Combo) -> None:
        self.enis_attaching -= 1
        self.enis_ready += 1

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
            # The environment takes the next slot; when that slot is on an ENI still being created, it waits for
            # it (``ready_at``, read by the engine right away, as for a legacy ENI still attaching).
            combo.ready_at = combo.ready_times[combo.used // self.per_eni]
            combo.used += 1
            f.az_count[s.az.name] += 1
            return combo, None
        return None, cause

    def function_enis(self, f: FnNet, peak: int) -> int:
        """Hyperplane ENIs are shared and never released during a run: a function's are the ENIs of its (subnet,
        security groups) combinations at the end."""
        return sum(self.combos[(s.id, f.sg)].enis for s in f.subnets)

    def release(self, combo: Eni, now: float, f: FnNet) -> None:
        combo.used -= 1
        f.az_count[combo.az.name] -= 1

    def az_down(self, az: AzState, now: float) -> None:
        az.down += 1
        az.up = False

    def az_up(self, az: AzState, now: float) -> None:
        az.down -= 1
        az.up = not az.down
