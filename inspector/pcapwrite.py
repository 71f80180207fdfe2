"""A minimal pcap writer (classic libpcap format, microsecond timestamps).

Written by hand rather than with scapy's PcapWriter so the live capture path
stays cheap per packet; Wireshark, tshark, tcpdump and scapy all read it.
"""

from __future__ import annotations

import struct
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

SNAPLEN = 262_144  # libpcap's default: whole loopback frames (MTU 65536) fit
_GLOBAL_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")


class PcapWriter:
    """Append frames of one link type to a new pcap file."""

    def __init__(self, path: str | Path, linktype: int, snaplen: int = SNAPLEN) -> None:
        self.snaplen = snaplen
        self.count = 0
        self._file: BinaryIO = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 (closed by close())
        self._file.write(_GLOBAL_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))

    def write(self, ts: float, data: bytes) -> None:
        sec = int(ts)
        usec = round((ts - sec) * 1_000_000)
        if usec == 1_000_000:
            sec, usec = sec + 1, 0
        caplen = min(len(data), self.snaplen)
        # One write per record: a flush from another thread never splits one.
        self._file.write(_RECORD_HEADER.pack(sec, usec, caplen, len(data)) + data[:caplen])
        self.count += 1

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
