"""``vpcsim validate``, ``capacity`` and ``schema``: the commands that read a scenario and simulate nothing (they
import neither the engine nor pandas, so they start fast)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..summary import fmt_num, shown_functions
from ..units import format_duration
from .core import (
    Command,
    JsonOpt,
    ScenarioArg,
    SetOpt,
    app,
    emit,
    err,
    load_with_changes,
    out,
    print_problems,
    print_table,
    say,
    user_errors,
)

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = ["validate", "capacity_cmd", "schema", "capacity_tables", "print_lint"]


# --------------------------------------------------------------------------------------------------- validate


@app.command(cls=Command)
def validate(
    scenarios: Annotated[list[Path], typer.Argument(metavar="SCENARIO", help="Scenario files.", show_default=False)],
    strict: Annotated[bool, typer.Option("--strict", help="Lint warnings fail too (exit 2).")] = False,
) -> None:
    """Check scenario files: the schema, cross-references and the lint rules of the capacity calculator."""
    from ..analysis.capacity import capacity
    from ..scenario.models import load_scenario
    from ..scenario.problems import ScenarioError

    bad = 0
    warned = 0
    for path in scenarios:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            print_problems(exc.problems)
            bad += 1
            continue
        findings = capacity(sc)["lint"]
        warnings = [f for f in findings if f["level"] == "warning"]
        warned += bool(warnings)
        status = "ok" if not warnings else f"ok, {len(warnings)} warning{'s' * (len(warnings) != 1)}"
        say(f"{path}: {status}", markup=False)
        for f in findings:
            who = f" {f['function']}:" if f["function"] else ""
            say(f"  {f['level']} [{f['rule']}]{who} {f['message']}", markup=False)
    if strict and warned:  # say why the exit code is 2 when every file printed "ok"
        err.print(f"vpcsim: error: --strict: {warned} file{'s' * (warned != 1)} with lint warnings", markup=False)
    if bad or (strict and warned):
        raise typer.Exit(2)


# --------------------------------------------------------------------------------------------------- capacity


def capacity_tables(cap: dict[str, Any]) -> list[Table]:
    """The capacity figures as rich tables (also used by `run`)."""
    names, left_out = shown_functions(cap["functions"])
    title = f"Capacity of {escape(cap['scenario'])} — concurrent executions each limit allows"
    if left_out:
        title += f": the {len(names)} of {len(cap['functions']):,} functions with the least headroom"
    fns = Table(title=title, title_justify="left", caption_justify="left", caption=(
        f"{left_out:,} more functions, none with less headroom: every function is in --json" if left_out else None))
    for col, justify in [("function", "left"), ("memory MB", "right"), ("env/ENI", "right"),
                         ("peak p99.9 (mean)", "right"), ("ENIs (doc formula)", "right"),
                         ("ENIs packed at peak (mean)", "right"),
                         ("concurrency", "right"), ("subnet IPs", "right"), ("ENI quota", "right"),
                         ("N-1 AZ", "right"), ("scaling s", "right"), ("binding", "left")]:
        fns.add_column(col, justify=justify, overflow="fold" if col == "function" else "ellipsis")  # type: ignore[arg-type]
    for name in names:
        f = cap["functions"][name]
        c = f["ceilings"]
        binding = f["binding"]
        cells = {k: fmt_num(c[k]) for k in ("concurrency", "subnet_ips", "eni_quota")}
        cells[binding] = f"[bold]{cells[binding]}[/bold]"
        fits = f["peak_in_service"] <= c[binding]
        both = (f"{fmt_num(f['peak_in_service'])} ({fmt_num(f['projected_peak'])})")
        enis = "-" if f["enis_packed"] is None else f"{fmt_num(f['enis_at_peak'])} ({fmt_num(f['enis_packed'])})"
        fns.add_row(name, fmt_num(f["memory_mb"]), fmt_num(f["slots_per_eni"]), both, fmt_num(f["enis_formula"]), enis,
                    cells["concurrency"], cells["subnet_ips"],
                    cells["eni_quota"], fmt_num(c["n_minus_1"]), fmt_num(c["scaling_s"], 1),
                    f"{binding}" + ("" if fits else " [red](peak above)[/red]"))
    tables = [fns]
    if cap["subnets"]:
        sub = Table(title="Subnets at the projected peaks (mean in service; p99.9)", title_justify="left")
        for col in ("subnet", "AZ", "usable IPs", "free IPs", "ENIs at peak (mean)", "fits"):
            sub.add_column(col, justify="left" if col in ("subnet", "AZ", "fits") else "right")
        for sid, s in cap["subnets"].items():
            ok = s["enis_at_peak"] <= s["free_ips"]
            sub.add_row(sid, s["az"], fmt_num(s["usable_ips"]), fmt_num(s["free_ips"]),
                        f"{fmt_num(s['enis_at_peak'])} ({fmt_num(s['projected_enis'])})", "yes" if ok else "[red]no[/red]")
        tables.append(sub)
    return tables


def print_lint(findings: list[dict], *, quiet: bool = False) -> None:
    """The lint findings, one line each (``quiet``: nothing at all when there are none)."""
    if not findings:
        if not quiet:
            out.print("Lint: no findings.")
        return
    out.print("Lint:")
    for f in findings:
        colour = "yellow" if f["level"] == "warning" else "cyan"
        who = f" {f['function']}:" if f["function"] else ""
        say(f"  [{colour}]{f['level']}[/{colour}] {escape('[' + f['rule'] + ']')}{escape(who)} {escape(f['message'])}")


@app.command(name="capacity", cls=Command)
def capacity_cmd(
    scenario: ScenarioArg,
    as_json: JsonOpt = False,
    sets: SetOpt = None,
) -> None:
    """The closed-form figures (no simulation): the doc's ENI formula, packing, ceilings, N-1 and lint."""
    from ..analysis.capacity import capacity

    with user_errors():
        sc = load_with_changes(scenario, sets)
        cap = capacity(sc)
    if as_json:
        from ..present.folders import to_json  # infinities (a scaling rate that never reaches the peak) become null

        emit(to_json(cap), nl=False)
        return
    for t in capacity_tables(cap):
        print_table(t)
    tot = cap["total"]
    if tot["enis_packed"] is not None:
        formula = f", {tot['enis_formula']:,} by the doc's formula" if sc.platform == "legacy" else ""
        say(f"All functions at their projected peaks: {tot['projected_peak']:,} concurrent executions in service on "
            f"average ({tot['enis_packed']:,} ENIs packed{formula}), "
            f"{tot['peak_in_service']:,} at the p99.9 of a run's peak ({tot['enis_at_peak']:,} ENIs); "
            f"{tot['eni_quota_free']:,} free under the ENI quota; scaling needs "
            f"{format_duration(tot['scaling_s']) if math.isfinite(tot['scaling_s']) else 'forever'}.")
    print_lint(cap["lint"])



# --------------------------------------------------------------------------------------------------- schema


@app.command(cls=Command)
def schema() -> None:
    """Print the JSON Schema of the scenario file."""
    from ..scenario.models import json_schema

    emit(json.dumps(json_schema(), indent=2))
