"""The kit's errors: one small hierarchy, each with a stable ``code``.

Codes are part of the wire contract (they travel in ``error`` frames) and of
the CLI's messages, so tests and students can rely on them.
"""

from __future__ import annotations


class SocketlabError(Exception):
    """Base of every error socketlab raises on purpose."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ProtocolError(SocketlabError):
    """The peer sent something the protocol does not allow."""


class E2EError(ProtocolError):
    """An end-to-end whisper or user key that cannot be trusted (bad signature, a box
    that does not open, an inner sender or recipient the server changed). A client
    shows it in place of the text and keeps the connection; a server that finds a
    bad login bundle closes."""


class LocalProtocolError(SocketlabError):
    """We tried to do something the protocol does not allow (a bug in the caller)."""


class IdentityError(SocketlabError):
    """The server's identity is not the one we pinned, or its signature is wrong."""

    def __init__(
        self, code: str, message: str, *, known: str | None = None, offered: str | None = None
    ) -> None:
        super().__init__(code, message)
        self.known = known
        self.offered = offered


class KeyLogError(SocketlabError):
    """A key-log file has a line that cannot be read."""

    def __init__(self, message: str, *, line_no: int) -> None:
        super().__init__("bad_keylog", f"line {line_no}: {message}")
        self.line_no = line_no
