"""Latency percentiles of many series (one per function) in memory that does not grow with the run.

Values are buffered in two lists and folded into a log-spaced histogram (buckets 1% wide, so a percentile read from
it is within 0.5% of the exact value) when the buffer fills. Until then the exact values are kept, so small runs
(the exact-trace tests) report exact percentiles. The histogram is sparse: it holds the (series, bucket) pairs that
occurred, sorted, with their counts — a run with thousands of rarely-called functions holds a few buckets for each,
not thousands (issue 11: 44 MB per 1,000 functions before). Count, mean and max are always exact.

Percentiles for every series are computed in one pass (:meth:`LatencyHistogram.summaries`), so building the summary
of a run costs one sort of the buffer, not one scan of it per function.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LatencyHistogram", "bucket_edges", "QUANTILES"]

QUANTILES = (50, 95, 99)
_GROWTH = 1.01  # bucket width: each bucket is 1% wider than the previous one
_LOG_GROWTH = math.log(_GROWTH)
_MIN_S = 1e-6  # 1 µs; smaller values (and zero) share bucket 0
_BUCKETS = int(math.ceil(math.log(1e6 / _MIN_S) / _LOG_GROWTH)) + 1  # up to 1e6 s (11.6 days)
_EMPTY = {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}


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


def _exact(vals: np.ndarray, scale: float) -> dict[str, float | None]:
    if len(vals) == 0:
        return dict(_EMPTY)
    pct = np.percentile(vals, QUANTILES)
    return {**{f"p{q}": float(v) * scale for q, v in zip(QUANTILES, pct, strict=True)},
            "max": float(vals.max()) * scale, "mean": float(vals.mean()) * scale}


def _exact_per_key(keys: np.ndarray, vals: np.ndarray, n_keys: int, scale: float) -> list[dict[str, float | None]]:
    """:func:`_exact` of each key's values, the percentiles of every key at once: ``np.percentile`` costs about
    100 µs a call, a scenario has thousands of functions. The same figures: numpy's "linear" method step by step
    (index ``(n - 1) q``, its floor and the next, ``_lerp``), on the values sorted within each key."""
    if not len(vals):
        return [dict(_EMPTY) for _ in range(n_keys)]
    by_key = np.argsort(keys, kind="stable")  # within a key, the values keep their order (and so their sums)
    in_order = vals[by_key]
    bounds = np.searchsorted(keys[by_key], np.arange(n_keys + 1))
    ranked = vals[np.lexsort((vals, keys))]  # by key, then by value
    n = np.diff(bounds)
    q = np.true_divide(np.asarray(QUANTILES), 100)  # as np.percentile turns percentages into quantiles
    last = (n - 1)[:, None]
    index = last * q  # the virtual index of each key and quantile
    below = np.floor(index)
    above = index >= last  # at or past the last value: numpy takes the last value (its index -1)
    below[above] = -1
    below = below.astype(np.intp)
    gamma = index - below
    lo = np.where(above, last, below) + bounds[:-1, None]
    hi = np.where(above, last, below + 1) + bounds[:-1, None]
    has = n > 0
    lo[~has] = hi[~has] = 0  # keys without values: no figures, any index that exists
    a, b = ranked[lo], ranked[hi]
    diff = b - a
    pct = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)  # numpy's _lerp
    out: list[dict[str, float | None]] = []
    for k in range(n_keys):
        if not has[k]:
            out.append(dict(_EMPTY))
            continue
        values = in_order[bounds[k]:bounds[k + 1]]
        out.append({**{f"p{q}": float(v) * scale for q, v in zip(QUANTILES, pct[k], strict=True)},
                    "max": float(ranked[bounds[k + 1] - 1]) * scale, "mean": float(values.mean()) * scale})
    return out


def _from_buckets(buckets: np.ndarray, counts: np.ndarray, n: int, total: float, mx: float,
                  scale: float) -> dict[str, float | None]:
    """Percentiles from the non-empty buckets (sorted) and their counts: the bucket holding the value of rank q%
    (numpy's "linear" percentile rounds between ranks; the bucket error of 0.5% dominates that difference)."""
    if n == 0:
        return dict(_EMPTY)
    cum = np.cumsum(counts)
    out: dict[str, float | None] = {}
    for q in QUANTILES:
        rank = q / 100 * (n - 1)
        b = int(buckets[int(np.searchsorted(cum, rank + 1, side="left"))])
        value = 0.0 if b == 0 else _MIN_S * _GROWTH ** (b - 0.5)
        out[f"p{q}"] = min(value, mx) * scale
    out["max"] = mx * scale
    out["mean"] = total / n * scale
    return out


class LatencyHistogram:
    """Percentiles of many series of durations (one per key) in bounded memory.

    The engine appends to :attr:`keys` and :attr:`values` and calls :meth:`fold` when ``len(values) >= buffer``
    (inlined in its hottest path); :meth:`add` does the same for others.
    """

    __slots__ = ("n_keys", "buffer", "keys", "values", "codes", "counts", "folded", "n", "total", "max")

    def __init__(self, n_keys: int, buffer: int = 1 << 17):
        self.n_keys = n_keys
        self.buffer = buffer
        self.keys: list[int] = []
        self.values: list[float] = []
        self.codes = np.empty(0, dtype=np.int64)  # key * buckets + bucket, sorted, unique
        self.counts = np.empty(0, dtype=np.int64)
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
        """Move the buffered values into the histogram."""
        if not self.values:
            return
        keys = np.asarray(self.keys, dtype=np.int64)
        vals = np.asarray(self.values, dtype=float)
        self.n += np.bincount(keys, minlength=self.n_keys)
        self.total += np.bincount(keys, weights=vals, minlength=self.n_keys)
        mx = np.full(self.n_keys, -math.inf)
        np.maximum.at(mx, keys, vals)
        self.max = np.maximum(self.max, mx)
        new, k = np.unique(keys * _BUCKETS + _bucket(vals), return_counts=True)
        codes = np.concatenate([self.codes, new])
        counts = np.concatenate([self.counts, k])
        order = np.argsort(codes, kind="stable")
        codes, counts = codes[order], counts[order]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        self.codes, self.counts = codes[starts], np.add.reduceat(counts, starts)
        self.keys.clear()
        self.values.clear()
        self.folded = True

    def _all_buckets(self) -> np.ndarray:
        """Counts per bucket of every key together (dense over the buckets)."""
        return np.bincount(self.codes % _BUCKETS, weights=self.counts, minlength=_BUCKETS).astype(np.int64)

    def summaries(self, scale: float = 1000.0) -> tuple[dict[str, float | None], list[dict[str, float | None]]]:
        """``{p50, p95, p99, max, mean}`` of all keys together and of each key, in seconds × ``scale`` (ms)."""
        if not self.folded:
            keys = np.asarray(self.keys, dtype=np.int64)
            vals = np.asarray(self.values, dtype=float)
            return _exact(vals, scale), _exact_per_key(keys, vals, self.n_keys, scale)
        self.fold()
        bounds = np.searchsorted(self.codes, np.arange(self.n_keys + 1, dtype=np.int64) * _BUCKETS)
        per_key = []
        for k in range(self.n_keys):
            lo, hi = bounds[k], bounds[k + 1]
            per_key.append(_from_buckets(self.codes[lo:hi] - k * _BUCKETS, self.counts[lo:hi], int(self.n[k]),
                                         float(self.total[k]), float(self.max[k]), scale))
        dense = self._all_buckets()
        nz = np.flatnonzero(dense)
        overall = _from_buckets(nz, dense[nz], int(self.n.sum()), float(self.total.sum()), float(self.max.max()),
                                scale)
        return overall, per_key

    def distribution(self) -> tuple[np.ndarray, np.ndarray]:
        """``(edges_s, counts)`` of every recorded value: the 1%-wide buckets between the first and the last
        non-empty one. Does not change the histogram."""
        counts = self._all_buckets()
        if self.values:
            counts = counts + np.bincount(_bucket(np.asarray(self.values, dtype=float)), minlength=_BUCKETS)
        nz = np.flatnonzero(counts)
        if not len(nz):
            return np.empty(0), np.empty(0, dtype=np.int64)
        first, stop = int(nz[0]), int(nz[-1]) + 1
        return bucket_edges(first, stop), counts[first:stop]
