"""Crafted TCP segments and event checks shared by the reassembly tests."""

from __future__ import annotations

from socketlab.inspector.events import Data, Gap, StreamEvent
from socketlab.inspector.packets import ACK, FIN, PSH, RST, SYN, Segment
from socketlab.inspector.reassembly import Reassembler

CLIENT = ("127.0.0.1", 51000)
SERVER = ("127.0.0.1", 7777)
MOD = 1 << 32


def c2s(seq: int, payload: bytes = b"", flags: int = ACK | PSH, ack: int = 0,
        ts: float = 0.0) -> Segment:
    return Segment(ts, CLIENT, SERVER, seq % MOD, ack % MOD, flags, payload)


def s2c(seq: int, payload: bytes = b"", flags: int = ACK | PSH, ack: int = 0,
        ts: float = 0.0) -> Segment:
    return Segment(ts, SERVER, CLIENT, seq % MOD, ack % MOD, flags, payload)


def handshake(r: Reassembler, client_isn: int = 1000, server_isn: int = 5000) -> list[StreamEvent]:
    """SYN, SYN-ACK, ACK: afterwards client offset 0 is seq client_isn + 1."""
    events = r.add(c2s(client_isn, flags=SYN))
    events += r.add(s2c(server_isn, flags=SYN | ACK, ack=client_isn + 1))
    events += r.add(c2s(client_isn + 1, flags=ACK, ack=server_isn + 1))
    return events


def fin_both(r: Reassembler, c_seq: int, s_seq: int) -> list[StreamEvent]:
    return r.add(c2s(c_seq, flags=FIN | ACK)) + r.add(s2c(s_seq, flags=FIN | ACK))


def data_of(events: list[StreamEvent], direction: str = "c2s") -> list[tuple[int, bytes]]:
    return [(e.offset, e.data) for e in events if isinstance(e, Data) and e.direction == direction]


def gaps_of(events: list[StreamEvent], direction: str = "c2s") -> list[tuple[int, int]]:
    return [(e.offset, e.length) for e in events if isinstance(e, Gap) and e.direction == direction]


def stream_of(events: list[StreamEvent], direction: str = "c2s") -> bytes:
    """Concatenated Data, checking the offsets follow one another without holes."""
    out = bytearray()
    for offset, data in data_of(events, direction):
        assert offset == len(out), f"Data at {offset}, expected {len(out)}"
        out += data
    return bytes(out)


__all__ = [
    "ACK",
    "CLIENT",
    "FIN",
    "MOD",
    "PSH",
    "RST",
    "SERVER",
    "SYN",
    "c2s",
    "data_of",
    "fin_both",
    "gaps_of",
    "handshake",
    "s2c",
    "stream_of",
]
