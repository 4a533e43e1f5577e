"""The `trace` arrival process on the real Azure samples in ../shared/traces, and on small files written here.

Tier 1: exact counts (every minute of every function of the 500-function sample is replayed with the trace's count),
exact timestamps (azure2021: start = end - duration). Tier 2: the scale rule's binomial thinning, the durations of
the replay against the trace's percentiles. Tier 3: bad files give one clear line (file, line, field) and exit 2.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator as vs
from simulator.cli.core import main
from simulator.scenario import trace_files, traces
from simulator.sources.azure import import_azure2019

from .conftest import TRACES, needs_traces

A100 = TRACES / "azure2019-sample" / "100"
A500 = TRACES / "azure2019-sample" / "500"
A2021 = TRACES / "azure2021-excerpt" / "Azure2021_200.csv"
HORIZON_S = 480 * 60.0


def _fn(arrivals: dict | list, name: str = "f", duration: object = 0.1, **extra) -> dict:
    return {"name": name, "memory_mb": 128, "duration": duration, "init": 0.1, "timeout": 900,
            "arrivals": arrivals, **extra}


def _scenario(functions: list[dict], duration: object = "8h", **extra) -> vs.Scenario:
    return vs.scenario_from_dict({"version": 1, "name": "trace-test", "duration": duration, "timestep": 60,
                                  "region": {"concurrency_limit": 100000, "unreserved_min": 0,
                                             "scaling": {"model": "unlimited"}},
                                  "functions": functions, **extra})


def _azure(function: str, file: Path = A100 / "invocations.csv", **extra) -> dict:
    return {"process": "trace", "format": "azure2019", "file": str(file), "function": function, **extra}


def _all_times(proc, seed: int = 1, horizon: float = HORIZON_S) -> np.ndarray:
    blocks = list(proc.blocks(np.random.default_rng(seed), horizon))
    for b in blocks:
        assert np.all(np.diff(b) >= 0), "a block is not sorted"
    for a, b in zip(blocks, blocks[1:], strict=False):
        assert a[-1] <= b[0], "blocks overlap"
    return np.concatenate(blocks) if blocks else np.array([])


def _per_minute(times: np.ndarray, n: int) -> np.ndarray:
    return np.bincount((times // 60).astype(int), minlength=n)[:n]


# --------------------------------------------------------------------------------------------------- azure2019


@pytest.fixture(scope="module")
def inv500() -> pd.DataFrame:
    return pd.read_csv(A500 / "invocations.csv")


@needs_traces
def test_every_minute_of_every_function_of_the_500_sample_is_replayed_exactly(inv500):
    table = traces.read_table(A500 / "invocations.csv", "azure2019")
    minutes = [c for c in inv500.columns if c.isdigit()]
    assert minutes[0] == "480" and len(minutes) == 480
    total = 0
    for row in inv500.itertuples(index=False):
        h = row.HashFunction
        expected = np.array(row[4:], dtype=np.int64)
        tr = table.trace(h)
        times = np.concatenate(list(tr.blocks(np.random.default_rng(7), HORIZON_S)) or [np.array([])])
        assert len(times) == expected.sum(), h
        assert np.array_equal(_per_minute(times, 480), expected), h
        assert times.size == 0 or (times.min() >= 0 and times.max() < HORIZON_S)
        total += len(times)
    assert total == 3_037_902  # the figure of traces/README.md


@needs_traces
def test_even_spread_is_deterministic_and_centred_in_the_minute():
    sc = _scenario([_fn(_azure("7017de4f", spread="even"))])
    proc = sc.functions[0].arrivals[0]
    a, b = _all_times(proc, seed=1), _all_times(proc, seed=2)
    assert np.array_equal(a, b)  # no randomness in `even`
    counts = _per_minute(a, 480)
    # A minute with one call puts it at the minute's middle.
    one = int(np.flatnonzero(counts == 1)[0])
    assert a[np.searchsorted(a, one * 60.0)] == pytest.approx(one * 60.0 + 30.0)


@needs_traces
def test_poisson_spread_is_uniform_inside_minutes():
    proc = _scenario([_fn(_azure("1fa06535"))]).functions[0].arrivals[0]
    t = _all_times(proc)
    within = (t % 60.0) / 60.0
    # 273,379 uniform positions: each tenth of the minute holds 10% within 0.5% (about 9 standard deviations).
    shares = np.bincount((within * 10).astype(int), minlength=10) / len(t)
    assert np.all(np.abs(shares - 0.1) < 0.005), shares
    assert not np.array_equal(t, _all_times(proc, seed=2))
    assert np.array_equal(t, _all_times(proc, seed=1))  # same stream, same times


@needs_traces
def test_the_file_is_parsed_once_for_all_functions_until_it_changes(tmp_path, monkeypatch):
    calls = []
    real = trace_files.READERS["azure2019"]
    monkeypatch.setattr(traces, "_TABLES", type(traces._TABLES)())
    monkeypatch.setitem(trace_files.READERS, "azure2019", lambda p: calls.append(p) or real(p))
    copy = tmp_path / "invocations.csv"
    copy.write_bytes((A100 / "invocations.csv").read_bytes())
    hashes = list(pd.read_csv(copy, usecols=["HashFunction"])["HashFunction"][:20])
    sc = _scenario([_fn(_azure(h, copy), name=f"f{i}") for i, h in enumerate(hashes)])
    vs.capacity(sc)
    vs.simulate(sc.with_changes({"duration": "10m"}))
    assert len(calls) == 1
    # A changed file is read again (the cache is keyed by modification time and size).
    copy.write_bytes(copy.read_bytes() + b"\n")
    traces.read_table(copy, "azure2019")
    assert len(calls) == 2


@needs_traces
def test_simulated_invocations_equal_the_trace_per_function():
    # Ten functions of the 100 sample (not the busiest: a few seconds at most), through the importer and the engine.
    inv = pd.read_csv(A100 / "invocations.csv")
    inv = inv[["HashFunction"]].assign(total=inv[[c for c in inv.columns if c.isdigit()]].to_numpy().sum(axis=1))
    pick = inv.sort_values("total", ascending=False).iloc[1:11]
    imp = import_azure2019(A100, functions=list(pick["HashFunction"]))
    sc = vs.scenario_from_dict(imp.data)
    res = vs.simulate(sc, seed=3)
    by_hash = dict(zip(pick["HashFunction"], pick["total"], strict=True))
    for fn in sc.functions:
        expected = by_hash[fn.arrivals[0].function]
        assert res.summary["functions"][fn.name]["invocations"] == expected, fn.name
    assert res.summary["invocations"] == pick["total"].sum()
    assert res.timeseries["arrivals"].sum() == pick["total"].sum()


@needs_traces
def test_replayed_durations_follow_the_trace_percentiles():
    dur = pd.read_csv(A100 / "durations.csv").set_index("HashFunction")
    picks = ["08d3e511", "6513d956", "7017de4f", "ef6feecf"]  # 28,800 / 7,460 / 7,040 / 2,880 calls
    imp = import_azure2019(A100, functions=picks)
    sc = vs.scenario_from_dict(imp.data)
    res = vs.simulate(sc, seed=5, record_invocations=True)
    inv = res.invocations
    for fn in sc.functions:
        h = fn.arrivals[0].function
        runs = inv[(inv["function"] == fn.name) & (inv["outcome"] == "success")]
        ran_ms = (runs["end_s"] - runs["start_s"]).to_numpy() * 1000
        n = len(ran_ms)
        assert n > 2000
        for p in (1, 25, 50, 75, 99):
            v = float(dur.at[h, f"percentile_Average_{p}"])
            # The share of runs below the trace's p-th percentile is p% (binomial, 4.5 standard deviations). Both
            # sides of v, since flat stretches of the trace (0, 0, 0 ms) put a whole share on one value.
            tol = 4.5 * math.sqrt(p / 100 * (1 - p / 100) / n) + 1 / n
            below = float(np.mean(ran_ms < v - 1e-6))
            at_or_below = float(np.mean(ran_ms <= v + 1e-6))
            assert below <= p / 100 + tol and at_or_below >= p / 100 - tol, (fn.name, p, below, at_or_below)
        assert ran_ms.min() >= dur.at[h, "percentile_Average_0"] - 1e-6
        assert ran_ms.max() <= dur.at[h, "percentile_Average_100"] + 1e-6


@needs_traces
def test_capacity_uses_the_busiest_minute_of_the_trace():
    sc = _scenario([_fn(_azure("1fa06535"), duration=2.0)])
    row = pd.read_csv(A100 / "invocations.csv").set_index("HashFunction").loc[
        "1fa06535203693698b96c9d65f3529e724f80a80af2e779880fe15cf9739fad7"]
    busiest = int(row[[c for c in row.index if c.isdigit()]].max())
    cap = vs.capacity(sc)
    assert cap["functions"]["f"]["projected_peak"] == math.ceil(busiest / 60 * 2.0 - 1e-9)
    proc = sc.functions[0].arrivals[0]
    assert proc.expected_count(HORIZON_S) == pytest.approx(273_379)
    assert proc.expected_count(90.0) == pytest.approx(row["480"] + row["481"] / 2)
    assert proc.rate_at(np.array([-1.0, 30.0, HORIZON_S + 1]), HORIZON_S).tolist() == [0.0, row["480"] / 60, 0.0]


@needs_traces
def test_a_horizon_shorter_than_the_trace_cuts_it_and_a_longer_one_adds_nothing():
    proc = _scenario([_fn(_azure("08d3e511"))]).functions[0].arrivals[0]
    short = _all_times(proc, horizon=600.5)
    assert len(short) == 601 and short.max() < 600.5  # a timer: one call per second... 60 per minute
    long = _all_times(proc, horizon=3 * HORIZON_S)
    assert len(long) == 28_800 and long.max() < HORIZON_S


@needs_traces
def test_function_by_prefix_and_by_app_slash_function():
    table = traces.read_table(A100 / "invocations.csv", "azure2019")
    full = "1fa06535203693698b96c9d65f3529e724f80a80af2e779880fe15cf9739fad7"
    key = table.select(full)
    assert table.select("1fa065") == key == table.select(key)
    assert key.endswith("/" + full)
    with pytest.raises(traces.TraceError, match="no such function"):
        table.select("1fa06")  # shorter than 6 characters: not taken as a prefix


# --------------------------------------------------------------------------------------------------- scale


@needs_traces
def test_scale_two_doubles_every_minute_and_zero_replays_nothing():
    base = _scenario([_fn(_azure("7017de4f"))]).functions[0].arrivals[0]
    counts = _per_minute(_all_times(base), 480)
    double = _scenario([_fn(_azure("7017de4f", scale=2))]).functions[0].arrivals[0]
    assert np.array_equal(_per_minute(_all_times(double), 480), 2 * counts)
    none = _scenario([_fn(_azure("7017de4f", scale=0))]).functions[0].arrivals[0]
    assert len(_all_times(none)) == 0
    assert double.expected_count(HORIZON_S) == 2 * 7040


@needs_traces
@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_fractional_scale_thins_each_call_binomially(scale):
    proc = _scenario([_fn(_azure("1fa06535", scale=scale))]).functions[0].arrivals[0]
    n = 273_379
    whole, frac = math.floor(scale), scale - math.floor(scale)
    got = len(_all_times(proc))
    sd = math.sqrt(n * frac * (1 - frac))
    assert abs(got - n * scale) < 5 * sd, (got, n * scale)
    assert got >= whole * n


def test_scale_on_timestamps_repeats_calls_at_the_same_instant(tmp_path):
    f = tmp_path / "calls.csv"
    f.write_text("timestamp\n0.5\n1.25\n7\n")
    proc = _scenario([_fn({"process": "trace", "file": str(f), "scale": 3})]).functions[0].arrivals[0]
    assert _all_times(proc, horizon=10).tolist() == [0.0, 0.0, 0.0, 0.75, 0.75, 0.75, 6.5, 6.5, 6.5]


# --------------------------------------------------------------------------------------------------- azure2021


@needs_traces
def test_azure2021_excerpt_starts_are_end_minus_duration():
    raw = pd.read_csv(A2021)
    start = raw["end_timestamp"] - raw["duration"]
    origin = start.min()
    table = traces.read_table(A2021, "azure2021")
    assert len(table.series) == raw["func"].nunique() == 31
    assert sum(len(s) for s in table.series.values()) == len(raw) == 199
    for func, rows in raw.groupby("func"):
        key = table.select(func)
        assert key == f"{rows['app'].iloc[0]}/{func}"
        want = np.sort((rows["end_timestamp"] - rows["duration"]).to_numpy() - origin)
        assert np.allclose(table.series[key], want, atol=1e-9), func


@needs_traces
def test_azure2021_functions_replay_through_the_engine():
    raw = pd.read_csv(A2021)
    busiest = raw["func"].value_counts().index[:3]
    fns = [_fn({"process": "trace", "format": "azure2021", "file": str(A2021), "function": h}, name=f"f{i}")
           for i, h in enumerate(busiest)]
    res = vs.simulate(_scenario(fns, duration="30m"), seed=1)
    for i, h in enumerate(busiest):
        assert res.summary["functions"][f"f{i}"]["invocations"] == int((raw["func"] == h).sum())


# --------------------------------------------------------------------------------------------------- own exports


def test_timestamps_in_seconds_and_iso_8601_give_the_same_arrivals(tmp_path):
    secs = tmp_path / "s.csv"
    secs.write_text("function,timestamp\napi,100.5\nworker,100\napi,160\napi,101.25\n")
    iso = tmp_path / "iso.csv"
    iso.write_text("function,timestamp\napi,2024-03-01T12:00:00.5Z\nworker,2024-03-01T12:00:00Z\n"
                   "api,2024-03-01T13:01:00+01:00\napi,2024-03-01 12:00:01.250\n")
    for f in (secs, iso):
        proc = _scenario([_fn({"process": "trace", "file": str(f), "function": "api"})]).functions[0].arrivals[0]
        assert _all_times(proc, horizon=3600).tolist() == pytest.approx([0.5, 1.25, 60.0]), f.name
        assert proc.rate_at(np.array([10.0, 70.0]), 3600).tolist() == pytest.approx([2 / 60, 1 / 60])


def test_a_headerless_column_of_times_is_read(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("5\n3\n4.5\n")
    proc = _scenario([_fn({"process": "trace", "file": str(f)})]).functions[0].arrivals[0]
    assert _all_times(proc, horizon=10).tolist() == [0.0, 1.5, 2.0]


def test_per_minute_counts_with_and_without_a_minute_column(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("count\n3\n0\n5\n")
    numbered = tmp_path / "numbered.csv"
    numbered.write_text("function,minute,count\nb,7,1\na,10,3\na,12,5\na,12,1\n")
    for f, fn, want in ((plain, None, [3, 0, 5]), (numbered, "a", [0, 0, 0, 3, 0, 6])):
        for spread in ("poisson", "even"):
            arr = {"process": "trace", "format": "per_minute", "file": str(f), "spread": spread}
            if fn:
                arr["function"] = fn
            proc = _scenario([_fn(arr)]).functions[0].arrivals[0]
            assert _per_minute(_all_times(proc), len(want)).tolist() == want, (f.name, spread)


# --------------------------------------------------------------------------------------------------- bad input


def _bad_trace_scenario(tmp_path: Path, trace_text: str | bytes, fmt: str = "azure2019",
                        function: str | None = "1fa06535") -> Path:
    trace = tmp_path / "trace.csv"
    trace.write_bytes(trace_text if isinstance(trace_text, bytes) else trace_text.encode())
    fn_line = f"\n        function: {function}" if function else ""
    sc = tmp_path / "sc.yaml"
    sc.write_text(f"""version: 1
name: bad-trace
duration: 1h
functions:
  - name: f
    memory_mb: 128
    duration: 100ms
    arrivals:
      - process: trace
        format: {fmt}
        file: trace.csv{fn_line}
""")
    return sc


def _real_lines() -> list[str]:
    return (A100 / "invocations.csv").read_text().splitlines()


def _cli_error(capsys, sc: Path) -> str:
    assert main(["validate", str(sc)]) == 2
    assert main(["run", str(sc)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0] == err[1], err  # one line, the same from both commands
    assert "Traceback" not in err[0]
    return err[0]


@needs_traces
def test_missing_column_names_the_file_line_and_field(tmp_path, capsys):
    lines = _real_lines()
    header = lines[0].split(",")
    cols = [i for i, c in enumerate(header) if c != "HashFunction"]
    text = "\n".join(",".join(line.split(",")[i] for i in cols) for line in lines) + "\n"
    msg = _cli_error(capsys, _bad_trace_scenario(tmp_path, text))
    assert msg.startswith(f"{tmp_path / 'sc.yaml'}:11: functions[0].arrivals[0].file: ")
    assert "trace.csv:1: no column 'HashFunction'" in msg


@needs_traces
def test_non_numeric_count_names_its_line_and_column(tmp_path, capsys):
    lines = _real_lines()
    cells = lines[5].split(",")
    cells[4 + 3] = "lots"  # minute 483 of the fifth function
    lines[5] = ",".join(cells)
    msg = _cli_error(capsys, _bad_trace_scenario(tmp_path, "\n".join(lines) + "\n"))
    assert "functions[0].arrivals[0].file:" in msg
    assert "trace.csv:6: column '483': not a count of invocations" in msg and "'lots'" in msg


@needs_traces
def test_negative_count_is_refused(tmp_path, capsys):
    lines = _real_lines()
    cells = lines[2].split(",")
    cells[4] = "-3"
    lines[2] = ",".join(cells)
    msg = _cli_error(capsys, _bad_trace_scenario(tmp_path, "\n".join(lines) + "\n"))
    assert "trace.csv:3: column '480'" in msg and "-3" in msg


@needs_traces
def test_wrong_function_hash_names_the_function_field(tmp_path, capsys):
    text = (A100 / "invocations.csv").read_text()
    msg = _cli_error(capsys, _bad_trace_scenario(tmp_path, text, function="deadbeefcafe"))
    assert msg.startswith(f"{tmp_path / 'sc.yaml'}:12: functions[0].arrivals[0].function: no such function")
    assert "'deadbeefcafe'" in msg


@needs_traces
def test_missing_function_for_azure2019_is_an_error(tmp_path, capsys):
    text = (A100 / "invocations.csv").read_text()
    msg = _cli_error(capsys, _bad_trace_scenario(tmp_path, text, function=None))
    assert "functions[0].arrivals[0].function: required for format azure2019" in msg


@pytest.mark.parametrize("content, expected", [
    (b"", "empty file"),
    (b"HashOwner,HashApp,HashFunction,Trigger,480,481\n", "has a header but no rows"),
    (b"\xff\xfe\x00garbage\x00\n", "not a"),
])
def test_empty_or_unreadable_files(tmp_path, capsys, content, expected):
    msg = _cli_error(capsys, _bad_trace_scenario(tmp_path, content))
    assert "functions[0].arrivals[0].file:" in msg and expected in msg


@needs_traces
def test_bad_timestamp_and_azure2021_cells(tmp_path, capsys):
    msg = _cli_error(capsys, _bad_trace_scenario(tmp_path, "timestamp\n1\n2\nsoon\n", fmt="timestamps",
                                                 function=None))
    assert "trace.csv:4: column 'timestamp': not a time in seconds" in msg and "'soon'" in msg
    rows = A2021.read_text().splitlines()
    rows[3] = rows[3].rsplit(",", 1)[0] + ",fast"
    msg = _cli_error(capsys, _bad_trace_scenario(tmp_path, "\n".join(rows), fmt="azure2021",
                                                 function="e3cdb48830f6"))
    assert "trace.csv:4: column 'duration': not a duration in seconds (got 'fast')" in msg


def test_spread_on_a_timestamp_trace_is_refused(tmp_path, capsys):
    sc = _bad_trace_scenario(tmp_path, "timestamp\n1\n2\n", fmt="timestamps", function=None)
    sc.write_text(sc.read_text() + "        spread: even\n")
    msg = _cli_error(capsys, sc)
    assert "functions[0].arrivals[0].spread: applies to per-minute formats" in msg


def test_missing_trace_file(tmp_path, capsys):
    sc = _bad_trace_scenario(tmp_path, "x")
    (tmp_path / "trace.csv").unlink()
    msg = _cli_error(capsys, sc)
    assert "functions[0].arrivals[0].file: trace file not found" in msg


def test_a_function_column_needs_a_function(tmp_path, capsys):
    sc = _bad_trace_scenario(tmp_path, "function,timestamp\napi,1\nworker,2\n", fmt="timestamps", function=None)
    msg = _cli_error(capsys, sc)
    assert "functions[0].arrivals[0].function:" in msg and "has a `function` column" in msg


@needs_traces
def test_counts_written_as_floats_or_with_spaces_are_read(tmp_path):
    lines = _real_lines()[:3]
    cells = lines[1].split(",")
    cells[4], cells[5] = "2.0", " 3"
    lines[1] = ",".join(cells)
    f = tmp_path / "inv.csv"
    f.write_text("\n".join(lines) + "\n")
    table = traces.read_table(f, "azure2019")
    key = table.select(cells[2])
    assert table.series[key][:2].tolist() == [2, 3]


def test_a_loaded_scenario_holds_its_traces_and_runs_without_the_files(tmp_path):
    # The calls are read when the scenario is validated and travel with it (a worker process, a Dask worker): a run
    # after the file is gone, or changed, replays what was loaded, with the same results.
    import pickle

    f = tmp_path / "t.csv"
    f.write_text("function,minute,count\napi,0,30\napi,1,90\napi,2,12\n")
    sc = _scenario([_fn({"process": "trace", "format": "per_minute", "file": str(f), "function": "api"})])
    before = vs.simulate(sc, seed=3).summary
    copy = pickle.loads(pickle.dumps(sc))
    f.write_text("function,minute,count\napi,0,1\n")  # changed after loading: the loaded scenario does not see it
    same = vs.simulate(sc, seed=3).summary
    f.unlink()
    moved = vs.simulate(copy, seed=3).summary
    for s in (same, moved):
        assert s["invocations"] == before["invocations"] == 132
        assert s["latency_ms"] == before["latency_ms"]
