"""The ``vpcsim`` command's entry point: one line, not a traceback, for a Ctrl-C or SIGTERM while it starts or ends.

Importing :mod:`simulator` takes about half a second (numpy, pandas, typer, rich, pydantic), and a signal in that
time would end in a traceback (SIGINT) or without a word (SIGTERM). This module lives outside the package and imports
nothing heavy, so it is in charge before that import begins; :func:`simulator.cli.core.main` takes over once it is done,
and once the command is over a signal no longer changes its exit code.
"""

from __future__ import annotations

import os
import signal
import sys

_CODES = {signal.SIGINT: ("interrupted", 130), signal.SIGTERM: ("terminated", 143)}


def _stop(signum: int) -> int:
    word, code = _CODES[signum]
    sys.stderr.write(f"vpcsim: {word} while starting (nothing was written)\n")
    sys.stderr.flush()
    return code


def main() -> int:
    # While the package is imported a signal is held, not raised: an exception raised inside a library's import
    # can surface as another error (pydantic turns one raised while it builds a model's schema into a SchemaError).
    # The import is short; a second signal (a hung disk, an impatient user) ends the process at once.
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        if held:
            os._exit(_stop(held[0]))  # nothing is written yet, so there is nothing to clean up
        held.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in _CODES}
    from simulator.cli.core import main as cli_main

    for sig, handler in previous.items():
        signal.signal(sig, handler)
    if held:
        return _stop(held[0])
    try:
        return cli_main()
    finally:
        # The command is over, its outputs complete and its last line printed. Python's own shutdown takes a moment
        # after pandas, and a signal then would end the process without a word, with the signal's status instead of
        # the command's exit code.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
