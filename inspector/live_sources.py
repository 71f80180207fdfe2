"""Where live frames come from: a Linux AF_PACKET socket, or scapy's L2 socket.

On Linux an AF_PACKET socket is read directly, with a kernel BPF filter for
the TCP port that also drops the second (outgoing) copy the loopback device
shows of each packet. Elsewhere scapy's L2 socket (BPF on macOS, Npcap on
Windows) does the job. Both yield ``(timestamp, frame)`` until told to stop.
"""

from __future__ import annotations

import ctypes
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator

from scapy.error import Scapy_Exception

from .errors import NO_RIGHTS_HELP, CaptureError
from .packets import LINKTYPE_ETHERNET
from .pcapwrite import SNAPLEN

# Upper bound on the final drain after stop(): a flood must not block stop forever.
_DRAIN_SECONDS = 1.0
_POLL_MS = 100


class AfPacketSource:
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


class ScapySource:
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
        self.linktype: int = conf.l2types.layer2num.get(
            self._sock.LL, LINKTYPE_ETHERNET)  # type: ignore[attr-defined]  # set by subclasses
        inner = getattr(self._sock, "ins", None)
        if isinstance(inner, socket.socket):  # scapy's Linux socket keeps a 64 KiB buffer
            inner.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, AfPacketSource._RCVBUF)

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
