"""Reading capture files: pcap and pcapng, whole packets only, cut files reported.

scapy's raw readers split the file into records; scapy never dissects a
packet here (``packets.py`` parses what we need, much faster).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from scapy.data import MTU
from scapy.error import Scapy_Exception
from scapy.utils import RawPcapNgReader, RawPcapReader

from .errors import CaptureError
from .packets import RawPacket
from .pcapwrite import SNAPLEN

_PCAP_MAGICS = {b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1",
                b"\x0a\x0d\x0d\x0a"}  # pcap (µs, ns; both byte orders) and pcapng
_GZIP_MAGIC = b"\x1f\x8b"
_SCAPY_MAX_RECORD = 4 * MTU  # scapy reads this much of a pcap record and skips the rest


class PcapFile:
    """Stream the frames of a pcap or pcapng file as ``RawPacket``s.

    Only whole packets are yielded. When the iteration ends, ``truncated_at``
    is the byte offset where an incomplete record starts (the file was cut
    short, e.g. a capture killed mid-write), or ``None`` if the file ended
    cleanly; ``packets`` counts the packets yielded. For a gzip-compressed
    file the offset counts uncompressed bytes.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.packets = 0
        self.truncated_at: int | None = None
        try:
            self._file: BinaryIO = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise CaptureError("cannot_open", f"{self.path}: {exc.strerror}") from None
        try:
            magic = self._file.read(4)
            if magic not in _PCAP_MAGICS and magic[:2] != _GZIP_MAGIC:
                raise CaptureError("not_pcap", f"{self.path} is not a pcap or pcapng file "
                                               f"(starts with {magic!r})")
            self._file.seek(0)
            self._reader = RawPcapReader(self._file)  # type: ignore[arg-type]  # takes a file too; RawPcapNgReader for pcapng
        except Scapy_Exception as exc:
            self._file.close()
            raise CaptureError("not_pcap", f"{self.path}: {exc}") from None
        except BaseException:
            self._file.close()
            raise
        self._ng = isinstance(self._reader, RawPcapNgReader)
        self._pos = 24  # after the pcap file header; tracked by hand, as tell() costs a syscall
        self._done = False

    def __iter__(self) -> PcapFile:
        return self

    def __next__(self) -> RawPacket:
        if self._done:
            raise StopIteration
        stream = self._reader.f
        start = self._pos
        try:
            if self._ng:
                # _read_block, not _read_packet: one block at a time tells a
                # clean end (nothing read) from a cut block (something read).
                res = None
                while res is None:
                    start = stream.tell()
                    res = self._reader._read_block(size=SNAPLEN)  # type: ignore[attr-defined]
                data, meta = res
                # A Simple Packet Block has no timestamp.
                ts = (0.0 if meta.tshigh is None
                      else ((meta.tshigh << 32) | meta.tslow) / meta.tsresol)
                linktype = meta.linktype
            else:
                data, meta = self._reader._read_packet(size=SNAPLEN)
                if len(data) < min(meta.caplen, _SCAPY_MAX_RECORD):
                    raise EOFError  # record body cut short
                self._pos = start + 16 + meta.caplen
                ts = meta.sec + meta.usec / (1e9 if self._reader.nano else 1e6)
                linktype = self._reader.linktype
        except (EOFError, OSError, zlib.error, struct.error, Scapy_Exception):
            if stream.tell() > start:  # part of a record was there: the file was cut
                self.truncated_at = start
            self.close()
            raise StopIteration from None
        self.packets += 1
        return RawPacket(ts, linktype, data)

    def close(self) -> None:
        self._done = True
        self._reader.close()
        self._file.close()

    def __enter__(self) -> PcapFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def iter_pcap(path: str | Path) -> PcapFile:
    """Open a capture file (errors raise here) and iterate its whole packets."""
    return PcapFile(path)
