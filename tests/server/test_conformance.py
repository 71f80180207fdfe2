"""The conformance suite against the kit's server: the same checks a student's lab-09 server passes.

The checks live in ``socketlab.labs.conformance`` (one suite, two targets);
lab 09's ``checks/test_conformance.py`` runs them against the student's server.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from socketlab.labs.conformance import *  # noqa: F403 - the suite's checks, collected here
from socketlab.labs.conformance import Target
from socketlab.server import ChatServer, FloodLimits

SENDQ = 64 * 1024  # as small as lab 09's, so the slow-client check floods for a moment only


@pytest.fixture
def chat_target(make_server: Callable[..., ChatServer]) -> Target:
    """The kit's server, flood control off (the slow-client check floods on purpose)."""
    server = make_server(sendq=SENDQ, flood=FloodLimits(rate=0))
    return Target(server.address, SENDQ, "the kit's server")
