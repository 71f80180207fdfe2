"""Capture files: what we write, scapy and tshark read; what we read, we read whole or say
where it ends."""

import gzip
import struct
import subprocess
import sys
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
from socketlab.inspector.pipeline import truncation_note
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


def _pcap_bytes(order: str, nano: bool, records: list[tuple[float, bytes]]) -> bytes:
    """A classic pcap written by hand, in either byte order and resolution."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    ticks = 10**9 if nano else 10**6
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET)]
    for ts, data in records:
        sec, frac = int(ts), round((ts - int(ts)) * ticks)
        out.append(struct.pack(order + "IIII", sec, frac, len(data), len(data)) + data)
    return b"".join(out)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_in_either_byte_order_and_resolution(tmp_path: Path, order: str, nano: bool):
    path = tmp_path / "hand.pcap"
    path.write_bytes(_pcap_bytes(order, nano, conversation()))
    got = list(iter_pcap(path))
    assert [p.data for p in got] == [data for _, data in conversation()]
    assert all(abs(p.ts - ts) < 1e-6 for p, (ts, _) in zip(got, conversation(), strict=True))


def _block(order: str, kind: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)


def _pcapng_bytes(order: str) -> bytes:
    """Two sections; interfaces with their own link type and clock; every packet block kind."""
    data = conversation()[3][1]
    raw_ip = data[14:]  # the same packet without its Ethernet header
    shb = _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    ns = struct.pack(order + "HH", 9, 1) + b"\x09\x00\x00\x00" + struct.pack(order + "HH", 0, 0)
    eth_us = _block(order, 1, struct.pack(order + "HHI", LINKTYPE_ETHERNET, 0, 0))
    raw_ns = _block(order, 1, struct.pack(order + "HHI", 101, 0, 0) + ns)
    ts_us, ts_ns = 1_700_000_000_250_000, 1_700_000_000_250_000_123

    def epb(iface: int, ticks: int, packet: bytes) -> bytes:
        return _block(order, 6, struct.pack(order + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF,
                                            len(packet), len(packet)) + packet)

    comment = _block(order, 0x0BAD, b"a custom block the reader must skip")
    spb = _block(order, 3, struct.pack(order + "I", len(data)) + data)
    old = _block(order, 2, struct.pack(order + "HHIIII", 0, 0, ts_us >> 32, ts_us & 0xFFFFFFFF,
                                       len(data), len(data)) + data)
    second = _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    return (shb + eth_us + raw_ns + epb(0, ts_us, data) + epb(1, ts_ns, raw_ip) + comment + spb
            + old + second + _block(order, 1, struct.pack(order + "HHI", 101, 0, 0))
            + epb(0, ts_us, raw_ip))


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_sections_interfaces_and_block_kinds(tmp_path: Path, order: str):
    path = tmp_path / "hand.pcapng"
    path.write_bytes(_pcapng_bytes(order))
    data = conversation()[3][1]
    got = list(iter_pcap(path))
    assert [(p.linktype, p.data) for p in got] == [
        (LINKTYPE_ETHERNET, data), (101, data[14:]), (LINKTYPE_ETHERNET, data),
        (LINKTYPE_ETHERNET, data), (101, data[14:])]
    assert [round(p.ts, 6) for p in got] == [1_700_000_000.25, 1_700_000_000.25, 0.0,
                                             1_700_000_000.25, 1_700_000_000.25]
    assert parse_packet(0.0, *got[1][1:]) == parse_packet(0.0, *got[0][1:])  # one segment


@pytest.mark.needs_tool("editcap")
def test_our_reader_and_scapys_agree_on_a_pcapng_editcap_wrote(pcap: Path, tmp_path: Path):
    path = tmp_path / "converted.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(pcap), str(path)], check=True, timeout=30)
    ours = list(iter_pcap(path))
    theirs = rdpcap(str(path))
    assert [p.data for p in ours] == [bytes(p) for p in theirs]
    assert all(abs(p.ts - float(q.time)) < 1e-6 for p, q in zip(ours, theirs, strict=True))


def _good_start(order: str) -> bytes:
    """A section, an Ethernet interface and one whole packet: what a damaged block follows."""
    data = conversation()[3][1]
    shb = _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _block(order, 1, struct.pack(order + "HHI", LINKTYPE_ETHERNET, 0, 0))
    epb = _block(order, 6, struct.pack(order + "IIIII", 0, 0, 0, len(data), len(data)) + data)
    return shb + idb + epb


# Blocks shorter than their fixed fields, and an interface option longer than its block.
DAMAGED_BLOCKS = {
    "epb-12": (6, b""),
    "epb-16": (6, b"\x00\x00\x00\x00"),
    "spb-12": (3, b""),
    "idb-12": (1, b""),
    "idb-16": (1, b"\x01\x00\x00\x00"),
    "old-pb-16": (2, b"\x00\x00\x00\x00"),
    "idb-option-overruns": (1, b"\x01\x00\x00\x00\x00\x00\x00\x00" + b"\x0e\x00\x40\x00"),
}


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("damage", list(DAMAGED_BLOCKS))
def test_a_block_shorter_than_its_fields_ends_the_read_where_it_starts(
        tmp_path: Path, damage: str, order: str):
    kind, body = DAMAGED_BLOCKS[damage]
    if order == ">":  # the same fields, big-endian
        body = body[:2][::-1] + body[2:4][::-1] + body[4:8][::-1] + body[8:10][::-1] \
            + body[10:12][::-1] + body[12:]
    good = _good_start(order)
    path = tmp_path / "damaged.pcapng"
    path.write_bytes(good + _block(order, kind, body) + _good_start(order)[-len(good) // 3:])
    with iter_pcap(path) as pcap:
        assert [p.data for p in pcap] == [conversation()[3][1]]
    assert pcap.truncated_at == len(good)


def test_damaged_blocks_are_one_line_at_the_command_line(tmp_path: Path):
    path = tmp_path / "damaged.pcapng"
    path.write_bytes(_good_start("<") + _block("<", 6, b"\x00\x00\x00\x00"))
    done = subprocess.run([sys.executable, "-m", "socketlab", "read", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"inspector: {truncation_note(len(_good_start('<')))}"]


def test_a_recording_nested_too_deep_is_one_line(tmp_path: Path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"format":"socketlab-proxy","version":1}\n' + "[" * 100_000
                    + "]" * 100_000 + "\n")
    done = subprocess.run([sys.executable, "-m", "socketlab", "read", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "inspector: error: bad_recording: line 2: not a JSON line (nested too deep)"]
