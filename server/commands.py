"""What the hub asks the I/O shell to do (in the style of mitmproxy's commands).

The hub never touches a socket: it returns these, and the threaded server
carries them out. Tests read a hub's answers as a transcript of commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from socketlab.protocol import AnyMessage, Error


@dataclass(frozen=True, slots=True)
class Send:
    """Deliver ``msg`` to one connection."""

    conn_id: int
    msg: AnyMessage


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Deliver ``msg`` to every logged-in user except ``exclude``."""

    msg: AnyMessage
    exclude: int | None = None


@dataclass(frozen=True, slots=True)
class Close:
    """Send what is queued for ``conn_id``, then ``error`` if any, then close it."""

    conn_id: int
    error: Error | None = None


@dataclass(frozen=True, slots=True)
class Log:
    """A line for the server's log; ``level`` is a ``logging`` level."""

    level: int
    text: str


@dataclass(frozen=True, slots=True)
class Throttle:
    """``conn_id`` is over its rate: its message was *not* handled; give it again
    after ``delay_ms``, and read nothing more from that client until then."""

    conn_id: int
    delay_ms: int


Command = Send | Broadcast | Close | Log | Throttle
