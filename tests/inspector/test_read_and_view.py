"""`inspector read`: the side-by-side view of a pcap, with and without the key log."""

import json
import subprocess
import sys

import pytest
from scapy.all import rdpcap

from socketlab.inspector.decode import Frame
from socketlab.inspector.pipeline import read_pcap
from tests.inspector.conftest import box_session_vectors


def run(*args):
    return subprocess.run([sys.executable, "-m", "socketlab", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_pcap_decodes_to_exactly_the_vector_session(demo_pcap, vector_keylog):
    from socketlab.protocol import read_keylog

    frames = [i for i in read_pcap(demo_pcap, read_keylog(vector_keylog)) if isinstance(i, Frame)]
    vectors = box_session_vectors()
    assert [f.wire for f in frames] == [v.frame for v in vectors]
    assert [f.label for f in frames] == [v.name for v in vectors[:-1]] + ["message+left"]
    assert all(f.kind == "sealed" for f in frames[2:])


def test_without_the_key_log_only_the_handshake_is_readable(demo_pcap):
    frames = [i for i in read_pcap(demo_pcap, None) if isinstance(i, Frame)]
    assert [f.label for f in frames if f.messages] == ["hello", "server_hello"]
    assert all("no key log" in f.note for f in frames[2:])


def test_cli_view_is_side_by_side(demo_pcap, vector_keylog):
    done = run("read", str(demo_pcap), "--keylog", str(vector_keylog))
    assert done.returncode == 0, done.stderr
    whisper = next(line for line in done.stdout.splitlines() if '"type":"whisper"' in line)
    left, right = whisper.split("│")
    assert left.strip().startswith(("len", "nonce", "mac", "data"))
    assert "psst" in right
    assert "\x1b[" not in done.stdout  # no colour when piped


def test_cli_json_lines(demo_pcap, vector_keylog):
    done = run("read", str(demo_pcap), "--keylog", str(vector_keylog), "--json")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    frames = [r for r in rows if "number" in r]
    assert frames[2]["sealed"]["direction"] == "client" and frames[2]["sealed"]["counter"] == 0
    assert frames[2]["messages"] == [{"type": "login", "name": "alice"}]
    assert frames[-1]["types"] == ["message", "left"]
    assert bytes.fromhex(frames[0]["wire"]) == box_session_vectors()[0].frame


def test_synthesized_pcap_reads_back_with_scapy(demo_pcap):
    packets = rdpcap(str(demo_pcap))
    payload = b"".join(bytes(p["TCP"].payload) for p in packets if p.haslayer("TCP"))
    assert payload == b"".join(v.frame for v in box_session_vectors())


@pytest.mark.needs_tool("tshark")
def test_synthesized_pcap_reads_back_with_tshark(demo_pcap):
    done = subprocess.run(["tshark", "-r", str(demo_pcap), "-T", "fields", "-e", "tcp.len"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    lengths = [int(x) for x in done.stdout.split() if x and x != "0"]
    assert lengths == [len(v.frame) for v in box_session_vectors()]


@pytest.mark.parametrize("kind", ["entropy", "sizes", "ladder"])
def test_chart_commands_draw_from_a_capture(tmp_path, demo_pcap, vector_keylog, kind):
    out = tmp_path / f"{kind}.png"
    done = run("chart", kind, str(demo_pcap), "--keylog", str(vector_keylog), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_sizes_without_keys_says_what_is_missing(tmp_path, demo_pcap):
    done = run("chart", "sizes", str(demo_pcap), "-o", str(tmp_path / "x.png"))
    assert done.returncode == 2 and "--keylog" in done.stderr and "Traceback" not in done.stderr


def test_json_of_notes_and_frames_is_valid_and_complete(demo_pcap, vector_keylog):
    from socketlab.inspector.decode import Note
    from socketlab.inspector.view import to_json
    from socketlab.protocol import read_keylog

    items = list(read_pcap(demo_pcap, read_keylog(vector_keylog)))
    rows = [to_json(item) for item in items]
    notes = [row for row, item in zip(rows, items, strict=True) if isinstance(item, Note)]
    assert notes and all(row["note"] and row["server"] == ["127.0.0.1", 7777] for row in notes)
    whisper = next(row for row in rows if row.get("types") == ["whisper"])
    assert whisper["messages"] == [{"type": "whisper", "to": "bob", "text": "psst"}]
    assert whisper["sealed"]["ciphertext_size"] == whisper["size"] - 4 - 24 - 16


LATE_CLIENT, LATE_SERVER = ("127.0.0.1", 41000), ("127.0.0.1", 52000)


def late_capture(path):
    """A pcap that missed the SYN and the handshake (login and welcome too) of the
    known-answer session, whose server has the higher port; returns the frames in it."""
    from socketlab.inspector.packets import ACK, FIN, LINKTYPE_ETHERNET, PSH
    from socketlab.inspector.pcapwrite import PcapWriter
    from socketlab.inspector.synth import tcp_packet

    late = box_session_vectors()[4:]  # after hello, server_hello, login and welcome
    seq = {"c2s": 7_000_000, "s2c": 9_000_000}
    with PcapWriter(path, LINKTYPE_ETHERNET) as out:

        def send(direction: str, flags: int, payload: bytes = b"") -> None:
            src, dst = (LATE_CLIENT, LATE_SERVER) if direction == "c2s" \
                else (LATE_SERVER, LATE_CLIENT)
            other = "s2c" if direction == "c2s" else "c2s"
            out.write(1.0 + out.count / 100, bytes(12) + b"\x08\x00" +  # Ethernet, IPv4
                      tcp_packet(src, dst, seq[direction], seq[other], flags, payload))
            seq[direction] += len(payload) or 1

        for vector in late:
            send(vector.direction, ACK | PSH, vector.frame)
        send("c2s", ACK | FIN)
        send("s2c", ACK | FIN)
    return late


def test_a_capture_without_the_handshake_and_its_roles_guessed_wrong(tmp_path, vector_keylog):
    """The capture takes the server (the higher port) for the client: the nonces put the
    roles right, and the logged key that opens the first sealed frame opens the rest."""
    pcap = tmp_path / "late.pcap"
    late = late_capture(pcap)
    done = run("read", str(pcap), "--keylog", str(vector_keylog), "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    frames = [r for r in rows if "number" in r]
    assert len(frames) == len(late)
    assert {(tuple(r["client"]), tuple(r["server"])) for r in rows} == \
        {(LATE_CLIENT, LATE_SERVER)}
    assert all(r["kind"] == "sealed" and r["messages"] for r in frames)
    assert [(r["direction"], r["number"]) for r in frames] == \
        [(v.direction, v.counter + 2) for v in late]
    assert "Session key found" in rows[0]["note"]
    assert frames[0]["messages"] == [{"type": "say", "text": "hello, class"}]


def test_a_late_capture_with_a_key_log_of_other_sessions_says_so(tmp_path):
    from socketlab.protocol import keylog_line

    pcap, keylog = tmp_path / "late.pcap", tmp_path / "other.keys"
    late_capture(pcap)
    keylog.write_text(keylog_line(bytes(range(32)), bytes(32)))
    done = run("read", str(pcap), "--keylog", str(keylog))
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stdout.splitlines() if "before the capture started" in line]
    assert said == ["[41000] · sealed frames; the handshake happened before the capture "
                    "started, and none of the 1 session key in the key log opens them: it was "
                    "written for other sessions. To read them, reconnect a client while "
                    "sniffing: its handshake is then captured."]
    titles = [line for line in done.stdout.splitlines() if line.startswith("[41000] #")]
    assert len(titles) == len(box_session_vectors()) - 4
    assert all(line.endswith("encrypted: ?") for line in titles)
    assert done.stdout.count("handshake not captured, and no logged key opens it") == len(titles)
