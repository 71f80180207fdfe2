"""The chat server: a pure hub of chat rules, and the threads that carry them out."""

from socketlab.trace import NullTracer, Tracer, open_tracer

from .app import ChatServer, ListenError
from .commands import Broadcast, Close, Command, Log, Send, Throttle
from .flood import FloodLimits
from .hub import Hub

__all__ = [
    "Broadcast", "ChatServer", "Close", "Command", "FloodLimits", "Hub", "ListenError", "Log",
    "NullTracer", "Send", "Throttle", "Tracer", "open_tracer",
]  # fmt: skip
