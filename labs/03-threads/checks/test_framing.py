"""Given: framing.py (labs 01–02) — messages survive a byte stream that splits and merges them."""

import pytest
from conftest import Peer

from socketlab.labs import harness
from socketlab.labs.harness import _


@pytest.mark.given
def test_frames_survive_splitting_and_merging(pairs):
    """framing.py reads frames sent byte by byte and several in one write"""
    framing = harness.load("framing.py")
    conn, client = pairs()
    bodies = [b"one", b"two, merged with one", "drei ✓".encode()]
    whole = b"".join(Peer.encode(body) for body in bodies)
    client.sendall(whole[:20])  # the first frame and part of the second, in one write
    for byte in whole[20:]:
        client.sendall(bytes([byte]))  # the rest one byte at a time
    client.close()
    got = [harness.call_with_timeout(framing.recv_frame, conn, timeout=2) for _body in bodies]
    assert got == bodies, _("framing.recv_frame() returned {got!r}, expected {bodies!r}").format(
        got=got, bodies=bodies)
    end = harness.call_with_timeout(framing.recv_frame, conn, timeout=2)
    assert end is None, _(
        "after the client closed, recv_frame() returned {end!r} instead of None").format(end=end)


@pytest.mark.given
def test_bad_lengths_refused(pairs):
    """framing.py refuses an empty frame and one over 65,536 bytes"""
    framing = harness.load("framing.py")
    conn, client = pairs()
    for body in (b"", b"x" * 65537):
        with pytest.raises(ValueError, match="1 to 65536"):
            framing.send_frame(client, body)
    client.sendall(bytes(4))  # a header announcing 0 bytes
    with pytest.raises(ValueError, match="announced 0 bytes"):
        harness.call_with_timeout(framing.recv_frame, conn, timeout=2)
