"""Step 4: handle_client() joins, relays each message, and leaves however the client ends."""

import pytest
from conftest import Peer, members, reset

from socketlab.labs import harness
from socketlab.labs.harness import _


@pytest.fixture
def reader(server_module, room, pairs):
    """``reader()``: a client served by the student's handle_client(room, conn) in a thread.

    Returns ``(conn, peer, thread)``: the server's socket, the checks' Peer, the thread.
    """
    started = []

    def start():
        conn, client = pairs()
        thread = harness.run_in_thread(server_module.handle_client, room, conn,
                                       name="student-handle_client")
        started.append((client, thread))
        assert harness.eventually(lambda: conn in members(room), 2), harness.why(_(
            "handle_client(room, conn) did not put conn in the room within 2 s: begin with "
            "room.join(conn) — README step 4"))
        return conn, Peer(client), thread

    yield start
    for client, thread in started:  # the check's clients leave; their threads end here
        client.close()
        thread.join(2)


def test_messages_are_broadcast(reader, room, pairs):
    """handle_client() relays each message its client sends to the others, in order"""
    listener_conn, listener = pairs()
    room.join(listener_conn)
    _conn, peer, _thread = reader()
    for body in (b"one", b"two", b"three"):
        peer.send(body)
    got = Peer(listener).recv_many(3, timeout=3)
    assert got == [b"one", b"two", b"three"], harness.why(_(
        "the client sent b'one', b'two', b'three' and another client in the room got {got!r}: "
        "loop — body = receive(conn), then room.broadcast(conn, body) — README step 4"
    ).format(got=got))


def test_closed_client_leaves_the_room(reader, room):
    """a client that closes is removed from the room, its socket closed; handle_client() returns"""
    conn, peer, thread = reader()
    peer.send(b"bye")
    peer.sock.close()
    thread.join(2)
    assert not thread.is_alive(), harness.why(_(
        "the client closed, and handle_client() did not return within 2 s: receive() returns "
        "None when the client has closed — stop the loop then — README step 4"))
    assert conn not in members(room), harness.why(_(
        "the client closed, but it is still in room.clients: call room.leave(conn) in a "
        "finally: block, so everybody stops sending to a ghost — README step 4"))
    assert conn.fileno() == -1, _("the client closed, but handle_client() did not close conn")


def test_vanished_client_leaves_the_room(reader, room):
    """a client that vanishes (connection reset) is removed too, quietly, and the thread ends"""
    harness.forget_thread_exceptions()
    conn, peer, thread = reader()
    reset(peer.sock)
    thread.join(2)
    assert not thread.is_alive(), harness.why(_(
        "a client vanished, and handle_client() did not return within 2 s — README step 4"))
    assert conn not in members(room), harness.why(_(
        "a client vanished, but it is still in room.clients: leave in a finally: block — "
        "README step 4"))
    crash = harness.first_thread_exception()
    assert crash is None, _(
        "{crash}\na vanished client is normal: catch ConnectionError around the loop — "
        "README step 4").format(crash=crash)


def test_bad_frame_ends_only_that_client(reader, room):
    """a client that sends a broken frame (length 0) is dropped, quietly"""
    harness.forget_thread_exceptions()
    conn, peer, _thread = reader()
    peer.sock.sendall(bytes(4))  # a header announcing 0 bytes: receive() raises ValueError
    closed = harness.closed_by_peer(peer.sock, timeout=2)
    assert closed, harness.why(_(
        "a client sent a frame of length 0 and was not dropped: catch ValueError like "
        "ConnectionError — README step 4"))
    assert harness.eventually(lambda: conn not in members(room), 1), harness.why(_(
        "a client sent a frame of length 0 and was disconnected, but it is still in "
        "room.clients: leave in a finally: block — README step 4"))
    crash = harness.first_thread_exception()
    assert crash is None, _("{crash}\ncatch ValueError from receive() — README step 4").format(
        crash=crash)
