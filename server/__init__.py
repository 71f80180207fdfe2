"""The chat server: a pure hub of chat rules, and two engines that carry them out.

``ChatServer`` (``threads``, the default and the labs' design) gives each client
a reader and a writer thread; ``EventServer`` (``events``) serves every client
from one ``selectors`` loop. Same hub, same protocol, same options.
"""

from socketlab.trace import NullTracer, Tracer, open_tracer

from .app import ChatServer, ListenError
from .commands import Broadcast, Close, Command, Log, Send, Throttle
from .events import EventServer
from .flood import FloodLimits
from .hub import Hub

ENGINES: dict[str, type[ChatServer]] = {"threads": ChatServer, "events": EventServer}
"""``socketlab server --engine NAME``: the class that serves with that engine."""

__all__ = [
    "ENGINES", "Broadcast", "ChatServer", "Close", "Command", "EventServer", "FloodLimits",
    "Hub", "ListenError", "Log", "NullTracer", "Send", "Throttle", "Tracer", "open_tracer",
]  # fmt: skip
