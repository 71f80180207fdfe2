"""Write recorded TCP streams as a pcap, so a proxy recording opens in Wireshark.

The proxy sees bytes, not packets. To hand them to packet tools we wrap each
recorded chunk in an IPv4 + TCP header (with real checksums), after a
three-way handshake, and finish with FINs: what a capture of the same
conversation would roughly hold. The timestamps are the proxy's.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from pathlib import Path

from .events import Closed, Connection, Data, Event, Opened
from .packets import ACK, FIN, LINKTYPE_ETHERNET, PSH, SYN
from .pcapwrite import PcapWriter

# A zeroed Ethernet header, as Linux's loopback has: every tool reads that link type.
_ETHERNET_IPV4 = bytes(12) + b"\x08\x00"
MSS = 65_000  # below the IPv4 total-length limit, so no chunk needs fragmenting
_ISN = {"c2s": 1_000, "s2c": 5_000}


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def tcp_packet(src: tuple[str, int], dst: tuple[str, int], seq: int, ack: int, flags: int,
               payload: bytes = b"") -> bytes:
    """One IPv4 packet carrying one TCP segment, checksums filled in."""
    s_ip, d_ip = socket.inet_aton(src[0]), socket.inet_aton(dst[0])
    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq % 2**32, ack % 2**32, 5 << 4, flags,
                      65535, 0, 0)
    pseudo = s_ip + d_ip + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64,
                     socket.IPPROTO_TCP, 0, s_ip, d_ip)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return ip + tcp + payload


class EventPcap:
    """Writes stream events (IPv4 connections) as packets, as they are given."""

    def __init__(self, path: str | Path) -> None:
        self._out = PcapWriter(path, LINKTYPE_ETHERNET)
        self._seq: dict[tuple[Connection, str], int] = {}

    @property
    def count(self) -> int:
        """Packets written so far."""
        return self._out.count

    def write(self, events: Iterable[Event]) -> None:
        seq = self._seq
        for event in events:
            if isinstance(event, Opened):
                for direction, isn in _ISN.items():
                    seq[event.conn, direction] = isn
                self._send(event.conn, "c2s", event.ts, SYN)
                self._send(event.conn, "s2c", event.ts, SYN | ACK)
                self._send(event.conn, "c2s", event.ts, ACK)
            elif isinstance(event, Data) and (event.conn, event.direction) in seq:
                for i in range(0, len(event.data), MSS):
                    self._send(event.conn, event.direction, event.ts, ACK | PSH,
                               event.data[i : i + MSS])
            elif isinstance(event, Closed) and (event.conn, "c2s") in seq:
                self._send(event.conn, "c2s", event.ts, FIN | ACK)
                self._send(event.conn, "s2c", event.ts, FIN | ACK)

    def _send(self, conn: Connection, direction: str, ts: float, flags: int,
              payload: bytes = b"") -> None:
        seq = self._seq
        src, dst = (conn.client, conn.server) if direction == "c2s" else (conn.server, conn.client)
        other = "s2c" if direction == "c2s" else "c2s"
        packet = tcp_packet(src, dst, seq[conn, direction], seq[conn, other], flags, payload)
        self._out.write(ts, _ETHERNET_IPV4 + packet)
        seq[conn, direction] += len(payload) + (1 if flags & (SYN | FIN) else 0)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self._out.close()


def write_pcap(path: str | Path, events: Iterable[Event]) -> int:
    """Write ``events`` (IPv4 connections) as packets; returns how many were written."""
    pcap = EventPcap(path)
    try:
        pcap.write(events)
    finally:
        pcap.close()
    return pcap.count
