"""``python -m socketlab.labs …`` is ``socketlab lab …``."""

import sys

from .cli import main

sys.exit(main())
