"""Events a ``ChatClient`` puts on its queue besides the server's messages."""

from __future__ import annotations

from dataclasses import dataclass

# Reasons a front end can compare against; a server error reads "code: message".
CLOSED_BY_YOU = "closed by you"
CLOSED_BY_SERVER = "closed by the server"
CONNECTION_LOST = "connection lost"


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The last event of a session: the receive thread has stopped, and why."""

    reason: str
