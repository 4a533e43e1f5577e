"""Figures of a run (SPEC §4, §6): the timeline, the network, latency, the capacity chart (drawn by
:mod:`.capacity_figure`, which also draws it for a scenario alone) and a dashboard of all four.

Every function takes results (a :class:`~simulator.analysis.results.Result`, or the capacity dict) and returns a
:class:`matplotlib.figure.Figure` built without pyplot, so no GUI backend is needed and nothing is shown; callers save
it (:func:`png_bytes`) or let Jupyter display it. Each accepts ``fig=`` (a Figure or SubFigure) to draw into, which is
how :func:`dashboard` and the comparison figures (:mod:`.compare_figures`) compose them. The shared look (the
Okabe-Ito palette, safe for the common colour-vision deficiencies; throttles also hatched, so causes stay apart in
greyscale; ticks, time units, events) is in :mod:`.style`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from matplotlib.axis import Axis as MplAxis
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from ..summary import Summary, fmt_clock, projected_peak, replications_of
from .capacity_figure import capacity_chart, capacity_height
from .style import (
    CYCLE,
    GREY,
    NOT_SUCCESS,
    OKABE_ITO,
    OUTCOME_STYLE,
    QUANTILE_STYLE,
    coarsen,
    concurrency_ceiling_of,
    figure_title,
    new_figure,
    per_step_ticks,
    png_bytes,
    shade_events,
    short_number,
    thousands,
    time_unit,
    vpc_slots,
    without_brackets,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .shapes import RunData

__all__ = [
    "OKABE_ITO", "OUTCOME_STYLE", "timeline", "network", "latency", "capacity_chart", "dashboard", "figures",
    "png_bytes", "time_unit", "coarsen",
]

_MAX_LATENCY_ROWS = 8  # the busiest functions the latency figure shows beside "all functions"


# --------------------------------------------------------------------------------------------------- timeline


@overload
def timeline(result: RunData, *, fig: None = None) -> Figure: ...
@overload
def timeline(result: RunData, *, fig: Figure | SubFigure) -> Figure | SubFigure: ...
def timeline(result: RunData, *, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Arrivals; concurrency and environments against the ceilings; failures stacked by cause; events shaded."""
    sc, s = result.scenario, result.summary
    fig = new_figure(fig, (11, 7.5))
    ts, factor = coarsen(result.timeseries)
    div, unit = time_unit(sc.duration)
    width_s = sc.timestep * factor
    t = ts["t_s"].to_numpy(dtype=float)
    x = np.append(t, min(t[-1] + width_s, sc.duration)) / div if len(t) else np.array([0.0])
    ax_a, ax_c, ax_o = fig.subplots(3, 1, sharex=True, height_ratios=[1, 2, 1.3])
    figure_title(fig, "Timeline", result, sample_path=True)

    def steps(ax: Axes, y: np.ndarray, **kw: Any) -> None:
        ax.stairs(y, x, baseline=None, **kw)

    # Arrivals.
    steps(ax_a, ts["arrivals"].to_numpy() / width_s, color=OKABE_ITO["blue"], lw=1.4, label="arrivals")
    ax_a.set_ylabel("arrivals\n(invocations/s)")
    # Headroom above the arrivals for the events' labels (warm-up, an AZ down), which sit at the panel's top.
    ax_a.set_ylim(0, max(float((ts["arrivals"] / width_s).max() if len(ts) else 0), 1e-9) * 1.3)
    per_step_ticks(ax_a, [width_s])
    thousands(ax_a)
    shade_events(ax_a, sc, div, label=True)

    # Concurrency and environments against the ceilings.
    # The data above the ceilings (zorder): a run pinned at a ceiling shows as the blue line on the ceiling's band.
    steps(ax_c, ts["concurrency_max"].to_numpy(dtype=float), color=OKABE_ITO["blue"], lw=1.6, zorder=4,
          label="concurrent executions (peak in step)")
    envs = (ts["environments_busy"] + ts["environments_idle"]).to_numpy(dtype=float)
    steps(ax_c, envs, color=OKABE_ITO["sky"], lw=1.4, ls="--", zorder=3, label="environments (busy + idle)")
    data_top = max(float(np.max(envs, initial=0)), float(ts["concurrency_max"].max() if len(ts) else 0), 1.0)
    cap = s["capacity"]
    projected = projected_peak(cap["total"])
    limits: list[tuple[str, np.ndarray | float, str, Any]] = []
    conc, conc_label = concurrency_ceiling_of(sc)
    limits.append((conc_label, float(conc), OKABE_ITO["black"], (0, (6, 3))))
    slots = vpc_slots(sc)
    if slots is not None:
        from ..engine.platforms import platform_of

        if "address_ceiling" in ts:  # what the engine saw at each step's end (taken addresses, AZs down)
            limits.append(("address ceiling (free IPs × envs/ENI)", ts["address_ceiling"].to_numpy(dtype=float),
                           OKABE_ITO["vermillion"], "-"))
        platform = platform_of(sc)
        quota = max(0, platform.eni_quota(sc)) * slots
        limits.append((f"{platform.quota_label(sc)} × {platform.slot_word}", float(quota), OKABE_ITO["purple"],
                       (0, (1, 1.5))))
    # Show a ceiling when it is near the data (within 1.8x); farther ones would flatten the data: name them instead.
    reach = max(data_top, projected)
    shown = reach
    for _, value, _, _ in limits:
        low = float(np.min(value))
        if low <= reach * 1.8:
            shown = max(shown, min(float(np.max(value)), reach * 2.5))
    top = shown * 1.3  # headroom for the legend
    off_scale = []
    for label, value, colour, ls in limits:
        if isinstance(value, np.ndarray):
            if float(np.min(value)) > top:
                lowest = "lowest " if float(np.max(value)) > float(np.min(value)) else ""  # an AZ down lowers it
                off_scale.append(f"{without_brackets(label)} {lowest}{short_number(float(np.min(value)))}")
                continue
            ax_c.stairs(value, x, baseline=None, color=colour, lw=3, ls=ls, label=label, zorder=2)
        elif value > top:
            off_scale.append(f"{without_brackets(label)} {short_number(value)}")
        else:
            ax_c.axhline(value, color=colour, lw=3, ls=ls, label=label, zorder=2)
    if projected:
        ax_c.axhline(projected, color=GREY, lw=1.2, ls=(0, (3, 2)), label=f"projected peak (p99.9) {projected:,}")
    if slots is None and any(f.in_vpc for f in sc.functions):
        off_scale.append("address and ENI ceilings differ per function: see the capacity chart")
    if off_scale:
        # Above the panel (never over the legend or the data).
        ax_c.set_title("above the plot: " + " · ".join(off_scale), loc="right", fontsize=8, color="#303030", pad=3)
    ax_c.set_ylim(0, top)
    ax_c.yaxis.set_major_locator(MaxNLocator(integer=True))  # executions are whole
    ax_c.set_ylabel("executions")
    thousands(ax_c)
    ax_c.legend(loc="upper left", fontsize=8, ncols=2, framealpha=0.95)
    shade_events(ax_c, sc, div, label=False)

    # Failures and throttles by cause.
    present = [o for o in NOT_SUCCESS if o in ts and ts[o].sum() > 0]
    if present:
        bottom = np.zeros(len(ts))
        rates = {o: ts[o].to_numpy(dtype=float) / width_s for o in present}
        top_o = max(float(np.sum(list(rates.values()), axis=0).max()), 1e-9) * 1.25
        # A cause too rare to see beside the others (two timeouts under 60 subnet_ips/s) is marked where it happens.
        rare = {o for o in present if rates[o].max() < 0.02 * top_o}
        for o in present:
            colour, hatch = OUTCOME_STYLE[o]
            ax_o.stairs(bottom + rates[o], x, baseline=bottom, fill=True, facecolor=colour, hatch=hatch,
                        edgecolor="white" if hatch else "none", lw=0, label="_" + o if o in rare else o)
            bottom = bottom + rates[o]
            if o in rare:
                at = np.flatnonzero(rates[o] > 0)
                ax_o.plot((x[at] + x[at + 1]) / 2, np.zeros(len(at)), marker="^", ms=7, color=colour, mec="black",
                          mew=0.6, ls="none", clip_on=False, zorder=5, label=f"{o} (too few to see; ▲ marks them)")
        ax_o.legend(loc="upper left", fontsize=8, ncols=min(3, len(present)), framealpha=0.9)
        ax_o.set_ylim(0, top_o)
        per_step_ticks(ax_o, [width_s])
    else:
        ax_o.text(0.5, 0.5, "no failures and no throttles", transform=ax_o.transAxes, ha="center", va="center",
                  fontsize=10, color="#303030")
        ax_o.set_ylim(0, 1)
        ax_o.yaxis.set_major_locator(MaxNLocator(1))
    ax_o.set_ylabel("failed or throttled\n(invocations/s)")
    thousands(ax_o)
    shade_events(ax_o, sc, div, label=False)
    ax_o.set_xlabel(f"simulated time ({unit})")
    ax_o.set_xlim(0, sc.duration / div)
    for ax in (ax_a, ax_c, ax_o):
        ax.grid(axis="y", color="#DDDDDD", lw=0.6)
        ax.set_axisbelow(True)
    return fig


# --------------------------------------------------------------------------------------------------- network


@overload
def network(result: RunData, *, fig: None = None) -> Figure: ...
@overload
def network(result: RunData, *, fig: Figure | SubFigure) -> Figure | SubFigure: ...
def network(result: RunData, *, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """ENIs (ready, attaching, deleting) over time, then free addresses per subnet, one panel per AZ, with each
    subnet's exhaustion marked."""
    sc, s = result.scenario, result.summary
    ts, factor = coarsen(result.timeseries)
    div, unit = time_unit(sc.duration)
    azs = sc.azs
    fig = new_figure(fig, (11, 2.4 + 1.9 * max(1, len(azs))))
    figure_title(fig, "Network", result, sample_path=True)
    if not sc.vpc.subnets:
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no VPC subnets: the functions are not in a VPC", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    width_s = sc.timestep * factor
    t = ts["t_s"].to_numpy(dtype=float)
    x = np.append(t, min(t[-1] + width_s, sc.duration)) / div
    axes = fig.subplots(1 + len(azs), 1, sharex=True, height_ratios=[1.3] + [1] * len(azs), squeeze=False)[:, 0]

    ax = axes[0]
    bottom = np.zeros(len(ts))
    for col, colour, hatch, label in (("enis_ready", OKABE_ITO["blue"], None, "ready"),
                                      ("enis_attaching", OKABE_ITO["orange"], "//", "attaching (cold starts wait)"),
                                      ("enis_deleting", GREY, "..", "deleting (address still held)")):
        y = ts[col].to_numpy(dtype=float)
        ax.stairs(bottom + y, x, baseline=bottom, fill=True, facecolor=colour, hatch=hatch,
                  edgecolor="white" if hatch else colour, lw=0, label=label)
        bottom = bottom + y
    top = max(float(bottom.max(initial=0)), 1.0) * 1.25
    from ..engine.platforms import platform_of

    platform = platform_of(sc)
    quota = platform.eni_quota(sc)
    what = platform.quota_label(sc, long=True)
    if quota <= top * 1.6:
        ax.axhline(quota, color=OKABE_ITO["purple"], lw=2, ls=(0, (1, 1.5)), label=what)
        top = max(top, quota * 1.12)
    else:
        ax.set_title(f"above the plot: {what} {quota:,}", loc="right", fontsize=8, color="#303030", pad=3)
    ax.set_ylim(0, top)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("Lambda ENIs")
    # Above the panel: a few ENIs (Hyperplane) fill it to the top, and a legend inside would cover them.
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, ncols=4, frameon=False, borderaxespad=0.2)
    shade_events(ax, sc, div, label=False)  # the AZ panels below carry the labels; the legend sits here

    colours = {sub.id: CYCLE[i % len(CYCLE)] for i, sub in enumerate(sc.vpc.subnets)}
    reps = replications_of(s)
    markers = ["o", "s", "^", "D", "v", "P"]
    for ax, az in zip(axes[1:], azs, strict=True):
        subs = [sub for sub in sc.vpc.subnets if sub.az == az]
        top = 1.0
        for i, sub in enumerate(subs):
            col = f"free_ips.{sub.id}"
            if col not in ts:
                continue
            y = ts[col].to_numpy(dtype=float)
            top = max(top, float(y.max(initial=0)), float(sub.usable_ips - sub.ips_in_use))
            colour = colours[sub.id]
            ax.stairs(y, x, baseline=None, color=colour, lw=1.8, label=f"{sub.id} ({sub.cidr}, {sub.usable_ips} usable)")
            # Steps in which the subnet had no free address at some point.
            empty = y <= 0
            if empty.any():
                edges = np.append(empty, empty[-1])
                ax.fill_between(x, 0, 1, where=edges, step="post", transform=ax.get_xaxis_transform(),
                                facecolor=colour, alpha=0.16, lw=0, label=f"{sub.id}: no free address")
            info = s["subnets"].get(sub.id, {})
            ex = info.get("exhausted_s")
            if ex is not None and reps > 1:
                # A mean over the replications; the curve is replication 1's: mark where this one ran out.
                counted = np.flatnonzero(empty & (t + width_s > sc.warmup))
                when = f"(mean of {reps} replications: {fmt_clock(ex)})"
                if not len(counted):  # others ran out, this one did not: say so, with no mark on its curve
                    ax.text(0.01, 0.05 + 0.11 * i, f"{sub.id}: never out of addresses in this replication; "
                            f"out in others {when}", transform=ax.transAxes, fontsize=8, color="#202020",
                            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
                ex = max(float(t[counted[0]]), sc.warmup) if len(counted) else None
            elif ex is not None:
                # The summary counts from the end of the warm-up: exhaustion "at" the warm-up's end began earlier.
                when = (f"already at the end of the warm-up ({fmt_clock(ex)})" if sc.warmup and abs(ex - sc.warmup) < 1e-6
                        else f"at {fmt_clock(ex)}")
            if ex is not None:
                ax.plot([ex / div], [0], marker=markers[i % len(markers)], ms=9, color=colour, mec="black",
                        clip_on=False, zorder=5, ls="none")
                ax.annotate(f"{sub.id} out of addresses {when}", (ex / div, 0), xytext=(8, 12 + 13 * i),
                            textcoords="offset points", fontsize=8, color="#202020",
                            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
                            arrowprops={"arrowstyle": "-", "color": "#606060", "lw": 0.8})
        ax.set_ylim(-top * 0.04, top * 1.25)  # below zero a little, so a subnet at 0 free stays visible
        ax.set_ylabel("free addresses")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(az, loc="left", fontsize=10, pad=2)
        ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
        shade_events(ax, sc, div, label=True, az=az, subnet_ids=[sub.id for sub in subs])
        thousands(ax)
    for ax in axes:
        ax.grid(axis="y", color="#DDDDDD", lw=0.6)
        ax.set_axisbelow(True)
    axes[-1].set_xlabel(f"simulated time ({unit})")
    axes[-1].set_xlim(0, sc.duration / div)
    return fig


# --------------------------------------------------------------------------------------------------- latency



@overload
def latency(result: RunData, *, fig: None = None) -> Figure: ...
@overload
def latency(result: RunData, *, fig: Figure | SubFigure) -> Figure | SubFigure: ...
def latency(result: RunData, *, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """End-to-end latency of successful invocations and cold-start time (ENI wait + init), with p50/p95/p99.

    The panels are histograms: of the per-invocation records when they were kept (``record_invocations=True``),
    else of the engine's fixed-size latency histogram (``Result.latency_distribution``, 1%-wide buckets). A result
    without either (rebuilt from an old results folder) shows the summary's percentiles per function instead."""
    has_rows = result.invocations is not None and len(result.invocations) > 0
    dist = result.latency_distribution
    has_buckets = dist is not None and len(dist) > 0
    n_fn = len(result.summary["functions"])
    rows = 1 + min(n_fn, _MAX_LATENCY_ROWS) if n_fn > 1 else 1
    fig = new_figure(fig, (11, 4.2 if has_rows or has_buckets else 2.6 + 0.6 * rows))
    figure_title(fig, "Latency", result, sample_path=has_rows or has_buckets)
    axes = fig.subplots(1, 2)
    if has_rows:
        _latency_histograms(result, axes)
    elif has_buckets:
        _latency_from_buckets(result, axes)
    else:
        _latency_ladder(result, axes)
    return fig


def _ms_label(v: float) -> str:
    return f"{v:,.0f}" if v >= 1 else f"{v:.2g}"


class _DecadeLocator(LogLocator):
    """Powers of ten on a logarithmic millisecond axis, as many as their labels fit side by side: the axis's own
    estimate allows a tick every three font sizes, too close for ``10,000`` beside ``100,000`` over nine decades."""

    _GAP_EM = 0.8  # the least space between two neighbouring labels, in font sizes

    def __init__(self) -> None:
        super().__init__(base=10, subs=(1.0,))

    def tick_values(self, vmin: float, vmax: float) -> Any:
        axis = self.axis
        if not isinstance(axis, MplAxis) or not 0 < vmin < vmax:
            return super().tick_values(vmin, vmax)
        from matplotlib import rcParams
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextToPath

        prop = FontProperties(size=rcParams["xtick.labelsize"])
        width = TextToPath().get_text_width_height_descent
        first, last = math.ceil(math.log10(vmin)), math.floor(math.log10(vmax))
        if last <= first:
            return super().tick_values(vmin, vmax)
        widths = [width(_ms_label(10.0 ** k), prop, ismath=False)[0] for k in range(first, last + 1)]  # points
        need = max((a + b) / 2 for a, b in zip(widths, widths[1:], strict=False))
        need += self._GAP_EM * prop.get_size_in_points()
        length = axis.axes.bbox.width * 72 / axis.axes.figure.dpi  # points (a SubFigure has its figure's dpi)
        stride = max(1, math.ceil(need / (length / math.log10(vmax / vmin))))
        # LogLocator takes a number of ticks and picks a stride from it: this number gives at least ``stride``.
        auto, self.numticks = self.numticks, max(2, math.ceil((last - first + 1) / stride))
        try:
            return super().tick_values(vmin, vmax)
        finally:
            self.numticks = auto


def _log_ms(ax: Axes, lo: float, hi: float) -> None:
    """Plain numbers on a logarithmic millisecond axis (not 10^3, 2x10^3...): at 1-2-5 steps over a short range,
    at powers of ten over a long one, every other one (or fewer) when their labels would touch."""
    decades = math.log10(max(hi, 1e-9) / max(lo, 1e-9))
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)) if decades <= 2.5 else _DecadeLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _ms_label(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())


_PANELS = (("latency_ms", "end-to-end latency", "successful invocations"),
           ("cold_start_ms", "cold start (ENI wait + init)", "cold starts"))


def _draw_histogram(ax: Axes, counts: np.ndarray, edges: np.ndarray, summary: Summary, key: str,
                    what: str, count_text: str) -> None:
    """One latency panel: a histogram on a logarithmic millisecond axis with the summary's p50/p95/p99."""
    if counts.sum() == 0:
        ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", va="center")
        ax.set_title(what, loc="left", fontsize=10)
        ax.set_xlabel(f"{what} (ms, log scale)")
        return
    ax.stairs(counts, edges, fill=True, color=OKABE_ITO["sky"], edgecolor=OKABE_ITO["blue"], lw=0.4)
    ax.set_xscale("log")
    ax.set_xlim(edges[0], edges[-1])
    _log_ms(ax, edges[0], edges[-1])
    if counts.max() > 100 * max(1, counts[counts > 0].min()):  # tails matter: a log count axis shows them
        ax.set_yscale("log")
        ax.set_ylabel("invocations (log scale)")
    else:
        ax.set_ylabel("invocations")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    thousands(ax)
    for q, ls, colour in QUANTILE_STYLE:
        v = summary[key][q]
        if v is not None:
            ax.axvline(v, color=colour, ls=ls, lw=1.8, label=f"{q} {v:,.0f} ms")
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    ax.set_title(f"{what}: {count_text}", loc="left", fontsize=10)
    ax.set_xlabel(f"{what} (ms, log scale)")
    ax.grid(axis="y", color="#DDDDDD", lw=0.6)


_LOG_FLOOR_MS = 1e-3  # the latency axes start here: a log axis has no place for 0 ms


def _count_text(total: int, under: int, noun: str) -> str:
    """A panel's count: every value counted, and those under the axis's floor said apart (azure-trace.yaml has
    4,684 invocations of a few microseconds, which the first version left out of the count silently)."""
    text = f"{total:,} {noun}"
    if under:
        text += f"\n({under:,} under {_LOG_FLOOR_MS:g} ms: left of this log axis)"
    return text


def _latency_histograms(result: RunData, axes: Sequence[Axes]) -> None:
    inv = result.invocations
    assert inv is not None  # latency() draws these only from kept invocations
    sc, s = result.scenario, result.summary
    ok = inv[(inv["outcome"] == "success") & (inv["arrival_s"] >= sc.warmup)]
    # A retried invocation's rows each start at their own attempt; latency here is per successful attempt.
    e2e_ms = ((ok["end_s"] - ok["arrival_s"]) * 1000).to_numpy()
    cold = ok[ok["cold"]]
    cold_ms = ((cold["start_s"] - cold["arrival_s"]) * 1000).to_numpy()
    for ax, values, (key, what, noun) in zip(axes, (e2e_ms, cold_ms), _PANELS, strict=True):
        values = values[np.isfinite(values)]
        shown = values[values >= _LOG_FLOOR_MS]
        if not len(shown):
            _draw_histogram(ax, np.zeros(1), np.array([1.0, 2.0]), s, key, what, "")
            continue
        lo, hi = float(shown.min()), float(shown.max())
        nbins = int(np.clip(2 * np.sqrt(len(shown)), 8, 60))
        bins = np.geomspace(lo, max(hi, lo * 1.01), nbins + 1)
        counts, _ = np.histogram(shown, bins=bins)
        _draw_histogram(ax, counts, bins, s, key, what, _count_text(len(values), len(values) - len(shown), noun))


def _latency_from_buckets(result: RunData, axes: Sequence[Axes]) -> None:
    """Histograms from the engine's 1%-wide buckets, merged into at most 60 bars."""
    dist = result.latency_distribution
    assert dist is not None
    for ax, kind, (key, what, noun) in zip(axes, ("latency", "cold_start"), _PANELS, strict=True):
        of_kind = dist[dist["kind"] == kind]
        part = of_kind[of_kind["high_ms"] > _LOG_FLOOR_MS]
        counts = part["count"].to_numpy()
        if not len(part) or counts.sum() == 0:
            _draw_histogram(ax, np.zeros(1), np.array([1.0, 2.0]), result.summary, key, what, "")
            continue
        k = max(1, math.ceil(len(part) / 60))
        starts = np.arange(0, len(part), k)
        merged = np.add.reduceat(counts, starts)
        edges = np.append(part["low_ms"].to_numpy()[starts], part["high_ms"].to_numpy()[-1])
        edges[0] = max(edges[0], _LOG_FLOOR_MS)  # bucket 0 starts at 0 ms: no place on a log axis
        total = int(of_kind["count"].sum())
        _draw_histogram(ax, merged, edges, result.summary, key, what, _count_text(total, total - int(counts.sum()),
                                                                                  noun))


def _latency_ladder(result: RunData, axes: Sequence[Axes]) -> None:
    s = result.summary
    fns = s["functions"]
    busiest = sorted(fns.items(), key=lambda kv: -(kv[1]["invocations"] or 0))[:_MAX_LATENCY_ROWS]
    rows = ([("all functions", s)] + busiest) if len(fns) > 1 else [(next(iter(fns)), s)]
    markers = {"p50": "o", "p95": "s", "p99": "D"}
    for ax, key, what in ((axes[0], "latency_ms", "end-to-end latency"),
                          (axes[1], "cold_start_ms", "cold start (ENI wait + init)")):
        lo, hi = math.inf, 0.0
        for i, (_, entry) in enumerate(rows):
            p = entry[key]
            if p["p50"] is None:
                continue
            y = len(rows) - 1 - i
            lo, hi = min(lo, p["p50"], p["mean"]), max(hi, p["max"])
            ax.plot([p["p50"], p["max"]], [y, y], color="#B0B0B0", lw=2, zorder=1)
            for k, (q, _, colour) in enumerate(QUANTILE_STYLE):
                ax.plot([p[q]], [y], marker=markers[q], ms=9, color=colour, mec="black", ls="none", zorder=3,
                        label=q)
                # Alternate labels above and below, so close percentiles do not print over each other.
                ax.annotate(f"{p[q]:,.0f}", (p[q], y), xytext=(0, 10 if k % 2 == 0 else -10),
                            textcoords="offset points", ha="center", va="center", fontsize=8)
            ax.plot([p["max"]], [y], marker="|", ms=16, mew=2, color="black", ls="none", zorder=3, label="max")
            ax.annotate(f"{p['max']:,.0f}", (p["max"], y), xytext=(7, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=8)  # beside its tick, not through it
            ax.plot([p["mean"]], [y], marker="x", ms=8, mew=2, color=OKABE_ITO["purple"], ls="none", zorder=4,
                    label="mean")
        ax.set_yticks(range(len(rows)), [name for name, _ in reversed(rows)])
        ax.set_ylim(-1.4, len(rows) - 0.4)  # room below the rows for the legend
        # The engine keeps a fixed-size histogram, not the values: the summary's percentiles are what there is.
        # With replications the counts are means (the figure's title says so): whole numbers here.
        n = s["succeeded"] if key == "latency_ms" else s["cold_starts"]
        noun = "successful invocations" if key == "latency_ms" else "cold starts"
        which = f"\n(all functions, then the {len(rows) - 1} busiest)" if len(fns) > len(rows) - 1 > 0 else ""
        ax.set_title(f"{what}: {n:,.0f} {noun}{which}", loc="left", fontsize=10)
        if hi > 0:
            ax.set_xscale("log")
            lo = lo if lo > 0 else hi / 1000  # a percentile of 0 ms (a no-op function) has no place on a log axis
            ax.set_xlim(lo / 1.8, hi * 1.8)
            _log_ms(ax, lo / 1.8, hi * 1.8)
            handles, labels = ax.get_legend_handles_labels()
            unique = dict(zip(labels, handles, strict=False))
            ax.legend(unique.values(), unique.keys(), fontsize=8, loc="lower center", ncols=5, framealpha=0.9)
        else:
            ax.text(0.5, 0.5, "none in this run", transform=ax.transAxes, ha="center", va="center")
            ax.set_xticks([])
        ax.set_xlabel(f"{what} (ms, log scale)")
        ax.grid(axis="x", color="#DDDDDD", lw=0.6, which="both")

# --------------------------------------------------------------------------------------------------- dashboard


def dashboard(result: RunData) -> Figure:
    """All four figures on one page (what ``Result.plot()`` returns): the timeline above latency on the left, the
    network above the capacity chart on the right, each panel as tall as its content needs."""
    n_az = max(1, len(result.scenario.azs)) if result.scenario.vpc.subnets else 1
    n_fn = len(result.summary["capacity"]["functions"])
    n_lat = 1 + min(n_fn, _MAX_LATENCY_ROWS) if n_fn > 1 else 1
    has_hist = (result.invocations is not None and len(result.invocations)) or (
        result.latency_distribution is not None and len(result.latency_distribution))
    left = (7.5, 4.2 if has_hist else 2.6 + 0.6 * n_lat)
    right = (2.4 + 1.9 * n_az, capacity_height(n_fn))
    fig = Figure(figsize=(20, max(sum(left), sum(right))), layout="constrained")
    columns = fig.subfigures(1, 2, width_ratios=[1.15, 1])
    assert not isinstance(columns, SubFigure)  # 1 x 2: an array (matplotlib's stubs allow a single SubFigure)
    col_l, col_r = columns
    tl, lat = col_l.subfigures(2, 1, height_ratios=list(left))
    net, cap = col_r.subfigures(2, 1, height_ratios=list(right))
    timeline(result, fig=tl)
    latency(result, fig=lat)
    network(result, fig=net)
    capacity_chart(result, fig=cap)
    return fig


def figures(result: RunData) -> dict[str, Figure]:
    """The report's figures by file stem: timeline, network, latency, capacity."""
    return {
        "timeline": timeline(result),
        "network": network(result),
        "latency": latency(result),
        "capacity": capacity_chart(result),
    }
