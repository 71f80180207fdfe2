"""From decoded frames to the inputs of the charts (shared by the CLI and the demo)."""

from __future__ import annotations

from collections.abc import Iterable

from socketlab.protocol import encode_frame, encode_message

from .chart_data import LadderEvent, MessageSize
from .decode import Decoded, Frame
from .events import Connection
from .usernames import user_names


def frames_of(items: Iterable[Decoded]) -> list[Frame]:
    return [item for item in items if isinstance(item, Frame)]


def _decrypted(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.sealed is not None and f.messages]


def plain_and_cipher(frames: list[Frame]) -> tuple[bytes, bytes]:
    """The JSON bodies of decrypted frames, and the ciphertexts that carried them.

    Without a key log there is no plaintext of the sealed frames to compare,
    so the plaintext side falls back to the frames that were sent in the clear.
    """
    sealed = _decrypted(frames)
    if sealed:
        plain = b"".join(encode_message(m) for f in sealed for m in f.messages)
    else:
        plain = b"".join(f.body for f in frames if f.kind == "plain")
    cipher = b"".join(f.sealed.ciphertext for f in frames if f.sealed is not None)
    return plain, cipher


def message_sizes(frames: list[Frame]) -> list[MessageSize]:
    """Per message type: the frame size in plaintext and as sealed on the wire.

    Only frames that carry one message are counted: a batch shares its overhead.
    """
    sizes: dict[str, tuple[int, int]] = {}
    for frame in _decrypted(frames):
        if len(frame.messages) == 1:
            (msg,) = frame.messages
            plain = len(encode_frame(encode_message(msg)))
            sizes.setdefault(msg.TYPE, (plain, len(frame.wire)))
    return [MessageSize(kind, p, b) for kind, (p, b) in sorted(sizes.items())]


def connections(frames: list[Frame]) -> list[Connection]:
    seen: dict[Connection, None] = {}
    for frame in frames:
        seen.setdefault(frame.conn)
    return list(seen)


def ladder_events(frames: list[Frame], conn: Connection) -> list[LadderEvent]:
    """One connection's frames, in order, labelled where they could be read."""
    return [LadderEvent(f.ts, f.direction, f.label, len(f.wire), f.sealed is not None)
            for f in frames if f.conn == conn]


def client_name(frames: list[Frame], conn: Connection) -> str:
    """The ladder's client lifeline: the user's name once its login was read, else "client"."""
    return user_names(f for f in frames if f.conn == conn).get(conn, "client")
