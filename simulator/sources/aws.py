"""A live account, read-only, to :class:`~simulator.sources.common.Infrastructure` (DOMAIN §10; the ``aws`` extra).

Only ``Describe*``, ``List*`` and ``Get*`` calls are made, and a guard on the boto3 session refuses any other before
it is sent. Credentials and region come from the standard chain (``--profile``, environment, config files, SSO,
instance roles); ``AWS_ENDPOINT_URL`` points boto3 at another endpoint (a moto server in the tests). Throttled calls
are retried by botocore's standard retry mode. What is read:

- Lambda ``ListFunctions`` (memory, timeout, ``VpcConfig``, ``Architectures``: written as ``architecture:``), ``GetFunctionConcurrency`` (reserved),
  ``ListProvisionedConcurrencyConfigs`` (provisioned: the requested figure), ``GetAccountSettings`` (the account's
  concurrency limit);
- EC2 ``DescribeSubnets`` (CIDR, AZ, ``AvailableIpAddressCount``), ``DescribeNetworkInterfaces`` (Lambda's ENIs:
  ``InterfaceType`` ``lambda``, or a description ``AWS Lambda VPC ENI...``), ``DescribeRouteTables`` (each subnet's
  ``0.0.0.0/0`` route, through the main table when it has no association of its own), ``DescribeVpcs`` (tenancy);
- Service Quotas ``GetServiceQuota`` (``vpc`` ``L-DF5E4CA3``, network interfaces per Region);
- with ``since``: CloudWatch ``GetMetricData`` (namespace ``AWS/Lambda``, dimension ``FunctionName``):
  ``Invocations`` Sum per minute (a ``per_minute`` trace beside the scenario) and ``Duration`` p50/p90/p99, Minimum,
  Maximum and Average over the whole window (see :mod:`.cloudwatch`).

A subnet's ``ips_in_use`` is what other workloads hold: ``usable - AvailableIpAddressCount`` less the addresses of
Lambda's own ENIs in it (the simulation places those itself). ``enis_in_use`` counts the region's ENIs that are not
Lambda's. An optional call that is denied or that the endpoint does not implement (``GetAccountSettings``,
``ListProvisionedConcurrencyConfigs``, ``GetServiceQuota``, percentile statistics) falls back to a documented
default, and the scenario's header says so.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .cloudwatch import Metrics, label_of, load_entries, parse_results, trace_csv
from .common import (
    ImportedFunction,
    ImportedSubnet,
    Infrastructure,
    Origin,
    SourceError,
    check_architecture,
    did_you_mean,
    require,
)

__all__ = ["import_aws", "read_only_guard", "READ_ONLY_PREFIXES", "subnets_yaml", "DEFAULT_ENI_QUOTA",
           "DEFAULT_CONCURRENCY_LIMIT", "ENI_QUOTA_CODE"]

READ_ONLY_PREFIXES = ("Describe", "List", "Get")
DEFAULT_CONCURRENCY_LIMIT = 1000  # DOMAIN §4: 1,000 per region by default
DEFAULT_ENI_QUOTA = 5000  # DOMAIN §1: network interfaces per Region, 5,000 by default since late 2019
ENI_QUOTA_CODE = ("vpc", "L-DF5E4CA3")  # DOMAIN §10: Service Quotas, "Network interfaces per Region"
_WORKERS = 8  # per-function calls in flight: latency-bound against AWS
MAX_SINCE_S = 15 * 86400  # DOMAIN §10: CloudWatch keeps 1-minute data for 15 days
_EXPIRED = ("ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired")
_REJECTED = ("InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure", "SignatureDoesNotMatch",
             "InvalidAccessKeyId", "IncompleteSignature")
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException")
_THROTTLED = ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded")
_PREFIX = {"lambda": "lambda", "ec2": "ec2", "service-quotas": "servicequotas", "cloudwatch": "cloudwatch",
           "sts": "sts"}


def read_only_guard(model: Any = None, **_: Any) -> None:
    """A botocore ``before-call`` handler: refuses any operation that is not Describe/List/Get."""
    name = getattr(model, "name", "")
    if not name.startswith(READ_ONLY_PREFIXES):
        raise RuntimeError(f"vpcsim import aws makes read-only calls only; refused {name}")


class _Optional(Exception):
    """An optional call the endpoint refused or cannot answer: fall back."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


@dataclass
class _Account:
    session: Any
    region: str
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str, attempts: int | None = None) -> Any:
        key = f"{service}/{attempts}"
        if key not in self.clients:
            from botocore.config import Config

            self.clients[key] = self.session.client(
                service, region_name=self.region,
                # The parameters are vpcsim's own, not the user's: botocore's client-side check of them only costs
                # time (a third of a call against moto; 1,000 functions make 1,000 calls).
                config=Config(retries={"mode": "standard", "max_attempts": attempts or 5},
                              user_agent_extra="vpcsim-import", parameter_validation=False))
        return self.clients[key]


@contextmanager
def _calling(service: str, operation: str, region: str, optional: bool = False):
    """Turn botocore's errors into one line naming the action (or, for an optional call, into a fallback)."""
    from botocore import exceptions as bx

    action = f"{_PREFIX.get(service, service)}:{operation}"
    try:
        yield
    except bx.NoCredentialsError:
        raise SourceError("no AWS credentials found: configure them (aws configure, aws sso login, AWS_PROFILE) or "
                          "give --profile") from None
    except (bx.ProfileNotFound, bx.PartialCredentialsError) as exc:
        raise SourceError(f"AWS credentials: {exc}") from None
    except (bx.TokenRetrievalError, bx.SSOTokenLoadError, bx.UnauthorizedSSOTokenError) as exc:
        raise SourceError(f"the AWS SSO session has expired or is missing ({type(exc).__name__}): run aws sso login "
                          f"and try again") from None
    except bx.EndpointConnectionError as exc:
        raise SourceError(f"cannot reach the {service} endpoint for {region} ({exc.kwargs.get('endpoint_url')}): "
                          f"check the network, the region and AWS_ENDPOINT_URL") from None
    except bx.ClientError as exc:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = str(err.get("Message", "")).strip()
        if code in _EXPIRED:
            raise SourceError(f"the AWS credentials have expired ({code}, calling {action}): refresh them (aws sso "
                              f"login, or a new session token) and try again") from None
        if code in _REJECTED:
            raise SourceError(f"AWS does not accept these credentials ({code}, calling {action}): check the access "
                              f"key, the profile or AWS_ENDPOINT_URL") from None
        if code in _THROTTLED:
            raise SourceError(f"AWS kept throttling {action} after botocore's retries ({code}): try again later, or "
                              f"import fewer functions with --functions") from None
        unavailable = status in (404, 501) or (status or 0) >= 500 or code in (
            "NotImplemented", "InvalidAction", "NoSuchResourceException", "ResourceNotFoundException",
            "InternalFailure", "InternalError", "ServiceUnavailable")
        if optional and (code in _DENIED or unavailable):
            raise _Optional(f"{action}: {'denied' if code in _DENIED else 'not available'} ({code or status})"
                            ) from None
        if code in _DENIED:
            raise SourceError(f"not allowed to call {action} ({code}): the identity needs the read-only actions in "
                              f"docs/import.md (or the ReadOnlyAccess policy)") from None
        raise SourceError(f"{action} failed ({code or status}): {message or exc}") from None


def _session(profile: str | None, region: str | None) -> tuple[Any, str]:
    boto3 = require("boto3", "vpcsim import aws", "aws", "boto3")
    from botocore import exceptions as bx

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except bx.ProfileNotFound:
        raise SourceError(f"--profile {profile}: no such profile in the AWS config files") from None
    name = region or session.region_name
    if not name:
        raise SourceError("no region: give --region, or set AWS_REGION (or a region in the profile)")
    known = sorted({r for p in session.get_available_partitions() for r in session.get_available_regions(
        "lambda", partition_name=p)})
    if known and name not in known:
        raise SourceError(f"--region {name}: Lambda is not available in that region{did_you_mean(name, known)}")
    session.events.register("before-call", read_only_guard)
    return session, name


def _paginate(acct: _Account, service: str, operation: str, method: str, key: str, page_size: int | None = None,
              **kwargs: Any) -> list[dict]:
    out: list[dict] = []
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    with _calling(service, operation, acct.region):
        for page in acct.client(service).get_paginator(method).paginate(**kwargs):
            out += page.get(key) or []
    return out


def _functions(acct: _Account, patterns: list[str] | None) -> list[dict]:
    found = _paginate(acct, "lambda", "ListFunctions", "list_functions", "Functions", page_size=50)  # Lambda's most
    if not patterns:
        if not found:
            raise SourceError(f"no Lambda functions in {acct.region}")
        return found
    chosen = [f for f in found if any(fnmatch.fnmatchcase(f["FunctionName"], p) for p in patterns)]
    if not chosen:
        names = [f["FunctionName"] for f in found]
        hint = did_you_mean(patterns[0], names, f"{len(names)} functions in {acct.region}")
        raise SourceError(f"--functions {' '.join(patterns)}: no function matches{hint}")
    return chosen


def _per_function(acct: _Account, names: list[str], notes: list[str]) -> tuple[dict[str, int | None], dict[str, int]]:
    """Reserved and provisioned concurrency per function (concurrent calls: the API answers one function each)."""
    lam = acct.client("lambda")

    def reserved(name: str) -> int | None:
        with _calling("lambda", "GetFunctionConcurrency", acct.region):
            return lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")

    def provisioned(name: str) -> int:
        total = 0
        with _calling("lambda", "ListProvisionedConcurrencyConfigs", acct.region, optional=True):
            for page in lam.get_paginator("list_provisioned_concurrency_configs").paginate(FunctionName=name):
                for c in page.get("ProvisionedConcurrencyConfigs") or []:
                    total += int(c.get("RequestedProvisionedConcurrentExecutions") or 0)
        return total

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        res = dict(zip(names, pool.map(reserved, names), strict=True))
    prov: dict[str, int] = {}
    if names:
        try:
            prov[names[0]] = provisioned(names[0])  # one first: an endpoint without it refuses all the same
            with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
                prov.update(zip(names[1:], pool.map(provisioned, names[1:]), strict=True))
        except _Optional as exc:
            notes.append(f"provisioned concurrency not read ({exc.why}): taken as 0 for every function")
            prov = {}
    return res, prov


def _account_limit(acct: _Account, notes: list[str]) -> int:
    try:
        with _calling("lambda", "GetAccountSettings", acct.region, optional=True):
            limit = acct.client("lambda").get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
            return int(limit)
    except _Optional as exc:
        notes.append(f"concurrency limit not read ({exc.why}): the default {DEFAULT_CONCURRENCY_LIMIT} (DOMAIN §4)")
        return DEFAULT_CONCURRENCY_LIMIT


def _eni_quota(acct: _Account, notes: list[str]) -> int:
    try:
        with _calling("service-quotas", "GetServiceQuota", acct.region, optional=True):
            quota = acct.client("service-quotas").get_service_quota(ServiceCode=ENI_QUOTA_CODE[0],
                                                                   QuotaCode=ENI_QUOTA_CODE[1])
            return int(quota["Quota"]["Value"])
    except _Optional as exc:
        notes.append(f"ENI quota not read ({exc.why}): the default {DEFAULT_ENI_QUOTA} network interfaces per "
                     f"Region (DOMAIN §1)")
        return DEFAULT_ENI_QUOTA


def _is_lambda_eni(eni: dict) -> bool:
    return eni.get("InterfaceType") == "lambda" or str(eni.get("Description", "")).startswith("AWS Lambda VPC ENI")


def _subnets(acct: _Account, ids: list[str] | None) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """Subnets (all, or these ids), every ENI of the region, the route tables and VPCs of those subnets."""
    if ids is not None and not ids:
        return [], [], [], []
    kwargs: dict[str, Any] = {} if ids is None else {"Filters": [{"Name": "subnet-id", "Values": ids}]}
    subnets = _paginate(acct, "ec2", "DescribeSubnets", "describe_subnets", "Subnets", **kwargs)
    enis = _paginate(acct, "ec2", "DescribeNetworkInterfaces", "describe_network_interfaces", "NetworkInterfaces")
    vpcs = sorted({s["VpcId"] for s in subnets})
    tables = _paginate(acct, "ec2", "DescribeRouteTables", "describe_route_tables", "RouteTables",
                       Filters=[{"Name": "vpc-id", "Values": vpcs}]) if vpcs else []
    vpc_info = _paginate(acct, "ec2", "DescribeVpcs", "describe_vpcs", "Vpcs", VpcIds=vpcs) if vpcs else []
    return subnets, enis, tables, vpc_info


def _route_of(subnet: dict, tables: list[dict]) -> str | None:
    own = main = None
    for t in tables:
        if t.get("VpcId") != subnet["VpcId"]:
            continue
        for a in t.get("Associations") or []:
            if a.get("SubnetId") == subnet["SubnetId"]:
                own = t
            if a.get("Main"):
                main = t
    table = own or main
    if table is None:
        return None
    for r in table.get("Routes") or []:
        if r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("State", "active") == "active":
            if r.get("NatGatewayId") or r.get("InstanceId"):
                return "nat"
            if str(r.get("GatewayId", "")).startswith("igw-"):
                return "igw"
            return None  # a transit gateway, a peering, an appliance: not known from here
    return "none"


def _imported_subnets(subnets: list[dict], enis: list[dict], tables: list[dict], region: str
                      ) -> tuple[list[ImportedSubnet], int, int]:
    lambda_ips: dict[str, int] = {}
    lambda_enis = other = 0
    for e in enis:
        if _is_lambda_eni(e):
            lambda_enis += 1
            lambda_ips[e.get("SubnetId", "")] = lambda_ips.get(e.get("SubnetId", ""), 0) + max(
                1, len(e.get("PrivateIpAddresses") or []))
        else:
            other += 1
    out = []
    for s in sorted(subnets, key=lambda s: (s.get("VpcId", ""), s.get("AvailabilityZone", ""), s["SubnetId"])):
        usable = ipaddress.IPv4Network(s["CidrBlock"]).num_addresses - 5  # DOMAIN §3: 5 reserved
        held = usable - int(s.get("AvailableIpAddressCount", usable))
        name = next((t["Value"] for t in s.get("Tags") or [] if t.get("Key") == "Name"), None)
        what = f"ec2 subnet {s['SubnetId']} ({s.get('VpcId')}{', ' + name if name else ''})"
        out.append(ImportedSubnet(id=s["SubnetId"], az=s["AvailabilityZone"], cidr=s["CidrBlock"],
                                  origin=Origin(f"aws {region}", None, what),
                                  ips_in_use=max(0, held - lambda_ips.get(s["SubnetId"], 0)),
                                  route=_route_of(s, tables)))
    return out, lambda_enis, other


def _metric_queries(names: list[str], start: datetime, end: datetime, percentiles: bool) -> list[list[dict]]:
    window = int((end - start).total_seconds())
    stats = ["p50", "p90", "p99"] if percentiles else ["Average", "Minimum", "Maximum"]
    queries: list[dict] = []
    for i, name in enumerate(names):
        dims = [{"Name": "FunctionName", "Value": name}]
        if not percentiles:
            queries.append({"Id": f"inv{i}", "Label": label_of(name, "Invocations", "Sum"), "ReturnData": True,
                            "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations",
                                                      "Dimensions": dims}, "Period": 60, "Stat": "Sum"}})
        for k, stat in enumerate(stats):
            queries.append({"Id": f"d{i}_{k}", "Label": label_of(name, "Duration", stat), "ReturnData": True,
                            "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Duration",
                                                      "Dimensions": dims}, "Period": window, "Stat": stat}})
    return [queries[i:i + 500] for i in range(0, len(queries), 500)]  # GetMetricData takes 500 queries a call


def _metric_data(acct: _Account, batches: list[list[dict]], start: datetime, end: datetime,
                 optional: bool) -> list[dict]:
    # An optional statistic is retried once: an endpoint that cannot compute it answers 5xx every time.
    cw = acct.client("cloudwatch", attempts=2 if optional else None)
    results: list[dict] = []
    for batch in batches:
        with _calling("cloudwatch", "GetMetricData", acct.region, optional=optional):
            for page in cw.get_paginator("get_metric_data").paginate(
                    MetricDataQueries=batch, StartTime=start, EndTime=end, ScanBy="TimestampAscending"):
                results += page.get("MetricDataResults") or []
    return results


def _load(acct: _Account, names: list[str], since_s: float, now: datetime, trace_file: str, notes: list[str]
          ) -> tuple[dict[str, dict], str, int]:
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(seconds=math.ceil(since_s / 60) * 60)
    metrics: dict[str, Metrics] = parse_results(
        _metric_data(acct, _metric_queries(names, start, end, False), start, end, False), "cloudwatch", notes)
    try:
        pct = _metric_data(acct, _metric_queries(names, start, end, True), start, end, True)
        for name, m in parse_results(pct, "cloudwatch", notes, optional=("p50", "p90", "p99")).items():
            metrics.setdefault(name, Metrics(name)).duration.update(m.duration)
    except _Optional as exc:
        notes.append(f"Duration percentiles not available ({exc.why}): durations from Average, Minimum and Maximum "
                     f"(an empirical distribution with the Average as its mean)")
    for name in names:
        metrics.setdefault(name, Metrics(name))
    text, _, _ = trace_csv(metrics, "cloudwatch", start)
    entries = load_entries(metrics, trace_file, notes, "cloudwatch")
    minutes = int((end - start).total_seconds() // 60)
    return entries, text, minutes


def import_aws(*, region: str | None = None, profile: str | None = None, functions: list[str] | None = None,
               since_s: float | None = None, trace_file: str | None = None, now: datetime | None = None,
               session: Any = None) -> Infrastructure:
    """Read the account's functions and their subnets (and, with ``since_s``, their load)."""
    if since_s is not None:
        if since_s < 60 or since_s > MAX_SINCE_S:
            raise SourceError("--since: between 1m and 15d (CloudWatch keeps 1-minute data for 15 days)")
        if trace_file is None:
            raise SourceError("--since writes the invocations beside the scenario: give --out FILE")
    if session is None:
        session, region = _session(profile, region)
    else:
        region = region or session.region_name
        session.events.register("before-call", read_only_guard)
    acct = _Account(session, str(region))
    notes: list[str] = []
    with _calling("sts", "GetCallerIdentity", acct.region):
        identity = acct.client("sts").get_caller_identity()
    found = _functions(acct, functions)
    names = [f["FunctionName"] for f in found]
    reserved, provisioned = _per_function(acct, names, notes)
    limit = _account_limit(acct, notes)
    quota = _eni_quota(acct, notes)
    subnet_ids = sorted({s for f in found for s in (f.get("VpcConfig") or {}).get("SubnetIds") or []})
    raw_subnets, enis, tables, vpcs = _subnets(acct, subnet_ids)
    subnets, lambda_enis, other_enis = _imported_subnets(raw_subnets, enis, tables, acct.region)
    missing = set(subnet_ids) - {s.id for s in subnets}
    if missing:
        raise SourceError(f"DescribeSubnets does not know {', '.join(sorted(missing))}, which functions use")
    account = identity.get("Account", "?")
    infra = Infrastructure("aws", f"account {account} in {acct.region}", f"aws-{acct.region}")
    infra.region = {"concurrency_limit": limit, "eni_quota": quota, "enis_in_use": other_enis}
    infra.subnets = subnets
    dedicated = [v["VpcId"] for v in vpcs if v.get("InstanceTenancy") == "dedicated"]
    if dedicated:
        infra.tenancy = "dedicated"
        notes.append(f"dedicated tenancy: {', '.join(dedicated)} (Lambda does not support it; the lint says so)")
    for f in found:
        name = f["FunctionName"]
        vpc = f.get("VpcConfig") or {}
        where = Origin(f"aws {acct.region}", None, f"lambda function {name}")
        infra.functions.append(ImportedFunction(
            name=name, memory_mb=int(f.get("MemorySize", 128)), timeout_s=float(f.get("Timeout", 3)),
            origin=where,
            subnets=list(vpc.get("SubnetIds") or []), security_groups=list(vpc.get("SecurityGroupIds") or []),
            reserved=reserved.get(name), provisioned=provisioned.get(name, 0),
            architecture=check_architecture(f.get("Architectures"), where)))
    notes.append(f"{len(enis)} ENIs in {acct.region}: {lambda_enis} are Lambda's, {other_enis} other resources' "
                 f"(region.enis_in_use); each subnet's ips_in_use leaves out Lambda's own")
    notes.append("platform: legacy, the scenario's default (a what-if of the per-environment ENI model); "
                 "--set platform=hyperplane for today's")
    if since_s is not None:
        assert trace_file is not None
        entries, text, minutes = _load(acct, names, since_s, now or datetime.now(UTC), trace_file, notes)
        for fn in infra.functions:
            if fn.name in entries:
                fn.load = entries[fn.name]
                fn.load_origin = {k: Origin(f"cloudwatch {acct.region}", None, f"AWS/Lambda {fn.name}")
                                  for k in entries[fn.name]}
        infra.extra_files[trace_file] = text
        infra.duration = f"{minutes}m" if minutes % 60 else f"{minutes // 60}h"
    infra.notes = notes
    return infra


def subnets_yaml(*, region: str | None = None, profile: str | None = None, functions: list[str] | None = None,
                 session: Any = None) -> tuple[str, int]:
    """The ``--subnets FILE`` text for the region's subnets (those of ``functions`` when given) and their count."""
    if session is None:
        session, region = _session(profile, region)
    else:
        region = region or session.region_name
        session.events.register("before-call", read_only_guard)
    acct = _Account(session, str(region))
    ids = None
    if functions:
        found = _functions(acct, functions)
        ids = sorted({s for f in found for s in (f.get("VpcConfig") or {}).get("SubnetIds") or []})
    raw, enis, tables, _ = _subnets(acct, ids)
    subnets, _, _ = _imported_subnets(raw, enis, tables, acct.region)
    from .writer import HEADER, flow_yaml

    lines = [f"{HEADER} aws --subnets-only` from {acct.region}: {len(subnets)} subnets, for --subnets FILE.",
             "# ips_in_use: addresses other workloads hold (AvailableIpAddressCount, less Lambda's own ENIs)."]
    for s in subnets:
        lines.append(f"# {s.origin.what}")
        lines.append("- " + flow_yaml(s.entry()))
    return "\n".join(lines) + "\n", len(subnets)
