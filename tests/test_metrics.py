"""The streaming latency histogram: exact while small, within its stated 0.5% bound once folded, flat memory."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.metrics import _BUCKETS, LatencyHistogram


def test_small_runs_report_exact_percentiles():
    h = LatencyHistogram(1)
    vals = [0.1, 0.2, 0.3, 0.4]
    for v in vals:
        h.add(0, v)
    s = h.summary(0)
    assert s["p50"] == pytest.approx(np.percentile(vals, 50) * 1000)
    assert s["max"] == pytest.approx(400.0) and s["mean"] == pytest.approx(250.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_folded_percentiles_are_within_half_a_percent(seed):
    rng = np.random.default_rng(seed)
    vals = rng.lognormal(np.log(0.15), 1.2, 300_000)  # more than the buffer: the histogram folds
    keys = rng.integers(0, 3, len(vals))
    h = LatencyHistogram(3, buffer=50_000)
    for k, v in zip(keys.tolist(), vals.tolist(), strict=True):
        h.add(k, v)
    assert h.folded
    for key in (None, 0, 2):
        sel = vals if key is None else vals[keys == key]
        s = h.summary(key, scale=1.0)
        for q in (50, 95, 99):
            # Bucket width 1% → the midpoint is within 0.5%; allow one rank of slack for numpy's interpolation.
            assert s[f"p{q}"] == pytest.approx(np.percentile(sel, q), rel=0.006)
        assert s["max"] == pytest.approx(sel.max()) and s["mean"] == pytest.approx(sel.mean())
    # Memory: a fixed matrix of keys x buckets, whatever the number of values.
    assert h.counts.shape == (3, _BUCKETS) and len(h.values) < 50_000


def test_distribution_counts_every_value_once_without_changing_the_histogram():
    rng = np.random.default_rng(7)
    h = LatencyHistogram(2, buffer=1000)
    vals = rng.exponential(0.2, 2500)
    for i, v in enumerate(vals.tolist()):
        h.add(i % 2, v)
    edges, counts = h.distribution()
    assert counts.sum() == 2500 and len(edges) == len(counts) + 1
    assert edges[0] <= vals.min() and vals.max() <= edges[-1] * 1.0000001
    before = h.summary()
    h.distribution(1)
    assert h.summary() == before
