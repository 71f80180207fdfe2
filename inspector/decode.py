"""From reassembled TCP streams to chat frames, through ``protocol/`` only.

The inspector decodes with the very code the server and client use, so what
it shows is by construction what the programs exchange. Per connection it
watches the plaintext handshake to learn the mode and the client's key, finds
the session key in the key log (if one was given), and then opens each sealed
frame with a ``SecureChannel`` playing the receiver's role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from socketlab.protocol import (
    HEADER_SIZE,
    MAX_FRAME,
    AnyMessage,
    FrameDecoder,
    Hello,
    ProtocolError,
    SealedParts,
    SecureChannel,
    decode_message,
    encode_frame,
    encode_message,
    parse_sealed,
)

from .events import (
    Closed,
    Conflict,
    Connection,
    Data,
    Direction,
    Event,
    Failure,
    Gap,
    Intercepted,
    Opened,
)

FrameKind = Literal["plain", "sealed", "undecodable"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame as it crossed the wire, and what it means where we can tell."""

    conn: Connection
    direction: Direction
    number: int  # 1, 2, … per connection and direction
    ts: float
    wire: bytes  # header and body, exactly as sent
    kind: FrameKind
    messages: tuple[AnyMessage, ...] = ()  # decoded (decrypted if sealed); a batch has several
    sealed: SealedParts | None = None
    note: str = ""  # why it is not decoded, or how it was
    bodies: tuple[bytes, ...] = ()  # the JSON bodies of ``messages``, exactly as sent

    @property
    def body(self) -> bytes:
        return self.wire[HEADER_SIZE:]

    @property
    def label(self) -> str | None:
        """The message type(s) for people, e.g. ``say`` or ``message+left``; None if unread."""
        return "+".join(m.TYPE for m in self.messages) if self.messages else None


@dataclass(frozen=True, slots=True)
class Note:
    """Something about a stream that is not a frame: a gap, an error, its end."""

    conn: Connection
    direction: Direction | None
    ts: float
    text: str


Decoded = Frame | Note


@dataclass
class _Direction:
    frames: FrameDecoder
    count: int = 0
    stopped: str = ""  # once set, later bytes cannot be delimited into frames


@dataclass
class _Session:
    c2s: _Direction
    s2c: _Direction
    mode: str | None = None  # from the client's hello
    client_key: bytes | None = None
    channels: dict[str, SecureChannel] = field(default_factory=dict)

    def half(self, direction: Direction) -> _Direction:
        return self.c2s if direction == "c2s" else self.s2c


class SessionDecoder:
    """Feed it stream events; it returns frames and notes, in order."""

    def __init__(self, keys: dict[bytes, bytes] | None = None, max_frame: int = MAX_FRAME) -> None:
        self.keys = keys
        self.max_frame = max_frame
        self._sessions: dict[Connection, _Session] = {}

    def add(self, event: Event) -> list[Decoded]:
        if isinstance(event, Data):
            return self._data(event)
        if isinstance(event, Gap):
            half = self._half(event.conn, event.direction)
            if half.stopped:
                return []
            half.stopped = "gap"
            return [Note(event.conn, event.direction, event.ts,
                         f"{event.length} bytes at offset {event.offset} were not captured; "
                         "later frames in this direction cannot be delimited")]
        if isinstance(event, Conflict):
            return [Note(event.conn, event.direction, event.ts,
                         f"a retransmission at offset {event.offset} differed from the first "
                         "copy; the first copy is shown")]
        if isinstance(event, Closed):
            notes: list[Decoded] = []
            session = self._sessions.pop(event.conn, None)
            directions: tuple[Direction, ...] = ("c2s", "s2c") if session else ()
            for direction in directions:
                assert session is not None
                half = session.half(direction)
                if not half.stopped and half.frames.buffered:
                    notes.append(Note(event.conn, direction, event.ts,
                                      f"stream ended inside a frame ({half.frames.buffered} "
                                      "bytes held)"))
            notes.append(Note(event.conn, None, event.ts, f"connection closed ({event.how})"))
            return notes
        if isinstance(event, Opened):
            self._session(event.conn)
        elif isinstance(event, Intercepted):
            arrow = "client → server" if event.direction == "c2s" else "server → client"
            body = encode_message(event.message).decode("utf-8")
            return [Note(event.conn, event.direction, event.ts, f"[MITM read] {arrow}: {body}")]
        elif isinstance(event, Failure):
            return [Note(event.conn, None, event.ts, f"proxy: {event.code}: {event.message}")]
        return []

    def _session(self, conn: Connection) -> _Session:
        session = self._sessions.get(conn)
        if session is None:
            session = _Session(_Direction(FrameDecoder(self.max_frame)),
                               _Direction(FrameDecoder(self.max_frame)))
            self._sessions[conn] = session
        return session

    def _half(self, conn: Connection, direction: Direction) -> _Direction:
        return self._session(conn).half(direction)

    def _data(self, event: Data) -> list[Decoded]:
        session = self._session(event.conn)
        half = session.half(event.direction)
        if half.stopped:
            return []
        try:
            bodies = half.frames.feed(event.data)
        except ProtocolError as exc:
            half.stopped = exc.code
            return [Note(event.conn, event.direction, event.ts,
                         f"not a valid frame ({exc}); the rest of this direction is not shown")]
        out: list[Decoded] = []
        for body in bodies:
            half.count += 1
            wire = encode_frame(body, self.max_frame)
            out.append(self._frame(session, event, half.count, wire, body))
        return out

    def _frame(self, session: _Session, event: Data, number: int, wire: bytes,
               body: bytes) -> Frame:
        conn, direction, ts = event.conn, event.direction, event.ts
        # The first frame each way is the plaintext handshake; in a box session
        # every later frame is sealed.
        if number > 1 and session.mode == "box":
            return self._sealed(session, conn, direction, number, ts, wire, body)
        try:
            message = decode_message(body)
        except ProtocolError as exc:
            return Frame(conn, direction, number, ts, wire, "undecodable", note=str(exc))
        if number == 1 and direction == "c2s" and isinstance(message, Hello):
            session.mode, session.client_key = message.mode, message.key
        return Frame(conn, direction, number, ts, wire, "plain", (message,), bodies=(body,))

    def _sealed(self, session: _Session, conn: Connection, direction: Direction, number: int,
                ts: float, wire: bytes, body: bytes) -> Frame:
        try:
            parts = parse_sealed(body)
        except ProtocolError as exc:
            return Frame(conn, direction, number, ts, wire, "undecodable", note=str(exc))
        channel = session.channels.get(direction)
        if channel is None:
            if self.keys is None:
                return Frame(conn, direction, number, ts, wire, "sealed", sealed=parts,
                             note="encrypted; no key log given (--keylog)")
            key = self.keys.get(session.client_key or b"")
            if key is None:
                return Frame(conn, direction, number, ts, wire, "sealed", sealed=parts,
                             note="encrypted; this session's key is not in the key log")
            # We read c2s frames as the server would, s2c frames as the client would.
            channel = SecureChannel(key, "server" if direction == "c2s" else "client")
            session.channels[direction] = channel
        try:
            bodies = tuple(channel.open_bodies(body, parts))
            messages = tuple(decode_message(inner) for inner in bodies)
        except ProtocolError as exc:
            return Frame(conn, direction, number, ts, wire, "sealed", sealed=parts,
                         note=f"refused: {exc}")
        how = "decrypted with the key log"
        if len(messages) > 1:
            how += f"; a batch of {len(messages)} messages in one sealed frame"
        return Frame(conn, direction, number, ts, wire, "sealed", messages, parts, how, bodies)
