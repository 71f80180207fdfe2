"""Plumbing from a source (packets, a pcap, a proxy recording) to decoded frames."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .decode import Decoded, SessionDecoder, ViewChoice
from .events import Event, StreamEvent
from .packets import Segment, parse_packet
from .pcapread import iter_pcap
from .reassembly import Reassembler


def reassemble(segments: Iterable[Segment], port: int | None = None) -> Iterator[StreamEvent]:
    """TCP stream events for ``segments`` (only those on ``port``, if given)."""
    reassembler = Reassembler()
    for seg in segments:
        if port is None or port in (seg.src[1], seg.dst[1]):
            yield from reassembler.add(seg)
    yield from reassembler.finish()


def decode_events(events: Iterable[Event], keys: dict[bytes, bytes] | None,
                  view: ViewChoice = "auto") -> Iterator[Decoded]:
    """Decoded items for ``events``; ``view`` as ``SessionDecoder`` takes it."""
    decoder = SessionDecoder(keys, view=view)
    for event in events:
        yield from decoder.add(event)


@dataclass
class PcapSummary:
    """Filled in as a pcap is read: how much, and whether it was cut short."""

    packets: int = 0
    truncated_at: int | None = None
    notes: list[str] = field(default_factory=list)


def read_pcap(path: str | Path, keys: dict[bytes, bytes] | None, *, port: int | None = None,
              summary: PcapSummary | None = None,
              view: ViewChoice = "auto") -> Iterator[Decoded]:
    """Decode a pcap file, streaming: memory stays flat however large the file."""
    summary = summary if summary is not None else PcapSummary()
    pcap = iter_pcap(path)  # a file that is not a pcap raises here, before any output
    reassembler = Reassembler()
    decoder = SessionDecoder(keys, view=view)
    # One loop, not a chain of generators (segments, events, items): this runs
    # for every packet of a file of hundreds of thousands.
    with pcap:
        for ts, linktype, data in pcap:
            seg = parse_packet(ts, linktype, data)
            if seg is None or (port is not None and port != seg.src[1] and port != seg.dst[1]):
                continue
            for event in reassembler.add(seg):
                yield from decoder.add(event)
    summary.packets = pcap.packets
    summary.truncated_at = pcap.truncated_at
    for event in reassembler.finish():
        yield from decoder.add(event)
    if summary.truncated_at is not None:
        summary.notes.append(truncation_note(summary.truncated_at))


def truncation_note(offset: int) -> str:
    return (f"the file is truncated: it ends inside a packet record at byte {offset}; "
            "every whole packet before it is shown")


