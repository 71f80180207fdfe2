"""Events a ``ChatClient`` puts on its queue besides the server's messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# Reasons a front end can compare against; a server error reads "code: message".
CLOSED_BY_YOU = "closed by you"
CLOSED_BY_SERVER = "closed by the server"
CONNECTION_LOST = "connection lost"

# How far a whisper can be trusted (what the front ends mark it with):
E2E_VERIFIED: Final = "e2e_verified"  # end to end, from the identity pinned for that name
E2E_NEW: Final = "e2e_new"  # end to end, first contact: the identity was pinned just now
E2E_CHANGED: Final = "e2e_changed"  # end to end, but NOT from the identity pinned before
TRANSPORT: Final = "transport"  # a plain whisper: the server could read it (an old client)
Security = Literal["e2e_verified", "e2e_new", "e2e_changed", "transport"]


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The last event of a session: the receive thread has stopped, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class E2EUnavailable:
    """The server refused our login's end-to-end key as a field it does not know (a
    server older than end-to-end whispers, such as labs 06-09's), so the client
    logged in again without it: whispers are transport-encrypted only."""

    where: str  # the server's HOST:PORT
    code: str  # the server's refusal: bad_message, unknown_type or unexpected_message


@dataclass(frozen=True, slots=True)
class Whispered:
    """A whisper to or from us, as a user should see it (clients with ``e2e=True``).

    ``security`` says how far it can be trusted; ``fingerprint`` is the other
    party's identity (end to end only), ``pinned`` the one pinned before when
    it changed.
    """

    sender: str
    to: str
    text: str
    ts: int
    security: Security
    fingerprint: str | None = None
    pinned: str | None = None

    @property
    def end_to_end(self) -> bool:
        return self.security != TRANSPORT


@dataclass(frozen=True, slots=True)
class WhisperRefused:
    """An end-to-end whisper that was not shown (``outgoing=False``) or not sent, and why.

    ``code``: the ``E2EError`` code of a received one (bad_signature, bad_key,
    e2e_decrypt_failed, e2e_misrouted, e2e_bad_inner, e2e_no_peer_key), or why
    one was not sent (identity_changed, bad_signature, bad_key, e2e_misrouted).
    """

    peer: str
    code: str
    reason: str
    outgoing: bool


@dataclass(frozen=True, slots=True)
class PeerIdentityChanged:
    """``name`` signed with another identity than the one pinned for it: maybe an impostor."""

    name: str
    where: str  # the server's HOST:PORT the pin belongs to
    pinned: str
    offered: str
