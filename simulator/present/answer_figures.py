"""Figures of the answers: headroom (the first condition's metric against the load multiplier) and the memory
trade-off of ``size --memory``. Functions return a matplotlib Figure and never show it."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .shapes import HeadroomData, PointData

__all__ = ["headroom_figure", "memory_figure"]

# Okabe & Ito (as simulator.present.plots): distinguishable with the common colour-vision deficiencies.
_BLUE, _GREEN, _VERMILLION, _GREY, _ORANGE = "#0072B2", "#009E73", "#D55E00", "#8C8C8C", "#E69F00"

# How a metric kind is drawn: (scale, unit for the axis label).
_UNITS = {"rate": (100.0, "% of invocations"), "ms": (1.0, "ms"), "s": (1.0, "s"), "first": (1.0, "s"),
          "usd": (1.0, "USD"), "count": (1.0, "count"), "number": (1.0, "")}


_UNIT_SUFFIX = {"rate": "%", "ms": " ms", "s": " s", "first": " s", "usd": " USD"}
_OP = re.compile(r"^\S+\s*(<=|>=|==|!=|<|>)")


def _in_unit(value: float, kind: str) -> str:
    """A value of a metric of ``kind`` as the axis shows it: ``0.01`` of a rate is ``1%``."""
    scale, _ = _UNITS.get(kind, (1.0, ""))
    return f"{value * scale:.4g}{_UNIT_SUFFIX.get(kind, '')}"


class _Drawn(NamedTuple):
    """How one point of a headroom search is drawn (values in the metric's unit, before the axis's scale)."""

    point: PointData
    value: float  # where its marker sits: the replication the rule compares, else the mean
    exact: bool  # value is that replication's (not the mean)
    other: bool  # failed, but not on the condition drawn
    failed_on: list[str]
    mean: float
    low: float
    high: float


def _compared(p: PointData, op: str | None, threshold: float | None, need: int, n: int) -> float | None:
    """The replication whose value decides whether ``p`` holds on the first condition, when its lowest and highest
    tell it: the worst when every replication must hold (``need == n``; the guide's points, run alone, too), the best
    when one is enough and all ran; None otherwise (the mean stands in for it)."""
    low, high = p.metric_low, p.metric_high
    if low is None or high is None or op is None:
        return None
    runs = getattr(p, "runs", n)
    if op in ("<", "<="):
        worst, best = high, low
    elif op in (">", ">="):
        worst, best = low, high
    elif op == "==" and threshold is not None:
        worst = max((low, high), key=lambda v: abs(v - threshold))
        best = min((low, high), key=lambda v: abs(v - threshold))
    else:
        return None
    if need >= n or runs < n:  # every replication must hold (with fewer run, the search needs all to hold)
        return worst
    if need <= 1:
        return best
    return None


def headroom_figure(h: HeadroomData) -> Figure:
    """The first condition's metric at each evaluated multiplier, drawn at the value the rule compares with the
    threshold (a point holds when at least ``share`` of its replications hold: with the default, all of them, so
    the worst replication decides), with the range of its replications (lowest to highest) and their mean; held
    points as circles, failed ones as crosses (those that fail on another condition hollow); the condition's
    threshold in the axis's unit, the answer and its bracket, and the closed form's multiplier. A point far off the
    scale near the threshold is drawn at the top edge with its value written beside it. The legend sits beside the
    axes, over no data; the title says why the first failing point fails."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(12, 5.4), layout="constrained")
    ax = fig.subplots()
    scale, unit = _UNITS.get(h.condition_kind, (1.0, ""))
    first = h.conditions[0]
    path = first.split(" ")[0]
    m_op = _OP.match(first)
    op = m_op.group(1) if m_op else None
    th = h.threshold if h.threshold is not None and math.isfinite(h.threshold) else None
    n = max(1, int(h.replications))
    share = float(getattr(h, "share", 1.0))
    need = max(1, math.ceil(share * n - 1e-9))
    decided_by = ("" if n == 1 else
                  "marker: its worst replication\n(the rule: all must hold)" if need >= n else
                  "marker: its best replication\n(the rule: one must hold)" if need <= 1 else
                  f"marker: the mean\n(the rule: {need} of {n} replications must hold)")

    # What each point draws: the compared value (or the mean), the range of its replications, their mean.
    drawn: list[_Drawn] = []
    for p in h.points:
        mean = p.metric
        if mean is None or not math.isfinite(mean):
            continue
        c = _compared(p, op, th, need, n)
        failed_on = list(getattr(p, "failed_conditions", None) or [])
        other = (not p.held) and bool(failed_on) and first not in failed_on
        low = p.metric_low if p.metric_low is not None and math.isfinite(p.metric_low) else mean
        high = p.metric_high if p.metric_high is not None and math.isfinite(p.metric_high) else mean
        drawn.append(_Drawn(p, mean if c is None else c, c is not None, other, failed_on, mean, low, high))
    values = [v * scale for d in drawn for v in (d.value, d.low, d.high)]

    # The scale: when points far beyond the threshold would squeeze those near it (whose crossing is the answer)
    # into a few pixels, the axis stops a little above the near ones and the far ones sit on its top edge.
    cut = None
    if th is not None and th > 0 and values:
        t = th * scale
        near = [v for v in values if v <= 3 * t]
        if any(t / 3 <= v for v in near) and max(values) > 4 * t:
            cut = max([*near, t]) * 1.2

    group_style = {  # key -> (label, colour, marker, face)
        "held": ("holds" if n == 1 else "holds in all replications" if need >= n else
                 "holds in at least one replication" if need <= 1 else
                 f"holds in at least {need} of {n} replications", _GREEN, "o", _GREEN),
        "guide": ("held in the replication that guides the search", _GREEN, "o", "white"),
        "failed": ("fails", _VERMILLION, "X", _VERMILLION),
        "other": ("fails on another condition\n({})", _VERMILLION, "X", "white"),
    }
    groups: dict[str, list[tuple[float, float]]] = {k: [] for k in group_style}
    above: list[tuple[float, float, str]] = []
    other_conditions: list[str] = []
    means: list[tuple[float, float]] = []
    any_range = False
    for d in drawn:
        p = d.point
        key = ("held" if p.verified else "guide") if p.held else ("other" if d.other else "failed")
        y, low, high = d.value * scale, d.low * scale, d.high * scale
        if high > low:
            any_range = True
            ax.vlines(p.multiplier, low, high, color=group_style[key][1], lw=1.3, zorder=2)
            for end in (low, high):
                ax.plot([p.multiplier], [end], marker="_", ms=7, mew=1.3, color=group_style[key][1], zorder=2)
            means.append((p.multiplier, d.mean * scale))
        if d.other:
            other_conditions += [c for c in d.failed_on if c not in other_conditions and c != first]
        if cut is not None and y > cut:
            above.append((p.multiplier, y, key))
            continue
        groups[key].append((p.multiplier, y))
    for key, pts in groups.items():
        if not pts:
            continue
        label, colour, marker, face = group_style[key]
        if key in ("held", "failed") and decided_by:
            label += f"\n{decided_by}"
        if key == "other":
            label = label.format(", ".join(other_conditions))
        ax.plot([x for x, _ in pts], [y for _, y in pts], ls="none", marker=marker, ms=8 if marker == "o" else 9,
                color=colour, mfc=face, mew=1.5, zorder=4, clip_on=False, label=label)
    if means:
        ax.plot([x for x, _ in means], [y for _, y in means], ls="none", marker="D", ms=3.5, color="black", zorder=5,
                label="mean of its replications")
    never = [p for p in h.points if p.metric is not None and not math.isfinite(p.metric)]
    for p in never:  # a first occurrence that never happened: drawn at the top, said so
        ax.annotate("never", (p.multiplier, 1.0), xycoords=("data", "axes fraction"), ha="center", va="top",
                    fontsize=8, color=_GREEN if p.held else _VERMILLION)
    if th is not None:
        ax.axhline(th * scale, color="black", lw=1.4, ls=(0, (6, 3)), zorder=3,
                   label=f"threshold: {path} {op or ''} {_in_unit(th, h.condition_kind)}".replace("  ", " "))
    lo, hi = h.bracket
    if hi is not None and lo > 0:
        ax.axvspan(lo, hi, color=_BLUE, alpha=0.15, lw=0, label=f"bracket x{lo:.3g} .. x{hi:.3g}")
    if lo > 0:
        ax.axvline(lo, color=_BLUE, lw=2.2, label=f"headroom x{lo:.3g}")
    cf = h.closed_form.get("multiplier")
    if cf is not None and math.isfinite(cf) and cf > 0:
        ax.axvline(cf, color=_ORANGE, lw=1.6, ls=(0, (1, 1.5)), label=f"closed form x{cf:.3g}\n(p99.9 peak at the "
                                                                        f"binding ceiling)")
    xs = [p.multiplier for p in h.points] + ([cf] if cf and math.isfinite(cf) and cf > 0 else [])
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if xs and max(xs) / max(min(xs), 1e-12) > 8:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"x{v:g}"))
    ax.set_xlabel("load multiplier m (every arrival process scaled by m)")
    ax.set_ylabel(f"{path} ({unit})" if unit else path)
    finite_y = values + ([th * scale] if th is not None else [])
    if finite_y:
        top = cut if cut is not None else max(finite_y) * 1.15 if max(finite_y) > 0 else 1.0
        bottom = min(0.0, min(finite_y))
        ax.set_ylim(bottom=bottom - 0.02 * (top - bottom), top=top)  # a point at 0 clear of the axis line
    if above:  # off the scale: a triangle on the top edge, the value beside it
        for x, y, key in above:
            colour = group_style[key][1]
            ax.plot([x], [1.0], transform=ax.get_xaxis_transform(), marker="^", ms=9, color=colour,
                    mfc=group_style[key][3], mew=1.5, ls="none", clip_on=False, zorder=4)
            ax.annotate(f"{y:.3g}{_UNIT_SUFFIX.get(h.condition_kind, '')}", (x, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(-7, -3), textcoords="offset points",
                        ha="right", va="top", fontsize=8, color=colour)
        ax.plot([], [], ls="none", marker="^", ms=9, color="#444444", mfc="white", mew=1.5,
                label="off the scale\n(its value written beside it)")
    why = ""
    if hi is not None:  # why the answer stops there: the first failing point, said in words (in the title: over no data)
        d_hi = next((d for d in drawn if d.point.multiplier == hi), None)
        if d_hi is not None:
            p, v, exact, other, failed_on = d_hi.point, d_hi.value, d_hi.exact, d_hi.other, d_hi.failed_on
            runs, held = getattr(p, "runs", None), getattr(p, "runs_held", None)
            if other:
                why = f"fails on {', '.join(failed_on)}"
            elif exact:
                which = "worst" if need >= n or (runs or n) < n else "best"
                where = ("" if n == 1 else " in the one replication it ran" if runs == 1 else
                         f" in its {which} replication")
                why = f"{path} {_in_unit(v, h.condition_kind)}{where}"
            else:
                why = f"{path} {_in_unit(v, h.condition_kind)} on average"
            if not other and th is not None and op is not None:
                why += f" (must be {op} {_in_unit(th, h.condition_kind)})"
            if runs is not None and held is not None:
                why += f", {held} of {runs} replication{'s' * (runs != 1)} held"
            why = f"\nx{hi:.4g} fails: {why}"
    ax.grid(True, color="#DDDDDD", lw=0.6)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    if any_range:
        handles.append(Line2D([], [], color="#444444", lw=1.3, marker="_", ms=7, mew=1.3))
        labels.append("range of its replications\n(lowest to highest)")
    # Beside the axes: inside them, a legend covers points (those at 0, those on the threshold) whatever its corner.
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8,
              frameon=False, labelspacing=0.9)
    reps = f"{h.replications} replication{'s' * (h.replications != 1)} per point"
    if hi is None:
        what = f"holds up to x{lo:.3g} (the largest searched)"
    elif lo == 0:
        what = f"fails even at x{hi:.3g}"
    else:
        what = f"x{lo:.3g} (bracket x{lo:.3g} .. x{hi:.3g}, resolution {h.resolution:.0%})"
    ax.set_title(f"Headroom of {h.scenario}: {what}\n{'; '.join(h.conditions)} — {reps}, same seeds at every m"
                 f"{why}", loc="left", fontsize=10)
    return fig


def memory_figure(rows: list[dict[str, Any]], scenario: str, function: str, *,
                  platform: str | None = None) -> Figure:
    """``size --memory``: per memory size, the ENIs and addresses needed at the simulated peak (left), the share of
    failed or throttled invocations and the cost per 30 days (right). Beside the simulated ENIs, the platform's own
    count at the p99.9 peak: on legacy the doc's formula (concurrency x memory / ENI memory), on Hyperplane its rule
    (ENIs shared per subnet and security-group set: the legacy formula does not apply there, and is not drawn).
    ``platform`` (``"legacy"`` or ``"hyperplane"``): default, the rows' own (``memory_tradeoff`` says it in each)."""
    from matplotlib.figure import Figure

    platform = platform or str(rows[0].get("platform", "legacy") if rows else "legacy")
    hyperplane = platform == "hyperplane"
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    mem = [r["memory_mb"] for r in rows]
    pos = list(range(len(mem)))
    width = 0.38
    sim = left.bar([p - width / 2 for p in pos], [r["peak_enis"] or 0 for r in rows], width, color=_BLUE,
                   label="peak ENIs (simulated)")
    if hyperplane:
        per_eni = rows[0].get("slots_per_eni")
        each = f", one more per {per_eni:,} connections" if per_eni else ""
        closed = left.bar([p + width / 2 for p in pos], [r.get("enis_at_peak") or 0 for r in rows], width,
                          color=_GREY, label="ENIs by Hyperplane's rule (at the p99.9 peak)")
        left.set_title(f"Hyperplane: one ENI per subnet and security-group set{each};\nthe legacy formula "
                       f"(concurrency x memory / 3 GB) does not apply and is not drawn", fontsize=8, loc="left")
    else:
        closed = left.bar([p + width / 2 for p in pos], [r["enis_formula"] or 0 for r in rows], width, color=_GREY,
                          label="ENIs by the doc's formula (at the p99.9 peak)")
    for bars in (sim, closed):  # a few ENIs next to a hundred addresses: the count says what the bar barely shows
        left.bar_label(bars, fmt="{:,.0f}", fontsize=7, padding=1)
    free = rows[0].get("free_ips")
    if free is not None:
        left.axhline(free, color=_VERMILLION, lw=2, ls=(0, (6, 3)), label=f"free addresses in its subnets ({free:,})")
    left.set_xticks(pos, [f"{m:,} MB" for m in mem])
    left.set_xlabel("memory size")
    left.set_ylabel("ENIs (each one subnet address)")
    left.set_ylim(top=max([*(r["peak_enis"] or 0 for r in rows), *(b.get_height() for b in closed),
                           free or 0, 1]) * 1.35)  # room for the legend above the bars and the line
    left.legend(fontsize=8, loc="upper left")
    left.grid(axis="y", color="#DDDDDD", lw=0.6)
    left.set_axisbelow(True)
    right.plot(pos, [100 * (r["error_rate"] or 0) for r in rows], marker="o", color=_VERMILLION,
               label="failed or throttled (%)")
    right.set_xticks(pos, [f"{m:,} MB" for m in mem])
    right.set_xlabel("memory size")
    right.set_ylabel("failed or throttled (% of invocations)", color=_VERMILLION)
    if any(r["error_rate"] for r in rows):
        right.set_ylim(bottom=0)
    else:  # none failed at any size: 0 to 1%, not matplotlib's 0 to 0.05% around a flat line
        right.set_ylim(0, 1)
        right.text(0.5, 0.12, "none failed or throttled at any size", transform=right.transAxes, ha="center",
                   fontsize=9, color=_VERMILLION)
    twin = right.twinx()
    twin.plot(pos, [r["monthly_usd"] or 0 for r in rows], marker="s", color=_BLUE, ls="--",
              label="cost per 30 days (USD)")
    twin.set_ylabel("cost per 30 days (USD)", color=_BLUE)
    twin.set_ylim(bottom=0)
    from matplotlib.ticker import FuncFormatter

    twin.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.0f}"))  # $7,000, not 7000
    lines = right.get_lines() + twin.get_lines()
    right.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="upper left")
    right.grid(axis="y", color="#DDDDDD", lw=0.6)
    name = "Hyperplane" if hyperplane else platform
    fig.suptitle(f"Memory size of {function} in {scenario} on the {name} platform: ENIs, failures and cost",
                 fontsize=11)
    return fig
