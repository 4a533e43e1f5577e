"""``vpcsim run``: simulate a scenario and print the verdict, outcomes, latency, peaks, subnets, the binding ceiling
and the cost; ``--out`` writes the results folder, ``--json`` the summary."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..summary import fmt_num, projected_peak, shown_functions
from ..units import format_duration
from .core import (
    Command,
    JsonOpt,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    UserError,
    WorkersOpt,
    YesOpt,
    app,
    check_out_dir,
    emit,
    err,
    gate,
    load_with_changes,
    out,
    print_replications,
    print_table,
    progress_bar,
    run_errors,
    say,
    user_errors,
    writing,
)
from .validate import print_lint

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario.models import Scenario
    from ..summary import Summary

__all__ = ["run", "print_summary", "print_expectations", "cost_sentence"]


# --------------------------------------------------------------------------------------------------- run

# The outcomes that show a ceiling was reached.
BINDING_CAUSES = {
    "concurrency": ("throttled_concurrency", "throttled_reserved"),
    "subnet_ips": ("subnet_ips",),
    "eni_quota": ("eni_limit",),
}


def _pct(v: float | None) -> str:
    from ..summary import fmt_pct

    return fmt_pct(v)


def _ms(v: float | None) -> str:
    from ..summary import fmt_ms

    return fmt_ms(v)


def _when(t: float | None) -> str:
    """A simulated time for people, as the report writes it: 42.5s, 20m1s, 1h2m3s."""
    from ..summary import fmt_clock

    return fmt_clock(t)


def print_summary(s: Summary, timeseries: Any = None, scenario: Scenario | None = None) -> None:
    """The run's summary as a few tables an architect can paste into a design review (with the scenario's events
    when ``scenario`` is given)."""
    from ..present.report import event_rows, fmt_count, prose_count, verdict
    from ..summary import LAMBDA_ERRORS

    head = (f"[bold]{escape(s['scenario'])}[/bold]  platform {s['platform']}, seed {s['seed']}, "
            f"{format_duration(s['simulated_s'])} simulated in {s['wall_s']:.1f} s")
    reps = s.get("replications")
    if reps:
        head += f"; means of {reps['n']} replications"
    say(head)
    v = verdict(s, timeseries)
    colour = "green" if v["ok"] else "red"
    # Prose is not wrapped at the console width: a CI log or a file keeps each sentence on one line.
    say(f"[{colour}]{escape(v['headline'])}[/{colour}]")
    for warning in s.get("warnings") or []:  # what the run could not do as the scenario says
        say(f"[yellow]warning[/yellow] {escape(warning)}")

    t = Table(title="Outcomes", title_justify="left")
    t.add_column("outcome")
    t.add_column("invocations", justify="right")
    t.add_column("share", justify="right")
    t.add_column("first at", justify="right")
    t.add_column("Lambda error", overflow="fold")  # may break SubnetIPAddressLimitReachedException to fit
    inv = s["invocations"] or 0
    for cause, n in s["outcomes"].items():
        if n or cause == "success":
            t.add_row(cause, fmt_count(n), _pct(n / inv if inv else None), _when(s["first_outcome_s"].get(cause)),
                      LAMBDA_ERRORS[cause])
    print_table(t)

    events = event_rows(scenario) if scenario is not None else []
    if events:
        ev = Table(title="Events", title_justify="left")
        for col in ("at", "kind", "what", "for"):
            ev.add_column(col, justify="right" if col in ("at", "for") else "left", overflow="fold")
        for e in events:
            ev.add_row(_when(e["at_s"]), e["kind"], escape(e["what"]), _when(e["for_s"]) if e["for_s"] else "")
        print_table(ev)

    lat = Table(title="Latency of successful invocations (ms)", title_justify="left")
    for col in ("", "p50", "p95", "p99", "max", "mean"):
        lat.add_column(col, justify="left" if not col else "right")
    for label, key in (("end to end", "latency_ms"), ("cold start (ENI wait + init)", "cold_start_ms")):
        v = s[key]
        lat.add_row(label, *(_ms(v[q]) for q in ("p50", "p95", "p99", "max", "mean")))
    print_table(lat)
    # With replications these are means of counts: said so, and rounded as people say them.
    say((f"On average over {reps['n']} replications: concurrency" if reps else "Concurrency:")
        + f" mean {s['mean_concurrency']:.1f}, peak {prose_count(s['peak_concurrency'])}.  "
        f"Environments: mean {s['mean_environments']:.1f}, peak {prose_count(s['peak_environments'])}.  "
        f"Cold starts: {prose_count(s['cold_starts'])} ({_pct(s['cold_start_rate'])} of executions)."
        + (f"  Peak ENIs: {prose_count(s['peak_enis'])}." if s["peak_enis"] is not None else ""))
    if s.get("cost"):
        say(cost_sentence(s["cost"], bool(reps)))

    if s["subnets"]:
        sub = Table(title="Subnets (addresses)", title_justify="left")
        for col in ("subnet", "AZ", "usable", "peak used", "min free", "exhausted at", "exhausted for"):
            sub.add_column(col, justify="left" if col in ("subnet", "AZ") else "right")
        for sid, v in s["subnets"].items():
            ex = v["exhausted_s"]
            sub.add_row(sid, v["az"], fmt_count(v["usable_ips"]), fmt_count(v["peak_ips_used"]),
                        fmt_count(v["min_free_ips"]),
                        "[red]" + _when(ex) + "[/red]" if ex is not None else "never",
                        _when(v["exhausted_for_s"]) if ex is not None else "-")
        print_table(sub)

    cap = s["capacity"]
    names, left_out = shown_functions(cap["functions"], s["functions"])
    title = "Ceilings (closed form) and what the run saw"
    if left_out:
        title += (f": the {len(names)} of {len(cap['functions']):,} functions that failed or were throttled most, "
                  f"then those with the least headroom")
    ceil = Table(title=title, title_justify="left")
    for col in ("function", "projected peak p99.9", "simulated peak", "binding limit", "ceiling", "hit at", "N-1 AZ",
                "failure rate", "throttle rate"):
        ceil.add_column(col, justify="left" if col in ("function", "binding limit") else "right",
                        overflow="fold" if col == "function" else "ellipsis")
    for name in names:
        f = s["functions"][name]
        c = cap["functions"][name]
        hit = [f["first_outcome_s"][cause] for cause in BINDING_CAUSES[c["binding"]] if cause in f["first_outcome_s"]]
        ceil.add_row(name, f"{projected_peak(c):,}", fmt_count(f["peak_concurrency"]),
                     c["binding"],
                     f"{c['ceilings'][c['binding']]:,}", _when(min(hit)) if hit else "not hit",
                     fmt_num(c["ceilings"]["n_minus_1"]), _pct(f["failure_rate"]), _pct(f["throttle_rate"]))
    print_table(ceil)
    if left_out:
        shown = set(names)
        troubled = sum(1 for name, f in s["functions"].items() if name not in shown and (
            (f["failure_rate"] or 0) + (f["throttle_rate"] or 0)) > 0)
        also = (f", {troubled:,} of them with failures or throttles" if troubled else
                ", none with failures or throttles, none with less headroom")
        say(f"{left_out:,} more functions{also}: every function is in --json (and in summary.json with --out).")
    if s.get("expectations"):
        print_expectations(s["expectations"])


def cost_sentence(c: dict[str, Any], means: bool = False) -> str:
    """The run's cost in one sentence: the window, the month, per million requests, the parts, the free tier apart."""
    from ..summary import format_usd

    parts = [f"{name} {format_usd(c[key])}" for name, key in (
        ("duration", "compute_usd"), ("requests", "requests_usd"), ("provisioned", "provisioned_usd"),
        ("NAT", "nat_usd")) if c[key]]
    text = (f"Cost{' (means)' if means else ''}: {format_usd(c['total_usd'])} for the "
            f"{format_duration(round(c['window_s']))} measured")
    if c.get("monthly_usd") is not None:
        text += f", {format_usd(c['monthly_usd'])} per 30 days"
    if c.get("per_million_usd") is not None:
        text += f", {format_usd(c['per_million_usd'])} per million requests"
    text += f" ({', '.join(parts)})." if parts else "."
    if c.get("free_tier_monthly_usd"):
        text += f" The free tier (per account, not subtracted) is worth up to {format_usd(c['free_tier_monthly_usd'])} a month."
    return text


def print_expectations(rows: list[dict[str, Any]]) -> None:
    """The expectations table (value in the metric's unit; with replications the mean and its 95% interval),
    then one sentence per failed expectation."""
    from ..present.report import fmt_expectation_value

    t = Table(title="Expectations", title_justify="left")
    for col in ("metric", "condition", "value", "verdict"):
        t.add_column(col, justify="right" if col == "value" else "left",
                     overflow="fold" if col in ("metric", "condition") else "ellipsis")
    for r in rows:
        value = fmt_expectation_value(r)
        end = " (interval end)" if r.get("checked_as") in ("ci_low", "ci_high") else ""
        t.add_row(escape(r["path"]), escape(r["condition"]), escape(value),
                  ("[green]pass[/green]" if r["passed"] else "[red]FAIL[/red]") + end)
    print_table(t)
    for r in rows:
        if not r["passed"] and r.get("message"):
            say(f"[red]FAIL[/red] {escape(r['message'])}")


def _progress_runner(enabled: bool):
    """A context manager yielding a progress callback (or None): a bar on a terminal, nothing otherwise."""
    from contextlib import nullcontext

    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    @contextmanager
    def bar():
        with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TimeElapsedColumn(), console=err, transient=True) as prog:
            task = prog.add_task("run", total=1.0)
            yield lambda frac: prog.update(task, completed=frac)

    return bar()


@app.command(cls=Command)
def run(
    scenario: ScenarioArg,
    out_dir: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Write summary.json, timeseries.csv, scenario.yaml "
                                                               "(and the report) into this folder.")] = None,
    as_json: JsonOpt = False,
    seed: SeedOpt = None,
    sets: SetOpt = None,
    record: Annotated[bool, typer.Option("--record-invocations",
                                         help="Keep one row per invocation in DIR/invocations.csv (needs --out).")]
    = False,
    replications: Annotated[int | None, typer.Option(
        "--replications", min=1, metavar="N", help="Independent replications; the summary holds means and 95% intervals "
                                      "(default: the scenario's `replications`, else 1).")] = None,
    workers: WorkersOpt = 1,
    strict: Annotated[bool, typer.Option("--strict", help="With replications, expectations check the unfavourable "
                                                          "end of the 95% interval, not the mean.")] = False,
    yes: YesOpt = False,
) -> None:
    """Simulate a scenario and report outcomes, latency, peaks, subnet addresses and ceilings."""
    from ..analysis.results import simulate
    from ..analysis.results_folder import write_run
    from ..present.folders import to_json

    with user_errors():
        if record and out_dir is None:  # the rows go to invocations.csv; nothing else shows them
            raise UserError("--record-invocations keeps one row per invocation for DIR/invocations.csv: add --out "
                            "DIR (in Python: simulate(scenario, record_invocations=True).invocations)")
        sc = load_with_changes(scenario, sets, seed)
        check_out_dir(out_dir)  # before the run: a bad --out must not cost the simulation, nor replace a file
    if not any(f.arrivals for f in sc.functions):  # an import without a load (docs/import.md)
        err.print("vpcsim: note: no function has arrivals, so nothing arrives in this run; give the functions a "
                  "load (`arrivals` and `duration`, or `vpcsim import ... --load FILE`)", markup=False)
    show_bar = not as_json and err.is_terminal
    n_reps = replications if replications is not None else sc.replications
    with user_errors():
        if strict and n_reps < 2:
            raise UserError("--strict checks the unfavourable end of a 95% interval, and one run has none: add "
                            "--replications N (5 or more), or leave --strict out")
        est = gate(sc, yes=yes, replications=n_reps, workers=workers, record_invocations=record)
    if not as_json:
        from ..analysis.capacity import capacity

        say(f"Simulating {escape(sc.name)}: {escape(est.line())}.")  # wrapped at a terminal's width, whole in a log
        # What the closed forms already say about the design, before the run shows it (a dedicated-tenancy VPC or a
        # 12 s init would otherwise simulate and exit 0 without a word).
        print_lint(capacity(sc)["lint"], quiet=True)
    if n_reps > 1:  # replications (simulator.analysis.sweep): means, intervals; time series of replication 0
        from ..analysis.sweep import run_replications

        with run_errors(), progress_bar(f"{n_reps} replications", show_bar) as done:
            result = run_replications(sc, n_reps, workers=workers, strict=strict, record_invocations=record,
                                      progress=done)
    else:
        with _progress_runner(show_bar) as progress:
            result = simulate(sc, record_invocations=record, progress=progress)
    if out_dir is not None:
        with writing(out_dir):
            write_run(result, out_dir)
    if as_json:
        emit(to_json(result.summary), nl=False)
    else:
        print_summary(result.summary, result.timeseries, result.scenario)
        if result.summary.get("replications"):
            print_replications(result.summary)
        if out_dir is not None:
            out.print(f"Results written to {escape(str(out_dir))}/")
    exps = result.summary.get("expectations") or []
    if any(not e["passed"] for e in exps):
        raise typer.Exit(1)
