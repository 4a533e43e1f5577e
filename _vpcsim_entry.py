"""The ``vpcsim`` command's entry point: one line, not a traceback, for a Ctrl-C or SIGTERM while it starts or ends.

Importing :mod:`simulator` takes about half a second (numpy, pandas, typer, rich), and a signal in that time would
end in a traceback (SIGINT) or without a word (SIGTERM). This module lives outside the package and imports nothing
heavy, so it is in charge before that import begins; :func:`simulator.cli.main` takes over once it is done, and once
the command is over a signal no longer changes its exit code.
"""

from __future__ import annotations

import signal
import sys


class _Terminated(KeyboardInterrupt):
    """SIGTERM while starting."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def main() -> int:
    try:
        signal.signal(signal.SIGTERM, _terminate)
        from simulator.cli import main as cli_main
    except KeyboardInterrupt as exc:
        word, code = ("terminated", 143) if isinstance(exc, _Terminated) else ("interrupted", 130)
        sys.stderr.write(f"vpcsim: {word} while starting (nothing was written)\n")
        return code
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
