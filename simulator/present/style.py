"""The look shared by every figure: the Okabe-Ito palette and the style of each outcome, tick formatters and
locators that never repeat a label, time units, coarsening of long time series, the scenario's events drawn on a
time axis, and PNG output."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import Formatter, MaxNLocator

from ..scenario.models import Scenario
from ..scenario.sections import AzOutage, IpsReleased, IpsTaken
from ..summary import OUTCOMES, replications_of

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .shapes import RunData

__all__ = [
    "OKABE_ITO", "GREY", "LIGHT", "CYCLE", "OUTCOME_STYLE", "NOT_SUCCESS", "QUANTILE_STYLE", "MAX_POINTS",
    "time_unit", "coarsen", "png_bytes", "new_figure", "PlainFormatter", "PerStepLocator", "thousands",
    "per_step_ticks", "short_number", "figure_title", "replication_note", "scenario_events", "shade_events", "vpc_slots",
    "concurrency_ceiling_of", "without_brackets",
]

# Okabe & Ito (2008), "Color Universal Design": distinguishable with protanopia, deuteranopia and tritanopia.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
GREY = "#8C8C8C"
LIGHT = "#E8E8E8"
CYCLE = [OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky", "black", "yellow")]

# Colour and hatch per failure cause. Throttles (429s: the caller can retry) are hatched; VPC failures (5xx) solid.
OUTCOME_STYLE: dict[str, tuple[str, str | None]] = {
    "throttled_concurrency": (OKABE_ITO["orange"], "//"),
    "throttled_reserved": (OKABE_ITO["yellow"], "//"),
    "throttled_scaling": (OKABE_ITO["sky"], "//"),
    "eni_limit": (OKABE_ITO["purple"], None),
    "subnet_ips": (OKABE_ITO["vermillion"], None),
    "ec2_throttled": (OKABE_ITO["blue"], None),
    "az_outage": ("#505050", "xx"),
    "timeout": (OKABE_ITO["green"], None),
    "dropped": (GREY, ".."),
}
NOT_SUCCESS = [o for o in OUTCOMES if o != "success"]
MAX_POINTS = 720  # beyond this many timesteps, time series are aggregated into coarser bins (a readable line)




def time_unit(horizon_s: float) -> tuple[float, str]:
    """The divisor and label of a readable time axis for a run of ``horizon_s`` seconds."""
    if horizon_s <= 180:
        return 1.0, "s"
    if horizon_s <= 3 * 3600:
        return 60.0, "min"
    if horizon_s <= 3 * 86400:
        return 3600.0, "h"
    return 86400.0, "days"


def coarsen(ts: pd.DataFrame, max_points: int = MAX_POINTS) -> tuple[pd.DataFrame, int]:
    """Aggregate a time series into at most ``max_points`` rows: counts are summed, maxima kept as maxima, minima
    (free addresses) as minima, means averaged. Returns the frame and the number of timesteps per row."""
    n = len(ts)
    factor = max(1, math.ceil(n / max_points))
    if factor == 1:
        return ts, 1
    group = np.arange(n) // factor
    how: dict[str, str] = {}
    for col in ts.columns:
        if col == "t_s":
            how[col] = "first"
        elif col in OUTCOMES or col in ("arrivals", "cold_starts"):
            how[col] = "sum"
        elif col.startswith("free_ips.") or col == "address_ceiling":
            how[col] = "min"
        elif col == "concurrency_mean":
            how[col] = "mean"
        else:  # concurrency_max, environments, ENIs, ips_used: the step's peak
            how[col] = "max"
    return ts.groupby(group).agg(how).reset_index(drop=True), factor


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (what the report embeds and ``figures/*.png`` holds)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def new_figure(fig: Figure | SubFigure | None, size: tuple[float, float]) -> Figure | SubFigure:
    return fig if fig is not None else Figure(figsize=size, layout="constrained")


class PlainFormatter(Formatter):
    """Tick labels with thousands separators and the decimals the ticks need: ``0, 0.05, 0.1, 0.15`` (one decimal
    for every tick made it ``0, 0.1, 0.1, 0.2``), ``0, 200, 400``, ``1, 10, 100`` on a log axis. Two ticks never get
    the same label."""

    decimals = 0

    def set_locs(self, locs: list[float]) -> None:  # matplotlib's signature (it hands over an array)
        super().set_locs(locs)
        values = [float(v) for v in locs]
        if self.axis is not None:  # a log axis also hands over ticks beyond the view: they must not add decimals
            low, high = sorted(self.axis.get_view_interval())
            values = [v for v in values if low <= v <= high] or values
        for d in range(7):  # the fewest decimals that write every tick exactly (nice steps: 0.05, 0.25, 2.5)
            if all(abs(round(v, d) - v) <= 1e-9 * max(1.0, abs(v)) for v in values):
                break
        else:  # ticks at a step like 1/60 (one invocation per minute, in invocations/s): enough to tell them apart
            gaps = np.diff(np.unique(values))
            step = float(gaps.min()) if len(gaps) else 1.0
            d = max(0, math.ceil(-math.log10(step))) + 1
        while len({f"{v:,.{d}f}" for v in values}) < len(set(values)) and d < 12:
            d += 1
        self.decimals = d

    def __call__(self, x: float, pos: int | None = None) -> str:
        text = f"{x:,.{self.decimals}f}"
        if "." in text:  # 0.10 -> 0.1: distinct ticks stay distinct
            text = text.rstrip("0").rstrip(".")
        return "0" if float(text.replace(",", "")) == 0 else text  # not "-0"


class PerStepLocator(MaxNLocator):
    """Ticks of a rate drawn as counts per step divided by the step (``width_s``): while a step holds only a few
    invocations, at whole invocations per step (one failure in a 5 s step is 0.2/s: ticks 0 and 0.2, none at 0.05/s,
    which would be a quarter of an invocation); else, or when one invocation per step is no short decimal (1/60 s),
    where matplotlib's default locator puts them."""

    def __init__(self, width_s: float) -> None:
        super().__init__(nbins="auto", steps=[1, 2, 2.5, 5, 10])  # matplotlib's AutoLocator
        self.width_s = width_s

    # matplotlib's stubs say Sequence[float]; its locators return arrays, as this one does (np.asarray: no copy).
    def tick_values(self, vmin: float, vmax: float) -> np.ndarray:  # type: ignore[override]
        w = self.width_s
        short = abs(1000 / w - round(1000 / w)) < 1e-9  # 1/w has at most three decimals: 0.2, 0.1, 0.025
        if not short or max(abs(vmin), abs(vmax)) * w > 10:
            return np.asarray(super().tick_values(vmin, vmax))
        self.set_params(integer=True)
        try:
            return np.asarray(super().tick_values(vmin * w, vmax * w)) / w
        finally:
            self.set_params(integer=False)


def thousands(ax: Axes, axis: str = "y") -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PlainFormatter())


def per_step_ticks(ax: Axes, widths_s: Sequence[float]) -> None:
    """Ticks at whole invocations per step on a per-second axis (when every run has the same step)."""
    if len(set(widths_s)) == 1:
        ax.yaxis.set_major_locator(PerStepLocator(widths_s[0]))


def short_number(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:,.1f}M"
    return f"{v:,.0f}"


def figure_title(fig: Figure | SubFigure, text: str, result: RunData | None = None, *,
                 sample_path: bool = False) -> None:
    """``Timeline — quickstart (legacy, seed 1)``. With replications, a figure of the time series says that it
    draws one replication (``sample_path``), any other that it draws the means."""
    if result is not None:
        s = result.summary
        text = f"{text} — {s['scenario']} ({s['platform']}, seed {s['seed']})" + replication_note(
            replications_of(s), sample_path)
    fig.suptitle(text, fontsize=13, fontweight="bold", x=0.01, ha="left")


def replication_note(n: int, sample_path: bool) -> str:
    """What a figure of ``n`` replications draws: one replication's time series (``sample_path``) or the means;
    nothing for a single run."""
    if n <= 1:
        return ""
    return f": replication 1 of {n}" if sample_path else f": means of {n} replications"


def scenario_events(sc: Scenario) -> tuple[list[tuple[float, float, str]], list[tuple[float, str, str]]]:
    """AZ outage spans ``(start, end, az)`` and address events ``(at, subnet, label)`` of a scenario."""
    spans, marks = [], []
    for ev in sc.events:
        if isinstance(ev, AzOutage):
            spans.append((ev.at, min(ev.at + ev.for_, sc.duration), ev.az))
        elif isinstance(ev, IpsTaken):
            marks.append((ev.at, ev.subnet, f"{ev.count} IPs taken ({ev.subnet})"))
        elif isinstance(ev, IpsReleased):
            marks.append((ev.at, ev.subnet, f"{ev.count} IPs released ({ev.subnet})"))
    return spans, marks


def shade_events(ax: Axes, sc: Scenario, div: float, *, label: bool, az: str | None = None,
           subnet_ids: Sequence[str] | None = None) -> None:
    """Warm-up, AZ outages (only ``az``'s when given) and address events (only ``subnet_ids``' when given)."""
    if sc.warmup > 0:
        ax.axvspan(0, sc.warmup / div, color=LIGHT, zorder=0, lw=0)
        if label:
            if sc.warmup / sc.duration >= 0.09:
                ax.text(sc.warmup / div / 2, 0.97, "warm-up\n(not counted)", transform=ax.get_xaxis_transform(),
                        ha="center", va="top", fontsize=7.5, color="#555555")
            else:  # a narrow band: write along it
                ax.text(sc.warmup / div / 2, 0.5, "warm-up", transform=ax.get_xaxis_transform(), rotation=90,
                        ha="center", va="center", fontsize=7.5, color="#555555")
    spans, marks = scenario_events(sc)
    for start, end, lost in spans:
        if az is not None and lost != az:
            continue
        ax.axvspan(start / div, end / div, facecolor="#F4F4F4", edgecolor="#C4C4C4", hatch="\\", lw=0, zorder=0)
        if label:
            ax.text((start + end) / 2 / div, 0.97, f"{lost} down", transform=ax.get_xaxis_transform(),
                    ha="center", va="top", fontsize=8, color="#303030",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    for at, sid, text in marks:
        if subnet_ids is not None and sid not in subnet_ids:
            continue
        ax.axvline(at / div, color="#303030", lw=1, ls=(0, (1, 1.5)), zorder=1)
        if label:
            ax.text(at / div, 0.03, " " + text, transform=ax.get_xaxis_transform(), rotation=90, ha="right",
                    va="bottom", fontsize=7.5, color="#303030")


def vpc_slots(sc: Scenario) -> int | None:
    """Environments per ENI when every function is in the VPC with the same value; else None (no single ceiling
    in executions exists for the total)."""
    from ..engine.platforms import platform_of

    if not all(f.in_vpc for f in sc.functions):
        return None
    platform = platform_of(sc)
    slots = {platform.slots_per_eni(sc, f) for f in sc.functions}
    return slots.pop() if len(slots) == 1 else None


def concurrency_ceiling_of(sc: Scenario) -> tuple[int, str]:
    reserved = [f.reserved_concurrency for f in sc.functions if f.reserved_concurrency is not None]
    if len(reserved) == len(sc.functions):
        return sum(reserved), "reserved concurrency"
    # Every reservation, the shared pool and the provisioned concurrency set aside for unreserved functions.
    return sc.region.concurrency_limit, "account concurrency limit"


def without_brackets(label: str) -> str:
    """A ceiling's legend label, short: "ENI quota (350 - 20 in use) × envs/ENI" → "ENI quota × envs/ENI" (an
    execution count, not a number of ENIs)."""
    return re.sub(r" \([^)]*\)", "", label)


# Line styles of the latency percentiles (dashes tell them apart in greyscale).
QUANTILE_STYLE = (("p50", "-", OKABE_ITO["blue"]), ("p95", "--", OKABE_ITO["orange"]), ("p99", ":", OKABE_ITO["vermillion"]))
