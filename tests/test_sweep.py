"""Sweeps: the full grid × replications as a tidy DataFrame, the CLI table and files, Dask, and bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

import simulator as vs
from simulator.analysis.sweep import SweepError, plot_sweep, sweep_means
from simulator.cli.check import _split_values, parse_vary
from simulator.cli.core import main

from .conftest import tiny

DATA = Path(__file__).parent / "data" / "check"
SMALL = DATA / "failing" / "subnet-too-small.yaml"

NOISY = dict(duration=30, functions=[
    {"name": "f", "memory_mb": 1024, "subnets": ["a", "b"], "timeout": 60,
     "duration": {"dist": "exponential", "mean": 1.0}, "init": 0.5, "keep_alive": 3.0,
     "arrivals": {"process": "poisson", "rate": 6}},
])


def test_grid_rows_and_columns():
    sc = tiny(**NOISY)
    vary = {"functions.f.memory_mb": [512, 3008], "vpc.subnets.a.cidr": ["10.0.1.0/28", "10.0.1.0/27"]}
    df = vs.sweep(sc, vary, replications=2)
    assert len(df) == 2 * 2 * 2
    assert list(df.columns[:4]) == ["functions.f.memory_mb", "vpc.subnets.a.cidr", "replication", "seed"]
    assert list(df["functions.f.memory_mb"]) == [512] * 4 + [3008] * 4
    assert list(df["replication"]) == [0, 1] * 4
    for col in ("failure_rate", "latency_p99_ms", "peak_enis", "min_free_ips", "min_free_ips.a", "first_failure_s"):
        assert col in df.columns
    assert df["first_failure_s"].dtype == float  # never failed: NaN, not None
    # Common random numbers: replication r sees the same arrivals at every grid point.
    for r in (0, 1):
        assert df.loc[df.replication == r, "invocations"].nunique() == 1
    assert df.loc[df.replication == 0, "invocations"].iloc[0] != df.loc[df.replication == 1, "invocations"].iloc[0]
    # The /27 has 16 more addresses than the /28; 3008 MB gets one ENI per environment, 512 MB six.
    big, small = df[df["vpc.subnets.a.cidr"] == "10.0.1.0/27"], df[df["vpc.subnets.a.cidr"] == "10.0.1.0/28"]
    assert (big["min_free_ips.a"].to_numpy() > small["min_free_ips.a"].to_numpy()).all()
    fat, slim = df[df["functions.f.memory_mb"] == 3008], df[df["functions.f.memory_mb"] == 512]
    assert (fat["peak_enis"].to_numpy() >= slim["peak_enis"].to_numpy()).all()
    assert fat["peak_enis"].max() > slim["peak_enis"].max()


def test_same_frame_with_two_workers():
    sc = tiny(**NOISY)
    vary = {"functions.f.memory_mb": [512, 1024]}
    one = vs.sweep(sc, vary, replications=2, workers=1)
    two = vs.sweep(sc, vary, replications=2, workers=2)
    pd.testing.assert_frame_equal(one, two)


def test_a_bigger_subnet_removes_the_failures():
    sc = vs.load_scenario(SMALL)
    df = vs.sweep(sc, {"vpc.subnets.tiny-a.cidr": ["10.0.9.0/28", "10.0.9.0/26"]}, replications=1)
    rates = dict(zip(df["vpc.subnets.tiny-a.cidr"], df["failure_rate"], strict=True))
    assert rates["10.0.9.0/28"] > 0.3 and rates["10.0.9.0/26"] == 0
    assert list(df["expectations_passed"]) == [False, False]  # /26: failure_rate holds, outcomes.subnet_ips > 0 not


def test_means_and_intervals():
    sc = tiny(**NOISY)
    df = vs.sweep(sc, {"functions.f.memory_mb": [512, 1024]}, replications=3)
    means = sweep_means(df)
    assert list(means["n"]) == [3, 3]
    first = df[df["functions.f.memory_mb"] == 512]["latency_p99_ms"]
    assert means.loc[0, "latency_p99_ms"] == pytest.approx(first.mean())
    assert means.loc[0, "latency_p99_ms_ci_low"] < means.loc[0, "latency_p99_ms"] < means.loc[0, "latency_p99_ms_ci_high"]


def test_bad_grid_values_are_user_errors():
    sc = tiny()
    with pytest.raises(vs.ScenarioError, match="must be between 128 and 10240"):
        vs.sweep(sc, {"functions.f.memory_mb": [512, 64]})
    with pytest.raises(SweepError, match="no values"):
        vs.sweep(sc, {"functions.f.memory_mb": []})
    with pytest.raises(SweepError, match="nothing to vary"):
        vs.sweep(sc, {})


def test_vary_parsing():
    assert _split_values("512,1024, 2048") == ["512", "1024", "2048"]
    assert _split_values("[a,b],[c]") == ["[a,b]", "[c]"]
    assert _split_values("'x,y',z") == ["'x,y'", "z"]
    assert parse_vary(["functions.f.memory_mb=512,1024", "platform=legacy,hyperplane"]) == {
        "functions.f.memory_mb": [512, 1024], "platform": ["legacy", "hyperplane"]}


@pytest.mark.parametrize("args, message", [
    (["--vary", "functions.report.memory_mb"], "expected PATH=V1,V2"),
    (["--vary", "functions.report.memory_mb=512,,1024"], "an empty value"),
    (["--vary", "functions.report.memory_mb=512,512"], "listed twice"),
    (["--vary", "functions.report.memory_mb=512", "--vary", "functions.report.memory_mb=1024"], "given twice"),
    (["--vary", "functions.report.memory_mb=512,64"], "must be between 128 and 10240 (got 64)"),
    (["--vary", "functions.nope.memory_mb=512"], "'nope'"),
    (["--vary", "functions.report.memory_mb=512", "--workers", "-1"], "--workers"),
])
def test_cli_bad_input_exits_2(args, message, capsys):
    assert main(["sweep", str(SMALL), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_table_and_files(tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", str(SMALL), "--vary", "vpc.subnets.tiny-a.cidr=10.0.9.0/28,10.0.9.0/27",
            "--vary", "functions.report.memory_mb=1024,3008", "--replications", "2", "--workers", "2",
            "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Sweep of subnet-too-small: 4 points x 2 replications" in text
    assert "tiny-a.cidr" in text and "report.memory_mb" in text
    assert sorted(p.name for p in out.iterdir()) == ["sweep.csv", "sweep.png", "sweep_means.csv",
                                                     "vpcsim-manifest.json"]
    df = pd.read_csv(out / "sweep.csv")
    assert len(df) == 8 and df["replication"].tolist() == [0, 1] * 4
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    means = pd.read_csv(out / "sweep_means.csv")
    row = means[(means["vpc.subnets.tiny-a.cidr"] == "10.0.9.0/28") & (means["functions.report.memory_mb"] == 3008)]
    assert row["failure_rate"].iloc[0] > 0.3  # one ENI per 3008 MB environment: the /28 runs out


def test_plot_with_categorical_axis():
    sc = tiny(**NOISY)
    df = vs.sweep(sc, {"platform": ["legacy", "hyperplane"]}, replications=2)
    fig = plot_sweep(df, title="platforms")
    axes = fig.get_axes()
    assert len(axes) == 3
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["legacy", "hyperplane"]
    assert axes[0].get_ylabel() == "Failed or throttled (% of invocations)"


def test_a_varied_list_is_a_category(tmp_path, capsys):
    """docs/ci.md's own example, --vary functions.api.subnets=[app-a],[app-a,app-b], ended in a traceback: a list
    cannot be a group's key."""
    path = tmp_path / "noisy.yaml"
    path.write_text(json.dumps(tiny(**NOISY).to_dict()))
    out = tmp_path / "sweep"
    assert main(["sweep", str(path), "--vary", "functions.f.subnets=[a],[a,b]", "--replications", "2",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "│ [a]" in text and "│ [a,b]" in text  # as --vary takes them, not Python's ['a', 'b']
    means = pd.read_csv(out / "sweep_means.csv")
    assert means["functions.f.subnets"].tolist() == ["[a]", "[a,b]"] and means["n"].tolist() == [2, 2]
    assert pd.read_csv(out / "sweep.csv")["functions.f.subnets"].tolist() == ["[a]", "[a]", "[a,b]", "[a,b]"]
    df = vs.sweep(tiny(**NOISY), {"functions.f.subnets": [["a"], ["a", "b"]]}, replications=2)
    assert df["functions.f.subnets"].tolist()[::2] == [["a"], ["a", "b"]]  # the Python frame keeps the lists
    assert [t.get_text() for t in plot_sweep(df).axes[0].get_xticklabels()] == ["[a]", "[a,b]"]


def test_scheduler_without_dask_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the dask extra were not installed
    assert main(["sweep", str(SMALL), "--vary", "functions.report.memory_mb=512", "--scheduler",
                 "tcp://127.0.0.1:8786"]) == 2
    assert capsys.readouterr().err.strip() == "vpcsim: error: --scheduler needs Dask: pip install 'vpcsim[dask]'"


def test_dask_scheduler_gives_the_same_rows():
    distributed = pytest.importorskip("distributed")
    sc = tiny(**NOISY)
    vary = {"functions.f.memory_mb": [512, 1024]}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        remote = vs.sweep(sc, vary, replications=2, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(remote, vs.sweep(sc, vary, replications=2))


# --------------------------------------------------------------------------------------------------- the table of means


def test_sweep_means_have_one_decimal_in_every_row():
    import pandas as pd
    from rich.console import Console

    from simulator.cli.check import _means_table

    means = pd.DataFrame({"functions.f.memory_mb": [1024, 2048], "n": [5, 5],
                          "peak_concurrency": [287.0, 330.2], "peak_enis": [95.8, 98.0]})
    console = Console(width=200, record=True)
    console.print(_means_table(means, ["functions.f.memory_mb"], "t"))
    text = console.export_text()
    assert "287.0" in text and "330.2" in text and "95.8" in text and "98.0" in text and "95.80" not in text


def test_a_sweep_csv_read_back_gives_the_same_means_and_figure(tmp_path):
    """A sweep.csv read with pandas has no ``attrs``: its varied columns are those before ``replication``."""
    from simulator.analysis.sweep import write_sweep
    from simulator.errors import ArgumentError

    df = vs.sweep(tiny(duration=20), {"functions.f.memory_mb": [512, 1024]}, replications=2)
    write_sweep(df, tmp_path / "sw")
    back = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert not back.attrs
    again = sweep_means(back).to_csv(index=False, float_format="%.6g")  # as write_sweep writes it
    assert again == (tmp_path / "sw" / "sweep_means.csv").read_text()
    assert plot_sweep(back).axes[0].get_xlabel() == "functions.f.memory_mb"
    with pytest.raises(SweepError, match="no column 'nope'"):
        sweep_means(df, vary=["nope"])
    with pytest.raises(SweepError, match="which columns were varied"):
        sweep_means(back.drop(columns=["replication"]))
    with pytest.raises(ArgumentError, match="must be a sweep's DataFrame"):
        plot_sweep(None)
