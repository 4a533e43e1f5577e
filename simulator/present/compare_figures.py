"""Figures of two or more runs overlaid (``vpcsim compare``): the timeline, the network and the latency percentiles,
each run in its own colour and dash."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, overload

import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure

from ..summary import replications_of
from .style import (
    NOT_SUCCESS,
    OKABE_ITO,
    QUANTILE_STYLE,
    coarsen,
    figure_title,
    new_figure,
    per_step_ticks,
    replication_note,
    shade_events,
    thousands,
    time_unit,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .shapes import RunData

__all__ = ["compare_timeline", "compare_network", "compare_latency"]


def _series(result: RunData) -> tuple[np.ndarray, pd.DataFrame, float]:
    ts, factor = coarsen(result.timeseries)
    width_s = result.scenario.timestep * factor
    t = ts["t_s"].to_numpy(dtype=float)
    x = np.append(t, min(t[-1] + width_s, result.scenario.duration)) if len(t) else np.array([0.0])
    return x, ts, width_s


def _legend_headroom(fig: Figure | SubFigure, axes: Sequence[Axes], margin: float = 0.04) -> None:
    """Raise the top of each y axis (starting at 0) until every value lies below its legend in the upper corner, so
    the legend never hides a line (a spike at the start of the run, a flat line near the top). The legend's height
    is measured once the layout is done."""
    axes = [ax for ax in axes if ax.get_legend() is not None and np.isfinite(ax.dataLim.y1) and ax.dataLim.y1 > 0]
    if not axes:
        return
    root = fig if isinstance(fig, Figure) else fig.figure  # a SubFigure's root Figure
    canvas = root.canvas
    if not hasattr(canvas, "get_renderer"):  # a bare Figure(): measure with the canvas savefig would use
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(root)  # becomes root.canvas
    root.draw_without_rendering()  # runs the constrained layout: the axes have their final size
    renderer = canvas.get_renderer()
    for ax in axes:
        legend = ax.get_legend()
        assert legend is not None  # kept above: the axes with a legend
        below = legend.get_window_extent(renderer).transformed(ax.transAxes.inverted()).y0 - margin
        if below > 0.3:  # the legend's bottom edge, as a fraction of the axis height
            ax.set_ylim(top=max(ax.get_ylim()[1], ax.dataLim.y1 / below))


def _title(fig: Figure | SubFigure, text: str, results: Mapping[str, RunData], *, sample_path: bool = True) -> None:
    """``Timeline, overlaid — az-outage (seed 3)``: the runs' scenario (their names, when they differ) and seed;
    with replications, that the curves are one replication's (``sample_path``: the time series kept are
    replication 1's), or else that the values are means."""
    names = list(dict.fromkeys(r.scenario.name for r in results.values()))
    seeds = list(dict.fromkeys(r.summary.get("seed") for r in results.values()))
    seeds = [s for s in seeds if s is not None]
    text = f"{text} — {' vs '.join(names)}"
    if seeds:
        text += f" (seed{'s' * (len(seeds) > 1)} {', '.join(str(s) for s in seeds)})"
    figure_title(fig, text + replication_note(max(replications_of(r.summary) for r in results.values()), sample_path))


_RUN_STYLE = ((OKABE_ITO["blue"], "-"), (OKABE_ITO["vermillion"], "--"), (OKABE_ITO["green"], "-."),
              (OKABE_ITO["purple"], ":"))


@overload
def compare_timeline(results: Mapping[str, RunData], *, fig: None = None) -> Figure: ...
@overload
def compare_timeline(results: Mapping[str, RunData], *, fig: Figure | SubFigure) -> Figure | SubFigure: ...
def compare_timeline(results: Mapping[str, RunData], *, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Runs overlaid: arrivals, concurrent executions, environments and failed-or-throttled invocations per second."""
    fig = new_figure(fig, (11, 7))
    horizon = max(r.scenario.duration for r in results.values())
    div, unit = time_unit(horizon)
    _title(fig, "Timeline, overlaid", results)
    ax_a, ax_c, ax_o = fig.subplots(3, 1, sharex=True, height_ratios=[1, 1.6, 1.3])
    first = next(iter(results.values())).scenario
    widths = []
    for (label, r), (colour, ls) in zip(results.items(), _RUN_STYLE, strict=False):
        x, ts, width = _series(r)
        widths.append(width)
        ax_a.stairs(ts["arrivals"].to_numpy() / width, x / div, baseline=None, color=colour, ls=ls, lw=1.4, label=label)
        ax_c.stairs(ts["concurrency_max"].to_numpy(dtype=float), x / div, baseline=None, color=colour, ls=ls, lw=1.6,
                    label=f"{label}: executions")
        envs = (ts["environments_busy"] + ts["environments_idle"]).to_numpy(dtype=float)
        ax_c.stairs(envs, x / div, baseline=None, color=colour, ls=ls, lw=0.9, alpha=0.55,
                    label=f"{label}: environments")
        bad = ts[[o for o in NOT_SUCCESS if o in ts]].sum(axis=1).to_numpy(dtype=float) / width
        ax_o.stairs(bad, x / div, baseline=None, color=colour, ls=ls, lw=1.6, label=label)
    for ax in (ax_a, ax_c, ax_o):
        shade_events(ax, first, div, label=False)  # the legends sit where the labels would
    ax_a.set_ylabel("arrivals\n(invocations/s)")
    ax_c.set_ylabel("executions")
    ax_o.set_ylabel("failed or throttled\n(invocations/s)")
    ax_o.set_xlabel(f"simulated time ({unit})")
    ax_o.set_xlim(0, horizon / div)
    per_step_ticks(ax_a, widths)
    per_step_ticks(ax_o, widths)
    for ax in (ax_a, ax_c, ax_o):
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", fontsize=8, framealpha=0.9, ncols=2)
        ax.grid(axis="y", color="#DDDDDD", lw=0.6)
        ax.set_axisbelow(True)
        thousands(ax)
    _legend_headroom(fig, (ax_a, ax_c, ax_o))
    return fig


@overload
def compare_network(results: Mapping[str, RunData], *, fig: None = None) -> Figure: ...
@overload
def compare_network(results: Mapping[str, RunData], *, fig: Figure | SubFigure) -> Figure | SubFigure: ...
def compare_network(results: Mapping[str, RunData], *, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Runs overlaid: Lambda ENIs (ready + attaching) and free addresses summed over each run's subnets."""
    fig = new_figure(fig, (11, 5))
    horizon = max(r.scenario.duration for r in results.values())
    div, unit = time_unit(horizon)
    _title(fig, "Network, overlaid", results)
    ax_e, ax_f = fig.subplots(2, 1, sharex=True)
    first = next(iter(results.values())).scenario
    for (label, r), (colour, ls) in zip(results.items(), _RUN_STYLE, strict=False):
        x, ts, _ = _series(r)
        ax_e.stairs((ts["enis_ready"] + ts["enis_attaching"]).to_numpy(dtype=float), x / div, baseline=None,
                    color=colour, ls=ls, lw=1.6, label=label)
        free_cols = [c for c in ts.columns if c.startswith("free_ips.")]
        if free_cols:
            ax_f.stairs(ts[free_cols].sum(axis=1).to_numpy(dtype=float), x / div, baseline=None, color=colour,
                        ls=ls, lw=1.6, label=f"{label} ({len(free_cols)} subnets)")
    for ax in (ax_e, ax_f):
        shade_events(ax, first, div, label=False)  # as on the overlaid timeline: the warm-up, the AZs down
    ax_e.set_ylabel("Lambda ENIs\n(ready + attaching)")
    ax_f.set_ylabel("free addresses\n(all subnets)")
    ax_f.set_xlabel(f"simulated time ({unit})")
    ax_f.set_xlim(0, horizon / div)
    for ax in (ax_e, ax_f):
        ax.set_ylim(bottom=0)
        ax.set_ylim(top=max(ax.get_ylim()[1] * 1.15, 1))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
        ax.grid(axis="y", color="#DDDDDD", lw=0.6)
        thousands(ax)
    _legend_headroom(fig, (ax_e, ax_f))
    return fig


@overload
def compare_latency(results: Mapping[str, RunData], *, fig: None = None) -> Figure: ...
@overload
def compare_latency(results: Mapping[str, RunData], *, fig: Figure | SubFigure) -> Figure | SubFigure: ...
def compare_latency(results: Mapping[str, RunData], *, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Runs side by side: p50/p95/p99 of end-to-end latency and of cold starts (grouped bars, each labelled)."""
    fig = new_figure(fig, (11, 4))
    _title(fig, "Latency percentiles", results, sample_path=False)
    axes = fig.subplots(1, 2)
    labels = list(results)
    qs = [q for q, _, _ in QUANTILE_STYLE]
    width = 0.8 / max(1, len(labels))
    for ax, key, what in ((axes[0], "latency_ms", "end-to-end latency"),
                          (axes[1], "cold_start_ms", "cold start (ENI wait + init)")):
        any_value = False
        for j, ((label, r), (colour, _)) in enumerate(zip(results.items(), _RUN_STYLE, strict=False)):
            vals = [r.summary[key][q] for q in qs]
            xs = np.arange(len(qs)) + (j - (len(labels) - 1) / 2) * width
            heights = [v if v is not None else 0 for v in vals]
            any_value |= any(v is not None for v in vals)
            bars = ax.bar(xs, heights, width=width * 0.95, color=colour, label=label,
                          hatch=None if j % 2 == 0 else "//", edgecolor="white" if j % 2 else colour)
            for b, v in zip(bars, vals, strict=True):
                ax.annotate("-" if v is None else f"{v:,.0f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                            xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7.5)
        ax.set_xticks(range(len(qs)), qs)
        if not any_value:
            ax.text(0.5, 0.5, "none in these runs", transform=ax.transAxes, ha="center", va="center")
        # A linear axis: bars on a log axis start at an arbitrary floor and mislead; each bar carries its value.
        ax.set_ylim(0, ax.get_ylim()[1] * 1.12)
        ax.set_ylabel(f"{what} (ms)")
        ax.set_title(what, loc="left", fontsize=10)
        ax.legend(fontsize=8, loc="upper left", framealpha=0.9)
        thousands(ax)
        ax.grid(axis="y", color="#DDDDDD", lw=0.6)
        ax.set_axisbelow(True)
    return fig
