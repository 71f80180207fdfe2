"""The conformance suite: the same checks the kit's server passes (tests/server/test_conformance.py)."""

from socketlab.labs.conformance import *  # noqa: F403 - the suite's checks, collected here
