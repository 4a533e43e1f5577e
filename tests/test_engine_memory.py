"""Memory does not grow with the horizon (issue 12, item 5): what the engine holds while it runs is bounded by a
count (arrivals per window, events per step), not by a share of the run. The benchmark measures the process
(`python benchmarks/bench_engine.py --memory`: the first million invocations of a 30-day run peak within 1.5x of a
short run's memory); these tests pin the two mechanisms that keep it so."""

from __future__ import annotations

from simulator.engine import Engine

from .conftest import tiny

DAY = 86400


def _long(days: float, rate: float = 1000.0, **changes):
    return tiny(duration=days * DAY, timestep=600, functions=[{
        "name": "f", "memory_mb": 1024, "timeout": 60, "duration": 0.2, "init": 0.1, "keep_alive": 60,
        "arrivals": [{"process": "poisson", "rate": rate}], **changes}])


def test_arrival_windows_are_bounded_by_count_not_by_horizon():
    # The first window used to span horizon/100: 30 days at 1,000/s put 26 million arrivals in memory at once.
    engine = Engine(_long(30), 1)
    src = engine.arrivals
    sizes = []
    for _ in range(30):
        assert src.refill()
        sizes.append(len(src.times))
    assert max(sizes) <= 4 * src._WINDOW
    assert src.start < 3600  # thirty windows cover minutes of a 30-day run, not days


def test_a_rate_jump_after_a_quiet_hour_does_not_flood_one_window():
    # Empty windows grow fourfold; a quiet hour followed by 3,000/s must still load a block at a time.
    sc = tiny(duration=2 * 3600, functions=[{
        "name": "f", "memory_mb": 1024, "timeout": 60, "duration": 0.2, "arrivals": [
            {"process": "poisson", "schedule": [[0, 0], [3600, 0], [3601, 3000]], "interpolate": "step"}]}])
    src = Engine(sc, 1).arrivals
    biggest = 0
    while src.refill() and src.start < 2 * 3600:
        biggest = max(biggest, len(src.times))
    assert 0 < biggest <= 2 * 8192  # at most a block or so per window, never the 10 million of the second hour


def test_the_event_queue_does_not_hold_one_tick_per_step():
    # 30 days of 10-minute steps: 4,320 ticks. They are scheduled one at a time, not all before the run.
    engine = Engine(_long(30), 1)
    engine._setup()
    assert len(engine.loop.heap) < 10
    engine.loop.run(until=3 * 600 + 1)
    assert len([e for e in engine.loop.heap if e[3] == engine._on_tick]) == 1


def test_merged_arrivals_do_not_depend_on_where_windows_fall():
    # Two processes with simultaneous arrivals (constant rates): ties keep the processes' order in every window.
    sc = tiny(duration=600, functions=[
        {"name": "f", "memory_mb": 1024, "timeout": 60, "duration": 0.2,
         "arrivals": [{"process": "constant", "rate": 4}, {"process": "poisson", "rate": 50}]},
        {"name": "g", "memory_mb": 1024, "timeout": 60, "duration": 0.2,
         "arrivals": [{"process": "constant", "rate": 2}]}])

    def merged(window: int) -> list[tuple[float, str]]:
        engine = Engine(sc, 3)
        src = engine.arrivals
        src._WINDOW = window
        out = []
        while src.refill():
            out += [(t, f.name) for t, f in zip(src.times, src.fn_of, strict=True)]
        return out

    small, large = merged(7), merged(100_000)
    assert small == large
    assert small == sorted(small, key=lambda x: x[0])
    ties = [(a, b) for a, b in zip(small, small[1:], strict=False) if a[0] == b[0]]
    assert ties and all(a[1] == "f" and b[1] == "g" for a, b in ties)


def test_timeseries_csv_keeps_every_steps_time_exact(tmp_path):
    # `%.6g` wrote 172799.9 as 172800: the last steps of a two-day run at 0.1 s steps ran together (issue 11).
    import pandas as pd

    from simulator.present.folders import timeseries_csv

    t = [0.0, 0.1, 5.0, 86399.9, 172799.9, 1_000_000.5]
    timeseries_csv(pd.DataFrame({"t_s": t, "concurrency_mean": [0.123456789] * len(t)}), tmp_path / "ts.csv")
    back = pd.read_csv(tmp_path / "ts.csv")
    assert back["t_s"].tolist() == t and back["t_s"].is_unique
    lines = (tmp_path / "ts.csv").read_text().splitlines()
    assert lines[1] == "0,0.123457" and lines[3] == "5,0.123457"  # short where short is exact: as before
