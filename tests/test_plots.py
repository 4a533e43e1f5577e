"""Figures (simulator.present.plots): what each one draws matches the results it was given, on tiny scenarios."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.patches import StepPatch

import simulator as vs
from simulator.present import compare_figures, plots
from simulator.present.style import time_unit
from simulator.summary import fmt_clock

from .conftest import BASE, deep_merge, tiny


def stressed(**changes) -> vs.Scenario:
    """One 3072 MB function (one environment per ENI) at 30/s x 1 s in two /28 subnets (22 addresses): it runs
    out of addresses; an AZ outage and an address grab happen during the run."""
    fn = {**BASE["functions"][0], "memory_mb": 3072, "arrivals": {"process": "constant", "rate": 30}}
    spec = {"name": "stressed", "duration": 60, "warmup": 5, "functions": [fn],
            "events": [{"at": 30, "kind": "az_outage", "az": "az-a", "for": 10},
                       {"at": 20, "kind": "ips_taken", "subnet": "b", "count": 3}]}
    spec.update(changes)
    return tiny(**spec)


def png_shape(png: bytes) -> tuple[int, int]:
    """(height, width) of PNG bytes, after checking the signature and decoding every pixel."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.ndim == 3 and pixels.size > 0
    return pixels.shape[0], pixels.shape[1]


def calm() -> vs.Scenario:
    fn = {**BASE["functions"][0], "arrivals": {"process": "constant", "rate": 2}}
    return tiny(name="calm", functions=[fn])


@pytest.fixture(scope="module")
def bad_run() -> vs.Result:
    return vs.simulate(stressed(), record_invocations=True)


@pytest.fixture(scope="module")
def good_run() -> vs.Result:
    return vs.simulate(calm())


def _labels(ax) -> list[str]:
    return [t for t in ax.get_legend_handles_labels()[1]]


def _patch(ax, label_start: str) -> StepPatch:
    found = [p for p in ax.patches if isinstance(p, StepPatch) and p.get_label().startswith(label_start)]
    assert found, f"no step patch labelled {label_start!r} in {[p.get_label() for p in ax.patches]}"
    return found[0]


# --------------------------------------------------------------------------------------------------- timeline


def test_timeline_has_three_labelled_panels_with_units(bad_run):
    fig = plots.timeline(bad_run)
    assert isinstance(fig, Figure)
    ax_a, ax_c, ax_o = fig.axes
    assert "invocations/s" in ax_a.get_ylabel()
    assert ax_c.get_ylabel() == "executions"
    assert "invocations/s" in ax_o.get_ylabel()
    assert ax_o.get_xlabel() == "simulated time (s)"  # a one-minute run reads in seconds


def test_timeline_arrivals_are_the_time_series_per_second(bad_run):
    ax_a = plots.timeline(bad_run).axes[0]
    arrivals = _patch(ax_a, "arrivals")
    np.testing.assert_allclose(arrivals.get_data().values, bad_run.timeseries["arrivals"].to_numpy() / 1.0)


def _ceiling_at(run, times):
    ceiling = _patch(plots.timeline(run).axes[1], "address ceiling")
    values, edges = ceiling.get_data().values, ceiling.get_data().edges
    return {t: values[np.searchsorted(edges, t, side="right") - 1] for t in times}


def test_timeline_address_ceiling_follows_events(bad_run):
    """22 free addresses x 1 environment per ENI; az-a (11) lost from 30 s to 40 s. The 3 addresses another workload
    asks for in b at 20 s are not there: Lambda's ENIs hold all of b by then, and the engine takes only what is free
    (the figure used to re-derive the events and subtract all 3, issue 11): the ceiling is the engine's own."""
    assert bad_run.summary["capacity"]["functions"]["f"]["ceilings"]["subnet_ips"] == 22
    assert _ceiling_at(bad_run, (10, 25, 35, 45)) == {10: 22, 25: 22, 35: 11, 45: 22}


def test_timeline_address_ceiling_lowers_by_the_addresses_taken():
    # At 0.5 s b still has free addresses (one ENI per arrival at 30/s fills the 22 by about 0.73 s): 3 are taken.
    run = vs.simulate(stressed(events=[{"at": 30, "kind": "az_outage", "az": "az-a", "for": 10},
                                       {"at": 0.5, "kind": "ips_taken", "subnet": "b", "count": 3}]))
    assert _ceiling_at(run, (10, 25, 35, 45)) == {10: 19, 25: 19, 35: 8, 45: 19}


def test_timeline_stacks_the_failure_causes_that_happened(bad_run, good_run):
    ax_o = plots.timeline(bad_run).axes[2]
    causes = {o for o, n in bad_run.summary["outcomes"].items() if n and o != "success"}
    assert causes == {"subnet_ips", "az_outage"}
    assert set(_labels(ax_o)) == causes
    layers = [p for p in ax_o.patches if isinstance(p, StepPatch) and p.get_label() in causes]
    for p in layers:  # each layer is its cause's count per second, on top of the layers below
        data = p.get_data()
        np.testing.assert_allclose(data.values - data.baseline, bad_run.timeseries[p.get_label()].to_numpy())
    np.testing.assert_allclose(layers[-1].get_data().values, bad_run.timeseries[sorted(causes)].sum(axis=1))
    calm_o = plots.timeline(good_run).axes[2]
    assert "no failures" in " ".join(t.get_text() for t in calm_o.texts)


def test_timeline_names_ceilings_too_far_above_the_data(good_run):
    ax_c = plots.timeline(good_run).axes[1]
    note = ax_c.get_title(loc="right")
    assert "account concurrency limit 1,000" in note  # 1,000 is far above a peak of a few executions
    assert ax_c.get_ylim()[1] < 100


def test_timeline_uses_minutes_and_hours_for_long_runs():
    assert plots.time_unit(60) == (1.0, "s")
    assert plots.time_unit(15 * 60) == (60.0, "min")
    assert plots.time_unit(24 * 3600) == (3600.0, "h")


# --------------------------------------------------------------------------------------------------- network


def test_network_has_one_panel_per_az_and_marks_exhaustion(bad_run):
    fig = plots.network(bad_run)
    axes = fig.axes
    assert len(axes) == 1 + len(bad_run.scenario.azs)
    assert [ax.get_title(loc="left") for ax in axes[1:]] == ["az-a", "az-b"]
    assert axes[0].get_ylabel() == "Lambda ENIs"
    for ax, sid in zip(axes[1:], ("a", "b"), strict=True):
        assert ax.get_ylabel() == "free addresses"
        free = _patch(ax, f"{sid} (")
        np.testing.assert_array_equal(free.get_data().values, bad_run.timeseries[f"free_ips.{sid}"].to_numpy())
        notes = " ".join(t.get_text() for t in ax.texts)
        assert f"{sid} out of addresses" in notes  # both subnets ran out (summary: exhausted_s is set)
    # The outage is shaded (and named) only in its own AZ's panel.
    assert "az-a down" in " ".join(t.get_text() for t in axes[1].texts)
    assert "az-a down" not in " ".join(t.get_text() for t in axes[2].texts)


def test_network_without_exhaustion_marks_nothing(good_run):
    fig = plots.network(good_run)
    assert all("out of addresses" not in t.get_text() for ax in fig.axes for t in ax.texts)


# --------------------------------------------------------------------------------------------------- latency


def test_latency_histograms_mark_the_summary_percentiles(bad_run):
    fig = plots.latency(bad_run)
    ax_e2e, ax_cold = fig.axes
    for ax, key in ((ax_e2e, "latency_ms"), (ax_cold, "cold_start_ms")):
        assert "ms" in ax.get_xlabel()
        marked = {line.get_label().split()[0]: line.get_xdata()[0] for line in ax.lines}
        for q in ("p50", "p95", "p99"):
            assert marked[q] == pytest.approx(bad_run.summary[key][q])
        assert sum(p.get_data().values.sum() for p in ax.patches) > 0  # a real histogram


def test_latency_without_records_draws_the_engines_histogram(good_run):
    assert good_run.invocations is None
    fig = plots.latency(good_run)
    ax_e2e, ax_cold = fig.axes
    (bars,) = ax_e2e.patches
    assert bars.get_data().values.sum() == good_run.summary["succeeded"]  # every success, in merged buckets
    marked = {line.get_label().split()[0]: line.get_xdata()[0] for line in ax_e2e.lines}
    assert marked["p99"] == pytest.approx(good_run.summary["latency_ms"]["p99"])


def test_latency_without_records_or_buckets_shows_the_summary_percentiles(good_run):
    import dataclasses

    fig = plots.latency(dataclasses.replace(good_run, latency_distribution=None))
    ax = fig.axes[0]
    xs = sorted(x for line in ax.lines for x in line.get_xdata() if line.get_label() in ("p50", "p95", "p99"))
    want = sorted(good_run.summary["latency_ms"][q] for q in ("p50", "p95", "p99"))
    assert xs == pytest.approx(want)


# --------------------------------------------------------------------------------------------------- capacity


def test_capacity_chart_highlights_the_binding_ceiling(bad_run):
    fig = plots.capacity_chart(bad_run)
    ax = fig.axes[0]
    cap = bad_run.summary["capacity"]["functions"]["f"]
    bars = {ax.get_yticklabels()[len(ax.patches) - 1 - i].get_text(): p for i, p in enumerate(ax.patches)}
    assert bars["subnet addresses"].get_width() == cap["ceilings"]["subnet_ips"]
    assert bars["N-1: largest AZ lost"].get_width() == cap["ceilings"]["n_minus_1"]
    binding = [label for label, p in bars.items() if p.get_linewidth() > 1]
    assert binding == ["subnet addresses"]
    assert "ABOVE" in ax.get_title(loc="left")  # projected 30 > ceiling 22
    lines = {line.get_label(): line.get_xdata()[0] for line in ax.lines if not line.get_label().startswith("_")}
    peak = cap["peak_in_service"]  # the p99.9 of the run's peak; the mean in service (30) beside it
    assert lines[f"projected peak (p99.9) {peak}"] == peak > 30 and lines["mean in service 30"] == 30
    assert f"simulated peak {bad_run.summary['functions']['f']['peak_concurrency']}" in lines


def test_capacity_chart_takes_the_capacity_dict_alone():
    fig = plots.capacity_chart(vs.capacity(calm()))
    assert "fits" in fig.axes[0].get_title(loc="left")


# --------------------------------------------------------------------------------------------------- output


def test_figures_encode_as_readable_pngs(bad_run):
    for stem, fig in plots.figures(bad_run).items():
        png = plots.png_bytes(fig)
        h, w = png_shape(png)
        assert 900 <= w <= 2000 and 300 <= h <= 1600, (stem, w, h)


def test_dashboard_is_what_result_plot_returns(bad_run):
    fig = bad_run.plot()
    assert isinstance(fig, Figure)
    assert len(fig.subfigs) == 2
    titles = [sf._suptitle.get_text() for top in fig.subfigs for sf in top.subfigs]
    assert [t.split(" —")[0] for t in titles] == ["Timeline", "Latency", "Network",
                                                    "Capacity: concurrent executions each limit allows"]


def test_coarsen_keeps_totals_peaks_and_lows():
    n = 5000
    rng = np.random.default_rng(0)
    ts = pd.DataFrame({"t_s": np.arange(n, dtype=float), "arrivals": rng.integers(0, 9, n),
                       "concurrency_max": rng.integers(0, 50, n), "free_ips.a": rng.integers(0, 20, n),
                       "concurrency_mean": rng.random(n)})
    out, factor = plots.coarsen(ts, max_points=500)
    assert factor == 10 and len(out) == 500
    assert out["arrivals"].sum() == ts["arrivals"].sum()
    assert out["concurrency_max"].max() == ts["concurrency_max"].max()
    assert out["free_ips.a"].min() == ts["free_ips.a"].min()
    assert out["concurrency_max"].iloc[3] == ts["concurrency_max"].iloc[30:40].max()
    assert out["t_s"].iloc[3] == 30.0


def test_plots_need_no_gui_backend():
    code = ("import sys; import simulator as vs; from simulator.present import plots;"
            "from tests.conftest import tiny;"
            "plots.png_bytes(vs.simulate(tiny()).plot(), dpi=40);"
            "print('matplotlib.pyplot' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_capacity_chart_of_many_functions_is_one_compact_panel():
    fn = BASE["functions"][0]
    fns = [{**fn, "name": f"f{i}", "memory_mb": 128 * (i + 1),
            "arrivals": {"process": "constant", "rate": 1 + i}} for i in range(9)]
    cap = vs.capacity(tiny(functions=fns))
    fig = plots.capacity_chart(cap)
    (ax,) = fig.axes
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(names) == sorted(cap["functions"])

    def headroom(name):
        f = cap["functions"][name]
        return f["ceilings"][f["binding"]] / max(f["projected_peak"], 1)

    # Least headroom at the top: the tick labels run bottom-up.
    assert [headroom(n) for n in reversed(names)] == sorted(headroom(n) for n in names)
    assert [p.get_width() for p in ax.patches] == [  # drawn top row first
        cap["functions"][n]["ceilings"][cap["functions"][n]["binding"]] for n in reversed(names)]


def test_figures_of_a_function_outside_the_vpc(tmp_path):
    fn = {**BASE["functions"][0], "subnets": []}
    res = vs.simulate(tiny(functions=[fn], vpc={"subnets": []}))
    net = plots.network(res)
    assert "not in a VPC" in " ".join(t.get_text() for ax in net.axes for t in ax.texts)
    ax_c = plots.timeline(res).axes[1]
    assert not [p for p in ax_c.patches if p.get_label().startswith("address ceiling")]
    assert "not in a VPC" in plots.capacity_chart(res).axes[0].get_title(loc="left")


def _tick_labels(fig, ylabel_start: str) -> list[tuple[float, str]]:
    """The y ticks of the panel whose label starts with ``ylabel_start``, as drawn: (value, label)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    ax = next(a for a in fig.axes if a.get_ylabel().startswith(ylabel_start))
    low, high = ax.get_ylim()
    return [(t.get_position()[1], t.get_text()) for t in ax.get_yticklabels() if low <= t.get_position()[1] <= high]


def _few_failures(timestep: float, failures: int, arrivals_per_s: float = 2) -> vs.Result:
    """A calm run with ``failures`` subnet_ips failures in one timestep (and a trickle of arrivals)."""
    import dataclasses

    fn = {**BASE["functions"][0], "arrivals": {"process": "constant", "rate": arrivals_per_s}}
    res = vs.simulate(tiny(name="few", duration=40 * timestep, timestep=timestep, functions=[fn]))
    ts = res.timeseries.copy()
    ts.loc[len(ts) // 2, "subnet_ips"] = failures
    return dataclasses.replace(res, timeseries=ts)


@pytest.mark.parametrize("timestep, failures", [(5, 1), (10, 1), (10, 3), (60, 1), (3, 2), (1, 1), (1, 7)])
def test_small_counts_per_second_have_distinct_true_tick_labels(timestep, failures):
    """One failure in a 5 s step drew the failures panel's ticks as 0, 0.1, 0.1, 0.2, 0.2, 0.2."""
    res = _few_failures(timestep, failures, arrivals_per_s=0.1)
    figures = [plots.timeline(res), compare_figures.compare_timeline({"a": res, "b": res})]
    for fig in figures:
        for panel in ("failed or throttled", "arrivals"):
            ticks = _tick_labels(fig, panel)
            labels = [label for _, label in ticks]
            assert len(ticks) >= 2 and len(set(labels)) == len(labels), (panel, labels)
            for value, label in ticks:  # each label is its tick's value, to the digits it shows
                digits = len(label.split(".")[1]) if "." in label else 0
                assert float(label.replace(",", "")) == pytest.approx(value, abs=0.51 * 10 ** -digits), (panel, labels)


def test_log_axis_ticks_are_whole_numbers():
    """Ticks beyond the view of a log axis (0.1) gave every label a decimal: 1.0, 10.0, 100.0."""
    from .conftest import SCENARIOS

    fig = plots.latency(vs.simulate(vs.load_scenario(SCENARIOS / "quickstart.yaml")))
    labels = [label for _, label in _tick_labels(fig, "invocations (log scale)")]
    assert labels and all("." not in label for label in labels), labels


@pytest.mark.parametrize("lo, hi, width_in", [(1e-3, 405_673, 4.75), (1e-3, 45_000, 4.75), (7, 17_000, 4.75),
                                               (1e-3, 405_673, 2.5), (30, 13_000, 4.75), (1e-3, 1e9, 4.0)])
def test_log_ms_axis_labels_never_touch(lo, hi, width_in):
    """Over nine decades (azure-trace.yaml: 0.001 ms to 406 s), ``10,000`` and ``100,000`` were drawn into one
    another: the axis allowed a tick every three font sizes. Labels in view keep apart, and a range whose labels
    fit keeps a label at every power of ten."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(width_in, 3), dpi=110)  # the report's resolution
    ax = fig.add_axes((0, 0.2, 1, 0.7))  # an axis width_in inches wide (the report's latency panels: 4.75)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    plots._log_ms(ax, lo, hi)
    FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    shown = sorted((t.get_window_extent(renderer).x0, t.get_window_extent(renderer).x1, t.get_text())
                   for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi and t.get_text())
    assert len(shown) >= 2, shown
    gap = 0.5 * 10 * fig.dpi / 72  # half a font size (10 pt), in pixels
    for (_, right, a), (left, _, b) in zip(shown, shown[1:], strict=False):
        assert left - right >= gap, (a, b, left - right)
    decades = np.floor(np.log10(hi)) - np.ceil(np.log10(lo)) + 1
    if (lo, hi, width_in) in ((1e-3, 45_000, 4.75), (7, 17_000, 4.75)):  # room for all: none is dropped
        assert len(shown) == decades, shown


# --------------------------------------------------------------------------------------------------- legends and notes


def test_compare_legends_hide_no_data():
    """The overlaid timeline's legend sat over a spike at the start of the run."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from simulator.present.compare_figures import compare_network, compare_timeline

    spike = {"process": "poisson", "schedule": [[0, 0], [1, 30], [3, 30], [4, 0]], "interpolate": "step"}
    sc = vs.scenario_from_dict(deep_merge(BASE, {"duration": 30, "functions": [
        dict(BASE["functions"][0], memory_mb=512, arrivals=spike)]}))
    results = {"a": vs.simulate(sc), "b": vs.simulate(sc.with_changes({"platform": "hyperplane"}))}
    for draw in (compare_timeline, compare_network):
        fig = draw(results)
        FigureCanvasAgg(fig)
        fig.draw_without_rendering()  # the final layout, as savefig draws it
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None or ax.dataLim.y1 <= 0:
                continue
            bottom = legend.get_window_extent(renderer).transformed(ax.transData.inverted()).y0
            assert ax.dataLim.y1 < bottom, (draw.__name__, ax.get_ylabel())


def test_off_scale_eni_quota_is_named_as_executions_not_enis():
    """"ENI quota 990" read as 990 ENIs; it is the executions 330 free ENIs × 3 environments allow."""
    from simulator.present.plots import timeline

    fig = timeline(vs.simulate(vs.scenario_from_dict(BASE)))
    titles = [ax.get_title(loc="right") for ax in fig.axes]
    note = next(t for t in titles if t.startswith("above the plot"))
    assert "ENI quota × envs/ENI 1,050" in note  # 350 ENIs × 3 environments of 1024 MB
    assert "account concurrency limit 1,000" in note


# --------------------------------------------------------------------------------------------------- a design review's reading


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


@pytest.fixture(scope="module")
def replicated() -> vs.Result:
    """Three replications of the stressed scenario at 12/s Poisson arrivals, no warm-up: the summary holds means (of
    cold starts 57.67; subnet b ran out at 1.46 s, 2.72 s and 1.53 s), the time series is replication 1's."""
    fn = {**BASE["functions"][0], "memory_mb": 3072, "arrivals": {"process": "poisson", "rate": 12}}
    return vs.run_replications(stressed(functions=[fn], warmup=0), replications=3)


def test_replicated_figures_say_what_they_draw(replicated):
    """The figures of a replicated run showed replication 1's path under the title of the run, beside a report of
    means, and the latency panels printed mean counts as ``193,320.33333333334``."""
    assert replicated.summary["cold_starts"] % 1  # a mean: not to be printed raw
    assert plots.timeline(replicated).get_suptitle().endswith(": replication 1 of 3")
    assert plots.network(replicated).get_suptitle().endswith(": replication 1 of 3")
    lat = plots.latency(replicated)  # no histogram kept: the summary's percentiles, means of the three
    assert lat.get_suptitle().endswith(": means of 3 replications")
    titles = [ax.get_title(loc="left") for ax in lat.axes]
    assert titles == [f"end-to-end latency: {replicated.summary['succeeded']:,.0f} successful invocations",
                      f"cold start (ENI wait + init): {replicated.summary['cold_starts']:,.0f} cold starts"]
    single = vs.simulate(stressed())
    assert plots.timeline(single).get_suptitle() == "Timeline — stressed (legacy, seed 0)"


def test_replicated_network_marks_where_its_own_path_ran_out(replicated):
    """The mean exhaustion time was marked on replication 1's curve, which ran out elsewhere."""
    fig = plots.network(replicated)
    ax = next(a for a in fig.axes if a.get_title(loc="left") == "az-b")
    note = next(t for t in ax.texts if t.get_text().startswith("b out of addresses"))
    mean = replicated.summary["subnets"]["b"]["exhausted_s"]
    assert f"(mean of 3 replications: {fmt_clock(mean)})" in note.get_text()
    ts = replicated.timeseries
    own = float(ts["t_s"][ts["free_ips.b"] <= 0].iloc[0])  # the step in which replication 1's subnet ran out
    assert abs(mean - own) > 0.5 and note.xy[0] == pytest.approx(own / time_unit(60)[0])


def test_latency_ladder_max_label_beside_its_tick(replicated):
    fig = plots.latency(replicated)
    renderer = _drawn(fig)
    ax = fig.axes[0]
    maximum = replicated.summary["latency_ms"]["max"]
    label = [t for t in ax.texts if t.get_text() == f"{maximum:,.0f}"][-1]  # after p50, p95, p99 (p99 may equal it)
    tick = next(line for line in ax.lines if line.get_label() == "max")
    box = tick.get_window_extent(renderer)  # the marker's square; the tick is its middle, 2 points wide
    assert label.get_window_extent(renderer).x0 > (box.x0 + box.x1) / 2 + 2 * fig.dpi / 72


def test_latency_count_keeps_what_the_log_axis_cannot_show():
    """azure-trace.yaml: 4,684 invocations of under 0.001 ms were cut from the histogram and from its count."""
    import dataclasses

    res = vs.simulate(calm())
    dist = res.latency_distribution
    # The engine's first bucket, [0, 0.001) ms, holds 7 invocations (the frame lists the buckets that hold any).
    dist = pd.concat([pd.DataFrame({"kind": ["latency"], "low_ms": [0.0], "high_ms": [1e-3], "count": [7]}), dist],
                     ignore_index=True)
    total = int(dist.loc[dist["kind"] == "latency", "count"].sum())
    title = plots.latency(dataclasses.replace(res, latency_distribution=dist)).axes[0].get_title(loc="left")
    assert title == (f"end-to-end latency: {total:,} successful invocations\n"
                     "(7 under 0.001 ms: left of this log axis)")


def test_a_rare_failure_cause_is_marked_where_it_happens():
    """az-outage.yaml: two timeouts at 0.1/s beside 60 subnet_ips/s were in the legend and nowhere to be seen."""
    import dataclasses

    res = vs.simulate(tiny(name="rare", duration=40, functions=[
        {**BASE["functions"][0], "arrivals": {"process": "constant", "rate": 0.1}}]))
    ts = res.timeseries.copy()
    ts.loc[10, "subnet_ips"] = 500
    ts.loc[30, "timeout"] = 1
    fig = plots.timeline(dataclasses.replace(res, timeseries=ts))
    ax = next(a for a in fig.axes if a.get_ylabel().startswith("failed or throttled"))
    marks = next(line for line in ax.lines if line.get_label().startswith("timeout (too few to see"))
    assert list(marks.get_xdata()) == [pytest.approx(30.5)] and list(marks.get_ydata()) == [0]
    labels = ax.get_legend_handles_labels()[1]
    assert "subnet_ips" in labels and "timeout" not in labels  # one entry per cause


def test_off_scale_address_ceiling_says_lowest_when_an_az_is_down():
    """az-outage.yaml on Hyperplane: "address ceiling 6.6M" was the ceiling during the outage, 9.9M otherwise."""
    sc = stressed(platform="hyperplane", functions=[{**BASE["functions"][0], "arrivals": {"process": "constant",
                                                                                            "rate": 5}}])
    fig = plots.timeline(vs.simulate(sc))
    ax = next(a for a in fig.axes if a.get_ylabel() == "executions")
    above = ax.get_title(loc="right")
    assert "address ceiling lowest " in above, above


def test_labels_above_the_data():
    """The arrivals panel's event labels sat on the arrivals line; the ENI panel's legend on a Hyperplane run's few
    ENIs, which fill it to the top."""
    res = vs.simulate(stressed(platform="hyperplane"))
    fig = plots.timeline(res)
    ax = next(a for a in fig.axes if a.get_ylabel().startswith("arrivals"))
    assert ax.get_ylim()[1] >= 1.3 * (res.timeseries["arrivals"].max() / res.scenario.timestep) - 1e-9
    net = plots.network(res)
    renderer = _drawn(net)
    top = net.axes[0]
    assert top.get_legend().get_window_extent(renderer).y0 >= top.get_window_extent(renderer).y1 - 1


def test_replicated_network_says_when_only_other_replications_ran_out(replicated):
    """The mean exhaustion time disappeared with the mark when replication 1 itself never ran out."""
    import dataclasses

    ts = replicated.timeseries.copy()
    ts["free_ips.b"] = ts["free_ips.b"].clip(lower=1)  # replication 1's subnet b never empty
    fig = plots.network(dataclasses.replace(replicated, timeseries=ts))
    ax = next(a for a in fig.axes if a.get_title(loc="left") == "az-b")
    mean = replicated.summary["subnets"]["b"]["exhausted_s"]
    texts = [t.get_text() for t in ax.texts]
    assert f"b: never out of addresses in this replication; out in others (mean of 3 replications: " \
           f"{fmt_clock(mean)})" in texts, texts
    assert not any(t.startswith("b out of addresses") for t in texts)
