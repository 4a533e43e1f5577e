"""The results contract: what a run's summary holds, declared once.

The outcome causes and their Lambda error names live here, at the bottom of the package, so that the engine, the
recorder and every reader of a summary use the same words.
"""

from __future__ import annotations

__all__ = ["OUTCOMES", "THROTTLES", "FAILURES", "LAMBDA_ERRORS"]

# The outcomes of an invocation (SPEC §4); they mirror Lambda's own errors (AWS facts §5):
#   throttled_*  → TooManyRequestsException (429)      eni_limit    → ENILimitReachedException
#   subnet_ips   → SubnetIPAddressLimitReachedException ec2_throttled → EC2ThrottledException
#   az_outage    → the environment's AZ went away        timeout      → Task timed out (function error)
#   dropped      → an async event older than max_event_age
OUTCOMES = (
    "success", "throttled_concurrency", "throttled_reserved", "throttled_scaling",
    "eni_limit", "subnet_ips", "ec2_throttled", "az_outage", "timeout", "dropped",
)
THROTTLES = ("throttled_concurrency", "throttled_reserved", "throttled_scaling")
FAILURES = ("eni_limit", "subnet_ips", "ec2_throttled", "az_outage", "timeout", "dropped")

# Lambda's own names for the outcome causes (AWS facts §5), shown beside ours in tables and reports.
LAMBDA_ERRORS = {
    "success": "",
    "throttled_concurrency": "429 TooManyRequestsException (ConcurrentInvocationLimitExceeded)",
    "throttled_reserved": "429 TooManyRequestsException (ReservedFunctionConcurrentInvocationLimitExceeded)",
    "throttled_scaling": "429 TooManyRequestsException (scaling rate)",
    "eni_limit": "502 ENILimitReachedException",
    "subnet_ips": "502 SubnetIPAddressLimitReachedException",
    "ec2_throttled": "502 EC2ThrottledException",
    "az_outage": "the environment's Availability Zone failed",
    "timeout": "Task timed out",
    "dropped": "async event older than max_event_age",
}
