"""The figures of the answers (``headroom.png``, ``memory.png``) say what the answers mean: a failing point of a
headroom search is drawn at the replication the rule compares (so it crosses the threshold), the threshold is written
in the axis's unit, the legend covers no data, and the memory figure on Hyperplane does not draw the legacy ENI
formula as if it applied. Small hand-made answers (no simulation) where the figure alone is tested; tiny searches
where the real rows or points matter."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection

from simulator.analysis.headroom import Headroom, headroom, parse_until
from simulator.analysis.headroom_search import Point
from simulator.analysis.size import memory_tradeoff
from simulator.present.answer_figures import headroom_figure, memory_figure

from .conftest import tiny
from .test_answers_headroom import ADDRESS_BOUND
from .test_answers_headroom import FN as ONE_FN
from .test_answers_size import SMALL

# --------------------------------------------------------------------------------------------------- helpers


def _point(m: float, held: bool, low: float, mean: float, high: float, *, runs: int = 2, runs_held: int | None = None,
           verified: bool = True, failed: list[str] | None = None) -> Point:
    return Point(multiplier=m, held=held, runs=runs, runs_held=runs if runs_held is None else runs_held,
                 failed_conditions=failed if failed is not None else ([] if held else ["failure_rate < 0.01"]),
                 metric=mean, metric_low=low, metric_high=high, failure_rate=mean, throttle_rate=0.0, error_rate=mean,
                 latency_p99_ms=1000.0, peak_concurrency=100.0, peak_enis=100.0, cost_monthly_usd=1000.0,
                 first_outcome=None, first_outcome_s=None, verified=verified)


def _headroom(points: list[Point], bracket: tuple[float, float | None], *, conditions: list[str],
              threshold: float, kind: str = "rate", replications: int = 2, share: float = 1.0,
              cf: float | None = None) -> Headroom:
    return Headroom(scenario="hand", multiplier=bracket[0], bracket=bracket, binding=None, first_outcome=None,
                    closed_form={"multiplier": cf, "n_minus_1": None}, conditions=conditions, points=points,
                    resolution=0.02, replications=replications, share=share, max_multiplier=10.0, seed=0, wall_s=0.0,
                    condition_kind=kind, threshold=threshold)


# az-outage (seed 3, 2 replications): x0.7329 fails with a mean of 0.97% under the 1% threshold, because one of its
# two replications had 1.02%; x1 (7.2%) would squeeze everything near the threshold into a few pixels.
AZ = _headroom([
    _point(0.7151, True, 0.006581, 0.007211, 0.007841),
    _point(0.7239, True, 0.008035, 0.008309, 0.008582),
    _point(0.7329, False, 0.009093, 0.009655, 0.010217, runs_held=1),
    _point(0.7462, False, 0.0109, 0.0109, 0.0109, runs=1, runs_held=0),
    _point(0.7617, False, 0.0138, 0.0138, 0.0138, runs=1, runs_held=0),
    _point(1.0, False, 0.0724, 0.0724, 0.0724, runs=1, runs_held=0),
], (0.7239, 0.7329), conditions=["failure_rate < 0.01"], threshold=0.01, cf=0.7617)

# quickstart on Hyperplane (seed 1, 2 replications): every point holds, at 0% or nearly (the x-axis line).
HP = _headroom(
    [_point(m, True, 0.0, 0.0, 0.0, runs=1, verified=False) for m in (1.0, 2.0, 3.0, 4.5, 6.75)]
    + [_point(10.0, True, 0.0, 2e-6, 4e-6)],
    (10.0, None), conditions=["failure_rate <= 0.05", "latency_ms.p50 < 500"], threshold=0.05, cf=5.987)


def _drawn(fig):
    """The figure drawn (positions in pixels are known from then on)."""
    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


def _legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _markers(ax, marker: str) -> dict[float, float]:
    """x -> y of the points drawn with ``marker`` ("o" held, "X" failed, "D" the means), whatever their labels."""
    out: dict[float, float] = {}
    for line in ax.get_lines():
        if line.get_marker() == marker and line.get_linestyle() in ("None", "none", ""):
            out.update(zip(np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float), strict=True))
    return out


def _pixels(ax, x: float, y: float) -> np.ndarray:
    return ax.transData.transform((x, y))


def _threshold_y(ax) -> float:
    line = next(ln for ln in ax.get_lines() if str(ln.get_label()).startswith("threshold"))
    return float(np.asarray(line.get_ydata(), float)[0])


def _data_pixels(ax) -> np.ndarray:
    """Every mark of data in pixels: each marker of each line with markers, and points along each range bar."""
    pts = []
    for line in ax.get_lines():
        if line.get_marker() in (None, "None", "none", "", " ") or not len(line.get_xdata()):
            continue
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        pts.append(line.get_transform().transform(xy))
    for coll in ax.collections:
        if isinstance(coll, LineCollection):
            for seg in coll.get_segments():
                t = np.linspace(0, 1, 20)[:, None]
                pts.append(coll.get_transform().transform(seg[0] + t * (seg[-1] - seg[0])))
    return np.vstack(pts)


# --------------------------------------------------------------------------------------------------- headroom


def test_a_failing_point_is_drawn_at_its_worst_replication_above_the_threshold():
    fig = headroom_figure(AZ)
    ax = fig.axes[0]
    _drawn(fig)
    threshold = _threshold_y(ax)
    assert threshold == pytest.approx(1.0)  # in % of invocations, as the axis
    fails = _markers(ax, "X")
    # The rule: a point holds when every replication holds; x0.7329's worst replication (1.0217%) breaks it.
    assert fails[0.7329] == pytest.approx(1.0217)
    held = _markers(ax, "o")
    assert held[0.7239] == pytest.approx(0.8582) and held[0.7151] == pytest.approx(0.7841)
    # Visibly: its marker stands clear above the threshold line, not inside a marker's width of it.
    gap = _pixels(ax, 0.7329, fails[0.7329])[1] - _pixels(ax, 0.7329, threshold)[1]
    assert gap >= 5, gap
    # Its range (the two replications) is drawn and crosses the threshold; the mean is drawn apart, below it.
    bars = [seg for c in ax.collections if isinstance(c, LineCollection) for seg in c.get_segments()
            if np.isclose(seg[0][0], 0.7329)]
    assert bars and min(bars[0][:, 1]) == pytest.approx(0.9093) and max(bars[0][:, 1]) == pytest.approx(1.0217)
    assert _markers(ax, "D")[0.7329] == pytest.approx(0.9655)
    # The legend says what the markers are.
    texts = _legend_texts(ax)
    assert any(t.startswith("fails") and "worst replication" in t for t in texts), texts
    assert any(t.startswith("range of its replications") for t in texts), texts


def test_a_far_point_does_not_squeeze_the_crossing():
    fig = headroom_figure(AZ)
    ax = fig.axes[0]
    bottom, top = ax.get_ylim()
    assert top < 2.5  # x1's 7.24% does not set the scale ...
    assert any(t.get_text() == "7.24%" for t in ax.texts)  # ... it sits on the top edge, its value written
    assert 0.7329 in _markers(ax, "X") and 1.0 not in _markers(ax, "X")


def test_the_threshold_is_written_in_the_axis_unit():
    texts = _legend_texts(headroom_figure(AZ).axes[0])
    assert "threshold: failure_rate < 1%" in texts, texts
    assert not any("0.01" in t for t in texts)
    ms = _headroom([_point(1.0, True, 0.9, 1.0, 1.1), _point(2.0, False, 2.1, 2.2, 2.3)], (1.0, 2.0),
                   conditions=["latency_ms.p99 < 2s"], threshold=2000.0, kind="ms")
    ax = headroom_figure(ms).axes[0]
    assert "threshold: latency_ms.p99 < 2000 ms" in _legend_texts(ax)
    assert ax.get_ylabel() == "latency_ms.p99 (ms)"


def test_the_title_says_why_the_first_failing_point_fails():
    title = headroom_figure(AZ).axes[0].get_title(loc="left")
    assert "x0.7329 fails: failure_rate 1.022% in its worst replication (must be < 1%), 1 of 2 replications held" \
        in title, title


def test_a_point_that_fails_on_another_condition_says_so():
    h = _headroom([_point(1.0, True, 0.0, 0.0, 0.0),
                   _point(1.5, False, 0.001, 0.001, 0.001, runs=1, runs_held=0, failed=["latency_ms.p50 < 500"])],
                  (1.0, 1.5), conditions=["failure_rate <= 0.05", "latency_ms.p50 < 500"], threshold=0.05)
    ax = headroom_figure(h).axes[0]
    assert any(t.startswith("fails on another condition") and "latency_ms.p50 < 500" in t
               for t in _legend_texts(ax)), _legend_texts(ax)
    assert "x1.5 fails: fails on latency_ms.p50 < 500" in ax.get_title(loc="left")


def test_with_a_share_below_one_the_marker_is_the_mean_and_the_legend_says_so():
    h = _headroom([_point(1.0, True, 0.0, 0.001, 0.002, runs=3), _point(2.0, False, 0.004, 0.009, 0.02, runs=3,
                                                                          runs_held=1)],
                  (1.0, 2.0), conditions=["failure_rate < 0.01"], threshold=0.01, replications=3, share=2 / 3)
    ax = headroom_figure(h).axes[0]
    assert _markers(ax, "X")[2.0] == pytest.approx(0.9)
    assert any("marker: the mean" in t and "2 of 3" in t for t in _legend_texts(ax)), _legend_texts(ax)


@pytest.mark.parametrize("h", [AZ, HP], ids=["az-outage", "quickstart-hyperplane"])
def test_the_legend_covers_no_data(h):
    fig = headroom_figure(h)
    ax = fig.axes[0]
    renderer = _drawn(fig)
    box = ax.get_legend().get_window_extent(renderer)
    pts = _data_pixels(ax)
    assert len(pts) >= len(h.points)
    pad = 6  # a marker's half width, in pixels
    inside = pts[(pts[:, 0] > box.x0 - pad) & (pts[:, 0] < box.x1 + pad)
                 & (pts[:, 1] > box.y0 - pad) & (pts[:, 1] < box.y1 + pad)]
    assert not len(inside), (box, inside)


def test_the_figure_of_a_real_search_draws_each_point_on_the_side_of_the_threshold_the_rule_put_it():
    # Poisson arrivals near the address ceiling (66 executions): with seed 6 and 3 replications, x5.278 fails with
    # a mean failure rate under 1% (0.92%): one of its replications went over.
    sc = tiny(**{**ADDRESS_BOUND, "functions": [{**ONE_FN, "subnets": ["a", "b"],
                                                 "arrivals": {"process": "poisson", "rate": 10}}]})
    h = headroom(sc, parse_until(sc, ["failure_rate < 1%"]), replications=3, seed=6)
    assert any(not p.held and p.metric is not None and p.metric < 0.01 for p in h.points)  # the case in point
    ax = headroom_figure(h).axes[0]
    drawn = {**_markers(ax, "o"), **_markers(ax, "X")}
    top = ax.get_ylim()[1]
    for p in h.points:
        y = drawn.get(p.multiplier)
        if y is None:  # off the scale, on the top edge: only failures lie that far above the threshold
            assert not p.held and p.metric is not None and p.metric * 100 > top > 1.0, p
            continue
        assert (y < 1.0) == p.held, (p.multiplier, y, p)


# --------------------------------------------------------------------------------------------------- memory

def _bars(ax) -> dict[str, list[float]]:
    """Label -> heights of the bar containers of an axes."""
    return {str(c.get_label()): [b.get_height() for b in c] for c in ax.containers}


def test_memory_figure_on_hyperplane_does_not_draw_the_legacy_formula():
    # 100 executions on Hyperplane: 2 ENIs (one per subnet) at any memory size; the legacy formula would say 34 at
    # 1024 MB and 98 at 3008 MB, over the 22 free addresses.
    rows = memory_tradeoff(tiny(**SMALL, platform="hyperplane"), [512, 3008], replications=1)
    assert [r["platform"] for r in rows] == ["hyperplane", "hyperplane"]  # the figure reads it from the rows
    assert [r["enis_formula"] for r in rows] == [None, None]  # nor in the table and memory.csv
    fig = memory_figure(rows, "tiny", "f")
    left = fig.axes[0]
    bars = _bars(left)
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert not any("formula" in t for t in labels), labels
    assert bars["peak ENIs (simulated)"] == [2, 2]
    closed = next(v for k, v in bars.items() if "Hyperplane" in k)
    assert closed == [r["enis_at_peak"] for r in rows] == [2, 2]
    free = rows[0]["free_ips"]
    assert max(h for v in bars.values() for h in v) < free  # nothing towers over the free addresses
    assert "Hyperplane" in fig.get_suptitle()
    assert "legacy formula" in left.get_title(loc="left") and "does not apply" in left.get_title(loc="left")


def test_memory_figure_on_legacy_keeps_the_formula_and_names_the_platform():
    rows = memory_tradeoff(tiny(**SMALL), [512, 3008], replications=1)
    fig = memory_figure(rows, "tiny", "f")
    bars = _bars(fig.axes[0])
    assert bars["ENIs by the doc's formula (at the p99.9 peak)"] == [r["enis_formula"] for r in rows]
    assert "legacy platform" in fig.get_suptitle()


def test_memory_figure_reads_the_platform_from_the_rows_or_the_keyword():
    row = {"memory_mb": 512, "slots_per_eni": 6, "enis_formula": 30, "enis_at_peak": 2, "peak_enis": 2.0,
           "free_ips": 22, "error_rate": 0.0, "monthly_usd": 10.0}
    assert "legacy" in memory_figure([row], "s", "f").get_suptitle()
    assert "Hyperplane" in memory_figure([{**row, "platform": "hyperplane"}], "s", "f").get_suptitle()
    fig = memory_figure([row], "s", "f", platform="hyperplane")
    assert "Hyperplane" in fig.get_suptitle() and _bars(fig.axes[0])["peak ENIs (simulated)"] == [2.0]
    assert not any("formula" in k for k in _bars(fig.axes[0]))


@pytest.mark.parametrize(("replications", "share", "held"), [
    (2, 1.0, "holds in all replications"), (4, 0.5, "holds in at least 2 of 4 replications"),
    (3, 0.2, "holds in at least one replication"), (1, 1.0, "holds"),
])
def test_the_legend_says_the_rule_of_a_held_point(replications, share, held):
    """With --share 0.5 the legend said "holds in all replications" beside "(the rule: 2 of 4 replications must
    hold)"; the provisional points said "replication 0" after the guide had moved to another replication."""
    points = [_point(1.0, True, 0.001, 0.002, 0.003, runs=replications),
              _point(1.5, True, 0.004, 0.004, 0.004, runs=1, verified=False),
              _point(2.0, False, 0.02, 0.03, 0.04, runs=1, runs_held=0)]
    h = _headroom(points, (1.5, 2.0), conditions=["failure_rate < 0.01"], threshold=0.01,
                  replications=replications, share=share)
    firsts = [t.split("\n")[0] for t in _legend_texts(headroom_figure(h).axes[0])]  # then what the marker is
    assert held in firsts and "held in the replication that guides the search" in firsts, firsts
    title = headroom_figure(h).axes[0].get_title(loc="left")
    assert "x2 fails: failure_rate 4%" in title and ("in the one replication it ran" in title) == (replications > 1)


def test_memory_figure_with_no_failures_says_so_on_a_readable_scale():
    """Every size at 0% drew a flat line on a 0 to 0.05% scale, as if there were something to read."""
    rows = memory_tradeoff(tiny(**SMALL, platform="hyperplane"), [512, 3008], replications=1)
    assert all(not r["error_rate"] for r in rows)
    right = memory_figure(rows, "tiny", "f").axes[1]
    assert right.get_ylim() == (0, 1)
    assert "none failed or throttled at any size" in [t.get_text() for t in right.texts]
