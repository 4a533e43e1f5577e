"""Expectations (SPEC §2 ``expect``, §6): sizing assumptions a scenario states about its own results.

``expect`` maps a dotted path into the summary (``failure_rate``, ``latency_ms.p99``,
``subnets.private-a.min_free_ips``, ``capacity.functions.checkout.binding``) to a condition ``"OP VALUE"`` or a list
of them, OP one of ``< <= > >= == !=``. The summary's shape is known from the scenario alone (its function and subnet
names; the capacity figures are closed forms), so a path that does not exist, a malformed condition or a unit that
does not fit the metric is reported when the file is loaded, with the line of the ``expect`` key — never a silent
pass. After a run, :func:`evaluate` turns the conditions into rows ``{path, condition, value, passed, ...}``.

Units: a metric whose name ends in ``_ms`` takes durations converted to milliseconds (``"< 3s"`` is 3000), one ending
in ``_s`` takes durations in seconds, a ``_rate`` takes a fraction or a percentage (``"<= 0.1%"``), one ending in
``_usd`` takes dollars (``"< $250"``). A bare number is in the metric's own unit. Times of a first occurrence (``first_failure_s``, ``first_outcome_s.CAUSE``,
``subnets.ID.exhausted_s``) are null when the thing never happened; a condition reads that as "never" (later than
any time), and ``"== never"`` is allowed. A bare number instead of a condition string means ``== number``.

With replications the value checked is the mean across replications; with ``strict`` it is the unfavourable end of
the 95% confidence interval (the high end for ``<``/``<=``, the low end for ``>``/``>=``; equality checks the mean).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import VpcsimError
from ..scenario.models import Scenario
from ..summary import (
    BOOL,
    COUNT,
    FIRST_TIME,
    MS,
    NUMBER,
    RATE,
    SECONDS,
    TEXT,
    USD,
    Summary,
    format_usd,
    format_value,
    get,
    percent,
    prose_count,
    shape,
)
from ..units import parse_duration

__all__ = [
    "Condition", "ExpectationError", "compile_expectations", "expect_problems", "evaluate", "metric_kind",
    "lookup", "format_value", "key_figures", "explain", "parse_condition", "summary_shape", "FIRST_TIME",
    "has_expectations", "find_scenario_files", "format_usd",
]

OPS = ("<=", ">=", "==", "!=", "<", ">")
_COND = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(.*?)\s*$")
_PLAIN = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")

def summary_shape(scenario: Scenario) -> dict[str, Any]:
    """The summary of ``scenario`` as a tree whose leaves are kinds (:func:`simulator.summary.shape`; ``capacity``
    is derived from the closed forms by :func:`_capacity_shape`)."""
    return shape(scenario)


def _capacity_shape(value: Any, key: str = "") -> Any:
    """Kinds of the capacity figures, from their values (they are closed forms of the scenario, known at load)."""
    if isinstance(value, dict):
        return {k: _capacity_shape(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return "a list (of findings), not one value"
    if value is None:
        return "null: this figure does not apply to this scenario"
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, str):
        return TEXT
    if key.endswith("_ms"):
        return MS
    if key.endswith("_s"):
        return SECONDS
    return NUMBER


class ExpectationError(VpcsimError, ValueError):
    """A path or condition of ``expect`` that cannot be checked; the message says why (one line)."""


def _suggest(name: str, options: list[str], what: str) -> str:
    hint = difflib.get_close_matches(name, options, n=1)
    if hint:
        return f"did you mean {hint[0]!r}?"
    shown = ", ".join(options[:12]) + (", ..." if len(options) > 12 else "")
    return f"{what}: {shown}" if options else f"it has no {what}"


_GROUP_WORDS = {"functions": "functions", "subnets": "subnets", "outcomes": "outcomes",
                "first_outcome_s": "outcomes"}


UNCHECKED = "unchecked"
"""The kind :func:`metric_kind` gives a capacity figure while the scenario has other problems: the figures are
closed forms of a consistent scenario, so the condition is checked once the others are fixed."""


def metric_kind(scenario: Scenario, path: str, *, capacity_figures: dict | None = None,
                check_capacity: bool = True, shape: dict | None = None) -> str:
    """The kind of the summary leaf at ``path`` (one of the kinds above); raises :class:`ExpectationError` when the
    summary of this scenario has no such value. ``capacity_figures`` saves recomputing ``capacity(scenario)``,
    ``shape`` recomputing :func:`summary_shape`. With ``check_capacity`` false a path into ``capacity`` is
    :data:`UNCHECKED`."""
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise ExpectationError(f"not a metric path: {path!r} (use dots: latency_ms.p99, subnets.ID.min_free_ips)")
    if parts[0] in ("expectations", "replications"):
        raise ExpectationError(f"{parts[0]} is not a metric")
    node: Any = shape if shape is not None else summary_shape(scenario)
    walked: list[str] = []
    for part in parts:
        if not isinstance(node, dict):
            raise ExpectationError(f"{'.'.join(walked)} is a single value; nothing is below it (got {path!r})")
        if part not in node:
            where = ".".join(walked)
            what = _GROUP_WORDS.get(walked[-1], "keys") if walked else "metrics"
            if walked in (["functions"], ["subnets"]):
                noun = "function" if walked == ["functions"] else "subnet"
                raise ExpectationError(f"no {noun} named {part!r} in this scenario; "
                                       f"{_suggest(part, list(node), what)}")
            prefix = f"{where} has no {part!r}" if where else f"no metric {part!r} in the summary"
            raise ExpectationError(f"{prefix}; {_suggest(part, list(node), what)}")
        walked.append(part)
        node = node[part]
        if walked == ["capacity"]:
            if not check_capacity:
                return UNCHECKED  # other problems stop the load anyway; the capacity figures cannot be trusted yet
            if capacity_figures is None:
                from .capacity import capacity  # here: capacity imports the scenario module, like we do

                capacity_figures = capacity(scenario)
            node = _capacity_shape(capacity_figures)
    if isinstance(node, dict):
        raise ExpectationError(f"{path} is a group, not a value; pick one of: {', '.join(list(node)[:12])}")
    if node is None or node not in (COUNT, NUMBER, RATE, MS, SECONDS, FIRST_TIME, USD, TEXT, BOOL):
        raise ExpectationError(f"{path} is {node or 'not a value'}")
    return node


@dataclass(frozen=True)
class Condition:
    """One parsed condition: ``path OP threshold`` (threshold in the metric's unit)."""

    path: str
    text: str  # as written in the file
    op: str
    threshold: float | str | bool
    kind: str
    key: str  # the key under expect:, for line numbers
    index: int | None  # position in the key's list, if it was a list

    def holds(self, value: float | str | bool | None) -> bool:
        if value is None:
            value = math.inf if self.kind == FIRST_TIME else None
        if value is None:
            return False  # no value (e.g. no successful invocation): the assumption cannot be confirmed
        if self.op in ("==", "!="):
            if isinstance(self.threshold, float) and isinstance(value, int | float) and not isinstance(value, bool):
                same = value == self.threshold or math.isclose(value, self.threshold, rel_tol=1e-9, abs_tol=1e-12)
            else:
                same = value == self.threshold
            return same if self.op == "==" else not same
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        th = float(self.threshold)
        return {"<": value < th, "<=": value <= th, ">": value > th, ">=": value >= th}[self.op]


_UNIT_WORDS = {MS: "milliseconds", SECONDS: "seconds", FIRST_TIME: "seconds"}


def _parse_threshold(path: str, kind: str, op: str, text: str) -> float | str | bool:
    raw = text.strip().strip("'\"")
    if kind == TEXT:
        if op not in ("==", "!="):
            raise ExpectationError(f"{path} is text; only == and != apply (got {op!r})")
        if not raw:
            raise ExpectationError(f"{path}: nothing to compare with after {op!r}")
        return raw
    if kind == BOOL:
        if op not in ("==", "!=") or raw.lower() not in ("true", "false"):
            raise ExpectationError(f"{path} is true or false; write '== true' or '== false' (got {op} {raw})")
        return raw.lower() == "true"
    if not raw:
        raise ExpectationError(f"{path}: a number must follow {op!r}")
    if kind == FIRST_TIME and raw.lower() == "never":
        if op not in ("==", "!="):
            raise ExpectationError(f"{path}: 'never' works with == and != only (got {op!r})")
        return math.inf
    if _PLAIN.match(raw):
        return float(raw)
    if kind in (MS, SECONDS, FIRST_TIME):
        try:
            seconds = parse_duration(raw)
        except ValueError:
            raise ExpectationError(f"{path} is in {_UNIT_WORDS[kind]}: write a number or a duration like '3s', "
                                   f"'250ms', '10m' (got {raw!r})") from None
        return seconds * 1000.0 if kind == MS else seconds
    if kind == USD and raw.startswith("$") and _PLAIN.match(raw[1:].strip()):
        return float(raw[1:].strip())
    if kind == USD:
        raise ExpectationError(f"{path} is in US dollars: write a number like 12.5 or '$12.50' (got {raw!r})")
    if kind == RATE and raw.endswith("%") and _PLAIN.match(raw[:-1].strip()):
        return float(raw[:-1].strip()) / 100.0
    if kind == RATE:
        raise ExpectationError(f"{path} is a fraction of invocations: write a number like 0.001 or a percentage "
                               f"like '0.1%' (got {raw!r})")
    raise ExpectationError(f"{path} has no unit: write a plain number (got {raw!r})")


def parse_condition(path: str, kind: str, written: Any, *, key: str = "", index: int | None = None) -> Condition:
    """``"<= 0.001"`` (or a bare number, meaning ``==``) → :class:`Condition`; raises :class:`ExpectationError`."""
    if isinstance(written, bool) or written is None:
        raise ExpectationError(f"not a condition: {written!r}; write OP VALUE with OP one of "
                               f"{' '.join(sorted(OPS))}, e.g. '<= 0.001'")
    if isinstance(written, int | float):
        if kind in (TEXT, BOOL):
            raise ExpectationError(f"{path} is {'text' if kind == TEXT else 'true or false'}; "
                                   f"write '== VALUE' (got {_short(written)})")
        number = _in_domain(path, kind, _finite_threshold(path, written, written), written)
        return Condition(path, f"== {written}", "==", number, kind, key or path, index)
    text = str(written)
    if len(text) > 200:
        raise ExpectationError(f"not a condition: {len(text):,} characters; write OP VALUE, e.g. '<= 0.001'")
    m = _COND.match(text)
    if not m:
        stripped = text.strip()
        hint = " (use == for equality)" if stripped.startswith("=") or "=<" in stripped or "=>" in stripped else (
            f" (for equality write '== {stripped}')" if _PLAIN.match(stripped) else "")
        raise ExpectationError(f"not a condition: {text!r}; write OP VALUE with OP one of < <= > >= == !=, "
                               f"e.g. '<= 0.001'{hint}")
    op, rest = m.group(1), m.group(2)
    if rest.startswith(("=", "<", ">")):
        raise ExpectationError(f"not a condition: {text!r}; OP is one of < <= > >= == !=")
    threshold = _parse_threshold(path, kind, op, rest)
    if isinstance(threshold, float) and not (kind == FIRST_TIME and rest.strip().strip("'\"").lower() == "never"):
        threshold = _in_domain(path, kind, _finite_threshold(path, threshold, text), text)
    return Condition(path, " ".join(text.split()), op, threshold, kind, key or path, index)


def _in_domain(path: str, kind: str, value: float, written: Any) -> float:
    """A threshold the metric can reach: a share within 0..1 (``<= 10`` is always true of a failure rate, the
    writer meant 10%), a count, a time or a cost not below 0. A condition outside is a slip, never a check."""
    if kind == RATE and not 0 <= value <= 1:
        hint = f"; for {value:g} percent write '{value:g}%'" if 1 < value <= 100 and "%" not in str(written) else ""
        raise ExpectationError(f"{path} is a share of invocations, from 0 to 1 (0% to 100%): {_short(written)} is "
                               f"outside it, so the condition could never fail or never hold{hint}")
    if kind in (COUNT, MS, SECONDS, FIRST_TIME, USD) and value < 0:
        raise ExpectationError(f"{path} is never below 0: {_short(written)} would make a condition that could never "
                               f"fail or never hold")
    return value


def _short(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**21:
        return f"a whole number of {len(str(abs(value)))} digits"
    return repr(value)


def _finite_threshold(path: str, value: float | int, written: Any) -> float:
    """A threshold as a finite float: a condition against NaN can never hold, one against infinity always does."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ExpectationError(f"{path}: a threshold must be a finite number (got {_short(written)})")
    return number


def _text_domain(scenario: Scenario, path: str, figures: dict | None) -> list[str] | None:
    """The values a text metric can take, where they are known: a typo in ``== subnet_ip`` must not pass silently
    as a condition that can never hold."""
    parts = path.split(".")
    if path == "platform":
        return ["legacy", "hyperplane"]
    if path == "scenario":
        return [scenario.name]
    if len(parts) == 3 and parts[0] == "subnets" and parts[2] == "az":
        return scenario.azs
    if figures is not None and len(parts) == 4 and parts[:2] == ["capacity", "functions"] and parts[3] == "binding":
        # The ceilings that can bind; n_minus_1 and scaling_s are figures beside them, never "the binding limit".
        return [k for k in figures["functions"][parts[2]]["ceilings"] if k != "n_minus_1" and not k.endswith("_s")]
    return None


def _expect_items(scenario: Scenario):
    for key, spec in scenario.expect.items():
        if isinstance(spec, list):
            if not spec:
                yield key, None, None  # an empty list: flagged below
            for i, item in enumerate(spec):
                yield key, i, item
        else:
            yield key, None, spec


def compile_expectations(scenario: Scenario, *, check_capacity: bool = True,
                         ) -> tuple[list[Condition], list[tuple[tuple, str]]]:
    """Parse every ``expect`` entry: the conditions, and the problems as (raw path in the file, message)."""
    conditions: list[Condition] = []
    problems: list[tuple[tuple, str]] = []
    figures: dict | None = None
    if check_capacity and any(k.split(".")[0] == "capacity" for k in scenario.expect):
        from .capacity import capacity

        figures = capacity(scenario)
    kinds: dict[str, str] = {}
    shape = summary_shape(scenario) if scenario.expect else {}  # once: it lists every function and subnet
    for key, index, spec in _expect_items(scenario):
        where: tuple = ("expect", key) if index is None else ("expect", key, index)
        if key not in kinds:
            try:
                kinds[key] = metric_kind(scenario, key, capacity_figures=figures, check_capacity=check_capacity,
                                         shape=shape)
            except ExpectationError as exc:
                problems.append((("expect", key), str(exc)))
                kinds[key] = ""
        if not kinds[key] or kinds[key] == UNCHECKED:
            continue
        if spec is None:
            problems.append((where, "an empty list of conditions checks nothing"))
            continue
        try:
            cond = parse_condition(key, kinds[key], spec, key=key, index=index)
        except ExpectationError as exc:
            problems.append((where, str(exc)))
            continue
        domain = _text_domain(scenario, key, figures) if cond.kind == TEXT else None
        if domain is not None and cond.threshold not in domain:
            hint = difflib.get_close_matches(str(cond.threshold), domain, n=1)
            problems.append((where, f"{key} is one of {', '.join(domain)}; "
                                    f"{f'did you mean {hint[0]!r}?' if hint else 'no such value'} "
                                    f"(got {cond.threshold!r})"))
            continue
        conditions.append(cond)
    return conditions, problems


def expect_problems(scenario: Scenario, *, check_capacity: bool = True) -> list[tuple[tuple, str]]:
    """The load-time findings about ``expect`` (for the scenario loader's cross-checks)."""
    return compile_expectations(scenario, check_capacity=check_capacity)[1]


# --------------------------------------------------------------------------------------------------- evaluation


def lookup(summary: Summary, path: str) -> Any:
    """The value at a dotted path of a summary (:func:`simulator.summary.get`); a first occurrence that did not
    happen is None."""
    return get(summary, path)


_CHECKED_AS = {"value": "", "mean": "mean ", "ci_high": "upper end of the 95% interval ",
               "ci_low": "lower end of the 95% interval "}


def evaluate(scenario: Scenario, summary: Summary, *, strict: bool = False) -> list[dict[str, Any]]:
    """Check the scenario's expectations against a summary (a single run's, or the means of replications).

    One row per condition: ``path, condition, value`` (the run's value, or the mean of the replications),
    ``passed``, plus ``checked`` (the number compared), ``checked_as`` (``value``, ``mean``, ``ci_high`` or
    ``ci_low``), ``ci`` (``[low, high]`` or null), ``n`` (replications), ``kind``, ``threshold``, ``key``
    (the key under ``expect:``) and ``message`` (one sentence for people)."""
    conditions, problems = compile_expectations(scenario)
    if problems:  # only for scenarios built around the loader; a loaded scenario was checked already
        raise ExpectationError("; ".join(f"expect.{p[0][1]}: {p[1]}" for p in problems))
    reps = summary.get("replications") or None
    metrics = reps["metrics"] if reps else {}
    rows = []
    for c in conditions:
        value = lookup(summary, c.path)
        stats = metrics.get(c.path)
        checked, checked_as = value, ("mean" if reps else "value")
        ci = None
        if stats is not None and stats.get("ci_low") is not None:
            ci = [stats["ci_low"], stats["ci_high"]]
            if strict and c.op in ("<", "<="):
                checked, checked_as = stats["ci_high"], "ci_high"
            elif strict and c.op in (">", ">="):
                checked, checked_as = stats["ci_low"], "ci_low"
        passed = c.holds(checked)
        row = {
            "path": c.path,
            "condition": c.text,
            "value": value,
            "passed": passed,
            "checked": checked,
            "checked_as": checked_as,
            "ci": ci,
            "n": reps["n"] if reps else 1,
            "n_null": stats.get("n_null", 0) if stats else 0,
            "kind": c.kind,
            "threshold": "never" if isinstance(c.threshold, float) and math.isinf(c.threshold) else c.threshold,
            "key": c.key,
            "index": c.index,
        }
        row["message"] = explain(row)
        rows.append(row)
    return rows


def explain(row: dict[str, Any]) -> str:
    """One sentence on a checked expectation: the value, how it was taken and what was expected."""
    kind, n = row["kind"], row["n"]
    shown = format_value(row["checked"], kind)
    n_null = row.get("n_null") or 0
    if kind == FIRST_TIME and n > 1 and row["value"] is None:
        head = f"{row['path']}: never, in any of {n} replications"
    elif row["checked_as"] in ("ci_high", "ci_low"):
        head = (f"{row['path']}: {_CHECKED_AS[row['checked_as']]}{shown} "
                f"(mean {format_value(row['value'], kind)}, {n} replications)")
    elif row["checked_as"] == "mean":
        ci = row.get("ci")
        interval = f", 95% interval {format_value(ci[0], kind)} .. {format_value(ci[1], kind)}" if ci else ""
        head = f"{row['path']}: mean {shown} over {n} replications{interval}"
    else:
        head = f"{row['path']} = {shown}"
    if kind == FIRST_TIME and n > 1 and 0 < n_null < n:
        head += f" (it did not happen in {n_null} of them; counted at the end of the run)"
    if row["checked"] is None and kind != FIRST_TIME:
        return f"{head}: no value (e.g. no successful invocation), expected {row['condition']}"
    return f"{head}: {row['condition']} holds" if row["passed"] else f"{head}, expected {row['condition']}"


def key_figures(summary: Summary) -> str:
    """The run's key figures in a few lines, for failure messages (CLI, JUnit, pytest). With replications the counts
    are means, rounded as people say them (``failed 39,177``, not ``39,177.3``)."""
    inv = summary.get("invocations") or 0
    def share(rate: float | None) -> str:
        return "-" if rate is None else percent(rate)

    def count(v: Any) -> str:
        return prose_count(v) if isinstance(v, int | float) and not isinstance(v, bool) else format_value(v, NUMBER)

    lines = [
        f"invocations {count(inv)}: failed {count(summary['failed'])} "
        f"({share(summary['failure_rate'])}), throttled {count(summary['throttled'])} "
        f"({share(summary['throttle_rate'])})",
    ]
    causes = {k: v for k, v in summary["outcomes"].items() if k != "success" and v}
    if causes:
        lines.append("failures by cause: " + ", ".join(f"{k} {count(v)}" for k, v in causes.items()))
    lat = summary["latency_ms"]
    lines.append(f"latency p50 {format_value(lat['p50'], MS)}, p99 {format_value(lat['p99'], MS)}; "
                 f"peak concurrency {count(summary['peak_concurrency'])}"
                 + (f", peak ENIs {count(summary['peak_enis'])}"
                    if summary.get("peak_enis") is not None else ""))
    if summary.get("subnets"):
        parts = []
        for sid, s in summary["subnets"].items():
            ex = "" if s["exhausted_s"] is None else f", exhausted at {format_value(s['exhausted_s'], FIRST_TIME)}"
            parts.append(f"{sid} {count(s['min_free_ips'])}/{count(s['usable_ips'])}{ex}")
        lines.append("fewest free subnet addresses: " + "; ".join(parts))
    first = {k: v for k, v in (summary.get("first_outcome_s") or {}).items() if k != "success"}
    if first:
        cause, at = min(first.items(), key=lambda kv: kv[1])
        lines.append(f"first failure or throttle: {cause} at {format_value(at, FIRST_TIME)}")
    reps = summary.get("replications")
    if reps:
        lines.append(f"(on average over {reps['n']} replications)")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------- discovery

# Folders never searched for scenarios: tools' caches and environments, not the team's files.
SKIP_DIRS = frozenset(("node_modules", "venv", "__pycache__", "site-packages", "build", "dist"))
_EXPECT_KEY = re.compile(r"^expect\s*:", re.MULTILINE)


def has_expectations(path: Path) -> tuple[bool, str]:
    """(check this file, why not). A YAML file is checked when its top level has ``expect``; a file that does not
    parse is checked (and then reported invalid) when a line starts with ``expect:`` — a broken scenario must not
    pass silently, while another tool's templated YAML in the same folder is none of our business."""
    from ..inputs import MAX_SCENARIO_BYTES, InputFileError, read_text_file
    from ..scenario.problems import ScenarioError
    from ..scenario.yaml_marks import compose_yaml

    try:  # as the loader reads it: a regular file within the limits (not a FIFO, which would block the search)
        text = read_text_file(path, what="a scenario file", limit_bytes=MAX_SCENARIO_BYTES)
    except InputFileError as exc:
        return False, exc.reason
    try:
        data, _ = compose_yaml(text, str(path))  # bounded: a YAML bomb in the folder is refused, not expanded
    except ScenarioError:
        return bool(_EXPECT_KEY.search(text)), "not YAML"
    if isinstance(data, dict) and "expect" in data:
        return True, ""
    return False, "no expect: section"


def find_scenario_files(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The scenario files to check under ``paths`` — files as given (a named file that is not YAML is kept, so
    that loading it reports what is wrong), folders searched recursively for ``*.yaml``/``*.yml`` in sorted order,
    skipping hidden folders and tool folders — and the files skipped with the reason. A missing path raises
    :class:`ExpectationError`."""
    chosen: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise ExpectationError(f"{path}: no such file or folder")
        if not path.is_dir():  # a file, or a FIFO or device named on purpose: loading it says what is wrong
            ok, why = has_expectations(path)
            if ok or why == "not YAML" or not why.startswith("no expect"):
                chosen.append(path)  # named explicitly: load it, and report what is wrong with it
            else:
                skipped.append((path, why))
            continue
        for file in sorted(p for ext in ("*.yaml", "*.yml") for p in path.rglob(ext)):
            rel = file.relative_to(path).parts[:-1]
            if any(part.startswith(".") or part in SKIP_DIRS for part in rel):
                continue
            ok, why = has_expectations(file)
            if ok:
                chosen.append(file)
            else:
                skipped.append((file, why))
    seen: set[Path] = set()
    unique = []
    for p in chosen:
        if p.resolve() not in seen:
            seen.add(p.resolve())
            unique.append(p)
    return unique, skipped
