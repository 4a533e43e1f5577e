"""The ``vpcsim import`` command group (SPEC §6): scenarios from measured workloads.

``vpcsim import azure2019 DIR --top N --out FILE`` writes a scenario replaying the Azure Functions Trace 2019 (see
:mod:`simulator.importers` for the rules). The scenario is validated before it is written, and written whole or not
at all. Other importers register on :data:`import_app` the same way.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from .cli import UserError, app, check_out_file, err, out, user_errors, writing
from .importers import ImportProblem, import_azure2019
from .output import IMPORTED_SCENARIO, atomic_file
from .scenario import ScenarioError, scenario_from_dict
from .units import parse_duration

__all__ = ["import_app"]

import_app = typer.Typer(
    name="import",
    help="Write a scenario from measured workloads (the Azure Functions Trace 2019).",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")


def _hashes(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out_: list[str] = []
    for v in values:
        out_ += [h.strip() for h in v.replace(" ", ",").split(",") if h.strip()]
    return out_ or None


@import_app.command("azure2019")
def azure2019(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder of the trace: invocations.csv, durations.csv, memory.csv "
                                                   "(or one day of the full data set).", show_default=False)],
    out_file: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE", help="Scenario file to write (YAML). Without it "
                                                                       "the scenario is printed.")] = None,
    top: Annotated[int | None, typer.Option("--top", help="Keep the N functions with the most invocations.")] = None,
    functions: Annotated[list[str] | None, typer.Option(
        "--functions", metavar="HASH[,HASH...]",
        help="Only these functions (HashFunction, HashApp/HashFunction, or a prefix of 6+ characters). "
             "Repeatable.")] = None,
    day: Annotated[int | None, typer.Option("--day", min=1, max=14, help="Day of the full data set (d01..d14; "
                                                                          "default 1).")] = None,
    platform: Annotated[str, typer.Option("--platform", help="legacy (one ENI per 3 GB of environments) or "
                                                             "hyperplane.")] = "legacy",
    subnets: Annotated[int, typer.Option("--subnets", help="Subnets every function uses.")] = 2,
    cidr_prefix: Annotated[int, typer.Option("--cidr-prefix", help="Size of each subnet: /16 .. /28.")] = 24,
    vpc_cidr: Annotated[str, typer.Option("--vpc-cidr", help="The VPC the subnets are carved from.")] = "10.0.0.0/16",
    azs: Annotated[int | None, typer.Option("--azs", help="Availability Zones to spread the subnets over (default: "
                                                          "one per subnet, at most 6).")] = None,
    region: Annotated[str, typer.Option("--region", help="Region prefix of the AZ names.")] = "us-east-1",
    name: Annotated[str | None, typer.Option("--name", help="Scenario name.")] = None,
    scale: Annotated[float, typer.Option("--scale", help="Multiply the load (e.g. 2: every call twice; "
                                                         "0.5: each call with probability 1/2).")] = 1.0,
    spread: Annotated[str | None, typer.Option("--spread", help="Calls inside a minute: poisson (default) or "
                                                                "even.")] = None,
    timestep: Annotated[str, typer.Option("--timestep", help="Resolution of the time series.")] = "10s",
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file even if it is not a scenario vpcsim "
                                                        "imported.")] = False,
) -> None:
    """A scenario with one function per trace function: arrivals replayed from the trace, durations from its
    percentiles, memory from memory.csv, and a VPC from the options."""
    with user_errors():
        check_out_file(out_file, "--out", IMPORTED_SCENARIO, force)
        if name is not None and not name.strip():
            raise UserError("--name: the scenario name must not be empty")
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", region):
            raise UserError(f"--region: not an AWS region name like us-east-1 (got {region!r}); the AZs are named "
                            f"REGION + a, b, c...")
        if day is not None and (directory / "invocations.csv").is_file():
            raise UserError(f"--day {day}: {directory} holds a sample (invocations.csv), not the full data set's "
                            f"files per day (invocations_per_function_md.anon.dNN.csv); leave --day out")
        try:
            step = parse_duration(timestep)
        except ValueError as exc:
            raise UserError(f"--timestep: {exc}") from None
        if step <= 0:
            raise UserError(f"--timestep must be > 0 (got {timestep})")
        try:
            imp = import_azure2019(
                directory, out_file=out_file, top=top, functions=_hashes(functions), day=day or 1, platform=platform,
                subnets=subnets, cidr_prefix=cidr_prefix, vpc_cidr=vpc_cidr, azs=azs, region=region, name=name,
                scale=scale, spread=spread, timestep_s=step,
            )
        except ImportProblem as exc:
            raise UserError(str(exc)) from None
        # Validate what we are about to write, as `vpcsim run` will read it. The output's folder may not exist
        # yet, so its relative trace paths are resolved here by hand.
        base = out_file.resolve().parent if out_file is not None else Path.cwd()
        check = copy.deepcopy(imp.data)
        for fn in check["functions"]:
            for arrival in fn["arrivals"]:
                arrival["file"] = os.path.normpath(os.path.join(base, arrival["file"]))
        try:
            scenario_from_dict(check, source=str(out_file or "<import>"), base_dir=base)
        except ScenarioError as exc:  # the importer's own bug, or a trace the loader rejects: say which
            raise UserError(f"the imported scenario does not validate: {exc.problems[0]}") from None
        if out_file is None:
            typer.echo(imp.text, nl=False)
            for note in imp.notes:
                err.print(f"note: {note}", markup=False)
            return
        with writing(out_file), atomic_file(out_file, IMPORTED_SCENARIO, force=force) as fh:
            fh.write(imp.text)

    rows = imp.functions
    assert rows is not None
    t = Table(title=f"Imported {len(rows)} functions into {escape(str(out_file))}", title_justify="left")
    for col in ("function", "trigger", "invocations", "peak/min", "p50 ms", "p99 ms", "memory MB", "timeout s"):
        t.add_column(col, justify="left" if col in ("function", "trigger") else "right")
    shown = rows.head(15)
    for _, r in shown.iterrows():
        t.add_row(r["name"], r["trigger"], f"{r['invocations']:,}", f"{r['peak_per_min']:,}",
                  f"{r['duration_p50_ms']:,.0f}", f"{r['duration_p99_ms']:,.0f}", f"{r['memory_mb']:,}",
                  f"{r['timeout_s']:,}")
    out.print(t)
    if len(rows) > len(shown):
        out.print(f"... and {len(rows) - len(shown)} more.")
    out.print(f"{int(rows['invocations'].sum()):,} invocations in {imp.data['duration']}; "
              f"platform {imp.data['platform']}, {len(imp.data['vpc']['subnets'])} subnets of /{cidr_prefix}.")
    for note in imp.notes:
        out.print(f"note: {note}", markup=False)
    out.print(f"Next: vpcsim capacity {escape(str(out_file))}   or   vpcsim run {escape(str(out_file))}")
