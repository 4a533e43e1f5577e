"""`vpcsim import azure2019` on the real samples in ../shared/traces: what it writes, that it validates and runs, and
that bad input is one line with exit code 2 and no file written."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import simulator as vs
from simulator.cli.core import main
from simulator.sources.azure import ImportProblem, import_azure2019, lambda_memory_mb

from .conftest import SCENARIOS, TRACES, needs_traces

pytestmark = needs_traces

A100 = TRACES / "azure2019-sample" / "100"
A500 = TRACES / "azure2019-sample" / "500"


@pytest.fixture(scope="module")
def sample():
    inv = pd.read_csv(A100 / "invocations.csv")
    minutes = [c for c in inv.columns if c.isdigit()]
    inv = inv[["HashApp", "HashFunction", "Trigger"]].assign(total=inv[minutes].to_numpy().sum(axis=1))
    dur = pd.read_csv(A100 / "durations.csv").set_index("HashFunction")
    mem = pd.read_csv(A100 / "memory.csv").set_index("HashFunction")
    return inv.sort_values(["total", "HashFunction"], ascending=[False, True]), dur, mem


def test_import_top_n_writes_a_scenario_that_validates_and_runs(tmp_path, capsys, sample):
    inv, dur, mem = sample
    out = tmp_path / "nested" / "top3.yaml"
    assert main(["import", "azure2019", str(A100), "--top", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Imported 3 functions" in printed and "vpcsim run" in printed
    data = yaml.safe_load(out.read_text())
    assert data["duration"] == "8h" and data["platform"] == "legacy"
    assert [s["cidr"] for s in data["vpc"]["subnets"]] == ["10.0.0.0/24", "10.0.1.0/24"]
    assert [s["az"] for s in data["vpc"]["subnets"]] == ["us-east-1a", "us-east-1b"]
    top = inv.head(3)
    assert [f["arrivals"][0]["function"] for f in data["functions"]] == list(top["HashFunction"])
    for f, row in zip(data["functions"], top.itertuples(), strict=True):
        h = row.HashFunction
        assert f["name"] == f"{row.Trigger}-{h[:8]}"
        assert f["subnets"] == ["private-a", "private-b"]
        # The trace is referenced relative to the scenario file, and resolves to the shared sample.
        ref = f["arrivals"][0]["file"]
        assert not os.path.isabs(ref)
        assert (out.parent / ref).resolve() == (A100 / "invocations.csv").resolve()
        # Memory: the used p99 rounded up to a 64 MB step, at least 128 MB.
        used = mem.at[h, "AverageAllocatedMb_pct99"]
        assert f["memory_mb"] == max(128, math.ceil(used / 64) * 64)
        # Durations: the percentile columns, in ms.
        pct = f["duration"]["percentiles"]
        assert sorted(pct) == [0, 1, 25, 50, 75, 99, 100]
        for p, text in pct.items():
            assert _seconds(text) == pytest.approx(dur.at[h, f"percentile_Average_{p}"] / 1000)
    sc = vs.load_scenario(out)
    assert sc.duration == 8 * 3600
    res = vs.simulate(sc.with_changes({"duration": "30m"}), seed=1)
    assert res.summary["invocations"] > 0 and res.summary["failed"] == 0


def _seconds(text: str) -> float:
    from simulator.units import parse_duration

    return parse_duration(text)


def test_timeout_covers_the_longest_call_within_lambda_limits(sample):
    inv, dur, _ = sample
    imp = import_azure2019(A100)
    assert len(imp.data["functions"]) == 100
    for f in imp.data["functions"]:
        h = f["arrivals"][0]["function"]
        longest_s = max(dur.at[h, "Maximum"], dur.at[h, "percentile_Average_100"]) / 1000
        timeout = _seconds(f["timeout"])
        assert timeout == min(max(math.ceil(longest_s), 3), 900)
    # The 500 sample has calls near 600 s: still under Lambda's 900 s limit, so nothing is clipped.
    assert not [n for n in import_azure2019(A500, top=50).notes if "900" in n]


def test_memory_rule():
    assert lambda_memory_mb(57.2) == 128
    assert lambda_memory_mb(128.0) == 128
    assert lambda_memory_mb(128.4) == 192
    assert lambda_memory_mb(615.5) == 640
    assert lambda_memory_mb(5000) == 3008  # the legacy era's largest size
    assert lambda_memory_mb(130.2, "hyperplane") == 131
    assert lambda_memory_mb(20000, "hyperplane") == 10240
    assert lambda_memory_mb(float("nan")) == 128


def test_functions_by_prefix_with_hyperplane_and_more_subnets(tmp_path, capsys, sample):
    inv, _, _ = sample
    picks = list(inv["HashFunction"].iloc[[5, 9]])
    out = tmp_path / "two.yaml"
    argv = ["import", "azure2019", str(A100), "--functions", f"{picks[0][:10]},{picks[1]}", "--platform",
            "hyperplane", "--subnets", "3", "--cidr-prefix", "26", "--vpc-cidr", "10.1.0.0/22", "--name", "two",
            "--scale", "2", "--spread", "even", "--timestep", "1m", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    sc = vs.load_scenario(out)
    assert sc.name == "two" and sc.platform == "hyperplane" and sc.timestep == 60
    assert [str(s.cidr) for s in sc.vpc.subnets] == ["10.1.0.0/26", "10.1.0.64/26", "10.1.0.128/26"]
    assert len(set(sc.azs)) == 3
    assert [f.arrivals[0].function for f in sc.functions] == picks
    assert {(a.scale, a.spread) for f in sc.functions for a in f.arrivals} == {(2.0, "even")}
    res = vs.simulate(sc, seed=2)
    totals = dict(zip(inv["HashFunction"], inv["total"], strict=True))
    for f in sc.functions:
        assert res.summary["functions"][f.name]["invocations"] == 2 * totals[f.arrivals[0].function]


def test_without_out_the_scenario_is_printed(capsys):
    assert main(["import", "azure2019", str(A100), "--top", "2"]) == 0
    text = capsys.readouterr().out
    data = yaml.safe_load(text)
    assert len(data["functions"]) == 2
    assert os.path.isabs(data["functions"][0]["arrivals"][0]["file"])  # no output file to be relative to
    vs.scenario_from_dict(data)


def test_the_500_sample_imports_whole_with_the_readme_figures():
    imp = import_azure2019(A500)
    rows = imp.functions
    assert len(rows) == 500 and rows["invocations"].sum() == 3_037_902
    assert rows["trigger"].value_counts().to_dict() == {"timer": 247, "http": 139, "queue": 69, "orchestration": 25,
                                                        "event": 14, "storage": 5, "others": 1}
    assert rows["name"].is_unique
    assert (rows["memory_mb"] >= 128).all() and (rows["memory_mb"] % 64 == 0).all()
    sc = vs.scenario_from_dict(imp.data)  # validates, paths absolute
    assert len(sc.functions) == 500
    expected = sum(a.expected_count(sc.duration) for f in sc.functions for a in f.arrivals)
    assert expected == pytest.approx(3_037_902)


# --------------------------------------------------------------------------------------------------- bad input


def _fails(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_bad_folder_and_missing_files(tmp_path, capsys):
    out = tmp_path / "x.yaml"
    msg = _fails(capsys, ["import", "azure2019", str(tmp_path / "nope"), "--out", str(out)])
    assert "no such folder" in msg
    msg = _fails(capsys, ["import", "azure2019", str(tmp_path), "--out", str(out)])
    assert "no invocations.csv" in msg
    (tmp_path / "invocations.csv").write_bytes((A100 / "invocations.csv").read_bytes())
    msg = _fails(capsys, ["import", "azure2019", str(tmp_path), "--out", str(out)])
    assert "durations.csv: missing" in msg
    assert not out.exists()


def test_bad_hash_and_bad_options_leave_an_existing_file_alone(tmp_path, capsys):
    out = tmp_path / "keep.yaml"
    out.write_text("# Imported by `vpcsim import azure2019 earlier`\nprecious\n")  # replaceable: vpcsim's own
    msg = _fails(capsys, ["import", "azure2019", str(A100), "--functions", "deadbeefcafe", "--out", str(out)])
    assert msg.startswith("vpcsim: error: --functions: no such function") and "'deadbeefcafe'" in msg
    for argv, text in ((["--top", "0"], "--top must be at least 1"),
                       (["--cidr-prefix", "30"], "/16 to /28"),
                       (["--subnets", "300"], "holds 256 subnets"),
                       (["--platform", "fargate"], "legacy or hyperplane"),
                       (["--timestep", "soon"], "--timestep")):
        msg = _fails(capsys, ["import", "azure2019", str(A100), "--out", str(out), *argv])
        assert text in msg, (argv, msg)
    assert out.read_text() == "# Imported by `vpcsim import azure2019 earlier`\nprecious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.yaml"]  # no temporary file left behind


def test_bad_durations_file_names_line_and_column(tmp_path, capsys):
    for name in ("invocations.csv", "memory.csv"):
        (tmp_path / name).write_bytes((A100 / name).read_bytes())
    lines = (A100 / "durations.csv").read_text().splitlines()
    cells = lines[4].split(",")
    cells[-2] = "n/a"
    lines[4] = ",".join(cells)
    (tmp_path / "durations.csv").write_text("\n".join(lines) + "\n")
    msg = _fails(capsys, ["import", "azure2019", str(tmp_path), "--top", "2"])
    assert "durations.csv:5: column 'percentile_Average_99': not a number (got 'n/a')" in msg


def test_duplicate_trace_function_names_get_longer_hashes():
    from simulator.sources.azure import _names

    assert _names(["http", "http", "timer"], ["abcdef0012", "abcdef0099", "abcdef0012"]) == [
        "http-abcdef0012", "http-abcdef0099", "timer-abcdef0012"]


# --------------------------------------------------------------------------------------------------- shipped


def test_shipped_azure_scenario_replays_the_shared_sample_by_a_relative_path(tmp_path, monkeypatch):
    path = SCENARIOS / "azure-trace.yaml"
    raw = yaml.safe_load(path.read_text())
    refs = {a["file"] for f in raw["functions"] for a in f["arrivals"]}
    assert refs == {"../../shared/traces/azure2019-sample/100/invocations.csv"}
    monkeypatch.chdir(tmp_path)  # relative to the scenario file, not to where vpcsim runs
    sc = vs.load_scenario(path)
    assert Path(sc.functions[0].arrivals[0].file) == (A100 / "invocations.csv").resolve()
    counts = np.array([a.expected_count(sc.duration) for f in sc.functions for a in f.arrivals])
    assert counts.sum() > 0


def test_a_day_of_the_full_data_set_with_per_app_memory(tmp_path, sample):
    # The full data set names its files by day and gives memory per app (no HashFunction column).
    inv, _, mem = sample
    (tmp_path / "invocations_per_function_md.anon.d03.csv").write_bytes((A100 / "invocations.csv").read_bytes())
    (tmp_path / "function_durations_percentiles.anon.d03.csv").write_bytes((A100 / "durations.csv").read_bytes())
    apps = mem.reset_index().groupby("HashApp", as_index=False)["AverageAllocatedMb_pct99"].sum()
    apps["AverageAllocatedMb_pct99"] += 200  # so that the app's figure, not a function's, decides the size
    apps.to_csv(tmp_path / "app_memory_percentiles.anon.d03.csv", index=False)
    imp = import_azure2019(tmp_path, day=3, top=5)
    by_app = dict(zip(apps["HashApp"], apps["AverageAllocatedMb_pct99"], strict=True))
    app_of = dict(zip(inv["HashFunction"], inv["HashApp"], strict=True))
    for f in imp.data["functions"]:
        used = by_app[app_of[f["arrivals"][0]["function"]]]
        assert f["memory_mb"] == lambda_memory_mb(used) >= 256
    with pytest.raises(ImportProblem, match="d01"):
        import_azure2019(tmp_path, day=1)
