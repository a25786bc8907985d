"""``python -m fakepay``: the same program as the ``fakepay`` command."""

import sys

from .cli import main

sys.exit(main())
