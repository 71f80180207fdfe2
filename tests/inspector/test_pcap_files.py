"""Capture files: what we write, scapy and tshark read; what we read, we read whole or say
where it ends."""

import gzip
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import PcapWriter as ScapyPcapWriter
from scapy.utils import rdpcap, wrpcapng

from socketlab.inspector.errors import CaptureError
from socketlab.inspector.packets import LINKTYPE_ETHERNET, parse_packet
from socketlab.inspector.pcapread import iter_pcap
from socketlab.inspector.pcapwrite import PcapWriter
from socketlab.inspector.reassembly import Reassembler
from tests.inspector.tcp_helpers import stream_of

UP = [b"\x00\x00\x00\x03abc", b"client says hello", bytes(range(256))]
DOWN = [b"\x00\x00\x00\x02hi", b"server answers"]
ZERO_MAC = "00:00:00:00:00:00"


def frame(src_port, dst_port, seq, ack, flags, payload=b""):
    return bytes(Ether(src=ZERO_MAC, dst=ZERO_MAC) / IP(src="127.0.0.1", dst="127.0.0.1") /
                 TCP(sport=src_port, dport=dst_port, seq=seq, ack=ack, flags=flags) / payload)


def conversation() -> list[tuple[float, bytes]]:
    """A whole TCP conversation on port 7777 as loopback frames, with timestamps."""
    c, s = 51000, 7777
    c_seq, s_seq = 1000, 9000
    frames = [frame(c, s, c_seq, 0, "S"), frame(s, c, s_seq, c_seq + 1, "SA"),
              frame(c, s, c_seq + 1, s_seq + 1, "A")]
    c_seq, s_seq = c_seq + 1, s_seq + 1
    for up, down in zip(UP, [*DOWN, b""], strict=True):
        frames.append(frame(c, s, c_seq, s_seq, "PA", up))
        c_seq += len(up)
        if down:
            frames.append(frame(s, c, s_seq, c_seq, "PA", down))
            s_seq += len(down)
    frames += [frame(c, s, c_seq, s_seq, "FA"), frame(s, c, s_seq, c_seq + 1, "FA"),
               frame(c, s, c_seq + 1, s_seq + 1, "A")]
    return [(1_700_000_000.25 + i * 0.001001, f) for i, f in enumerate(frames)]


@pytest.fixture
def pcap(tmp_path: Path) -> Path:
    path = tmp_path / "chat.pcap"
    with PcapWriter(path, LINKTYPE_ETHERNET) as writer:
        for ts, data in conversation():
            writer.write(ts, data)
    return path


def record_starts(path: Path) -> list[int]:
    """Byte offset of each record in a classic pcap file."""
    raw = path.read_bytes()
    starts, pos = [], 24
    while pos < len(raw):
        starts.append(pos)
        pos += 16 + int.from_bytes(raw[pos + 8:pos + 12], "little")
    return starts


def test_our_reader_gives_back_every_frame_and_timestamp(pcap: Path):
    with iter_pcap(pcap) as reader:
        got = list(reader)
    expected = conversation()
    assert [p.data for p in got] == [data for _, data in expected]
    assert all(p.linktype == LINKTYPE_ETHERNET for p in got)
    assert all(abs(p.ts - ts) < 1e-6 for p, (ts, _) in zip(got, expected, strict=True))
    assert reader.packets == len(expected) and reader.truncated_at is None


def test_frames_from_the_file_reassemble_to_what_was_sent(pcap: Path):
    r = Reassembler()
    events = []
    for ts, linktype, data in iter_pcap(pcap):
        events += r.add(parse_packet(ts, linktype, data))
    events += r.finish()
    assert stream_of(events, "c2s") == b"".join(UP)
    assert stream_of(events, "s2c") == b"".join(DOWN)
    assert events[-1].how == "fin"


def test_scapy_rdpcap_reads_our_file(pcap: Path):
    packets = rdpcap(str(pcap))
    expected = conversation()
    assert [bytes(p) for p in packets] == [data for _, data in expected]
    assert all(
        abs(float(p.time) - ts) < 1e-6 for p, (ts, _) in zip(packets, expected, strict=True)
    )


@pytest.mark.needs_tool("tshark")
def test_tshark_reads_our_file(pcap: Path):
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.len",
         "-e", "frame.time_epoch"],
        capture_output=True, text=True, timeout=30, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == len(conversation())
    upstream = sum(int(length) for port, length, _ in rows if port == "51000")
    assert upstream == sum(map(len, UP))
    assert Decimal(rows[0][2]) == Decimal("1700000000.250000")


@pytest.mark.parametrize("cut", ["inside_body", "inside_header", "after_header", "one_byte"])
def test_truncated_file_yields_whole_packets_and_says_where_it_ends(pcap: Path, cut: str):
    starts = record_starts(pcap)
    last = starts[-1]
    size = pcap.stat().st_size
    end = {"inside_body": size - 5, "inside_header": last + 7, "after_header": last + 16,
           "one_byte": last + 1}[cut]
    pcap.write_bytes(pcap.read_bytes()[:end])
    reader = iter_pcap(pcap)
    got = [p.data for p in reader]
    assert got == [data for _, data in conversation()][:-1]
    assert reader.truncated_at == last and reader.packets == len(starts) - 1


def test_file_cut_at_a_record_boundary_is_complete(pcap: Path):
    last = record_starts(pcap)[-1]
    pcap.write_bytes(pcap.read_bytes()[:last])
    reader = iter_pcap(pcap)
    assert len(list(reader)) == len(conversation()) - 1
    assert reader.truncated_at is None


def test_pcapng_reads_and_truncation_is_located(tmp_path: Path):
    path = tmp_path / "chat.pcapng"
    packets = []
    for ts, data in conversation():
        packet = Ether(data)
        packet.time = Decimal(str(ts))
        packets.append(packet)
    wrpcapng(str(path), packets)
    got = list(iter_pcap(path))
    assert [p.data for p in got] == [data for _, data in conversation()]
    assert abs(got[1].ts - conversation()[1][0]) < 1e-6 and got[0].linktype == LINKTYPE_ETHERNET

    whole = path.read_bytes()
    block_len = int.from_bytes(whole[-4:], "little")  # the last block's trailing length
    path.write_bytes(whole[:-10])
    reader = iter_pcap(path)
    assert len(list(reader)) == len(conversation()) - 1
    assert reader.truncated_at == len(whole) - block_len


def test_gzip_compressed_pcap_reads(pcap: Path, tmp_path: Path):
    packed = tmp_path / "chat.pcap.gz"
    packed.write_bytes(gzip.compress(pcap.read_bytes()))
    assert [p.data for p in iter_pcap(packed)] == [data for _, data in conversation()]


def test_nanosecond_pcap_timestamps(tmp_path: Path):
    path = tmp_path / "nano.pcap"
    writer = ScapyPcapWriter(str(path), linktype=LINKTYPE_ETHERNET, nano=True)
    packet = Ether(conversation()[0][1])
    packet.time = Decimal("1700000000.123456789")
    writer.write(packet)
    writer.close()
    (got,) = list(iter_pcap(path))
    assert abs(got.ts - 1700000000.123456789) < 1e-6


def test_loopback_sized_frame_is_read_whole(tmp_path: Path):
    # Linux loopback (MTU 65536) hands over frames longer than scapy's default 65535.
    data = frame(51000, 7777, 1, 1, "PA", b"z" * 65495)
    assert len(data) > 65535
    path = tmp_path / "big.pcap"
    with PcapWriter(path, LINKTYPE_ETHERNET) as writer:
        writer.write(0.0, data)
    (got,) = list(iter_pcap(path))
    assert got.data == data
    assert parse_packet(*got).payload == b"z" * 65495


@pytest.mark.parametrize(("content", "code"), [
    (b"hello, this is a text file\n", "not_pcap"),
    (b"", "not_pcap"),
    (b"\xd4\xc3\xb2\xa1\x02\x00", "not_pcap"),  # pcap magic, header cut short
    (b"\x1f\x8bnot really gzip", "not_pcap"),
])
def test_not_a_pcap_is_a_clear_error(tmp_path: Path, content: bytes, code: str):
    path = tmp_path / "file.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureError) as info:
        iter_pcap(path)
    assert info.value.code == code and str(path) in info.value.message


def test_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(CaptureError) as info:
        iter_pcap(tmp_path / "nope.pcap")
    assert info.value.code == "cannot_open"
    assert str(info.value) == f"cannot_open: {tmp_path / 'nope.pcap'}: No such file or directory"
