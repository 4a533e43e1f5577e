"""`vpcsim import cloudwatch METRICS.json --out DIR`: what `aws cloudwatch get-metric-data` printed becomes a
--load file and its per-minute trace; used with a template, the load's figures checked by hand."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import yaml

import simulator as vs
from simulator.cli.core import main
from simulator.sources.cloudwatch import Metrics, duration_spec

DATA = Path(__file__).parent / "data" / "iac"
METRICS = DATA / "cloudwatch" / "metrics.json"
ORDERS = DATA / "cloudformation" / "orders-sam.yaml"


def test_metrics_become_a_load_file_and_a_trace(tmp_path, capsys):
    out = tmp_path / "load"
    assert main(["import", "cloudwatch", str(METRICS), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Load of 2 functions written to" in printed and "--set duration=120m" in printed
    load_text = (out / "load.yaml").read_text()
    assert load_text.startswith("# Imported by `vpcsim import cloudwatch` from ")
    load = yaml.safe_load(load_text)
    api = load["orders-api"]
    assert api["arrivals"] == {"process": "trace", "file": "invocations.csv", "format": "per_minute",
                               "function": "orders-api"}
    # Percentiles as CloudWatch computed them over the window; Minimum and Maximum are the ends.
    assert api["duration"] == {"dist": "empirical", "percentiles": {0: "11.3ms", 50: "84.2ms", 90: "193.5ms",
                                                                   99: "611ms", 100: "2950.7ms"}}
    # No Minimum for the worker: its lowest percentile stands for 0, and the file says so.
    assert load["OrdersWorker"]["duration"]["percentiles"][0] == "1840ms"
    assert "OrdersWorker: no Duration Minimum: p50 stands for the shortest execution" in load_text
    rows = [r.split(",") for r in (out / "invocations.csv").read_text().splitlines()[1:]]
    metrics = json.loads(METRICS.read_text())["MetricDataResults"]
    assert sum(int(c) for f, _, c in rows if f == "orders-api") == sum(metrics[0]["Values"])
    worker = {int(m): int(c) for f, m, c in rows if f == "OrdersWorker"}
    assert worker[0] == 3 and worker[7] == 6 and 1 not in worker  # sparse minutes stay where they were

    # The load file on the template: the functions get their load, the trace path follows the scenario.
    scenario = tmp_path / "elsewhere" / "orders.yaml"
    assert main(["import", "cloudformation", str(ORDERS), "--load", str(out / "load.yaml"), "--set",
                 "duration=120m", "--out", str(scenario)]) == 0
    sc = vs.load_scenario(scenario)
    (trace,) = sc.function("orders-api").arrivals
    assert Path(trace.file).resolve() == (out / "invocations.csv").resolve()
    assert yaml.safe_load(scenario.read_text())["functions"][0]["arrivals"]["file"] == "../load/invocations.csv"
    # By hand: the busiest minute has 2,400 calls = 40/s; the empirical mean is the area under its quantile
    # function; Little's law gives ceil(40 * mean) executions.
    q = [0, 0.5, 0.9, 0.99, 1.0]
    v = [0.0113, 0.0842, 0.1935, 0.611, 2.9507]
    mean = sum((q[i + 1] - q[i]) * (v[i] + v[i + 1]) / 2 for i in range(4))
    assert sc.function("orders-api").duration.mean == pytest.approx(mean)
    assert vs.capacity(sc)["functions"]["orders-api"]["projected_peak"] == math.ceil(40 * mean)


def test_average_minimum_maximum_keep_the_average_as_the_mean():
    m = Metrics("f", duration={"Average": [(None, 128.0)], "Minimum": [(None, 80.0)], "Maximum": [(None, 400.0)]})
    notes: list[str] = []
    spec = duration_spec(m, notes)
    q = 100 * (400 - 128) / (400 - 80)
    assert spec == {"dist": "empirical", "percentiles": {0: "80ms", round(q, 4): "128ms", 100: "400ms"}}
    sc = vs.scenario_from_dict({"version": 1, "name": "x", "duration": 60, "functions": [
        {"name": "f", "memory_mb": 128, "duration": spec, "arrivals": {"process": "poisson", "rate": 1}}]})
    assert sc.function("f").duration.mean == pytest.approx(0.128, rel=1e-4)


def _bad(tmp_path: Path, change) -> Path:
    data = json.loads(METRICS.read_text())
    change(data)
    p = tmp_path / "metrics.json"
    p.write_text(json.dumps(data))
    return p


@pytest.mark.parametrize("change, message", [
    (lambda d: d["MetricDataResults"][0].update(Label="Invocations"),
     "MetricDataResults[0] (Id 'inv0'): the Label must say FUNCTION METRIC STAT"),
    (lambda d: d["MetricDataResults"][0].update(Label="orders-api Invocations Average"),
     "Invocations are counted with the Sum statistic"),
    (lambda d: d["MetricDataResults"][0].update(Timestamps=[t for i, t in enumerate(
        d["MetricDataResults"][0]["Timestamps"]) if i % 5 == 0], Values=d["MetricDataResults"][0]["Values"][::5]),
     "orders-api Invocations come every 300 s: a per-minute trace needs a 60 s period"),
    (lambda d: d["MetricDataResults"][0].update(StatusCode="Forbidden"), "(orders-api Invocations Sum): status "
                                                                         "Forbidden"),
    (lambda d: d["MetricDataResults"][0]["Values"].__setitem__(3, -1.0), "MetricDataResults[0].Values[3]"),
    (lambda d: d.pop("MetricDataResults"), "not what `aws cloudwatch get-metric-data` prints"),
    (lambda d: d.update(MetricDataResults=[r for r in d["MetricDataResults"] if "orders-api Duration" not in
                                           r["Label"]]), "orders-api: Invocations but no Duration statistic"),
])
def test_bad_metrics_are_one_line(tmp_path, capsys, change, message):
    path = _bad(tmp_path, change)
    out = tmp_path / "load"
    assert main(["import", "cloudwatch", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"vpcsim: error: {path}: "), err
    assert message in err, err
    assert not out.exists()


def test_partial_data_is_said(tmp_path):
    data = json.loads(METRICS.read_text())
    partial = copy.deepcopy(data)
    partial["MetricDataResults"][0]["StatusCode"] = "PartialData"
    partial["NextToken"] = "abc"
    p = tmp_path / "m.json"
    p.write_text(json.dumps(partial))
    assert main(["import", "cloudwatch", str(p), "--out", str(tmp_path / "load")]) == 0
    text = (tmp_path / "load" / "load.yaml").read_text()
    assert "PartialData" in text and "NextToken" in text
