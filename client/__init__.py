"""The chat client: a headless library (``ChatClient``), the shared command
parser, the terminal client (``socketlab client --tui``) and the Tk GUI."""

from .chat_client import ChatClient, ChatError
from .events import Disconnected

__all__ = ["ChatClient", "ChatError", "Disconnected"]
