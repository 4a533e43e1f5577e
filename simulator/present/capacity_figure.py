"""The capacity chart (SPEC §5, §6): each function's ceilings against its projected peak, from the closed forms of
``capacity(scenario)`` alone or with a run's simulated peaks; beyond a few functions, one compact panel of the
functions that need attention first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter

from ..summary import MAX_FUNCTION_ROWS, Summary, attention_order, fmt_clock, projected_peak
from .style import GREY, LIGHT, OKABE_ITO, figure_title, new_figure, thousands

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

    from .shapes import RunData

__all__ = ["capacity_chart", "capacity_height"]

_DETAILED_CAPACITY = 6  # up to this many functions the capacity chart has a panel each; beyond, one compact panel


# --------------------------------------------------------------------------------------------------- capacity

_CEILINGS = (("concurrency", "concurrency (account / reserved)"), ("subnet_ips", "subnet addresses"),
             ("eni_quota", "ENI quota"), ("n_minus_1", "N-1: largest AZ lost"))


def _unpack(data: RunData | Mapping[str, Any]) -> tuple[Mapping[str, Any], Summary | None, RunData | None]:
    """``(capacity, the run's summary or None, the run or None)`` of a Result or of ``capacity(scenario)``."""
    if isinstance(data, Mapping):
        return data, None, None
    return data.summary["capacity"], data.summary, data


def _simulated_peak(summary: Summary | None, name: str) -> int | None:
    return summary["functions"][name]["peak_concurrency"] if summary and name in summary["functions"] else None


def _panel_scale(f: Mapping[str, Any], sim: float | None) -> float:
    """The x extent a function's panel needs: its largest mark (projected or simulated peak, binding or N-1
    ceiling) with room for the labels; a longer ceiling is drawn broken (off scale)."""
    c = f["ceilings"]
    return max(v for v in (projected_peak(f), sim or 0, c[f["binding"]], c.get("n_minus_1") or 0, 1)
               if v is not None) * 1.45


def _compact_extent(fns: Mapping[str, Any], summary: Summary | None) -> tuple[float, float]:
    """The smallest and largest value the compact panel draws (its marks stand at 0.5 at the least)."""
    names = attention_order(fns, summary["functions"] if summary is not None else None)[:MAX_FUNCTION_ROWS]
    values = []
    for name in names:
        f = fns[name]
        c = f["ceilings"]
        values += [c[f["binding"]], projected_peak(f), c.get("n_minus_1"), _simulated_peak(summary, name)]
    shown = [max(float(v), 0.5) for v in values if v is not None]
    return (min(shown), max(shown)) if shown else (0.5, 1.0)


@overload
def capacity_chart(data: RunData | Mapping[str, Any], *, fig: None = None, label: str | None = None,
                   same_scale_as: Sequence[RunData | Mapping[str, Any]] = ()) -> Figure: ...
@overload
def capacity_chart(data: RunData | Mapping[str, Any], *, fig: Figure | SubFigure, label: str | None = None,
                   same_scale_as: Sequence[RunData | Mapping[str, Any]] = ()) -> Figure | SubFigure: ...
def capacity_chart(data: RunData | Mapping[str, Any], *, fig: Figure | SubFigure | None = None,
                   label: str | None = None,
                   same_scale_as: Sequence[RunData | Mapping[str, Any]] = ()) -> Figure | SubFigure:
    """Each function's ceilings as bars (the binding one highlighted), the projected peak as a line, the N-1
    ceiling shown; with a run's Result, the simulated peak too. ``data`` is a Result or ``capacity(scenario)``.

    Charts compared side by side (``vpcsim compare``): ``label`` names this one in the title (beside its
    scenario), and ``same_scale_as`` (the charts' data, this one's among them or not) gives every function the
    same x scale in each chart: the largest any of them needs."""
    cap, summary, result = _unpack(data)
    others = [_unpack(d) for d in same_scale_as]
    fns = cap["functions"]
    n = len(fns)
    fig = new_figure(fig, (11, capacity_height(n)))
    if label is None:
        title = "Capacity: concurrent executions each limit allows"
    else:  # the scenario's name follows from the result (figure_title); the label says which run this is
        name = result.scenario.name if result is not None else None
        title = "Capacity" if label == name else f"Capacity: {label}"
    figure_title(fig, title, result)
    if n > _DETAILED_CAPACITY:
        ax = fig.subplots()
        _capacity_compact(ax, fns, summary)
        if others:
            extents = [_compact_extent(fns, summary)] + [_compact_extent(o[0]["functions"], o[1]) for o in others]
            ax.set_xlim(min(lo for lo, _ in extents) / 1.6, max(hi for _, hi in extents) * 1.6)
        return fig
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, (name, f) in zip(axes, fns.items(), strict=True):
        c = f["ceilings"]
        rows = [(key, what, c[key]) for key, what in _CEILINGS if c.get(key) is not None]
        peak = projected_peak(f)
        mean = f["projected_peak"]
        sim = _simulated_peak(summary, name)
        binding_value = c[f["binding"]]
        scale = max([_panel_scale(f, sim)] + [_panel_scale(o[0]["functions"][name], _simulated_peak(o[1], name))
                                               for o in others if name in o[0]["functions"]])
        for i, (key, _, value) in enumerate(rows):
            y = len(rows) - 1 - i
            shown = min(value, scale)
            is_binding = key == f["binding"]
            colour = OKABE_ITO["vermillion"] if is_binding else (OKABE_ITO["sky"] if key != "n_minus_1" else LIGHT)
            ax.barh(y, shown, color=colour, edgecolor="black" if is_binding else "#606060",
                    lw=1.6 if is_binding else 0.6, hatch="//" if key == "n_minus_1" else None, height=0.7)
            if value > scale:  # a broken bar: two white slashes near its end
                for dx in (0.05, 0.035):
                    ax.plot([shown - scale * (dx + 0.006), shown - scale * (dx - 0.006)], [y - 0.42, y + 0.42],
                            color="white", lw=2.5, solid_capstyle="butt", zorder=3)
            text = f"{value:,}" + ("  ◀ binding" if is_binding else "") + ("  (off scale)" if value > scale else "")
            inside = shown > scale * 0.8
            # Inside a long bar, right-aligned (left of the break marks of an off-scale bar); else after its end.
            tx = shown - scale * (0.075 if value > scale else 0.015) if inside else shown + scale * 0.01
            ax.text(tx, y, text,
                    ha="right" if inside else "left", va="center", fontsize=8.5,
                    fontweight="bold" if is_binding else "normal", color="white" if inside and is_binding else "black",
                    # After a short bar the peaks' lines may cross the value: it stays readable above them.
                    zorder=4, bbox=None if inside else {"facecolor": "white", "edgecolor": "none", "alpha": 0.85,
                                                        "pad": 0.5})
        ax.set_yticks(range(len(rows)), [what for _, what, _ in reversed(rows)], fontsize=9)
        ax.axvline(peak, color="black", lw=2, ls=(0, (5, 2)), label=f"projected peak (p99.9) {peak:,}")
        if mean != peak:
            ax.axvline(mean, color=GREY, lw=1.2, ls=(0, (2, 2)), label=f"mean in service {mean:,}")
        if sim is not None:
            ax.axvline(sim, color=OKABE_ITO["blue"], lw=2, ls=(0, (1, 1)), label=f"simulated peak {sim:,}")
        ax.set_xlim(0, scale * 1.02)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        slots = f.get("slots_per_eni")
        if not slots:
            extra = ", not in a VPC"
        elif slots >= 1000:  # legacy packs at most a few dozen per ENI; this is Hyperplane's connection count
            extra = f", {slots:,} connections per Hyperplane ENI"
        else:
            extra = f", {slots:,} environment{'s' * (slots != 1)} per ENI"
        scaling = c.get("scaling_s")
        if scaling:
            extra += f", scaling needs {fmt_clock(scaling) if math.isfinite(scaling) else 'forever'} to the peak"
        if peak > binding_value:
            verdict = f"projected peak ABOVE the {f['binding']} ceiling"
        elif c.get("n_minus_1") is not None and peak > c["n_minus_1"]:
            verdict = "fits, but NOT with its largest AZ lost (N-1)"
        else:
            verdict = "fits, also with its largest AZ lost (N-1)"
        ax.set_title(f"{name}: {f['memory_mb']:,} MB{extra} — {verdict}", loc="left", fontsize=10)
        # Beside the panel, not in it: inside, it covered the end of an off-scale bar and its break marks.
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, framealpha=0.9)
        ax.set_xlabel("concurrent executions")
        thousands(ax, "x")
        ax.grid(axis="x", color="#DDDDDD", lw=0.6)
        ax.set_axisbelow(True)
    return fig


def capacity_height(n_functions: int) -> float:
    """The chart's height in inches for ``n_functions`` (a panel each, or one row each in the compact panel)."""
    if n_functions <= _DETAILED_CAPACITY:
        return 1.0 + 1.9 * n_functions
    return 1.6 + 0.3 * min(n_functions, MAX_FUNCTION_ROWS)


_BINDING_COLOUR = {"concurrency": OKABE_ITO["orange"], "subnet_ips": OKABE_ITO["vermillion"],
                   "eni_quota": OKABE_ITO["purple"]}


def _capacity_compact(ax: Axes, fns: Mapping[str, Any], summary: Summary | None) -> None:
    """Many functions: one row each, the binding ceiling as a bar coloured by the limit, the projected and simulated
    peaks and the N-1 ceiling as marks; the functions with the least headroom first (log scale: sizes differ)."""
    names = attention_order(fns, summary["functions"] if summary is not None else None)[:MAX_FUNCTION_ROWS]
    ordered = [(name, fns[name]) for name in names]
    k = len(ordered)
    drawn = {"n_minus_1": False, "simulated": False, "outlined": False}
    for i, (name, f) in enumerate(ordered):
        y = k - 1 - i
        c = f["ceilings"]
        binding = f["binding"]
        above = projected_peak(f) > c[binding]
        drawn["outlined"] |= above
        ax.barh(y, max(c[binding], 0.5), color=_BINDING_COLOUR[binding], height=0.6,
                edgecolor="black" if above else "none", lw=1.2)
        ax.plot([max(projected_peak(f), 0.5)], [y], marker="|", ms=13, mew=2.2,
                color="black", ls="none")
        # The N-1 ceiling only where it is lower than the binding one (where equal, the bar's end is it).
        if c.get("n_minus_1") is not None and c["n_minus_1"] != c[binding]:
            ax.plot([max(c["n_minus_1"], 0.5)], [y], marker="<", ms=6, color="#505050", ls="none")
            drawn["n_minus_1"] = True
        if summary is not None and name in summary["functions"]:
            ax.plot([max(summary["functions"][name]["peak_concurrency"], 0.5)], [y], marker="o", ms=5,
                    color=OKABE_ITO["blue"], ls="none")
            drawn["simulated"] = True
    ax.set_yticks(range(k), [name for name, _ in reversed(ordered)], fontsize=8)
    ax.set_ylim(-0.7, k - 0.3)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    ax.set_xlabel("concurrent executions (log scale)")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Artist] = [Patch(color=colour, label=f"binding: {key}") for key, colour in _BINDING_COLOUR.items()
                             if any(f["binding"] == key for _, f in ordered)]
    # Only what is drawn; an absent N-1 mark means the N-1 ceiling is the bar's end (the legend says so).
    handles.append(Line2D([], [], marker="|", ms=11, mew=2.2, color="black", ls="none",
                          label="projected peak (p99.9)"))
    if drawn["n_minus_1"]:
        handles.append(Line2D([], [], marker="<", ms=6, color="#505050", ls="none",
                              label="N-1 AZ ceiling (where lower;\nelse the bar's end)"))
    if drawn["simulated"]:
        handles.append(Line2D([], [], marker="o", ms=5, color=OKABE_ITO["blue"], ls="none", label="simulated peak"))
    if drawn["outlined"]:
        handles.append(Patch(facecolor="none", edgecolor="black", lw=1.2,
                             label="outlined: projected\npeak above ceiling"))
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), framealpha=0.9)
    order = "failed or throttled most, then least headroom" if summary is not None else "least headroom"
    shown = f"the {k} of {len(fns):,} functions" if len(fns) > k else f"{k} functions"
    ax.set_title(f"Binding ceiling per function, {shown}: {order} first", loc="left", fontsize=10)
    ax.grid(axis="x", color="#DDDDDD", lw=0.6, which="both")
    ax.set_axisbelow(True)
