"""The command line (SPEC §6): parse, call the library, render. Nothing else in the package prints.

Exit codes: 0 fine, 1 an expectation failed, 2 invalid input (a bad file or a bad option). A user error is one
line on stderr naming the file, line and field; never a traceback (``--debug`` shows one).
"""

from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__
from .scenario import Problem, Scenario, ScenarioError, load_scenario
from .units import format_duration

app = typer.Typer(
    name="vpcsim",
    help="Capacity planning for AWS Lambda functions in a VPC: ENIs, subnet addresses, AZs and scaling limits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Tables are wide: when the output is a file or a CI log (no terminal), do not squeeze them to 80 columns.
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_DEBUG = False


class UserError(Exception):
    """A problem with what the user gave us (not with vpcsim): one line, exit code 2."""


@contextmanager
def user_errors():
    """Turn the library's errors about user input into one line each on stderr and exit code 2."""
    try:
        yield
    except ScenarioError as exc:
        if _DEBUG:
            raise
        for p in exc.problems:
            err.print(str(p), markup=False)
        raise typer.Exit(2) from None
    except UserError as exc:
        if _DEBUG:
            raise
        err.print(f"vpcsim: error: {exc}", markup=False)
        raise typer.Exit(2) from None


def check_out_dir(path: Path | None, option: str = "--out") -> None:
    """Refuse, before any work is done, an output folder whose replacement would destroy what vpcsim did not write
    (see :func:`simulator.output.check_dir_target`)."""
    from .output import OutputError, check_dir_target

    if path is not None:
        try:
            check_dir_target(path)
        except OutputError as exc:
            raise UserError(f"{option} {exc}") from None


def check_out_file(path: Path | None, option: str = "--out") -> None:
    """Refuse, before any work is done, an output file path that is a folder or not a regular file."""
    from .output import OutputError, check_file_target

    if path is not None:
        try:
            check_file_target(path)
        except OutputError as exc:
            hint = f" (e.g. {path / 'report.xml'})" if option == "--junit" and path.is_dir() else ""
            raise UserError(f"{option} {exc}{hint}") from None


@contextmanager
def writing(path: Path | str, option: str | None = "--out"):
    """Writing an output: an OS error, or a target the library's writers refuse, becomes one line naming the
    option and the path (exit 2)."""
    from .output import OutputError

    prefix = f"{option} " if option else ""
    with user_errors():
        try:
            yield
        except OutputError as exc:
            raise UserError(f"{prefix}{exc}") from None
        except OSError as exc:
            raise UserError(f"{prefix}{path}: cannot write: {exc.strerror or exc}") from None


def _version(value: bool) -> None:
    if value:
        out.print(f"vpcsim {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.")] = False,
) -> None:
    global _DEBUG
    _DEBUG = debug


ScenarioArg = Annotated[Path, typer.Argument(metavar="SCENARIO", help="A scenario file (YAML).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of tables.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="PATH=VALUE",
                 help="Change the scenario: functions.NAME.memory_mb=2048, vpc.subnets.ID.cidr=10.0.1.0/26, "
                      "platform=hyperplane. Repeatable."),
]


def parse_sets(items: list[str] | None, option: str = "--set") -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` → ``{"a.b": 1, "c": "x"}``; values are read as YAML scalars/lists, within the limits of
    a scenario file (no alias bomb, no nesting beyond 64 levels: ``simulator.scenario.yaml_value``)."""
    from .scenario import yaml_value

    changes: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set {_quoted(item)}: expected PATH=VALUE, e.g. functions.checkout.memory_mb=2048")
        path, _, text = item.partition("=")
        try:
            value = yaml_value(text) if text.strip() else ""
        except ScenarioError as exc:
            message = exc.problems[0].message
            if not message.startswith("invalid YAML"):  # valid YAML beyond the limits
                raise UserError(f"{option} {path.strip()}: the value {message}") from None
            if text.strip()[:1] in ("{", "["):  # meant as a mapping or a list: say so, not "not a duration"
                problem = message.removeprefix("invalid YAML: ")
                raise UserError(f"{option} {path.strip()}: not a valid YAML mapping or list: {problem} "
                                f"(got {_quoted(text)})") from None
            value = text
        changes[path.strip()] = value
    return changes


def _quoted(text: str) -> str:
    """An option's value in a message: quoted, and cut short (a value may be a 100 KB argument)."""
    return repr(text) if len(text) <= 80 else repr(text[:77]) + "..."


def load_with_changes(path: Path, sets: list[str] | None, seed: int | None = None) -> Scenario:
    sc = load_scenario(path)
    changes = parse_sets(sets)
    if seed is not None:
        changes["seed"] = seed
    if not changes:
        return sc
    try:
        return sc.with_changes(changes)
    except ScenarioError as exc:
        if seed is None:
            raise
        # The seed came from --seed (unless --set seed= gave one too): name the option the user wrote.
        raise ScenarioError([p._replace(path="--seed") if p.path == "--set seed" and not any(
            s.strip().startswith("seed=") for s in sets or []) else p for p in exc.problems]) from None


def _num(v: Any, digits: int = 0) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isinf(v):
            return "∞"
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


# --------------------------------------------------------------------------------------------------- validate


@app.command()
def validate(
    scenarios: Annotated[list[Path], typer.Argument(metavar="SCENARIO", help="Scenario files.", show_default=False)],
    strict: Annotated[bool, typer.Option("--strict", help="Lint warnings fail too (exit 2).")] = False,
) -> None:
    """Check scenario files: the schema, cross-references and the lint rules of the capacity calculator."""
    from .capacity import capacity

    bad = 0
    warned = 0
    for path in scenarios:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            for p in exc.problems:
                err.print(str(p), markup=False)
            bad += 1
            continue
        findings = capacity(sc)["lint"]
        warnings = [f for f in findings if f["level"] == "warning"]
        warned += bool(warnings)
        status = "ok" if not warnings else f"ok, {len(warnings)} warning{'s' * (len(warnings) != 1)}"
        out.print(f"{path}: {status}", markup=False, soft_wrap=True)
        for f in findings:
            who = f" {f['function']}:" if f["function"] else ""
            out.print(f"  {f['level']} [{f['rule']}]{who} {f['message']}", markup=False, soft_wrap=True)
    if strict and warned:  # say why the exit code is 2 when every file printed "ok"
        err.print(f"vpcsim: error: --strict: {warned} file{'s' * (warned != 1)} with lint warnings", markup=False)
    if bad or (strict and warned):
        raise typer.Exit(2)


# --------------------------------------------------------------------------------------------------- capacity


def capacity_tables(cap: dict[str, Any]) -> list[Table]:
    """The capacity figures as rich tables (also used by `run`)."""
    fns = Table(title=f"Capacity of {escape(cap['scenario'])} — concurrent executions each limit allows", title_justify="left")
    for col, justify in [("function", "left"), ("memory MB", "right"), ("env/ENI", "right"),
                         ("projected peak", "right"), ("ENIs (doc formula)", "right"), ("ENIs (packed)", "right"),
                         ("concurrency", "right"), ("subnet IPs", "right"), ("ENI quota", "right"),
                         ("N-1 AZ", "right"), ("scaling s", "right"), ("binding", "left")]:
        fns.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, f in cap["functions"].items():
        c = f["ceilings"]
        binding = f["binding"]
        cells = {k: _num(c[k]) for k in ("concurrency", "subnet_ips", "eni_quota")}
        cells[binding] = f"[bold]{cells[binding]}[/bold]"
        fits = f["projected_peak"] <= c[binding]
        fns.add_row(name, _num(f["memory_mb"]), _num(f["slots_per_eni"]), _num(f["projected_peak"]),
                    _num(f["enis_formula"]), _num(f["enis_packed"]), cells["concurrency"], cells["subnet_ips"],
                    cells["eni_quota"], _num(c["n_minus_1"]), _num(c["scaling_s"], 1),
                    f"{binding}" + ("" if fits else " [red](peak above)[/red]"))
    tables = [fns]
    if cap["subnets"]:
        sub = Table(title="Subnets at the projected peaks", title_justify="left")
        for col in ("subnet", "AZ", "usable IPs", "free IPs", "projected ENIs", "fits"):
            sub.add_column(col, justify="left" if col in ("subnet", "AZ", "fits") else "right")
        for sid, s in cap["subnets"].items():
            ok = s["projected_enis"] <= s["free_ips"]
            sub.add_row(sid, s["az"], _num(s["usable_ips"]), _num(s["free_ips"]), _num(s["projected_enis"]),
                        "yes" if ok else "[red]no[/red]")
        tables.append(sub)
    return tables


def print_lint(findings: list[dict]) -> None:
    if not findings:
        out.print("Lint: no findings.")
        return
    out.print("Lint:")
    for f in findings:
        colour = "yellow" if f["level"] == "warning" else "cyan"
        who = f" {f['function']}:" if f["function"] else ""
        out.print(f"  [{colour}]{f['level']}[/{colour}] {escape('[' + f['rule'] + ']')}{escape(who)} ", end="",
                  soft_wrap=True)
        out.print(f["message"], markup=False, soft_wrap=True)


@app.command(name="capacity")
def capacity_cmd(
    scenario: ScenarioArg,
    as_json: JsonOpt = False,
    sets: SetOpt = None,
) -> None:
    """The closed-form figures (no simulation): the doc's ENI formula, packing, ceilings, N-1 and lint."""
    from .capacity import capacity

    with user_errors():
        sc = load_with_changes(scenario, sets)
        cap = capacity(sc)
    if as_json:
        from .output import to_json  # infinities (a scaling rate that never reaches the peak) become null

        typer.echo(to_json(cap), nl=False)
        return
    for t in capacity_tables(cap):
        out.print(t)
    tot = cap["total"]
    if tot["enis_packed"] is not None:
        out.print(f"All functions at their projected peaks: {tot['projected_peak']:,} concurrent executions, "
                  f"{tot['enis_packed']:,} ENIs packed ({tot['enis_formula']:,} by the doc's formula), "
                  f"{tot['eni_quota_free']:,} free under the ENI quota; scaling needs "
                  f"{format_duration(tot['scaling_s']) if math.isfinite(tot['scaling_s']) else 'forever'}.",
                  soft_wrap=True)
    print_lint(cap["lint"])


# --------------------------------------------------------------------------------------------------- run

# The outcomes that show a ceiling was reached.
BINDING_CAUSES = {
    "concurrency": ("throttled_concurrency", "throttled_reserved"),
    "subnet_ips": ("subnet_ips",),
    "eni_quota": ("eni_limit",),
}


def _pct(v: float | None) -> str:
    if v is None:
        return "-"
    if v == 0:
        return "0"
    if v < 0.00001:  # would print as 0.000%: it is not zero (as in the HTML report)
        return "<0.001%"
    if 0.99995 <= v < 1:  # would print as 100.00%: it is not all
        return ">99.99%"
    return f"{v:.3%}" if v < 0.001 else f"{v:.2%}"


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:,.1f}")


def _when(t: float | None) -> str:
    """A simulated time for people, as the report writes it: 42.5s, 20m1s, 1h2m3s."""
    from .report import fmt_clock

    return "-" if t is None else fmt_clock(t)


def print_summary(s: dict[str, Any], timeseries: Any = None) -> None:
    """The run's summary as a few tables an architect can paste into a design review."""
    from .metrics import LAMBDA_ERRORS
    from .report import verdict

    head = (f"[bold]{escape(s['scenario'])}[/bold]  platform {s['platform']}, seed {s['seed']}, "
            f"{format_duration(s['simulated_s'])} simulated in {s['wall_s']:.1f} s")
    reps = s.get("replications")
    if reps:
        head += f"; means of {reps['n']} replications"
    out.print(head, soft_wrap=True)
    colour = "green" if s["error_rate"] == 0 else "red"
    # Prose is not wrapped at the console width: a CI log or a file keeps each sentence on one line.
    out.print(f"[{colour}]{escape(verdict(s, timeseries)['headline'])}[/{colour}]", soft_wrap=True)

    t = Table(title="Outcomes", title_justify="left")
    t.add_column("outcome")
    t.add_column("invocations", justify="right")
    t.add_column("share", justify="right")
    t.add_column("first at", justify="right")
    t.add_column("Lambda error")
    inv = s["invocations"] or 0
    for cause, n in s["outcomes"].items():
        if n or cause == "success":
            t.add_row(cause, f"{n:,}", _pct(n / inv if inv else None), _when(s["first_outcome_s"].get(cause)),
                      LAMBDA_ERRORS[cause])
    out.print(t)

    lat = Table(title="Latency of successful invocations (ms)", title_justify="left")
    for col in ("", "p50", "p95", "p99", "max", "mean"):
        lat.add_column(col, justify="left" if not col else "right")
    for label, key in (("end to end", "latency_ms"), ("cold start (ENI wait + init)", "cold_start_ms")):
        v = s[key]
        lat.add_row(label, *(_ms(v[q]) for q in ("p50", "p95", "p99", "max", "mean")))
    out.print(lat)
    out.print(f"Concurrency: mean {s['mean_concurrency']:.1f}, peak {s['peak_concurrency']:,}.  "
              f"Environments: mean {s['mean_environments']:.1f}, peak {s['peak_environments']:,}.  "
              f"Cold starts: {s['cold_starts']:,} ({_pct(s['cold_start_rate'])} of executions)."
              + (f"  Peak ENIs: {s['peak_enis']:,}." if s["peak_enis"] is not None else ""), soft_wrap=True)

    if s["subnets"]:
        sub = Table(title="Subnets (addresses)", title_justify="left")
        for col in ("subnet", "AZ", "usable", "peak used", "min free", "exhausted at", "exhausted for"):
            sub.add_column(col, justify="left" if col in ("subnet", "AZ") else "right")
        for sid, v in s["subnets"].items():
            ex = v["exhausted_s"]
            sub.add_row(sid, v["az"], f"{v['usable_ips']:,}", f"{v['peak_ips_used']:,}", f"{v['min_free_ips']:,}",
                        "[red]" + _when(ex) + "[/red]" if ex is not None else "never",
                        _when(v["exhausted_for_s"]) if ex is not None else "-")
        out.print(sub)

    cap = s["capacity"]
    ceil = Table(title="Ceilings (closed form) and what the run saw", title_justify="left")
    for col in ("function", "projected peak", "simulated peak", "binding limit", "ceiling", "hit at", "N-1 AZ",
                "failure rate", "throttle rate"):
        ceil.add_column(col, justify="left" if col in ("function", "binding limit") else "right")
    for name, f in s["functions"].items():
        c = cap["functions"][name]
        hit = [f["first_outcome_s"][cause] for cause in BINDING_CAUSES[c["binding"]] if cause in f["first_outcome_s"]]
        ceil.add_row(name, f"{c['projected_peak']:,}", f"{f['peak_concurrency']:,}", c["binding"],
                     f"{c['ceilings'][c['binding']]:,}", _when(min(hit)) if hit else "not hit",
                     _num(c["ceilings"]["n_minus_1"]), _pct(f["failure_rate"]), _pct(f["throttle_rate"]))
    out.print(ceil)
    if s.get("expectations"):
        print_expectations(s["expectations"])


def print_expectations(rows: list[dict[str, Any]]) -> None:
    """The expectations table (value in the metric's unit; with replications the mean and its 95% interval),
    then one sentence per failed expectation."""
    from .expectations import format_value

    t = Table(title="Expectations", title_justify="left")
    for col in ("metric", "condition", "value", "verdict"):
        t.add_column(col, justify="right" if col == "value" else "left")
    for r in rows:
        kind = r.get("kind", "number")
        value = format_value(r["value"], kind)
        if r.get("ci"):
            value += f" ({format_value(r['ci'][0], kind)} .. {format_value(r['ci'][1], kind)})"
        end = " (interval end)" if r.get("checked_as") in ("ci_low", "ci_high") else ""
        t.add_row(escape(r["path"]), escape(r["condition"]), escape(value),
                  ("[green]pass[/green]" if r["passed"] else "[red]FAIL[/red]") + end)
    out.print(t)
    for r in rows:
        if not r["passed"] and r.get("message"):
            out.print(f"[red]FAIL[/red] {escape(r['message'])}", soft_wrap=True)


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


@app.command()
def run(
    scenario: ScenarioArg,
    out_dir: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Write summary.json, timeseries.csv, scenario.yaml "
                                                               "(and the report) into this folder.")] = None,
    as_json: JsonOpt = False,
    seed: Annotated[int | None, typer.Option("--seed", min=0, metavar="N", help="Override the scenario's seed.")] = None,
    sets: SetOpt = None,
    record: Annotated[bool, typer.Option("--record-invocations",
                                         help="Keep one row per invocation (invocations.csv with --out).")] = False,
    replications: Annotated[int | None, typer.Option(
        "--replications", min=1, metavar="N", help="Independent replications; the summary holds means and 95% intervals "
                                      "(default: the scenario's `replications`, else 1).")] = None,
    workers: Annotated[int, typer.Option("--workers", min=0, metavar="N", help="Worker processes for replications "
                                                                  "(0: one per CPU).")] = 1,
    strict: Annotated[bool, typer.Option("--strict", help="With replications, expectations check the unfavourable "
                                                          "end of the 95% interval, not the mean.")] = False,
) -> None:
    """Simulate a scenario and report outcomes, latency, peaks, subnet addresses and ceilings."""
    from .output import to_json, write_run
    from .results import simulate

    with user_errors():
        sc = load_with_changes(scenario, sets, seed)
        check_out_dir(out_dir)  # before the run: a bad --out must not cost the simulation, nor replace a file
    show_bar = not as_json and err.is_terminal
    n_reps = replications if replications is not None else sc.replications
    if strict and n_reps < 2:
        with user_errors():
            raise UserError("--strict checks the unfavourable end of a 95% interval, and one run has none: add "
                            "--replications N (5 or more), or leave --strict out")
    if n_reps > 1:  # replications (simulator.sweep): means, intervals; time series of replication 0
        from .cli_check import _progress, _sweep_errors
        from .sweep import run_replications

        with _sweep_errors(), _progress(f"{n_reps} replications", show_bar) as done:
            result = run_replications(sc, n_reps, workers=workers, strict=strict, record_invocations=record,
                                      progress=done)
    else:
        with _progress_runner(show_bar) as progress:
            result = simulate(sc, record_invocations=record, progress=progress)
    if out_dir is not None:
        with writing(out_dir):
            write_run(result, out_dir)
    if as_json:
        typer.echo(to_json(result.summary), nl=False)
    else:
        print_summary(result.summary, result.timeseries)
        if result.summary.get("replications"):
            from .cli_check import print_replications

            print_replications(result.summary)
        if out_dir is not None:
            out.print(f"Results written to {escape(str(out_dir))}/")
    exps = result.summary.get("expectations") or []
    if any(not e["passed"] for e in exps):
        raise typer.Exit(1)


# --------------------------------------------------------------------------------------------------- schema


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario file."""
    from .scenario import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


# --------------------------------------------------------------------------------------------------- entry


def main(argv: list[str] | None = None) -> int:
    """The ``vpcsim`` command. Returns the exit code (0, 1 or 2)."""
    try:
        rv = app(args=argv, prog_name="vpcsim", standalone_mode=False)
        if rv == 130:  # typer turns Ctrl-C into exit code 130, silently
            err.print("vpcsim: interrupted (nothing was written)", markup=False)
    except typer.TyperException as exc:  # typer's (click's) usage errors: a bad option, a missing argument
        message = exc.format_message()
        if type(exc).__name__ == "NoArgsIsHelpError":
            out.print(message, markup=False)
            return 0
        ctx = getattr(exc, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        err.print(f"vpcsim: error: {where}{message}", markup=False)
        return 2 if getattr(exc, "exit_code", 2) == 2 else int(exc.exit_code)
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err.print("vpcsim: interrupted", markup=False)
        return 130
    except ScenarioError as exc:  # only when a command forgot user_errors(); still no traceback
        if _DEBUG:
            raise
        for p in exc.problems:
            err.print(str(p), markup=False)
        return 2
    except UserError as exc:
        if _DEBUG:
            raise
        err.print(f"vpcsim: error: {exc}", markup=False)
        return 2
    return rv if isinstance(rv, int) else 0


from . import cli_check  # noqa: E402,F401,I001  (registers check, sweep)
from . import cli_import  # noqa: E402,F401
from . import cli_report  # noqa: E402,F401  (registers report, compare)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["app", "main", "Problem"]
