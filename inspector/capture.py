"""Packet capture: reading pcap files and sniffing loopback live.

The only module of socketlab that imports scapy. Everything here hands out raw
frames or ``Segment``s parsed by ``inspector.packets``; scapy never dissects a
packet, which keeps the live path fast enough not to lose packets.

On Linux the live capture reads an AF_PACKET socket directly, with a kernel
BPF filter for the TCP port that also drops the second (outgoing) copy the
loopback device shows of each packet. Elsewhere it uses scapy's L2 socket.
"""

from __future__ import annotations

import ctypes
import logging
import select
import socket
import struct
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Callable, Iterator, Literal

from scapy.data import MTU
from scapy.error import Scapy_Exception
from scapy.utils import RawPcapNgReader, RawPcapReader

from socketlab.inspector.packets import LINKTYPE_ETHERNET, RawPacket, Segment, parse_packet
from socketlab.inspector.pcapwrite import SNAPLEN, PcapWriter
from socketlab.protocol.errors import SocketlabError

log = logging.getLogger(__name__)

NO_RIGHTS_HELP = (
    "capturing packets needs extra rights. Run as root (sudo) or as Administrator; "
    "or grant this Python the capture capability: "
    "sudo setcap cap_net_raw+eip $(readlink -f $(which python3)); "
    "on Windows install Npcap (https://npcap.com) with loopback support. "
    "Or use `socketlab proxy`, which needs no rights."
)

_PCAP_MAGICS = {b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1",
                b"\x0a\x0d\x0d\x0a"}  # pcap (µs, ns; both byte orders) and pcapng
_GZIP_MAGIC = b"\x1f\x8b"
_SCAPY_MAX_RECORD = 4 * MTU  # scapy reads this much of a pcap record and skips the rest


class CaptureError(SocketlabError):
    """A capture problem with a stable ``code`` and a message saying what to do."""


# --- choosing the interface -------------------------------------------------

def loopback_interface() -> str:
    """Name of the loopback interface to sniff on this OS."""
    if sys.platform == "win32":
        # Imported here: loading scapy's interface tables takes most of a second.
        from scapy.all import conf

        try:
            return conf.ifaces.dev_from_networkname(conf.loopback_name).network_name
        except ValueError:
            raise CaptureError(
                "no_loopback",
                "no loopback capture adapter: install Npcap (https://npcap.com) with "
                "'Support loopback traffic', or use `socketlab proxy`.") from None
    names = {name for _, name in socket.if_nameindex()}
    for name in ("lo", "lo0"):  # Linux, then macOS and the BSDs
        if name in names:
            return name
    raise CaptureError("no_loopback",
                       f"no loopback interface (looked for lo and lo0 among {sorted(names)})")


# --- reading capture files --------------------------------------------------

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
            self._file: BinaryIO = open(self.path, "rb")
        except OSError as exc:
            raise CaptureError("cannot_open", f"{self.path}: {exc.strerror}") from None
        try:
            magic = self._file.read(4)
            if magic not in _PCAP_MAGICS and magic[:2] != _GZIP_MAGIC:
                raise CaptureError("not_pcap", f"{self.path} is not a pcap or pcapng file "
                                               f"(starts with {magic!r})")
            self._file.seek(0)
            self._reader = RawPcapReader(self._file)  # returns a RawPcapNgReader for pcapng
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
                    res = self._reader._read_block(size=SNAPLEN)
                data, meta = res
                if meta.tshigh is None:  # a Simple Packet Block has no timestamp
                    ts = 0.0
                else:
                    ts = ((meta.tshigh << 32) | meta.tslow) / meta.tsresol
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


# --- live capture -----------------------------------------------------------

@dataclass(frozen=True)
class CaptureStats:
    received: int  # frames read from the capture socket
    delivered: int  # TCP segments on the port handed to on_packet
    written: int  # frames written to the pcap file
    dropped: int | None  # frames the kernel dropped because we read too slowly; None: unknown


Backend = Literal["auto", "af_packet", "scapy"]


class LiveCapture:
    """Sniff TCP segments to or from ``port`` on ``iface`` in a background thread.

    ``on_packet`` is called in the capture thread with every segment, once
    each, in capture order: keep it cheap (e.g. put the segment on a queue),
    or the kernel drops packets. ``start`` raises ``CaptureError`` at once
    (``no_capture_rights``, ``no_such_interface``, ``cannot_write``,
    ``capture_failed``); with ``iface=None`` so may the constructor
    (``no_loopback``).
    ``stop`` reads what is already queued, closes everything and re-raises an
    exception ``on_packet`` raised.
    """

    def __init__(self, iface: str | None, port: int, on_packet: Callable[[Segment], None],
                 pcap_out: str | Path | None = None, *, backend: Backend = "auto") -> None:
        self.iface = iface or loopback_interface()
        self.port = port
        self.on_packet = on_packet
        self.pcap_out = pcap_out
        self.backend = backend
        self._source: _AfPacketSource | _ScapySource | None = None
        self._writer: PcapWriter | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._error: BaseException | None = None
        self._received = 0
        self._delivered = 0

    def start(self) -> None:
        self._source = self._open_source()
        if self.pcap_out is not None:
            try:
                self._writer = PcapWriter(self.pcap_out, self._source.linktype)
            except OSError as exc:
                self._source.close()
                raise CaptureError("cannot_write", f"{self.pcap_out}: {exc.strerror}") from None
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    def _open_source(self) -> _AfPacketSource | _ScapySource:
        if self.backend == "scapy" or (self.backend == "auto"
                                       and not sys.platform.startswith("linux")):
            return _ScapySource(self.iface, self.port)
        source = _AfPacketSource(self.iface, self.port)
        if source.ethernet:
            return source
        source.close()
        if self.backend == "af_packet":
            raise CaptureError("capture_failed", f"{self.iface}: not an Ethernet-framed "
                                                 "interface; use the scapy backend")
        return _ScapySource(self.iface, self.port)  # e.g. a tun device: scapy knows its framing

    def stop(self, timeout: float = 5.0) -> CaptureStats:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("capture thread still busy in on_packet after %.1f s", timeout)
        stats = self.stats()
        if self._source is not None:
            self._source.close()
        if self._writer is not None:
            self._writer.close()
        if self._error is not None:
            raise self._error
        return stats

    def stats(self) -> CaptureStats:
        return CaptureStats(
            received=self._received,
            delivered=self._delivered,
            written=self._writer.count if self._writer else 0,
            dropped=self._source.dropped() if self._source else None,
        )

    def __enter__(self) -> LiveCapture:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _run(self) -> None:
        assert self._source is not None
        linktype = self._source.linktype
        try:
            for ts, data in self._source.frames(self._stopping):
                self._received += 1
                seg = parse_packet(ts, linktype, data)
                # Cheap insurance: the capture filter already matched the port.
                if seg is None or self.port not in (seg.src[1], seg.dst[1]):
                    continue
                if self._writer is not None:
                    self._writer.write(ts, data)
                self._delivered += 1
                self.on_packet(seg)
        except BaseException as exc:  # surfaced by stop(), in the caller's thread
            log.error("capture thread failed: %s", exc)
            self._error = exc


# Upper bound on the final drain after stop(): a flood must not block stop forever.
_DRAIN_SECONDS = 1.0
_POLL_MS = 100


class _AfPacketSource:
    """A Linux AF_PACKET socket with a kernel filter for one TCP port."""

    _ETH_P_ALL = 0x0003
    _SO_ATTACH_FILTER = 26
    _SO_RCVBUFFORCE = 33
    _SOL_PACKET = 263
    _PACKET_STATISTICS = 6
    _SO_TIMESTAMPNS = 35
    _ARPHRD_ETHER = 1
    _ARPHRD_LOOPBACK = 772
    _RCVBUF = 8 << 20  # absorbs bursts while the reader thread is descheduled

    linktype = LINKTYPE_ETHERNET  # Linux loopback carries a zeroed Ethernet header

    def __init__(self, iface: str, port: int) -> None:
        self.ethernet = False  # whether the interface's framing is Ethernet
        self._drops = 0
        if not hasattr(socket, "AF_PACKET"):
            raise CaptureError("capture_failed", "AF_PACKET capture exists only on Linux")
        try:
            # Protocol 0 receives nothing until the filter is in place.
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise CaptureError("no_capture_rights", NO_RIGHTS_HELP) from None
        try:
            self._sock.bind((iface, 0))
            hatype = self._sock.getsockname()[3]
            if hatype not in (self._ARPHRD_ETHER, self._ARPHRD_LOOPBACK):
                return
            self.ethernet = True
            self._attach_filter(port, loopback=hatype == self._ARPHRD_LOOPBACK)
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, self._SO_RCVBUFFORCE, self._RCVBUF)
            except PermissionError:  # needs CAP_NET_ADMIN; the plain option is capped lower
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._RCVBUF)
            # Kernel timestamps stay true when the reader lags behind a burst.
            self._sock.setsockopt(socket.SOL_SOCKET, self._SO_TIMESTAMPNS, 1)
            self._sock.bind((iface, self._ETH_P_ALL))
            self._sock.setblocking(False)
            self.dropped()  # reading the statistics resets them: start from zero
        except OSError as exc:
            self._sock.close()
            if exc.errno == 19:  # ENODEV
                raise CaptureError("no_such_interface", f"no network interface named {iface!r}") \
                    from None
            raise CaptureError("capture_failed", f"{iface}: {exc}") from None

    def _attach_filter(self, port: int, loopback: bool) -> None:
        # "tcp port PORT and not outbound" as `tcpdump -i lo -dd` compiles it,
        # copied so no libpcap is needed. Loopback shows every packet twice
        # (outgoing, then incoming); dropping the outgoing copy sees each once.
        # Elsewhere outgoing packets are real, so instruction 19 never matches.
        ldh, ldb, jeq, jset, ldx_msh, ldh_x, ret = 0x28, 0x30, 0x15, 0x45, 0xB1, 0x48, 0x06
        outgoing = 4 if loopback else 0xFFFF_FFFF
        program = [
            (ldh, 0, 0, 12),             # 0  ethertype
            (jeq, 0, 6, 0x86DD),         # 1  IPv6? else 8
            (ldb, 0, 0, 20),             # 2  next header
            (jeq, 0, 17, 6),             # 3  TCP? else drop
            (ldh, 0, 0, 54),             # 4  source port
            (jeq, 12, 0, port),          # 5  -> 18
            (ldh, 0, 0, 56),             # 6  destination port
            (jeq, 10, 13, port),         # 7  -> 18, else drop
            (jeq, 0, 12, 0x0800),        # 8  IPv4? else drop
            (ldb, 0, 0, 23),             # 9  protocol
            (jeq, 0, 10, 6),             # 10 TCP? else drop
            (ldh, 0, 0, 20),             # 11 flags + fragment offset
            (jset, 8, 0, 0x1FFF),        # 12 a later fragment: drop
            (ldx_msh, 0, 0, 14),         # 13 X = IP header length
            (ldh_x, 0, 0, 14),           # 14 source port
            (jeq, 2, 0, port),           # 15 -> 18
            (ldh_x, 0, 0, 16),           # 16 destination port
            (jeq, 0, 3, port),           # 17 else drop
            (ldh, 0, 0, 0xFFFF_F004),    # 18 packet type (SKF_AD_OFF + SKF_AD_PKTTYPE)
            (jeq, 1, 0, outgoing),       # 19 PACKET_OUTGOING: drop
            (ret, 0, 0, SNAPLEN),        # 20 accept the frame
            (ret, 0, 0, 0),              # 21 drop
        ]
        code = b"".join(struct.pack("HBBI", *insn) for insn in program)
        buf = ctypes.create_string_buffer(code, len(code))
        fprog = struct.pack("HP", len(program), ctypes.addressof(buf))
        self._sock.setsockopt(socket.SOL_SOCKET, self._SO_ATTACH_FILTER, fprog)

    def frames(self, stopping: threading.Event) -> Iterator[tuple[float, bytes]]:
        """Yield (timestamp, frame) until ``stopping`` is set and the queue is drained."""
        sock = self._sock
        buf = bytearray(SNAPLEN)
        bufs = [buf]
        view = memoryview(buf)
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        deadline = None
        while True:
            if deadline is None and stopping.is_set():
                deadline = time.monotonic() + _DRAIN_SECONDS
            if deadline is None:
                poller.poll(_POLL_MS)
            # Drain without a poll per packet: one syscall per frame under load.
            while True:
                try:
                    n, ancdata, _, _ = sock.recvmsg_into(bufs, 64)
                except BlockingIOError:
                    break
                if ancdata:  # one SCM_TIMESTAMPNS: struct timespec (16 bytes, 8 on 32-bit)
                    raw = ancdata[0][2]
                    sec, nsec = struct.unpack("qq" if len(raw) == 16 else "ii", raw)
                    ts = sec + nsec * 1e-9
                else:
                    ts = time.time()
                yield ts, bytes(view[:n])
                if deadline is not None and time.monotonic() > deadline:
                    return
            if deadline is not None:
                return

    def dropped(self) -> int:
        try:
            _, drops = struct.unpack(
                "II", self._sock.getsockopt(self._SOL_PACKET, self._PACKET_STATISTICS, 8))
        except OSError:  # socket already closed: the last count stands
            return self._drops
        self._drops += drops
        return self._drops

    def close(self) -> None:
        self._sock.close()


class _ScapySource:
    """scapy's L2 socket (BPF on macOS, Npcap on Windows) with a capture filter."""

    def __init__(self, iface: str, port: int) -> None:
        # Imported here: scapy's socket tables load slowly and Linux rarely needs them.
        from scapy.all import conf

        try:
            self._sock = conf.L2socket(iface=iface, filter=f"tcp port {port}")
        except PermissionError:
            raise CaptureError("no_capture_rights", NO_RIGHTS_HELP) from None
        except ValueError:  # scapy's "Interface '...' not found !"
            raise CaptureError("no_such_interface", f"no network interface named {iface!r}") \
                from None
        except (OSError, Scapy_Exception) as exc:
            text = str(exc)
            if "ermission" in text:  # scapy's BPF wrapper reports EACCES as a Scapy_Exception
                raise CaptureError("no_capture_rights", NO_RIGHTS_HELP) from None
            if getattr(exc, "errno", None) == 19 or "No such device" in text:
                raise CaptureError("no_such_interface",
                                   f"no network interface named {iface!r}") from None
            raise CaptureError("capture_failed", f"{iface}: {text}") from None
        self.linktype: int = conf.l2types.layer2num.get(self._sock.LL, LINKTYPE_ETHERNET)
        inner = getattr(self._sock, "ins", None)
        if isinstance(inner, socket.socket):  # scapy's Linux socket keeps a 64 KiB buffer
            inner.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _AfPacketSource._RCVBUF)

    def frames(self, stopping: threading.Event) -> Iterator[tuple[float, bytes]]:
        sock = self._sock
        deadline = None
        while True:
            if deadline is None and stopping.is_set():
                deadline = time.monotonic() + _DRAIN_SECONDS
            wait = 0 if deadline is not None else _POLL_MS / 1000
            ready = type(sock).select([sock], wait)
            if not ready and deadline is not None:
                return
            for s in ready:
                _, data, ts = s.recv_raw(SNAPLEN)
                if data is not None:  # None: the outgoing copy of a loopback packet
                    yield ts or time.time(), data
            if deadline is not None and time.monotonic() > deadline:
                return

    def dropped(self) -> int | None:
        return None  # scapy does not expose the kernel's count

    def close(self) -> None:
        self._sock.close()
