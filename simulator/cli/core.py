"""The command line (SPEC §6): parse, call the library, render. Nothing else in the package prints.

Exit codes: 0 fine, 1 an expectation failed, 2 invalid input (a bad file or a bad option). A user error is one
line on stderr naming the file, line and field; never a traceback (``--debug`` shows one).
"""

from __future__ import annotations

import json
import math
import signal
import sys
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand

from ..errors import VpcsimError
from ..units import format_duration
from ..version import __version__

if TYPE_CHECKING:  # pragma: no cover - the scenario layer is imported by the commands that load one
    from ..scenario.models import Scenario
    from ..scenario.problems import Problem
    from ..summary import Summary


class Command(TyperCommand):
    """A command whose help names its arguments as the README does: ``vpcsim run [OPTIONS] SCENARIO`` and
    ``SCENARIO  A scenario file``. Typer 0.29 writes a required argument as ``{SCENARIO}`` in the usage line and adds
    the Python type beside it (``<path>``, ``<list[Path]>``), which is no help to a reader."""

    @staticmethod
    def _name(param: Any) -> str:
        name = param.metavar or param.name.upper()
        return name + ("..." if param.nargs != 1 else "")

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(self._name(param) if param.required else f"[{self._name(param)}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((self._name(param), record[1]))
            else:
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


app = typer.Typer(
    name="vpcsim",
    help="Capacity planning for AWS Lambda functions in a VPC: ENIs, subnet addresses, AZs and scaling limits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# On a terminal, tables and sentences fit its width (print_table, say). Anywhere else (a file, a pipe, a CI log)
# lines stay whole: tables get 200 columns and a sentence is never wrapped, so that a log can be searched line by line.
_TERMINAL = sys.stdout.isatty()
out = Console(highlight=False, soft_wrap=False, width=None if _TERMINAL else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_DEBUG = False


def debugging() -> bool:
    """Whether ``--debug`` was given: errors then show their traceback."""
    return _DEBUG


def say(text: str, *, markup: bool = True) -> None:
    """A sentence (or a line of a list) on stdout: wrapped at the terminal's width, on one line anywhere else."""
    out.print(text, markup=markup, soft_wrap=not _TERMINAL)


def _widths(table: Table, fold: bool) -> tuple[list[int], list[int], int]:
    """The narrowest and the natural width of each column's content (headers included), and what the table adds
    (padding and borders). A column's narrowest is its longest word: a number is never cut. With ``fold``, a column
    of text that may fold (``overflow="fold"``: an exception name, a summary path) can go down to 10 and break a
    long word."""
    options = out.options.update_width(10_000)
    lows, highs = [], []
    for col in table.columns:
        cells = [col.header, *col.cells]
        sizes = [Measurement.get(out, options, c) for c in cells]
        low = max(m.minimum for m in sizes)
        lows.append(min(low, 10) if fold and col.overflow == "fold" else low)
        highs.append(max(m.maximum for m in sizes))
    pad = table.padding[1] + table.padding[3]
    n = len(table.columns)
    extra = pad * n + ((2 if table.show_edge else 0) + n - 1 if table.box else 0)
    return lows, highs, extra


def _narrow(table: Table, width: int, fold: bool = False) -> bool:
    """Give ``table``'s columns widths that fit ``width`` without cutting a word (headers and text wrap; with
    ``fold``, long words of text columns may break); False when even the narrowest do not fit. The room left above
    the narrowest makes whole first the columns that need least (so that as few columns as possible wrap); what is
    left is shared by the others."""
    lows, highs, extra = _widths(table, fold)
    if sum(highs) + extra <= width:
        return True
    room = width - extra - sum(lows)
    if room < 0:
        return False
    widths = list(lows)
    wrapped = []
    for i in sorted(range(len(lows)), key=lambda i: highs[i] - lows[i]):
        if highs[i] - lows[i] <= room:
            room -= highs[i] - lows[i]
            widths[i] = highs[i]
        else:
            wrapped.append(i)
    for k, i in enumerate(wrapped):
        give = min(highs[i] - widths[i], room // (len(wrapped) - k))
        widths[i] += give
        room -= give
    for col, w in zip(table.columns, widths, strict=True):
        col.width = w
    return True


def _on_its_side(table: Table, width: int) -> list[Table]:
    """A table too wide for the terminal, turned on its side: one row per column, one column per row (its first
    cell as the heading), in as many tables as the width needs."""
    key, fields = table.columns[0], table.columns[1:]
    records = [list(row) for row in zip(*(list(c.cells) for c in table.columns), strict=True)]

    def part(chunk: list[list[Any]], title: Any) -> Table:
        t = Table(title=title, title_justify=table.title_justify)
        t.add_column(key.header)
        for rec in chunk:
            t.add_column(rec[0], justify="right")
        for f, col in enumerate(fields, start=1):
            label = col.header.replace("\n", " ") if isinstance(col.header, str) else col.header
            cells = [rec[f] for rec in chunk]
            t.add_row(label, *(Text.from_markup(c, justify=col.justify) if isinstance(c, str) else c for c in cells))
        return t

    parts: list[Table] = []
    chunk: list[list[Any]] = []
    for rec in records:
        trial = part([*chunk, rec], None)
        if chunk and not _narrow(trial, width):
            parts.append(part(chunk, table.title if not parts else f"{table.title} (continued)"))
            chunk = []
        chunk.append(rec)
    if chunk:
        parts.append(part(chunk, table.title if not parts else f"{table.title} (continued)"))
    for t in parts:
        _narrow(t, width)
    return parts


def print_table(table: Table, *narrower: Table | list[Table]) -> None:
    """Print a table so that it fits the console's width with no cell cut short, in the first layout that fits
    whole: ``table`` as it is, or narrowed to its columns' longest words (headers and text wrap), or else each of
    the ``narrower`` layouts in turn (fewer columns: shorter headers, a table per group). When none fits, the last
    one with the long words of its text columns broken, or turned on its side (a row per column)."""
    width = out.width
    layouts = [[table], *([n] if isinstance(n, Table) else list(n) for n in narrower)]
    chosen = next((layout for layout in layouts if all(_narrow(t, width) for t in layout)), None)
    if chosen is None:
        chosen = []
        for t in layouts[-1]:
            chosen += [t] if _narrow(t, width, fold=True) or not t.row_count else _on_its_side(t, width)
    for t in chosen:
        if t.title:  # a title longer than a narrow table would wrap to its width: widen the table instead
            title = Measurement.get(out, out.options, t.title).maximum
            if title > Measurement.get(out, out.options.update_width(width), t).maximum:
                t.min_width = min(title, width)
        out.print(t)


class UserError(VpcsimError):
    """A problem with what the user gave on the command line: one line, exit code 2."""


def problem_lines(problems: list[Problem], repeat: int = 2) -> list[str]:
    """One line per problem, except that a problem repeated in many places (a trace file missing for each of 100
    functions) is shown ``repeat`` times, then once more as one line listing where else it occurs."""
    by_message: dict[str, list[Problem]] = {}
    for p in problems:
        by_message.setdefault(p.message, []).append(p)
    lines = []
    for p in problems:
        same = by_message[p.message]
        k = same.index(p)
        if k < repeat or len(same) == repeat + 1:
            lines.append(str(p))
        elif k == repeat:
            rest = same[repeat:]
            where = [f"{q.path} (line {q.line})" if q.line is not None else q.path for q in rest[:3]]
            more = f" and {len(rest) - 3} more" if len(rest) > 3 else ""
            lines.append(f"{p.file or '<scenario>'}: the same problem in {len(rest)} more places: "
                         f"{', '.join(where)}{more}")
    return lines


def print_problems(problems: list[Problem]) -> None:
    for line in problem_lines(problems):
        err.print(line, markup=False)


@contextmanager
def user_errors():
    """Turn the library's errors about user input into one line each on stderr and exit code 2."""
    try:
        yield
    except VpcsimError as exc:  # every error about user input (simulator.errors)
        if _DEBUG or _SIGNAL is not None:  # after a signal the error may be its doing: main() reports the interrupt
            raise
        problems = getattr(exc, "problems", None)
        if problems:  # a ScenarioError: one line per problem, with file and line
            print_problems(problems)
        else:
            err.print(f"vpcsim: error: {exc}", markup=False)
        raise typer.Exit(2) from None


def check_out_dir(path: Path | None, option: str = "--out") -> None:
    """Refuse, before any work is done, an output folder whose replacement would destroy what vpcsim did not write
    (see :func:`simulator.present.folders.check_dir_target`)."""
    from ..present.folders import OutputError, check_dir_target

    if path is not None:
        try:
            check_dir_target(path)
        except OutputError as exc:
            raise UserError(f"{option} {exc}") from None


def check_out_file(path: Path | None, option: str = "--out", kind: Any = None, force: bool = False) -> None:
    """Refuse, before any work is done, an output file path that is a folder or not a regular file, or (given its
    :class:`~simulator.present.folders.FileKind`) a file that vpcsim did not write as such, unless ``force``."""
    from ..present.folders import OutputError, check_file_target

    if path is not None:
        try:
            check_file_target(path, kind, force)
        except OutputError as exc:
            hint = f" (e.g. {path / 'report.xml'})" if option == "--junit" and path.is_dir() else ""
            raise UserError(f"{option} {exc}{hint}") from None


@contextmanager
def writing(path: Path | str, option: str | None = "--out"):
    """Writing an output: an OS error, or a target the library's writers refuse, becomes one line naming the
    option and the path (exit 2)."""
    from ..present.folders import OutputError

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


YesOpt = Annotated[bool, typer.Option("--yes", help="Start even when the estimate says the run will not fit this "
                                                    "machine (memory) or will take more than a day.")]


def gate(sc: Scenario, *, yes: bool, replications: int = 1, points: int = 1, workers: int = 1,
         record_invocations: bool = False) -> Any:
    """The estimate of what the runs need (:mod:`simulator.analysis.estimate`); a run that cannot fit this machine is refused
    before any work, with one line saying why and how to go on, unless ``yes``."""
    from ..analysis.estimate import estimate

    est = estimate(sc, replications=replications, points=points, workers=workers,
                   record_invocations=record_invocations)
    why = est.refusal()
    if why is not None and not yes:
        raise UserError(why)
    return est


def parse_sets(items: list[str] | None, option: str = "--set") -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` → ``{"a.b": 1, "c": "x"}``; values are read as YAML scalars/lists, within the limits of
    a scenario file (no alias bomb, no nesting beyond 64 levels: ``simulator.scenario.models.yaml_value``)."""
    from ..scenario.problems import ScenarioError
    from ..scenario.yaml_marks import yaml_value

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
    from ..scenario.models import load_scenario
    from ..scenario.problems import ScenarioError

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
    from ..summary import fmt_num

    return fmt_num(v, digits)


# --------------------------------------------------------------------------------------------------- runs


@contextmanager
def progress_bar(label: str, enabled: bool):
    """A progress callback ``(done, total)`` on a terminal, ``None`` otherwise (CI logs stay clean)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # auto_refresh=False: no refresh thread in this process while worker processes are being forked.
    with Progress(TextColumn(escape(label)), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, auto_refresh=False) as prog:
        task = prog.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            prog.update(task, completed=done, total=total, refresh=True)

        yield update


def run_errors():
    """SweepError (bad --workers, no Dask, unreachable scheduler) → one line, exit 2, like other user errors."""
    from ..analysis.sweep import SweepError

    @contextmanager
    def handler():
        with user_errors():
            try:
                yield
            except SweepError as exc:
                raise UserError(str(exc)) from None

    return handler()


def print_replications(summary: Summary) -> None:
    """The key metrics of a replicated run: mean and 95% interval."""
    reps = summary.get("replications")
    if not reps:
        return
    from ..summary import NUMBER, format_value, key_metrics

    t = Table(title=f"Across {reps['n']} replications (mean and 95% Student-t interval of the mean)",
              title_justify="left")
    for col in ("metric", "mean", "95% interval", "replications with a value"):
        t.add_column(col, justify="left" if col == "metric" else "right", overflow="fold" if col == "metric" else "ellipsis")
    # The key figures of a sweep's table that are not counts of invocations (those are in the tables above), means
    # of counts shown with their decimal, and each subnet's fewest free addresses.
    rows = [(path, NUMBER if m.kind == "count" else m.kind) for path, m in key_metrics(summary, columns=True)
            if path not in ("invocations", "succeeded", "throttled", "failed", "first_failure_s")]
    rows += [(f"subnets.{sid}.min_free_ips", NUMBER) for sid in summary["subnets"]]
    for path, kind in rows:
        m = reps["metrics"].get(path)
        if m is None or m["mean"] is None:
            continue
        ci = "-" if m["ci_low"] is None else f"{format_value(m['ci_low'], kind)} .. {format_value(m['ci_high'], kind)}"
        t.add_row(path, format_value(m["mean"], kind), ci, f"{m['n']}/{reps['n']}")
    print_table(t)



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
    fns = Table(title=f"Capacity of {escape(cap['scenario'])} — concurrent executions each limit allows", title_justify="left")
    for col, justify in [("function", "left"), ("memory MB", "right"), ("env/ENI", "right"),
                         ("peak p99.9 (mean)", "right"), ("ENIs (doc formula)", "right"),
                         ("ENIs packed at peak (mean)", "right"),
                         ("concurrency", "right"), ("subnet IPs", "right"), ("ENI quota", "right"),
                         ("N-1 AZ", "right"), ("scaling s", "right"), ("binding", "left")]:
        fns.add_column(col, justify=justify, overflow="fold" if col == "function" else "ellipsis")  # type: ignore[arg-type]
    for name, f in cap["functions"].items():
        c = f["ceilings"]
        binding = f["binding"]
        cells = {k: _num(c[k]) for k in ("concurrency", "subnet_ips", "eni_quota")}
        cells[binding] = f"[bold]{cells[binding]}[/bold]"
        fits = f["peak_in_service"] <= c[binding]
        both = (f"{_num(f['peak_in_service'])} ({_num(f['projected_peak'])})")
        enis = "-" if f["enis_packed"] is None else f"{_num(f['enis_at_peak'])} ({_num(f['enis_packed'])})"
        fns.add_row(name, _num(f["memory_mb"]), _num(f["slots_per_eni"]), both, _num(f["enis_formula"]), enis,
                    cells["concurrency"], cells["subnet_ips"],
                    cells["eni_quota"], _num(c["n_minus_1"]), _num(c["scaling_s"], 1),
                    f"{binding}" + ("" if fits else " [red](peak above)[/red]"))
    tables = [fns]
    if cap["subnets"]:
        sub = Table(title="Subnets at the projected peaks (mean in service; p99.9)", title_justify="left")
        for col in ("subnet", "AZ", "usable IPs", "free IPs", "ENIs at peak (mean)", "fits"):
            sub.add_column(col, justify="left" if col in ("subnet", "AZ", "fits") else "right")
        for sid, s in cap["subnets"].items():
            ok = s["enis_at_peak"] <= s["free_ips"]
            sub.add_row(sid, s["az"], _num(s["usable_ips"]), _num(s["free_ips"]),
                        f"{_num(s['enis_at_peak'])} ({_num(s['projected_enis'])})", "yes" if ok else "[red]no[/red]")
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

        typer.echo(to_json(cap), nl=False)
        return
    for t in capacity_tables(cap):
        print_table(t)
    tot = cap["total"]
    if tot["enis_packed"] is not None:
        say(f"All functions at their projected peaks: {tot['projected_peak']:,} concurrent executions in service on "
            f"average ({tot['enis_packed']:,} ENIs packed, {tot['enis_formula']:,} by the doc's formula), "
            f"{tot['peak_in_service']:,} at the p99.9 of a run's peak ({tot['enis_at_peak']:,} ENIs); "
            f"{tot['eni_quota_free']:,} free under the ENI quota; scaling needs "
            f"{format_duration(tot['scaling_s']) if math.isfinite(tot['scaling_s']) else 'forever'}.")
    print_lint(cap["lint"])


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
    ceil = Table(title="Ceilings (closed form) and what the run saw", title_justify="left")
    for col in ("function", "projected peak p99.9", "simulated peak", "binding limit", "ceiling", "hit at", "N-1 AZ",
                "failure rate", "throttle rate"):
        ceil.add_column(col, justify="left" if col in ("function", "binding limit") else "right",
                        overflow="fold" if col == "function" else "ellipsis")
    for name, f in s["functions"].items():
        c = cap["functions"][name]
        hit = [f["first_outcome_s"][cause] for cause in BINDING_CAUSES[c["binding"]] if cause in f["first_outcome_s"]]
        ceil.add_row(name, f"{c.get('peak_in_service', c['projected_peak']):,}", fmt_count(f["peak_concurrency"]),
                     c["binding"],
                     f"{c['ceilings'][c['binding']]:,}", _when(min(hit)) if hit else "not hit",
                     _num(c["ceilings"]["n_minus_1"]), _pct(f["failure_rate"]), _pct(f["throttle_rate"]))
    print_table(ceil)
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
    seed: Annotated[int | None, typer.Option("--seed", min=0, metavar="N", help="Override the scenario's seed.")] = None,
    sets: SetOpt = None,
    record: Annotated[bool, typer.Option("--record-invocations",
                                         help="Keep one row per invocation in DIR/invocations.csv (needs --out).")]
    = False,
    replications: Annotated[int | None, typer.Option(
        "--replications", min=1, metavar="N", help="Independent replications; the summary holds means and 95% intervals "
                                      "(default: the scenario's `replications`, else 1).")] = None,
    workers: Annotated[int, typer.Option("--workers", min=0, metavar="N", help="Worker processes for replications "
                                                                  "(0: one per CPU).")] = 1,
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
        typer.echo(to_json(result.summary), nl=False)
    else:
        print_summary(result.summary, result.timeseries, result.scenario)
        if result.summary.get("replications"):
            print_replications(result.summary)
        if out_dir is not None:
            out.print(f"Results written to {escape(str(out_dir))}/")
    exps = result.summary.get("expectations") or []
    if any(not e["passed"] for e in exps):
        raise typer.Exit(1)


# --------------------------------------------------------------------------------------------------- schema


@app.command(cls=Command)
def schema() -> None:
    """Print the JSON Schema of the scenario file."""
    from ..scenario.models import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


# --------------------------------------------------------------------------------------------------- entry


_SIGNAL: int | None = None  # the SIGINT or SIGTERM this command received, if any


def _on_signal(signum: int, frame: Any) -> None:
    """Ctrl-C, or SIGTERM (a CI job cancelled, ``kill``, ``timeout``): the writers remove what they were writing
    (they clean up on KeyboardInterrupt), then one line, exit 130 or 143. The signal is noted too, because a
    library may turn the KeyboardInterrupt into an error of its own (matplotlib's Agg renderer: "Invalid bounding
    box") or swallow it."""
    global _SIGNAL
    _SIGNAL = signum
    raise KeyboardInterrupt


def _interrupted(written_before: int) -> str:
    """The one line after an interrupt, true in every phase: what this command had moved into place, complete."""
    output = sys.modules.get("simulator.present.folders")  # not imported: nothing was written
    written = output.written_outputs()[written_before:] if output is not None else []
    word = "terminated" if _SIGNAL == signal.SIGTERM else "interrupted"
    if not written:
        return f"vpcsim: {word} (nothing was written)"
    return f"vpcsim: {word} after writing {', '.join(str(p) for p in written)} in full"


def main(argv: list[str] | None = None) -> int:
    """The ``vpcsim`` command. Returns the exit code (0, 1 or 2; 130 after Ctrl-C, 143 after SIGTERM)."""
    global _SIGNAL
    _SIGNAL = None
    output = sys.modules.get("simulator.present.folders")
    written_before = len(output.written_outputs()) if output is not None else 0
    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(ValueError):  # not the main thread (an embedding program): its own handlers stay
                previous[sig] = signal.signal(sig, _on_signal)
        try:
            rv = _dispatch(argv)
        except KeyboardInterrupt:
            rv = 130
        except Exception:
            if _SIGNAL is None:
                raise
            rv = 130  # the interrupt, turned into a library's own error on its way up
        if rv == 130 or _SIGNAL is not None:  # typer turns Ctrl-C into exit code 130, silently
            err.print(_interrupted(written_before), markup=False)
            return 143 if _SIGNAL == signal.SIGTERM else 130
        return rv
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _dispatch(argv: list[str] | None) -> int:
    try:
        rv = app(args=argv, prog_name="vpcsim", standalone_mode=False)
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
        return 130
    except VpcsimError as exc:  # only when a command forgot user_errors(); still no traceback
        if _DEBUG or _SIGNAL is not None:
            raise
        problems = getattr(exc, "problems", None)
        if problems:
            print_problems(problems)
        else:
            err.print(f"vpcsim: error: {exc}", markup=False)
        return 2
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["app", "main"]
