"""Abrupt ends: a client that vanishes mid-frame or resets; the server keeps serving."""

from __future__ import annotations

import socket
import struct
import sys

import pytest

from socketlab.protocol import Left, Message, Say
from tests.server.server_helpers import eventually, server_threads


def reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN, as a crashed or killed client might."""
    linger = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)  # on, 0 s
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    sock.close()


@pytest.mark.parametrize("ending", ["close", "reset"])
def test_a_client_that_vanishes_mid_frame_leaves(server, connect, ending: str) -> None:
    alice, bob = connect(server, "alice"), connect(server, "bob")
    ghost = connect(server, "ghost")
    frame = ghost.conn.send(Say("this line is cut in half"))
    ghost.send_bytes(frame[: len(frame) // 2])
    if ending == "reset":
        reset(ghost.sock)
    else:
        ghost.sock.close()

    for client in (alice, bob):
        left = client.wait_for(lambda m: isinstance(m, Left) and m.name == "ghost")
        assert left.reason in ("frame_truncated", "connection_lost")
    assert eventually(lambda: not any("ghost" in name for name in server_threads()))

    alice.send(Say("still here"))
    bob.wait_for(lambda m: isinstance(m, Message) and m.text == "still here")
    newcomer = connect(server, "newcomer")
    alice.send(Say("welcome"))
    newcomer.wait_for(lambda m: isinstance(m, Message) and m.text == "welcome")


def test_a_client_that_resets_between_frames_leaves(server, connect) -> None:
    alice, ghost = connect(server, "alice"), connect(server, "ghost")
    reset(ghost.sock)
    assert alice.wait_for(lambda m: isinstance(m, Left)) == Left("ghost", "connection_lost")
