"""A run's results folder (SPEC §6 ``run --out DIR``), written and read back in one place.

:func:`write_run` writes ``summary.json``, ``timeseries.csv``, ``scenario.yaml``, ``latency.csv``,
``invocations.csv`` when recorded, the figures and ``report.html``, whole or not at all
(:func:`simulator.present.folders.atomic_dir`); :func:`load_results` reads such a folder back into a
:class:`~simulator.analysis.results.Result` (``vpcsim report DIR``, a notebook comparing yesterday's run), and
:func:`rebuild_report` draws its report again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..errors import ArgumentError, VpcsimError, require_path
from ..inputs import MAX_RESULTS_BYTES, InputFileError, open_regular_file, read_text_file
from ..present.folders import HTML_REPORT, atomic_dir, atomic_file, copy_entries, timeseries_csv, to_json
from ..present.report import draw_figures, render_report, resolved_yaml, write_report_files
from ..scenario.models import load_scenario
from ..summary import OUTCOMES
from .cost import cost
from .results import SUMMARY_KEYS, Result

__all__ = ["write_run", "load_results", "rebuild_report", "ResultsFolderError"]

_RESULT_FILES = ("summary.json", "timeseries.csv", "scenario.yaml")


class ResultsFolderError(VpcsimError, ValueError):
    """A results folder that cannot be read (missing, incomplete or damaged): one line naming the file."""


def write_run(result: Result, out_dir: str | Path) -> Path:
    """Write ``summary.json``, ``timeseries.csv``, ``scenario.yaml`` (the resolved scenario, which reproduces the
    run), ``latency.csv`` (the latency histograms), ``invocations.csv`` when recorded, ``figures/*.png``, the
    self-contained ``report.html`` and the manifest, whole or not at all (see :func:`atomic_dir`)."""
    if not isinstance(result, Result):
        raise ArgumentError(f"write_run(): result must be a Result (from simulator.simulate), got "
                            f"{type(result).__name__}")
    require_path(out_dir, "write_run", "out_dir")
    with atomic_dir(out_dir) as tmp:
        (tmp / "summary.json").write_text(to_json(result.summary), encoding="utf-8")
        timeseries_csv(result.timeseries, tmp / "timeseries.csv")
        resolved = resolved_yaml(result)  # its seed, and its replications: `vpcsim run` on it gives these numbers
        (tmp / "scenario.yaml").write_text(resolved, encoding="utf-8")
        if result.invocations is not None:
            result.invocations.to_csv(tmp / "invocations.csv", index=False, float_format="%.9g")
        if result.latency_distribution is not None:
            result.latency_distribution.to_csv(tmp / "latency.csv", index=False, float_format="%.9g")
        # Inside the temporary folder: a failure while drawing leaves no half-written results folder.
        write_report_files(result, tmp, resolved)
    return Path(out_dir)


def load_results(folder: str | Path) -> Result:
    """Read a results folder written by ``vpcsim run --out`` back into a :class:`Result`.

    Raises :class:`ResultsFolderError` (one line naming the file) when the folder is missing or incomplete, and
    :class:`~simulator.scenario.models.ScenarioError` when its ``scenario.yaml`` is not a valid scenario.
    """
    folder = Path(require_path(folder, "load_results", "folder"))
    if not folder.exists():
        raise ResultsFolderError(f"{folder}: no such folder (write one with: vpcsim run SCENARIO --out {folder})")
    if not folder.is_dir():
        raise ResultsFolderError(f"{folder}: not a folder; give the results folder that `vpcsim run --out` wrote")
    # exists(), not is_file(): a FIFO or device in a file's place is refused by name below, not called missing.
    missing = [name for name in _RESULT_FILES if not (folder / name).exists()]
    if missing:
        raise ResultsFolderError(f"{folder}: not a results folder: {', '.join(missing)} missing (write one with: "
                                 f"vpcsim run SCENARIO --out {folder})")
    path = folder / "summary.json"
    try:
        summary = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ResultsFolderError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except InputFileError as exc:
        raise ResultsFolderError(str(exc)) from None
    if not isinstance(summary, dict):
        raise ResultsFolderError(f"{path}: not a vpcsim summary (expected a JSON object)")
    absent = [k for k in SUMMARY_KEYS if k not in summary and k != "cost"]  # cost: computed below if absent
    if absent:
        raise ResultsFolderError(f"{path}: not a vpcsim summary: missing {', '.join(absent[:5])}"
                                 + (" ..." if len(absent) > 5 else ""))
    scenario = load_scenario(folder / "scenario.yaml")
    if summary.get("cost") is None:
        # A folder written before summaries had a cost: compute it from the billed durations when they are there.
        try:
            summary["cost"] = cost(scenario, summary)
        except (KeyError, TypeError):
            summary["cost"] = None
    path = folder / "timeseries.csv"
    try:
        ts = _read_csv(path)
    except InputFileError as exc:
        raise ResultsFolderError(str(exc)) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ResultsFolderError(f"{path}: cannot read: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    needed = ["t_s", "arrivals", *OUTCOMES, "concurrency_max", "environments_busy", "environments_idle",
              "enis_ready", "enis_attaching", "enis_deleting"]
    lacking = [c for c in needed if c not in ts.columns]
    if lacking:
        raise ResultsFolderError(f"{path}: not a vpcsim time series: missing column {', '.join(lacking[:5])}")
    try:  # the step's start is a time in seconds, as a run gives it (whole steps are written without a decimal)
        ts["t_s"] = ts["t_s"].astype(float)
    except (TypeError, ValueError):
        raise ResultsFolderError(f"{path}: not a vpcsim time series: t_s holds something other than numbers") from None
    invocations = None
    if (folder / "invocations.csv").exists():
        try:
            invocations = _read_csv(folder / "invocations.csv")
            invocations["cold"] = invocations["cold"].astype(bool)
        except InputFileError as exc:
            raise ResultsFolderError(str(exc)) from None
        except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
            raise ResultsFolderError(f"{folder / 'invocations.csv'}: cannot read: {exc}") from None
    distribution = None
    if (folder / "latency.csv").exists():
        try:
            distribution = _read_csv(folder / "latency.csv")
            if list(distribution.columns) != ["kind", "low_ms", "high_ms", "count"]:
                raise ValueError(f"columns must be kind, low_ms, high_ms, count (got {', '.join(distribution.columns)})")
        except InputFileError as exc:
            raise ResultsFolderError(str(exc)) from None
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise ResultsFolderError(f"{folder / 'latency.csv'}: cannot read: {exc}") from None
    return Result(scenario, summary, ts, invocations, distribution)


def _read_text(path: Path) -> str:
    """A results file's text: a regular file of bounded size (simulator.inputs), not a FIFO put in its place."""
    return read_text_file(path, what="a results file", limit_bytes=MAX_RESULTS_BYTES)


def _read_csv(path: Path) -> pd.DataFrame:
    with open_regular_file(path, what="a results file", limit_bytes=MAX_RESULTS_BYTES) as fh:
        return pd.read_csv(fh)


def rebuild_report(folder: str | Path, html: str | Path | None = None, *, force: bool = False) -> Path:
    """Rebuild ``report.html`` and ``figures/*.png`` of a results folder, which is written again whole (its data
    files carried over unchanged), so it is refused unless every entry of it is vpcsim's. With ``html``, write only
    that file (refused when it exists and is not an HTML report vpcsim wrote, unless ``force``). Returns the HTML
    path."""
    folder = Path(folder)
    result = load_results(folder)
    try:
        yaml_text = _read_text(folder / "scenario.yaml")
    except InputFileError as exc:
        raise ResultsFolderError(str(exc)) from None
    images = draw_figures(result)
    page = render_report(result, images, yaml_text)
    if html is not None:
        with atomic_file(html, HTML_REPORT, force=force) as fh:
            fh.write(page)
        return Path(html)
    advice = (f"the report is rebuilt by writing the folder again whole, so write it elsewhere: vpcsim report "
              f"{folder} --out FILE")
    with atomic_dir(folder, advice=advice) as tmp:
        copy_entries(folder, tmp, skip={"report.html", "figures"})
        (tmp / "figures").mkdir()
        for stem, png in images.items():
            (tmp / "figures" / f"{stem}.png").write_bytes(png)
        (tmp / "report.html").write_text(page, encoding="utf-8")
    return folder / "report.html"
