"""The ``check`` and ``sweep`` commands (SPEC §6): sizing assumptions in CI, and parameter grids.

``vpcsim check PATH...`` finds the scenarios that have ``expect`` (files, or folders searched recursively), runs each
(with its ``replications``), prints one table of every expectation with its measured value and verdict, and exits 0
when all hold, 1 when any fails, 2 when a file is invalid (or nothing was found to check). ``--junit FILE`` writes
JUnit XML, one testsuite per scenario and one testcase per expectation, written whole or not at all.

``vpcsim sweep SCENARIO --vary PATH=V1,V2,...`` runs the full grid × replications and prints the means per point;
``--out DIR`` writes ``sweep.csv`` (tidy: one row per point and replication), ``sweep_means.csv`` and ``sweep.png``.

Registered on the main app by one import at the bottom of ``cli.py``; like ``cli.py``, this module prints.
"""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..summary import format_value, percent

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario.models import Scenario

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
    check_out_file,
    emit,
    err,
    gate,
    load_with_changes,
    out,
    parse_sets,
    print_problems,
    print_table,
    progress_bar,
    run_errors,
    say,
    user_errors,
    writing,
)

__all__ = ["check", "sweep_command", "junit_xml", "parse_vary"]


ReplicationsOpt = Annotated[int | None, typer.Option("--replications", min=1, metavar="N", help="Independent replications "
                                                     "(default: the scenario's `replications`, else 1).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="With replications, check the unfavourable end of the "
                                                          "95% interval instead of the mean.")]


# --------------------------------------------------------------------------------------------------- check


def _line(sc: Scenario, row: dict[str, Any]) -> int | None:
    marks = getattr(sc, "_marks", {}) or {}
    key = ("expect", row["key"])
    if row.get("index") is not None and key + (row["index"],) in marks:
        return marks[key + (row["index"],)]
    return marks.get(key)


def junit_xml(suites: list[dict[str, Any]]) -> bytes:
    """JUnit XML for ``check``: a testsuite per scenario file, a testcase per expectation; a failure's message says
    which assumption broke and with which value, its text adds the run's key figures. An invalid file is a suite
    with one errored testcase carrying every problem."""
    root = ET.Element("testsuites", name="vpcsim check")
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for suite in suites:
        rows = suite.get("rows") or []
        failures = sum(not r["passed"] for r in rows)
        errors = 1 if suite.get("problems") else 0
        tests = len(rows) + errors
        el = ET.SubElement(root, "testsuite", name=suite["name"], file=str(suite["file"]), tests=str(tests),
                           failures=str(failures), errors=str(errors), skipped="0", time=f"{suite['time']:.3f}",
                           hostname=socket.gethostname())
        totals["tests"] += tests
        totals["failures"] += failures
        totals["errors"] += errors
        totals["time"] += suite["time"]
        if suite.get("properties"):
            props = ET.SubElement(el, "properties")
            for k, v in suite["properties"].items():
                ET.SubElement(props, "property", name=k, value=str(v))
        classname = f"vpcsim.{suite['name']}"
        if errors:
            case = ET.SubElement(el, "testcase", classname=classname, name="scenario file is valid",
                                 file=str(suite["file"]), time="0")
            lines = [str(p) for p in suite["problems"]]
            e = ET.SubElement(case, "error", message=lines[0], type="ScenarioError")
            e.text = "\n".join(lines)
        for r in rows:
            attrs = {"classname": classname, "name": f"{r['path']} {r['condition']}", "file": str(suite["file"]),
                     "time": "0"}
            if r.get("line") is not None:
                attrs["line"] = str(r["line"])
            case = ET.SubElement(el, "testcase", attrs)
            if not r["passed"]:
                f = ET.SubElement(case, "failure", message=f"{suite['name']}: {r['message']}",
                                  type="ExpectationFailed")
                f.text = f"{r['message']}\n\nThe run's key figures:\n{suite['figures']}"
            else:
                ET.SubElement(case, "system-out").text = r["message"]
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _strict_note(suites: list[dict[str, Any]]) -> str:
    """What --strict did: one run has no interval, so its values were checked as they are."""
    once = [s["name"] for s in suites if s.get("properties", {}).get("replications") == 1]
    if not once:
        return "; strict: the unfavourable end of each 95% interval was checked"
    if len(once) == sum(1 for s in suites if "properties" in s):
        return ("; strict had no effect: one replication has no 95% interval, so the values themselves were "
                "checked (use --replications 5 or more)")
    return (f"; strict: the unfavourable end of each 95% interval was checked, except in {', '.join(once)} (one "
            f"replication: no interval)")


@app.command(cls=Command)
def check(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", help="Scenario files or folders (searched recursively for YAML "
                                                     "scenarios that have `expect`).", show_default=False)],
    junit: Annotated[Path | None, typer.Option("--junit", metavar="FILE",
                                               help="Write JUnit XML (one testcase per expectation).")] = None,
    replications: ReplicationsOpt = None,
    workers: WorkersOpt = 1,
    strict: StrictOpt = False,
    yes: YesOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the --junit file even if it is not a JUnit report "
                                                        "vpcsim wrote.")] = False,
) -> None:
    """Run every scenario that has `expect` and check its sizing assumptions: exit 0 when all hold, 1 when one
    fails, 2 when a file is invalid."""
    from ..analysis.expectations import ExpectationError, find_scenario_files, key_figures
    from ..analysis.sweep import run_replications
    from ..present.folders import JUNIT_REPORT
    from ..present.report import fmt_expectation_value
    from ..scenario.models import load_scenario
    from ..scenario.problems import ScenarioError

    with user_errors():
        # Before the runs: a CI job must not lose them to a typo in the path, nor a file to a wrong name.
        check_out_file(junit, "--junit", JUNIT_REPORT, force)
        try:
            files, skipped = find_scenario_files(paths)
        except ExpectationError as exc:
            raise UserError(str(exc)) from None
    # A file named on the command line that cannot be read as text is invalid (exit 2), not "without expect:".
    named = {Path(p).resolve() for p in paths if Path(p).is_file()}
    unreadable = [f for f, why in skipped if why == "not readable as text" and f.resolve() in named]
    if unreadable:
        files = files + unreadable
        skipped = [(f, why) for f, why in skipped if f not in unreadable]
    if not files:
        where = ", ".join(str(p) for p in paths)
        raise_msg = f"no scenario with an `expect:` section found in {where}"
        if skipped:
            raise_msg += f" ({len(skipped)} YAML file{'s' * (len(skipped) != 1)} without one)"
        err.print(f"vpcsim: error: {raise_msg}", markup=False)
        raise typer.Exit(2)
    suites: list[dict[str, Any]] = []

    def expectations_table(title: str, scenario_column: bool = True) -> Table:
        t = Table(title=title, title_justify="left")
        for col in ("scenario", "metric", "condition", "value", "verdict")[0 if scenario_column else 1:]:
            t.add_column(col, justify="right" if col == "value" else "left",
                         overflow="fold" if col in ("scenario", "metric", "condition") else "ellipsis")
        return t

    table = expectations_table("Expectations")
    per_scenario: list[Table] = []  # the narrow layout: a table per scenario, without the scenario column
    explained: list[str] = []
    invalid = 0
    for file in files:
        started = time.perf_counter()
        try:
            sc = load_scenario(file)
        except ScenarioError as exc:
            invalid += 1
            print_problems(exc.problems)
            suites.append({"name": str(file), "file": file, "time": 0.0, "problems": exc.problems})
            continue
        n = replications if replications is not None else sc.replications
        with user_errors():
            gate(sc, yes=yes, replications=n, workers=workers)
        label = f"{file} ({n} replication{'s' * (n != 1)})"
        with run_errors(), progress_bar(f"checking {label}", err.is_terminal) as progress:
            result = run_replications(sc, n, workers=workers, strict=strict and n > 1, progress=progress)
        rows = [dict(r, line=_line(sc, r)) for r in result.summary["expectations"] or []]
        suites.append({
            "name": sc.name, "file": file, "time": time.perf_counter() - started, "rows": rows,
            "figures": key_figures(result.summary),
            "properties": {"seed": sc.seed, "replications": n, "strict": strict, "platform": sc.platform},
        })
        if rows:
            per_scenario.append(expectations_table(f"Expectations of {escape(sc.name)}", scenario_column=False))
        for r in rows:
            cells = (escape(r["path"]), escape(r["condition"]), escape(fmt_expectation_value(r)),
                     "[green]pass[/green]" if r["passed"] else "[red]FAIL[/red]")
            table.add_row(escape(sc.name), *cells)
            per_scenario[-1].add_row(*cells)
        failed = [r for r in rows if not r["passed"]]
        if failed:
            where = f"{file}:{failed[0]['line']}" if failed[0].get("line") else str(file)
            text = [f"[red]FAIL[/red] {escape(sc.name)} ({escape(where)}):"]
            text += [f"  {escape(r['message'])}" for r in failed]
            text += ["  The run's key figures:"] + [f"    {escape(line)}" for line in key_figures(result.summary)
                                                     .splitlines()]
            explained.append("\n".join(text))
    if table.row_count:
        print_table(table, per_scenario)
    for block in explained:
        say(block)
    rows_all = [r for s in suites for r in s.get("rows", [])]
    n_failed = sum(not r["passed"] for r in rows_all)
    checked = sum(1 for s in suites if "rows" in s)
    plural = {True: "s", False: ""}
    say((f"{len(rows_all)} expectation{plural[len(rows_all) != 1]} in {checked} scenario"
         f"{plural[checked != 1]}: {len(rows_all) - n_failed} held, {n_failed} failed" if checked else
         "Nothing was checked")
        + (f"; {invalid} invalid file{plural[invalid != 1]} (exit 2)" if invalid else "")
        + (f"; {len(skipped)} YAML file{'s' * (len(skipped) != 1)} without expect: skipped" if skipped else "")
        + (_strict_note(suites) if strict else "") + ".")
    if junit is not None:
        from ..present.folders import atomic_file

        with writing(junit, "--junit"), atomic_file(junit, JUNIT_REPORT, "wb", force=force) as fh:
            fh.write(junit_xml(suites))
        out.print(f"JUnit report written to {escape(str(junit))}")
    if invalid:
        raise typer.Exit(2)
    if n_failed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------------------------------- sweep


def _split_values(text: str) -> list[str]:
    """``"512,1024"`` → ``["512", "1024"]``; commas inside brackets or quotes stay (``[a,b],[c]``)."""
    items: list[str] = []
    cur: list[str] = []
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    items.append("".join(cur))
    return [i.strip() for i in items]


def parse_vary(items: list[str] | None) -> dict[str, list[Any]]:
    """``["functions.f.memory_mb=512,1024"]`` → ``{"functions.f.memory_mb": [512, 1024]}`` (values read as YAML
    scalars, like ``--set``)."""
    vary: dict[str, list[Any]] = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--vary {item!r}: expected PATH=V1,V2,..., e.g. functions.checkout.memory_mb=512,1024")
        path, _, text = item.partition("=")
        path = path.strip()
        if not path:
            raise UserError(f"--vary {item!r}: the path before '=' is empty")
        if path in vary:
            raise UserError(f"--vary {path}: given twice; list all its values in one --vary")
        values = _split_values(text)
        if not text.strip() or any(v == "" for v in values):
            raise UserError(f"--vary {item!r}: an empty value; write PATH=V1,V2,...")
        parsed = [parse_sets([f"{path}={v}"], option="--vary")[path] for v in values]
        if len({repr(v) for v in parsed}) != len(parsed):
            raise UserError(f"--vary {path}: a value is listed twice (got {text})")
        vary[path] = parsed
    return vary


def _means_table(means, vary: list[str], title: str) -> Table:
    from ..analysis.expectations import MS, NUMBER, RATE, USD

    t = Table(title=title, title_justify="left")
    for p in vary:  # the tail of the path: functions.NAME. and vpc.subnets. are clear from the value
        t.add_column(p.removeprefix("functions.").removeprefix("vpc.subnets."))
    cols = [("n", "runs", NUMBER), ("error_rate", "failed or throttled", RATE),
            ("latency_p99_ms", "p99 latency", MS), ("peak_concurrency", "peak concurrency", NUMBER),
            ("peak_enis", "peak ENIs", NUMBER), ("min_free_ips", "fewest free IPs", NUMBER),
            ("monthly_usd", "cost per 30 days", USD)]
    cols = [c for c in cols if c[0] in means.columns and means[c[0]].notna().any()]
    for _, header, _ in cols:
        t.add_column(header, justify="right")
    if "expectations_passed" in means.columns:
        t.add_column("expect held", justify="right")
    # Records keep each column's type (iterrows turns a row of numbers into floats: memory_mb 1024.0).
    for row in means.to_dict("records"):
        cells = [escape("[" + ",".join(map(str, row[p])) + "]" if isinstance(row[p], list) else str(row[p]))
                 for p in vary]  # a varied list as --vary takes it: [app-a,app-b]
        for col, _, kind in cols:
            v = row[col]
            if v is None or v != v:  # NaN
                cells.append("-")
                continue
            text = format_value(float(v), kind) if kind == RATE else format_value(v, kind)
            if kind == NUMBER and col != "n" and (row.get("n") or 1) > 1:  # means: one decimal in every row, not 98 / 95.80
                text = f"{float(v):,.1f}"
            if kind == RATE and f"{col}_ci_high" in row and row[f"{col}_ci_high"] == row[f"{col}_ci_high"]:
                half = (row[f"{col}_ci_high"] - row[f"{col}_ci_low"]) / 2
                text = "0" if v == 0 and half == 0 else f"{percent(v)} ± {percent(half)}"
            cells.append(text)
        if "expectations_passed" in means.columns:
            share = row["expectations_passed"]
            cells.append("-" if share != share or share is None else f"{share:.0%}")
        t.add_row(*cells)
    return t


@app.command("sweep", cls=Command)
def sweep_command(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO", help="A scenario file (YAML).", show_default=False)],
    vary: Annotated[list[str], typer.Option("--vary", metavar="PATH=V1,V2,...",
                                            help="A parameter and its values (the paths of --set). Repeat it for "
                                                 "a grid: every combination is run.")],
    replications: ReplicationsOpt = None,
    workers: WorkersOpt = 1,
    scheduler: SchedulerOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Write sweep.csv, sweep_means.csv and sweep.png "
                                                               "into this folder.")] = None,
    seed: SeedOpt = None,
    sets: SetOpt = None,
    as_json: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """Run a grid of scenario variants × replications; print the means per grid point (tidy CSV with --out)."""
    from ..analysis.sweep import sweep, sweep_means, write_sweep

    with user_errors():
        sc = load_with_changes(scenario, sets, seed)
        grid = parse_vary(vary)
        check_out_dir(out_dir)
    with run_errors():
        n = replications if replications is not None else sc.replications
        points = 1
        for values in grid.values():
            points *= len(values)
        with user_errors():
            gate(sc, yes=yes, replications=n, points=points, workers=workers)
        show = err.is_terminal and not as_json
        with progress_bar(f"sweep: {points} points x {n} replications", show) as progress:
            df = sweep(sc, grid, replications=n, workers=workers, scheduler=scheduler, progress=progress)
    paths = list(grid)
    means = sweep_means(df, paths)
    if out_dir is not None:
        with writing(out_dir):
            write_sweep(df, out_dir, paths, title=sc.name)
    if as_json:
        emit(df.to_json(orient="records", indent=2))
        return
    title = (f"Sweep of {escape(sc.name)}: {len(means)} points x {n} replication{'s' * (n != 1)}"
             + (" (means; ± is the 95% interval)" if n > 1 else ""))
    print_table(_means_table(means, paths, title))
    if out_dir is not None:
        out.print(f"Sweep written to {escape(str(out_dir))}/ (sweep.csv, sweep_means.csv, sweep.png)")

