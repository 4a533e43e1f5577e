"""Streaming measurement: latency histograms with a bounded error, and the outcome causes of SPEC §4.

Memory must not grow with the number of invocations (SPEC §4). Latencies are buffered in a fixed-size list and folded
into a log-spaced histogram (buckets 1% wide, so a percentile read from it is within 0.5% of the exact value) when
the buffer fills. Until then the exact values are kept, so small runs (the exact-trace tests) report exact
percentiles.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["OUTCOMES", "THROTTLES", "FAILURES", "LAMBDA_ERRORS", "LatencyHistogram"]

# The failure causes of SPEC §4; they mirror Lambda's own errors (DOMAIN §5):
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

# Lambda's own names for the outcome causes (DOMAIN §5), shown beside ours in tables and reports.
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

_GROWTH = 1.01  # bucket width: each bucket is 1% wider than the previous one
_LOG_GROWTH = math.log(_GROWTH)
_MIN_S = 1e-6  # 1 µs; smaller values (and zero) share bucket 0
_BUCKETS = int(math.ceil(math.log(1e6 / _MIN_S) / _LOG_GROWTH)) + 1  # up to 1e6 s (11.6 days)


def _bucket(vals: np.ndarray) -> np.ndarray:
    """Bucket of each value: 0 for [0, 1 µs], b >= 1 for [1 µs × 1.01^(b-1), 1 µs × 1.01^b)."""
    idx = np.zeros(len(vals), dtype=np.int64)
    pos = vals > _MIN_S
    idx[pos] = np.minimum(np.floor(np.log(vals[pos] / _MIN_S) / _LOG_GROWTH).astype(np.int64) + 1, _BUCKETS - 1)
    return idx


def bucket_edges(first: int, stop: int) -> np.ndarray:
    """The edges (seconds) of buckets ``first .. stop-1``: ``stop - first + 1`` values."""
    b = np.arange(first, stop + 1, dtype=float)
    return np.where(b <= 0, 0.0, _MIN_S * _GROWTH ** (b - 1))


class LatencyHistogram:
    """Percentiles of many series of durations (one per key, e.g. per function) in fixed memory.

    ``add(key, seconds)`` appends to a buffer; every ``buffer`` values the buffer is folded into a
    ``keys × buckets`` count matrix. Exact values are kept until the first fold, so percentiles are exact for
    runs with fewer values than the buffer, and within 0.5% (relative) afterwards. Count, mean and max are
    always exact.
    """

    def __init__(self, n_keys: int, buffer: int = 1 << 17):
        self.n_keys = n_keys
        self.buffer = buffer
        self.keys: list[int] = []
        self.values: list[float] = []
        self.counts = np.zeros((n_keys, _BUCKETS), dtype=np.int64)
        self.folded = False
        self.n = np.zeros(n_keys, dtype=np.int64)
        self.total = np.zeros(n_keys)
        self.max = np.full(n_keys, -math.inf)

    def add(self, key: int, seconds: float) -> None:
        self.keys.append(key)
        self.values.append(seconds)
        if len(self.values) >= self.buffer:
            self.fold()

    def fold(self) -> None:
        if not self.values:
            return
        keys = np.asarray(self.keys, dtype=np.int64)
        vals = np.asarray(self.values, dtype=float)
        self._stats(keys, vals)
        idx = _bucket(vals)
        flat = np.bincount(keys * _BUCKETS + idx, minlength=self.n_keys * _BUCKETS)
        self.counts += flat.reshape(self.n_keys, _BUCKETS)
        self.keys.clear()
        self.values.clear()
        self.folded = True

    def _stats(self, keys: np.ndarray, vals: np.ndarray) -> None:
        self.n += np.bincount(keys, minlength=self.n_keys)
        self.total += np.bincount(keys, weights=vals, minlength=self.n_keys)
        mx = np.full(self.n_keys, -math.inf)
        np.maximum.at(mx, keys, vals)
        self.max = np.maximum(self.max, mx)

    def distribution(self, key: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(edges_s, counts)`` of the recorded values (one key or all): the 1%-wide buckets between the first and
        the last non-empty one. Does not change the histogram."""
        counts = (self.counts.sum(axis=0) if key is None else self.counts[key]).astype(np.int64)
        if self.values:
            vals = np.asarray(self.values, dtype=float)
            if key is not None:
                vals = vals[np.asarray(self.keys, dtype=np.int64) == key]
            counts = counts + np.bincount(_bucket(vals), minlength=_BUCKETS)
        nz = np.flatnonzero(counts)
        if not len(nz):
            return np.empty(0), np.empty(0, dtype=np.int64)
        first, stop = int(nz[0]), int(nz[-1]) + 1
        return bucket_edges(first, stop), counts[first:stop]

    def summary(self, key: int | None = None, scale: float = 1000.0) -> dict[str, float | None]:
        """``{p50, p95, p99, max, mean}`` for one key (or all keys together), in seconds × ``scale`` (ms)."""
        qs = (50, 95, 99)
        if not self.folded:
            keys = np.asarray(self.keys, dtype=np.int64)
            vals = np.asarray(self.values, dtype=float)
            if key is not None:
                vals = vals[keys == key]
            if len(vals) == 0:
                return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
            pct = np.percentile(vals, qs)
            return {
                **{f"p{q}": float(v) * scale for q, v in zip(qs, pct, strict=True)},
                "max": float(vals.max()) * scale,
                "mean": float(vals.mean()) * scale,
            }
        self.fold()
        if key is None:
            counts, n, total, mx = self.counts.sum(axis=0), int(self.n.sum()), float(self.total.sum()), float(self.max.max())
        else:
            counts, n, total, mx = self.counts[key], int(self.n[key]), float(self.total[key]), float(self.max[key])
        if n == 0:
            return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
        cum = np.cumsum(counts)
        out: dict[str, float | None] = {}
        for q in qs:
            # The bucket holding the value of rank q% (numpy's "linear" percentile rounds between ranks; the bucket
            # error of 0.5% dominates that difference).
            rank = q / 100 * (n - 1)
            b = int(np.searchsorted(cum, rank + 1, side="left"))
            value = 0.0 if b == 0 else _MIN_S * _GROWTH ** (b - 0.5)
            out[f"p{q}"] = min(value, mx) * scale
        out["max"] = mx * scale
        out["mean"] = total / n * scale
        return out
