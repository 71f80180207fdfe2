"""Header parsing from raw bytes, checked against frames scapy builds independently."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import ARP, Dot1Q, Ether

from socketlab.inspector.packets import (
    ACK,
    FIN,
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    PSH,
    RST,
    SYN,
    Segment,
    parse_packet,
)

PAYLOAD = b"\x00\x00\x00\x05hello"
ZERO_MAC = "00:00:00:00:00:00"  # what Linux loopback frames carry
ETHER_V4 = bytes(Ether(src=ZERO_MAC, dst=ZERO_MAC, type=0x0800))
TCP_OPTS = [("MSS", 65495), ("SAckOK", b""), ("Timestamp", (1, 2)), ("NOP", None),
            ("WScale", 7)]


def ipv4_tcp(payload=PAYLOAD, flags="PA", **tcp):
    return bytes(IP(src="127.0.0.1", dst="127.0.0.2") /
                 TCP(sport=51000, dport=7777, seq=123456789, ack=987654321, flags=flags,
                     options=TCP_OPTS, **tcp) / payload)


def ipv6_tcp(payload=PAYLOAD, ext=None):
    ip = IPv6(src="::1", dst="fe80::1")
    if ext is not None:
        ip = ip / ext
    return bytes(ip / TCP(sport=51000, dport=7777, seq=1, ack=2, flags="A") / payload)


EXPECTED_V4 = Segment(1.5, ("127.0.0.1", 51000), ("127.0.0.2", 7777), 123456789, 987654321,
                      PSH | ACK, PAYLOAD)


def test_ethernet_ipv4_tcp_with_options():
    frame = ETHER_V4 + ipv4_tcp()
    assert parse_packet(1.5, LINKTYPE_ETHERNET, frame) == EXPECTED_V4


def test_ethernet_padding_is_not_payload():
    frame = bytes(Ether(src=ZERO_MAC, dst=ZERO_MAC) / IP(src="127.0.0.1", dst="127.0.0.2") /
                  TCP(sport=1, dport=2, flags="A"))
    padded = frame + b"\x00" * (60 - len(frame))
    assert parse_packet(0.0, LINKTYPE_ETHERNET, padded).payload == b""


def test_vlan_tagged_frame():
    tags = Dot1Q(vlan=5, type=0x8100) / Dot1Q(vlan=6, type=0x0800)
    frame = bytes(Ether(src=ZERO_MAC, dst=ZERO_MAC, type=0x88A8) / tags) + ipv4_tcp()
    assert parse_packet(1.5, LINKTYPE_ETHERNET, frame) == EXPECTED_V4


@pytest.mark.parametrize(("linktype", "header"), [
    (LINKTYPE_LINUX_SLL, struct.pack("!HHH8sH", 0, 772, 6, b"", 0x0800)),
    (LINKTYPE_LINUX_SLL2, struct.pack("!HHIHBB8s", 0x0800, 0, 1, 772, 0, 6, b"")),
    (LINKTYPE_NULL, struct.pack("<I", 2)),  # AF_INET, little-endian host
    (LINKTYPE_NULL, struct.pack(">I", 2)),  # AF_INET, big-endian host
    (LINKTYPE_LOOP, struct.pack(">I", 2)),
    (LINKTYPE_RAW, b""),
    (LINKTYPE_IPV4, b""),
])
def test_other_link_layers(linktype, header):
    assert parse_packet(1.5, linktype, header + ipv4_tcp()) == EXPECTED_V4


@pytest.mark.parametrize("af", [24, 28, 30])  # AF_INET6 on NetBSD/OpenBSD, FreeBSD, macOS
def test_bsd_loopback_ipv6(af):
    seg = parse_packet(0.0, LINKTYPE_NULL, struct.pack("<I", af) + ipv6_tcp())
    assert (seg.src, seg.dst, seg.payload) == (("::1", 51000), ("fe80::1", 7777), PAYLOAD)


def test_ipv6_with_extension_header():
    seg = parse_packet(0.0, LINKTYPE_RAW, ipv6_tcp(ext=IPv6ExtHdrHopByHop()))
    assert (seg.seq, seg.ack, seg.flags, seg.payload) == (1, 2, ACK, PAYLOAD)


def test_flag_properties():
    seg = parse_packet(0.0, LINKTYPE_RAW, ipv4_tcp(flags="SA", payload=b""))
    assert (seg.syn, seg.has_ack, seg.fin, seg.rst) == (True, True, False, False)
    seg = parse_packet(0.0, LINKTYPE_RAW, ipv4_tcp(flags="FR", payload=b""))
    assert (seg.syn, seg.has_ack, seg.fin, seg.rst) == (False, False, True, True)
    assert seg.flags == FIN | RST and SYN & seg.flags == 0


@pytest.mark.parametrize(("frame", "linktype"), [
    (bytes(Ether(src=ZERO_MAC, dst=ZERO_MAC) / IP() / UDP() / b"x"), LINKTYPE_ETHERNET),
    (bytes(Ether(src=ZERO_MAC, dst=ZERO_MAC) / IP() / ICMP()), LINKTYPE_ETHERNET),
    (bytes(Ether(src=ZERO_MAC, dst=ZERO_MAC) / ARP()), LINKTYPE_ETHERNET),
    (bytes(IP(flags="MF") / TCP() / (b"x" * 8)), LINKTYPE_RAW),  # first fragment
    (bytes(IP(frag=3) / (b"x" * 8)), LINKTYPE_RAW),  # later fragment
    (bytes(IPv6() / IPv6ExtHdrFragment() / TCP()), LINKTYPE_RAW),
    (ipv4_tcp(), 147),  # an unknown link type
    (b"\x70" + ipv4_tcp()[1:], LINKTYPE_RAW),  # IP version 7
])
def test_not_tcp_over_ip_gives_none(frame, linktype):
    assert parse_packet(0.0, linktype, frame) is None


def test_every_truncation_of_a_frame_is_safe():
    frame = ETHER_V4 + ipv4_tcp()
    headers = 14 + 20 + 40  # Ethernet, IPv4, TCP with options
    for n in range(len(frame)):
        seg = parse_packet(0.0, LINKTYPE_ETHERNET, frame[:n])
        if n < headers:
            assert seg is None, n
        else:  # cut by a snap length: the headers are whole, the payload is what is there
            assert seg.payload == PAYLOAD[:n - headers]


def test_bad_header_lengths_give_none():
    raw = bytearray(ipv4_tcp())
    raw[0] = 0x44  # IHL 4 (< 5) is impossible
    assert parse_packet(0.0, LINKTYPE_RAW, bytes(raw)) is None
    raw = bytearray(ipv4_tcp())
    raw[20 + 12] = 0x40  # TCP data offset 4 words (< 5) is impossible
    assert parse_packet(0.0, LINKTYPE_RAW, bytes(raw)) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([0, 1, 101, 108, 113, 228, 229, 276]))
def test_random_bytes_never_raise(data, linktype):
    seg = parse_packet(0.0, linktype, data)
    assert seg is None or isinstance(seg, Segment)
