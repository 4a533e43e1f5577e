"""What the sweep, compare and capacity figures draw: markers (no line) across categories, intervals inside the
values a metric can take, full parameter paths, scenario names in titles, the events shaded on every compared
time axis, one x scale for compared capacity charts, and legends that cover nothing and list only what is drawn."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import ErrorbarContainer
from matplotlib.patches import Polygon, Rectangle, StepPatch

import simulator as vs
from simulator.analysis.compare import compare
from simulator.analysis.sweep import plot_sweep, sweep_means
from simulator.present import compare_figures, plots

from .conftest import BASE, tiny
from .test_plots import stressed

# --------------------------------------------------------------------------------------------------- helpers


def _frame(x_path: str, points: dict, others: dict | None = None) -> pd.DataFrame:
    """A tidy sweep frame by hand: ``points`` maps an x value to each replication's metrics (a dict per
    replication); ``others`` adds constant columns for further varied paths."""
    records = []
    for x, reps in points.items():
        for r, metrics in enumerate(reps):
            records.append({x_path: x, **(others or {}), "replication": r, "seed": 1, **metrics})
    df = pd.DataFrame.from_records(records)
    df.attrs["vary"] = [x_path, *(others or {})]
    return df


def _row(error_rate: float, p99: float, free: float) -> dict:
    return {"error_rate": error_rate, "latency_p99_ms": p99, "peak_concurrency": 10, "min_free_ips": free}


def _bars(ax) -> list[tuple[float, float, float]]:
    """Every drawn error bar of a panel as (x, low, high)."""
    out = []
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer) and container.has_yerr:
            for seg in container.lines[2][0].get_segments():
                out.append((float(seg[0][0]), float(min(seg[0][1], seg[1][1])), float(max(seg[0][1], seg[1][1]))))
    return out


def _panel(fig, ylabel_start: str):
    return next(ax for ax in fig.axes if ax.get_ylabel().startswith(ylabel_start))


def _rendered(fig):
    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


# --------------------------------------------------------------------------------------------------- sweep


def test_categories_are_markers_with_error_bars_not_a_line():
    df = _frame("platform", {"legacy": [_row(0.01, 900, 0), _row(0.03, 1100, 4)],
                             "hyperplane": [_row(0.0, 800, 20), _row(0.0, 850, 20)]})
    fig = plot_sweep(df, title="platforms")
    for ax in fig.axes:
        (container,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        data_line = container.lines[0]
        assert data_line.get_linestyle() == "None", ax.get_ylabel()  # no line joins the categories
        assert data_line.get_marker() not in (None, "None", "")
        assert [t.get_text() for t in ax.get_xticklabels()] == ["legacy", "hyperplane"]
    assert _bars(_panel(fig, "p99"))  # the intervals are drawn


def test_categories_of_several_groups_stand_side_by_side():
    df = pd.concat([_frame("platform", {"legacy": [_row(0.01, 900, 0)] * 2, "hyperplane": [_row(0, 800, 9)] * 2},
                           {"functions.f.memory_mb": m}) for m in (512, 1024)], ignore_index=True)
    df.attrs["vary"] = ["platform", "functions.f.memory_mb"]
    ax = plot_sweep(df).axes[0]
    xs = [tuple(c.lines[0].get_xdata()) for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(xs) == 2 and xs[0] != xs[1]  # not on top of each other
    assert all(c.lines[0].get_linestyle() == "None" for c in ax.containers if isinstance(c, ErrorbarContainer))


def test_a_numeric_axis_is_still_a_line():
    df = _frame("functions.f.memory_mb", {512: [_row(0.0, 900, 9)] * 2, 1024: [_row(0.1, 800, 3)] * 2})
    for ax in plot_sweep(df).axes:
        (container,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert container.lines[0].get_linestyle() == "-"


def test_intervals_stay_within_what_the_metric_can_take():
    """A 95% t interval of two replications is wide: for 21 and 13 free addresses it is 17 ± 51, for failure
    shares of 20% and 99% it reaches far above 100%. No bar may claim fewer than 0 or more than the replications
    had (free addresses: every value is at most the subnet's size) or more than 100%."""
    df = _frame("functions.f.memory_mb", {512: [_row(0.20, 1300, 21), _row(0.99, 1250, 13)],
                                          1024: [_row(0.0001, 1200, 0), _row(0.0009, 1400, 4)]})
    fig = plot_sweep(df)
    rate, free = _panel(fig, "Failed"), _panel(fig, "Fewest free")
    bars = _bars(rate)
    assert bars and all(0 <= low <= high <= 100 for _, low, high in bars), bars
    assert max(high for _, _, high in bars) == pytest.approx(100)
    most = {512: 21, 1024: 4}
    bars = _bars(free)
    assert len(bars) == 2
    for x, low, high in bars:
        assert low >= 0 and high <= most[int(x)] + 1e-9, (x, low, high)
    assert all(low >= 0 for _, low, _ in _bars(_panel(fig, "p99")))
    # The clipping is said where it happened.
    assert rate.get_title(loc="left") == "95% interval, clipped at 0 and at 100%"
    note = free.get_title(loc="left").replace("\n", " ")
    assert note.startswith("95% interval, clipped at 0") and "most free addresses a replication had" in note
    assert _panel(fig, "p99").get_title(loc="left") == ""  # nothing clipped there


def test_unclipped_intervals_say_nothing():
    df = _frame("functions.f.memory_mb", {512: [_row(0.40, 1300, 10), _row(0.41, 1250, 10)]})
    fig = plot_sweep(df)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["", "", ""]


def test_the_legend_names_the_full_parameter_path():
    df = pd.concat([_frame("functions.f.memory_mb", {512: [_row(0, 900, 9)] * 2, 1024: [_row(0, 800, 3)] * 2},
                           {"vpc.subnets.app-a.cidr": cidr}) for cidr in ("10.0.1.0/26", "10.0.1.0/25")],
                   ignore_index=True)
    df.attrs["vary"] = ["functions.f.memory_mb", "vpc.subnets.app-a.cidr"]
    legend = plot_sweep(df).axes[0].get_legend()
    assert legend.get_title().get_text() == "vpc.subnets.app-a.cidr"
    assert [t.get_text() for t in legend.get_texts()] == ["10.0.1.0/26", "10.0.1.0/25"]


def test_a_real_sweep_across_platforms():
    sc = tiny(duration=20, functions=[{**BASE["functions"][0], "arrivals": {"process": "poisson", "rate": 6}}])
    df = vs.sweep(sc, {"platform": ["legacy", "hyperplane"]}, replications=2)
    fig = plot_sweep(df, title="tiny")
    for ax in fig.axes:
        for container in (c for c in ax.containers if isinstance(c, ErrorbarContainer)):
            assert container.lines[0].get_linestyle() == "None"
    free = _panel(fig, "Fewest free")
    bars = _bars(free)
    assert bars  # legacy: 5 and 8 free addresses, an interval of 6.5 ± 19 before clipping
    usable = 11  # BASE: two /28 subnets, 16 - 5 addresses each
    assert (df["usable_ips"] == usable).all() and (df["usable_ips.a"] == usable).all()
    for _, low, high in bars:
        assert low >= 0 and high <= usable + 1e-9
    # Clipped at the subnet's size, not at the most a replication had: that would claim more than two runs show.
    legacy = df[df["platform"] == "legacy"]["min_free_ips"]
    assert max(high for _, _, high in bars) == pytest.approx(usable) and usable > legacy.max()
    assert free.get_title(loc="left") == "95% interval, clipped at 0 and at the subnet's size"
    means = sweep_means(df)
    assert "usable_ips_ci_low" not in means and (means["usable_ips"] == usable).all()  # a size, not an estimate


def test_free_address_intervals_stop_at_each_points_subnet_size():
    """A sweep of the CIDR: each point's bar stops at its own subnet's size (the smallest one for the fewest of
    all subnets), read from the ``usable_ips`` columns of the frame."""
    rows = {"10.0.0.0/28": [_row(0, 1, 9), _row(0, 1, 1)], "10.0.0.0/27": [_row(0, 1, 25), _row(0, 1, 17)]}
    df = _frame("vpc.subnets.a.cidr", rows)
    df["usable_ips"] = df["vpc.subnets.a.cidr"].map({"10.0.0.0/28": 11, "10.0.0.0/27": 27})
    bars = sorted(_bars(_panel(plot_sweep(df), "Fewest free")))
    assert [round(high, 9) for _, _, high in bars] == [11, 27]  # 5 ± 51 and 21 ± 51 before clipping


# --------------------------------------------------------------------------------------------------- compare


@pytest.fixture(scope="module")
def comparison():
    return compare(stressed(), {"platform": "hyperplane"})


def test_compared_figures_name_the_scenario(comparison):
    runs = comparison.results()
    for draw in (compare_figures.compare_timeline, compare_figures.compare_network, compare_figures.compare_latency):
        title = draw(runs).get_suptitle()
        assert "stressed" in title and f"seed {comparison.seed}" in title, title


def test_two_scenarios_are_both_named():
    runs = {"a": vs.simulate(stressed(), seed=2), "b": vs.simulate(stressed(name="other"), seed=2)}
    assert compare_figures.compare_timeline(runs).get_suptitle() == \
        "Timeline, overlaid — stressed vs other (seed 2)"


def _spans(ax) -> list[tuple[float, float]]:
    """The x extents of the shaded bands (axvspan) of a panel."""
    out = []
    for p in ax.patches:  # a Rectangle since matplotlib 3.9, a Polygon before
        if isinstance(p, Rectangle | Polygon) and not isinstance(p, StepPatch) and p.get_transform() != ax.transData:
            xs = p.get_patch_transform().transform(p.get_path().vertices)[:, 0]
            out.append((round(float(xs.min()), 6), round(float(xs.max()), 6)))
    return sorted(out)


def test_the_network_comparison_shades_what_the_timeline_does(comparison):
    runs = comparison.results()
    timeline = compare_figures.compare_timeline(runs)
    network = compare_figures.compare_network(runs)
    expected = _spans(timeline.axes[0])
    assert expected == [(0.0, 5.0), (30.0, 40.0)]  # the warm-up and az-a down (seconds: a one-minute run)
    for ax in network.axes:
        assert _spans(ax) == expected, ax.get_ylabel()


def test_compared_capacity_charts_share_one_scale_and_name_the_scenario(comparison):
    runs = comparison.results()
    (la, a), (lb, b) = runs.items()
    alone = [plots.capacity_chart(r).axes[0].get_xlim() for r in (a, b)]
    assert alone[0] != alone[1]  # the default stays: each chart its own scale
    shared = [plots.capacity_chart(r, label=label, same_scale_as=[a, b]) for label, r in runs.items()]
    limits = [fig.axes[0].get_xlim() for fig in shared]
    assert limits[0] == limits[1] == (0, max(hi for _, hi in alone))
    titles = [fig.get_suptitle() for fig in shared]
    assert titles[0].startswith("Capacity — stressed (legacy")  # A's label is its scenario's name
    assert titles[1].startswith(f"Capacity: {lb} — stressed (hyperplane")


def test_compact_capacity_charts_share_one_scale():
    fns = [{**BASE["functions"][0], "name": f"f{i}", "memory_mb": 128 * (i + 1),
            "arrivals": {"process": "constant", "rate": 1 + i}} for i in range(9)]
    a, b = vs.capacity(tiny(functions=fns)), vs.capacity(tiny(functions=fns, platform="hyperplane"))
    limits = [plots.capacity_chart(c, same_scale_as=[a, b]).axes[0].get_xlim() for c in (a, b)]
    assert limits[0] == limits[1]


# --------------------------------------------------------------------------------------------------- capacity legends


def test_the_capacity_legend_covers_no_bar_text_or_break_mark():
    """The legend sat in the lower right, over the end of the off-scale ENI-quota bar and its break marks."""
    run = vs.simulate(stressed())
    fig = plots.capacity_chart(run)
    renderer = _rendered(fig)
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    off_scale = [t for t in ax.texts if "off scale" in t.get_text()]
    assert off_scale  # the case of the review: a bar broken at the panel's end
    for artist in [*ax.patches, *ax.texts, *ax.lines]:
        box = artist.get_window_extent(renderer)
        assert not legend.overlaps(box), artist


def _compact_legend(cap_or_run) -> list[str]:
    (ax,) = plots.capacity_chart(cap_or_run).axes
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _many(**changes):
    fn = BASE["functions"][0]
    fns = [{**fn, "name": f"f{i}", "memory_mb": 128 * (i + 1), "arrivals": {"process": "constant", "rate": 1 + i}}
           for i in range(9)]
    return tiny(functions=fns, **changes)


def test_the_compact_legend_lists_only_what_is_drawn():
    hp = vs.capacity(_many(platform="hyperplane"))
    assert all(f["ceilings"]["n_minus_1"] == f["ceilings"][f["binding"]] for f in hp["functions"].values())
    texts = _compact_legend(hp)
    assert not [t for t in texts if "N-1" in t]  # no N-1 mark is drawn: none listed
    assert "simulated peak" not in texts  # the closed forms alone: no simulated peak
    assert not [t for t in texts if t.startswith("outlined")]  # every projected peak fits
    assert "projected peak (p99.9)" in texts


def test_the_compact_legend_says_what_an_absent_n_minus_1_mark_means():
    legacy = vs.capacity(_many())
    lower = [f for f in legacy["functions"].values() if f["ceilings"]["n_minus_1"] < f["ceilings"][f["binding"]]]
    assert lower
    (ax,) = plots.capacity_chart(legacy).axes
    marks = [line for line in ax.lines if line.get_marker() == "<"]
    assert len(marks) == len(lower)
    (n1,) = [t for t in _compact_legend(legacy) if "N-1" in t]
    assert "where lower" in n1 and "bar's end" in n1
    run = vs.simulate(_many(duration=5))
    assert "simulated peak" in _compact_legend(run)
