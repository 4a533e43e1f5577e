"""Extension points: what a lower layer calls and a higher layer provides.

Loading a scenario (layer 1, :mod:`simulator.scenario`) needs two things that live above it: checking the
``expect`` paths against the summary's shape and the capacity figures (:mod:`simulator.analysis.expectations`), and
importing the template of an ``infrastructure:`` scenario (:mod:`simulator.sources.infrastructure`). Importing them
from the loader would make import circles (scenario -> expectations -> capacity -> scenario). Instead the loader
calls them through this module, and the package root (``simulator/__init__.py``), which Python imports before any
of its submodules, installs them. This module imports nothing of the package; calling a hook that nobody installed
is an error, never a silent skip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["install", "expect_problems", "load_infrastructure"]

_installed: dict[str, Callable[..., Any]] = {}


def install(**providers: Callable[..., Any]) -> None:
    """Install the providers of the hooks named by the keywords (``expect_problems``, ``load_infrastructure``)."""
    unknown = set(providers) - set(__all__[1:])
    if unknown:
        raise TypeError(f"no such hook: {', '.join(sorted(unknown))}")
    _installed.update(providers)


def _provider(name: str) -> Callable[..., Any]:
    try:
        return _installed[name]
    except KeyError:
        raise RuntimeError(f"simulator.hooks.{name} is not installed; the package root installs it "
                           f"(import simulator)") from None


def expect_problems(scenario: Any, *, check_capacity: bool = True) -> list[tuple[tuple, str]]:
    """The load-time problems of a scenario's ``expect``: (path in the file, message) pairs."""
    return _provider("expect_problems")(scenario, check_capacity=check_capacity)


def load_infrastructure(data: dict, **options: Any) -> Any:
    """The scenario that an ``infrastructure:`` scenario file makes, its template imported afresh."""
    return _provider("load_infrastructure")(data, **options)
