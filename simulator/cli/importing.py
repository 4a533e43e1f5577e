"""The ``vpcsim import`` command group (SPEC §6): scenarios from measured workloads and from infrastructure.

``vpcsim import azure2019 DIR --top N --out FILE`` writes a scenario replaying the Azure Functions Trace 2019 (see
:mod:`simulator.sources.azure` for the rules); ``cloudformation``, ``terraform``, ``aws`` and ``cloudwatch`` read a
team's infrastructure and load (:mod:`simulator.sources`, docs/import.md). Every scenario is validated before it is
written, and written whole or not at all.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..present.folders import IMPORTED_SCENARIO, atomic_file
from ..units import parse_duration
from .core import Command, UserError, app, check_out_file, emit, err, out, print_table, user_errors, writing

__all__ = ["import_app"]


@contextmanager
def _source_errors() -> Iterator[None]:
    """An importer's :class:`~simulator.sources.common.SourceError` as the one line it writes itself
    (``vpcsim: error: FILE:LINE: place: message``; a scenario's problems print without the prefix)."""
    from ..sources.common import SourceError

    try:
        yield
    except SourceError as exc:
        raise UserError(str(exc)) from None


import_app = typer.Typer(
    name="import",
    help="Write a scenario from your infrastructure (CloudFormation/SAM/CDK templates, Terraform plans, a live "
         "account), from CloudWatch metrics, or from the Azure Functions Trace 2019.",
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


@import_app.command("azure2019", cls=Command)
def azure2019(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder of the trace: invocations.csv, durations.csv, memory.csv "
                                                   "(or one day of the full data set).", show_default=False)],
    out_file: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE", help="Scenario file to write (YAML). Without it "
                                                                       "the scenario is printed.")] = None,
    top: Annotated[int | None, typer.Option("--top", metavar="N", help="Keep the N functions with the most invocations.")] = None,
    functions: Annotated[list[str] | None, typer.Option(
        "--functions", metavar="HASH[,HASH...]",
        help="Only these functions (HashFunction, HashApp/HashFunction, or a prefix of 6+ characters). "
             "Repeatable.")] = None,
    day: Annotated[int | None, typer.Option("--day", min=1, max=14, metavar="N", help="Day of the full data set (d01..d14; "
                                                                          "default 1).")] = None,
    platform: Annotated[str, typer.Option("--platform", metavar="NAME", help="legacy (one ENI per 3 GB of environments) or "
                                                             "hyperplane.")] = "legacy",
    subnets: Annotated[int, typer.Option("--subnets", metavar="N", help="Subnets every function uses.")] = 2,
    cidr_prefix: Annotated[int, typer.Option("--cidr-prefix", metavar="N", help="Size of each subnet: /16 .. /28.")] = 24,
    vpc_cidr: Annotated[str, typer.Option("--vpc-cidr", metavar="CIDR", help="The VPC the subnets are carved from.")] = "10.0.0.0/16",
    azs: Annotated[int | None, typer.Option("--azs", metavar="N", help="Availability Zones to spread the subnets over (default: "
                                                          "one per subnet, at most 6).")] = None,
    region: Annotated[str, typer.Option("--region", metavar="NAME", help="Region prefix of the AZ names.")] = "us-east-1",
    name: Annotated[str | None, typer.Option("--name", metavar="NAME", help="Scenario name.")] = None,
    scale: Annotated[float, typer.Option("--scale", metavar="X", help="Multiply the load (e.g. 2: every call twice; "
                                                         "0.5: each call with probability 1/2).")] = 1.0,
    spread: Annotated[str | None, typer.Option("--spread", metavar="HOW", help="Calls inside a minute: poisson (default) or "
                                                                "even.")] = None,
    timestep: Annotated[str, typer.Option("--timestep", metavar="DURATION", help="Resolution of the time series.")] = "10s",
    start: Annotated[str | None, typer.Option(
        "--from", metavar="TIME", help="Import from this time of the trace's day (minute column N starts at N "
                                       "minutes: the samples' 480..959 are 8h..16h), e.g. 9h; whole minutes. "
                                       "Default: the trace's start.", show_default=False)] = None,
    end: Annotated[str | None, typer.Option(
        "--to", metavar="TIME", help="Import up to this time, excluded (--from 9h --to 10h: columns 540..599). "
                                     "Default: the trace's end. With --from/--to the window's calls are written "
                                     "beside --out FILE and replayed from time 0.", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file (and a window's trace beside it) "
                                                        "even if vpcsim did not write it.")] = False,
) -> None:
    """A scenario with one function per trace function: arrivals replayed from the trace, durations from its
    percentiles, memory from memory.csv, and a VPC from the options; --from/--to import a window of the trace."""
    from ..scenario.models import scenario_from_dict
    from ..scenario.problems import ScenarioError
    from ..sources.azure import ImportProblem, import_azure2019

    with user_errors():
        check_out_file(out_file, "--out", IMPORTED_SCENARIO, force)
        if name is not None and not name.strip():
            raise UserError("--name: the scenario name must not be empty")
        from ..sources.common import REGION

        if not REGION.fullmatch(region):
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
        window: dict[str, float | None] = {}
        for option, value, key in (("--from", start, "start_s"), ("--to", end, "end_s")):
            try:
                window[key] = parse_duration(value) if value is not None else None
            except ValueError as exc:
                raise UserError(f"{option}: {exc}") from None
        try:
            imp = import_azure2019(
                directory, out_file=out_file, top=top, functions=_hashes(functions), day=day or 1, platform=platform,
                subnets=subnets, cidr_prefix=cidr_prefix, vpc_cidr=vpc_cidr, azs=azs, region=region, name=name,
                scale=scale, spread=spread, timestep_s=step, **window,
            )
        except ImportProblem as exc:
            raise UserError(str(exc)) from None
        # Validate what we are about to write, as `vpcsim run` will read it. The output's folder may not exist
        # yet, so its relative trace paths are resolved here by hand, and a window's trace, to be written beside
        # the scenario, is checked in a temporary copy.
        base = out_file.resolve().parent if out_file is not None else Path.cwd()
        check = copy.deepcopy(imp.data)
        with tempfile.TemporaryDirectory(prefix="vpcsim-import-") as tmp:
            for file_name, text in imp.extra_files.items():
                (Path(tmp) / file_name).write_text(text, encoding="utf-8")
            for fn in check["functions"]:
                for arrival in fn["arrivals"]:
                    folder = tmp if arrival["file"] in imp.extra_files else base
                    arrival["file"] = os.path.normpath(os.path.join(folder, arrival["file"]))
            try:
                scenario_from_dict(check, source=str(out_file or "<import>"), base_dir=base)
            except ScenarioError as exc:  # the importer's own bug, or a trace the loader rejects: say which
                raise UserError(f"the imported scenario does not validate: {exc.problems[0]}") from None
        if out_file is None:
            emit(imp.text, nl=False)
            for note in imp.notes:
                err.print(f"note: {note}", markup=False)
            return
        if imp.extra_files:
            from ..sources.writer import write

            with writing(out_file):  # the scenario and the window's trace beside it, whole or not at all
                write(out_file, imp.text, imp.extra_files, force=force)
        else:
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
    print_table(t)
    if len(rows) > len(shown):
        out.print(f"... and {len(rows) - len(shown)} more.")
    out.print(f"{int(rows['invocations'].sum()):,} invocations in {imp.data['duration']}; "
              f"platform {imp.data['platform']}, {len(imp.data['vpc']['subnets'])} subnets of /{cidr_prefix}.")
    for note in imp.notes:
        out.print(f"note: {note}", markup=False)
    out.print(f"Next: vpcsim capacity {escape(str(out_file))}   or   vpcsim run {escape(str(out_file))}")


# --------------------------------------------------------------------------------------------------- infrastructure
# Templates, plans, an account and CloudWatch metrics (simulator.sources; docs/import.md).

OutFileOpt = Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE", help="Scenario file to write (YAML). "
                                                 "Without it the scenario is printed.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace the --out file even if vpcsim did not write it.")]
LoadOpt = Annotated[Path | None, typer.Option("--load", metavar="FILE", help="Per-function load (arrivals, duration, "
                                              "...) as a YAML mapping of function name to keys.")]
SubnetsOpt = Annotated[Path | None, typer.Option("--subnets", metavar="FILE", help="CIDR, AZ and addresses in use of "
                                                 "subnets the source only names (a YAML list in vpc.subnets form).")]
ImportSetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="PATH=VALUE", help="Change the imported scenario before it is validated: duration=6h, "
                                        "platform=hyperplane, region.concurrency_limit=3000. Repeatable.")]
RegionOpt = Annotated[str, typer.Option("--region", metavar="REGION", help="AWS region (AZ names of Fn::GetAZs, pseudo parameters).")]
def _check_region(region: str) -> None:
    from ..sources.common import REGION

    if not REGION.fullmatch(region):
        raise UserError(f"--region: not an AWS region name like us-east-1 (got {region!r})")


def _key_values(items: list[str] | None, option: str) -> dict[str, str]:
    out_: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{option} {item!r}: expected KEY=VALUE, e.g. {option} Env=prod")
        out_[key.strip()] = value
    return out_


def _note(text: str) -> str:
    return text if text.startswith("warning:") else f"note: {text}"


def _finish(infra, out_file: Path | None, load: Path | None, sets: list[str] | None,
            extra_files: dict[str, str] | None = None, force: bool = False) -> None:
    """Apply the load, validate, write (or print) and show what was imported: shared by every infrastructure
    importer."""
    from ..sources.load import apply_load, read_load
    from ..sources.writer import build, write
    from .core import parse_sets

    with _source_errors():
        if load is not None:
            apply_load(infra, read_load(load), str(load))
        built = build(infra, out_file, parse_sets(sets))
    if out_file is None:
        emit(built.text, nl=False)
        for note in built.notes:
            err.print(_note(note), markup=False, soft_wrap=True)
        return
    with writing(out_file):
        write(out_file, built.text, extra_files or infra.extra_files, force=force)
    sc = built.scenario
    t = Table(title=f"Imported {len(sc.functions)} function{'s' * (len(sc.functions) != 1)} and "
                    f"{len(sc.vpc.subnets)} subnet{'s' * (len(sc.vpc.subnets) != 1)} into {escape(str(out_file))}",
              title_justify="left")
    for col in ("function", "memory MB", "timeout s", "subnets", "reserved", "provisioned", "load"):
        t.add_column(col, justify="left" if col in ("function", "subnets", "load") else "right")
    for f in sc.functions[:30]:
        t.add_row(escape(f.name), f"{f.memory_mb:,}", f"{f.timeout:g}", escape(", ".join(f.subnets) or "-"),
                  "-" if f.reserved_concurrency is None else f"{f.reserved_concurrency:,}",
                  f"{f.provisioned_concurrency:,}", "yes" if f.arrivals else "none")
    out.print(t)
    if len(sc.functions) > 30:
        out.print(f"... and {len(sc.functions) - 30} more.")
    for note in built.notes:
        out.print(_note(note), markup=False, soft_wrap=True)
    if built.no_load:
        out.print(f"No load for {len(built.no_load)} function{'s' * (len(built.no_load) != 1)}: nothing arrives for "
                  f"{'it' if len(built.no_load) == 1 else 'them'} until you give one (--load FILE).", soft_wrap=True)
    out.print(f"Next: vpcsim capacity {escape(str(out_file))}" + ("" if built.no_load else
                                                                 f"   or   vpcsim run {escape(str(out_file))}"))


@import_app.command("cloudformation")
def cloudformation_cmd(
    source: Annotated[Path, typer.Argument(metavar="TEMPLATE|DIR", help="A CloudFormation or SAM template (YAML or "
                                           "JSON), a SAM project folder, or a CDK cdk.out/ folder.",
                                           show_default=False)],
    out_file: OutFileOpt = None,
    parameter: Annotated[list[str] | None, typer.Option(
        "--parameter", metavar="KEY=VALUE", help="A template parameter (or a Fn::ImportValue name). Repeatable.")] = None,
    subnets: SubnetsOpt = None,
    region: RegionOpt = "us-east-1",
    load: LoadOpt = None,
    force: ForceOpt = False,
    sets: ImportSetOpt = None,
) -> None:
    """A scenario from a CloudFormation, SAM or CDK template: its functions, subnets, routes and provisioned
    concurrency."""
    from ..sources.cloudformation import import_cloudformation

    with user_errors():
        check_out_file(out_file, "--out", IMPORTED_SCENARIO, force)
        _check_region(region)
        with _source_errors():
            infra = import_cloudformation(source, parameters=_key_values(parameter, "--parameter"),
                                          subnets_file=subnets, region=region, label=str(source),
                                          subnets_label=str(subnets) if subnets else None)
        _finish(infra, out_file, load, sets, force=force)


@import_app.command("terraform")
def terraform_cmd(
    plan: Annotated[Path, typer.Argument(metavar="PLAN.json", help="The output of `terraform show -json PLANFILE` "
                                         "(or of `terraform show -json` on a state).", show_default=False)],
    out_file: OutFileOpt = None,
    subnets: SubnetsOpt = None,
    load: LoadOpt = None,
    force: ForceOpt = False,
    sets: ImportSetOpt = None,
) -> None:
    """A scenario from a Terraform plan: functions, subnets (through modules), routes and provisioned
    concurrency."""
    from ..sources.terraform import import_terraform

    with user_errors():
        check_out_file(out_file, "--out", IMPORTED_SCENARIO, force)
        with _source_errors():
            infra = import_terraform(plan, subnets_file=subnets, label=str(plan),
                                     subnets_label=str(subnets) if subnets else None)
        _finish(infra, out_file, load, sets, force=force)


@import_app.command("aws")
def aws_cmd(
    out_file: OutFileOpt = None,
    region: Annotated[str | None, typer.Option("--region", metavar="REGION", help="AWS region (default: the profile's or "
                                               "AWS_REGION).")] = None,
    profile: Annotated[str | None, typer.Option("--profile", metavar="NAME", help="A profile of the AWS config files.")] = None,
    functions: Annotated[list[str] | None, typer.Option(
        "--functions", metavar="GLOB", help="Only functions whose name matches (orders-*). Repeatable.")] = None,
    since: Annotated[str | None, typer.Option("--since", metavar="DURATION", help="Read the load of this past "
                                              "window from CloudWatch (6h, 2d; at most 15d).")] = None,
    subnets_only: Annotated[bool, typer.Option("--subnets-only", help="Write only the subnets, as a --subnets FILE "
                                               "for the template and plan importers.")] = False,
    load: LoadOpt = None,
    force: ForceOpt = False,
    sets: ImportSetOpt = None,
) -> None:
    """A scenario from a live account, with read-only calls: functions, concurrency, subnets and addresses in use,
    routes, the ENI quota; with --since, the load from CloudWatch."""
    from ..sources.aws import import_aws, subnets_yaml

    with user_errors():
        check_out_file(out_file, "--out", IMPORTED_SCENARIO, force)
        if region is not None:
            _check_region(region)
        since_s = None
        if since is not None:
            try:
                since_s = parse_duration(since)
            except ValueError as exc:
                raise UserError(f"--since: {exc}") from None
        with _source_errors():
            if subnets_only:
                if since is not None or load is not None or sets:
                    raise UserError("--subnets-only writes the subnets alone: leave out --since, --load and --set")
                text, n = subnets_yaml(region=region, profile=profile, functions=functions)
                if out_file is None:
                    emit(text, nl=False)
                    return
                with writing(out_file), atomic_file(out_file, IMPORTED_SCENARIO, force=force) as fh:
                    fh.write(text)
                out.print(f"Wrote {n} subnets to {escape(str(out_file))}; use it as --subnets {escape(str(out_file))}")
                return
            trace = f"{out_file.stem}.invocations.csv" if out_file is not None and since_s is not None else None
            infra = import_aws(region=region, profile=profile, functions=functions, since_s=since_s,
                               trace_file=trace)
        _finish(infra, out_file, load, sets, force=force)


@import_app.command("cloudwatch")
def cloudwatch_cmd(
    metrics: Annotated[Path, typer.Argument(metavar="METRICS.json", help="What `aws cloudwatch get-metric-data` "
                                            "printed (Labels: FUNCTION METRIC STAT).", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for load.yaml (a --load "
                                          "file) and invocations.csv (its per-minute trace).")],
) -> None:
    """The load of each function from CloudWatch metrics, for teams that cannot give vpcsim credentials: per-minute
    invocations as a trace and durations as a distribution, written as a --load file."""
    from ..sources.cloudwatch import load_entries, read_metric_data, trace_csv
    from ..sources.writer import HEADER, write_files
    from .core import check_out_dir

    with user_errors():
        check_out_dir(out_dir)  # a results folder, with vpcsim's manifest: replaced only when vpcsim wrote it
        with _source_errors():
            found, notes = read_metric_data(metrics)
            text, start, minutes = trace_csv(found, str(metrics))
            entries = load_entries(found, "invocations.csv", notes, str(metrics))
        if not entries:
            raise UserError(f"{metrics}: no function has invocations in these results")
        from ..sources.writer import load_text

        window = f"{start:%Y-%m-%dT%H:%MZ}, {minutes} minutes" if start is not None else "no datapoints"
        load = load_text(entries, [f"{HEADER} cloudwatch` from {metrics}: {len(entries)} functions, {window}.",
                                   "# The load of each function: vpcsim import cloudformation|terraform|aws ... "
                                   f"--load {out_dir / 'load.yaml'} --set duration={minutes}m"] + [
                                      f"# {n}" for n in notes])
        with writing(out_dir):
            write_files(out_dir, {"invocations.csv": text, "load.yaml": load})
    t = Table(title=f"Load of {len(entries)} functions written to {escape(str(out_dir))}/load.yaml",
              title_justify="left")
    for col in ("function", "invocations", "peak/min", "duration"):
        t.add_column(col, justify="left" if col in ("function", "duration") else "right")
    for name, m in found.items():
        if name in entries:
            d = entries[name]["duration"]
            shown = d if isinstance(d, str) else ", ".join(f"p{k:g} {v}" for k, v in d.get("percentiles", {}).items())
            t.add_row(escape(name), f"{m.total:,}", f"{int(max(m.invocations.values(), default=0)):,}", escape(shown))
    out.print(t)
    for note in notes:
        out.print(_note(note), markup=False, soft_wrap=True)
    out.print(f"Next: vpcsim import cloudformation TEMPLATE --load {escape(str(out_dir / 'load.yaml'))} "
              f"--set duration={minutes}m --out SCENARIO")
