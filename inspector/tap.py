"""Where the demo (and a lesson) gets its bytes: a live sniff, or the proxy.

Sniffing loopback needs capture rights; the proxy tap needs none. Both give
the same stream events, so everything after this point is the same.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal

from .decode import Decoded
from .errors import CaptureError
from .events import Event
from .livecapture import LiveCapture
from .packets import Segment
from .pipeline import decode_events, reassemble
from .proxy import Proxy
from .synth import write_pcap


class Tap:
    """A running capture of one server port; ``stop`` it, then ``decode``."""

    method: Literal["sniff", "proxy"]
    explanation: str
    client_port: int  # where clients should connect to be captured
    pcap: Path | None

    def stop(self) -> None:
        raise NotImplementedError

    def events(self) -> list[Event]:
        raise NotImplementedError

    def decode(self, keys: dict[bytes, bytes] | None) -> list[Decoded]:
        """Every frame and note, decrypted where ``keys`` (a key log) allow."""
        return list(decode_events(self.events(), keys))


class SniffTap(Tap):
    method = "sniff"

    def __init__(self, port: int, pcap: Path | None, iface: str | None = None) -> None:
        self._segments: list[Segment] = []
        self._lock = threading.Lock()
        self._capture = LiveCapture(iface, port, self._segments.append, pcap_out=pcap)
        self._capture.start()
        self._port = port
        self.client_port = port
        self.pcap = pcap
        self.explanation = (f"live capture on {self._capture.iface}, tcp port {port}"
                            + (f", written to {pcap}" if pcap else ""))
        self._events: list[Event] | None = None

    def stop(self) -> None:
        stats = self._capture.stop()
        if stats.dropped:
            self.explanation += f" (the kernel dropped {stats.dropped} packets)"

    def events(self) -> list[Event]:
        if self._events is None:
            self._events = list(reassemble(self._segments, self._port))
        return self._events


class ProxyTap(Tap):
    method = "proxy"

    def __init__(self, port: int, pcap: Path | None, reason: str) -> None:
        self._proxy = Proxy("127.0.0.1", 0, ("127.0.0.1", port))
        self._proxy.start()
        self.client_port = self._proxy.address[1]
        self.pcap = pcap
        self.explanation = (f"{reason}; clients connect through the proxy tap on port "
                            f"{self.client_port}, which relays to {port} and records both "
                            "directions" + (f"; the pcap {pcap} is rebuilt from that recording"
                                            if pcap else ""))

    def stop(self) -> None:
        self._proxy.stop()
        if self.pcap is not None:
            write_pcap(self.pcap, self.events())

    def events(self) -> list[Event]:
        return list(self._proxy.events())


def open_tap(port: int, pcap: Path | None, *, prefer: str = "sniff") -> Tap:
    """Sniff where we may; otherwise fall back to the proxy, saying why."""
    if prefer == "proxy":
        return ProxyTap(port, pcap, "the proxy was asked for")
    try:
        return SniffTap(port, pcap)
    except CaptureError as exc:
        return ProxyTap(port, pcap, f"no live capture ({exc.code}: {exc.message})")
