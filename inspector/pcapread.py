"""Reading capture files: pcap and pcapng, whole packets only, cut files reported.

A reader of our own, in ``struct`` over large reads: the formats are small
(https://www.tcpdump.org/manpages/pcap-savefile.5.html and the pcapng draft,
https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html) and this is
the hot path of ``socketlab read``. scapy stays for live capture; its file
readers cost a method call and a metadata object per record and are reached
through private methods.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from .errors import CaptureError
from .packets import RawPacket
from .pcapwrite import SNAPLEN

_new_tuple = tuple.__new__  # a named tuple made by C: its own ``__new__`` is Python code

_GZIP_MAGIC = b"\x1f\x8b"
_PCAPNG_SHB = 0x0A0D0D0A
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
# pcap magic -> (byte order, ticks per second)
_PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4": (">", 1e6), b"\xd4\xc3\xb2\xa1": ("<", 1e6),
    b"\xa1\xb2\x3c\x4d": (">", 1e9), b"\x4d\x3c\xb2\xa1": ("<", 1e9),
}
_CHUNK = 1 << 20  # bytes per read: large enough that reads cost nothing, small enough to stay flat
# A record longer than this is not a packet but a corrupt length: stop there, as a cut file.
_MAX_RECORD = 1 << 24
# pcapng block types that carry a packet
_EPB, _SPB, _OLD_PB, _IDB = 6, 3, 2, 1
_IF_TSRESOL, _IF_TSOFFSET = 9, 14


class _Cut(Exception):
    """The file ends inside a record (or a record's length is absurd)."""


class _Chunks:
    """A file read in large chunks, handing out byte ranges; tracks the absolute offset."""

    def __init__(self, file: BinaryIO, start: bytes) -> None:
        self._file = file
        self.buf = start
        self.pos = 0  # offset of the next unread byte in buf
        self.base = 0  # absolute file offset of buf[0]

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def ensure(self, size: int) -> bool:
        """True once ``size`` bytes are buffered from ``pos``; False at the end of the file."""
        while len(self.buf) - self.pos < size:
            more = self._file.read(max(_CHUNK, size))
            if not more:
                return False
            self.base += self.pos
            self.buf = self.buf[self.pos:] + more
            self.pos = 0
        return True


class PcapFile:
    """Stream the frames of a pcap or pcapng file as ``RawPacket``s.

    Only whole packets are yielded. When the iteration ends, ``truncated_at``
    is the byte offset where an incomplete or damaged record starts (the file
    was cut short, e.g. a capture killed mid-write, or a block is too short for
    its fields), or ``None`` if the file ended cleanly; ``packets`` counts the
    packets yielded. For a gzip-compressed
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
            if magic[:2] == _GZIP_MAGIC:
                self._file.seek(0)
                self._file = gzip.GzipFile(fileobj=self._file)  # type: ignore[assignment]
                magic = self._read_header(4)
            self._records = self._open_format(magic)
        except BaseException:
            self._file.close()
            raise

    def _read_header(self, size: int) -> bytes:
        try:
            return self._file.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise CaptureError("not_pcap",
                               f"{self.path}: not a readable gzip file ({exc})") from None

    def _open_format(self, magic: bytes) -> Generator[RawPacket, None, None]:
        if magic in _PCAP_MAGICS:
            order, ticks = _PCAP_MAGICS[magic]
            rest = self._read_header(20)
            if len(rest) < 20:
                raise CaptureError("not_pcap", f"{self.path}: the pcap file header is cut short")
            linktype = struct.unpack(order + "I", rest[16:20])[0] & 0x0FFFFFFF
            self._chunks = _Chunks(self._file, b"")
            self._chunks.base = 24
            return self._pcap_records(self._chunks, order, ticks, linktype)
        if len(magic) == 4 and int.from_bytes(magic, "little") == _PCAPNG_SHB:
            self._chunks = _Chunks(self._file, magic)
            return self._pcapng_records(self._chunks)
        raise CaptureError("not_pcap", f"{self.path} is not a pcap or pcapng file "
                                       f"(starts with {magic!r})")

    def _pcap_records(self, chunks: _Chunks, order: str, ticks: float,
                      linktype: int) -> Generator[RawPacket, None, None]:
        header = struct.Struct(order + "IIII")
        unpack, size = header.unpack_from, header.size
        while True:
            buf, pos = chunks.buf, chunks.pos
            if len(buf) - pos < size:
                if not chunks.ensure(size):
                    if chunks.pos < len(chunks.buf):
                        raise _Cut
                    return
                buf, pos = chunks.buf, chunks.pos
            sec, frac, caplen, _ = unpack(buf, pos)
            if caplen > _MAX_RECORD:
                raise _Cut
            end = pos + size + caplen
            if end > len(buf):
                if not chunks.ensure(size + caplen):
                    raise _Cut
                buf, pos = chunks.buf, chunks.pos
                end = pos + size + caplen
            chunks.pos = end
            start = pos + size
            yield _new_tuple(RawPacket, (sec + frac / ticks, linktype,
                                         buf[start:start + min(caplen, SNAPLEN)]))

    def _pcapng_records(self, chunks: _Chunks) -> Generator[RawPacket, None, None]:
        order = "<"
        interfaces: list[tuple[int, float, int]] = []  # linktype, ticks per second, offset (s)
        while True:
            if not chunks.ensure(8):
                if chunks.pos < len(chunks.buf):
                    raise _Cut
                return
            buf, pos = chunks.buf, chunks.pos
            kind = int.from_bytes(buf[pos:pos + 4], "little")
            if kind == _PCAPNG_SHB:  # a section starts: its byte order holds until the next
                if not chunks.ensure(12):
                    raise _Cut
                buf, pos = chunks.buf, chunks.pos
                magic = buf[pos + 8:pos + 12]
                if magic == _BYTE_ORDER_MAGIC.to_bytes(4, "little"):
                    order = "<"
                elif magic == _BYTE_ORDER_MAGIC.to_bytes(4, "big"):
                    order = ">"
                elif chunks.offset == 0:
                    raise CaptureError("not_pcap", f"{self.path}: a pcapng section with a bad "
                                                   "byte-order magic")
                else:
                    raise _Cut  # a damaged later section: what came before stands
                interfaces = []
            else:
                kind = struct.unpack_from(order + "I", buf, pos)[0]
            length = struct.unpack_from(order + "I", buf, pos + 4)[0]
            if length < 12 or length % 4 or length > _MAX_RECORD:
                raise _Cut
            if not chunks.ensure(length):
                raise _Cut
            buf, pos = chunks.buf, chunks.pos
            body = buf[pos + 8:pos + length - 4]
            # A block too short for its fields is damage, like a cut: _Cut is raised
            # before the block is consumed, so truncated_at is where it starts.
            packet = None
            if kind in (_EPB, _OLD_PB):
                if len(body) < 20:
                    raise _Cut
                if kind == _EPB:
                    iface, high, low, caplen, _ = struct.unpack_from(order + "IIIII", body)
                else:
                    iface, _, high, low, caplen, _ = struct.unpack_from(order + "HHIIII", body)
                if iface >= len(interfaces) or 20 + caplen > len(body):
                    raise _Cut
                linktype, ticks, offset = interfaces[iface]
                packet = RawPacket(((high << 32) | low) / ticks + offset, linktype,
                                   body[20:20 + min(caplen, SNAPLEN)])
            elif kind == _SPB:
                if not interfaces or len(body) < 4:
                    raise _Cut
                (original,) = struct.unpack_from(order + "I", body)
                packet = RawPacket(0.0, interfaces[0][0], body[4:4 + min(original, SNAPLEN)])
            elif kind == _IDB:
                interfaces.append(_interface(body, order))
            chunks.pos = pos + length
            if packet is not None:
                yield packet

    def __iter__(self) -> Iterator[RawPacket]:
        # One generator around the records, not a ``__next__`` call per packet.
        count = 0
        try:
            for packet in self._records:
                count += 1
                yield packet
        except (_Cut, OSError, EOFError, zlib.error):  # cut, or a damaged gzip stream
            # A record is consumed only once whole, so the reader stands at its start.
            self.truncated_at = self._chunks.offset
        finally:
            self.packets += count
            self.close()

    def close(self) -> None:
        self._records.close()
        self._file.close()

    def __enter__(self) -> PcapFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _interface(body: bytes, order: str) -> tuple[int, float, int]:
    """An Interface Description Block: link type, timestamp ticks per second, offset.

    Raises ``_Cut`` if the block is shorter than its fields or an option overruns it.
    """
    if len(body) < 8:  # link type, reserved, snap length
        raise _Cut
    linktype = struct.unpack_from(order + "H", body)[0]
    ticks, offset = 1e6, 0
    pos = 8
    while pos + 4 <= len(body):
        code, size = struct.unpack_from(order + "HH", body, pos)
        if code == 0:
            break
        value = body[pos + 4:pos + 4 + size]
        if len(value) < size:
            raise _Cut
        if code == _IF_TSRESOL and size >= 1:
            exponent = value[0] & 0x7F
            ticks = float(2 ** exponent if value[0] & 0x80 else 10 ** exponent)
        elif code == _IF_TSOFFSET and size >= 8:
            offset = struct.unpack_from(order + "q", value)[0]
        pos += 4 + (size + 3) // 4 * 4
    return linktype, ticks, offset


def iter_pcap(path: str | Path) -> PcapFile:
    """Open a capture file (errors raise here) and iterate its whole packets."""
    return PcapFile(path)
