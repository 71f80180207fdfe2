"""Lab 07 · a terminal chat client (lab 06's), on the same channel as the server.

Run it:  python chat_client.py alice               (the server on 127.0.0.1:7777)
         python chat_client.py alice 7000          (another port: e.g. a proxy in front of it)
         python chat_client.py alice 7000 --random-nonces   (lab 06's channel, for step 0)

Type a line to say it to everyone, "/w NAME text" to whisper, "/quit" to leave.
(This client does not check the server's identity yet: that is lab 08.)
"""

import json
import socket
import struct
import sys
import threading
import time

from secure import (
    ProtocolError,
    RandomNonceChannel,
    SecureChannel,
    new_key,
    session_key,
    write_keylog,
)

HOST = "127.0.0.1"
PORT = 7777
TIMEOUT = 5.0  # seconds to wait for the server during connect
HEADER = struct.Struct(">I")  # every frame: a 4-byte big-endian length, then the body
MAX_FRAME = 65536


def encode(msg: dict) -> bytes:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def frame(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body


class ChatSession:
    """One logged-in session with a chat server: say, whisper, receive, close.

    Use ChatSession.connect(...), not the constructor: it does the handshake and the login.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.channel: SecureChannel | RandomNonceChannel | None = None  # after the handshake
        self.name: str | None = None
        self.users: list[str] = []  # who was online when we logged in
        self.closed = False  # the server closed the connection
        self._buffer = b""  # bytes received, not yet a whole frame
        self._send_lock = threading.Lock()  # seal + send as one step: counters in order

    @classmethod
    def connect(cls, host: str, port: int, name: str, *,
                channel_class: type = SecureChannel) -> "ChatSession":
        """Connect, do the box handshake, log in as name; raise ProtocolError on refusal."""
        sock = socket.create_connection((host, port), timeout=TIMEOUT)
        try:
            own = new_key()
            client_key = bytes(own.public_key)
            sock.sendall(frame(encode({"type": "hello", "version": 1, "mode": "box",
                                       "key": client_key.hex()})))
            session = cls(sock)
            answer = session._next_body(TIMEOUT)
            if answer is None:
                raise ProtocolError("connection_lost", "the server sent no server_hello")
            reply = json.loads(answer)
            if reply.get("type") == "error":
                raise ProtocolError(reply["code"], reply.get("message", ""))
            if reply.get("type") != "server_hello" or reply.get("mode") != "box":
                raise ProtocolError("unexpected_message", f"expected server_hello, got {answer[:80]!r}")
            key = session_key(own, bytes.fromhex(reply["key"]))
            write_keylog(client_key, key)
            session.channel = channel_class(key, "client")
            session.send({"type": "login", "name": name})
            welcome = session.receive(TIMEOUT)
            if welcome is None:
                raise ProtocolError("connection_lost", "no answer to login")
            if welcome["type"] == "error":
                raise ProtocolError(welcome["code"], welcome.get("message", ""))
            session.name, session.users = welcome["name"], welcome["users"]
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        return session

    def send(self, msg: dict) -> None:
        with self._send_lock:
            self.sock.sendall(frame(self.channel.seal(encode(msg))))

    def say(self, text: str) -> None:
        self.send({"type": "say", "text": text})

    def whisper(self, to: str, text: str) -> None:
        self.send({"type": "whisper", "to": to, "text": text})

    def receive(self, timeout: float) -> dict | None:
        """The server's next message, or None if none came within timeout (or it closed).

        A frame the channel refuses raises ProtocolError (and closes the connection).
        """
        body = self._next_body(timeout)
        if body is None:
            return None
        try:
            return json.loads(self.channel.open(body))
        except ProtocolError:
            self.close()
            raise

    def _next_body(self, timeout: float) -> bytes | None:
        """The next frame's body from the buffer or the socket; None on timeout or close."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self._buffer) >= HEADER.size:
                (length,) = HEADER.unpack_from(self._buffer)
                if not 0 < length <= MAX_FRAME:
                    raise ProtocolError("bad_frame", f"the server sent a frame of {length} bytes")
                if len(self._buffer) >= HEADER.size + length:
                    body = self._buffer[HEADER.size:HEADER.size + length]
                    self._buffer = self._buffer[HEADER.size + length:]
                    return body
            left = deadline - time.monotonic()
            if self.closed or left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return None
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return None
            self._buffer += data

    def close(self) -> None:
        """Say bye (if the connection still works) and close."""
        try:
            self.send({"type": "bye"})
        except (OSError, ProtocolError):
            pass
        self.sock.close()


def show(msg: dict) -> str:
    """One line for a message from the server."""
    kind = msg["type"]
    if kind == "message" and "to" in msg:
        return f"[whisper {msg['from']} → {msg['to']}] {msg['text']}"
    if kind == "message":
        return f"{msg['from']}: {msg['text']}"
    if kind == "joined":
        return f"* {msg['name']} joined"
    if kind == "left":
        return f"* {msg['name']} left ({msg['reason']})"
    if kind == "users":
        return "* online: " + ", ".join(msg["names"])
    if kind == "error":
        return f"! {msg['code']}: {msg.get('message', '')}"
    return json.dumps(msg)


def print_incoming(session: ChatSession) -> None:
    """The receive thread: print what arrives until the connection ends."""
    try:
        while not session.closed:
            msg = session.receive(timeout=1.0)
            if msg is not None:
                print(show(msg), flush=True)
        print("* the server closed the connection", flush=True)
    except ProtocolError as error:
        print(f"! refused a frame from the server: {error}", flush=True)
    except OSError:
        print("* connection closed", flush=True)


def main() -> None:
    args = sys.argv[1:]
    random_nonces = "--random-nonces" in args
    args = [arg for arg in args if arg != "--random-nonces"]
    if not args:
        sys.exit("usage: python chat_client.py NAME [PORT] [--random-nonces]")
    name, port = args[0], int(args[1]) if len(args) > 1 else PORT
    channel_class = RandomNonceChannel if random_nonces else SecureChannel
    try:
        session = ChatSession.connect(HOST, port, name, channel_class=channel_class)
    except (OSError, ProtocolError) as error:
        sys.exit(f"could not join: {error}")
    print(f"* you are {session.name}; online: {', '.join(session.users)}  (/w NAME text, /quit)")
    threading.Thread(target=print_incoming, args=(session,), daemon=True).start()
    try:
        for typed in sys.stdin:
            line = typed.rstrip("\n")
            if line == "/quit":
                break
            if line.startswith("/w "):
                _, to, text = [*line.split(" ", 2), ""][:3]
                session.whisper(to, text)
            elif line:
                session.say(line)
    except (KeyboardInterrupt, OSError):
        pass
    finally:
        session.close()


if __name__ == "__main__":
    main()
