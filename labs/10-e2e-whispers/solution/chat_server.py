"""Lab 10 · end-to-end whispers: the server relays whispers it cannot read.

Run it:  python chat_server.py        (listens on 127.0.0.1:7777; another port: python chat_server.py 5001)
Try it:  python chat_client.py alice  and  python chat_client.py bob   (two more terminals),
         then in alice's: /w bob psst

What labs 01-09 built is here and works: frames, a thread per client, the
protocol (lab 04), the encrypted channel with counter nonces (labs 06-07,
secure.py), the signed server hello (lab 08, identity.py), a bounded outgoing
queue and a writer thread per client (lab 09). This lab adds three things to
the server: it keeps each user's e2e key bundle from their login, answers
`lookup`, and relays `e2e_whisper` as `e2e_message` without opening it
(it could not: it has no key that opens it).
"""

import json
import os
import re
import socket
import struct
import sys
import threading
import time
import unicodedata
from collections import deque
from pathlib import Path

from e2e import verify_bundle
from identity import load_or_create_identity, sign_hello
from nacl.signing import SigningKey
from secure import ProtocolError, SecureChannel, new_key, session_key, write_keylog

HOST = "127.0.0.1"
PORT = 7777  # socketlab's default port: `socketlab client` finds it without --port
MAX_FRAME = 65536  # the largest frame body, in bytes
MAX_NAME = 20  # characters
MAX_TEXT = 2000  # characters
SENDQ = 1024 * 1024  # bytes that may wait for one client before it is dropped (lab 09)
HEADER = struct.Struct(">I")  # 4 bytes, unsigned, big-endian: the body length

# What a client may send: each type, and the Python type of each of its fields.
# Every field is required except those in OPTIONAL_FIELDS; no other field is allowed.
CLIENT_MESSAGES: dict[str, dict[str, type]] = {
    "hello": {"version": int, "mode": str, "key": str},
    "login": {"name": str, "e2e_key": str, "e2e_identity": str, "e2e_signature": str},
    "say": {"text": str},
    "whisper": {"to": str, "text": str},
    "who": {},
    "lookup": {"name": str},
    "e2e_whisper": {"to": str, "nonce": str, "box": str},
    "ping": {},
    "pong": {},
    "bye": {},
    "error": {"code": str, "message": str},  # a client may say what went wrong on its side
}
# The login's e2e bundle: three fields, all or none (an old client sends none).
E2E_FIELDS = ("e2e_key", "e2e_identity", "e2e_signature")
OPTIONAL_FIELDS = {("hello", "key"), ("error", "message")} | {("login", f) for f in E2E_FIELDS}
# Types only a server sends: a client that sends one gets unexpected_message.
SERVER_MESSAGES = {"server_hello", "welcome", "message", "users", "joined", "left",
                   "user_key", "e2e_message"}
# Fields that hold text for people, and the fewest characters each may have (at most MAX_TEXT).
TEXT_FIELDS = {"text": 1, "message": 0}
# Characters chat text may not hold: control characters except tab and newline
# (C0, DEL, C1: they steer terminals) and the bidi overrides and isolates (they
# reorder what follows them on screen). The kit's client refuses them too.
FORBIDDEN_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Unicode categories a name may not use: control, format (zero-width joiners,
# bidi overrides), surrogate, private use, unassigned, and every kind of space.
FORBIDDEN_IN_NAME = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
# A sealed whisper's box: the 16-byte MAC, then the ciphertext of at most 16,384 bytes.
BOX_BYTES = (16, 16 + 16384)
IDENTITY_FILE = Path(__file__).with_name("server_identity.key")  # the server's secret (lab 08)


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


def parse_hex(value: str, what: str, sizes: tuple[int, int]) -> bytes:
    """value as bytes, if it is hex of sizes[0] to sizes[1] bytes; else ProtocolError bad_message."""
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise ProtocolError("bad_message", f"{what} must be hex digits") from None
    if len(value) != 2 * len(data) or not sizes[0] <= len(data) <= sizes[1]:
        raise ProtocolError("bad_message", f"{what} must be {sizes[0]} to {sizes[1]} bytes in hex")
    return data


# ---- clients and the room (labs 03 and 09) -------------------------------------------


class Client:
    """One connection: its socket, its channel once encrypted, its name once logged in,
    and (lab 10) the e2e bundle its login carried.

    Sending only queues (lab 09): a writer thread per client seals and sends what
    is queued, so a client that does not read slows down nobody but itself.
    """

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.name: str | None = None
        self.channel: SecureChannel | None = None  # set by the handshake
        self.e2e: dict[str, bytes] | None = None  # {"key", "identity", "signature"}: lab 10
        self.overflowed = False  # more than SENDQ bytes waited: the client is being dropped
        self._outbox: deque[tuple[bytes, SecureChannel | None] | None] = deque()
        self._queued = 0  # bytes waiting in the outbox
        self._ready = threading.Condition()
        self._closing = False
        self.writer = threading.Thread(target=self._write, daemon=True,
                                       name=f"writer-{conn.fileno()}")
        self.writer.start()

    def send(self, msg: dict) -> None:
        """Queue msg (sealed once the handshake is done). When more than SENDQ bytes
        wait, everything queued is dropped and an error sendq_exceeded goes alone."""
        body = encode(msg)
        with self._ready:
            if self._closing:
                return
            if self._queued + len(body) > SENDQ:
                self.overflowed = True
                self._closing = True
                self._outbox.clear()
                body = encode({"type": "error", "code": "sendq_exceeded",
                               "message": "you did not read fast enough"})
                self._outbox.append((body, self.channel))
                self._outbox.append(None)  # then hang up
            else:
                self._queued += len(body)
                self._outbox.append((body, self.channel))
            self._ready.notify()

    def error(self, code: str, message: str) -> None:
        """Send an error frame; the connection stays open (the user may try again)."""
        self.send({"type": "error", "code": code, "message": message})

    def finish(self) -> None:
        """No more messages: the writer sends what is queued, then shuts our side down."""
        with self._ready:
            if not self._closing:
                self._closing = True
                self._outbox.append(None)
                self._ready.notify()

    def _write(self) -> None:
        """The writer thread: seal and send each queued body in order."""
        while True:
            with self._ready:
                while not self._outbox:
                    self._ready.wait()
                item = self._outbox.popleft()
                if item is not None:
                    self._queued -= len(item[0])
            try:
                if item is None:
                    # SHUT_RDWR for a dropped client also wakes its reader thread.
                    self.conn.shutdown(socket.SHUT_RDWR if self.overflowed else socket.SHUT_WR)
                    return
                body, channel = item
                send_frame(self.conn, channel.seal(body) if channel else body)
            except OSError:
                return  # the connection broke: its reader notices and makes it leave


class ChatRoom:
    """Who is logged in: every user by the key of their name. self.lock guards users."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users: dict[str, Client] = {}  # name_key(name) -> client, in the order they joined

    def remove_user(self, client: Client) -> bool:
        """Take client out of the room; False if it was not in it."""
        with self.lock:
            if client.name is None or self.users.get(name_key(client.name)) is not client:
                return False
            del self.users[name_key(client.name)]
            return True

    def find(self, name: str) -> Client | None:
        """The logged-in client whose name has the same key as name, or None."""
        with self.lock:
            return self.users.get(name_key(name))

    def names(self) -> list[str]:
        """The names of everyone logged in, in the order they joined."""
        with self.lock:
            return [client.name for client in self.users.values()]

    def broadcast(self, msg: dict, exclude: Client | None = None) -> None:
        """Queue msg for every logged-in user except exclude."""
        with self.lock:
            audience = [client for client in self.users.values() if client is not exclude]
        for client in audience:
            client.send(msg)


# ---- the handshake (labs 06-08) ----------------------------------------------------


def handshake(client: Client, identity: SigningKey) -> bool:
    """Read the client's hello and answer it; False if the client left before saying it.

    A box hello of version 1 with the client's fresh X25519 key gets our fresh
    key, our identity and our signature over both keys; from then on every frame
    is sealed. A plain hello gets plaintext_refused.
    """
    body = recv_frame(client.conn)
    if body is None:
        return False
    msg = decode(body)
    if msg["type"] != "hello":
        raise ProtocolError("unexpected_message", f"say hello first, not {msg['type']}")
    if msg["version"] != 1:
        raise ProtocolError("bad_version", "this server speaks version 1")
    if msg["mode"] != "box":
        raise ProtocolError("plaintext_refused", "this server only speaks encrypted (box)")
    if "key" not in msg:
        raise ProtocolError("bad_message", "a box hello needs a key")
    client_key = parse_hex(msg["key"], "hello.key", (32, 32))
    own = new_key()
    key = session_key(own, client_key)  # bad_key for a low-order key, before we sign anything
    server_key = bytes(own.public_key)
    client.send({"type": "server_hello", "version": 1, "mode": "box", "key": server_key.hex(),
                 "identity": bytes(identity.verify_key).hex(),
                 "signature": sign_hello(identity, client_key, server_key).hex()})
    client.channel = SecureChannel(key, "server")  # every later frame is sealed
    write_keylog(client_key, key)
    return True


# ---- the chat (lab 04) -------------------------------------------------------------


def login(room: ChatRoom, client: Client, name: str) -> None:
    """Log client in as name, or tell it why not (the connection stays open either way)."""
    if client.name is not None:
        client.error("already_logged_in", f"you are already logged in as {client.name}")
        return
    reason = check_name(name)
    if reason is not None:
        client.error("bad_name", reason)
        return
    with room.lock:
        taken = name_key(name) in room.users
        if not taken:
            room.users[name_key(name)] = client
            client.name = name
            users = [user.name for user in room.users.values()]
            # Who hears joined: the others now, in the same lock (one who logs in a
            # moment later finds this name in their welcome, and must not hear it again).
            others = [user for user in room.users.values() if user is not client]
    if taken:
        client.error("name_taken", f"{name} is taken: pick another name")
        return
    client.send({"type": "welcome", "name": name, "users": users})
    for other in others:
        other.send({"type": "joined", "name": name})


def leave(room: ChatRoom, client: Client, reason: str) -> None:
    """client is gone: take it out of the room and tell everyone else."""
    if room.remove_user(client):
        room.broadcast({"type": "left", "name": client.name, "reason": reason})


def recipient(room: ChatRoom, client: Client, name: str) -> Client | None:
    """The logged-in user called name; None after telling client bad_name or no_such_user."""
    if check_name(name) is not None:
        client.error("bad_name", "nobody can have that name")
        return None
    target = room.find(name)
    if target is None:
        client.error("no_such_user", f"nobody called {name} is here")
    return target


def chat(room: ChatRoom, client: Client, msg: dict) -> None:
    """Answer say, whisper and who from a logged-in client (lab 04)."""
    now = int(time.time() * 1000)
    if msg["type"] == "say":
        room.broadcast({"type": "message", "from": client.name, "text": msg["text"], "ts": now})
    elif msg["type"] == "whisper":
        target = recipient(room, client, msg["to"])
        if target is None:
            return
        line = {"type": "message", "from": client.name, "text": msg["text"], "ts": now,
                "to": target.name}
        target.send(line)
        if target is not client:
            client.send(line)
    elif msg["type"] == "who":
        client.send({"type": "users", "names": room.names()})


# ---- end-to-end whispers (lab 10) --------------------------------------------------


def check_bundle(msg: dict) -> dict[str, bytes]:
    """The e2e bundle of a login that has at least one of E2E_FIELDS, checked:
    {"key": ..., "identity": ..., "signature": ...} as bytes. Else ProtocolError:

    - some of E2E_FIELDS but not all three: bad_message.
    - each one hex of the right size (parse_hex): e2e_key and e2e_identity 32
      bytes, e2e_signature 64: else bad_message.
    - a low-order e2e_key: bad_key. session_key(new_key(), key) raises it for
      you (a throwaway key of our own: we only want the check).
    - verify_bundle(msg["name"], key, identity, signature) from e2e.py raises
      bad_signature when the identity did not sign this key for this name.
    """
    # BEGIN SOLUTION 10.3: check all-or-none, sizes, low-order key and the signature; return the bundle
    if not all(field in msg for field in E2E_FIELDS):
        raise ProtocolError("bad_message", "a login carries e2e_key, e2e_identity and "
                            "e2e_signature together, or none of them")
    key = parse_hex(msg["e2e_key"], "login.e2e_key", (32, 32))
    identity = parse_hex(msg["e2e_identity"], "login.e2e_identity", (32, 32))
    signature = parse_hex(msg["e2e_signature"], "login.e2e_signature", (64, 64))
    session_key(new_key(), key)
    verify_bundle(msg["name"], key, identity, signature)
    return {"key": key, "identity": identity, "signature": signature}
    # END SOLUTION


def lookup(room: ChatRoom, client: Client, name: str) -> None:
    """Answer lookup{name}: the e2e bundle that user logged in with.

    - recipient(room, client, name) finds the user (it answers bad_name and
      no_such_user itself, and returns None then).
    - a user whose login had no bundle (target.e2e is None): error no_e2e_key.
    - else {"type": "user_key", "name": target.name, "key": ..., "identity": ...,
      "signature": ...}: the three exactly as that user sent them, in hex.
    The server cannot make up a key of its own here without the client
    noticing: the signature binds the key to the name and the user's identity.
    """
    # BEGIN SOLUTION 10.4: find the user (bad_name, no_such_user), no bundle -> no_e2e_key, else user_key
    target = recipient(room, client, name)
    if target is None:
        return
    if target.e2e is None:
        client.error("no_e2e_key", f"{target.name}'s client has no end-to-end key (an old client)")
        return
    client.send({"type": "user_key", "name": target.name, "key": target.e2e["key"].hex(),
                 "identity": target.e2e["identity"].hex(),
                 "signature": target.e2e["signature"].hex()})
    # END SOLUTION


def relay_e2e(room: ChatRoom, client: Client, msg: dict) -> None:
    """Relay e2e_whisper{to, nonce, box} as e2e_message, WITHOUT opening it.

    - nonce must be hex of 24 bytes, box hex of BOX_BYTES bytes (parse_hex):
      else ProtocolError bad_message.
    - the sender needs a bundle of their own (their key is what the recipient
      opens with): else error no_e2e_key. The recipient: recipient(...) (bad_name,
      no_such_user), and a bundle too, else error no_e2e_key.
    - {"type": "e2e_message", "from": client.name, "to": target.name, "ts": now
      in ms, "key", "identity", "signature": the SENDER's bundle in hex, "nonce",
      "box": as they came} to the recipient, and to the sender (once if the same).
    """
    # BEGIN SOLUTION 10.5: check nonce and box, find the recipient, relay e2e_message to them and the sender
    nonce = parse_hex(msg["nonce"], "e2e_whisper.nonce", (24, 24))
    box = parse_hex(msg["box"], "e2e_whisper.box", BOX_BYTES)
    if client.e2e is None:
        client.error("no_e2e_key", "you logged in without an end-to-end key")
        return
    target = recipient(room, client, msg["to"])
    if target is None:
        return
    if target.e2e is None:
        client.error("no_e2e_key", f"{target.name}'s client has no end-to-end key (an old client)")
        return
    line = {"type": "e2e_message", "from": client.name, "to": target.name,
            "ts": int(time.time() * 1000), "key": client.e2e["key"].hex(),
            "identity": client.e2e["identity"].hex(),
            "signature": client.e2e["signature"].hex(), "nonce": nonce.hex(), "box": box.hex()}
    target.send(line)
    if target is not client:
        client.send(line)
    # END SOLUTION


# ---- one thread per client (lab 03) --------------------------------------------------


def receive(client: Client) -> dict | None:
    """The client's next message (opened and checked); None when it closed between frames."""
    body = recv_frame(client.conn)
    if body is None:
        return None
    assert client.channel is not None
    return decode(client.channel.open(body))


def serve_client(room: ChatRoom, conn: socket.socket, identity: SigningKey) -> None:
    """One client, from hello to goodbye (runs in its own thread)."""
    client = Client(conn)
    reason = "connection_lost"
    try:
        if not handshake(client, identity):
            return
        while (msg := receive(client)) is not None:
            if msg["type"] == "bye":
                reason = "quit"
                break
            if msg["type"] == "hello":
                raise ProtocolError("unexpected_message", "hello comes once, first")
            if msg["type"] == "login":
                # An old client's login has no e2e fields: it chats, and whispers in plain.
                bundle = check_bundle(msg) if any(f in msg for f in E2E_FIELDS) else None
                if client.name is None:
                    client.e2e = bundle
                login(room, client, msg["name"])
            elif msg["type"] == "ping":  # allowed before login too
                client.send({"type": "pong"})
            elif msg["type"] in ("pong", "error"):
                pass  # a pong answers a ping (this server sends none); a client's error gets no answer
            elif client.name is None:
                client.error("not_logged_in", f"log in before you send {msg['type']}")
            elif msg["type"] == "lookup":
                lookup(room, client, msg["name"])
            elif msg["type"] == "e2e_whisper":
                relay_e2e(room, client, msg)
            else:
                chat(room, client, msg)
    except ProtocolError as error:
        reason = error.code
        client.error(error.code, error.message)
    except OSError:
        pass  # the connection broke: the client is gone
    finally:
        if client.overflowed:
            reason = "sendq_exceeded"
        if client.name is not None:
            leave(room, client, reason)
        hang_up(client)


def hang_up(client: Client) -> None:
    """Send what is queued, shut our side, read and drop what still comes (2 s at most), close.
    Closing with unread bytes would reset the connection and could destroy our last frame."""
    client.finish()
    client.writer.join(2)
    try:
        client.conn.settimeout(2)
        while client.conn.recv(4096):
            pass
    except OSError:
        pass
    client.conn.close()


def serve(listener: socket.socket, identity: SigningKey | None = None) -> None:
    """Forever: accept a client and serve it in a thread of its own.

    identity: the server's long-term key (the checks give one); by default the
    one in server_identity.key next to this file, made on first start.
    """
    identity = identity or load_or_create_identity(IDENTITY_FILE)
    room = ChatRoom()
    while True:
        conn, address = listener.accept()
        threading.Thread(target=serve_client, args=(room, conn, identity),
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
    print(f"chat server on {HOST}:{listener.getsockname()[1]} — Ctrl-C stops it")
    if os.environ.get("SOCKETLAB_KEYLOG"):
        print(f"writing the session keys to {os.environ['SOCKETLAB_KEYLOG']} (SOCKETLAB_KEYLOG)")
    # serve() runs in a helper thread so that Ctrl-C reaches this one, even on Windows.
    threading.Thread(target=serve, args=(listener,), daemon=True).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("bye")


if __name__ == "__main__":
    main()
