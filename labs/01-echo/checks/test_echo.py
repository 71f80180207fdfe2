"""Step 2: handle() sends back every byte, however the bytes arrive."""

import random
import socket
import time

from socketlab.labs import harness
from socketlab.labs.harness import _


def test_bytes_come_back(handled):
    """handle() sends back exactly the bytes a client sent"""
    client, _returned = handled
    client.sendall(b"hello, echo")
    answer = harness.recv_exactly(client, 11)
    assert answer == b"hello, echo", harness.why(_(
        "sent b'hello, echo', got back {answer!r}: handle() must recv() and send the bytes back"
    ).format(answer=answer))


def test_pieces_come_back(handled):
    """bytes sent in three separate pieces all come back, in order"""
    client, returned = handled
    for piece in (b"one ", b"two ", b"three"):
        try:
            client.sendall(piece)
        except OSError:  # the server's side is closed: handle() returned after the first piece
            break
        time.sleep(0.05)  # apart, so they arrive as separate recv()s
    answer = harness.recv_exactly(client, 13)
    assert answer == b"one two three" or not returned.is_set(), harness.why(_(
        "got back {answer!r}, and handle() had returned: the client had not closed, so keep "
        "calling recv() in a loop until it returns b'' — README step 2").format(answer=answer))
    assert answer == b"one two three", harness.why(_(
        "got back {answer!r}: handle() must keep calling recv() until the client closes, "
        "not stop after the first chunk — README step 2").format(answer=answer))


def test_big_message_comes_back_whole(handled):
    """a 1 MB message comes back whole to a client that reads slowly (sendall, not send)"""
    client, returned = handled
    message = random.Random(1).randbytes(1 << 20)  # 1 MiB that never repeats: a gap shows
    harness.checker_thread(client.sendall, message, name="check-sender")
    answer = bytearray()
    while len(answer) < len(message):
        chunk = harness.recv_exactly(client, 4096, timeout=4)  # 4 s without 4 KB: it stopped
        answer += chunk
        if len(chunk) < 4096:
            break
        time.sleep(0.0005)  # a slow reader: the server's send buffer fills up
    if answer == message:
        return
    if returned.is_set():
        hint = _("sent {sent:,} bytes, got back {got:,}: handle() returned before the client "
                 "closed — keep calling recv() until it returns b'' — README step 2")
    elif not message.startswith(answer):
        hint = _("sent {sent:,} bytes, got back {got:,}, with bytes missing in the middle: "
                 "send() may write only part of what you give it when the other side reads "
                 "slowly; sendall() writes it all — README step 2, 'send vs sendall'")
    else:
        hint = _("sent {sent:,} bytes, got back {got:,}, then nothing for 4 s while handle() "
                 "kept running: send() may write only part of what you give it (sendall() "
                 "writes it all), or handle() stopped reading — README step 2")
    raise AssertionError(harness.why(hint.format(sent=len(message), got=len(answer))))


def test_handle_returns_when_the_client_closes(handled):
    """handle() returns when the client closes (recv() gives b"")"""
    client, returned = handled
    client.sendall(b"bye")
    harness.recv_exactly(client, 3)
    client.shutdown(socket.SHUT_WR)  # "I am done sending": the server's recv() gets b""
    assert returned.wait(2), harness.why(_(
        "the client closed, but handle() did not return: recv() returning b'' means the client "
        "is gone — return then (and without the check, sendall(b'') loops forever) — README "
        "step 2"))
