"""pytest plugin: ``pytest --vpcsim PATH`` checks vpcsim scenarios' expectations as tests (SPEC §6, issue 5).

Registered through the ``pytest11`` entry point, so it is loaded wherever vpcsim is installed, and inactive unless
``--vpcsim PATH`` is given (a scenario file or a folder, searched recursively; repeatable). Each scenario with an
``expect:`` section becomes one test item (marked ``vpcsim``) that runs the scenario (its ``replications``, or
``--vpcsim-replications N``) and fails when an expectation does not hold; the failure shows every expectation with
its value and the run's key figures. An invalid scenario file is a collection error that names file, line and field.

The paths are added to what pytest collects, so ``pytest --vpcsim capacity/`` runs the project's tests and the
scenarios; ``pytest --vpcsim capacity/ -m vpcsim`` runs only the scenarios.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover - the plugin loads in every pytest run: nothing more until --vpcsim is given
    from .summary import Summary

__all__ = ["ScenarioFile", "ScenarioItem", "ExpectationsFailed"]

_ROOTS = pytest.StashKey[list[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vpcsim", "vpcsim scenario expectations")
    group.addoption("--vpcsim", action="append", default=[], metavar="PATH",
                    help="Check the expectations of the vpcsim scenarios in PATH (a file, or a folder searched "
                         "recursively), one test per scenario. Repeatable.")
    group.addoption("--vpcsim-replications", type=int, default=None, metavar="N",
                    help="Replications per scenario (default: the scenario's `replications`).")
    group.addoption("--vpcsim-workers", type=int, default=1, metavar="N",
                    help="Worker processes for replications (0: one per CPU; default 1).")
    group.addoption("--vpcsim-strict", action="store_true", default=False,
                    help="With replications, check the unfavourable end of each 95%% interval, not the mean.")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    given = config.getoption("vpcsim") or []
    if not given:
        return
    config.addinivalue_line("markers", "vpcsim: the expectations of a vpcsim scenario (added by --vpcsim)")
    base = Path(config.invocation_params.dir)
    roots = []
    for text in given:
        root = (base / text).resolve()
        if not root.exists():
            raise pytest.UsageError(f"--vpcsim {text}: no such file or folder")
        roots.append(root)
    reps = config.getoption("vpcsim_replications")
    if reps is not None and reps < 1:
        raise pytest.UsageError(f"--vpcsim-replications must be >= 1 (got {reps})")
    if config.getoption("vpcsim_workers") < 0:
        raise pytest.UsageError("--vpcsim-workers must be >= 0")
    config.stash[_ROOTS] = roots
    # Collect the scenario paths too, unless an argument already covers them (no test collected twice).
    args = [(base / a.split("::")[0]).resolve() for a in config.args]
    for root in roots:
        if not any(root == a or a in root.parents for a in args):
            config.args.append(str(root))
            args.append(root)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    roots = parent.config.stash.get(_ROOTS, None)
    if not roots or file_path.suffix not in (".yaml", ".yml"):
        return None
    path = file_path.resolve()
    if not any(path == r or r in path.parents for r in roots):
        return None
    # A hidden or tool folder inside the root is not the team's scenarios (the same rule as `vpcsim check`).
    from .analysis.expectations import SKIP_DIRS, has_expectations

    for root in roots:
        if root in path.parents and any(p.startswith(".") or p in SKIP_DIRS
                                        for p in path.relative_to(root).parts[:-1]):
            return None
    ok, _ = has_expectations(path)
    if not ok:
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    """A scenario file: one item, or a collection error that names the file, line and field."""

    def collect(self):
        from .scenario.models import ScenarioError, load_scenario

        try:
            sc = load_scenario(self.path)
        except ScenarioError as exc:
            raise self.CollectError("invalid vpcsim scenario:\n" + "\n".join(str(p) for p in exc.problems)) from None
        yield ScenarioItem.from_parent(self, name=sc.name, scenario=sc)


class ExpectationsFailed(AssertionError):
    """Raised by a scenario item whose expectations do not all hold; carries the rows and the summary."""

    def __init__(self, rows: list[dict[str, Any]], summary: Summary):
        self.rows = rows
        self.summary = summary
        failed = sum(not r["passed"] for r in rows)
        super().__init__(f"{failed} of {len(rows)} expectations failed")


class ScenarioItem(pytest.Item):
    """Runs one scenario and checks its expectations."""

    def __init__(self, *, scenario: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.scenario = scenario
        self.add_marker("vpcsim")

    def runtest(self) -> None:
        from .analysis.sweep import run_replications

        cfg = self.config
        n = cfg.getoption("vpcsim_replications") or self.scenario.replications
        # One replication has no interval: --vpcsim-strict checks its values as they are (as `vpcsim check` does).
        result = run_replications(self.scenario, n, workers=cfg.getoption("vpcsim_workers"),
                                  strict=bool(cfg.getoption("vpcsim_strict")) and n > 1)
        rows = result.summary["expectations"] or []
        for r in rows:  # shown by --junitxml as <property> elements
            self.user_properties.append((f"{r['path']} {r['condition']}", ("pass: " if r["passed"] else "FAIL: ")
                                         + r["message"]))
        if any(not r["passed"] for r in rows):
            raise ExpectationsFailed(rows, result.summary)

    def _line(self, row: dict[str, Any]) -> int | None:
        marks = getattr(self.scenario, "_marks", {}) or {}
        key = ("expect", row["key"])
        if row.get("index") is not None and key + (row["index"],) in marks:
            return marks[key + (row["index"],)]
        return marks.get(key)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if not isinstance(excinfo.value, ExpectationsFailed):
            return str(super().repr_failure(excinfo, style=style))
        from .analysis.expectations import key_figures

        exc = excinfo.value
        lines = [f"vpcsim scenario {self.scenario.name!r} ({self.path.name}): {exc}"]
        for r in exc.rows:
            line = self._line(r)
            where = f"  [{self.path.name}:{line}]" if line else ""
            lines.append(f"  {'pass' if r['passed'] else 'FAIL'}  {r['message']}{where}")
        lines.append("The run's key figures:")
        lines += [f"  {x}" for x in key_figures(exc.summary).splitlines()]
        return "\n".join(lines)

    def reportinfo(self):
        line = (getattr(self.scenario, "_marks", {}) or {}).get(("expect",))
        return self.path, (line - 1 if line else None), f"vpcsim scenario {self.scenario.name}"
