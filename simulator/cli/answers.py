"""The ``headroom`` and ``size`` commands (issue 10): answers, not only runs.

``vpcsim headroom SCENARIO`` finds the largest load multiplier at which the conditions still hold (bracket, then
bisect, with common random numbers), beside the closed form's answer; ``--out DIR`` writes ``headroom.json``,
``points.csv``, ``headroom.png`` and ``run/``, the results folder of the run at the answer, whose report shows the
search. ``vpcsim size SCENARIO`` finds the smallest subnet prefixes under which they hold, verified tight by
simulation, and the ENI quota the account needs; ``--memory`` adds the memory trade-off.

Registered on the main app by one import at the bottom of ``cli.py``; like ``cli.py``, this module prints.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from .core import (
    Command,
    JsonOpt,
    SchedulerOpt,
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
    print_table,
    progress_bar,
    say,
    user_errors,
    writing,
)

__all__ = ["headroom_command", "size_command"]

UntilOpt = Annotated[list[str] | None, typer.Option(
    "--until", metavar="CONDITION",
    help="A condition that must hold, in the expect syntax: 'failure_rate <= 0.1%', 'latency_ms.p99 < 2s', "
         "'functions.api.throttle_rate == 0'. Repeatable. Default: the scenario's expect, else 'failure_rate == 0'.")]
ShareOpt = Annotated[float, typer.Option("--share", metavar="F", help="A point holds when the conditions hold in at "
                                                                      "least this share of its replications.")]
OutOpt = Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Write the answer's files into this folder.")]


@contextmanager
def _answer_errors():
    """The library's errors about what was asked (HeadroomError, SweepError) → one line, exit 2."""
    from ..analysis.headroom import HeadroomError
    from ..analysis.sweep import SweepError

    with user_errors():
        try:
            yield
        except (HeadroomError, SweepError) as exc:
            raise UserError(str(exc)) from None


def _x(m: float | None) -> str:
    return "-" if m is None else ("∞" if math.isinf(m) else f"x{m:.4g}")


# --------------------------------------------------------------------------------------------------- headroom


def print_headroom(h: Any) -> None:
    from ..present.report import fmt_pct
    from ..summary import format_usd, format_value

    say(f"[bold]{escape(h.sentence())}[/bold]")
    cf = h.closed_form
    say(f"Closed form (the p99.9 projected peak reaches the binding ceiling): {_x(cf['multiplier'])}; with the "
        f"largest AZ lost (N-1): {_x(cf['n_minus_1'])}.")
    say(f"Conditions: {escape('; '.join(h.conditions))} — in {'all' if h.share >= 1 else f'{h.share:.0%} of'} "
        f"{h.replications} replication{'s' * (h.replications != 1)} per point, the same seeds at every multiplier.")
    t = Table(title="Points evaluated (means of the replications run)", title_justify="left")
    metric = h.conditions[0].split(" ")[0]
    extra = metric != "failure_rate"  # the first condition's metric, unless it is the failure rate shown anyway
    cols = ["multiplier", "holds", "runs held", *([metric] if extra else []), "failure rate", "p99 ms",
            "peak executions", "peak ENIs", "cost / 30 days", "first outcome"]
    for col in cols:
        t.add_column(col, justify="left" if col in ("holds", "first outcome") else "right",
                     overflow="fold" if col in ("first outcome",) or "." in col else "ellipsis")
    # Means of counts: whole numbers while every point's are, else one decimal in every row (not 294 beside 293.4).
    whole = {k: all(v is None or float(v).is_integer() for v in (getattr(p, k) for p in h.points))
             for k in ("peak_concurrency", "peak_enis")}

    def mean_count(p: Any, key: str) -> str:
        v = getattr(p, key)
        return "-" if v is None else f"{v:,.0f}" if whole[key] else f"{v:,.1f}"

    for p in h.points:
        holds = ("[green]yes[/green]" if p.verified else "[green]yes[/green] (guide)") if p.held else "[red]no[/red]"
        t.add_row(_x(p.multiplier), holds, f"{p.runs_held}/{p.runs}",
                  *([escape(format_value(p.metric, h.condition_kind))] if extra else []), fmt_pct(p.failure_rate),
                  "-" if p.latency_p99_ms is None else f"{p.latency_p99_ms:,.0f}",
                  mean_count(p, "peak_concurrency"), mean_count(p, "peak_enis"),
                  "-" if p.cost_monthly_usd is None else format_usd(p.cost_monthly_usd),
                  escape(p.first_outcome or "-"))
    print_table(t)
    if any(p.held and not p.verified for p in h.points):
        say("(guide): held in the replication that guides the search; such points only steer it. The answer held in "
            "all its replications.")
    say(f"{h.runs} simulated runs ({h.invocations:,} invocations measured) in {h.wall_s:.1f} s.")
    for note in h.notes:
        say(f"Note: {escape(note)}")


@app.command("headroom", cls=Command)
def headroom_command(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO", help="A scenario file (YAML).", show_default=False)],
    until: UntilOpt = None,
    max_multiplier: Annotated[float, typer.Option("--max-multiplier", metavar="X",
                                                  help="The largest load multiplier searched.")] = 10.0,
    replications: Annotated[int, typer.Option("--replications", min=1, metavar="N",
                                              help="Replications per point.")] = 5,
    share: ShareOpt = 1.0,
    resolution: Annotated[float, typer.Option("--resolution", metavar="F", help="Stop when the bracket [lo, hi] has "
                                                                              "hi / lo <= 1 + F.")] = 0.02,
    workers: WorkersOpt = 1,
    scheduler: SchedulerOpt = None,
    seed: SeedOpt = None,
    sets: SetOpt = None,
    as_json: JsonOpt = False,
    out_dir: OutOpt = None,
    yes: YesOpt = False,
) -> None:
    """The largest load multiplier at which the conditions still hold, by simulation (closed form beside it)."""
    from ..analysis.headroom import headroom, parse_until, scale_load
    from ..present.folders import to_json

    with _answer_errors():
        sc = load_with_changes(scenario, sets, seed)
        conditions = parse_until(sc, until) if until else None
        check_out_dir(out_dir)
        if not (math.isfinite(max_multiplier) and max_multiplier > 0):
            raise UserError(f"--max-multiplier must be above 0 (got {max_multiplier:g})")
        # What the search may cost: about a dozen points, the load at twice the scenario's at most in most of them.
        gate(scale_load(sc, min(max_multiplier, 2.0)), yes=yes, replications=replications, points=12,
             workers=workers)
    show = err.is_terminal and not as_json
    with _answer_errors(), progress_bar(f"headroom of {sc.name}", show) as progress:
        h = headroom(sc, conditions, replications=replications, share=share, resolution=resolution,
                     max_multiplier=max_multiplier, workers=workers, scheduler=scheduler, progress=progress)
    if out_dir is not None:
        _write_headroom(sc, h, out_dir)
    if as_json:
        emit(to_json(h.to_dict()), nl=False)
        return
    print_headroom(h)
    if out_dir is not None:
        out.print(f"Headroom written to {escape(str(out_dir))}/ (headroom.json, points.csv, headroom.png, run/ with "
                  f"the report of the run at the answer)")


def _write_headroom(sc: Any, h: Any, out_dir: Path) -> None:
    from ..analysis.headroom import scale_load
    from ..analysis.results import simulate
    from ..analysis.results_folder import write_run
    from ..present import plots
    from ..present.folders import atomic_dir, to_json

    png = plots.png_bytes(h.plot())
    m = h.multiplier if h.multiplier > 0 else (h.bracket[1] or 1.0)
    # Named for its load, so that its figures, pasted alone, do not pass for the scenario as written.
    from ..scenario.sections import MAX_LABEL

    load = f" at x{m:.4g} load"
    name = sc.name[:MAX_LABEL - len(load)] + load  # a name near the limit gives up its end, not the run
    result = simulate(scale_load(sc, m).with_changes({"name": name}), seed=h.seed)
    result.extra["figures"] = {"headroom": png}
    result.extra["captions"] = {"headroom": ("Headroom", "The search that led to this load: the first condition's "
                                             "metric at each multiplier evaluated (markers: the replication the rule "
                                             "compares, the worst when all must hold; bars: lowest to highest "
                                             "replication; diamonds: the mean), the threshold, the answer and its "
                                             "bracket, the closed form's multiplier.")}
    result.extra["answer"] = f"{h.sentence()} This is the run at x{m:.4g} (its first replication)."
    with writing(out_dir), atomic_dir(out_dir) as tmp:
        (tmp / "headroom.json").write_text(to_json(h.to_dict()), encoding="utf-8")
        h.table().to_csv(tmp / "points.csv", index=False, float_format="%.6g")
        (tmp / "headroom.png").write_bytes(png)
        write_run(result, tmp / "run")


# --------------------------------------------------------------------------------------------------- size


def _memory_list(text: str | None) -> list[int] | None:
    if text is None:
        return None
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise UserError(f"--memory {text!r}: a list of sizes in MB, e.g. 512,1024,1769,3008 (got {part!r})")
        sizes.append(int(part))
    if len(set(sizes)) != len(sizes):
        raise UserError(f"--memory {text!r}: a size is listed twice")
    return sizes


def print_sizing(z: Any) -> None:
    t = Table(title=f"Subnets of {escape(z.scenario)}: the smallest prefixes under which the conditions hold",
              title_justify="left")
    for col in ("subnet", "AZ", "current CIDR", "usable", "recommended", "usable then", "needed at peak"):
        t.add_column(col, justify="left" if col in ("subnet", "AZ", "current CIDR", "recommended") else "right")
    for sid, s in z.subnets.items():
        cur = int(s["cidr"].split("/")[1])
        mark = "" if s["recommended_prefix"] == cur else (" (smaller)" if s["recommended_prefix"] > cur
                                                          else " [red](larger)[/red]")
        t.add_row(sid, s["az"], s["cidr"], f"{s['usable_ips']:,}", f"/{s['recommended_prefix']}{mark}",
                  f"{s['recommended_usable_ips']:,}", f"{s['needed_ips']:,}")
    print_table(t)
    q = z.eni_quota
    others = f" ({q['in_use_by_others']:,} held by other resources)" if q.get("in_use_by_others") else ""
    say(f"ENI quota: {q['needed']:,} needed at the simulated peak{others}, quota {q['current']:,}: "
        + ("[red]ask for an increase to at least " + f"{q['needed']:,}[/red]." if q["increase_needed"]
           else "no increase needed."))
    v = z.verified
    smaller = v["one_prefix_smaller_holds"]
    say(f"Verified by simulation ({z.replications} replication{'s' * (z.replications != 1)} per size, "
        f"{z.evaluations} sizes tried): the recommendation {'holds' if v['holds'] else '[red]does not hold[/red]'}; "
        + ("one prefix smaller fails for every group." if smaller is False else
           "no smaller prefix exists (/28, or addresses other resources hold)." if smaller is None else
           "[red]one prefix smaller also holds for a group[/red]."))
    if z.n_minus_1:
        e = z.n_minus_1
        say(f"With N-1: {escape(e['az'])} is lost at {e['at']:g}s (the busiest minute) to the end of the run.")
    say(f"Conditions: {escape('; '.join(z.conditions))}.")
    for note in z.notes:
        say(f"Note: {escape(note)}")


def print_memory(rows: list[dict[str, Any]], function: str) -> None:
    from ..present.report import fmt_pct
    from ..summary import format_usd

    t = Table(title=f"Memory trade-off of {escape(function)} with the current subnets (means)", title_justify="left")
    for col in ("memory MB", "env/ENI", "doc formula ENIs at the p99.9 peak", "peak ENIs", "peak addresses", "failed or throttled",
                "p99 ms", "cost / 30 days"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(f"{r['memory_mb']:,}", "-" if r["slots_per_eni"] is None else f"{r['slots_per_eni']:,}",
                  "-" if r["enis_formula"] is None else f"{r['enis_formula']:,}",
                  "-" if r["peak_enis"] is None else f"{r['peak_enis']:,.1f}",
                  "-" if r["peak_ips_used"] is None else f"{r['peak_ips_used']:,.1f}", fmt_pct(r["error_rate"]),
                  "-" if r["latency_p99_ms"] is None else f"{r['latency_p99_ms']:,.0f}",
                  "-" if r["monthly_usd"] is None else format_usd(r["monthly_usd"]))
    print_table(t)


@app.command("size", cls=Command)
def size_command(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO", help="A scenario file (YAML).", show_default=False)],
    until: UntilOpt = None,
    n_minus_1: Annotated[bool, typer.Option("--n-minus-1", help="The design must also hold with its largest AZ lost "
                                                                "at the busiest minute.")] = False,
    per_subnet: Annotated[bool, typer.Option("--per-subnet", help="A prefix for each subnet (default: one for all "
                                                                  "the subnets of a function).")] = False,
    replications: Annotated[int, typer.Option("--replications", min=1, metavar="N",
                                              help="Replications per size tried.")] = 3,
    share: ShareOpt = 1.0,
    memory: Annotated[str | None, typer.Option("--memory", metavar="MB,MB,...",
                                               help="Also compare memory sizes: ENIs, addresses, failures and cost "
                                                    "for each, with the current subnets.")] = None,
    function: Annotated[str | None, typer.Option("--function", metavar="NAME",
                                                 help="The function whose memory --memory varies (default: the "
                                                      "only one in a VPC).")] = None,
    workers: WorkersOpt = 1,
    scheduler: SchedulerOpt = None,
    seed: SeedOpt = None,
    sets: SetOpt = None,
    as_json: JsonOpt = False,
    out_dir: OutOpt = None,
    yes: YesOpt = False,
) -> None:
    """The smallest subnet prefixes under which the conditions hold, verified tight by simulation; the ENI quota
    needed; with --memory, the memory trade-off."""
    from ..analysis.headroom import parse_until
    from ..analysis.size import SizeError, memory_tradeoff, size
    from ..present.folders import to_json

    with _answer_errors():
        sc = load_with_changes(scenario, sets, seed)
        if not any(f.in_vpc for f in sc.functions):
            raise SizeError(f"{scenario}: no function of {sc.name!r} is in a VPC (none lists subnets): there are no "
                            f"subnets to size")
        conditions = parse_until(sc, until) if until else None
        sizes = _memory_list(memory)
        check_out_dir(out_dir)
        gate(sc, yes=yes, replications=replications, points=10 + len(sizes or []), workers=workers)
    show = err.is_terminal and not as_json
    with _answer_errors(), progress_bar(f"sizing {sc.name}", show):
        z = size(sc, conditions, n_minus_1=n_minus_1, per_subnet=per_subnet, replications=replications, share=share,
                 workers=workers, scheduler=scheduler)
        if sizes:
            name = function or next((f.name for f in sc.functions if f.in_vpc), None)
            z.memory = memory_tradeoff(sc, sizes, function=function, replications=replications, workers=workers,
                                       scheduler=scheduler)
            z.memory_function = function or name
    if out_dir is not None:
        _write_sizing(sc, z, out_dir)
    if as_json:
        emit(to_json(z.to_dict()), nl=False)
        return
    print_sizing(z)
    if z.memory:
        print_memory(z.memory, z.memory_function or "")
    if out_dir is not None:
        out.print(f"Sizing written to {escape(str(out_dir))}/")


def _write_sizing(sc: Any, z: Any, out_dir: Path) -> None:
    import pandas as pd

    from ..present import plots
    from ..present.answer_figures import memory_figure
    from ..present.folders import atomic_dir, to_json

    with writing(out_dir), atomic_dir(out_dir) as tmp:
        (tmp / "size.json").write_text(to_json(z.to_dict()), encoding="utf-8")
        pd.DataFrame([{"subnet": k, **v} for k, v in z.subnets.items()]).to_csv(tmp / "subnets.csv", index=False)
        if z.memory:
            pd.DataFrame(z.memory).to_csv(tmp / "memory.csv", index=False, float_format="%.6g")
            (tmp / "memory.png").write_bytes(plots.png_bytes(memory_figure(z.memory, sc.name, z.memory_function)))
