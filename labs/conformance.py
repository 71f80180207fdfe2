"""The conformance suite: one set of checks, two targets.

The same test functions run against the kit's server (``tests/server/
test_conformance.py``) and against a student's lab-09 server (lab 09's
``checks/test_conformance.py``): what socketlab protocol v1 says a server
does, seen from real clients over real sockets. A file pulls the suite in with
``from socketlab.labs.conformance import *`` and provides one fixture,
``chat_target``, that returns a running server as a ``Target``.

The clients here are the kit's own ``ClientConnection`` (box mode, the
server's signature checked) on plain sockets: every byte the server sends is
read by the kit's protocol code, so a server that breaks the wire format
fails here with what it sent. Each check says which section of
docs/protocol.md it follows. A server with flood control must be started
without it (the slow-client check floods on purpose).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from socketlab.protocol import (
    AnyMessage,
    Bye,
    ClientConnection,
    Error,
    Joined,
    Left,
    Login,
    Message,
    Ping,
    Pong,
    ProtocolError,
    Say,
    ServerHello,
    Users,
    Welcome,
    Whisper,
    Who,
)

from . import harness  # why(): what a thread of a student's server raised, if one did
from .harness import _  # the words of the lab under test (lab 09's table), else English

__all__ = [  # noqa: RUF022 - in the order the checks run
    "Peer",
    "Target",
    "peers",
    "test_a_plain_hello_is_refused_and_a_box_hello_logs_in",
    "test_welcome_lists_the_users_and_joined_tells_the_others",
    "test_names_are_compared_by_their_key",
    "test_errors_that_keep_the_connection",
    "test_bad_json_closes",
    "test_unknown_type_closes",
    "test_a_servers_message_from_a_client_closes",
    "test_an_extra_field_closes",
    "test_ping_is_answered_before_login",
    "test_say_reaches_everyone_the_sender_included",
    "test_whisper_reaches_only_its_recipient_and_sender",
    "test_who_lists_everyone",
    "test_bye_and_a_lost_connection_are_told_as_left",
    "test_every_line_reaches_every_client_in_order",
    "test_a_client_that_never_reads_is_dropped_and_delays_no_one",
]

WAIT = 3.0  # seconds for an answer: only a wrong server makes a check wait this long
FLOOD_TEXT = "x" * 2000  # the longest line: a stalled client's buffers fill in few lines
T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """A running server under test."""

    address: tuple[str, int]
    sendq: int  # the bytes it lets wait for one client before sendq_exceeded
    label: str = "the server"  # "your server", "the kit's server": how hints name it
    # What most likely broke the wire, by error code, in the words of the lab under test:
    # a broken frame is rarely the framing code's fault by the time a lab reaches this suite.
    causes: Mapping[str, str] = field(default_factory=dict)


class Peer:
    """One client of the checks: a socket, the kit's ClientConnection, messages as objects."""

    def __init__(self, target: Target, label: str, rcvbuf: int | None = None) -> None:
        self.label = label
        self.server = target.label
        self.causes = target.causes
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connecting, so the window the server sees is small too
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(WAIT)
        self.sock.connect(target.address)
        self.conn = ClientConnection("box")
        self.pending: list[AnyMessage] = []
        self.ended = False

    def hello(self) -> ServerHello:
        self.sock.sendall(self.conn.hello())
        return self.expect(
            ServerHello, _("a box hello is answered with a signed server_hello (§4)"))

    def login(self, name: str) -> Welcome:
        self.send(Login(name))
        return self.expect(
            Welcome, _("logging in as {name!r}, a free name, gets welcome (§6)").format(name=name))

    def send(self, msg: AnyMessage) -> None:
        self.sock.sendall(self.conn.send(msg))

    def send_body(self, body: bytes) -> None:
        """Seal any body (a broken one too) and send it."""
        self.sock.sendall(self.conn.send_body(body))

    def recv(self, timeout: float = WAIT) -> AnyMessage | None:
        """The server's next message; None once it closed or after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.pending and not self.ended and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, min(0.1, deadline - time.monotonic())))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                data = b""
            try:
                self.pending += self.conn.receive_data(data)
            except ProtocolError as error:
                cause = self.causes.get(error.code)
                raise AssertionError(harness.why(_(
                    "{peer} got bytes from {server} that break the protocol: "
                    "{code}: {message}. {cause}").format(
                    peer=self.label, server=self.server, code=error.code, message=error.message,
                    cause=_(cause) if cause else "docs/protocol.md §1, §2, §5"))) from None
            self.ended = not data
        return self.pending.pop(0) if self.pending else None

    def expect(self, kind: type[T], why: str, timeout: float = WAIT) -> T:
        """The next message, which must be a ``kind``; else fail saying ``why``."""
        msg = self.recv(timeout)
        if msg is None and self.ended:
            # The server hung up. If a thread of it died, that is why: it is reported once
            # the server has finished hanging up, which waits for our side to close too.
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_WR)
            harness.eventually(lambda: harness.first_thread_exception() is not None, 0.5)
        if not isinstance(msg, kind):
            got = (repr(msg) if msg is not None
                   else _("nothing (the connection closed)") if self.ended
                   else _("nothing within {timeout:g} s").format(timeout=timeout))
            raise AssertionError(harness.why(_(
                "{peer} expected {kind} from {server}, got {got}: {why}").format(
                peer=self.label, kind=kind.__name__, server=self.server, got=got, why=why)))
        return msg

    def expect_error(self, code: str, why: str) -> Error:
        error = self.expect(Error, why)
        assert error.code == code, harness.why(_(
            "{peer} expected the error {code!r} from {server}, got {error!r}: {why}").format(
            peer=self.label, code=code, server=self.server, error=error, why=why))
        return error

    def next_chat(self, timeout: float = WAIT) -> AnyMessage | None:
        """The next message that is not a ping (a server may ping an idle client)."""
        while True:
            msg = self.recv(timeout)
            if not isinstance(msg, Ping):
                return msg

    def closed(self, timeout: float = WAIT) -> bool:
        """True when the server closes within ``timeout`` (what came before is kept)."""
        deadline = time.monotonic() + timeout
        while not self.ended and time.monotonic() < deadline:
            msg = self.recv(deadline - time.monotonic())
            if msg is not None:
                self.pending.append(msg)
                if len(self.pending) > 10_000:
                    break
        return self.ended

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def peers(chat_target: Target) -> Iterator[Callable[..., Peer]]:
    """``peers(label, name=None, rcvbuf=None)``: a client that said hello (logged in if named)."""
    made: list[Peer] = []

    def make(label: str, name: str | None = None, rcvbuf: int | None = None) -> Peer:
        peer = Peer(chat_target, label, rcvbuf)
        made.append(peer)
        peer.hello()
        if name is not None:
            peer.login(name)
        return peer

    yield make
    for peer in made:
        peer.close()


def _joined(watchers: list[Peer], name: str) -> None:
    for peer in watchers:
        got = peer.next_chat()
        assert got == Joined(name), _(
            "{peer} expected joined{{{name}}} when {name} logged in, got {got!r} (§6)").format(
            peer=peer.label, name=name, got=got)


# ---- the handshake and login (§3, §4, §6) -----------------------------------------------


def test_a_plain_hello_is_refused_and_a_box_hello_logs_in(
        chat_target: Target, peers: Callable[..., Peer]) -> None:
    """a plain hello gets plaintext_refused and is closed; a box hello gets a signed server_hello"""
    plain = Peer(chat_target, _("a plain client"))
    try:
        plain.conn = ClientConnection("plain")
        plain.sock.sendall(plain.conn.hello())
        plain.expect_error("plaintext_refused", _("a server without plaintext refuses it (§4)"))
        assert plain.closed(), _("after plaintext_refused the server closes the connection (§7)")
    finally:
        plain.close()
    alice = peers("alice")
    assert alice.conn.server_identity is not None  # the signature was checked by hello()
    welcome = alice.login("alice")
    assert welcome == Welcome("alice", ("alice",)), _(
        "alice, alone, expected welcome with users ['alice'], got {welcome!r} (§6)").format(
        welcome=welcome)


def test_welcome_lists_the_users_and_joined_tells_the_others(peers: Callable[..., Peer]) -> None:
    """welcome lists everyone in the order they joined; the others get joined"""
    alice = peers("alice", "alice")
    bob = peers("bob", "Bob")
    _joined([alice], "Bob")
    carol = peers("carol")
    welcome = carol.login("carol")
    assert welcome.users == ("alice", "Bob", "carol"), _(
        "carol's welcome listed {users}; expected alice, Bob, carol: every user as "
        "they wrote their name, in the order they joined (§6)").format(users=welcome.users)
    _joined([alice, bob], "carol")


def test_names_are_compared_by_their_key(peers: Callable[..., Peer]) -> None:
    """a name taken in another case or width is name_taken, a bad one bad_name; both keep it open"""
    peers("alice", "alice")
    other = peers("another")
    for name in ("ALICE", "ａｌｉｃｅ"):
        other.send(Login(name))
        other.expect_error("name_taken",
                           _("{name!r} has the key of 'alice' (§3)").format(name=name))
    for name in ("two words", "", "x" * 21):
        other.send(Login(name))
        other.expect_error("bad_name", _("{name!r} breaks the name rules (§3)").format(name=name))
    welcome = other.login("carol")
    assert welcome.name == "carol"


def test_errors_that_keep_the_connection(peers: Callable[..., Peer]) -> None:
    """not_logged_in, already_logged_in and no_such_user keep the connection"""
    alice = peers("alice")
    alice.send(Say("too early"))
    alice.expect_error("not_logged_in", _("say before login is not_logged_in (§6)"))
    alice.login("alice")
    alice.send(Login("again"))
    alice.expect_error("already_logged_in", _("a second login is already_logged_in (§6)"))
    alice.send(Whisper("nobody", "hello?"))
    alice.expect_error("no_such_user", _("a whisper to a name nobody has is no_such_user (§6)"))
    alice.send(Say("still here"))
    line = alice.next_chat()
    assert isinstance(line, Message) and line.text == "still here", _(
        "after three errors that keep the connection, alice's say came back as {line!r} (§7)"
    ).format(line=line)


def _broken_message_closes(peers: Callable[..., Peer], body: bytes, code: str) -> None:
    alice = peers("alice", "alice")
    mallory = peers("mallory", "mallory")
    _joined([alice], "mallory")
    mallory.send_body(body)
    mallory.expect_error(code, _("{body!r} is {code} (§2, §7)").format(body=body, code=code))
    assert mallory.closed(), _("{code} closes the connection (§7)").format(code=code)
    left = alice.next_chat()
    assert left == Left("mallory", code), _(
        "alice expected left{{mallory, reason {code}}}, got {left!r} (§6)").format(
        code=code, left=left)


def test_bad_json_closes(peers: Callable[..., Peer]) -> None:
    """a body that is not JSON gets bad_json and is closed; the others hear why"""
    _broken_message_closes(peers, b"{not json", "bad_json")


def test_unknown_type_closes(peers: Callable[..., Peer]) -> None:
    """a message of a type nobody knows gets unknown_type and is closed; the others hear why"""
    _broken_message_closes(peers, b'{"type":"dance"}', "unknown_type")


def test_a_servers_message_from_a_client_closes(peers: Callable[..., Peer]) -> None:
    """a client that sends a server's message (welcome) gets unexpected_message and is closed"""
    _broken_message_closes(peers, b'{"type":"welcome","name":"x","users":["x"]}',
                           "unexpected_message")


def test_an_extra_field_closes(peers: Callable[..., Peer]) -> None:
    """a say with a field the protocol does not have gets bad_message and is closed"""
    _broken_message_closes(peers, b'{"type":"say","text":"x","extra":1}', "bad_message")


def test_ping_is_answered_before_login(peers: Callable[..., Peer]) -> None:
    """a ping is answered with a pong, before login too"""
    alice = peers("alice")
    alice.send(Ping())
    alice.expect(Pong, _("a ping is answered with pong, before login too (§6)"))
    alice.login("alice")


# ---- chat (§6) ------------------------------------------------------------------------


def test_say_reaches_everyone_the_sender_included(peers: Callable[..., Peer]) -> None:
    """a say reaches every user, the sender included, as message{from, text, ts}"""
    alice = peers("alice", "alice")
    bob = peers("bob", "bob")
    _joined([alice], "bob")
    before = int(time.time() * 1000)
    alice.send(Say("héllo 👋"))
    for peer in (alice, bob):
        line = peer.next_chat()
        assert isinstance(line, Message) and (line.sender, line.text, line.to) == (
            "alice", "héllo 👋", None), _(
            "{peer} expected alice's line, got {line!r} (§6)").format(peer=peer.label, line=line)
        assert before - 5000 <= line.ts <= int(time.time() * 1000) + 5000, _(
            "ts {ts} is not the server's time in ms since 1970 (§6)").format(ts=line.ts)


def test_whisper_reaches_only_its_recipient_and_sender(peers: Callable[..., Peer]) -> None:
    """a whisper reaches its recipient and its sender only, with to as the recipient wrote it"""
    alice = peers("alice", "alice")
    bob = peers("bob", "Bob")
    carol = peers("carol", "carol")
    _joined([alice], "Bob")
    _joined([alice, bob], "carol")
    alice.send(Whisper("BOB", "psst"))
    for peer in (bob, alice):
        line = peer.next_chat()
        ts = line.ts if isinstance(line, Message) else 0
        assert line == Message("alice", "psst", ts, "Bob"), _(
            "{peer} expected the whisper to Bob, got {line!r} (§6)").format(
            peer=peer.label, line=line)
    alice.send(Whisper("alice", "note to self"))
    line = alice.next_chat()
    assert isinstance(line, Message) and line.text == "note to self"
    carol.send(Who())
    first = carol.next_chat()
    assert isinstance(first, Users), _(
        "carol got {first!r} before the answer to her who: a whisper reached a third user (§6)"
    ).format(first=first)
    alice.send(Who())
    answer = alice.next_chat()
    assert isinstance(answer, Users), _(
        "alice got {answer!r}: a whisper to herself comes once, not twice (§6)").format(
        answer=answer)


def test_who_lists_everyone(peers: Callable[..., Peer]) -> None:
    """who is answered with users{names}: everyone logged in, in the order they joined"""
    alice = peers("alice", "alice")
    peers("bob", "bob")
    _joined([alice], "bob")
    alice.send(Who())
    answer = alice.next_chat()
    assert answer == Users(("alice", "bob")), _("alice's who got {answer!r} (§6)").format(
        answer=answer)


def test_bye_and_a_lost_connection_are_told_as_left(peers: Callable[..., Peer]) -> None:
    """bye is left{quit} for the others, a connection that just ends is left{connection_lost}"""
    alice = peers("alice", "alice")
    bob = peers("bob", "bob")
    carol = peers("carol", "carol")
    _joined([alice], "bob")
    _joined([alice, bob], "carol")
    bob.send(Bye())
    assert bob.closed(), _("after bye the server closes the connection (§6)")
    got = alice.next_chat()
    assert got == Left("bob", "quit"), _(
        "alice expected left{{bob, quit}}, got {got!r} (§6)").format(got=got)
    carol.close()
    got = alice.next_chat()
    assert got == Left("carol", "connection_lost"), _(
        "alice expected left{{carol, connection_lost}}, got {got!r} (§6)").format(got=got)


# ---- many clients, and one that never reads (§6, §7) ------------------------------------


def test_every_line_reaches_every_client_in_order(peers: Callable[..., Peer]) -> None:
    """4 clients say 100 lines each at once: everyone gets all 400, each sender's in order"""
    names = ["ann", "ben", "cat", "dan"]
    clients = []
    for name in names:
        clients.append(peers(name, name))
        _joined(clients[:-1], name)
    start = threading.Barrier(len(clients))
    got: dict[str, list[tuple[str, int]]] = {name: [] for name in names}

    def run(peer: Peer) -> None:
        start.wait(WAIT)
        for n in range(100):
            peer.send(Say(f"{n}"))

    senders = [threading.Thread(target=run, args=(peer,), daemon=True) for peer in clients]
    for thread in senders:
        thread.start()
    for name, peer in zip(names, clients, strict=True):
        while len(got[name]) < 400:
            line = peer.next_chat(WAIT)
            if not isinstance(line, Message):
                break
            got[name].append((line.sender, int(line.text)))
    for thread in senders:
        thread.join(WAIT)
    for name in names:
        assert len(got[name]) == 400, _(
            "{name} got {count} of 400 lines: some were lost").format(
            name=name, count=len(got[name]))
        for sender in names:
            numbers = [n for who, n in got[name] if who == sender]
            assert numbers == list(range(100)), _(
                "{name} got {sender}'s lines as {numbers}…: not each exactly once, in order"
            ).format(name=name, sender=sender, numbers=numbers[:8])


def test_a_client_that_never_reads_is_dropped_and_delays_no_one(
        chat_target: Target, peers: Callable[..., Peer]) -> None:
    """a client that never reads is dropped with sendq_exceeded; the others wait for nothing"""
    alice = peers("alice", "alice")
    bob = peers("bob", "bob")
    _joined([alice], "bob")
    peers("staller", "staller", rcvbuf=4096)  # and it never reads again
    _joined([alice, bob], "staller")
    # alice says a line only when she and bob have both seen all but 16 of hers: then the
    # client that never reads is the only one that falls behind, however slowly this
    # machine runs the readers, and the flood goes on until it is dropped.
    progress = threading.Condition()
    flood_seen = {"alice": 0, "bob": 0}
    dropped = threading.Event()
    seen: dict[str, list[AnyMessage]] = {"alice": [], "bob": []}

    def read(peer: Peer) -> None:
        while True:
            msg = peer.next_chat(WAIT)
            if msg is None:
                break
            seen[peer.label].append(msg)
            if msg == Left("staller", "sendq_exceeded"):
                dropped.set()
            elif isinstance(msg, Message) and msg.text == "done":
                break
            elif isinstance(msg, Message) and msg.text == FLOOD_TEXT:
                with progress:
                    flood_seen[peer.label] += 1
                    progress.notify_all()
        with progress:
            flood_seen[peer.label] = -1  # ended: nobody waits for it any more
            progress.notify_all()

    readers = [threading.Thread(target=read, args=(p,), daemon=True) for p in (alice, bob)]
    for thread in readers:
        thread.start()
    most = 40 * chat_target.sendq // len(FLOOD_TEXT) + 2000  # far more than buffers and queue hold
    sent, slowest = 0, 0.0
    while not dropped.is_set() and sent < most:
        asked = time.monotonic()
        def readers_in_step(said: int = sent) -> bool:
            return all(n < 0 or said - n < 16 for n in flood_seen.values())

        with progress:
            in_step = progress.wait_for(readers_in_step, WAIT)
        behind = [name for name, n in flood_seen.items() if sent - n >= 16]
        assert in_step and not any(n < 0 for n in flood_seen.values()), harness.why(_(
            "after {sent} lines of alice's, {readers} stopped "
            "getting them for {wait:g} s: {server} waits for the client that "
            "never reads, or dropped a client that reads (§7)").format(
            sent=sent, readers=_(" and ").join(behind) or _("a reader"), wait=WAIT,
            server=chat_target.label))
        slowest = max(slowest, time.monotonic() - asked)
        alice.send(Say(FLOOD_TEXT))
        sent += 1
    alice.send(Say("done"))
    for thread in readers:
        thread.join(2 * WAIT)
    assert dropped.is_set(), _(
        "alice said {sent} lines of 2,000 characters and the client that never reads was not "
        "dropped: more than {sendq:,} bytes waiting for one client must end it "
        "with sendq_exceeded, and the others get left{{reason: sendq_exceeded}} (§7)").format(
        sent=sent, sendq=chat_target.sendq)
    for name, messages in seen.items():
        flood = [m for m in messages if isinstance(m, Message) and m.text == FLOOD_TEXT]
        assert len(flood) == sent, _(
            "{name} got {count} of alice's {sent} lines: some were lost").format(
            name=name, count=len(flood), sent=sent)
        assert any(isinstance(m, Message) and m.text == "done" for m in messages), _(
            "{name} never got alice's last line").format(name=name)
    assert slowest < 2.0, _(
        "alice once waited {slowest:.1f} s for her own line: the others were delayed (§7)"
    ).format(slowest=slowest)
