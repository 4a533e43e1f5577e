"""`vpcsim import azure2019 --from TIME --to TIME`: a window of the trace, in the trace's own time (the minute column
N starts N minutes into its day), re-based to 0. Exact checks on small hand-made trace folders (the window is
[from, to): the column whose minute starts at `from` is in, the one starting at `to` is out), the real samples in
../shared/traces, and bad values as one line with exit code 2 and nothing written."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import simulator as vs
from simulator.cli.core import main
from simulator.sources.azure import ImportProblem, import_azure2019

from .conftest import TRACES, needs_traces

A100 = TRACES / "azure2019-sample" / "100"
HASH_A, HASH_B = "a" * 64, "b" * 64
APP = "c" * 64
# Minutes 10..15 of the day (time 10m..16m); http-aaaaaaaa calls in 10, 11, 13, 15, timer-bbbbbbbb only in 12.
COUNTS = {HASH_A: ("http", [1, 2, 0, 4, 0, 6]), HASH_B: ("timer", [0, 0, 3, 0, 0, 0])}
FIRST = 10
PCT = "percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75," \
      "percentile_Average_99,percentile_Average_100"


@pytest.fixture
def trace(tmp_path):
    """A folder of the Azure 2019 trace's three files, two functions over six minutes."""
    folder = tmp_path / "trace"
    folder.mkdir()
    minutes = ",".join(str(FIRST + i) for i in range(6))
    rows = [f"o,{APP},{h},{trigger}," + ",".join(map(str, counts)) for h, (trigger, counts) in COUNTS.items()]
    (folder / "invocations.csv").write_text(f"HashOwner,HashApp,HashFunction,Trigger,{minutes}\n" + "\n".join(rows)
                                            + "\n")
    (folder / "durations.csv").write_text(f"HashOwner,HashApp,HashFunction,Maximum,{PCT}\n"
                                          f"o,{APP},{HASH_A},500,100,100,100,100,100,100,100\n"
                                          f"o,{APP},{HASH_B},500,200,200,200,200,200,200,200\n")
    (folder / "memory.csv").write_text(f"HashFunction,AverageAllocatedMb_pct99\n{HASH_A},100\n{HASH_B},300\n")
    return folder


def _import(out, folder, *args: str) -> int:
    return main(["import", "azure2019", str(folder), "--out", str(out), *args])


def _fails(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_a_window_is_written_as_its_own_trace_re_based_to_zero(trace, tmp_path, capsys):
    out = tmp_path / "out" / "win.yaml"
    # [11m, 14m): columns 11, 12, 13; column 14 (starting at 14m) is out.
    assert _import(out, trace, "--from", "11m", "--to", "14m", "--spread", "even") == 0, capsys.readouterr().err
    assert "Imported 2 functions" in capsys.readouterr().out
    assert (out.parent / "win.invocations.csv").read_text() == (
        "function,minute,count\n"
        "http-aaaaaaaa,11,2\nhttp-aaaaaaaa,13,4\n"          # no calls in 12: left out (11 and 13 are the ends)
        "timer-bbbbbbbb,11,0\ntimer-bbbbbbbb,12,3\ntimer-bbbbbbbb,13,0\n")  # the window's ends, for every function
    text = out.read_text()
    assert text.startswith("# Imported by `vpcsim import azure2019 ")
    assert ("minutes 11..13: the window --from 11m --to 14m of its minutes 10..15, re-based: time 0 is minute 11; "
            "its calls per minute are in win.invocations.csv beside this file") in text.splitlines()[0]
    data = yaml.safe_load(text)
    assert data["duration"] == "3m"
    assert [f["arrivals"] for f in data["functions"]] == [
        [{"process": "trace", "format": "per_minute", "file": "win.invocations.csv", "function": name,
          "spread": "even"}] for name in ("http-aaaaaaaa", "timer-bbbbbbbb")]
    assert "9 invocations in minutes 11..13 (3m; the window --from 11m --to 14m" in data["description"]
    # Replayed from time 0: `even` puts a minute's c calls at the midpoints of c equal slices of it.
    sc = vs.load_scenario(out)
    assert sc.duration == 180
    res = vs.simulate(sc, seed=1, record_invocations=True)
    arrivals = res.invocations.groupby("function")["arrival_s"].apply(lambda s: sorted(s.round(6)))
    assert arrivals["http-aaaaaaaa"] == [15.0, 45.0, 127.5, 142.5, 157.5, 172.5]
    assert arrivals["timer-bbbbbbbb"] == [70.0, 90.0, 110.0]


def test_the_window_bounds_are_inclusive_at_from_exclusive_at_to(trace, tmp_path):
    def totals(**window) -> dict[str, int]:
        imp = import_azure2019(trace, out_file=tmp_path / "w.yaml", **window)
        return dict(zip(imp.functions["name"], imp.functions["invocations"], strict=True))

    assert totals(start_s=600, end_s=960) == {"http-aaaaaaaa": 13, "timer-bbbbbbbb": 3}  # the whole trace: 10m..16m
    assert totals(start_s=900, end_s=960) == {"http-aaaaaaaa": 6, "timer-bbbbbbbb": 0}  # the last column alone
    assert totals(start_s=600, end_s=660) == {"http-aaaaaaaa": 1, "timer-bbbbbbbb": 0}  # the first column alone
    assert totals(start_s=720) == {"timer-bbbbbbbb": 3, "http-aaaaaaaa": 10}  # --from alone: to the trace's end
    assert totals(end_s=720) == {"http-aaaaaaaa": 3, "timer-bbbbbbbb": 0}  # --to alone: from its start
    # --top ranks by the calls inside the window: in [12m, 13m) the timer is the busier.
    imp = import_azure2019(trace, out_file=tmp_path / "w.yaml", start_s=720, end_s=780, top=1)
    assert list(imp.functions["name"]) == ["timer-bbbbbbbb"] and imp.data["duration"] == "1m"
    assert imp.extra_files == {"w.invocations.csv": "function,minute,count\ntimer-bbbbbbbb,12,3\n"}
    assert "1 function(s) have no calls in the window" in import_azure2019(
        trace, out_file=tmp_path / "w.yaml", start_s=900).notes
    # Without a window nothing changes: the original file, in its own format, and no file beside the scenario.
    whole = import_azure2019(trace, out_file=tmp_path / "w.yaml")
    assert whole.extra_files == {} and whole.data["functions"][0]["arrivals"][0]["format"] == "azure2019"
    assert whole.data["duration"] == "6m"


@pytest.mark.parametrize("args, message", [
    (["--from", "9m"], "--from 9m: outside the trace: --from is 10m..15m (the trace covers 10m..16m of its day, "
                       "minutes 10..15)"),
    (["--from", "16m"], "--from 16m: outside the trace: --from is 10m..15m"),
    (["--to", "10m"], "--to 10m: outside the trace: --to is 11m..16m"),
    (["--to", "1d"], "--to 1d: outside the trace: --to is 11m..16m"),
    (["--from", "12m", "--to", "12m"], "--from 12m must be before --to 12m"),
    (["--from", "13m", "--to", "11m"], "--from 13m must be before --to 11m"),
    (["--from", "11m30s"], "--from 11m30s: the trace counts calls per minute: give whole minutes"),
    (["--to", "-1m"], "--to must be a time of the trace's day >= 0 (got -1m)"),
    (["--from", "noon"], "--from: not a duration: 'noon'"),
    (["--to", ""], "--to: not a duration"),
])
def test_bad_windows_are_one_line_and_write_nothing(trace, tmp_path, capsys, args, message):
    out = tmp_path / "bad.yaml"
    msg = _fails(capsys, ["import", "azure2019", str(trace), "--out", str(out), *args])
    assert msg.startswith("vpcsim: error: ") and message in msg, msg
    assert not out.exists() and not (tmp_path / "bad.invocations.csv").exists()


def test_a_window_needs_out_and_rewrites_only_its_own_trace(trace, tmp_path, capsys):
    msg = _fails(capsys, ["import", "azure2019", str(trace), "--from", "11m"])
    assert msg == "vpcsim: error: --from/--to write the window's invocations beside the scenario: give --out FILE"
    with pytest.raises(ImportProblem, match="give --out FILE"):
        import_azure2019(trace, end_s=720)
    out = tmp_path / "w.yaml"
    assert _import(out, trace, "--from", "11m") == 0
    assert _import(out, trace, "--from", "12m") == 0  # its own scenario and trace: replaced
    assert (tmp_path / "w.invocations.csv").read_text().splitlines()[1] == "http-aaaaaaaa,12,0"
    capsys.readouterr()
    # A file of someone else's where the trace goes: refused (both files left as they were) unless --force.
    other = tmp_path / "o.invocations.csv"
    other.write_text("my,own,data\n")
    msg = _fails(capsys, ["import", "azure2019", str(trace), "--from", "11m", "--out", str(tmp_path / "o.yaml")])
    assert "o.invocations.csv" in msg
    assert other.read_text() == "my,own,data\n" and not (tmp_path / "o.yaml").exists()
    assert _import(tmp_path / "o.yaml", trace, "--from", "11m", "--force") == 0
    assert other.read_text().startswith("function,minute,count\n")


# --------------------------------------------------------------------------------------------------- real traces


@needs_traces
def test_an_hour_of_the_real_sample(tmp_path, capsys):
    inv = pd.read_csv(A100 / "invocations.csv", dtype={"HashFunction": str})
    hour = [str(m) for m in range(540, 600)]  # 09:00..10:00 of the trace's day
    window_totals = dict(zip(inv["HashFunction"], inv[hour].sum(axis=1), strict=True))
    busiest = sorted(window_totals, key=lambda h: (-window_totals[h], h))[:5]
    out = tmp_path / "hour.yaml"
    assert _import(out, A100, "--top", "5", "--from", "9h", "--to", "10h") == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    expected = sum(window_totals[h] for h in busiest)
    assert f"{expected:,} invocations in 1h" in printed
    sc = vs.load_scenario(out)
    assert sc.duration == 3600
    names = [f.name for f in sc.functions]
    assert [n.rsplit("-", 1)[1] for n in names] == [h[:8] for h in busiest]  # ranked by the hour's calls
    written = pd.read_csv(tmp_path / "hour.invocations.csv")
    assert (written["minute"].min(), written["minute"].max()) == (540, 599)
    assert written.groupby("function")["count"].sum().to_dict() == {
        n: window_totals[h] for n, h in zip(names, busiest, strict=True)}
    assert "minutes 540..599: the window --from 9h --to 10h of its minutes 480..959" in out.read_text()
    # Every call of the hour arrives, from time 0, and none after its end.
    res = vs.simulate(sc, seed=3)
    assert res.summary["invocations"] == expected
    for f in sc.functions:
        assert f.arrivals[0].expected_count(sc.duration) == pytest.approx(
            window_totals[busiest[names.index(f.name)]])


@needs_traces
def test_windows_outside_the_real_sample_name_its_span(tmp_path, capsys):
    out = tmp_path / "x.yaml"
    msg = _fails(capsys, ["import", "azure2019", str(A100), "--from", "7h", "--to", "9h", "--out", str(out)])
    assert msg == ("vpcsim: error: --from 7h: outside the trace: --from is 8h..15h59m (the trace covers 8h..16h of "
                   "its day, minutes 480..959)")
    msg = _fails(capsys, ["import", "azure2019", str(A100), "--to", "16h1m", "--out", str(out)])
    assert "--to 16h1m: outside the trace: --to is 8h1m..16h" in msg
    assert not out.exists()
    # The last minute of the day is in with --to at the trace's end.
    imp = import_azure2019(A100, out_file=out, start_s=15 * 3600 + 59 * 60, end_s=16 * 3600)
    assert imp.data["duration"] == "1m"
    assert imp.functions["invocations"].sum() == pd.read_csv(A100 / "invocations.csv")["959"].sum()
