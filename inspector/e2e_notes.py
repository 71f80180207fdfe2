"""What the inspector says about end-to-end whispers inside a decoded session.

The transport key (any key log) shows an ``e2e_whisper`` or ``e2e_message``
only as its box: ciphertext sealed between the two users' e2e keys, which the
server never had. A CLIENT's key log may also hold that user's e2e key pair
(``SOCKETLAB_E2E``); with it the box is opened, the way that client opens it.
Each connection remembers the keys it saw (its login's ``e2e_key``, the
``user_key`` answers), which name the other side of each box.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from socketlab.protocol import (
    AnyMessage,
    E2EError,
    E2EMessage,
    E2EWhisper,
    Login,
    UserKey,
    Welcome,
    name_key,
    open_box,
)


@dataclass
class E2EWatch:
    """One connection's view of end-to-end keys: its user's, and those it looked up."""

    name: str | None = None  # the user's name, once a login was sent (or welcomed)
    own_key: bytes | None = None  # the user's e2e key from its login
    peers: dict[str, bytes] = field(default_factory=dict)  # name key -> e2e key (user_key)

    def describe(self, messages: Iterable[AnyMessage],
                 secrets: Mapping[bytes, bytes] | None) -> str:
        """A note for the end-to-end messages among ``messages`` ("" if none)."""
        notes = []
        for msg in messages:
            if type(msg) not in _WATCHED:  # a say, a message…: most of a session
                continue
            self._learn(msg)
            if isinstance(msg, E2EWhisper):
                # The server finds the recipient by name key; the box names it exactly.
                ends = (self.own_key, self.peers.get(name_key(msg.to)))
                notes.append(_box_note(self.name, msg.to, msg.nonce, msg.box, ends, secrets,
                                       exact=False))
            elif isinstance(msg, E2EMessage):
                if self.name is not None and name_key(msg.to) == name_key(self.name):
                    other = self.own_key
                else:
                    other = self.peers.get(name_key(msg.to))
                notes.append(_box_note(msg.sender, msg.to, msg.nonce, msg.box,
                                       (msg.key, other), secrets, exact=True))
        return "; ".join(notes)

    def _learn(self, msg: AnyMessage) -> None:
        if isinstance(msg, Login):
            self.name, self.own_key = msg.name, msg.e2e_key
        elif isinstance(msg, Welcome):
            self.name = msg.name
        elif isinstance(msg, UserKey):
            self.peers[name_key(msg.name)] = msg.key


# The message types that carry or name end-to-end keys; ``describe`` skips the rest.
_WATCHED: frozenset[type] = frozenset({Login, Welcome, UserKey, E2EWhisper, E2EMessage})


def _box_note(sender: str | None, to: str, nonce: bytes, box: bytes,
              ends: tuple[bytes | None, bytes | None],
              secrets: Mapping[bytes, bytes] | None, *, exact: bool) -> str:
    sealed = f"end-to-end: {len(box)} bytes, the server cannot read it"
    opening = _opening(ends, secrets or {})
    if opening is None:
        return sealed
    secret, peer = opening
    try:
        inner = open_box(secret, peer, nonce, box)
    except E2EError as exc:
        return f"{sealed}; the client's e2e key does not open it ({exc.code})"
    same_to = inner.to == to if exact else name_key(inner.to) == name_key(to)
    if (sender is not None and inner.sender != sender) or not same_to:
        return (f"{sealed}; opened with the client's e2e key, but the box says "
                f"{inner.sender} → {inner.to} and the frame {sender} → {to}: "
                "redirected or reflected, so a client refuses it (e2e_misrouted)")
    return (f"end-to-end whisper {inner.sender} → {inner.to}, opened with the client's "
            f"e2e key (SOCKETLAB_E2E): {json.dumps(inner.text, ensure_ascii=False)}")


def _opening(ends: tuple[bytes | None, bytes | None],
             secrets: Mapping[bytes, bytes]) -> tuple[bytes, bytes] | None:
    """(our secret, the other end's key) if the key log holds one end's secret."""
    first, second = ends
    if first is None or second is None:
        return None
    if first in secrets:
        return secrets[first], second
    if second in secrets:
        return secrets[second], first
    return None
