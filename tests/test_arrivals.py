"""Arrival processes (simulator.scenario.arrivals): the figures they promise, checked against closed forms worked out by hand.
"""

from __future__ import annotations

import math

from simulator.scenario.arrivals import DiurnalProcess


def test_diurnal_expected_count_is_the_integral_of_its_rate_for_any_period():
    # mean * horizon + mean * amplitude * period / 2π * [sin(2π (t - peak_at) / period)] from 0 to horizon. A fixed
    # grid of 4097 points aliases a one-minute cycle over a day (it gave 916,520 instead of 864,000).
    # 107 s, like any period that is no divisor of the day (a period is at least a minute: docs/scenario.md).
    for period, peak_at, horizon in ((60.0, 0.0, 86400.0), (107.0, 13.0, 86400.0), (86400.0, 50400.0, 3600.0)):
        p = DiurnalProcess(mean=10, amplitude=1, period=period, peak_at=peak_at)
        w = 2 * math.pi / period
        exact = 10 * horizon + 10 / w * (math.sin(w * (horizon - peak_at)) - math.sin(-w * peak_at))
        assert abs(p.expected_count(horizon) - exact) < 1e-6 * exact
