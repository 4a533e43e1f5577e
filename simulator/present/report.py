"""The self-contained HTML report of a run (SPEC §6 ``run --out DIR``, ``vpcsim report DIR``) and of a comparison.

The report puts the verdict first (does it fit; if not, what fails first, when, and at what load), then the tables an
architect pastes into a design review (key figures, outcomes, latency, subnets, ceilings, lint, expectations), the
figures of :mod:`simulator.present.plots` embedded as base64 PNG (the file needs no network and no other file), and the
resolved scenario that reproduces the run. HTML comes from the Jinja2 templates in ``simulator/templates`` with
autoescaping on: names and descriptions from a scenario file are text, never markup.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..summary import (
    FAILURES,
    LAMBDA_ERRORS,
    MAX_FUNCTION_ROWS,
    OUTCOMES,
    THROTTLES,
    Summary,
    attention_order,
    fmt_clock,
    fmt_count,
    fmt_difference,
    fmt_ms,
    fmt_num,
    fmt_pct,
    fmt_rate,
    fmt_table,
    projected_peak,
    prose_count,
    replications_of,
)
from ..units import format_duration
from ..version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario.models import Scenario
    from .shapes import ComparisonData, RunData

__all__ = [
    "LAMBDA_ERRORS", "FIGURES", "verdict", "first_problem", "event_rows", "render_report", "write_report_files",
    "render_comparison",
]

# The report's figures: file stem → (title, what to look for).
FIGURES = {
    "timeline": ("Timeline", "Arrivals, then concurrent executions and environments against the ceilings (account "
                             "concurrency, subnet addresses × environments per ENI, ENI quota), then failed and "
                             "throttled invocations per second by cause (a cause too rare to see marked ▲). "
                             "Shaded: warm-up (grey), AZ outages (hatched); thin dotted vertical lines: addresses "
                             "taken or released by other workloads."),
    "network": ("Network", "Lambda's ENIs (ready, attaching: cold starts wait for these; deleting: the address is "
                           "still held), then the free addresses of each subnet, one panel per Availability Zone, "
                           "with the moment each subnet ran out marked and the time without a free address shaded."),
    "latency": ("Latency", "End-to-end latency of successful invocations (ENI wait + init + duration) and cold-start "
                           "time (ENI wait + init), with p50, p95 and p99."),
    "capacity": ("Capacity", "The closed-form ceilings of each function (SPEC §5): the concurrency each limit allows, "
                             "the binding one highlighted, the projected peak (p99.9 of the run's peak; thin grey "
                             "dashes: the mean in service, Little's law) and the simulated peak as lines, and the "
                             "ceiling with the function's largest AZ lost (N-1)."),
}

# What "within noise" means in a comparison (simulator.analysis.compare.metric_rows), for the table's readers.
NOISE_NOTE = ("within noise: B differs from A by less than the run-to-run noise: for counts and shares of invocations, "
              "less than 1.96 standard errors of the difference of two binomial proportions (95%); for latency "
              "percentiles, less than 1% (the latency histogram's resolution); with replications, where the two 95% "
              "intervals overlap.")

# --------------------------------------------------------------------------------------------------- formatting


def fmt_expectation_value(row: Mapping[str, Any]) -> str:
    """An expectation's measured value in its metric's unit, as the command line and the reports show it:
    ``0.07241 (7.24%)``, ``150 ms``, ``6m41s``, ``never``; with replications, the mean and its 95% interval:
    ``0.0002157 (0.0216%), 95% interval 0 .. 0.0005639 (0.0564%)`` (a rate already carries parentheses: an
    interval in parentheses would nest them)."""
    from ..summary import format_value

    kind = row.get("kind", "number")
    text = format_value(row.get("value"), kind)
    if row.get("ci"):
        text += f", 95% interval {format_value(row['ci'][0], kind)} .. {format_value(row['ci'][1], kind)}"
    return text


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


def first_problem(summary: Summary) -> tuple[str, float] | None:
    """The first failure or throttle of any cause: ``(cause, time)``, the earliest of ``first_outcome_s``; None when
    every invocation succeeded. (``first_failure_s`` is the first failure that is not a throttle.)"""
    times = [(t, cause) for cause, t in (summary.get("first_outcome_s") or {}).items()
             if cause != "success" and t is not None]
    if not times:
        return None
    t, cause = min(times)
    return cause, t


def _expectation_list(rows: list[Mapping[str, Any]]) -> str:
    return "; ".join(f"{e['path']} {e['condition']}, got {fmt_expectation_value(e)}" for e in rows)


def verdict(summary: Summary, timeseries: pd.DataFrame | None = None,
            timestep_s: float | None = None) -> dict[str, Any]:
    """The run's verdict, one definition for the command line and the reports.

    When the scenario has ``expect``, the verdict is the expectations': they all hold, or some failed (which, and
    with what value). Without ``expect``, it is about failures: any failed or throttled invocation is one. Either
    way the headline then says how many invocations failed or were throttled, of which cause most, and when the
    first failure or throttle came (of any cause: the earliest ``first_outcome_s``), at what load.

    Returns ``{"ok", "tag", "basis", "headline", "details", "causes", "expectations_failed", "first_problem"}``:
    ``ok`` is the verdict (expectations hold, or no failure), ``tag`` its name in capitals, ``basis``
    ``"expectations"`` or ``"failures"``, ``first_problem`` ``{cause, first_s, load}`` or None. Each cause row has
    ``cause, count, share, first_s, kind, load`` (``load``: arrivals per second, concurrent executions and
    environments in the timestep of the first occurrence, when the time series is given) and ``lambda_error``.
    """
    inv = summary["invocations"] or 0
    outcomes = summary["outcomes"]
    first_s = summary.get("first_outcome_s") or {}
    # With replications every number is a mean, and the time series is replication 0's: the load "then" would
    # pair one replication's traffic with another's time, so it is left out, and the headline says "on average".
    reps = replications_of(summary)
    if reps > 1:
        timeseries = None
    on_average = " on average" if reps > 1 else ""
    over = f"On average over {reps} replications, " if reps > 1 else ""
    step = timestep_s or (float(timeseries["t_s"].iloc[1] - timeseries["t_s"].iloc[0])
                          if timeseries is not None and len(timeseries) > 1 else 1.0)
    causes = []
    for cause in OUTCOMES:
        n = outcomes.get(cause, 0)
        if cause == "success" or not n:
            continue
        t = first_s.get(cause)
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
    bad = summary["failed"] + summary["throttled"]
    earliest = first_problem(summary)
    first: dict[str, Any] | None = (
        {"cause": earliest[0], "first_s": earliest[1], "load": _load_at(timeseries, earliest[1], step)}
        if earliest else None)

    # What happened to the invocations, in one sentence (also the whole verdict when there is no expect).
    if not inv:
        happened = "No invocations were counted (check the arrivals and the warm-up)."
    elif not causes:
        happened = f"{over}all {prose_count(inv)} invocations succeeded."
    else:
        c = max(causes, key=lambda row: row["count"])  # the cause that costs most
        which = (f"all {c['cause']}" if c["count"] == bad else
                 f"mostly {c['cause']} ({prose_count(c['count'])})")
        were = "was" if bad == 1 and reps == 1 else "were"
        happened = (f"{over}{prose_count(bad)} of {prose_count(inv)} invocations "
                    f"({fmt_pct(summary['error_rate'])}) failed or {were} throttled, {which}")
        if first:
            load = first["load"]
            under = (f", with {fmt_rate(load['arrivals_per_s'])} arriving and {load['concurrency']:,} executions in "
                     f"flight" if load else "")
            happened += (f"; the first failure or throttle came at {fmt_clock(first['first_s'])} "
                         f"({first['cause']}){under}")
        happened += "."
    happened = happened[0].upper() + happened[1:]
    if exps:
        basis, ok = "expectations", not failed_exps
        if ok:
            tag = "EXPECTATIONS HOLD"
            held = {1: "The expectation holds", 2: "Both expectations hold"}.get(len(exps),
                                                                             f"All {len(exps)} expectations hold")
            headline = f"{held}. {happened}"
        else:
            tag = "EXPECTATIONS FAIL"
            headline = (f"{len(failed_exps)} of {len(exps)} expectation{'s' * (len(exps) != 1)} failed: "
                        f"{_expectation_list(failed_exps)}. {happened}")
    else:
        basis, ok = "failures", bool(inv) and not causes
        tag = "NO FAILURES" if ok else "FAILURES"
        headline = happened
        details.append("The scenario states no expectations (expect:), so this verdict counts failed and throttled "
                       "invocations: any one of them is a failure.")
    for c in causes:
        when = f", first at {fmt_clock(c['first_s'])}{on_average}" if c["first_s"] is not None else ""
        err = f" ({c['lambda_error']})" if c["lambda_error"] else ""
        n = prose_count(c["count"])
        details.append(f"{c['cause']}{err}: {n} invocation{'' if n == '1' else 's'} ({fmt_pct(c['share'])}){when}.")
    cap_functions = (summary.get("capacity") or {}).get("functions") or {}
    run_functions = summary.get("functions") or {}

    def function_sentence(name: str) -> str:
        f = cap_functions[name]
        ceilings = f["ceilings"]
        bind = f["binding"]
        ceiling = ceilings[bind]
        peak = projected_peak(f)
        sim = run_functions.get(name, {}).get("peak_concurrency")
        seen = (f"; the run{'s' if reps > 1 else ''} peaked at {prose_count(sim)}{on_average}" if sim is not None
                else "")
        if peak > ceiling:
            return (f"{name}: the projected peak (p99.9) of {peak:,} concurrent executions is above its {bind} "
                    f"ceiling of {ceiling:,}{seen}.")
        n1 = ceilings.get("n_minus_1")
        n1_text = ""
        if n1 is not None and n1 < peak:
            n1_text = f" Without its largest AZ (N-1) it reaches only {n1:,}."
        elif n1 is not None:
            n1_text = f" N-1 (largest AZ lost): {n1:,}, enough."
        return (f"{name}: projected peak (p99.9) {peak:,} of a {bind} ceiling of {ceiling:,} "
                f"({peak / ceiling:.0%} used){seen}.{n1_text}" if ceiling else f"{name}: its {bind} ceiling is 0.")

    if len(cap_functions) <= MAX_FUNCTION_ROWS:
        details += [function_sentence(name) for name in cap_functions]
    else:  # an account of many functions: a sentence each for those above their ceiling, one for all the others
        ordered = attention_order(cap_functions, run_functions)
        above = [n for n in ordered if projected_peak(cap_functions[n]) > cap_functions[n]["ceilings"][
            cap_functions[n]["binding"]]]
        details += [function_sentence(name) for name in above[:MAX_FUNCTION_ROWS]]
        if len(above) > MAX_FUNCTION_ROWS:
            details.append(f"{len(above) - MAX_FUNCTION_ROWS:,} more functions have a projected peak above their "
                           f"ceiling (the ceilings table lists every function).")
        shown = set(above)
        rest = [n for n in ordered if n not in shown]
        short = [n for n in rest if (cap_functions[n]["ceilings"].get("n_minus_1") is not None
                                     and cap_functions[n]["ceilings"]["n_minus_1"] < projected_peak(cap_functions[n]))]
        if rest:
            text = (f"{'The other' if above else 'All'} {len(rest):,} functions fit their ceilings at the projected "
                    f"peak (p99.9), each on its own")
            if short:
                more = f" and {len(short) - 4:,} more" if len(short) > 4 else ""
                text += (f"; {len(short):,} of them not without their largest AZ (N-1): "
                         f"{', '.join(short[:4])}{more}")
            details.append(text + ".")
    # Each function may fit on its own while functions sharing a subnet or the ENI quota do not, together.
    for f in (summary.get("capacity") or {}).get("lint") or []:
        if f["rule"] in ("shared-subnet", "eni-quota-total") and f["level"] == "warning":
            details.append(f"But not all at once: {f['message']}.")
    for sid, sub in (summary.get("subnets") or {}).items():
        if sub.get("exhausted_s") is not None:
            details.append(f"Subnet {sid} ({sub['az']}) ran out of addresses at {fmt_clock(sub['exhausted_s'])} and "
                           f"had none free for {fmt_clock(sub.get('exhausted_for_s'))} in all{on_average}.")
    return {"ok": ok, "tag": tag, "basis": basis, "headline": headline, "details": details, "causes": causes,
            "expectations_failed": len(failed_exps), "first_problem": first}


# --------------------------------------------------------------------------------------------------- rendering


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("simulator.present", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    from ..summary import format_usd

    env.filters.update(num=fmt_num, pct=fmt_pct, ms=fmt_ms, clock=fmt_clock, rate=fmt_rate, difference=fmt_difference,
                       cell=fmt_table,
                       expectation_value=fmt_expectation_value, usd=lambda v: "–" if v is None else format_usd(v))
    return env


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def draw_figures(result: RunData) -> dict[str, bytes]:
    """The report's figures as PNG bytes by file stem."""
    from . import plots

    images = {}
    for stem, fig in plots.figures(result).items():
        images[stem] = plots.png_bytes(fig)
    # Figures an answer adds to the report of its run (headroom: the search that led to this load).
    images.update((result.extra or {}).get("figures") or {})
    return images


def _key_figures(s: Summary, warmup: bool = True) -> list[tuple[str, str]]:
    earliest = first_problem(s)
    return [
        ("invocations (after warm-up)" if warmup else "invocations", fmt_num(s["invocations"])),
        ("attempts (with retries)", fmt_num(s["attempts"])),
        ("succeeded", fmt_num(s["succeeded"])),
        ("failed", f"{fmt_num(s['failed'])} ({fmt_pct(s['failure_rate'])})"),
        ("throttled", f"{fmt_num(s['throttled'])} ({fmt_pct(s['throttle_rate'])})"),
        ("first failure or throttle", f"{fmt_clock(earliest[1])} ({earliest[0]})" if earliest else "none"),
        ("first failure (not a throttle)", fmt_clock(s["first_failure_s"]) if s["first_failure_s"] is not None
         else "none"),
        ("cold starts", f"{fmt_num(s['cold_starts'])} ({fmt_pct(s['cold_start_rate'])} of executions)"),
        ("concurrent executions", f"mean {fmt_num(s['mean_concurrency'], 1)}, peak {fmt_num(s['peak_concurrency'])}"),
        ("environments", f"mean {fmt_num(s['mean_environments'], 1)}, peak {fmt_num(s['peak_environments'])}"),
        ("peak Lambda ENIs", fmt_num(s["peak_enis"])),
        *([("cost of the measured window", cost_line(s["cost"]))] if s.get("cost") else []),
    ]


def cost_line(c: Mapping[str, Any]) -> str:
    """The cost in a few words: ``$0.79 ($2,609 per 30 days; $4.07 per million requests)``."""
    from ..summary import format_usd

    parts = []
    if c.get("monthly_usd") is not None:
        parts.append(f"{format_usd(c['monthly_usd'])} per 30 days")
    if c.get("per_million_usd") is not None:
        parts.append(f"{format_usd(c['per_million_usd'])} per million requests")
    return format_usd(c["total_usd"]) + (f" ({'; '.join(parts)})" if parts else "")


def cost_rows(s: Summary) -> dict[str, Any] | None:
    """The report's cost section: the parts, the functions, the free tier apart."""
    c = s.get("cost")
    if not c:
        return None
    parts = [("requests", c["requests_usd"]), ("duration (compute)", c["compute_usd"]),
             ("provisioned concurrency, kept warm", c["provisioned_usd"]),
             (f"NAT: {fmt_count(c['nat_gateways'])} gateway{'' if c['nat_gateways'] == 1 else 's'} and "
              f"{c['egress_gb']:,.3g} GB processed", c["nat_usd"])]
    functions = [{"name": name, **f} for name, f in c["functions"].items()]
    return {"c": c, "parts": parts, "functions": functions, "window": format_duration(c["window_s"])}


def event_rows(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's events in time order, for a table: ``at_s``, ``kind``, ``what`` (a short sentence) and
    ``for_s`` (how long an AZ outage lasts; None for address events, which last until undone)."""
    from ..scenario.sections import AzOutage, IpsTaken

    rows = []
    for ev in sorted(scenario.events, key=lambda e: e.at):
        if isinstance(ev, AzOutage):
            lost = [s.id for s in scenario.vpc.subnets if s.az == ev.az]
            where = f" (subnet{'s' * (len(lost) != 1)} {', '.join(lost)})" if lost else ""
            rows.append({"at_s": ev.at, "kind": ev.kind, "what": f"{ev.az} is down{where}", "for_s": ev.for_})
        else:
            verb = "taken by" if isinstance(ev, IpsTaken) else "released by"
            rows.append({"at_s": ev.at, "kind": ev.kind, "for_s": None,
                         "what": f"{ev.count:,} address{'es' * (ev.count != 1)} of {ev.subnet} {verb} other "
                                 f"workloads"})
    return rows


def _subnet_rows(result: RunData) -> list[dict[str, Any]]:
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


def _table_order(summary: Summary) -> list[str]:
    """The functions in the report's tables: the scenario's order, or for many functions (an account) those that
    need attention first (every function is listed either way)."""
    fns = summary["capacity"]["functions"]
    return list(fns) if len(fns) <= MAX_FUNCTION_ROWS else attention_order(fns, summary["functions"])


def _ceiling_rows(summary: Summary) -> list[dict[str, Any]]:
    rows = []
    for name in _table_order(summary):
        f = summary["capacity"]["functions"][name]
        c = f["ceilings"]
        run = summary["functions"].get(name, {})
        peak = projected_peak(f)
        rows.append({"name": name, "memory_mb": f["memory_mb"], "slots": f["slots_per_eni"],
                     "projected": f["projected_peak"], "peak": peak, "simulated": run.get("peak_concurrency"),
                     "enis_formula": f["enis_formula"], "enis_packed": f["enis_packed"],
                     "concurrency": c["concurrency"], "subnet_ips": c["subnet_ips"], "eni_quota": c["eni_quota"],
                     "n_minus_1": c["n_minus_1"], "scaling_s": c["scaling_s"], "binding": f["binding"],
                     "fits": peak <= c[f["binding"]],
                     "n1_fits": c["n_minus_1"] is None or peak <= c["n_minus_1"]})
    return rows


def _function_rows(summary: Summary) -> list[dict[str, Any]]:
    return [{"name": name, **summary["functions"][name]} for name in _table_order(summary)
            if name in summary["functions"]]


def report_context(result: RunData, images: Mapping[str, bytes], scenario_yaml: str | None = None) -> dict[str, Any]:
    """Everything the report template shows (plain data; the template only lays it out)."""
    s = result.summary
    sc = result.scenario
    v = verdict(s, result.timeseries, sc.timestep)
    captions = {**FIGURES, **((result.extra or {}).get("captions") or {})}
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
        "key_figures": _key_figures(s, warmup=bool(sc.warmup)),
        "outcomes": outcome_rows,
        "latency": [("end to end (successful invocations)", s["latency_ms"]),
                    ("cold start (ENI wait + init)", s["cold_start_ms"])],
        "functions": _function_rows(s) if len(s["functions"]) > 1 else [],
        "events": event_rows(sc),
        "subnets": _subnet_rows(result),
        "ceilings": _ceiling_rows(s),
        "capacity_total": s["capacity"]["total"],
        "cost": cost_rows(s),
        "lint": s["capacity"]["lint"],
        "expectations": s.get("expectations") or [],
        "figures": [{"stem": stem, "title": captions.get(stem, (stem, ""))[0],
                     "caption": captions.get(stem, ("", ""))[1], "data": _b64(png)} for stem, png in images.items()],
        "answer": (result.extra or {}).get("answer"),
        "scenario_yaml": scenario_yaml if scenario_yaml is not None else resolved_yaml(result),
        "replications": replications_of(s) if replications_of(s) > 1 else None,
        "failures": FAILURES,
    }


def resolved_yaml(result: RunData) -> str:
    """The scenario as run: its seed, and its replications when there were several, so that ``vpcsim run`` on this
    file gives the same numbers."""
    # One run of a scenario that says `replications: 3` (run --replications 1, headroom's run) must say 1.
    changes: dict[str, Any] = {"seed": result.summary["seed"], "replications": replications_of(result.summary)}
    return result.scenario.with_changes(changes).to_yaml()


def render_report(result: RunData, images: Mapping[str, bytes] | None = None,
                  scenario_yaml: str | None = None) -> str:
    """The report of one run as one self-contained HTML page. ``images`` (PNG bytes by figure stem) are drawn
    when not given."""
    if images is None:
        images = draw_figures(result)
    return _env().get_template("report.html").render(**report_context(result, images, scenario_yaml))


def write_report_files(result: RunData, folder: str | Path, scenario_yaml: str | None = None) -> None:
    """Write ``figures/*.png`` and ``report.html`` into ``folder`` (``write_run`` calls this inside its temporary
    folder, so the results folder is still written whole or not at all)."""
    folder = Path(folder)
    images = draw_figures(result)
    (folder / "figures").mkdir(exist_ok=True)
    for stem, png in images.items():
        (folder / "figures" / f"{stem}.png").write_bytes(png)
    (folder / "report.html").write_text(render_report(result, images, scenario_yaml), encoding="utf-8")


# --------------------------------------------------------------------------------------------------- comparison


def render_comparison(cmp: ComparisonData, images: Mapping[str, bytes] | None = None) -> str:
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
                  "yaml": resolved_yaml(r)} for label, r in ((cmp.labels[0], a), (cmp.labels[1], b))],
        "rows": cmp.rows(),
        "changes": cmp.changes,
        "noise_note": NOISE_NOTE,
        "figures": [{"stem": stem, "title": captions.get(stem, (stem, ""))[0],
                     "caption": captions.get(stem, ("", ""))[1], "data": _b64(png)} for stem, png in images.items()],
    }
    return _env().get_template("compare.html").render(**ctx)
