"""The seed-style chat server socketlab is measured against.

A thread per client; a broadcast calls ``sendall`` on every socket while it
holds one lock (in box mode each recipient's frame is also sealed under that
lock, one Box per recipient). This is how student chat servers are written:
fast while everyone reads, and frozen for everyone once one client stops
reading, because the lock is then held inside a ``sendall`` that never
returns. It speaks socketlab's protocol through ``protocol/`` and knows only
what the benchmarks need: handshake, login, say, whisper, bye.

Run it alone with ``python -m bench.baseline_server [--port N]``.
"""

from __future__ import annotations

import argparse
import logging
import socket
import threading
import time
from types import TracebackType
from typing import Self

from nacl.signing import SigningKey

from socketlab.protocol import (
    Bye,
    Error,
    Joined,
    Left,
    Login,
    Message,
    ProtocolError,
    Say,
    ServerConnection,
    Welcome,
    Whisper,
    encode_message,
    name_key,
)

log = logging.getLogger(__name__)

_ACCEPT_POLL = 0.25  # seconds: how often the accept loop looks at the stop flag
_RECV_SIZE = 65536


def _now_ms() -> int:
    return int(time.time() * 1000)


class _Client:
    def __init__(self, sock: socket.socket, conn: ServerConnection) -> None:
        self.sock = sock
        self.conn = conn
        self.name: str | None = None


class BaselineServer:
    """Thread per client, broadcast with ``sendall`` under one lock."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_plaintext: bool = False,
        identity: SigningKey | None = None,
        nodelay: bool = False,
    ) -> None:
        """``nodelay``: set TCP_NODELAY as socketlab does; students' servers leave it
        off, so Nagle's algorithm holds a small frame while an earlier one is unacked."""
        self._bind = (host, port)
        self._nodelay = nodelay
        self._allow_plaintext = allow_plaintext
        self._identity = identity or SigningKey.generate()
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._clients: list[_Client] = []  # logged in; guarded by _lock
        self._names: set[str] = set()  # name_key of each logged-in client; guarded by _lock
        self._sockets: set[socket.socket] = set()  # every open client socket, for stop()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None:
            raise RuntimeError("the server is not started")
        host, port = self._listener.getsockname()[:2]
        return host, port

    def start(self) -> None:
        listener = socket.create_server(self._bind, backlog=256)
        listener.settimeout(_ACCEPT_POLL)
        self._listener = listener
        thread = threading.Thread(target=self._accept_loop, name="accept", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 2.0) -> None:
        """Close everything without taking the broadcast lock (it may be stuck)."""
        self._stopping.set()
        for sock in list(self._sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a recv or sendall blocked on it
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        count = 0
        while not self._stopping.is_set():
            try:
                sock, _peer = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            sock.settimeout(None)
            if self._nodelay:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets.add(sock)
            count += 1
            thread = threading.Thread(
                target=self._serve, args=(sock,), name=f"client-{count}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        client = _Client(
            sock, ServerConnection(self._identity, allow_plaintext=self._allow_plaintext)
        )
        reason = "quit"
        try:
            self._read_loop(client)
        except ProtocolError as exc:
            reason = "protocol_error"
            self._reply(client, Error(exc.code, exc.message[:200]))
        except OSError:
            reason = "connection_lost"
        finally:
            self._leave(client, reason)

    def _read_loop(self, client: _Client) -> None:
        while not self._stopping.is_set():
            data = client.sock.recv(_RECV_SIZE)
            messages = client.conn.receive_data(data)
            handshake_reply = client.conn.data_to_send()
            if handshake_reply:
                client.sock.sendall(handshake_reply)
            if not data:
                return
            for msg in messages:
                if isinstance(msg, Login):
                    self._login(client, msg.name)
                elif isinstance(msg, Say) and client.name is not None:
                    self._broadcast(Message(client.name, msg.text, _now_ms()))
                elif isinstance(msg, Whisper) and client.name is not None:
                    self._whisper(client, msg)
                elif isinstance(msg, Bye):
                    return

    def _login(self, client: _Client, name: str) -> None:
        with self._lock:
            if client.name is not None or name_key(name) in self._names:
                client.sock.sendall(client.conn.send(Error("name_taken", f"{name} is taken")))
                return
            client.name = name
            self._names.add(name_key(name))
            users = tuple(c.name for c in self._clients if c.name is not None)
            # Sealing and sending happen under the lock so counters reach the wire in order.
            client.sock.sendall(client.conn.send(Welcome(name, users)))
            self._broadcast_locked(Joined(name))
            self._clients.append(client)

    def _whisper(self, client: _Client, msg: Whisper) -> None:
        assert client.name is not None
        key = name_key(msg.to)
        with self._lock:
            target = next((c for c in self._clients if name_key(c.name or "") == key), None)
            if target is None:
                client.sock.sendall(client.conn.send(Error("no_such_user", f"no {msg.to} here")))
                return
            body = encode_message(Message(client.name, msg.text, _now_ms(), to=target.name))
            for other in {id(target): target, id(client): client}.values():
                try:
                    other.sock.sendall(other.conn.send_body(body))
                except OSError:
                    pass

    def _broadcast(self, msg: Message | Joined | Left) -> None:
        with self._lock:
            self._broadcast_locked(msg)

    def _broadcast_locked(self, msg: Message | Joined | Left) -> None:
        body = encode_message(msg)  # encoded once; sealed once per recipient
        for other in self._clients:
            try:
                other.sock.sendall(other.conn.send_body(body))
            except OSError:
                pass  # its own reader thread notices and removes it

    def _reply(self, client: _Client, msg: Error) -> None:
        try:
            with self._lock:
                client.sock.sendall(client.conn.send(msg))
        except OSError:
            pass

    def _leave(self, client: _Client, reason: str) -> None:
        if client.name is not None:
            with self._lock:
                self._clients.remove(client)
                self._names.discard(name_key(client.name))
                self._broadcast_locked(Left(client.name, reason))
        self._sockets.discard(client.sock)
        client.sock.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--allow-plaintext", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    server = BaselineServer(args.host, args.port, allow_plaintext=args.allow_plaintext)
    server.start()
    log.info("baseline server on %s:%d (Ctrl-C stops it)", *server.address)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
