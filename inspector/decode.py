"""From stream events to what people read: raw bytes, frames, or chat messages.

Each connection is shown the way it speaks (``classify.py``): as raw byte
chunks per direction (``Chunk``, lab 01's echo), as length-prefixed frames
with their text (``Frame`` of kind ``frame``, labs 02–03), or as socketlab
messages. For socketlab the inspector decodes with the very code the server
and client use, so what it shows is by construction what the programs
exchange: it watches the plaintext handshake to learn the mode and the
client's key, finds the session key in the key log (if one was given), and
then opens each sealed frame with a ``SecureChannel`` playing the receiver's
role. Framing always goes through ``protocol/``.

A capture started after the handshake (the classroom's usual order: chat
first, then "let's look at the wire") meets sealed frames straight away. They
are recognised by their nonce (direction byte and counter), numbered from
that counter as a whole capture would number them, and opened with the key
log's session key that authenticates the connection's first sealed frame:
the logged keys are tried once per connection, not per frame. Without the TCP
handshake the capture guesses who is the client (the higher port); the nonce's
direction byte corrects that guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from socketlab.protocol import (
    HEADER_SIZE,
    MAX_FRAME,
    AnyMessage,
    Error,
    FrameDecoder,
    Hello,
    ProtocolError,
    SealedParts,
    SecureChannel,
    Welcome,
    decode_message,
    encode_frame,
    encode_message,
    parse_sealed,
)
from socketlab.protocol.secure import SEAL_OVERHEAD, open_any_nonce

from .classify import LATE, View, classify
from .e2e_notes import E2EWatch
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
    Tampered,
)
from .keylog_file import KeyLogFile

FrameKind = Literal["plain", "sealed", "undecodable", "frame"]
ViewChoice = Literal["auto", "raw", "frames", "socketlab"]


@dataclass(slots=True)
class Frame:
    """One frame as it crossed the wire, and what it means where we can tell.

    Not frozen, as ``Data``: one is made per frame, so its ``__init__`` is hot.
    """

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
    text: str | None = None  # a ``frame``'s body as text, when it is UTF-8

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
    info: bool = False  # only information (how a connection is shown, its end), no trouble


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes of a stream shown as they are (the ``raw`` view), in arrival order."""

    conn: Connection
    direction: Direction
    offset: int  # of the first byte, in this direction's stream
    ts: float
    data: bytes


Decoded = Frame | Note | Chunk


@dataclass
class _Direction:
    frames: FrameDecoder
    count: int = 0
    stopped: str = ""  # once set, later bytes cannot be delimited into frames
    raw: bool = False  # the frames view gave up on framing: the rest is shown raw
    held: bytes = b""  # the ``frames`` view: bytes of the frame not yet complete


@dataclass
class _Session:
    c2s: _Direction
    s2c: _Direction
    view: View | None = None  # None: not decided yet, ``waiting`` holds the events
    waiting: list[Data] = field(default_factory=list)
    mode: str | None = None  # from the client's hello
    client_key: bytes | None = None
    unsure: bool = False  # no SYN seen: client and server are the capture's guess
    late: bool = False  # sealed frames came without a handshake: the capture began later
    searched: bool = False  # the key log was searched for this late session's key
    key: bytes | None = None  # that search's find
    notice: Note | None = None  # what to say before the frame being made
    channels: dict[str, SecureChannel] = field(default_factory=dict)
    e2e: E2EWatch = field(default_factory=E2EWatch)

    def half(self, direction: Direction) -> _Direction:
        return self.c2s if direction == "c2s" else self.s2c

    def first_bytes(self, direction: Direction) -> bytes:
        return b"".join(e.data for e in self.waiting if e.direction == direction)


# In a class's capture one broadcast reaches every client as the same inner body
# (each sealed apart), so most bodies were decoded a moment ago: remember them.
# Messages are frozen, so sharing one decoded message between frames is safe.
_DECODED: dict[bytes, AnyMessage] = {}
_DECODED_MAX = 2048


def _decode_known(body: bytes) -> AnyMessage:
    message = _DECODED.get(body)
    if message is None:
        message = decode_message(body)  # an error is raised, never remembered
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        _DECODED[body] = message
    return message


class SessionDecoder:
    """Feed it events; it returns chunks, frames and notes, in order.

    ``view`` is ``auto`` (each connection as ``classify`` finds it, said in a
    note unless it is socketlab) or one of ``raw``, ``frames``, ``socketlab``
    for every connection (``--as``). Until a connection's view is known its
    bytes are held (at most one frame's worth, ``max_frame``).

    ``e2e_keys`` (e2e public key → secret, a client's ``SOCKETLAB_E2E`` lines;
    a ``KeyLogFile`` brings its own) open that client's end-to-end whispers;
    without them those show as ciphertext, whatever the transport keys.
    """

    def __init__(self, keys: dict[bytes, bytes] | None = None, max_frame: int = MAX_FRAME,
                 view: ViewChoice = "auto",
                 e2e_keys: Mapping[bytes, bytes] | None = None) -> None:
        self.keys = keys
        self.e2e_keys = keys.e2e if e2e_keys is None and isinstance(keys, KeyLogFile) \
            else e2e_keys
        self.max_frame = max_frame
        self.view = view
        self._sessions: dict[Connection, _Session] = {}
        self._renamed: dict[Connection, Connection] = {}  # roles the nonce corrected

    def view_of(self, conn: Connection) -> View | None:
        """How ``conn`` is shown, once known (None: unknown connection, or still undecided)."""
        session = self._sessions.get(conn)
        return session.view if session else None

    def add(self, event: Event) -> list[Decoded]:
        if self._renamed and event.conn in self._renamed:
            renamed = self._renamed[event.conn]
            if isinstance(event, Closed):
                del self._renamed[event.conn]
            event = _flipped(event, renamed)
        if isinstance(event, Data):
            return self._data(event)
        if isinstance(event, Opened):
            self._session(event.conn).unsure = not event.handshake
            return []
        if isinstance(event, Intercepted):
            arrow = "client → server" if event.direction == "c2s" else "server → client"
            body = encode_message(event.message).decode("utf-8")
            return [Note(event.conn, event.direction, event.ts, f"[MITM read] {arrow}: {body}")]
        if isinstance(event, Failure):
            return [Note(event.conn, None, event.ts, f"proxy: {event.code}: {event.message}")]
        if isinstance(event, Tampered):
            return [Note(event.conn, event.direction, event.ts,
                         f"[TAMPERED: {event.kind}] {event.what}")]
        # Gap, Conflict, Closed: whatever waits for a view is shown first.
        out = self._settle(event.conn, event.ts)
        if isinstance(event, Gap):
            out += self._gap(event)
        elif isinstance(event, Conflict):
            out.append(Note(event.conn, event.direction, event.ts,
                            f"a retransmission at offset {event.offset} differed from the "
                            "first copy; the first copy is shown"))
        else:
            out += self._closed(event)
        return out

    def _gap(self, event: Gap) -> list[Decoded]:
        session = self._session(event.conn)
        half = session.half(event.direction)
        text = f"{event.length} bytes at offset {event.offset} were not captured"
        if session.view == "raw" or half.raw:
            return [Note(event.conn, event.direction, event.ts, text)]
        if half.stopped:
            return []
        half.stopped = "gap"
        return [Note(event.conn, event.direction, event.ts,
                     f"{text}; later frames in this direction cannot be delimited")]

    def _closed(self, event: Closed) -> list[Decoded]:
        notes: list[Decoded] = []
        session = self._sessions.pop(event.conn, None)
        directions: tuple[Direction, ...] = ("c2s", "s2c") if session else ()
        for direction in directions:
            assert session is not None
            half = session.half(direction)
            if not half.stopped and not half.raw and half.frames.buffered:
                notes.append(Note(event.conn, direction, event.ts,
                                  f"stream ended inside a frame ({half.frames.buffered} "
                                  "bytes held)"))
        notes.append(Note(event.conn, None, event.ts, f"connection closed ({event.how})",
                          info=True))
        return notes

    def _session(self, conn: Connection) -> _Session:
        session = self._sessions.get(conn)
        if session is None:
            session = _Session(_Direction(FrameDecoder(self.max_frame)),
                               _Direction(FrameDecoder(self.max_frame)))
            if self.view != "auto":
                session.view = self.view
            self._sessions[conn] = session
        return session

    def _half(self, conn: Connection, direction: Direction) -> _Direction:
        return self._session(conn).half(direction)

    # -- choosing the view ----------------------------------------------------------

    def _data(self, event: Data) -> list[Decoded]:
        session = self._session(event.conn)
        if session.unsure and len(event.data) >= HEADER_SIZE + SEAL_OVERHEAD:
            session.unsure = False
            if _sealed_by(event.data[HEADER_SIZE:], _OTHER[event.direction]) is not None:
                event = self._swap_roles(session, event)
        if session.view is not None:
            return self._show(session, event)
        other: Direction = "s2c" if event.direction == "c2s" else "c2s"
        if session.first_bytes(other) and not session.first_bytes(event.direction):
            # One side answered before the other's first frame was complete: no framing.
            session.waiting.append(event)
            who = "server" if event.direction == "s2c" else "client"
            return self._decide(session, event.ts, "raw",
                                f"the {who} answered before a whole first frame came")
        session.waiting.append(event)
        verdict = classify(session.first_bytes(event.direction), self.max_frame)
        if verdict is None:
            return []
        return self._decide(session, event.ts, verdict.view, verdict.reason)

    def _settle(self, conn: Connection, ts: float) -> list[Decoded]:
        """Decide a waiting connection with what there is (the stream has a hole or ended)."""
        session = self._sessions.get(conn)
        if session is None or session.view is not None or not session.waiting:
            return []
        return self._decide(session, ts, "raw", "too few bytes for a whole frame")

    def _decide(self, session: _Session, ts: float, view: View, reason: str) -> list[Decoded]:
        session.view = view
        waiting, session.waiting = session.waiting, []
        out: list[Decoded] = []
        if view != "socketlab":
            name = "raw bytes (not length-prefixed frames)" if view == "raw" \
                else "length-prefixed frames (not socketlab messages)"
            out.append(Note(waiting[0].conn, None, ts,
                            f"shown as {name}: {reason} (--as raw|frames|socketlab overrides)",
                            info=True))
        for event in waiting:
            out += self._show(session, event)
        return out

    # -- showing the bytes ----------------------------------------------------------

    def _show(self, session: _Session, event: Data) -> list[Decoded]:
        half = session.half(event.direction)
        if session.view == "raw" or half.raw:
            return [Chunk(event.conn, event.direction, event.offset, event.ts, event.data)]
        if session.view == "frames":
            return self._frames(half, event)
        return self._socketlab(session, half, event)

    def _frames(self, half: _Direction, event: Data) -> list[Decoded]:
        """The ``frames`` view: each body with its text; no framing left: the rest raw."""
        held = half.held + event.data
        try:
            bodies = half.frames.feed(event.data)
        except ProtocolError as exc:
            half.raw = True
            offset = event.offset + len(event.data) - len(held)
            return [Note(event.conn, event.direction, event.ts,
                         f"not a valid frame ({exc}); the rest of this direction is shown raw"),
                    Chunk(event.conn, event.direction, offset, event.ts, held)]
        half.held = held[len(held) - half.frames.buffered:] if half.frames.buffered else b""
        out: list[Decoded] = []
        for body in bodies:
            half.count += 1
            try:
                text: str | None = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            out.append(Frame(event.conn, event.direction, half.count, event.ts,
                             encode_frame(body, self.max_frame), "frame",
                             note="" if text is not None else "binary: not UTF-8 text",
                             text=text))
        return out

    def _socketlab(self, session: _Session, half: _Direction, event: Data) -> list[Decoded]:
        if half.stopped:
            return []
        try:
            frames = half.frames.feed_wire(event.data)
        except ProtocolError as exc:
            half.stopped = exc.code
            return [Note(event.conn, event.direction, event.ts,
                         f"not a valid frame ({exc}); the rest of this direction is not shown")]
        out: list[Decoded] = []
        for wire, body in frames:
            half.count += 1
            frame = self._frame(session, half, event, wire, body)
            if session.notice is not None:
                out.append(session.notice)
                session.notice = None
            out.append(frame)
            if half.count == 2 and event.direction == "s2c" and frame.messages:
                # Connections are told apart by port; say whose this one is, once.
                outcome = _login_outcome(frame.messages[0])
                if outcome:
                    out.append(Note(event.conn, None, event.ts, outcome, info=True))
        return out

    def _frame(self, session: _Session, half: _Direction, event: Data, wire: bytes,
               body: bytes) -> Frame:
        conn, direction, ts, number = event.conn, event.direction, event.ts, half.count
        # The first frame each way is the plaintext handshake; in a box session
        # every later frame is sealed.
        if number > 1 and session.mode == "box":
            return self._sealed(session, conn, direction, number, ts, wire, body)
        if session.mode is None or session.late:  # no hello seen: did the capture begin later?
            parts = _sealed_by(body, direction)
            if parts is not None:
                return self._late(session, half, event, wire, body, parts)
        try:
            message = decode_message(body)
        except ProtocolError as exc:
            return Frame(conn, direction, number, ts, wire, "undecodable", note=str(exc))
        if number == 1 and direction == "c2s" and isinstance(message, Hello):
            session.mode, session.client_key = message.mode, message.key
        return Frame(conn, direction, number, ts, wire, "plain", (message,), bodies=(body,),
                     note=session.e2e.describe((message,), self.e2e_keys))

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
                             note=_NO_KEY_LOG_LATE if session.late else _NO_KEY_LOG)
            key = self._late_key(session, body) if session.late \
                else self.keys.get(session.client_key or b"")
            if key is None:
                return Frame(conn, direction, number, ts, wire, "sealed", sealed=parts,
                             note=_NOT_LOGGED_LATE if session.late else _NOT_LOGGED)
            # We read c2s frames as the server would, s2c frames as the client would.
            channel = SecureChannel(key, "server" if direction == "c2s" else "client")
            if session.late:  # this direction's frames are read from here on
                channel.received = parts.counter
            session.channels[direction] = channel
        how = "decrypted with the key log"
        try:
            if parts.direction == "?":
                # Not direction + counter: a random nonce (lab 06's Box). The MAC proves a
                # key holder sealed it, so it is shown, flagged; the kit would refuse it.
                bodies = tuple(open_any_nonce(channel.shared_key, body))
                how += "; random nonce (the kit says bad_nonce) — lab 07 shows why"
            else:
                bodies = tuple(channel.open_bodies(body, parts))
            messages = tuple(map(_decode_known, bodies))
        except ProtocolError as exc:
            return Frame(conn, direction, number, ts, wire, "sealed", sealed=parts,
                         note=f"refused: {exc}")
        if len(messages) > 1:
            how += f"; a batch of {len(messages)} messages in one sealed frame"
        e2e = session.e2e.describe(messages, self.e2e_keys)
        if e2e:
            how += f"; {e2e}"
        return Frame(conn, direction, number, ts, wire, "sealed", messages, parts, how, bodies)

    # -- a capture that began after the handshake -----------------------------------

    def _swap_roles(self, session: _Session, event: Data) -> Data:
        """The guessed client sealed as the server: swap the roles for this connection."""
        old = event.conn
        new = self._renamed[old] = Connection(old.server, old.client, old.index)
        self._sessions[new] = self._sessions.pop(old)
        session.c2s, session.s2c = session.s2c, session.c2s
        session.waiting = [_flipped(waiting, new) for waiting in session.waiting]
        return _flipped(event, new)

    def _late(self, session: _Session, half: _Direction, event: Data, wire: bytes,
              body: bytes, parts: SealedParts) -> Frame:
        """A sealed frame of a session whose handshake was not captured."""
        if half.count == 1:  # numbered as a whole capture would: the handshake is #1
            half.count = parts.counter + 2
        if not session.late:
            session.mode, session.late = "box", True
            session.notice = Note(event.conn, None, event.ts, self._late_notice(session, body),
                                  info=True)
        return self._sealed(session, event.conn, event.direction, half.count, event.ts, wire,
                            body)

    def _late_notice(self, session: _Session, body: bytes) -> str:
        if self.keys is None:
            return f"{LATE}. {_HINT}"
        key = self._late_key(session, body)
        if key is None:
            return (f"{LATE}, and none of the {_keys(len(self.keys))} in the key log opens "
                    f"them: it was written for other sessions. {_RECONNECT}")
        client_key = session.client_key or b""
        return (f"{LATE}. Session key found: of the {_keys(len(self.keys))} in the key log, "
                f"the one for client key {client_key.hex()[:16]}… opens the first sealed "
                "frame, so it opens the rest")

    def _late_key(self, session: _Session, body: bytes) -> bytes | None:
        """The logged session key that opens ``body``; searched once per connection."""
        if not session.searched and self.keys is not None:
            session.searched = True
            if isinstance(self.keys, KeyLogFile):
                self.keys.refresh()
            for client_key, key in self.keys.items():
                try:
                    open_any_nonce(key, body)  # checks the MAC, whatever the counter
                except ProtocolError:
                    continue
                session.key, session.client_key = key, client_key
                break
        return session.key


_NO_KEY_LOG = "encrypted; no key log given (--keylog)"
_NOT_LOGGED = "encrypted; this session's key is not in the key log"
_RECONNECT = "To read them, reconnect a client while sniffing: its handshake is then captured."
_HINT = ("To read them, give the server's key log (--keylog FILE), or reconnect a client "
         "while sniffing: its handshake is then captured.")
_NO_KEY_LOG_LATE = "encrypted; handshake not captured: give --keylog, or reconnect a client"
_NOT_LOGGED_LATE = "encrypted; handshake not captured, and no logged key opens it"


def _login_outcome(answer: AnyMessage) -> str:
    """What the server's first answer after the handshake says about the login."""
    if isinstance(answer, Welcome):
        return f"logged in as {answer.name}"
    if isinstance(answer, Error):
        return f"login refused ({answer.code})"
    return ""


def _keys(count: int) -> str:
    return "1 session key" if count == 1 else f"{count} session keys"


_OTHER: dict[Direction, Direction] = {"c2s": "s2c", "s2c": "c2s"}
_E = TypeVar("_E", bound=Event)


def _flipped(event: _E, conn: Connection) -> _E:
    """``event`` of ``conn``, the same connection with client and server swapped."""
    changes: dict[str, Any] = {"conn": conn}
    direction = getattr(event, "direction", None)
    if direction is not None:
        changes["direction"] = _OTHER[direction]
    return replace(event, **changes)


def _sealed_by(body: bytes, direction: Direction) -> SealedParts | None:
    """``body`` taken apart if it is a sealed frame its sender (``direction``) made."""
    try:
        parts = parse_sealed(body)
    except ProtocolError:
        return None
    return parts if parts.direction == ("client" if direction == "c2s" else "server") else None
