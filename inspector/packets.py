"""Cheap header parsing: link layer -> IPv4/IPv6 -> TCP, straight from raw bytes.

This is the capture hot path, so it uses precompiled ``struct`` unpacking and
no scapy dissection (scapy dissects ~8k packets/s; this does several hundred
thousand). Anything that is not a whole TCP header over IP gives ``None``;
malformed bytes never raise.
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

# TCP flag bits (byte 13 of the TCP header).
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20

# pcap LINKTYPE_* values we understand (https://www.tcpdump.org/linktypes.html).
LINKTYPE_NULL = 0  # BSD loopback: 4-byte address family in host byte order
LINKTYPE_ETHERNET = 1  # also Linux "lo", which carries a zeroed Ethernet header
LINKTYPE_RAW = 101  # bare IPv4 or IPv6
LINKTYPE_LOOP = 108  # OpenBSD loopback: like NULL, network byte order
LINKTYPE_LINUX_SLL = 113  # Linux "cooked" capture (tcpdump -i any)
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

_ETH_IPV4 = 0x0800
_ETH_IPV6 = 0x86DD
_ETH_VLAN = (0x8100, 0x88A8, 0x9100)
_IPPROTO_TCP = 6
# IPv6 extension headers that may sit between the fixed header and TCP.
_IPV6_EXT = frozenset({0, 43, 60})  # hop-by-hop, routing, destination options
_IPV6_FRAGMENT = 44

_U16 = struct.Struct("!H")
_IPV4 = struct.Struct("!BxHxxHxB2x4s4s")  # ver/ihl, total length, frag, proto, src, dst
_IPV6 = struct.Struct("!4xHBx16s16s")  # payload length, next header, src, dst
_TCP = struct.Struct("!HHIIBB")  # sport, dport, seq, ack, data offset, flags


class RawPacket(NamedTuple):
    """One captured frame: what a pcap record or a capture socket gives."""

    ts: float
    linktype: int
    data: bytes


class Segment(NamedTuple):
    """The parts of one TCP segment that reassembly and the views need.

    A named tuple, not a frozen dataclass: a capture makes one per packet, and
    a frozen dataclass's ``__init__`` costs several times a tuple's.
    """

    ts: float
    src: tuple[str, int]
    dst: tuple[str, int]
    seq: int
    ack: int
    flags: int
    payload: bytes

    @property
    def syn(self) -> bool:
        return bool(self.flags & SYN)

    @property
    def fin(self) -> bool:
        return bool(self.flags & FIN)

    @property
    def rst(self) -> bool:
        return bool(self.flags & RST)

    @property
    def has_ack(self) -> bool:
        return bool(self.flags & ACK)


# A named tuple's own ``__new__`` is Python code; tuple's is C, and gives the same object.
_new_tuple = tuple.__new__

# inet_ntop costs more than the rest of the parse; loopback traffic has a
# handful of distinct addresses, so a small cache answers almost every lookup.
_ADDR_CACHE: dict[bytes, str] = {}
_ADDR_CACHE_MAX = 4096


def _addr(raw: bytes) -> str:
    text = _ADDR_CACHE.get(raw)
    if text is None:
        if len(_ADDR_CACHE) >= _ADDR_CACHE_MAX:
            _ADDR_CACHE.clear()
        family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
        text = _ADDR_CACHE[raw] = socket.inet_ntop(family, raw)
    return text


def _ip_offset(linktype: int, data: bytes) -> int:
    """Offset of the IP header for this link type, or -1 if not IP."""
    if linktype == LINKTYPE_ETHERNET:
        off = 12
        ethertype = _U16.unpack_from(data, off)[0]
        while ethertype in _ETH_VLAN:  # 802.1Q / QinQ tags: 4 bytes each
            off += 4
            ethertype = _U16.unpack_from(data, off)[0]
        return off + 2 if ethertype in (_ETH_IPV4, _ETH_IPV6) else -1
    if linktype == LINKTYPE_LINUX_SLL:
        return 16 if _U16.unpack_from(data, 14)[0] in (_ETH_IPV4, _ETH_IPV6) else -1
    if linktype == LINKTYPE_LINUX_SLL2:
        return 20 if _U16.unpack_from(data, 0)[0] in (_ETH_IPV4, _ETH_IPV6) else -1
    # The NULL/LOOP family values differ between BSDs (IPv6 is 24, 28 or 30),
    # so the IP version nibble decides, as it does for raw IP.
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        return 4
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return 0
    return -1


def parse_packet(ts: float, linktype: int, data: bytes) -> Segment | None:
    """Parse one captured frame into a ``Segment``; ``None`` if it is not TCP over IP.

    Fragments, truncated headers and unknown link types give ``None``. A frame
    cut short by the capture's snap length gives the payload bytes it holds.
    """
    try:
        # Ethernet without VLAN tags (every Linux loopback frame) skips the call.
        if linktype == LINKTYPE_ETHERNET and data[12:14] in (b"\x08\x00", b"\x86\xdd"):
            off = 14
        else:
            off = _ip_offset(linktype, data)
            if off < 0:
                return None
        version = data[off] >> 4
        if version == 4:
            ver_ihl, total, frag, proto, src, dst = _IPV4.unpack_from(data, off)
            # Any fragment (MF set or a non-zero offset) lacks a whole segment.
            ihl = ver_ihl & 0x0F
            if proto != _IPPROTO_TCP or frag & 0x3FFF or ihl < 5:
                return None
            tcp = off + ihl * 4
            # total == 0 happens with TCP segmentation offload: trust the frame.
            end = off + total if total else len(data)
        elif version == 6:
            plen, nxt, src, dst = _IPV6.unpack_from(data, off)
            tcp = off + 40
            while nxt in _IPV6_EXT:
                nxt = data[tcp]
                tcp += (data[tcp + 1] + 1) * 8
            if nxt != _IPPROTO_TCP:
                return None
            end = off + 40 + plen if plen else len(data)  # plen 0: jumbogram/offload
        else:
            return None
        sport, dport, seq, ack, doff, flags = _TCP.unpack_from(data, tcp)
        start = tcp + (doff >> 4) * 4
        if start < tcp + 20 or start > end or start > len(data):  # bad or cut-off header
            return None
        cache = _ADDR_CACHE
        return _new_tuple(Segment, (ts, (cache.get(src) or _addr(src), sport),
                                    (cache.get(dst) or _addr(dst), dport), seq, ack, flags,
                                    data[start:end]))
    except (struct.error, IndexError):
        return None
