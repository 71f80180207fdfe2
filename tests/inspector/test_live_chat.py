"""A real capture of a real chat, decoded through protocol/ with and without the key log."""

import time

import pytest
from nacl.signing import SigningKey

from socketlab.client.chat_client import ChatClient
from socketlab.inspector.decode import Frame
from socketlab.inspector.livecapture import LiveCapture
from socketlab.inspector.pipeline import decode_events, read_pcap, reassemble
from socketlab.protocol import Message, PinStore, Say, Whisper, read_keylog
from socketlab.server.app import ChatServer

pytestmark = pytest.mark.needs_root

LINES = ["first line", "zweite Zeile", "ligne numéro trois", "🙂 four"]


def wait_for(client, sender, text, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = client.events.get(timeout=deadline - time.monotonic())
        if isinstance(event, Message) and (event.sender, event.text) == (sender, text):
            return
    raise AssertionError(f"{text!r} never arrived")


def chat(mode, tmp_path):
    """Run a short chat under a live capture; return (segments, pcap, keylog, port)."""
    keylog = tmp_path / f"{mode}.keys"
    pcap = tmp_path / f"{mode}.pcap"
    segments = []
    with ChatServer(allow_plaintext=True, identity=SigningKey.generate(), keylog=keylog) as server:
        port = server.address[1]
        capture = LiveCapture(None, port, segments.append, pcap_out=pcap)
        capture.start()
        try:
            pins = PinStore(tmp_path / "pins")
            a = ChatClient("127.0.0.1", port, mode=mode, pins=pins)
            b = ChatClient("127.0.0.1", port, mode=mode, pins=pins)
            for client, name in ((a, "ann"), (b, "ben")):
                client.connect()
                client.login(name)
            for line in LINES:
                a.say(line)
                wait_for(b, "ann", line)
            b.whisper("ann", "a secret for ann")
            wait_for(a, "ben", "a secret for ann")
            a.close()
            b.close()
            time.sleep(0.2)  # let the last FINs reach the capture
        finally:
            capture.stop()
    return segments, pcap, keylog, port


def frames(segments, port, keys):
    return [i for i in decode_events(reassemble(segments, port), keys) if isinstance(i, Frame)]


def sent_texts(items):
    return [m.text for f in items for m in f.messages if isinstance(m, (Say, Whisper))]


def test_box_capture_hides_text_and_the_key_log_reveals_all(tmp_path):
    segments, pcap, keylog, port = chat("box", tmp_path)
    raw = pcap.read_bytes()
    for line in [*LINES, "a secret for ann"]:
        assert line.encode() not in raw
    keys = read_keylog(keylog)
    decoded = frames(segments, port, keys)
    assert sent_texts(decoded) == [*LINES, "a secret for ann"]
    sealed = [f for f in decoded if f.kind == "sealed"]
    assert sealed and all(f.messages for f in sealed)
    blind = frames(segments, port, None)
    assert [f for f in blind if f.kind == "sealed" and f.messages] == []
    assert sent_texts(blind) == []
    # The file on disk decodes to the same, streaming.
    from_file = [i for i in read_pcap(pcap, keys, port=port) if isinstance(i, Frame)]
    assert sent_texts(from_file) == [*LINES, "a secret for ann"]


def test_plain_capture_shows_text_in_the_bytes(tmp_path):
    segments, pcap, _keylog, port = chat("plain", tmp_path)
    raw = pcap.read_bytes()
    for line in LINES:
        assert line.encode() in raw
    assert sent_texts(frames(segments, port, None)) == [*LINES, "a secret for ann"]
