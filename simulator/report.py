"""The self-contained HTML report of a run (SPEC §6 ``run --out DIR``, ``vpcsim report DIR``) and of a comparison.

The report puts the verdict first (does it fit; if not, what fails first, when, and at what load), then the tables an
architect pastes into a design review (key figures, outcomes, latency, subnets, ceilings, lint, expectations), the
figures of :mod:`simulator.plots` embedded as base64 PNG (the file needs no network and no other file), and the
resolved scenario that reproduces the run. HTML comes from the Jinja2 templates in ``simulator/templates`` with
autoescaping on: names and descriptions from a scenario file are text, never markup.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from . import __version__
from .metrics import FAILURES, LAMBDA_ERRORS, OUTCOMES, THROTTLES
from .units import format_duration

if TYPE_CHECKING:  # pragma: no cover
    from .compare import Comparison
    from .results import Result

__all__ = [
    "LAMBDA_ERRORS", "FIGURES", "ResultsFolderError", "verdict", "render_report", "write_report_files",
    "load_results", "rebuild_report", "render_comparison",
]

# The report's figures: file stem → (title, what to look for).
FIGURES = {
    "timeline": ("Timeline", "Arrivals, then concurrent executions and environments against the ceilings (account "
                             "concurrency, subnet addresses × environments per ENI, ENI quota), then failed and "
                             "throttled invocations per second by cause. Shaded: warm-up (grey), AZ outages "
                             "(hatched); dotted lines: addresses taken or released by other workloads."),
    "network": ("Network", "Lambda's ENIs (ready, attaching: cold starts wait for these; deleting: the address is "
                           "still held), then the free addresses of each subnet, one panel per Availability Zone, "
                           "with the moment each subnet ran out marked and the time without a free address shaded."),
    "latency": ("Latency", "End-to-end latency of successful invocations (ENI wait + init + duration) and cold-start "
                           "time (ENI wait + init), with p50, p95 and p99."),
    "capacity": ("Capacity", "The closed-form ceilings of each function (SPEC §5): the concurrency each limit allows, "
                             "the binding one highlighted, the projected peak (Little's law) and the simulated peak "
                             "as lines, and the ceiling with the function's largest AZ lost (N-1)."),
}

_RESULT_FILES = ("summary.json", "timeseries.csv", "scenario.yaml")


class ResultsFolderError(ValueError):
    """A results folder that cannot be read (missing, incomplete or damaged): one line naming the file."""


# --------------------------------------------------------------------------------------------------- formatting


def fmt_num(v: Any, digits: int = 0) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isinf(v):
            return "∞"
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def fmt_pct(v: float | None) -> str:
    if v is None:
        return "–"
    if v == 0:
        return "0%"
    sign, v = ("-" if v < 0 else ""), abs(v)
    if v < 0.00001:  # would print as 0.000%: it is not zero
        return f"{sign}<0.001%"
    return sign + (f"{v:.3%}" if v < 0.001 else f"{v:.2%}")


def fmt_ms(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def fmt_clock(t: float | None) -> str:
    """A time in the run: ``11m5s``, ``42.5s``; whole seconds from a minute on."""
    if t is None:
        return "–"
    if isinstance(t, float) and math.isinf(t):
        return "never"
    return format_duration(round(t) if t >= 60 else round(t, 1))


def fmt_count(v: float | None) -> str:
    """A count, or the mean of counts across replications: ``1,234``, ``24.8``."""
    if v is None:
        return "–"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}"
    return f"{int(v):,}"


def fmt_expectation_value(row: Mapping[str, Any]) -> str:
    """An expectation's measured value in its metric's unit, as the command line shows it: ``0.07241 (7.24%)``,
    ``150 ms``, ``6m41s``, ``never``; with replications, the mean and its 95% interval."""
    from .expectations import format_value

    kind = row.get("kind", "number")
    text = format_value(row.get("value"), kind)
    if row.get("ci"):
        text += f" ({format_value(row['ci'][0], kind)} .. {format_value(row['ci'][1], kind)})"
    return text


def fmt_rate(per_s: float | None) -> str:
    if per_s is None:
        return "–"
    return f"{per_s:,.0f}/s" if per_s >= 10 else f"{per_s:,.1f}/s"


# --------------------------------------------------------------------------------------------------- verdict


def _load_at(timeseries: pd.DataFrame | None, t: float, step_s: float) -> dict[str, float] | None:
    """Arrival rate, concurrent executions and environments in the timestep holding ``t``."""
    if timeseries is None or not len(timeseries):
        return None
    k = min(max(int(t // step_s), 0), len(timeseries) - 1)
    row = timeseries.iloc[k]
    return {
        "arrivals_per_s": float(row["arrivals"]) / step_s,
        "concurrency": int(row["concurrency_max"]),
        "environments": int(row["environments_busy"] + row["environments_idle"]),
    }


def verdict(summary: Mapping[str, Any], timeseries: pd.DataFrame | None = None,
            timestep_s: float | None = None) -> dict[str, Any]:
    """Does the scenario fit, and if not, what fails first, when and at what load.

    Returns ``{"fits": bool, "headline": str, "details": [str], "causes": [row]}``; each cause row has ``cause,
    count, share, first_s, load`` (``load``: arrivals per second, concurrent executions and environments in the
    timestep of the first occurrence, when the time series is given) and ``lambda_error``.
    """
    inv = summary["invocations"] or 0
    outcomes = summary["outcomes"]
    first = summary.get("first_outcome_s") or {}
    # With replications every number is a mean, and the time series is replication 0's: the load "then" would
    # pair one replication's traffic with another's time, so it is left out, and the headline says "means".
    reps = (summary.get("replications") or {}).get("n")
    if reps:
        timeseries = None
    mean_of = f" (means of {reps} replications)" if reps else ""
    on_average = " on average" if reps else ""
    step = timestep_s or (float(timeseries["t_s"].iloc[1] - timeseries["t_s"].iloc[0])
                          if timeseries is not None and len(timeseries) > 1 else 1.0)
    causes = []
    for cause in OUTCOMES:
        n = outcomes.get(cause, 0)
        if cause == "success" or not n:
            continue
        t = first.get(cause)
        causes.append({
            "cause": cause, "count": n, "share": n / inv if inv else None, "first_s": t,
            "kind": "throttle" if cause in THROTTLES else "failure",
            "load": _load_at(timeseries, t, step) if t is not None else None,
            "lambda_error": LAMBDA_ERRORS[cause],
        })
    causes.sort(key=lambda c: (c["first_s"] is None, c["first_s"] or 0.0))
    details: list[str] = []
    exps = summary.get("expectations") or []
    failed_exps = [e for e in exps if not e["passed"]]
    if not inv:
        headline, fits = "No invocations were counted (check the arrivals and the warm-up).", False
    elif not causes:
        fits = True
        headline = f"Fits: all {fmt_count(inv)} invocations succeeded{mean_of}."
    else:
        fits = False
        bad = summary["failed"] + summary["throttled"]
        # Lead with the cause that costs most; the details list every cause in the order they began.
        c = max(causes, key=lambda row: row["count"])
        mostly = "all" if c["count"] == bad else "mostly"
        at = f", first at {fmt_clock(c['first_s'])}{on_average}" if c["first_s"] is not None else ""
        load = c["load"]
        under = (f" with {fmt_rate(load['arrivals_per_s'])} arriving and {load['concurrency']:,} executions in "
                 f"flight" if load else "")
        headline = (f"Does not fit{mean_of}: {fmt_count(bad)} of {fmt_count(inv)} invocations "
                    f"({fmt_pct(summary['error_rate'])}) failed or were throttled, {mostly} {c['cause']} "
                    f"({fmt_count(c['count'])}){at}{under}.")
        for c in causes:
            when = f", first at {fmt_clock(c['first_s'])}{on_average}" if c["first_s"] is not None else ""
            err = f" ({c['lambda_error']})" if c["lambda_error"] else ""
            details.append(f"{c['cause']}{err}: {fmt_count(c['count'])} invocations ({fmt_pct(c['share'])}){when}.")
    cap = summary.get("capacity") or {}
    for name, f in (cap.get("functions") or {}).items():
        ceilings = f["ceilings"]
        bind = f["binding"]
        ceiling = ceilings[bind]
        peak = f["projected_peak"]
        sim = (summary.get("functions") or {}).get(name, {}).get("peak_concurrency")
        seen = (f"; the run{'s' if reps else ''} peaked at {fmt_count(sim)}{on_average}" if sim is not None
                else "")
        if peak > ceiling:
            details.append(f"{name}: the projected peak of {peak:,} concurrent executions is above its {bind} "
                           f"ceiling of {ceiling:,}{seen}.")
        else:
            n1 = ceilings.get("n_minus_1")
            n1_text = ""
            if n1 is not None and n1 < peak:
                n1_text = f" Without its largest AZ (N-1) it reaches only {n1:,}."
            elif n1 is not None:
                n1_text = f" N-1 (largest AZ lost): {n1:,}, enough."
            details.append(f"{name}: projected peak {peak:,} of a {bind} ceiling of {ceiling:,} "
                           f"({peak / ceiling:.0%} used){seen}.{n1_text}" if ceiling else
                           f"{name}: its {bind} ceiling is 0.")
    for sid, sub in (summary.get("subnets") or {}).items():
        if sub.get("exhausted_s") is not None:
            details.append(f"Subnet {sid} ({sub['az']}) ran out of addresses at {fmt_clock(sub['exhausted_s'])} and "
                           f"had none free for {fmt_clock(sub.get('exhausted_for_s'))} in all.")
    if failed_exps:
        details.append(f"{len(failed_exps)} of {len(exps)} expectations failed: "
                       + "; ".join(f"{e['path']} {e['condition']} (got {fmt_expectation_value(e)})"
                                   for e in failed_exps) + ".")
    return {"fits": fits, "headline": headline, "details": details, "causes": causes,
            "expectations_failed": len(failed_exps)}


# --------------------------------------------------------------------------------------------------- rendering


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("simulator", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=fmt_num, pct=fmt_pct, ms=fmt_ms, clock=fmt_clock, rate=fmt_rate,
                       expectation_value=fmt_expectation_value)
    return env


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def draw_figures(result: Result) -> dict[str, bytes]:
    """The report's figures as PNG bytes by file stem."""
    from . import plots

    images = {}
    for stem, fig in plots.figures(result).items():
        images[stem] = plots.png_bytes(fig)
    return images


def _key_figures(s: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        ("invocations (after warm-up)", fmt_num(s["invocations"])),
        ("attempts (with retries)", fmt_num(s["attempts"])),
        ("succeeded", fmt_num(s["succeeded"])),
        ("failed", f"{fmt_num(s['failed'])} ({fmt_pct(s['failure_rate'])})"),
        ("throttled", f"{fmt_num(s['throttled'])} ({fmt_pct(s['throttle_rate'])})"),
        ("first failure (not a throttle)", fmt_clock(s["first_failure_s"]) if s["first_failure_s"] is not None
         else "none"),
        ("cold starts", f"{fmt_num(s['cold_starts'])} ({fmt_pct(s['cold_start_rate'])} of executions)"),
        ("concurrent executions", f"mean {fmt_num(s['mean_concurrency'], 1)}, peak {fmt_num(s['peak_concurrency'])}"),
        ("environments", f"mean {fmt_num(s['mean_environments'], 1)}, peak {fmt_num(s['peak_environments'])}"),
        ("peak Lambda ENIs", fmt_num(s["peak_enis"])),
    ]


def _subnet_rows(result: Result) -> list[dict[str, Any]]:
    rows = []
    for sid, v in result.summary["subnets"].items():
        try:
            spec = result.scenario.subnet(sid)
            cidr, others = str(spec.cidr), spec.ips_in_use
        except KeyError:
            cidr, others = "", None
        rows.append({"id": sid, "az": v["az"], "cidr": cidr, "usable": v["usable_ips"], "others": others,
                     "peak_used": v["peak_ips_used"], "min_free": v["min_free_ips"], "exhausted_s": v["exhausted_s"],
                     "exhausted_for_s": v.get("exhausted_for_s"),
                     "tight": v["min_free_ips"] is not None and v["usable_ips"]
                     and v["min_free_ips"] < 0.1 * v["usable_ips"]})
    return rows


def _ceiling_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, f in summary["capacity"]["functions"].items():
        c = f["ceilings"]
        run = summary["functions"].get(name, {})
        rows.append({"name": name, "memory_mb": f["memory_mb"], "slots": f["slots_per_eni"],
                     "projected": f["projected_peak"], "simulated": run.get("peak_concurrency"),
                     "enis_formula": f["enis_formula"], "enis_packed": f["enis_packed"],
                     "concurrency": c["concurrency"], "subnet_ips": c["subnet_ips"], "eni_quota": c["eni_quota"],
                     "n_minus_1": c["n_minus_1"], "scaling_s": c["scaling_s"], "binding": f["binding"],
                     "fits": f["projected_peak"] <= c[f["binding"]],
                     "n1_fits": c["n_minus_1"] is None or f["projected_peak"] <= c["n_minus_1"]})
    return rows


def _function_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, **f} for name, f in summary["functions"].items()]


def report_context(result: Result, images: Mapping[str, bytes], scenario_yaml: str | None = None) -> dict[str, Any]:
    """Everything the report template shows (plain data; the template only lays it out)."""
    s = result.summary
    sc = result.scenario
    v = verdict(s, result.timeseries, sc.timestep)
    outcome_rows = []
    inv = s["invocations"] or 0
    for cause in OUTCOMES:
        n = s["outcomes"][cause]
        if not n and cause != "success":
            continue
        cause_row = next((c for c in v["causes"] if c["cause"] == cause), None)
        outcome_rows.append({"cause": cause, "count": n, "share": n / inv if inv else None,
                             "first_s": s["first_outcome_s"].get(cause),
                             "load": cause_row["load"] if cause_row else None,
                             "kind": "success" if cause == "success" else
                             ("throttle" if cause in THROTTLES else "failure"),
                             "lambda_error": LAMBDA_ERRORS[cause]})
    return {
        "title": f"vpcsim report: {s['scenario']}",
        "version": __version__,
        "s": s,
        "scenario": sc,
        "simulated": format_duration(s["simulated_s"]),
        "warmup": format_duration(sc.warmup) if sc.warmup else None,
        "timestep": format_duration(sc.timestep),
        "verdict": v,
        "key_figures": _key_figures(s),
        "outcomes": outcome_rows,
        "latency": [("end to end (successful invocations)", s["latency_ms"]),
                    ("cold start (ENI wait + init)", s["cold_start_ms"])],
        "functions": _function_rows(s) if len(s["functions"]) > 1 else [],
        "subnets": _subnet_rows(result),
        "ceilings": _ceiling_rows(s),
        "capacity_total": s["capacity"]["total"],
        "lint": s["capacity"]["lint"],
        "expectations": s.get("expectations") or [],
        "figures": [{"stem": stem, "title": FIGURES.get(stem, (stem, ""))[0],
                     "caption": FIGURES.get(stem, ("", ""))[1], "data": _b64(png)} for stem, png in images.items()],
        "scenario_yaml": scenario_yaml if scenario_yaml is not None else _resolved_yaml(result),
        "failures": FAILURES,
    }


def _resolved_yaml(result: Result) -> str:
    return result.scenario.with_changes({"seed": result.summary["seed"]}).to_yaml()


def render_report(result: Result, images: Mapping[str, bytes] | None = None,
                  scenario_yaml: str | None = None) -> str:
    """The report of one run as one self-contained HTML page. ``images`` (PNG bytes by figure stem) are drawn
    when not given."""
    if images is None:
        images = draw_figures(result)
    return _env().get_template("report.html").render(**report_context(result, images, scenario_yaml))


def write_report_files(result: Result, folder: str | Path, scenario_yaml: str | None = None) -> None:
    """Write ``figures/*.png`` and ``report.html`` into ``folder`` (``write_run`` calls this inside its temporary
    folder, so the results folder is still written whole or not at all)."""
    folder = Path(folder)
    images = draw_figures(result)
    (folder / "figures").mkdir(exist_ok=True)
    for stem, png in images.items():
        (folder / "figures" / f"{stem}.png").write_bytes(png)
    (folder / "report.html").write_text(render_report(result, images, scenario_yaml), encoding="utf-8")


# --------------------------------------------------------------------------------------------------- results folder


def load_results(folder: str | Path) -> Result:
    """Read a results folder written by ``vpcsim run --out`` back into a :class:`Result`.

    Raises :class:`ResultsFolderError` (one line naming the file) when the folder is missing or incomplete, and
    :class:`~simulator.scenario.ScenarioError` when its ``scenario.yaml`` is not a valid scenario.
    """
    from .inputs import InputFileError
    from .results import SUMMARY_KEYS, Result
    from .scenario import load_scenario

    folder = Path(folder)
    if not folder.exists():
        raise ResultsFolderError(f"{folder}: no such folder (write one with: vpcsim run SCENARIO --out {folder})")
    if not folder.is_dir():
        raise ResultsFolderError(f"{folder}: not a folder; give the results folder that `vpcsim run --out` wrote")
    # exists(), not is_file(): a FIFO or device in a file's place is refused by name below, not called missing.
    missing = [name for name in _RESULT_FILES if not (folder / name).exists()]
    if missing:
        raise ResultsFolderError(f"{folder}: not a results folder: {', '.join(missing)} missing (write one with: "
                                 f"vpcsim run SCENARIO --out {folder})")
    path = folder / "summary.json"
    try:
        summary = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ResultsFolderError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except InputFileError as exc:
        raise ResultsFolderError(str(exc)) from None
    if not isinstance(summary, dict):
        raise ResultsFolderError(f"{path}: not a vpcsim summary (expected a JSON object)")
    absent = [k for k in SUMMARY_KEYS if k not in summary]
    if absent:
        raise ResultsFolderError(f"{path}: not a vpcsim summary: missing {', '.join(absent[:5])}"
                                 + (" ..." if len(absent) > 5 else ""))
    scenario = load_scenario(folder / "scenario.yaml")
    path = folder / "timeseries.csv"
    try:
        ts = _read_csv(path)
    except InputFileError as exc:
        raise ResultsFolderError(str(exc)) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ResultsFolderError(f"{path}: cannot read: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    needed = ["t_s", "arrivals", *OUTCOMES, "concurrency_max", "environments_busy", "environments_idle",
              "enis_ready", "enis_attaching", "enis_deleting"]
    lacking = [c for c in needed if c not in ts.columns]
    if lacking:
        raise ResultsFolderError(f"{path}: not a vpcsim time series: missing column {', '.join(lacking[:5])}")
    invocations = None
    if (folder / "invocations.csv").exists():
        try:
            invocations = _read_csv(folder / "invocations.csv")
            invocations["cold"] = invocations["cold"].astype(bool)
        except InputFileError as exc:
            raise ResultsFolderError(str(exc)) from None
        except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
            raise ResultsFolderError(f"{folder / 'invocations.csv'}: cannot read: {exc}") from None
    distribution = None
    if (folder / "latency.csv").exists():
        try:
            distribution = _read_csv(folder / "latency.csv")
            if list(distribution.columns) != ["kind", "low_ms", "high_ms", "count"]:
                raise ValueError(f"columns must be kind, low_ms, high_ms, count (got {', '.join(distribution.columns)})")
        except InputFileError as exc:
            raise ResultsFolderError(str(exc)) from None
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise ResultsFolderError(f"{folder / 'latency.csv'}: cannot read: {exc}") from None
    return Result(scenario, summary, ts, invocations, distribution)


def _read_text(path: Path) -> str:
    """A results file's text: a regular file of bounded size (simulator.inputs), not a FIFO put in its place."""
    from .inputs import MAX_RESULTS_BYTES, read_text_file

    return read_text_file(path, what="a results file", limit_bytes=MAX_RESULTS_BYTES)


def _read_csv(path: Path) -> pd.DataFrame:
    from .inputs import MAX_RESULTS_BYTES, open_regular_file

    with open_regular_file(path, what="a results file", limit_bytes=MAX_RESULTS_BYTES) as fh:
        return pd.read_csv(fh)


def rebuild_report(folder: str | Path, html: str | Path | None = None) -> Path:
    """Rebuild ``report.html`` (and ``figures/*.png``) of a results folder; with ``html``, write only that file.
    Each file is replaced whole or left as it was. Returns the HTML path."""
    from .output import atomic_dir, atomic_file

    folder = Path(folder)
    result = load_results(folder)
    from .inputs import InputFileError

    try:
        yaml_text = _read_text(folder / "scenario.yaml")
    except InputFileError as exc:
        raise ResultsFolderError(str(exc)) from None
    images = draw_figures(result)
    page = render_report(result, images, yaml_text)
    target = Path(html) if html is not None else folder / "report.html"
    if html is None:
        with atomic_dir(folder / "figures") as tmp:
            for stem, png in images.items():
                (tmp / f"{stem}.png").write_bytes(png)
    with atomic_file(target) as fh:
        fh.write(page)
    return target


# --------------------------------------------------------------------------------------------------- comparison


def render_comparison(cmp: Comparison, images: Mapping[str, bytes] | None = None) -> str:
    """The comparison of two runs as one self-contained HTML page."""
    if images is None:
        images = cmp.images()
    a, b = cmp.a, cmp.b
    captions = {
        "timeline": ("Timeline, overlaid", "Arrivals, concurrent executions (thick) and environments (thin), and "
                                           "failed or throttled invocations per second of both runs."),
        "network": ("Network, overlaid", "Lambda ENIs and the free addresses of all subnets of both runs."),
        "latency": ("Latency percentiles", "p50, p95 and p99 of end-to-end latency and of cold starts."),
        "capacity_a": (f"Capacity: {cmp.labels[0]}", FIGURES["capacity"][1]),
        "capacity_b": (f"Capacity: {cmp.labels[1]}", FIGURES["capacity"][1]),
    }
    ctx = {
        "title": f"vpcsim comparison: {cmp.labels[0]} vs {cmp.labels[1]}",
        "version": __version__,
        "labels": cmp.labels,
        "seed": cmp.seed,
        "runs": [{"label": label, "s": r.summary, "verdict": verdict(r.summary, r.timeseries, r.scenario.timestep),
                  "yaml": _resolved_yaml(r)} for label, r in ((cmp.labels[0], a), (cmp.labels[1], b))],
        "rows": cmp.rows(),
        "changes": cmp.changes,
        "figures": [{"stem": stem, "title": captions.get(stem, (stem, ""))[0],
                     "caption": captions.get(stem, ("", ""))[1], "data": _b64(png)} for stem, png in images.items()],
    }
    return _env().get_template("compare.html").render(**ctx)
