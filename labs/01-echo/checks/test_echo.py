"""Step 2: handle() sends back every byte, however the bytes arrive."""

import threading
import time

from socketlab.labs import harness


def test_bytes_come_back(echo_server):
    """your server sends back exactly the bytes a client sent"""
    with harness.connect(echo_server) as client:
        client.sendall(b"hello, echo")
        answer = harness.recv_exactly(client, 11)
    assert answer == b"hello, echo", harness.why(
        f"sent b'hello, echo', got back {answer!r}: handle() must recv() and send the bytes back")


def test_pieces_come_back(echo_server):
    """bytes sent in three separate pieces all come back, in order"""
    with harness.connect(echo_server) as client:
        for piece in (b"one ", b"two ", b"three"):
            client.sendall(piece)
        answer = harness.recv_exactly(client, 13)
    assert answer == b"one two three", harness.why(
        f"got back {answer!r}: handle() must keep calling recv() until the client closes, "
        "not stop after the first chunk — README step 2")


def test_big_message_comes_back_whole(echo_server):
    """a 1 MB message comes back whole to a client that reads slowly (sendall, not send)"""
    message = bytes(range(256)) * 4096  # 1 MiB, every byte value
    with harness.connect(echo_server, timeout=8, rcvbuf=4096) as client:
        sender = threading.Thread(target=client.sendall, args=(message,), daemon=True)
        sender.start()
        answer = bytearray()
        while len(answer) < len(message):
            chunk = harness.recv_exactly(client, 4096, timeout=2)
            if not chunk:
                break
            answer += chunk
            time.sleep(0.0005)  # a slow reader: the server's send buffer fills up
    assert len(answer) == len(message) and answer == message, harness.why(
        f"sent {len(message):,} bytes, got back {len(answer):,}"
        + ("" if len(answer) != len(message) else " but in the wrong order")
        + ": send() may write only part of what you give it when the other side reads "
        "slowly; sendall() writes it all — README step 2, 'send vs sendall'")
