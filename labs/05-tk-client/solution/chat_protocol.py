"""Lab 05 · the chat protocol in plain mode: given, and working (it is lab 04's client side).

You do not need to change this file. It knows every byte on the wire, so
that chat_gui.py only ever sees whole messages as Python dicts:

    frame   = 4-byte length (big-endian) + body
    body    = one JSON object with a "type", e.g. {"type": "say", "text": "hi"}

connect() opens the connection, says hello (plain mode) and logs in; the
Connection it returns sends and receives messages. See the kit's
docs/protocol.md for every message type.
"""

import json
import socket
import struct
import threading

MAX_FRAME = 65536  # the largest body the protocol allows
HEADER = struct.Struct(">I")  # the 4-byte length in front of every body


class ProtocolError(Exception):
    """The server refused us (an error message) or sent something we cannot read."""


def send_message(sock: socket.socket, message: dict) -> None:
    """Send one message as one frame: its length, then its JSON body."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    sock.sendall(HEADER.pack(len(body)) + body)


def recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    """Exactly ``size`` bytes; None if the peer closed before the first one."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            if data:
                raise ConnectionError("the server closed in the middle of a frame")
            return None
        data += chunk
    return data


def recv_message(sock: socket.socket) -> dict | None:
    """The next message as a dict; None when the server has closed the connection."""
    header = recv_exactly(sock, HEADER.size)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    if not 0 < length <= MAX_FRAME:
        raise ProtocolError(f"a frame of {length} bytes: the stream is out of step")
    body = recv_exactly(sock, length)
    if body is None:
        raise ConnectionError("the server closed in the middle of a frame")
    try:
        message = json.loads(body.decode("utf-8"))
    except ValueError as error:
        raise ProtocolError(f"a frame that is not UTF-8 JSON: {error}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError(f"a message without a type: {message!r}")
    return message


class Connection:
    """A logged-in chat session: ``send(message)``, ``receive()``, ``close()``.

    ``name`` is your name as the server spells it; ``users`` the names that
    were online when you logged in (you included).
    """

    def __init__(self, sock: socket.socket, name: str, users: list[str]) -> None:
        self.sock = sock
        self.name = name
        self.users = users
        # receive() answers the server's pings itself, from the receive thread,
        # while the window sends from the main thread: one frame at a time.
        self._send_lock = threading.Lock()

    def send(self, message: dict) -> None:
        """Send one message, e.g. {"type": "say", "text": "hi"}. Safe from any thread."""
        with self._send_lock:
            send_message(self.sock, message)

    def receive(self) -> dict | None:
        """Wait for the next message from the server and return it; None once it has closed.

        It blocks (waits) until a whole message has arrived: never call it on
        the Tk main thread. A ``ping`` is answered here and never returned.
        Raises OSError when the connection breaks or is closed by close(), and
        ProtocolError when the server sends something that is not a message.
        """
        while True:
            message = recv_message(self.sock)
            if message is None or message["type"] != "ping":
                return message
            self.send({"type": "pong"})

    def close(self) -> None:
        """Close the connection. A receive() waiting in another thread returns at once."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes a recv() blocked in another thread
        except OSError:
            pass  # already closed by the server
        self.sock.close()


def connect(host: str, port: int, name: str, timeout: float = 10.0) -> Connection:
    """Connect to a socketlab server, say hello in plain mode and log in as ``name``.

    Raises ProtocolError with the server's reason if it refuses (a name that
    is taken, a server that allows only encrypted sessions, ...), OSError if
    no server answers.
    """
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        send_message(sock, {"type": "hello", "version": 1, "mode": "plain"})
        _expect(sock, "server_hello")
        send_message(sock, {"type": "login", "name": name})
        welcome = _expect(sock, "welcome")
    except BaseException:
        sock.close()
        raise
    sock.settimeout(None)  # from now on the receive thread waits as long as it takes
    return Connection(sock, welcome["name"], list(welcome["users"]))


def _expect(sock: socket.socket, kind: str) -> dict:
    message = recv_message(sock)
    if message is None:
        raise ProtocolError(f"the server closed the connection instead of sending {kind}")
    if message["type"] == "error":
        raise ProtocolError(f"{message.get('code')}: {message.get('message')}")
    if message["type"] != kind:
        raise ProtocolError(f"expected {kind}, got {message['type']}")
    return message
