"""Who each connection is: the user's name, once its login has been seen.

Before the login a connection is only two addresses (``127.0.0.1:53042 ⇄
127.0.0.1:7777``); after it, people call it by the user's name. The server's
``welcome`` gives the name it accepted; a login it refused (``name_taken``, a
``bad_name``) still names the connection by the name that was asked for, and
``refused_logins`` says why. A login sealed without its key stays unread, so
that connection has no name.
"""

from __future__ import annotations

from collections.abc import Iterable

from socketlab.protocol import Error, Login, Welcome

from .decode import Decoded, Frame
from .events import Connection


def _logins(items: Iterable[Decoded]) -> tuple[dict[Connection, str], dict[Connection, str]]:
    """(connection → name, connection → refusal code of a login never welcomed)."""
    names: dict[Connection, str] = {}
    welcomed: set[Connection] = set()
    refused: dict[Connection, str] = {}
    for item in items:
        if not isinstance(item, Frame):
            continue
        for msg in item.messages:
            if isinstance(msg, Login) and item.conn not in welcomed:
                names[item.conn] = msg.name  # a retry after bad_name replaces the first ask
                refused.pop(item.conn, None)
            elif isinstance(msg, Welcome):
                names[item.conn] = msg.name
                welcomed.add(item.conn)
                refused.pop(item.conn, None)
            elif isinstance(msg, Error) and item.conn in names and item.conn not in welcomed:
                refused[item.conn] = msg.code
    return names, refused


def user_names(items: Iterable[Decoded]) -> dict[Connection, str]:
    """Each connection whose login was read → its user's name (welcomed or refused)."""
    return _logins(items)[0]


def refused_logins(items: Iterable[Decoded]) -> dict[Connection, str]:
    """Each connection whose login the server refused → the error code it answered."""
    return _logins(items)[1]
