"""A scenario's problems: each one line, ``FILE:LINE: path.to.field: what is wrong (got VALUE)``."""

from __future__ import annotations

import typing
from typing import Any

from ..errors import VpcsimError

__all__ = ["Problem", "ScenarioError", "show_value"]


class Problem(typing.NamedTuple):
    """One thing wrong with a scenario: where (file, line, dotted path) and what."""

    file: str | None
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(VpcsimError, ValueError):
    """A scenario that cannot be used; ``problems`` lists every finding, one line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def show_value(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**21:
        return f"a whole number of {len(str(abs(value)))} digits"  # repr of 10**5000 would fail, and says nothing
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
