"""Lab 06 · a terminal chat client that speaks the box handshake and sealed frames.

Run it:  python chat_client.py alice          (the server on 127.0.0.1:7777)
         python chat_client.py alice 5001     (another port)
Then type a line to say it, "/w bob psst" to whisper to bob, "/quit" to leave.

ChatSession is the client: connect() does the handshake and logs in, then
say(), whisper(), receive() and close(). main() is the terminal around it.
The checks drive ChatSession directly.
"""

import json
import socket
import struct
import sys
import threading
import time

from secure import ProtocolError, SecureChannel, new_key, session_key

HOST = "127.0.0.1"
PORT = 7777
MAX_FRAME = 65536  # the largest frame body, in bytes
HEADER = struct.Struct(">I")  # 4 bytes, unsigned, big-endian: the body length


def encode(msg: dict) -> bytes:
    """A message as a frame body: compact UTF-8 JSON."""
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(body: bytes) -> dict:
    """A frame body from the server as a dict with a "type"; else ProtocolError bad_json."""
    try:
        msg = json.loads(body.decode("utf-8"))
    except ValueError:
        raise ProtocolError("bad_json", "the server sent a body that is not UTF-8 JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ProtocolError("bad_json", "the server sent a message without a type")
    return msg


class ChatSession:
    """One connection to a chat server, from the handshake on.

    Make one with ChatSession.connect(host, port, name); it holds the socket and,
    once the handshake is done, the SecureChannel that seals what we send and
    opens what we get. send() and receive() work before that too (in plaintext):
    connect() uses them for hello and server_hello.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.channel: SecureChannel | None = None
        self.name: str | None = None  # as the server spells it, once logged in
        self.users: list[str] = []  # who was online when we logged in
        self._buffer = b""  # bytes received that do not make a whole frame yet
        self.ended = False  # the server has closed the connection
        self._send_lock = threading.Lock()  # the terminal and the receive thread both send

    @classmethod
    def connect(cls, host: str, port: int, name: str, *, timeout: float = 10.0) -> "ChatSession":
        """Connect, do the box handshake, log in as name; the session, ready to chat.

        0. session = cls(socket.create_connection((host, port), timeout=timeout))
        1. own = new_key(); session.send() {"type": "hello", "version": 1, "mode": "box",
           "key": bytes(own.public_key).hex()}
        2. session.expect("server_hello", timeout) waits for the answer (the server's
           error becomes a ProtocolError with its code). Not mode "box" or no "key":
           ProtocolError("unexpected_message", ...). It also carries "identity" and
           "signature": checking them is lab 08.
        3. session.channel = SecureChannel(session_key(own, the server's key as bytes),
           "client") — a low-order server key raises bad_key there. From now on
           send() seals and receive() opens.
        4. send {"type": "login", "name": name}; session.expect("welcome", timeout):
           keep session.name and session.users from it.
        On any failure close the session before you raise: nothing may leak.
        """
        # BEGIN SOLUTION 06.8: hello with our key; server_hello (or the server's error) -> session key and channel; login -> welcome, else ProtocolError
        session = cls(socket.create_connection((host, port), timeout=timeout))
        try:
            own = new_key()
            session.send({"type": "hello", "version": 1, "mode": "box",
                          "key": bytes(own.public_key).hex()})
            answer = session.expect("server_hello", timeout)
            if answer.get("mode") != "box" or not isinstance(answer.get("key"), str):
                raise ProtocolError("unexpected_message", f"not a box server_hello: {answer}")
            server_key = _key_bytes(answer["key"])
            session.channel = SecureChannel(session_key(own, server_key), "client")
            session.send({"type": "login", "name": name})
            welcome = session.expect("welcome", timeout)
            session.name = welcome["name"]
            session.users = list(welcome["users"])
        except BaseException:
            session.close()
            raise
        return session
        # END SOLUTION

    def expect(self, kind: str, timeout: float) -> dict:
        """The server's next message, which must be of type kind; its error as ProtocolError."""
        msg = self.receive(timeout)
        if msg is None:
            raise ProtocolError("connection_lost", f"the server sent no {kind}")
        if msg["type"] == "error":
            raise ProtocolError(str(msg.get("code")), str(msg.get("message", "")))
        if msg["type"] != kind:
            raise ProtocolError("unexpected_message", f"expected {kind}, got {msg['type']}")
        return msg

    def send(self, msg: dict) -> None:
        """Send msg as one frame (sealed once the channel is up). Safe from any thread."""
        body = encode(msg)
        with self._send_lock:
            if self.channel is not None:
                body = self.channel.seal(body)
            self.sock.sendall(HEADER.pack(len(body)) + body)

    def say(self, text: str) -> None:
        self.send({"type": "say", "text": text})

    def whisper(self, to: str, text: str) -> None:
        self.send({"type": "whisper", "to": to, "text": text})

    def receive(self, timeout: float) -> dict | None:
        """The server's next message (opened once the channel is up), decoded; None when
        nothing whole came within timeout or the server closed. A ping is answered here."""
        deadline = time.monotonic() + timeout
        while True:
            body = self._next_frame(deadline)
            if body is None:
                return None
            if self.channel is not None:
                body = self.channel.open(body)
            msg = decode(body)
            if msg["type"] != "ping":
                return msg
            self.send({"type": "pong"})

    def _next_frame(self, deadline: float) -> bytes | None:
        """The next frame's body; None at the deadline (what came so far is kept) or at the end."""
        while True:
            if len(self._buffer) >= HEADER.size:
                (length,) = HEADER.unpack_from(self._buffer)
                if not 0 < length <= MAX_FRAME:
                    raise ProtocolError("frame_too_large", f"a frame of {length} bytes")
                if len(self._buffer) >= HEADER.size + length:
                    body = self._buffer[HEADER.size:HEADER.size + length]
                    self._buffer = self._buffer[HEADER.size + length:]
                    return body
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not data:
                self.ended = True
                return None
            self._buffer += data

    def close(self) -> None:
        """Say bye (if we can) and close. A receive() waiting in another thread returns."""
        try:
            if self.channel is not None:
                self.send({"type": "bye"})
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed
        self.sock.close()


def _key_bytes(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ProtocolError("bad_message", "the server's key is not hex") from None


def show(msg: dict) -> str:
    """A message from the server as a line for people."""
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
    return json.dumps(msg, ensure_ascii=False)


def print_incoming(session: ChatSession) -> None:
    """The receive thread: print what arrives until the server closes."""
    while True:
        try:
            msg = session.receive(3600)
        except (OSError, ProtocolError) as error:
            print(f"! connection ended: {error}")
            return
        if msg is None and session.ended:
            print("* the server closed the connection")
            return
        if msg is not None:
            print(show(msg))


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python chat_client.py NAME [PORT]")
    port = int(sys.argv[2]) if len(sys.argv) > 2 else PORT
    try:
        session = ChatSession.connect(HOST, port, sys.argv[1])
    except (OSError, ProtocolError) as error:
        sys.exit(f"could not join: {error}")
    print(f"* you are {session.name}; online: {', '.join(session.users)}")
    print("* type to say; /w NAME TEXT whispers; /who lists; /quit leaves")
    threading.Thread(target=print_incoming, args=(session,), daemon=True).start()
    try:
        for typed in sys.stdin:
            line = typed.rstrip("\n")
            if line == "/quit":
                break
            if line == "/who":
                session.send({"type": "who"})
            elif line.startswith("/w "):
                _, to, text = [*line.split(" ", 2), "", ""][:3]
                session.whisper(to, text)
            elif line:
                session.say(line)
    except (KeyboardInterrupt, OSError):
        pass
    session.close()


if __name__ == "__main__":
    main()
