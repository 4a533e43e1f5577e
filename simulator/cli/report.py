"""The ``report`` and ``compare`` commands (SPEC §6), registered on the typer app of :mod:`simulator.cli.core`.

``vpcsim report DIR`` rebuilds the self-contained HTML report of a results folder; ``vpcsim compare`` runs two
scenarios (or one and the same with ``--set`` changes) with one seed and shows them side by side. Like ``cli.py``,
this module parses, calls the library and renders; the work is in :mod:`simulator.present.report` and
:mod:`simulator.analysis.compare`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from .core import (
    Command,
    JsonOpt,
    SetOpt,
    UserError,
    YesOpt,
    app,
    check_out_dir,
    check_out_file,
    emit,
    gate,
    out,
    parse_sets,
    print_table,
    say,
    user_errors,
    writing,
)

__all__ = ["report", "compare"]


@app.command(cls=Command)
def report(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A results folder written by `vpcsim run --out DIR`.",
                                           show_default=False)],
    html: Annotated[Path | None, typer.Option("--out", metavar="FILE", help="Write the HTML here instead of DIR/report.html "
                                                            "(the figures are then not rewritten).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file even if it is not an HTML report "
                                                        "vpcsim wrote.")] = False,
) -> None:
    """Rebuild the self-contained HTML report (and figures/*.png) of a results folder."""
    from ..analysis.results_folder import ResultsFolderError, rebuild_report
    from ..present.folders import HTML_REPORT

    with user_errors():
        if force and html is None:
            raise UserError("--force applies to --out FILE only: a results folder is rewritten only when vpcsim "
                            "wrote every entry in it")
        check_out_file(html, "--out", HTML_REPORT, force)
        if (folder / "comparison.json").is_file() and not (folder / "summary.json").exists():
            raise UserError(f"{folder}: a comparison folder (vpcsim compare --out), not the results of one run; "
                            f"its runs are {folder / 'a'} and {folder / 'b'} (vpcsim report {folder / 'a'})")
        try:
            with writing(html or folder, option="--out" if html is not None else None):
                path = rebuild_report(folder, html, force=force)
        except ResultsFolderError as exc:
            raise UserError(str(exc)) from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            # Every file is there and parses, but a value is not what `vpcsim run` writes (a hand-edited file).
            from .core import debugging

            if debugging():
                raise
            raise UserError(f"{folder}: not a results folder vpcsim can read: a value in summary.json, timeseries.csv "
                            f"or scenario.yaml is not what `vpcsim run` writes ({type(exc).__name__}: {exc}); "
                            f"write it again with: vpcsim run SCENARIO --out {folder}") from None
    out.print(f"Report written to {escape(str(path))}")


def _show(v: Any, kind: str) -> str:
    from ..summary import fmt_table

    return fmt_table(v, kind)


@app.command(cls=Command)
def compare(
    scenarios: Annotated[list[Path], typer.Argument(metavar="SCENARIO",
                                                    help="One scenario file (and --set for the second run) or two.",
                                                    show_default=False)],
    sets: SetOpt = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, metavar="N", help="The seed of both runs (default: the first "
                                                                   "scenario's).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Write a comparison folder: report.html, figures/, "
                                                               "comparison.json and each run's results (a/, b/).")]
    = None,
    as_json: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """Run two scenarios with the same seed and show them side by side, with the differences.

    vpcsim compare A.yaml B.yaml, or vpcsim compare A.yaml --set platform=hyperplane (the changes apply to the
    second run).
    """
    from ..analysis.compare import compare as run_compare
    from ..analysis.compare import write_comparison
    from ..present.folders import to_json
    from ..present.report import NOISE_NOTE, fmt_difference, verdict
    from ..scenario.models import load_scenario

    with user_errors():
        if len(scenarios) > 2:
            raise UserError(f"compare takes one or two scenario files, got {len(scenarios)}")
        check_out_dir(out_dir)
        a = load_scenario(scenarios[0])
        changes = parse_sets(sets)
        if len(scenarios) == 2:
            b = load_scenario(scenarios[1])
            if changes:
                b = b.with_changes(changes)
        elif not changes:
            raise UserError("compare: give a second scenario file, or --set PATH=VALUE to change the first one for "
                            "the second run (e.g. --set platform=hyperplane)")
        else:
            b = a.with_changes(changes)  # validated here, so a bad --set is reported before anything runs
        for sc in (a, b):
            gate(sc, yes=yes)
    if len(scenarios) == 1:
        cmp = run_compare(a, changes, seed=seed)
    else:
        cmp = run_compare(a, b, seed=seed)
        if changes:
            label_b = f"{cmp.labels[1]} ({', '.join(f'{k}={v}' for k, v in changes.items())})"
            cmp = dataclasses.replace(cmp, labels=(cmp.labels[0], label_b), changes=changes)
    if out_dir is not None:
        with writing(out_dir):
            write_comparison(cmp, out_dir)
    if as_json:
        emit(to_json(cmp.to_dict()), nl=False)
        return
    la, lb = cmp.labels
    out.print(f"[bold]{escape(la)}[/bold] vs [bold]{escape(lb)}[/bold], both with seed {cmp.seed}")
    for tag, label, r in (("A", la, cmp.a), ("B", lb, cmp.b)):
        v = verdict(r.summary, r.timeseries, r.scenario.timestep)
        colour = "green" if v["ok"] else "red"
        say(f"{tag} ({escape(label)}): [{colour}]{escape(v['headline'])}[/{colour}]")
    rows = cmp.rows()

    def table(a_header: str, b_header: str) -> Table:
        t = Table(title="Key figures", title_justify="left")
        t.add_column("metric", overflow="fold")
        t.add_column(a_header, justify="right")
        t.add_column(b_header, justify="right")
        t.add_column("B - A", justify="right")
        t.add_column("change", justify="right")
        t.add_column("B is")
        for row in rows:
            rel = row["relative"]
            mark = {"better": "[green]better[/green]", "worse": "[red]worse[/red]", "changed": "changed",
                    "within noise": "within noise"}.get(row["verdict"] or "", "")
            t.add_row(escape(row["label"]), _show(row["a"], row["kind"]), _show(row["b"], row["kind"]),
                      fmt_difference(row["difference"], row["kind"]), "" if rel is None else f"{rel:+.1%}", mark)
        return t

    # On a narrow terminal the columns are A and B: the lines above say which run is which.
    print_table(table(f"A: {escape(la)}", f"B: {escape(lb)}"), table("A", "B"))
    if any(row["verdict"] == "within noise" for row in rows):
        say(NOISE_NOTE, markup=False)
    if out_dir is not None:
        out.print(f"Comparison written to {escape(str(out_dir))}/ (open report.html)")
