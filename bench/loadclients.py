"""One load-generator connection: socketlab's protocol or IRC, sans-I/O.

A client queues bytes in ``outbox`` and is fed what its socket received; the
worker loop (``bench.loadworker``) owns the sockets. Chat text is
``"{seq}:{t_ns}"``: a per-sender sequence number, for loss and order, and the
sender's ``time.perf_counter_ns()`` when it queued the message, for latency.
Latency is taken only where sender and reader share a process, so no clock is
compared across processes.

Two ways to receive: *decode* runs every frame through ``protocol``
(decryption, strict JSON, order checks, latency); *count* only splits the
stream into frames with ``protocol.FrameDecoder`` (box: opens each sealed
frame and counts the messages batched in it; IRC: counts lines), so that one
generator process can keep up with a server at saturation.
"""

from __future__ import annotations

from array import array

from socketlab.protocol import (
    ClientConnection,
    Error,
    FrameDecoder,
    Left,
    Login,
    Message,
    Ping,
    Pong,
    Say,
    SecureChannel,
    ServerHello,
    Welcome,
    Whisper,
    decode_message,
    encode_frame,
)

CHANNEL = b"#class"
WHISPER_SIZE = 2000  # characters of filler per prefill whisper (the protocol's maximum)


class SetupError(Exception):
    """The server refused a client during handshake or login."""


class ReceiveStats:
    """What one reader got: deliveries, order per sender, and latencies."""

    def __init__(self) -> None:
        self.got = 0
        self.duplicates = 0
        self.out_of_order = 0
        self._last_seq: dict[str, int] = {}

    def note(self, sender: str, seq: int) -> None:
        self.got += 1
        last = self._last_seq.get(sender, -1)
        if seq <= last:
            self.duplicates += 1
            return
        if seq != last + 1:
            self.out_of_order += 1  # a gap now; a loss unless it arrives later
        self._last_seq[sender] = seq


class LoadClient:
    """The part every protocol shares: identity, outbox, counters."""

    echo = True  # does the server send a sender its own messages back?

    def __init__(self, name: str, latencies: array, local_prefix: str) -> None:
        self.name = name
        self.outbox = bytearray()
        self.ready = False
        self.closed = False
        self.count_only = False
        self.sent = 0
        self.stats = ReceiveStats()
        self.left: dict[str, str] = {}  # name -> reason, as the server announced it
        self.since_ns = 0  # latencies of messages queued before this are not kept
        self._latencies = latencies
        self._local_prefix = local_prefix

    def start(self) -> None:
        raise NotImplementedError

    def feed(self, data: bytes, now_ns: int) -> None:
        raise NotImplementedError

    def say(self, now_ns: int) -> None:
        raise NotImplementedError

    def _delivered(self, sender: str, text: str, now_ns: int) -> None:
        seq_text, _, sent_text = text.partition(":")
        try:
            seq, sent_ns = int(seq_text), int(sent_text)
        except ValueError:
            return  # not one of ours
        self.stats.note(sender, seq)
        if sender.startswith(self._local_prefix) and sent_ns >= self.since_ns:
            self._latencies.append(now_ns - sent_ns)

    def _text(self, now_ns: int) -> str:
        text = f"{self.sent}:{now_ns}"
        self.sent += 1
        return text


class ChatLoadClient(LoadClient):
    """A socketlab client: handshake, login, say; frames via ``protocol``."""

    def __init__(self, name: str, latencies: array, local_prefix: str, mode: str) -> None:
        super().__init__(name, latencies, local_prefix)
        self.conn = ClientConnection(mode)
        self.whispers_pending = 0  # sent whispers whose echo has not come back
        self._frames = FrameDecoder()
        self._opener: SecureChannel | None = None

    def start(self) -> None:
        self.outbox += self.conn.hello()

    def say(self, now_ns: int) -> None:
        self.outbox += self.conn.send(Say(self._text(now_ns)))

    def whisper(self, to: str, count: int) -> None:
        """Queue ``count`` filler whispers to ``to``; their echoes are not deliveries."""
        filler = Whisper(to, "x" * WHISPER_SIZE)
        for _ in range(count):
            self.outbox += self.conn.send(filler)
        self.whispers_pending += count

    def feed(self, data: bytes, now_ns: int) -> None:
        bodies = self._frames.feed(data)
        if self.count_only and self._opener is None:
            self.stats.got += len(bodies)  # plain: a frame is a message
            return
        for body in bodies:
            if not self.conn.established:
                self._handshake(body, now_ns)
                continue
            # A sealed frame may carry a batch of messages (inner frames).
            inner = self._opener.open_bodies(body) if self._opener else [body]
            if self.count_only:
                self.stats.got += len(inner)
            else:
                for message_body in inner:
                    self._on_message(decode_message(message_body), now_ns)

    def _handshake(self, body: bytes, now_ns: int) -> None:
        for msg in self.conn.receive_data(encode_frame(body)):
            self._on_message(msg, now_ns)
        if self.conn.established and self.conn.session_key is not None:
            # From here on frames are opened with a channel of our own, so the
            # counting readers can unbatch without decoding: the connection
            # keeps sending (its counters are per direction).
            self._opener = SecureChannel(self.conn.session_key, "client")

    def _on_message(self, msg: object, now_ns: int) -> None:
        if isinstance(msg, Message):
            if msg.to is not None:
                self.whispers_pending -= msg.sender == self.name
            else:
                self._delivered(msg.sender, msg.text, now_ns)
        elif isinstance(msg, Left):
            self.left[msg.name] = msg.reason
        elif isinstance(msg, Ping):
            self.outbox += self.conn.send(Pong())
        elif isinstance(msg, ServerHello):
            self.outbox += self.conn.send(Login(self.name))
        elif isinstance(msg, Welcome):
            self.ready = True
        elif isinstance(msg, Error):
            if not self.ready:
                raise SetupError(f"{self.name}: {msg.code}: {msg.message}")
            if msg.code == "no_such_user" and self.whispers_pending:
                self.whispers_pending -= 1  # the silent client is gone (sendq_exceeded)


class IrcLoadClient(LoadClient):
    """An IRC client for ngircd: NICK/USER, JOIN #class, PRIVMSG."""

    echo = False  # IRC does not echo a channel message to its sender

    def __init__(self, name: str, latencies: array, local_prefix: str) -> None:
        super().__init__(name, latencies, local_prefix)
        self._partial = b""

    def start(self) -> None:
        self.outbox += f"NICK {self.name}\r\nUSER {self.name} 0 * :{self.name}\r\n".encode()

    def say(self, now_ns: int) -> None:
        self.outbox += b"PRIVMSG " + CHANNEL + b" :" + self._text(now_ns).encode() + b"\r\n"

    def feed(self, data: bytes, now_ns: int) -> None:
        data = self._partial + data
        cut = data.rfind(b"\n") + 1
        self._partial, lines = data[cut:], data[:cut]
        if self.count_only and not lines.startswith(b"PING") and b"\nPING" not in lines:
            self.stats.got += lines.count(b" PRIVMSG ")
            return
        for line in lines.split(b"\r\n"):
            self._on_line(line, now_ns)

    def _on_line(self, line: bytes, now_ns: int) -> None:
        if line.startswith(b"PING "):
            self.outbox += b"PONG " + line[5:] + b"\r\n"
            return
        prefix, _, rest = line.partition(b" ")
        command, _, params = rest.partition(b" ")
        if command == b"PRIVMSG":
            if self.count_only:
                self.stats.got += 1
            else:
                sender = prefix[1:].partition(b"!")[0].decode()
                self._delivered(sender, params.partition(b" :")[2].decode(), now_ns)
        elif command == b"001":
            self.outbox += b"JOIN " + CHANNEL + b"\r\n"
        elif command == b"366":  # end of NAMES: we are in the channel
            self.ready = True
        elif command[:1] in (b"4", b"5") and not self.ready:
            raise SetupError(f"{self.name}: {line.decode(errors='replace')}")
