"""Lab 09 · slow clients: a bounded queue and a writer thread for every client.

Run it:  python chat_server.py        (listens on 127.0.0.1:7777; another port: python chat_server.py 5001)
Try it:  python chat_client.py alice   (in two more terminals; a port after the name if you changed it)
Load it: socketlab lab load 09         (the others' latency, with your Client and without it)

What was built in labs 01-08 is here and works: frames, a thread per client,
the chat protocol, the encrypted channel (secure.py) and the signed server
hello (identity.py). Until now a message went out with sendall() in the
thread that had it to send: one client that stops reading then stops that
thread, and with it everyone it was sending to. This lab gives every client
a queue, bounded in bytes, and a writer thread of its own (README, Background).
"""

import json
import re
import socket
import struct
import sys
import threading
import time
import unicodedata
from collections import deque
from pathlib import Path

import nacl.signing
from identity import fingerprint, load_or_create_identity, sign_hello
from secure import ProtocolError, SecureChannel, new_key, session_key, write_keylog

HOST = "127.0.0.1"
PORT = 7777  # socketlab's default port: `socketlab client` finds it without --port
MAX_FRAME = 65536  # the largest frame body, in bytes
MAX_NAME = 20  # characters
MAX_TEXT = 2000  # characters
HEADER = struct.Struct(">I")  # 4 bytes, unsigned, big-endian: the body length
SENDQ = 64 * 1024  # bytes that may wait for one client; more, and it is dropped
CLOSE_GRACE = 1.0  # seconds a closing client's last bytes may take before it is cut off
IDENTITY_FILE = Path(__file__).with_name("server_identity.key")

# What a client may send: each type, and the Python type of each of its fields.
# Every field is required except those in OPTIONAL_FIELDS; no other field is allowed.
CLIENT_MESSAGES: dict[str, dict[str, type]] = {
    "hello": {"version": int, "mode": str, "key": str},
    "login": {"name": str},
    "say": {"text": str},
    "whisper": {"to": str, "text": str},
    "who": {},
    "ping": {},
    "pong": {},
    "bye": {},
    "error": {"code": str, "message": str},  # a client may say what went wrong on its side
}
# The key comes only with an encrypted ("box") hello; an error's message may be left out.
OPTIONAL_FIELDS = {("hello", "key"), ("error", "message")}
# Types only a server sends: a client that sends one gets unexpected_message.
SERVER_MESSAGES = {"server_hello", "welcome", "message", "users", "joined", "left"}
# Fields that hold text for people, and the fewest characters each may have (at most MAX_TEXT).
TEXT_FIELDS = {"text": 1, "message": 0}
# Characters chat text may not hold: control characters except tab and newline
# (C0, DEL, C1: they steer terminals) and the bidi overrides and isolates (they
# reorder what follows them on screen). The kit's client refuses them too.
FORBIDDEN_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Unicode categories a name may not use: control, format (zero-width joiners,
# bidi overrides), surrogate, private use, unassigned, and every kind of space.
FORBIDDEN_IN_NAME = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}


# ---- frames (lab 02) ---------------------------------------------------------------


def recv_exactly(conn: socket.socket, size: int) -> bytes:
    """Exactly size bytes, or fewer if the client closed first."""
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_frame(conn: socket.socket) -> bytes | None:
    """The next frame's body; None when the client closed between frames."""
    header = recv_exactly(conn, HEADER.size)
    if not header:
        return None
    if len(header) < HEADER.size:
        raise ProtocolError("frame_truncated", "the connection ended inside a frame header")
    (length,) = HEADER.unpack(header)
    if length == 0:
        raise ProtocolError("frame_empty", "a frame of length 0 is not allowed")
    if length > MAX_FRAME:  # refused from the header alone: nothing is read or kept
        raise ProtocolError("frame_too_large", f"a frame body is at most {MAX_FRAME} bytes")
    body = recv_exactly(conn, length)
    if len(body) < length:
        raise ProtocolError("frame_truncated", "the connection ended inside a frame")
    return body


def send_frame(conn: socket.socket, body: bytes) -> None:
    conn.sendall(HEADER.pack(len(body)) + body)


# ---- JSON bodies -------------------------------------------------------------------


def encode(msg: dict) -> bytes:
    """A message as a frame body: compact UTF-8 JSON, keys in the order you wrote them."""
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _refuse_constant(name: str) -> None:
    raise ProtocolError("bad_json", f"{name} is not JSON")


def _refuse_duplicates(pairs: list) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ProtocolError("bad_json", "a key appears twice")
    return dict(pairs)


def parse_json(body: bytes) -> object:
    """body as JSON, strictly: what Python's json lets through but the protocol refuses
    (NaN, duplicate keys, lone surrogates, absurd nesting) is bad_json too."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant,
                           object_pairs_hook=_refuse_duplicates)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # a lone surrogate fails here
    except (UnicodeError, ValueError, RecursionError):
        raise ProtocolError("bad_json", "the frame body is not UTF-8 JSON") from None
    return value


def decode(body: bytes) -> dict:
    """The client's message in body, checked against CLIENT_MESSAGES; else ProtocolError.

    - parse_json(body) does the JSON; what it returns must be a dict (a JSON
      object), else bad_json.
    - msg["type"] missing or not a string: bad_message. A type a server sends
      (SERVER_MESSAGES): unexpected_message. Any other type not in
      CLIENT_MESSAGES: unknown_type.
    - Every field of that type present (except OPTIONAL_FIELDS), no other
      field, each of the right type: else bad_message. Compare with
      type(value) is expected: in Python True is an int, in JSON it is not.
    - A text field (TEXT_FIELDS) has TEXT_FIELDS[key] to MAX_TEXT characters
      and nothing FORBIDDEN_IN_TEXT in it: else bad_message.
    - Names are only type-checked here: login and whisper check the name rules.
    """
    msg = parse_json(body)
    if not isinstance(msg, dict):
        raise ProtocolError("bad_json", "a message is a JSON object")
    kind = msg.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", 'a message needs a string "type"')
    if kind in SERVER_MESSAGES:
        raise ProtocolError("unexpected_message", f"only a server sends {kind}")
    if kind not in CLIENT_MESSAGES:
        raise ProtocolError("unknown_type", f"unknown message type {kind[:40]!r}")
    fields = CLIENT_MESSAGES[kind]
    for key in msg:
        if key != "type" and key not in fields:
            raise ProtocolError("bad_message", f"{kind} has no field {key[:40]!r}")
    for key, expected in fields.items():
        if key not in msg:
            if (kind, key) in OPTIONAL_FIELDS:
                continue
            raise ProtocolError("bad_message", f"{kind} needs the field {key!r}")
        value = msg[key]
        if type(value) is not expected:
            raise ProtocolError("bad_message", f"{kind}.{key} must be a {expected.__name__}")
        if key in TEXT_FIELDS:
            if not TEXT_FIELDS[key] <= len(value) <= MAX_TEXT:
                raise ProtocolError("bad_message", f"a text is at most {MAX_TEXT} characters")
            if FORBIDDEN_IN_TEXT.search(value):
                raise ProtocolError("bad_message", "a text may not hold control characters")
    return msg


# ---- names -------------------------------------------------------------------------


def name_key(name: str) -> str:
    """The form two names are compared in: "Alice", "ALICE" and "ＡＬＩＣＥ" get one key.

    NFKC (unicodedata.normalize("NFKC", ...): full-width letters and other
    look-alikes become plain ones), then str.casefold() (case-insensitive,
    better than lower(): "straße" and "STRASSE" match), then NFKC once more
    (casefolding can leave a few characters un-normalised).
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def check_name(name: str) -> str | None:
    """Why name is not allowed as a chat name, or None when it is fine.

    - 1 to MAX_NAME characters (characters, not bytes: "Zoë" is 3).
    - No character whose unicodedata.category(char) is in FORBIDDEN_IN_NAME,
      and none for which char.isspace() is true.
    - The same goes for name_key(name), which must not be empty either: a few
      characters turn into spaces or nothing when normalised ("¨" becomes " ̈").
    """
    if not 1 <= len(name) <= MAX_NAME:
        return f"a name is 1 to {MAX_NAME} characters"
    key = name_key(name)
    if not key:
        return "a name must stay visible when normalised"
    for char in name + key:
        if unicodedata.category(char) in FORBIDDEN_IN_NAME or char.isspace():
            return f"a name may not contain U+{ord(char):04X}"
    return None


# ---- two kinds of client ---------------------------------------------------------------


class DirectClient:
    """Lab 08's client, kept as it was: send() seals and sendall()s in the caller's thread.

    It works while everyone reads. When one client stops reading, its socket's
    buffers fill up and sendall() waits; the thread waiting is the thread of
    whoever said something, and every other thread that sends to this client
    then waits for its lock. `socketlab lab load 09` runs your server with
    this class and with your Client, and charts the difference.
    """

    def __init__(self, conn: socket.socket, channel: SecureChannel) -> None:
        self.conn = conn
        self.channel = channel
        self.name: str | None = None
        self.dropped_for: str | None = None  # never set: this client is never dropped
        self._send_lock = threading.Lock()  # seal and send one frame at a time, in counter order

    def start(self) -> None:
        """Nothing to start: the callers' threads do the sending."""

    def send(self, msg: dict) -> bool:
        """Seal msg and send it now; a broken connection is its reader's business. Always True."""
        body = encode(msg)
        with self._send_lock:
            try:
                send_frame(self.conn, self.channel.seal(body))
            except OSError:
                pass
        return True

    def close(self) -> None:
        """Nothing is waiting to be sent: everything went out in send()."""


class Client:
    """One connection, lab 09: send() only queues, and a writer thread of its own sends.

    self.queue holds the bodies (encoded messages, not yet sealed) waiting for
    this client, self.queued their size in bytes. self.lock is a Condition:
    hold it to touch queue, queued and closing; the writer waits on it for work.
    """

    def __init__(self, conn: socket.socket, channel: SecureChannel) -> None:
        self.conn = conn
        self.channel = channel  # used by the writer thread only: it seals in queue order
        self.name: str | None = None
        self.dropped_for: str | None = None  # "sendq_exceeded" once dropped for not reading
        self.queue: deque[bytes] = deque()
        self.queued = 0  # bytes in self.queue
        self.closing = False  # no more messages are taken; the writer ends when the queue is empty
        self.lock = threading.Condition()
        port = conn.getpeername()[1]
        self.writer = threading.Thread(target=self.write_loop, name=f"writer-{port}", daemon=True)

    def start(self) -> None:
        """Start the writer thread (after the handshake: the channel exists by then)."""
        self.writer.start()

    def send(self, msg: dict) -> bool:
        """Queue msg for the writer thread, and return at once: never wait for the network.

        - Once self.closing is set, do nothing (nobody will send it) and return True.
        - If the queue would then hold more than SENDQ bytes (count len(body),
          the bytes, not the messages: one long line weighs as much as many
          short ones), call self.drop_queue() and return False.
        - Else append the body, add its size to self.queued, wake the writer
          (self.lock.notify()) and return True.
        """
        raise NotImplementedError('TODO(lab 09.1): queue the body without waiting; over SENDQ bytes: drop_queue() and return False')

    def drop_queue(self) -> None:
        """The client is not reading: give up on it. Call it holding self.lock.

        Throw away what is queued, queue the error alone (the body
        encode(error("sendq_exceeded", "you were not reading fast enough")):
        all the client will still get, if it ever reads), set self.closing and
        self.dropped_for = "sendq_exceeded", and wake the writer. The writer is
        probably stuck in sendall() for this very client, so also start
        threading.Timer(CLOSE_GRACE, self.cut) (a daemon): if it is still stuck
        then, the connection is cut.
        """
        raise NotImplementedError('TODO(lab 09.2): empty the queue, queue error sendq_exceeded alone, mark closing and dropped, wake the writer, cut after CLOSE_GRACE')

    def write_loop(self) -> None:
        """The writer thread: send what is queued, in order, until the client is closed.

        Repeat: holding self.lock, wait (self.lock.wait()) while the queue is
        empty and self.closing is not set; if the queue is empty now, the
        client is closing and everything went out: stop. Else take every body
        from the queue (and set self.queued to 0), let go of the lock, and
        send them: send_frame(self.conn, self.channel.seal(body)) for each.
        Never send while holding self.lock: sendall() may wait for a client
        that does not read, and send() must not wait with it.
        An OSError (the client is gone) ends the loop too.
        """
        try:
            raise NotImplementedError('TODO(lab 09.3): wait for bodies, take them all under the lock, seal and send them outside it; stop when closing and empty')
        except OSError:
            pass  # the connection broke: its reader thread finds out and cleans up
        finally:
            with self.lock:
                self.closing = True  # nobody is left to send what would be queued
            if self.dropped_for:
                self.cut()  # wakes this client's reader thread, which then cleans up

    def cut(self) -> None:
        """End the connection now, both ways: a sendall() or recv() waiting on it fails at once."""
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed: nothing left to cut

    def close(self) -> None:
        """A clean close: the writer sends what is still queued, then ends; wait for it.

        Set self.closing and wake the writer (holding self.lock), then wait
        for the writer thread: self.writer.join(CLOSE_GRACE). If it is still
        alive after that (stuck on a client that does not read), self.cut()
        and join it once more. (A writer never started has nothing to send:
        self.writer.is_alive() is False then, and there is nothing to join.)
        """
        raise NotImplementedError('TODO(lab 09.4): set closing and wake the writer, let it finish what is queued (join), cut it if it is stuck')


# ---- the room (labs 03 and 04) -----------------------------------------------------


class ChatRoom:
    """Who is logged in: every user by the key of their name. self.lock guards users."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users: dict[str, Client] = {}  # name_key(name) -> client, in the order they joined

    def name_in_use(self, key: str) -> bool:
        """True if a logged-in user's name has this key. Call it holding self.lock."""
        return key in self.users

    def add_user(self, key: str, client: Client) -> None:
        """Log client in under key. Call it holding self.lock."""
        self.users[key] = client

    def remove_user(self, client: Client) -> bool:
        """Take client out of the room; False if it was not in it."""
        with self.lock:
            if client.name is None or self.users.get(name_key(client.name)) is not client:
                return False
            del self.users[name_key(client.name)]
            return True

    def names(self) -> list[str]:
        """The names of everyone logged in, in the order they joined."""
        with self.lock:
            return [client.name for client in self.users.values()]

    def deliver(self, client: Client, msg: dict) -> None:
        """Send msg to client; if that puts it over SENDQ (send() returns False), the
        client is dropped: leave(self, client, "sendq_exceeded"), so the others hear why."""
        raise NotImplementedError('TODO(lab 09.5): send; a client over its SENDQ leaves with the reason sendq_exceeded')

    def broadcast(self, msg: dict, exclude: Client | None = None) -> None:
        """deliver() msg to every logged-in user except exclude (the list is copied
        under the lock, the sending happens outside it)."""
        with self.lock:
            audience = [client for client in self.users.values() if client is not exclude]
        for client in audience:
            self.deliver(client, msg)


# ---- the protocol (lab 04, in box mode since lab 06) ------------------------------


def handshake(conn: socket.socket, identity: nacl.signing.SigningKey) -> SecureChannel | None:
    """Read the client's hello, answer it with a signed server_hello, return the channel.

    None if the client left before saying hello. The hello must be a box hello
    of version 1 with a key (docs/protocol.md section 4), else ProtocolError;
    this server never speaks plaintext (plaintext_refused).
    """
    body = recv_frame(conn)
    if body is None:
        return None
    msg = decode(body)
    if msg["type"] != "hello":
        raise ProtocolError("unexpected_message", f"say hello first, not {msg['type']}")
    if msg["version"] != 1:
        raise ProtocolError("bad_version", "this server speaks version 1")
    if msg["mode"] != "box":
        raise ProtocolError("plaintext_refused", "this server speaks only box (encrypted)")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", msg.get("key", "")):
        raise ProtocolError("bad_message", "a box hello needs a key: 64 hex digits")
    client_key = bytes.fromhex(msg["key"])
    own = new_key()
    key = session_key(own, client_key)
    server_key = bytes(own.public_key)
    send_frame(conn, encode({
        "type": "server_hello", "version": 1, "mode": "box", "key": server_key.hex(),
        "identity": bytes(identity.verify_key).hex(),
        "signature": sign_hello(identity, client_key, server_key).hex()}))
    write_keylog(client_key, key)
    return SecureChannel(key, "server")


def recv_message(conn: socket.socket, channel: SecureChannel) -> dict | None:
    """The client's next message (opened and checked); None when it closed between frames."""
    body = recv_frame(conn)
    if body is None:
        return None
    return decode(channel.open(body))


def login(room: ChatRoom, client: Client, name: str) -> None:
    """Log client in as name, or tell it why not (the connection stays open either way)."""
    if client.name is not None:
        room.deliver(client, error("already_logged_in", f"you are already logged in as {client.name}"))
        return
    reason = check_name(name)
    if reason is not None:
        room.deliver(client, error("bad_name", reason))
        return
    with room.lock:
        taken = room.name_in_use(name_key(name))
        if not taken:
            room.add_user(name_key(name), client)
            client.name = name
            users = [user.name for user in room.users.values()]
            # Who hears joined: the others now, in the same lock (one who logs in a
            # moment later finds this name in their welcome, and must not hear it again).
            others = [user for user in room.users.values() if user is not client]
    if taken:
        room.deliver(client, error("name_taken", f"{name} is taken: pick another name"))
        return
    room.deliver(client, {"type": "welcome", "name": name, "users": users})
    for other in others:
        room.deliver(other, {"type": "joined", "name": name})


def leave(room: ChatRoom, client: Client, reason: str) -> None:
    """client is gone: take it out of the room and tell everyone else (once)."""
    if room.remove_user(client):
        room.broadcast({"type": "left", "name": client.name, "reason": reason})


def chat(room: ChatRoom, client: Client, msg: dict) -> None:
    """Answer say, whisper and who from a logged-in client."""
    now = int(time.time() * 1000)
    if msg["type"] == "say":
        room.broadcast({"type": "message", "from": client.name, "text": msg["text"], "ts": now})
    elif msg["type"] == "whisper":
        if check_name(msg["to"]) is not None:
            room.deliver(client, error("bad_name", "nobody can have that name"))
            return
        with room.lock:
            target = room.users.get(name_key(msg["to"]))
        if target is None:
            room.deliver(client, error("no_such_user", f"nobody called {msg['to']} is here"))
            return
        line = {"type": "message", "from": client.name, "text": msg["text"], "ts": now,
                "to": target.name}
        room.deliver(target, line)
        if target is not client:
            room.deliver(client, line)
    elif msg["type"] == "who":
        room.deliver(client, {"type": "users", "names": room.names()})


def error(code: str, message: str) -> dict:
    """An error message for the client (docs/protocol.md section 7 says which close)."""
    return {"type": "error", "code": code, "message": message}


# ---- one reader thread per client (lab 03), a writer thread each (this lab) -----------


def hang_up(conn: socket.socket) -> None:
    """Close conn so that the last frame we sent still arrives (shutdown, drain 2 s, close)."""
    try:
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(2)
        while conn.recv(4096):
            pass
    except OSError:
        pass
    conn.close()


def serve_client(room: ChatRoom, conn: socket.socket, identity: nacl.signing.SigningKey,
                 client_class: type) -> None:
    """One client, from hello to goodbye (its reader thread)."""
    client = None
    reason = "connection_lost"
    try:
        channel = handshake(conn, identity)
        if channel is None:
            return
        client = client_class(conn, channel)
        client.start()
        while True:
            msg = recv_message(conn, channel)
            if msg is None:
                break
            if msg["type"] == "bye":
                reason = "quit"
                break
            if msg["type"] == "hello":
                raise ProtocolError("unexpected_message", "hello comes once, first")
            if msg["type"] == "login":
                login(room, client, msg["name"])
            elif msg["type"] == "ping":  # allowed before login too
                room.deliver(client, {"type": "pong"})
            elif msg["type"] in ("pong", "error"):
                pass  # a pong answers a ping (this server sends none); a client's error gets no answer
            elif client.name is None:
                room.deliver(client, error("not_logged_in", f"log in before you send {msg['type']}"))
            else:
                chat(room, client, msg)
    except ProtocolError as problem:
        reason = problem.code
        if client is None:  # before the channel exists, errors go in plaintext
            try:
                send_frame(conn, encode(error(problem.code, problem.message)))
            except OSError:
                pass
        else:
            client.send(error(problem.code, problem.message))
    except OSError:
        pass  # the connection broke: the client is gone
    finally:
        if client is not None:
            reason = client.dropped_for or reason
            if client.name is not None:
                leave(room, client, reason)
            client.close()
        hang_up(conn)


def serve(listener: socket.socket, identity: nacl.signing.SigningKey | None = None,
          client_class: type = Client) -> None:
    """Forever: accept a client and serve it in a thread of its own.

    identity is the server's long-term key (a fresh one if None: main() passes
    the one in IDENTITY_FILE); client_class is Client (this lab) or
    DirectClient (lab 08's, which `socketlab lab load 09` compares with yours).
    """
    room = ChatRoom()
    identity = identity or nacl.signing.SigningKey.generate()
    while True:
        conn, address = listener.accept()
        threading.Thread(target=serve_client, args=(room, conn, identity, client_class),
                         name=f"client-{address[1]}", daemon=True).start()


def open_listener(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen()
    return listener


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else PORT
    listener = open_listener(HOST, port)
    identity = load_or_create_identity(IDENTITY_FILE)
    print(f"chat server on {HOST}:{listener.getsockname()[1]} — Ctrl-C stops it")
    print(f"identity {fingerprint(bytes(identity.verify_key))} ({IDENTITY_FILE.name})")
    print(f"connect with: python chat_client.py NAME {listener.getsockname()[1]}"
          f"  (or: socketlab client --tui --port {listener.getsockname()[1]})")
    # serve() runs in a helper thread so that Ctrl-C reaches this one, even on Windows.
    threading.Thread(target=serve, args=(listener, identity), daemon=True).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("bye")


if __name__ == "__main__":
    main()
