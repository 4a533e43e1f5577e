"""``python -m simulator`` is the ``vpcsim`` command."""

import sys

from .cli import main

sys.exit(main())
