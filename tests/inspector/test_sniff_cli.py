"""`inspector sniff`: frames printed as they arrive; Ctrl-C writes the pcap and exits 0."""

import signal
import subprocess
import sys
import time

import pytest
from nacl.signing import SigningKey

from socketlab.client.chat_client import ChatClient
from socketlab.protocol import Message, PinStore
from socketlab.server.app import ChatServer

pytestmark = pytest.mark.needs_root


def test_sniff_prints_decrypted_frames_live_and_stops_cleanly_on_ctrl_c(tmp_path):
    keylog, pcap = tmp_path / "keys.log", tmp_path / "live.pcap"
    with ChatServer(identity=SigningKey.generate(), keylog=keylog) as server:
        port = server.address[1]
        sniffer = subprocess.Popen(
            [sys.executable, "-m", "socketlab", "sniff", "--port", str(port),
             "--keylog", str(keylog), "--pcap", str(pcap)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while "sniffing" not in (line := sniffer.stderr.readline()):
                assert line and time.monotonic() < deadline, "the sniffer did not start"
            with ChatClient("127.0.0.1", port, pins=PinStore(tmp_path / "pins")) as alice:
                alice.connect()
                alice.login("alice")
                alice.say("watched on the wire")
                while not isinstance(event := alice.events.get(timeout=10), Message):
                    pass
                assert event.text == "watched on the wire"
            time.sleep(0.5)  # the capture thread polls every 100 ms
        finally:
            sniffer.send_signal(signal.SIGINT)
            out, err = sniffer.communicate(timeout=20)
    assert sniffer.returncode == 0, err
    assert "Traceback" not in err
    assert '{"type":"say","text":"watched on the wire"}' in out
    assert "decrypted with the key log" in out
    assert pcap.stat().st_size > 24 and "pcap written" in err
