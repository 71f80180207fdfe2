"""Step 5: serve() gives each client a thread of its own; together they make a chat."""

import threading

from conftest import Peer, members, reader_name, reset, thread_names

from socketlab.labs import harness
from socketlab.labs.harness import _


def _join_all(address, room, count: int) -> list[Peer]:
    peers = [Peer(harness.connect(address)) for _number in range(count)]
    assert harness.eventually(lambda: len(members(room)) == count, 2), harness.why(_(
        "{count} clients connected, and after 2 s the room held {held}: serve() "
        "must start a thread per client at once, each running handle_client — README step 5"
    ).format(count=count, held=len(members(room))))
    return peers


def test_thread_per_client(chat_server):
    """each client has its own thread, named reader-<host>:<port>, ending when the client leaves"""
    address, room = chat_server
    peers = _join_all(address, room, 3)
    names = [reader_name(peer.sock) for peer in peers]
    missing = [name for name in names if name not in thread_names()]
    others = sorted(name for name in thread_names()
                    if name != "MainThread" and not name.startswith(("student-", "check-")))
    assert not missing, harness.why(_(
        "no thread named {name!r} while that client is connected (the threads there are: "
        "{others}): name each client's thread reader-<host>:<port> after the address accept() "
        "returned — README step 5").format(name=missing[0], others=others))
    peers[1].sock.close()
    gone = harness.eventually(lambda: names[1] not in thread_names(), 2)
    assert gone, harness.why(_(
        "a client left, and its thread {name!r} was still running 2 s later: "
        "handle_client() must return when its client closes — README step 4"
    ).format(name=names[1]))
    still = [name for name in (names[0], names[2]) if name not in thread_names()]
    assert not still, _("the threads of the clients that stayed ended too: {still}").format(
        still=still)


def test_ten_clients_chat(chat_server):
    """10 clients at once: each gets every message of the other 9, each sender's in order"""
    address, room = chat_server
    peers = _join_all(address, room, 10)
    start = threading.Barrier(10, timeout=5)

    def talk(number: int) -> None:
        start.wait()  # all 10 send at the same moment
        for k in range(5):
            peers[number].send(f"client {number} message {k}".encode())

    talkers = [threading.Thread(target=talk, args=(n,), daemon=True) for n in range(10)]
    for talker in talkers:
        talker.start()
    for talker in talkers:
        talker.join(5)
    for number, peer in enumerate(peers):
        got = [body.decode() for body in peer.recv_many(45, timeout=3)]
        own = [text for text in got if text.startswith(f"client {number} ")]
        assert not own, _(
            "client {number} got its own message back: {message!r} — README step 3"
        ).format(number=number, message=own[0])
        assert len(got) == 45, harness.why(_(
            "client {number} got {count} of the 45 messages the other 9 clients sent — "
            "every message must reach every other client — README steps 3–5"
        ).format(number=number, count=len(got)))
        for other in range(10):
            if other != number:
                theirs = [text for text in got if text.startswith(f"client {other} ")]
                expected = [f"client {other} message {k}" for k in range(5)]
                assert theirs == expected, _(
                    "client {number} got client {other}'s messages as {theirs}, "
                    "expected {expected}"
                ).format(number=number, other=other, theirs=theirs, expected=expected)


def test_one_leaving_disturbs_nobody(chat_server):
    """one client leaving politely and one vanishing (reset) disturb nobody: the others chat on"""
    harness.forget_thread_exceptions()
    address, room = chat_server
    alice, bob, polite, rude = _join_all(address, room, 4)
    polite.sock.close()
    reset(rude.sock)
    assert harness.eventually(lambda: len(members(room)) == 2, 2), harness.why(_(
        "two clients left, and 2 s later the room still held {count}: whatever "
        "ends a client, handle_client() must call room.leave(conn) — README step 4"
    ).format(count=len(members(room))))
    alice.send(b"still here?")
    got = bob.recv(timeout=2)
    assert got == b"still here?", harness.why(_(
        "after two clients left, bob got {got!r} instead of alice's b'still here?' — "
        "README step 3").format(got=got))
    bob.send(b"yes")
    got = alice.recv(timeout=2)
    assert got == b"yes", harness.why(_(
        "after two clients left, alice got {got!r}, not b'yes'").format(got=got))
    crash = harness.first_thread_exception()
    assert crash is None, _("{crash}\na client that vanishes is normal — README step 4").format(
        crash=crash)
