"""What the proxy does to the bytes it relays: pass them on, or attack them.

``Relay`` is the honest tap: bytes pass unchanged. ``Interceptor`` is the
key-substitution attack of lab 08. To the client it plays the server, with
its OWN ephemeral key and its OWN identity; to the real server it plays a
client with a session of its own. It decrypts each frame from one side and
seals it again for the other, so the chat keeps working while the proxy reads
every message. The client's only defence is noticing that the identity is not
the one it pinned; a client run with ``--no-verify`` cannot notice.

Both are sans-I/O (bytes in, bytes out, like ``protocol/``): ``from_client``
gets what the client sent and returns what to send to the server, with the
messages it decoded on the way; ``from_server`` the other way round. ``b""``
means end of stream. Each is called by one thread only (one per direction).
What cannot be attacked is relayed unchanged: a plain session (readable on
the wire anyway), an unknown protocol, a hello ``protocol/`` would refuse.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, Protocol

from nacl.signing import SigningKey

from socketlab.protocol import (
    AnyMessage,
    ClientConnection,
    ProtocolError,
    ServerConnection,
    ServerHello,
    encode_frame,
    encode_message,
)


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of some bytes: what to send on, and the messages read from them."""

    out: bytes = b""
    seen: tuple[AnyMessage, ...] = ()


class Translator(Protocol):
    def from_client(self, data: bytes) -> Step: ...

    def from_server(self, data: bytes) -> Step: ...


class Relay:
    """Bytes pass unchanged; nothing is decoded."""

    def from_client(self, data: bytes) -> Step:
        return Step(data)

    def from_server(self, data: bytes) -> Step:
        return Step(data)


class Interceptor:
    """One connection's man in the middle (see the module docstring).

    Raises ``SocketlabError`` when the attack cannot go on: a frame that does
    not decrypt, or a real server whose signature does not verify.
    """

    def __init__(self, identity: SigningKey) -> None:
        # The two directions run in two threads and share the handshake state.
        self._lock = threading.Lock()
        self._state: Literal["hello", "relay", "attack"] = "hello"
        self._held = bytearray()  # the client's bytes until its hello is complete
        self._to_client = ServerConnection(identity)  # we are the server to the client...
        self._to_server = ClientConnection("box")  # ...and a client to the server
        self._answered = False  # the server answered our hello

    def from_client(self, data: bytes) -> Step:
        with self._lock:
            if self._state == "relay":
                return Step(data)
            if self._state == "hello":
                return self._client_hello(data)
            if not data:
                return Step()
            seen = self._to_client.receive_data(data)
            return Step(b"".join(self._to_server.send(msg) for msg in seen), tuple(seen))

    def from_server(self, data: bytes) -> Step:
        with self._lock:
            if self._state != "attack":
                return Step(data)  # nothing to translate (yet): e.g. an early server_full
            if not data:
                return Step()
            seen = self._to_server.receive_data(data)
            out = bytearray()
            for msg in seen:
                if self._answered:
                    out += self._to_client.send(msg)
                    continue
                self._answered = True
                if isinstance(msg, ServerHello):
                    # The real server accepted us: now give the client OUR hello, signed by us.
                    out += self._to_client.data_to_send()
                else:
                    # Refused (server_full, ...) before any keys: pass it on in plaintext, as sent.
                    out += encode_frame(encode_message(msg))
            return Step(bytes(out), tuple(seen))

    def _client_hello(self, data: bytes) -> Step:
        self._held += data
        if not data:
            return self._give_up()  # the client left inside its hello
        try:
            # A box-only ServerConnection refuses everything but a box hello.
            seen = self._to_client.receive_data(data)
        except ProtocolError:
            return self._give_up()
        if not seen:
            return Step()  # the hello is not complete yet
        self._held.clear()
        self._state = "attack"
        # Our answer to the client waits until the real server has answered us.
        return Step(self._to_server.hello(), tuple(seen))

    def _give_up(self) -> Step:
        self._state = "relay"
        out = bytes(self._held)
        self._held.clear()
        return Step(out)
