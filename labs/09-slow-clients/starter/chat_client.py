"""Lab 09 · the terminal chat client of lab 08 (given: it works, lab 09 does not change it).

Run it:  python chat_client.py alice            (the server on 127.0.0.1:7777)
         python chat_client.py alice 5001       (another port)
         python chat_client.py alice 5001 --no-verify      (skip the identity check: lab 08's attack)
         python chat_client.py --forget-server 127.0.0.1:5001   (forget a pinned identity)
Then type a line to say it, "/w bob hi" to whisper, "/quit" to leave.

It checks who it is talking to (lab 08): the server's signature over the
handshake (identity.py) and the pin of its identity (pins.py), before a
single sealed frame is sent. Lab 09 changes only the server.
"""

import argparse
import json
import re
import socket
import struct
import sys
import threading
import time
from collections import deque
from pathlib import Path

from identity import fingerprint, verify_hello
from pins import check_pin, default_home, forget_pin
from secure import ProtocolError, SecureChannel, new_key, session_key, write_keylog

HOST = "127.0.0.1"
PORT = 7777
MAX_FRAME = 65536
HEADER = struct.Struct(">I")  # a frame: 4-byte big-endian length, then the body
CONNECT_TIMEOUT = 10.0  # seconds for the connection, the handshake and the login
HEX_SIZES = {"key": 64, "identity": 64, "signature": 128}  # the hex digits of each server_hello field


def encode(msg: dict) -> bytes:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def frame(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ProtocolError("connection_lost", "the server closed the connection")
        data += chunk
    return data


def recv_frame(sock: socket.socket) -> bytes:
    (length,) = HEADER.unpack(recv_exactly(sock, HEADER.size))
    if not 0 < length <= MAX_FRAME:
        raise ProtocolError("bad_frame", f"a frame of {length} bytes")
    return recv_exactly(sock, length)


def read_server_hello(sock: socket.socket) -> dict:
    """The server's plaintext answer to our hello, checked; its refusal raised as ProtocolError."""
    try:
        answer = json.loads(recv_frame(sock))
    except ValueError:
        raise ProtocolError("bad_json", "the server's answer is not JSON") from None
    if not isinstance(answer, dict):
        raise ProtocolError("bad_json", "the server's answer is not a JSON object")
    if answer.get("type") == "error":
        raise ProtocolError(str(answer.get("code")), str(answer.get("message", "")))
    if answer.get("type") != "server_hello" or answer.get("mode") != "box":
        raise ProtocolError("unexpected_message", f"expected a box server_hello, got {answer}")
    if answer.get("version") != 1:
        raise ProtocolError("bad_version", f"the server speaks version {answer.get('version')}")
    for field, size in HEX_SIZES.items():
        if not re.fullmatch(f"[0-9a-fA-F]{{{size}}}", str(answer.get(field, ""))):
            raise ProtocolError("bad_message", f"server_hello needs {field}: {size} hex digits")
    return answer


class ChatSession:
    """One chat session: connected, encrypted, logged in. say/whisper from any thread;
    receive from one thread only."""

    def __init__(self, sock: socket.socket, channel: SecureChannel, server_identity: bytes,
                 pin: str | None) -> None:
        self.sock = sock
        self.channel = channel
        self.server_identity = server_identity
        self.fingerprint = fingerprint(server_identity)
        self.pin = pin  # "new" (pinned just now), "known" (as pinned), None (not verified)
        self.name: str | None = None
        self.users: list[str] = []
        self._send_lock = threading.Lock()  # seal and send in one step: counters in order
        self._buffer = bytearray()  # bytes read but not yet a whole frame
        self._pending: deque[dict] = deque()  # messages opened but not yet returned

    @classmethod
    def connect(cls, host: str, port: int, name: str, *, verify: bool = True,
                home: Path | None = None) -> "ChatSession":
        """Connect, run the box handshake, check the server's identity, log in as name.

        Raises ProtocolError: the server's code when it refuses (name_taken, ...),
        bad_signature or identity_changed when the server is not who it should be.
        verify=False skips the pin (never do it outside lab 08's attack).
        home: the folder of known_servers (default: default_home()).
        """
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
        try:
            own = new_key()
            client_key = bytes(own.public_key)
            sock.sendall(frame(encode({"type": "hello", "version": 1, "mode": "box",
                                       "key": client_key.hex()})))
            hello = read_server_hello(sock)
            server_key = bytes.fromhex(hello["key"])
            identity = bytes.fromhex(hello["identity"])
            pin = None
            # Nothing sealed may leave before the server has proved who it is (the
            # login is the first thing a man in the middle would read): verify_hello()
            # with the signature hello["signature"] carries (hex), then, unless verify
            # is False, pin = check_pin(home or default_home(), host, port, identity).
            signature = bytes.fromhex(hello["signature"])
            verify_hello(identity, client_key, server_key, signature)
            if verify:
                pin = check_pin(home or default_home(), host, port, identity)
            key = session_key(own, server_key)
            write_keylog(client_key, key)
            session = cls(sock, SecureChannel(key, "client"), identity, pin)
            session.login(name)
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        return session

    def login(self, name: str) -> None:
        """Send login; wait for welcome (or raise the server's error)."""
        self.send({"type": "login", "name": name})
        answer = self.receive(CONNECT_TIMEOUT)
        if answer is None:
            raise ProtocolError("connection_lost", "no answer to login")
        if answer["type"] == "error":
            raise ProtocolError(answer["code"], answer.get("message", ""))
        if answer["type"] != "welcome":
            raise ProtocolError("unexpected_message", f"expected welcome, got {answer['type']}")
        self.name, self.users = answer["name"], answer["users"]

    def send(self, msg: dict) -> None:
        with self._send_lock:
            self.sock.sendall(frame(self.channel.seal(encode(msg))))

    def say(self, text: str) -> None:
        self.send({"type": "say", "text": text})

    def whisper(self, to: str, text: str) -> None:
        self.send({"type": "whisper", "to": to, "text": text})

    def who(self) -> None:
        self.send({"type": "who"})

    def receive(self, timeout: float) -> dict | None:
        """The server's next message (a ping is answered, not returned); None if nothing
        came within timeout seconds or the server closed."""
        deadline = time.monotonic() + timeout
        while not self._pending:
            if len(self._buffer) >= HEADER.size:
                (length,) = HEADER.unpack_from(self._buffer)
                if len(self._buffer) >= HEADER.size + length:
                    sealed = bytes(self._buffer[HEADER.size:HEADER.size + length])
                    del self._buffer[:HEADER.size + length]
                    for body in self.channel.open_all(sealed):
                        msg = json.loads(body)
                        if msg.get("type") == "ping":
                            self.send({"type": "pong"})
                        else:
                            self._pending.append(msg)
                    continue
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not data:
                return None
            self._buffer += data
        return self._pending.popleft()

    def close(self) -> None:
        """Say bye (if the connection still works) and close."""
        try:
            self.send({"type": "bye"})
        except OSError:
            pass
        self.sock.close()


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
        return f"* {msg['name']} left ({msg.get('reason', '')})"
    if kind == "users":
        return "* online: " + ", ".join(msg["names"])
    if kind == "error":
        return f"! {msg['code']}: {msg.get('message', '')}"
    return f"? {msg}"


def print_incoming(session: ChatSession) -> None:
    """The receive thread: print every message until the connection ends."""
    try:
        while True:
            msg = session.receive(3600)
            if msg is None:
                break
            print(show(msg), flush=True)
    except (OSError, ProtocolError, ValueError) as error:
        print(f"! connection ended: {error}", flush=True)
    print("* disconnected (press Enter)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="lab 08's chat client")
    parser.add_argument("name", nargs="?")
    parser.add_argument("port", nargs="?", type=int, default=PORT)
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--no-verify", action="store_true",
                        help="do not check the server's identity (only for lab 08's attack)")
    parser.add_argument("--forget-server", metavar="HOST:PORT",
                        help="forget the identity pinned for HOST:PORT, then exit")
    args = parser.parse_args()
    if args.forget_server:
        host, _, port = args.forget_server.rpartition(":")
        forgot = forget_pin(default_home(), host, int(port))
        print(("forgot" if forgot else "there was no pin for") + f" {args.forget_server}")
        return
    if not args.name:
        parser.error("give your name: python chat_client.py NAME [PORT]")
    try:
        session = ChatSession.connect(args.host, args.port, args.name, verify=not args.no_verify)
    except ProtocolError as error:
        title = "WARNING" if error.code in ("identity_changed", "bad_signature") else "refused"
        sys.exit(f"{title} ({error.code}): {error.message}")
    except OSError as error:
        sys.exit(f"cannot connect to {args.host}:{args.port}: {error}")
    where = f"{args.host}:{args.port}"
    if session.pin is None:
        print(f"* NOT verifying the server's identity (--no-verify): {session.fingerprint}")
    elif session.pin == "new":
        print(f"* first connection to {where}: pinned its identity {session.fingerprint}")
    else:
        print(f"* {where} is the server you pinned: {session.fingerprint}")
    print(f"* you are {session.name}; online: {', '.join(session.users)}")
    threading.Thread(target=print_incoming, args=(session,), daemon=True).start()
    try:
        for typed in sys.stdin:
            line = typed.rstrip("\n")
            if line == "/quit":
                break
            if line.startswith("/w "):
                _, to, text = [*line.split(" ", 2), ""][:3]
                session.whisper(to, text)
            elif line == "/who":
                session.who()
            elif line:
                session.say(line)
    except (KeyboardInterrupt, OSError):
        pass
    session.close()


if __name__ == "__main__":
    main()
