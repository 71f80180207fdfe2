"""Step 4: the server answers every message, however the client's bytes arrive.

The checks' clients talk to your server through the inspector's proxy, which
cuts and merges what they send before your server reads it.
"""

import socket

from conftest import reader_problem

from socketlab.i18n import N_
from socketlab.labs import harness
from socketlab.labs.harness import _


def _frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def _answers(recv_frame, sock: socket.socket, count: int) -> list:
    """Up to ``count`` answer frames; after one that does not come, None for the rest at once."""
    answers = []
    for _answer in range(count):
        answers.append(recv_frame(sock) if not answers or answers[-1] is not None else None)
    return answers


def _numbered_wrong(answers: list, expected: list[bytes]) -> bool:
    """Every answer came whole with the right words, only the numbers are wrong."""
    return all(got is not None and got.partition(b": ")[2] == want.partition(b": ")[2]
               for got, want in zip(answers, expected, strict=True)) and answers != expected


NUMBERING = N_("the answers were {answers!r}: every message came through whole, but the "
               "numbers are wrong: count each connection's messages from 1 — README step 4")


def test_messages_split_byte_by_byte(message_server, recv_frame):
    """each message gets its own answer, numbered and in capitals, even sent byte by byte"""
    with message_server(chunk=1) as address, harness.connect(address) as client:
        client.sendall(_frame(b"hello, server") + _frame(b"one byte at a time"))
        answers = _answers(recv_frame, client, 2)
    expected = [b"1: HELLO, SERVER", b"2: ONE BYTE AT A TIME"]
    assert not _numbered_wrong(answers, expected), _(NUMBERING).format(answers=answers)
    assert answers == expected or not (problem := reader_problem()), harness.why(problem)
    assert answers == expected, harness.why(_(
        "sent two messages that reached your server one byte per recv() (the proxy cut them), "
        "and the answers were {answers!r}, not {expected!r} (None: no whole frame came): "
        "read each message with the connection's FrameReader — read_frame() — never take a "
        "recv() for a message — README step 4").format(answers=answers, expected=expected))


def test_merged_messages(message_server, recv_frame):
    """three messages that reach the server together, in one recv(), get three answers"""
    with message_server(merge=3) as address, harness.connect(address) as client:
        for body in (b"first", b"second", b"third"):
            client.sendall(_frame(body))
        answers = _answers(recv_frame, client, 3)
    expected = [b"1: FIRST", b"2: SECOND", b"3: THIRD"]
    assert not _numbered_wrong(answers, expected), _(NUMBERING).format(answers=answers)
    assert answers == expected or not (problem := reader_problem()), harness.why(problem)
    assert answers == expected, harness.why(_(
        "three messages reached your server in one piece (the proxy merged them), and the "
        "answers were {answers!r}, not {expected!r} (None: no whole frame came): make ONE "
        "FrameReader per connection, before the loop — its buffer holds the messages that "
        "came along with the first — README step 4").format(answers=answers, expected=expected))


def test_next_client_numbered_from_one(message_server, recv_frame):
    """handle() returns when a client closes; the next client's messages are numbered from 1"""
    with message_server() as address:
        for name in (b"ann", b"bob"):
            with harness.connect(address) as client:
                client.sendall(_frame(name) + _frame(b"bye"))
                answers = _answers(recv_frame, client, 2)
                client.shutdown(socket.SHUT_WR)  # "I am done sending": read_frame() gives None
                closed = harness.closed_by_peer(client, timeout=2)
            expected = [b"1: " + name.upper(), b"2: BYE"]
            assert answers == expected or not (problem := reader_problem()), harness.why(problem)
            assert answers == expected, harness.why(_(
                "client {name} got {answers!r}, not {expected!r}: each connection "
                "counts its own messages from 1, and a client that closed must not stop the "
                "next one being served — README step 4").format(
                name=name.decode(), answers=answers, expected=expected))
            assert closed, harness.why(_(
                "client {name} closed its side, and the server kept the connection "
                "open: read_frame() returning None means the client is gone — return from "
                "handle() — README step 4").format(name=name.decode()))


def _refuses(header: bytes) -> bool:
    """Whether the student's own take_frame() refuses ``header`` (else handle() is not to blame)."""
    framing = harness.load("framing.py")
    reader = framing.FrameReader(None)
    reader.buffer = header
    try:
        reader.take_frame()
    except framing.FrameError:
        return True
    except Exception:  # noqa: BLE001 - any other answer is not a refusal
        return False
    return False


def test_bad_length_disconnects(message_server, recv_frame):
    """a client that sends a length of 0, or over 64 KiB, is disconnected; the next is served"""
    with message_server() as address:
        for header, what in ((b"\x00\x00\x00\x00", _("a length of 0")),
                             (b"\x00\x01\x00\x01", _("a length of 65,537: over 64 KiB"))):
            assert not (problem := reader_problem()), problem
            assert _refuses(header), _(
                "your take_frame() does not raise FrameError for the header {header} "
                "({what}), so your server waits for that frame instead of closing — refuse it "
                "from the header alone — README step 2").format(header=header.hex(" "), what=what)
            with harness.connect(address) as rogue:
                rogue.sendall(header)
                closed = harness.closed_by_peer(rogue, timeout=2)
            with harness.connect(address) as client:
                client.sendall(_frame(b"still there?"))
                answer = recv_frame(client)
            assert answer == b"1: STILL THERE?", harness.why(_(
                "after a client sent the header {header} ({what}), the next client got "
                "{answer!r} instead of b'1: STILL THERE?': a FrameError must end only that "
                "client's connection — catch it in handle() and return — README step 4").format(
                header=header.hex(" "), what=what, answer=answer))
            assert closed, harness.why(_(
                "a client sent the header {header} ({what}) and your server did not "
                "close the connection: read_frame() raises FrameError — catch it in handle() "
                "and return, so serve() closes that connection — README step 4").format(
                header=header.hex(" "), what=what))
