"""The command line (SPEC §6): parse, call the library, render. Nothing else in the package prints.

Exit codes: 0 fine, 1 an expectation failed, 2 invalid input (a bad file or a bad option). A user error is one
line on stderr naming the file, line and field; never a traceback (``--debug`` shows one).
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand

from ..errors import VpcsimError

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
BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for a program the closed pipe stopped


def _reader_gone() -> NoReturn:
    """The reader went away (``vpcsim run ... | head -3``): stop quietly, with the status of a program stopped by
    SIGPIPE, not the 1 of rich and click, which here means "an expectation failed" to a CI script."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # Python's final flush of stdout must not fail again
    raise SystemExit(BROKEN_PIPE_EXIT)


def _reader_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on its write end)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or no real stdout (a notebook, a test)
        return False


class _Console(Console):
    def on_broken_pipe(self) -> None:
        self.quiet = True
        _reader_gone()


def emit(text: str, nl: bool = True) -> None:
    """A command's data on stdout (JSON, a scenario's YAML), as it is: no markup, no wrapping. A reader gone away
    stops the command as :func:`_reader_gone` says."""
    try:
        sys.stdout.write(text + ("\n" if nl else ""))
        sys.stdout.flush()
    except BrokenPipeError:
        _reader_gone()


out = _Console(highlight=False, soft_wrap=False, width=None if _TERMINAL else 200)
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
        from ..version import __version__

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
SeedOpt = Annotated[int | None, typer.Option("--seed", min=0, metavar="N", help="Override the scenario's seed.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=0, metavar="N", help="Worker processes for the runs "
                                                                              "(0: one per CPU).")]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", metavar="ADDRESS",
                                                  help="Run on a Dask cluster (needs the dask extra), e.g. "
                                                       "tcp://10.0.0.5:8786.")]


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
    except SystemExit as exc:  # click writes help itself and exits 1 when the reader has gone: say it as SIGPIPE would
        if exc.code == 1 and _reader_closed():
            _reader_gone()
        raise
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
