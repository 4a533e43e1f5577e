"""``python -m simulator`` is the ``vpcsim`` command."""

import sys

from .cli.core import main

sys.exit(main())
