"""Issue 13's defects, each with real sockets: what a hostile or clumsy client can no longer do.

1. idle connections lock nobody out; 3. a low-order key gets ``bad_key``, not a
traceback; 4. C1 controls and bidi overrides in chat text are refused;
5. a bad name at login costs a retry, not a reconnect. (Flood control, defect
2, is in ``test_flood.py``.)
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator

import pytest

from socketlab.protocol import (
    Error,
    Login,
    Message,
    Say,
    Welcome,
    encode_frame,
)
from socketlab.server import app
from tests.server.server_helpers import RawClient, eventually


@pytest.fixture
def thread_crashes() -> Iterator[list[str]]:
    """Every exception that escapes a thread while the test runs (a reader that died)."""
    crashes: list[str] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: crashes.append(f"{args.thread}: {args.exc_value!r}")
    yield crashes
    threading.excepthook = previous


def no_tracebacks(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.exc_info or r.levelno >= logging.ERROR]


# -- 3. a low-order X25519 key --------------------------------------------------------

LOW_ORDER_KEYS = {
    "all zero": bytes(32),
    "one (order 1)": (1).to_bytes(32, "little"),
    "order 8": bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
}


@pytest.mark.parametrize("key", LOW_ORDER_KEYS.values(), ids=LOW_ORDER_KEYS.keys())
def test_a_low_order_key_gets_bad_key_and_no_traceback(
    server, connect, caplog, thread_crashes, key: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    alice = connect(server, "alice")
    attacker = RawClient(server.address)
    try:
        hello = b'{"type":"hello","version":1,"mode":"box","key":"%s"}' % key.hex().encode()
        attacker.send_bytes(encode_frame(hello))
        received = attacker.expect_closed()
    finally:
        attacker.close()
    assert [m.code for m in received if isinstance(m, Error)] == ["bad_key"]
    alice.send(Say("still fine"))
    alice.expect(Message, text="still fine")
    assert thread_crashes == []
    assert no_tracebacks(caplog.records) == []


# -- 4. control characters in chat text --------------------------------------------------

REFUSED_TEXT = {
    "C1 CSI (U+009B)": "red \u009b31m alert",
    "C1 NEL (U+0085)": "a\u0085b",
    "C1 first (U+0080)": "\u0080",
    "right-to-left override (U+202E)": "txt.\u202eexe",
    "first strong isolate (U+2068)": "a\u2068b",
}


@pytest.mark.parametrize("text", REFUSED_TEXT.values(), ids=REFUSED_TEXT.keys())
def test_c1_and_bidi_controls_in_text_are_refused(server, connect, text: str) -> None:
    alice, mallory = connect(server, "alice"), connect(server, "mallory")
    body = b'{"type":"say","text":"%s"}' % text.encode("ascii", "backslashreplace").replace(
        b"\\x", b"\\u00"
    )
    mallory.send_body(body)
    received = mallory.expect_closed()
    assert [m.code for m in received if isinstance(m, Error)] == ["bad_message"]
    alice.send(Say("after"))
    alice.expect(Message, text="after")  # alice never saw the line: the next one is hers


def test_text_in_any_script_with_marks_still_passes(server, connect) -> None:
    alice = connect(server, "alice")
    text = "שלום\u200f and مرحبا, 世界, émile\ttab"  # RLM (U+200F) is a mark, not an override
    alice.send(Say(text))
    alice.expect(Message, text=text)


# -- 5. a bad name at login -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["a" * 21, "al ice", "ali\u202ecexe", "ali\u200bce", ""])
def test_a_bad_name_at_login_costs_a_retry_not_the_connection(server, connect, name) -> None:
    client = connect(server)
    client.send_body(b'{"type":"login","name":"%s"}' % name.encode("unicode_escape"))
    client.expect(Error, code="bad_name")
    client.send(Login("alice"))  # the same connection: a second try
    assert client.expect(Welcome).name == "alice"
    client.send(Say("made it"))
    client.expect(Message, text="made it")


@pytest.mark.parametrize("name", ["/w", "/quit", "／w", "server", "SERVER", "ｓｙｓｔｅｍ"])
def test_a_reserved_name_is_refused_with_a_retry(server, connect, name) -> None:
    """A name starting with / reads as a command (nobody could /w it), server and system
    could pose as the chat: bad_name, and the connection stays for a second try."""
    client = connect(server)
    client.send(Login(name))
    refusal = client.expect(Error, code="bad_name")
    assert ("start with /" in refusal.message) if name[0] in "/／" else name in refusal.message
    client.send(Login("servers"))  # close to a reserved name is fine
    assert client.expect(Welcome).name == "servers"


def test_a_whisper_to_an_impossible_name_costs_nothing_either(server, connect) -> None:
    alice = connect(server, "alice")
    alice.send_body(b'{"type":"whisper","to":"bob smith","text":"hi"}')
    alice.expect(Error, code="bad_name")
    alice.send(Say("still here"))
    alice.expect(Message, text="still here")


def test_a_non_string_name_is_bad_message_and_closes(server, connect) -> None:
    client = connect(server)
    client.send_body(b'{"type":"login","name":42}')
    received = client.expect_closed()
    assert [m.code for m in received if isinstance(m, Error)] == ["bad_message"]


# -- 1. idle connections ---------------------------------------------------------------------

MAX_CLIENTS = 6


def test_idle_connections_from_one_address_lock_no_one_out(make_server, connect) -> None:
    """More idle connections than --max-clients and than the per-address pending share:
    a user from the same address still gets in at once."""
    server = make_server(max_clients=MAX_CLIENTS, handshake_timeout=30.0)
    idle = []
    try:
        for _ in range(max(2 * MAX_CLIENTS, server.max_pending_per_address + 4)):
            sock = RawClient(server.address)  # connects, never sends a byte
            idle.append(sock)
        started = time.monotonic()
        alice = connect(server, "alice")
        alice.send(Say("in"))
        alice.expect(Message, text="in")
        assert time.monotonic() - started < 2.0  # promptly: not after any deadline
        # The oldest idle ones were evicted, told why; the newest may still wait.
        first = idle[0].expect_closed()
        assert [m.code for m in first if isinstance(m, Error)] == ["too_many_pending"]
    finally:
        for sock in idle:
            sock.close()


def test_the_eviction_log_counts_every_eviction(make_server, caplog, monkeypatch) -> None:
    """A burst of evictions is counted in full while the server runs, not only the first:
    the log once said "evicted 1 connection(s)" after about 186."""
    monkeypatch.setattr(app, "EVICTION_LOG_EVERY", 1.0)
    server = make_server(max_pending=4, max_pending_per_address=4, handshake_timeout=30.0)
    caplog.set_level(logging.WARNING, logger=app.__name__)
    started = time.monotonic()
    idle = [RawClient(server.address) for _ in range(40)]  # connect, never send a byte
    try:
        evicted = sum(
            [m.code for m in sock.expect_closed() if isinstance(m, Error)] == ["too_many_pending"]
            for sock in idle[:36]
        )
        assert evicted == 36

        def logged() -> int:
            found = (re.search(r"evicted (\d+) connection", r.getMessage()) for r in caplog.records)
            return sum(int(match.group(1)) for match in found if match)

        assert eventually(lambda: logged() == 36, timeout=5.0), logged()
        # The first at once, then at most one line a second: a loop cannot flood the log.
        assert len(caplog.records) <= 2 + (time.monotonic() - started) / app.EVICTION_LOG_EVERY
    finally:
        for sock in idle:
            sock.close()


def test_a_reconnecting_loop_keeps_no_one_out(make_server, connect) -> None:
    """A loop that keeps reopening idle connections while a class logs in."""
    server = make_server(max_clients=MAX_CLIENTS, handshake_timeout=30.0)
    stop = threading.Event()
    opened = []

    def loop() -> None:
        deadline = time.monotonic() + 10
        while not stop.is_set() and time.monotonic() < deadline and len(opened) < 2000:
            try:
                opened.append(RawClient(server.address))
            except OSError:
                time.sleep(0.01)

    flooder = threading.Thread(target=loop, daemon=True)
    flooder.start()
    try:
        assert eventually(lambda: len(opened) > 3 * MAX_CLIENTS)
        users = [connect(server, f"user{i}") for i in range(MAX_CLIENTS)]
        users[0].send(Say("everyone is in"))
        for user in users:
            user.wait_for(lambda m: isinstance(m, Message) and m.text == "everyone is in")
    finally:
        stop.set()
        flooder.join()
        for sock in opened:
            sock.close()
    # --max-clients counts users: with the room full, one more is refused, clearly.
    late = RawClient(server.address)
    try:
        late.send_bytes(late.conn.hello())
        received = late.expect_closed()
    finally:
        late.close()
    assert [m.code for m in received if isinstance(m, Error)] == ["server_full"]
