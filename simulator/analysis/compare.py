"""Two runs side by side (SPEC §6 ``vpcsim compare``): the same seed, a table of key figures with their differences,
overlaid figures and a comparison report.

``compare(a, b)`` runs both scenarios with one seed, so that what differs is the change, not the dice (the random
streams are keyed by name, SPEC §3: a change to one part of a scenario leaves the others' draws alone). The
:class:`Comparison` it returns is what the CLI prints and what a notebook shows::

    cmp = compare(sc, sc.with_changes({"platform": "hyperplane"}))
    cmp.table()        # a DataFrame: metric, the two values, difference, relative change, which is better
    cmp.plot()         # overlaid figures
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..scenario.models import Scenario
from ..summary import (
    COUNT,
    OUTCOMES,
    RATE,
    TEXT,
    Summary,
    declaration,
    fmt_difference,
    fmt_table,
    get,
    key_metrics,
)
from .results import Result, simulate

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["Comparison", "compare", "metric_rows", "write_comparison"]

# Counts of invocations and their shares: a difference this many standard errors of the difference of two binomial
# proportions or smaller is noise (1.96: about 95%). One failure in 193,106 against none is 1 standard error.
_Z = 1.96
_SHARES = {"succeeded": COUNT, "failed": COUNT, "throttled": COUNT, "cold_starts": COUNT,
           "error_rate": RATE, "failure_rate": RATE, "throttle_rate": RATE, "cold_start_rate": RATE}
# Latency percentiles are read from a histogram with buckets 1% wide (simulator.engine.histogram): a smaller difference is
# below its resolution.
_LATENCY_RESOLUTION = 0.01


def _interval(summary: Summary, path: str) -> tuple[float, float] | None:
    m = ((summary.get("replications") or {}).get("metrics") or {}).get(path) or {}
    low, high = m.get("ci_low"), m.get("ci_high")
    return (low, high) if low is not None and high is not None else None


def _within_noise(path: str, a: float, b: float, sa: Summary, sb: Summary) -> bool:
    """Whether the difference ``b - a`` of the metric at ``path`` is within the noise (see :func:`metric_rows`)."""
    ia, ib = _interval(sa, path), _interval(sb, path)
    if ia and ib:  # replications: the 95% intervals of the two means overlap
        return ia[0] <= ib[1] and ib[0] <= ia[1]
    share = _SHARES.get(path) or (COUNT if path.startswith("outcomes.") else None)
    if share:
        na, nb = sa.get("invocations") or 0, sb.get("invocations") or 0
        if not na or not nb:
            return False
        pa, pb = (a / na, b / nb) if share == COUNT else (a, b)
        pooled = (pa * na + pb * nb) / (na + nb)
        return abs(pb - pa) <= _Z * math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    if path.startswith(("latency_ms.", "cold_start_ms.")):
        return abs(b - a) < _LATENCY_RESOLUTION * max(abs(a), abs(b))
    return False


def _row(path: str, label: str, kind: str, better: str | None, a: Any, b: Any,
         sa: Summary | None = None, sb: Summary | None = None) -> dict[str, Any]:
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
    diff = b - a if numeric else None
    rel = diff / abs(a) if numeric and a else None
    verdict = None
    if numeric and better and diff:
        if sa is not None and sb is not None and _within_noise(path, a, b, sa, sb):
            verdict = "within noise"
        else:
            verdict = "better" if (diff < 0) == (better == "lower") else "worse"
    elif better and (a is None) != (b is None) and path.endswith(("first_failure_s", "exhausted_s")):
        # "never" (None) beats any time: a run that never failed or never ran out is the better one.
        verdict = "better" if b is None else "worse"
    elif kind == TEXT and a != b:
        verdict = "changed"
    return {"metric": path, "label": label, "kind": kind, "a": a, "b": b, "difference": diff, "relative": rel,
            "verdict": verdict}


def metric_rows(a: Summary, b: Summary) -> list[dict[str, Any]]:
    """Key figures of two summaries side by side: ``metric`` (the summary path), ``label``, ``a``, ``b``,
    ``difference`` (b - a), ``relative`` ((b - a) / |a|), ``verdict``: ``better`` or ``worse``, ``within noise`` (a
    difference within the noise), ``changed`` (a text) or None (equal, or no direction).

    Within the noise: with replications on both sides, the two 95% intervals overlap; else, for counts and shares of
    invocations, the difference is within 1.96 standard errors of the difference of two binomial proportions (about
    95%); for latency percentiles, under 1% (the resolution of the latency histogram). The first failure is noise
    when the number of failures is. Peaks, free addresses, times, ceilings and cost are exact for the seed."""
    rows = [_row(p, m.label, m.kind, m.better, get(a, p), get(b, p), a, b) for p, m in key_metrics(a)]
    for cause in OUTCOMES[1:]:
        va, vb = get(a, f"outcomes.{cause}") or 0, get(b, f"outcomes.{cause}") or 0
        if va or vb:
            rows.append(_row(f"outcomes.{cause}", f"outcome {cause}", COUNT, "lower", va, vb, a, b))
    by_path = {r["metric"]: r for r in rows}
    if by_path["failed"]["verdict"] == "within noise" and by_path["first_failure_s"]["verdict"] in ("better", "worse"):
        by_path["first_failure_s"]["verdict"] = "within noise"  # a failure or two more or fewer: when the first came is noise
    for sid in dict.fromkeys([*(a.get("subnets") or {}), *(b.get("subnets") or {})]):
        for leaf in ("min_free_ips", "exhausted_s"):
            p = f"subnets.{sid}.{leaf}"
            m = declaration([], [sid])["subnets"][sid][leaf]
            rows.append(_row(p, m.label, m.kind, m.better, get(a, p), get(b, p), a, b))
    fa, fb = get(a, "capacity.functions") or {}, get(b, "capacity.functions") or {}
    for name in dict.fromkeys([*fa, *fb]):
        ca, cb = fa.get(name), fb.get(name)
        rows.append(_row(f"capacity.functions.{name}.binding", f"{name}: binding limit", TEXT, None,
                         ca and ca["binding"], cb and cb["binding"]))
        rows.append(_row(f"capacity.functions.{name}.ceilings[binding]", f"{name}: binding ceiling", COUNT, "higher",
                         ca and ca["ceilings"][ca["binding"]], cb and cb["ceilings"][cb["binding"]]))
        rows.append(_row(f"capacity.functions.{name}.ceilings.n_minus_1", f"{name}: N-1 ceiling", COUNT, "higher",
                         ca and ca["ceilings"]["n_minus_1"], cb and cb["ceilings"]["n_minus_1"]))
    return rows


@dataclass
class Comparison:
    """Two runs of one seed. ``labels`` name them (A first); ``changes`` is what was set on B, when known."""

    labels: tuple[str, str]
    a: Result
    b: Result
    seed: int
    changes: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        return metric_rows(self.a.summary, self.b.summary)

    def table(self) -> pd.DataFrame:
        """The key figures side by side, one row per metric, the two runs' labels as column names."""
        df = pd.DataFrame(self.rows())
        return df.rename(columns={"a": self.labels[0], "b": self.labels[1]}).set_index("metric")

    def to_dict(self) -> dict[str, Any]:
        """What ``vpcsim compare --json`` prints: the seed, the labels, the rows and both summaries."""
        return {"seed": self.seed, "labels": list(self.labels), "changes": self.changes, "rows": self.rows(),
                "a": self.a.summary, "b": self.b.summary}

    def results(self) -> dict[str, Result]:
        return {self.labels[0]: self.a, self.labels[1]: self.b}

    def figures(self) -> dict[str, Figure]:
        """The overlaid timeline, network and latency figures and each run's capacity chart, by file stem."""
        from ..present import compare_figures, plots

        runs = self.results()
        figs = {"timeline": compare_figures.compare_timeline(runs), "network": compare_figures.compare_network(runs),
                "latency": compare_figures.compare_latency(runs)}
        for key, (label, r) in zip(("capacity_a", "capacity_b"), runs.items(), strict=True):
            figs[key] = plots.capacity_chart(r, label=label, same_scale_as=list(runs.values()))  # one scale for both
        return figs

    def images(self) -> dict[str, bytes]:
        from ..present.plots import png_bytes

        return {stem: png_bytes(fig) for stem, fig in self.figures().items()}

    def plot(self) -> Figure:
        """One figure: the overlaid timeline above the overlaid network and latency."""
        from matplotlib.figure import Figure, SubFigure

        from ..present import compare_figures

        runs = self.results()
        fig = Figure(figsize=(18, 12), layout="constrained")
        rows = fig.subfigures(2, 1, height_ratios=[1.5, 1])
        assert not isinstance(rows, SubFigure)  # 2 x 1: an array (matplotlib's stubs allow a single SubFigure)
        top, bottom = rows
        compare_figures.compare_timeline(runs, fig=top)
        left, right = bottom.subfigures(1, 2)
        compare_figures.compare_network(runs, fig=left)
        compare_figures.compare_latency(runs, fig=right)
        return fig

    def _repr_html_(self) -> str:  # a readable table when a notebook cell ends with a Comparison
        df = pd.DataFrame([{"metric": r["label"], self.labels[0]: fmt_table(r["a"], r["kind"]),
                            self.labels[1]: fmt_table(r["b"], r["kind"]),
                            "difference": fmt_difference(r["difference"], r["kind"]),
                            "": r["verdict"] or ""} for r in self.rows()])
        return df.to_html(index=False)


def _labels(a: Scenario, b: Scenario, labels: Sequence[str] | None, changes: Mapping[str, Any]) -> tuple[str, str]:
    if labels is not None:
        if (isinstance(labels, str) or not isinstance(labels, Sequence) or len(labels) != 2
                or not all(isinstance(x, str) and x for x in labels) or labels[0] == labels[1]):
            from ..errors import ArgumentError

            raise ArgumentError(f"compare(): labels must be two different names such as ('before', 'after'), got "
                                f"{labels!r}")
        return labels[0], labels[1]
    if changes:
        return a.name, ", ".join(f"{k}={v}" for k, v in changes.items())
    if a.name != b.name:
        return a.name, b.name
    sa, sb = (Path(s.source).stem if s.source else None for s in (a, b))
    if sa and sb and sa != sb:
        return sa, sb
    return "A", "B"


def compare(a: Scenario, b: Scenario | Mapping[str, Any], *, seed: int | None = None,
            labels: Sequence[str] | None = None, record_invocations: bool = False) -> Comparison:
    """Run ``a`` and ``b`` with the same seed (``seed``, else ``a``'s) and return the :class:`Comparison`.

    ``b`` is a scenario or a mapping of changes to ``a`` (the ``--set`` paths: ``{"platform": "hyperplane"}``).
    """
    from ..errors import ArgumentError, require_bool, require_int, require_mapping
    from ..scenario.models import require_scenario
    from ..scenario.sections import MAX_SEED

    require_scenario(a, "compare", "a")
    seed = require_int(seed, "compare", "seed", maximum=MAX_SEED, allow_none=True)
    require_bool(record_invocations, "compare", "record_invocations")
    changes: dict[str, Any] = {}
    if isinstance(b, Mapping):
        changes = dict(require_mapping(b, "compare", "b", '{"platform": "hyperplane"}'))
        if "seed" in changes:  # both run with one seed: a change of seed alone would compare two identical runs
            raise ArgumentError(f"compare(): both runs use one seed (the difference is the change, not the dice), so a "
                                f"change of 'seed' has no effect; give compare(..., seed={changes['seed']!r}) to run "
                                f"both with it, or vs.run_replications to see the spread between seeds")
        b = a.with_changes(changes)
    elif not isinstance(b, Scenario):
        raise ArgumentError(f"compare(): b must be a Scenario or a mapping of changes such as "
                            f"{{\"platform\": \"hyperplane\"}}, got {type(b).__name__} {b!r}")
    run_seed = a.seed if seed is None else seed
    pair = _labels(a, b, labels, changes)
    ra = simulate(a, seed=run_seed, record_invocations=record_invocations)
    rb = simulate(b, seed=run_seed, record_invocations=record_invocations)
    return Comparison(pair, ra, rb, run_seed, changes)


def write_comparison(cmp: Comparison, out_dir: str | Path) -> Path:
    """Write a comparison folder, whole or not at all: ``comparison.json``, ``report.html`` (self-contained),
    ``figures/*.png``, and each run's results folder (``a/``, ``b/``, as ``vpcsim run --out`` writes them)."""
    from ..present.folders import atomic_dir, to_json
    from ..present.report import render_comparison
    from .results_folder import write_run

    with atomic_dir(out_dir) as tmp:
        write_run(cmp.a, tmp / "a")
        write_run(cmp.b, tmp / "b")
        images = cmp.images()
        (tmp / "figures").mkdir()
        for stem, png in images.items():
            (tmp / "figures" / f"{stem}.png").write_bytes(png)
        (tmp / "comparison.json").write_text(to_json(cmp.to_dict()), encoding="utf-8")
        (tmp / "report.html").write_text(render_comparison(cmp, images), encoding="utf-8")
    return Path(out_dir)
