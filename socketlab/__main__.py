"""``python -m socketlab …`` is the ``socketlab`` command."""

import sys

from socketlab.cli import main

sys.exit(main())
