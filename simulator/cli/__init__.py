"""The command line (SPEC §6): the typer app and its shared options, error handling and output (:mod:`.core`), and
one module per group of commands, each registering its commands on the app when imported: :mod:`.core` itself
(``run``, ``validate``, ``capacity``, ``schema``), :mod:`.check` (``check``, ``sweep``), :mod:`.report` (``report``,
``compare``), :mod:`.importing` (``import ...``) and :mod:`.answers` (``headroom``, ``size``). This package is the
only place that prints.
"""

from __future__ import annotations

from . import answers, check, importing, report  # noqa: F401  (each registers its commands on the app)
from .core import app, main

__all__ = ["app", "main"]
