"""The sections of a scenario file (SPEC §2), each a strict, frozen pydantic model: the region's limits, the VPC
and its subnets, the functions, the events and the price overrides; with the ranges of every count and size.

:mod:`.models` puts them together into a :class:`~simulator.scenario.models.Scenario`, applies the platform
presets, checks the rules that span several sections and loads files.
"""

from __future__ import annotations

import ipaddress
import numbers
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from ..units import bytes_json_schema, format_bytes, parse_bytes
from .arrivals import ArrivalSpec
from .distributions import Constant, DistributionSpec, Lognormal
from .fields import Duration, PositiveDuration, duration_metadata
from .problems import show_value

__all__ = [
    "StrictModel", "BurstScaling", "PerFunctionScaling", "UnlimitedScaling", "Ec2Api", "Region", "HyperplaneCfg",
    "Subnet", "Vpc", "ClientRetry", "ArchitecturePricing", "Pricing", "Function", "AzOutage", "IpsTaken",
    "IpsReleased", "Event", "EVENT_KINDS", "EgressBytes", "Seed", "Replications", "MAX_LABEL", "MAX_TEXT", "GIB",
]


def _between(lo: float, hi: float):
    def check(v: float | None) -> float | None:
        if v is not None and not lo <= v <= hi:
            raise ValueError(f"must be between {lo:g} and {hi:g} (got {show_value(v) if abs(v) >= 10**21 else f'{v:g}'})")
        return v

    return AfterValidator(check)


def _integral(v: Any) -> Any:
    """numpy's integers (a sweep over ``np.arange``) as Python ints; anything else goes to the strict check, which
    refuses true/false and text ("1024"): they are not numbers."""
    if type(v) in (int, bool, str, float):  # the usual cases, without the (slow) abstract-class check below
        return v
    return int(v) if isinstance(v, numbers.Integral) else v


def _count(lo: int, hi: int) -> Any:
    """The constraints of a whole number from ``lo`` to ``hi``: an int, not a bool, not text, not a float. Used as
    ``Annotated[int, _count(lo, hi), _INTEGRAL]``: the constraints before the validator, so that pydantic writes
    them into the JSON Schema as minimum/maximum."""
    return Field(strict=True, ge=lo, le=hi)


_INTEGRAL = BeforeValidator(_integral)


def _number(*, le: float, ge: float | None = None, gt: float | None = None) -> Any:
    """The constraints of a finite number within bounds: an int or a float, not a bool, not text. Used as
    ``Annotated[float, _number(...)]``."""
    return Field(strict=True, allow_inf_nan=False, ge=ge, gt=gt, le=le)


# Ranges of the counts and sizes (docs/scenario.md lists every field's). They are far beyond any AWS account, and
# small enough that nothing computed from them overflows.
MAX_CONCURRENCY = 1_000_000  # concurrent executions (DOMAIN §4: 1,000 by default; raised to tens of thousands)
MAX_ENIS = 1_000_000  # network interfaces (DOMAIN §1: 350, then 5,000 per region by default)
MAX_ADDRESSES = 65_536  # addresses of the largest subnet, a /16 (DOMAIN §3)
MAX_PER_MINUTE = 1_000_000.0  # scaling credit per minute (DOMAIN §4: 500, now 6,000)
MAX_API_RATE = 1_000_000  # EC2 API bucket and refill per second (DOMAIN §6: 100 and 5)
MAX_SEED = 2**63 - 1  # fits every signed 64-bit column a seed is written to
# A function name, and for uniformity a subnet id and an AZ: Lambda's own limit for a function name (the AWS Lambda
# API reference, CreateFunction: FunctionName "is limited to 64 characters in length").
MAX_ID = 64
MAX_LABEL = 256  # the scenario's name, a security group, an expect path
MAX_TEXT = 10_000  # the description

# The field types of counts and amounts: module-level Annotated aliases, which pydantic validates with their
# constraints and type checkers read as plain int and float.
_Concurrency = Annotated[int, _count(0, MAX_CONCURRENCY), _INTEGRAL]
_PositiveConcurrency = Annotated[int, _count(1, MAX_CONCURRENCY), _INTEGRAL]
_EniCount = Annotated[int, _count(0, MAX_ENIS), _INTEGRAL]
_EniQuota = Annotated[int, _count(1, MAX_ENIS), _INTEGRAL]
_AddressCount = Annotated[int, _count(0, MAX_ADDRESSES), _INTEGRAL]
_PositiveAddressCount = Annotated[int, _count(1, MAX_ADDRESSES), _INTEGRAL]
_ApiBucket = Annotated[int, _count(1, MAX_API_RATE), _INTEGRAL]
_Attempts = Annotated[int, _count(1, 20), _INTEGRAL]
Seed = Annotated[int, _count(0, MAX_SEED), _INTEGRAL]
Replications = Annotated[int, _count(1, 10000), _INTEGRAL]
_PerMinute = Annotated[float, _number(ge=0, le=MAX_PER_MINUTE)]
_ApiRefill = Annotated[float, _number(gt=0, le=MAX_API_RATE)]
_EniMemoryGb = Annotated[float, _number(ge=0.125, le=1024)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class BurstScaling(StrictModel):
    """The account-wide token bucket of the old scaling model (DOMAIN §4: initial burst 3,000 in us-east-1,
    us-west-2 and eu-west-1, then +500 concurrent executions per minute)."""

    model: Literal["burst"] = "burst"
    burst: _Concurrency = 3000
    per_minute: _PerMinute = 500


class PerFunctionScaling(StrictModel):
    """One bucket per function (DOMAIN §4, Nov 2023: each function scales by 1,000 environments every 10 s)."""

    model: Literal["per-function"] = "per-function"
    burst: _Concurrency = 1000
    per_minute: _PerMinute = 6000


class UnlimitedScaling(StrictModel):
    model: Literal["unlimited"] = "unlimited"


Scaling = Annotated[BurstScaling | PerFunctionScaling | UnlimitedScaling, Field(discriminator="model")]


class Ec2Api(StrictModel):
    """The CreateNetworkInterface token bucket (DOMAIN §6: bucket 100, refill 5 per second)."""

    bucket: _ApiBucket = 100
    refill_per_s: _ApiRefill = 5.0
    on_throttle: Literal["fail", "wait"] = "fail"


class Region(StrictModel):
    concurrency_limit: _PositiveConcurrency = 1000  # DOMAIN §4: 1,000 per region by default
    unreserved_min: _Concurrency = 100  # DOMAIN §4: 100 always stays unreserved
    scaling: Scaling = Field(default_factory=BurstScaling)
    eni_quota: _EniQuota = 350  # DOMAIN §1: 350 until late 2019, 5,000 afterwards
    enis_in_use: _EniCount = 0
    ec2_api: Ec2Api = Field(default_factory=Ec2Api)


class HyperplaneCfg(StrictModel):
    """DOMAIN §2: 65,000 connections per Hyperplane ENI, 250 ENIs per VPC, 60-90 s to create one."""

    connections_per_eni: _PositiveConcurrency = 65000
    eni_quota_per_vpc: _EniQuota = 250
    create: Duration = 90.0


class Subnet(StrictModel):
    id: str = Field(pattern=_NAME, max_length=MAX_ID)
    az: str = Field(min_length=1, max_length=MAX_ID)
    cidr: ipaddress.IPv4Network
    ips_in_use: _AddressCount = 0
    route: Literal["nat", "igw", "none"] | None = None

    @field_validator("cidr", mode="before")
    @classmethod
    def _cidr(cls, v: Any) -> Any:
        try:
            net = ipaddress.IPv4Network(str(v), strict=True)
        except ValueError as exc:
            raise ValueError(f"not an IPv4 CIDR block like 10.0.1.0/24: {exc}") from None
        # DOMAIN §3: subnet sizes from /16 to /28.
        if not 16 <= net.prefixlen <= 28:
            raise ValueError(f"a subnet is /16 to /28 (got /{net.prefixlen})")
        return net

    @property
    def usable_ips(self) -> int:
        """Addresses Lambda can use: AWS reserves 5 per subnet (DOMAIN §3)."""
        return self.cidr.num_addresses - 5

    @property
    def free_ips(self) -> int:
        return self.usable_ips - self.ips_in_use


class Vpc(StrictModel):
    # DOMAIN §1: one ENI per 3 GB of environments (the doc's rule). At least one 128 MB environment per ENI.
    eni_memory_gb: _EniMemoryGb = 3.0
    # DOMAIN §1: no AWS figure; practitioners saw 3-15 s ("up to 10 s"; Sydney benchmark 12 s): median 6 s, p99 15 s.
    eni_attach: DistributionSpec = Field(default_factory=lambda: Lognormal(median=6.0, p99=15.0))
    eni_idle_release: Duration = 600.0  # DOMAIN §1: deletion is delayed; no number given. A choice, 10 min.
    eni_delete: Duration = 60.0  # DOMAIN §1: a choice; deletions were observed to take minutes.
    placement: Literal["balanced", "round-robin", "random"] = "balanced"
    subnet_failover: bool = Field(default=True, strict=True)  # DOMAIN §1: not documented either way; a parameter.
    hyperplane: HyperplaneCfg = Field(default_factory=HyperplaneCfg)
    tenancy: Literal["default", "dedicated"] = "default"
    subnets: tuple[Subnet, ...] = ()


class ClientRetry(StrictModel):
    """SDK retries of a synchronous caller (DOMAIN §4: the SDK's standard mode makes 3 attempts in all)."""

    attempts: _Attempts = 3
    base: Duration = 0.1
    cap: Duration = 20.0


# --- egress per invocation: a distribution of sizes, held in GiB

MAX_EGRESS_BYTES = 1e11  # 100 GB per invocation: far above what a 15-minute execution moves through a NAT gateway
GIB = 2.0**30  # the distribution holds GiB (a GB of NAT processing, as simulator.analysis.cost prices it)


def _bytes_value(v: Any) -> Any:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else parse_bytes(v)


def _egress_spec(v: Any) -> Any:
    """``egress_bytes`` is written like a distribution of durations (SPEC §1), with sizes instead of durations:
    ``200KB``, ``{dist: lognormal, median: 50KB, p99: 2MB}``, a plain number being bytes. The sizes become GiB
    here, so that the distribution models (which hold numbers within a duration's range) hold them; a duration
    such as ``"20ms"`` is refused rather than read as 0.02 bytes. Dumped, they are bytes again."""
    if v is None or hasattr(v, "sample"):
        return v

    def gib(x: Any) -> Any:
        size = _bytes_value(x)
        return size / GIB if isinstance(size, int | float) else size

    if isinstance(v, dict):
        out: dict[Any, Any] = {}
        for key, value in v.items():
            if key == "percentiles" and isinstance(value, dict):
                out[key] = {k: gib(x) for k, x in value.items()}
            elif key in ("dist", "cv") or isinstance(value, dict | list):
                out[key] = value
            else:
                out[key] = gib(value)
        return out
    return {"dist": "constant", "value": gib(v)}


def _egress_bound(v: Any) -> Any:
    if v is not None and not 0 <= v.mean * GIB <= MAX_EGRESS_BYTES:
        raise ValueError(f"the mean must be between 0 and {format_bytes(MAX_EGRESS_BYTES)} per invocation "
                         f"(got {format_bytes(v.mean * GIB)})")
    return v


def _egress_dump(v: Any) -> Any:
    """The distribution as written: its sizes in bytes (plain numbers, which load back as bytes)."""
    if v is None:
        return None
    data = v.model_dump(mode="json", by_alias=True, exclude_none=True)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "percentiles":
            out[key] = {k: x * GIB for k, x in value.items()}
        elif key in ("dist", "cv") or not isinstance(value, int | float):
            out[key] = value
        else:
            out[key] = value * GIB
    return out


EgressBytes = Annotated[
    DistributionSpec | None, BeforeValidator(_egress_spec), AfterValidator(_egress_bound),
    PlainSerializer(_egress_dump),
    WithJsonSchema({"anyOf": [bytes_json_schema(MAX_EGRESS_BYTES), {
        "type": "object", "required": ["dist"],
        "description": "a distribution (the forms of duration, etc.) whose values are bytes: "
                       "{dist: lognormal, median: 50KB, p99: 2MB}"}, {"type": "null"}],
        "description": "bytes each invocation sends or receives through the NAT gateway (its mean is priced)"}),
]


# --- prices (AWS facts §9): the scenario may override any of the package's table

# Today about $0.0000167 per GB-s and $0.20 per million requests; 1 and 1,000 USD are finite, generous bounds.
_PricePerGbS = Annotated[float, _number(ge=0, le=1)]
_Price = Annotated[float, _number(ge=0, le=1000)]


class ArchitecturePricing(StrictModel):
    """Prices of one architecture, per GB-second (AWS facts §9); unset keys keep the package's table."""

    duration_gb_s_usd: _PricePerGbS | None = None
    provisioned_gb_s_usd: _PricePerGbS | None = None
    provisioned_duration_gb_s_usd: _PricePerGbS | None = None


class Pricing(StrictModel):
    """Overrides of the price table (``simulator.analysis.prices``): a negotiated rate, another region, a new
    price. Unset keys keep the table's figure; ``source`` says where the overrides come from."""

    source: str | None = Field(default=None, min_length=1, max_length=200)
    requests_per_million_usd: _Price | None = None
    x86_64: ArchitecturePricing | None = None
    arm64: ArchitecturePricing | None = None
    nat_gateway_hour_usd: _Price | None = None
    nat_gb_usd: _Price | None = None


_Timeout = Annotated[float, *duration_metadata(positive=True, minimum=1.0, maximum=900.0)]
_MaxEventAge = Annotated[float, *duration_metadata(minimum=60.0, maximum=21600.0)]


class Function(StrictModel):
    name: str = Field(pattern=_NAME, max_length=MAX_ID)
    # DOMAIN §1: today 128..10240 MB
    memory_mb: Annotated[int, Field(strict=True, json_schema_extra={"minimum": 128, "maximum": 10240}),
                         BeforeValidator(_integral), _between(128, 10240)]
    subnets: tuple[Annotated[str, Field(max_length=MAX_ID)], ...] = ()
    security_groups: tuple[Annotated[str, Field(min_length=1, max_length=MAX_LABEL)], ...] = ()
    needs_internet: bool = Field(default=False, strict=True)
    reserved_concurrency: _Concurrency | None = None
    provisioned_concurrency: _Concurrency = 0
    timeout: _Timeout = 3.0
    # Lambda's default timeout is 3 s; 1..900 s allowed (DOMAIN §1, §7)
    # Required when the function has arrivals (a cross-check): a function imported from a template without a load
    # has neither, and nothing arrives for it.
    duration: DistributionSpec | None = None
    # DOMAIN §7: init "from under 100 ms to over 1 second": median 250 ms, p99 1 s.
    init: DistributionSpec = Field(default_factory=lambda: Lognormal(median=0.25, p99=1.0))
    # DOMAIN §7: idle environments were observed to live about 10 minutes; peer simulators use 600 s.
    keep_alive: DistributionSpec = Field(default_factory=lambda: Constant(value=600.0))
    invocation: Literal["sync", "async"] = "sync"
    client_retry: ClientRetry | None = None
    # DOMAIN §4: MaximumEventAgeInSeconds 60..21600, default 6 h
    max_event_age: _MaxEventAge = 21600.0
    # AWS facts §9/§10: `Architectures` of the function; arm64 (Graviton) is billed 20% less per GB-s.
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    egress_bytes: EgressBytes = None
    # Omitted: nothing arrives (a function imported without a load); the lint says so. An empty list is an error.
    arrivals: tuple[ArrivalSpec, ...] = ()

    @field_validator("arrivals", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return [v]
        if isinstance(v, list | tuple) and not v:
            raise ValueError("needs at least one arrival process")
        return v

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnets)


class AzOutage(StrictModel):
    at: Duration
    kind: Literal["az_outage"] = "az_outage"
    az: str = Field(max_length=MAX_ID)
    for_: PositiveDuration = Field(alias="for")


class IpsTaken(StrictModel):
    at: Duration
    kind: Literal["ips_taken"] = "ips_taken"
    subnet: str = Field(max_length=MAX_ID)
    count: _PositiveAddressCount


class IpsReleased(StrictModel):
    at: Duration
    kind: Literal["ips_released"] = "ips_released"
    subnet: str = Field(max_length=MAX_ID)
    count: _PositiveAddressCount


Event = Annotated[AzOutage | IpsTaken | IpsReleased, Field(discriminator="kind")]
EVENT_KINDS = ("az_outage", "ips_taken", "ips_released")
