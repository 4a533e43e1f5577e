"""The command line (SPEC §6): the typer app and its shared options, error handling and output (:mod:`.core`), and
one module per group of commands, each registering its commands on the app when imported: :mod:`.validate`
(``validate``, ``capacity``, ``schema``), :mod:`.run` (``run``), :mod:`.check` (``check``, ``sweep``), :mod:`.report` (``report``,
``compare``), :mod:`.importing` (``import ...``) and :mod:`.answers` (``headroom``, ``size``). This package is the
only place that prints.
"""

from __future__ import annotations

# Each module registers its commands on the app when imported; `vpcsim --help` lists them in this order.
# isort: off
from . import validate, run, answers, check, report, importing  # noqa: F401
# isort: on
from .core import app, main

__all__ = ["app", "main"]
