"""Lab 10 · a terminal chat client with end-to-end whispers.

Run it:  python chat_client.py alice [PORT]      (the server: python chat_server.py)
         python chat_client.py --forget-server 127.0.0.1:7777   (forget a pinned server identity)
Then type a line to say it, `/w bob psst` to whisper end-to-end, `/pw bob psst`
for a plain whisper (the server can read it), `/who`, `/quit`.

The session (labs 06-08, given): a box handshake, the server's signature
checked and its identity pinned in known_servers, then sealed frames. Lab 10
adds: a user identity (user_identity.key) and a fresh e2e key per session,
published at login with a signature; `lookup` to get another user's key;
whispers sealed to the recipient that the server relays but cannot read.
"""

import argparse
import os
import queue
import socket
import sys
import threading
import time
from pathlib import Path

from chat_server import PORT, encode, name_key, parse_json, recv_frame, send_frame
from e2e import check_user_pin, open_whisper, seal_whisper, sign_bundle, verify_bundle
from identity import fingerprint, load_or_create_identity, verify_hello
from nacl.signing import SigningKey
from pins import check_pin, default_home, forget_pin
from secure import ProtocolError, SecureChannel, append_private, keylog_line, new_key, session_key

HOST = "127.0.0.1"
WAIT = 5.0  # seconds to wait for the server's answer to a request


class ChatSession:
    """One logged-in connection to a chat server. Use it from ONE thread."""

    def __init__(self, sock, channel: SecureChannel, *, where: str, home: Path,
                 identity: SigningKey, keylog: str | None) -> None:
        self.sock = sock
        self.channel = channel
        self.where = where  # "HOST:PORT": what pins are kept by
        self.home = home
        self.identity = identity  # this user's long-term identity (signs the e2e key)
        self.e2e = new_key()  # this session's e2e key: whispers to us are sealed to it
        self.keylog = keylog
        self.name = ""
        self.users: list[str] = []  # who was online at login (the welcome)
        # name_key -> (the name as that user wrote it, their e2e key), checked by lookup()
        self.known_keys: dict[str, tuple[str, bytes]] = {}
        self._pending: list[dict] = []  # what arrived while we waited for an answer

    @classmethod
    def connect(cls, host: str, port: int, name: str, *, verify: bool = True,
                home: Path | None = None, keylog: str | None = None) -> "ChatSession":
        """Connect, do the box handshake, log in as name with our e2e bundle.

        Refusals raise ProtocolError with the server's code (name_taken, ...);
        a server whose identity is not the pinned one raises identity_changed
        (unless verify=False, which only checks the signature). keylog: a file
        for this client's key log (its session key and its e2e key).
        """
        home = Path(home) if home is not None else default_home()
        sock = socket.create_connection((host, port), timeout=WAIT)
        try:
            own = new_key()
            send_frame(sock, encode({"type": "hello", "version": 1, "mode": "box",
                                     "key": bytes(own.public_key).hex()}))
            body = recv_frame(sock)
            reply = parse_json(body) if body else None
            if not isinstance(reply, dict) or reply.get("type") == "error":
                code = reply.get("code", "closed") if isinstance(reply, dict) else "closed"
                raise ProtocolError(code, str(reply.get("message", "")) if isinstance(reply, dict)
                                    else "the server closed the connection")
            if reply.get("type") != "server_hello" or reply.get("mode") != "box":
                raise ProtocolError("unexpected_message", "expected a box server_hello")
            try:
                server_key, server_id, signature = (bytes.fromhex(reply[field]) for field in
                                                    ("key", "identity", "signature"))
            except (KeyError, TypeError, ValueError):
                raise ProtocolError("bad_message", "server_hello needs key, identity, signature") \
                    from None
            verify_hello(server_id, bytes(own.public_key), server_key, signature)
            if verify:
                check_pin(home, host, port, server_id)
            key = session_key(own, server_key)
            home.mkdir(parents=True, exist_ok=True)  # user_identity.key lives there
            session = cls(sock, SecureChannel(key, "client"), where=f"{host}:{port}", home=home,
                          identity=load_or_create_identity(home / "user_identity.key"),
                          keylog=keylog)
            if keylog:
                append_private(keylog, keylog_line(bytes(own.public_key), key))
                append_private(keylog, f"SOCKETLAB_E2E {bytes(session.e2e.public_key).hex()} "
                                       f"{bytes(session.e2e).hex()}\n")
            session.login(name)
            return session
        except BaseException:
            sock.close()
            raise

    # ---- sending and receiving (given) ----

    def send(self, msg: dict) -> None:
        send_frame(self.sock, self.channel.seal(encode(msg)))

    def _read(self, timeout: float) -> list[dict] | None:
        """The messages of the server's next frame; [] if none came in time, None at the end."""
        self.sock.settimeout(timeout)
        try:
            body = recv_frame(self.sock)
        except TimeoutError:
            return []
        if body is None:
            return None
        messages = []
        for inner in self.channel.open_batch(body):
            msg = parse_json(inner)
            if not isinstance(msg, dict):
                raise ProtocolError("bad_json", "the server sent something that is not a message")
            messages.append(msg)
        return messages

    def _answer(self, kinds: tuple[str, ...], codes: tuple[str, ...]) -> dict:
        """Wait for the server's answer (a message of one of kinds, or an error with one of
        codes); keep whatever else arrives for receive()."""
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            messages = self._read(max(left, 0.01)) if left > 0 else []
            if messages is None or (not messages and left <= 0):
                raise ProtocolError("no_answer", "the server did not answer")
            for i, msg in enumerate(messages):
                if msg.get("type") in kinds or (msg.get("type") == "error"
                                               and msg.get("code") in codes):
                    self._pending.extend(messages[i + 1:])
                    return msg
                self._pending.append(msg)

    def login(self, name: str) -> None:
        """Log in with our signed e2e bundle; ProtocolError with the server's code if refused."""
        bundle = sign_bundle(self.identity, bytes(self.e2e.public_key), name)
        self.send({"type": "login", "name": name, **bundle})
        answer = self._answer(("welcome",), ("name_taken", "bad_name", "already_logged_in",
                                              "server_full", "bad_signature", "bad_key",
                                              "bad_message"))
        if answer["type"] == "error":
            raise ProtocolError(answer["code"], answer.get("message", ""))
        self.name, self.users = answer["name"], answer["users"]

    def say(self, text: str) -> None:
        self.send({"type": "say", "text": text})

    def plain_whisper(self, to: str, text: str) -> None:
        """A whisper the server can read (lab 04's): only for a user without an e2e key."""
        self.send({"type": "whisper", "to": to, "text": text})

    def who(self) -> None:
        self.send({"type": "who"})

    def receive(self, timeout: float) -> dict | None:
        """The next message from the server, or None if none came within timeout.

        An e2e_message comes back opened (see open_e2e); at the end of the
        connection: {"type": "closed"}.
        """
        deadline = time.monotonic() + timeout
        while not self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            messages = self._read(left)
            if messages is None:
                return {"type": "closed"}
            self._pending.extend(messages)
        msg = self._pending.pop(0)
        if msg.get("type") == "ping":
            self.send({"type": "pong"})
        if msg.get("type") == "e2e_message":
            return self.open_e2e(msg)
        return msg

    def close(self) -> None:
        """Say bye, then read what the server still sends until it closes (1 s at most):
        closing with unread bytes would reset the connection instead of ending it."""
        try:
            self.send({"type": "bye"})
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(1)
            while self.sock.recv(4096):
                pass
        except OSError:
            pass
        self.sock.close()

    # ---- end-to-end whispers (lab 10) ----

    def lookup(self, name: str) -> tuple[str, bytes]:
        """(the name as that user wrote it, their e2e key), checked; kept in
        self.known_keys[name_key(name)].

        Send {"type": "lookup", "name": name} and wait for the answer with
        self._answer(("user_key",), ("no_such_user", "no_e2e_key", "bad_name")):
        - an error: raise ProtocolError(its code, its message).
        - a user_key: its key, identity and signature are hex. Check, in this order:
          1. answer["name"] is the user asked for (same name_key): else
             ProtocolError bad_message (the server answered for someone else);
          2. verify_bundle(answer["name"], key, identity, signature): the server
             may have made the key up; bad_signature is raised for you;
          3. check_user_pin(self.home, self.where, name_key(answer["name"]),
             identity): another identity than the pinned one raises
             identity_changed (with both fingerprints).
        Only a key that passed all three may be kept and returned, with the
        name from the answer (whispers are sealed with the name as its owner
        wrote it: "bob" even if you typed "BOB").
        """
        # BEGIN SOLUTION 10.9: send lookup; check the user_key's name, signature and pin; keep and return the key
        self.send({"type": "lookup", "name": name})
        answer = self._answer(("user_key",), ("no_such_user", "no_e2e_key", "bad_name"))
        if answer["type"] == "error":
            raise ProtocolError(answer["code"], answer.get("message", ""))
        if name_key(answer.get("name", "")) != name_key(name):
            raise ProtocolError("bad_message", f"asked for {name}'s key, got {answer.get('name')}'s")
        key, identity, signature = (bytes.fromhex(answer[field])
                                    for field in ("key", "identity", "signature"))
        verify_bundle(answer["name"], key, identity, signature)
        check_user_pin(self.home, self.where, name_key(answer["name"]), identity)
        self.known_keys[name_key(name)] = (answer["name"], key)
        return answer["name"], key
        # END SOLUTION

    def whisper(self, to: str, text: str) -> None:
        """Whisper end-to-end: seal {"from", "to", "text"} to the recipient's e2e key.

        - (name, key): self.known_keys.get(name_key(to)), else self.lookup(to)
          (which raises no_e2e_key for an old client: never fall back to a plain
          whisper on your own, the user chooses /pw);
        - seal_whisper(self.e2e, key, self.name, name, text) from e2e.py;
        - send {"type": "e2e_whisper", "to": name, "nonce": ..., "box": ...}.
        """
        # BEGIN SOLUTION 10.10: the recipient's checked key (lookup once), seal the whisper to it, send e2e_whisper
        name, key = self.known_keys.get(name_key(to)) or self.lookup(to)
        nonce, box = seal_whisper(self.e2e, key, self.name, name, text)
        self.send({"type": "e2e_whisper", "to": name, "nonce": nonce, "box": box})
        # END SOLUTION

    def open_e2e(self, msg: dict) -> dict:
        """What to show for an e2e_message: the whisper, or why it was refused.

        msg has from, to, ts, key/identity/signature (the SENDER's bundle),
        nonce and box. In this order:
        1. verify_bundle(msg["from"], key, identity, signature): bad_signature
           means the bundle is forged.
        2. check_user_pin(self.home, self.where, name_key(msg["from"]), identity):
           identity_changed is NOT a refusal: the whisper is shown, marked
           "identity changed — not verified" (trust is "changed", and warning
           holds the error's message with both fingerprints). Your own copy
           (from is you) needs no pin.
        3. the peer's key: the sender's key from msg for a whisper to you, or,
           for your own copy (msg["from"] is self.name), the recipient's key you
           looked up (self.known_keys[name_key(msg["to"])][1]). Then
           open_whisper(self.e2e, peer key, msg["nonce"], msg["box"]).
        4. inner["from"] == msg["from"] and inner["to"] == msg["to"]: else the
           server redirected or reflected someone's whisper: ProtocolError
           e2e_misrouted.
        Return {"type": "e2e_message", "from", "to", "ts", "text": inner text,
        "trust": "new" | "known" | "changed" | "self", "fingerprint": the
        sender's fingerprint, "warning": ""} or, for ANY ProtocolError above,
        {"type": "e2e_refused", "from": msg["from"], "code": error.code,
        "message": error.message}: never the text.
        """
        # BEGIN SOLUTION 10.11: verify the sender's bundle, check the pin, open the box, compare inner from/to
        try:
            key, identity, signature = (bytes.fromhex(msg[field])
                                        for field in ("key", "identity", "signature"))
            verify_bundle(msg["from"], key, identity, signature)
            mine = name_key(msg["from"]) == name_key(self.name)
            trust, warning = "self", ""
            if not mine:
                try:
                    trust = check_user_pin(self.home, self.where, name_key(msg["from"]), identity)
                except ProtocolError as changed:
                    trust, warning = "changed", changed.message
            peer = self.known_keys[name_key(msg["to"])][1] if mine else key
            inner = open_whisper(self.e2e, peer, msg["nonce"], msg["box"])
            if inner["from"] != msg["from"] or inner["to"] != msg["to"]:
                raise ProtocolError(
                    "e2e_misrouted", f"sealed from {inner['from']} to {inner['to']}, but delivered "
                    f"as from {msg['from']} to {msg['to']}: the server redirected it")
        except ProtocolError as error:
            return {"type": "e2e_refused", "from": msg.get("from"), "code": error.code,
                    "message": error.message}
        except (KeyError, TypeError, ValueError):
            return {"type": "e2e_refused", "from": msg.get("from"), "code": "e2e_bad_inner",
                    "message": "an e2e_message needs hex key, identity, signature, nonce, box"}
        return {"type": "e2e_message", "from": msg["from"], "to": msg["to"], "ts": msg["ts"],
                "text": inner["text"], "trust": trust, "fingerprint": fingerprint(identity),
                "warning": warning}
        # END SOLUTION


def show(msg: dict) -> str:
    """A message as a line for the terminal."""
    kind = msg.get("type")
    if kind == "message":
        where = f" [plain whisper to {msg['to']}: the server can read it]" if "to" in msg else ""
        return f"{msg['from']}{where}: {msg['text']}"
    if kind == "e2e_message":
        mark = {"changed": f" [identity changed — not verified: {msg['warning']}]",
                "new": f" [e2e, first contact: {msg['fingerprint']}]"}.get(msg["trust"], " [e2e]")
        return f"{msg['from']} → {msg['to']}{mark}: {msg['text']}"
    if kind == "e2e_refused":
        return f"! a whisper from {msg['from']} was refused ({msg['code']}): {msg['message']}"
    if kind in ("joined", "left"):
        return f"* {msg['name']} {kind}"
    if kind == "users":
        return "* online: " + ", ".join(msg["names"])
    if kind == "error":
        return f"! {msg['code']}: {msg.get('message', '')}"
    return f"* {msg}"


def main() -> None:
    parser = argparse.ArgumentParser(description="lab 10's chat client")
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
        session = ChatSession.connect(args.host, args.port, args.name, verify=not args.no_verify,
                                      keylog=os.environ.get("SOCKETLAB_KEYLOG"))
    except ProtocolError as error:
        title = "WARNING" if error.code in ("identity_changed", "bad_signature") else "refused"
        sys.exit(f"{title} ({error.code}): {error.message}")
    except OSError as error:
        sys.exit(f"cannot connect to {args.host}:{args.port}: {error}")
    print(f"* you are {session.name}; online: {', '.join(session.users)}")
    print(f"* your identity: {fingerprint(bytes(session.identity.verify_key))}")
    lines: queue.Queue[str | None] = queue.Queue()

    def read_stdin() -> None:  # the only other thread: it reads lines, the main thread does I/O
        for line in sys.stdin:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read_stdin, daemon=True).start()
    try:
        while True:
            msg = session.receive(0.1)
            if msg is not None:
                print(show(msg))
                if msg["type"] == "closed":
                    return
            try:
                line = lines.get_nowait()
            except queue.Empty:
                continue
            if line is None or line == "/quit":
                return
            try:
                command, _, rest = line.partition(" ")
                to, _, text = rest.partition(" ")
                if command == "/w":
                    session.whisper(to, text)
                elif command == "/pw":
                    session.plain_whisper(to, text)
                elif command == "/who":
                    session.who()
                elif line:
                    session.say(line)
            except ProtocolError as error:
                print(f"! {error.code}: {error.message}")
    except KeyboardInterrupt:
        pass
    finally:
        session.close()


if __name__ == "__main__":
    main()
