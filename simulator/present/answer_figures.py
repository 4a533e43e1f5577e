"""Figures of the answers: headroom (the first condition's metric against the load multiplier) and the memory
trade-off of ``size --memory``. Functions return a matplotlib Figure and never show it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .shapes import HeadroomData

__all__ = ["headroom_figure", "memory_figure"]

# Okabe & Ito (as simulator.present.plots): distinguishable with the common colour-vision deficiencies.
_BLUE, _GREEN, _VERMILLION, _GREY, _ORANGE = "#0072B2", "#009E73", "#D55E00", "#8C8C8C", "#E69F00"

# How a metric kind is drawn: (scale, unit for the axis label).
_UNITS = {"rate": (100.0, "% of invocations"), "ms": (1.0, "ms"), "s": (1.0, "s"), "first": (1.0, "s"),
          "usd": (1.0, "USD"), "count": (1.0, "count"), "number": (1.0, "")}


def headroom_figure(h: HeadroomData) -> Figure:
    """The first condition's metric (mean of the replications run; bars: their lowest and highest) at each
    evaluated multiplier, held points as filled circles and failed ones as crosses, the condition's threshold, the
    answer and its bracket, and the closed form's multiplier."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.5, 5.2), layout="constrained")
    ax = fig.subplots()
    scale, unit = _UNITS.get(h.condition_kind, (1.0, ""))
    path = h.conditions[0].split(" ")[0]
    finite_y: list[float] = []
    for held, verified in ((True, True), (True, False), (False, None)):
        pts = [(p, p.metric) for p in h.points if p.held == held and (verified is None or p.verified == verified)
               and p.metric is not None and math.isfinite(p.metric)]  # each point with its metric, not None
        if not pts:
            continue
        x = [p.multiplier for p, _ in pts]
        y = [m * scale for _, m in pts]
        finite_y += y
        low = [max(0.0, (m - (p.metric_low if p.metric_low is not None else m)) * scale) for p, m in pts]
        high = [max(0.0, ((p.metric_high if p.metric_high is not None else m) - m) * scale) for p, m in pts]
        label = ("conditions hold (all replications)" if verified else
                 "held in replication 0 (guides the search)" if held else "conditions fail")
        ax.errorbar(x, y, yerr=[low, high], ls="none", capsize=3, color=_GREEN if held else _VERMILLION,
                    marker="o" if held else "X", ms=8 if held else 9, zorder=3, clip_on=False, label=label,
                    mfc=_GREEN if verified else ("white" if held else _VERMILLION))
    never = [p for p in h.points if p.metric is not None and not math.isfinite(p.metric)]
    for p in never:  # a first occurrence that never happened: drawn at the top, said so
        ax.annotate("never", (p.multiplier, 1.0), xycoords=("data", "axes fraction"), ha="center", va="top",
                    fontsize=8, color=_GREEN if p.held else _VERMILLION)
    if h.threshold is not None and math.isfinite(h.threshold):
        ax.axhline(h.threshold * scale, color="black", lw=1.4, ls=(0, (6, 3)),
                   label=f"threshold: {h.conditions[0]}")
        finite_y.append(h.threshold * scale)
    lo, hi = h.bracket
    if hi is not None and lo > 0:
        ax.axvspan(lo, hi, color=_BLUE, alpha=0.15, lw=0, label=f"bracket x{lo:.3g} .. x{hi:.3g}")
    if lo > 0:
        ax.axvline(lo, color=_BLUE, lw=2.2, label=f"headroom x{lo:.3g}")
    cf = h.closed_form.get("multiplier")
    if cf is not None and math.isfinite(cf) and cf > 0:
        ax.axvline(cf, color=_ORANGE, lw=1.6, ls=(0, (1, 1.5)), label=f"closed form x{cf:.3g} (p99.9 peak at the "
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
    if finite_y:
        top = max(finite_y)
        ax.set_ylim(bottom=min(0.0, min(finite_y)), top=top * 1.15 if top > 0 else 1.0)
    ax.grid(True, color="#DDDDDD", lw=0.6)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    reps = f"{h.replications} replication{'s' * (h.replications != 1)} per point"
    if hi is None:
        what = f"holds up to x{lo:.3g} (the largest searched)"
    elif lo == 0:
        what = f"fails even at x{hi:.3g}"
    else:
        what = f"x{lo:.3g} (bracket x{lo:.3g} .. x{hi:.3g}, resolution {h.resolution:.0%})"
    ax.set_title(f"Headroom of {h.scenario}: {what}\n{'; '.join(h.conditions)} — {reps}, same seeds at every m",
                 loc="left", fontsize=10)
    return fig


def memory_figure(rows: list[dict[str, Any]], scenario: str, function: str) -> Figure:
    """``size --memory``: per memory size, the ENIs and addresses needed at the simulated peak (left), the share of
    failed or throttled invocations and the cost per 30 days (right)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    mem = [r["memory_mb"] for r in rows]
    pos = list(range(len(mem)))
    width = 0.38
    left.bar([p - width / 2 for p in pos], [r["peak_enis"] or 0 for r in rows], width, color=_BLUE,
             label="peak ENIs (simulated)")
    left.bar([p + width / 2 for p in pos], [r["enis_formula"] or 0 for r in rows], width, color=_GREY,
             label="ENIs by the doc's formula (at the p99.9 peak)")
    free = rows[0].get("free_ips")
    if free is not None:
        left.axhline(free, color=_VERMILLION, lw=2, ls=(0, (6, 3)), label=f"free addresses in its subnets ({free:,})")
    left.set_xticks(pos, [f"{m:,} MB" for m in mem])
    left.set_xlabel("memory size")
    left.set_ylabel("ENIs (each one subnet address)")
    left.legend(fontsize=8)
    left.grid(axis="y", color="#DDDDDD", lw=0.6)
    left.set_axisbelow(True)
    right.plot(pos, [100 * (r["error_rate"] or 0) for r in rows], marker="o", color=_VERMILLION,
               label="failed or throttled (%)")
    right.set_xticks(pos, [f"{m:,} MB" for m in mem])
    right.set_xlabel("memory size")
    right.set_ylabel("failed or throttled (% of invocations)", color=_VERMILLION)
    right.set_ylim(bottom=0)
    twin = right.twinx()
    twin.plot(pos, [r["monthly_usd"] or 0 for r in rows], marker="s", color=_BLUE, ls="--",
              label="cost per 30 days (USD)")
    twin.set_ylabel("cost per 30 days (USD)", color=_BLUE)
    twin.set_ylim(bottom=0)
    lines = right.get_lines() + twin.get_lines()
    right.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="upper left")
    right.grid(axis="y", color="#DDDDDD", lw=0.6)
    fig.suptitle(f"Memory size of {function} in {scenario}: ENIs, failures and cost", fontsize=11)
    return fig
