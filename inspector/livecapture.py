"""Live capture: sniff one TCP port on loopback in a background thread.

Frames come from a source in ``live_sources.py`` (an AF_PACKET socket on
Linux, scapy's L2 socket elsewhere); they are parsed by ``packets.py`` into
``Segment``s and optionally written to a pcap as they are.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from .errors import CaptureError
from .live_sources import AfPacketSource, ScapySource
from .packets import Segment, parse_packet
from .pcapwrite import PcapWriter

log = logging.getLogger(__name__)


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
        self._source: AfPacketSource | ScapySource | None = None
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

    def _open_source(self) -> AfPacketSource | ScapySource:
        if self.backend == "scapy" or (self.backend == "auto"
                                       and not sys.platform.startswith("linux")):
            return ScapySource(self.iface, self.port)
        source = AfPacketSource(self.iface, self.port)
        if source.ethernet:
            return source
        source.close()
        if self.backend == "af_packet":
            raise CaptureError("capture_failed", f"{self.iface}: not an Ethernet-framed "
                                                 "interface; use the scapy backend")
        return ScapySource(self.iface, self.port)  # e.g. a tun device: scapy knows its framing

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

    def flush(self) -> None:
        """Put what the pcap holds so far on disk (the capture goes on)."""
        if self._writer is not None:
            self._writer.flush()

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
        except BaseException as exc:  # noqa: BLE001 (re-raised by stop(), in the caller's thread)
            log.error("capture thread failed: %s", exc)
            self._error = exc
