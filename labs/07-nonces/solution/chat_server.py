"""Lab 07 · the chat server of lab 06 (encrypted), with nonces that cannot be replayed.

Run it:  python chat_server.py        (listens on 127.0.0.1:7777; another port: python chat_server.py 5001)
Try it:  python chat_client.py alice, or the kit's own client once secure.py is done:
         socketlab client --tui   (end-to-end whispers are lab 10's: it notices and does without)

What was built in labs 01-06 is here and works: frames, a thread per client,
broadcast and leave, the protocol of lab 04, and lab 06's encryption (the box
handshake, then every frame sealed by a channel from secure.py). This lab's
work is all in secure.py; this file only picks the channel:

    python chat_server.py --random-nonces    lab 06's channel (step 0: the attack works)
    python chat_server.py                    this lab's SecureChannel
"""

import json
import re
import socket
import struct
import sys
import threading
import time
import unicodedata
from pathlib import Path

from identity import load_or_create_identity, sign_hello
from nacl.signing import SigningKey
from secure import (
    ProtocolError,
    RandomNonceChannel,
    SecureChannel,
    new_key,
    session_key,
    write_keylog,
)

HOST = "127.0.0.1"
PORT = 7777  # socketlab's default port: `socketlab client` finds it without --port
IDENTITY_FILE = Path(__file__).with_name("server_identity.key")  # made on the first run
MAX_FRAME = 65536  # the largest frame body, in bytes
MAX_NAME = 20  # characters
MAX_TEXT = 2000  # characters
HEADER = struct.Struct(">I")  # 4 bytes, unsigned, big-endian: the body length
KEY_HEX = re.compile(r"[0-9a-fA-F]{64}")  # an X25519 public key in a hello: 32 bytes as hex

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


# ---- clients and the room (lab 03) -------------------------------------------------


class Client:
    """One connection: its socket, its channel once the handshake is done, and its name."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.channel: SecureChannel | RandomNonceChannel | None = None  # set by handshake()
        self.name: str | None = None
        self._send_lock = threading.Lock()  # one frame at a time, never two interleaved

    def send(self, msg: dict) -> None:
        """Send msg as one frame, sealed once the handshake is done. A broken connection
        is ignored here: this client's own thread notices it (recv fails or returns
        b"") and makes it leave."""
        body = encode(msg)
        with self._send_lock:
            # Sealed under the same lock as the send: frames must reach the wire in
            # the order of their counters, whichever threads send them.
            if self.channel is not None:
                body = self.channel.seal(body)
            try:
                send_frame(self.conn, body)
            except OSError:
                pass

    def receive(self) -> dict | None:
        """The client's next message, opened and decoded; None when it closed between frames."""
        body = recv_frame(self.conn)
        if body is None:
            return None
        if self.channel is not None:
            body = self.channel.open(body)
        return decode(body)

    def error(self, code: str, message: str) -> None:
        """Send an error frame; the connection stays open (the user may try again)."""
        self.send({"type": "error", "code": code, "message": message})


class ChatRoom:
    """Who is logged in: every user by the key of their name. self.lock guards users."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users: dict[str, Client] = {}  # name_key(name) -> client, in the order they joined

    def name_in_use(self, key: str) -> bool:
        """True if a logged-in user's name has this key. Call it holding self.lock."""
        return key in self.users

    def add_user(self, key: str, client: Client) -> None:
        """Log client in under key. Call it holding self.lock (the same `with` as
        name_in_use, or two clients could both find the name free)."""
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

    def broadcast(self, msg: dict, exclude: Client | None = None) -> None:
        """Send msg to every logged-in user except exclude. The list is copied under
        the lock and the sending happens outside it, so one slow client cannot stop
        everyone else from logging in or leaving."""
        with self.lock:
            audience = [client for client in self.users.values() if client is not exclude]
        for client in audience:
            client.send(msg)


# ---- the protocol ------------------------------------------------------------------


def handshake(client: Client, identity: SigningKey, channel_class: type) -> bool:
    """Read the client's hello and answer it; False if the client left before saying it.

    The first frame must be {"type": "hello", "version": 1, "mode": "box", "key": 64 hex}
    (docs/protocol.md section 4): anything else first is unexpected_message,
    another version bad_version, mode "plain" plaintext_refused, a box hello
    without a good key bad_message, a low-order key bad_key. The answer
    carries our fresh key, our identity and its signature over both keys;
    from then on every frame is sealed by client.channel.
    """
    body = recv_frame(client.conn)
    if body is None:
        return False
    msg = decode(body)
    if msg["type"] != "hello":
        raise ProtocolError("unexpected_message", f"say hello first, not {msg['type']}")
    if msg["version"] != 1:
        raise ProtocolError("bad_version", "this server speaks version 1")
    if msg["mode"] == "plain":
        raise ProtocolError("plaintext_refused", "this server speaks only encrypted (box)")
    if msg["mode"] != "box":
        raise ProtocolError("bad_message", 'mode is "box" or "plain"')
    if not KEY_HEX.fullmatch(msg.get("key", "")):
        raise ProtocolError("bad_message", "a box hello needs a key: 64 hex digits")
    client_key = bytes.fromhex(msg["key"])
    own = new_key()
    key = session_key(own, client_key)  # bad_key before anything is signed
    server_key = bytes(own.public_key)
    client.send({"type": "server_hello", "version": 1, "mode": "box", "key": server_key.hex(),
                 "identity": bytes(identity.verify_key).hex(),
                 "signature": sign_hello(identity, client_key, server_key).hex()})
    write_keylog(client_key, key)
    client.channel = channel_class(key, "server")
    return True


def login(room: ChatRoom, client: Client, name: str) -> None:
    """Log client in as name, or tell it why not (the connection stays open either way).

    - Already logged in: error already_logged_in.
    - check_name(name) gives a reason: error bad_name.
    - Otherwise, in ONE `with room.lock:` block: room.name_in_use(name_key(name))
      -> error name_taken; else room.add_user(...) and set client.name = name.
      Let go of the lock between the check and the add, and two clients who
      ask for the same name at the same moment can both get it.
    - Success: {"type": "welcome", "name": name, "users": [every name, this one
      included]} to client, and {"type": "joined", "name": name} to everyone else
      (list them in that same lock: one who logs in just after must not hear it).
    """
    if client.name is not None:
        client.error("already_logged_in", f"you are already logged in as {client.name}")
        return
    reason = check_name(name)
    if reason is not None:
        client.error("bad_name", reason)
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
        client.error("name_taken", f"{name} is taken: pick another name")
        return
    client.send({"type": "welcome", "name": name, "users": users})
    for other in others:
        other.send({"type": "joined", "name": name})


def leave(room: ChatRoom, client: Client, reason: str) -> None:
    """client is gone: take it out of the room and tell everyone else.

    room.remove_user(client) is True only the first time for a logged-in
    client; then {"type": "left", "name": ..., "reason": reason} goes to the others.
    """
    if room.remove_user(client):
        room.broadcast({"type": "left", "name": client.name, "reason": reason})


def chat(room: ChatRoom, client: Client, msg: dict) -> None:
    """Answer say, whisper and who from a logged-in client.

    - say: {"type": "message", "from": the sender's name, "text": ..., "ts": now}
      to everyone, the sender included. ts is the server's time in whole
      milliseconds since 1970: int(time.time() * 1000).
    - whisper: the same message plus "to": the recipient's name (as they wrote
      it at login), to the recipient and the sender only (once, if they are
      the same). A "to" that breaks the name rules: error bad_name; nobody with
      that name (compare keys!): error no_such_user.
    - who: {"type": "users", "names": [every logged-in name]}.
    """
    now = int(time.time() * 1000)
    if msg["type"] == "say":
        room.broadcast({"type": "message", "from": client.name, "text": msg["text"], "ts": now})
    elif msg["type"] == "whisper":
        if check_name(msg["to"]) is not None:
            client.error("bad_name", "nobody can have that name")
            return
        with room.lock:
            target = room.users.get(name_key(msg["to"]))
        if target is None:
            client.error("no_such_user", f"nobody called {msg['to']} is here")
            return
        line = {"type": "message", "from": client.name, "text": msg["text"], "ts": now,
                "to": target.name}
        target.send(line)
        if target is not client:
            client.send(line)
    elif msg["type"] == "who":
        client.send({"type": "users", "names": room.names()})


# ---- one thread per client (lab 03) --------------------------------------------------


def hang_up(conn: socket.socket) -> None:
    """Close conn so that the last frame we sent still arrives: say "no more from me"
    (shutdown), read and drop what the client still sends, for 2 seconds at most,
    then close. Closing with unread bytes would reset the connection, and a reset
    can destroy our error frame before the client reads it."""
    try:
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(2)
        while conn.recv(4096):
            pass
    except OSError:
        pass
    conn.close()


def serve_client(room: ChatRoom, conn: socket.socket, identity: SigningKey,
                 channel_class: type) -> None:
    """One client, from hello to goodbye (runs in its own thread).

    Whatever the client breaks (a frame its channel refuses included) ends
    here as a ProtocolError: the client gets an error with its code (sealed,
    once the handshake is done), the others see it leave with that reason,
    and the connection closes.
    """
    client = Client(conn)
    reason = "connection_lost"
    try:
        if not handshake(client, identity, channel_class):
            return
        while True:
            msg = client.receive()
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
                client.send({"type": "pong"})
            elif msg["type"] in ("pong", "error"):
                pass  # a pong answers a ping (this server sends none); a client's error gets no answer
            elif client.name is None:
                client.error("not_logged_in", f"log in before you send {msg['type']}")
            else:
                chat(room, client, msg)
    except ProtocolError as error:
        reason = error.code
        client.error(error.code, error.message)
    except OSError:
        pass  # the connection broke: the client is gone
    finally:
        if client.name is not None:
            leave(room, client, reason)
        hang_up(conn)


def serve(listener: socket.socket, identity: SigningKey | None = None,
          channel_class: type = SecureChannel) -> None:
    """Forever: accept a client and serve it in a thread of its own.

    identity signs our hellos (None: the one in IDENTITY_FILE); channel_class
    seals and opens each client's frames (RandomNonceChannel for lab 06's).
    """
    if identity is None:
        identity = load_or_create_identity(IDENTITY_FILE)
    room = ChatRoom()
    while True:
        conn, address = listener.accept()
        threading.Thread(target=serve_client, args=(room, conn, identity, channel_class),
                         name=f"client-{address[1]}", daemon=True).start()


def open_listener(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen()
    return listener


def main() -> None:
    args = sys.argv[1:]
    random_nonces = "--random-nonces" in args
    args = [arg for arg in args if arg != "--random-nonces"]
    port = int(args[0]) if args else PORT
    channel_class = RandomNonceChannel if random_nonces else SecureChannel
    identity = load_or_create_identity(IDENTITY_FILE)
    listener = open_listener(HOST, port)
    port = listener.getsockname()[1]
    print(f"chat server on {HOST}:{port} with {channel_class.__name__} — Ctrl-C stops it")
    if random_nonces:
        print(f"connect with: python chat_client.py NAME {port} --random-nonces")
    else:
        print(f"connect with: python chat_client.py NAME {port}   or   "
              f"socketlab client --tui --port {port}")
    # serve() runs in a helper thread so that Ctrl-C reaches this one, even on Windows.
    threading.Thread(target=serve, args=(listener, identity, channel_class), daemon=True).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("bye")


if __name__ == "__main__":
    main()
