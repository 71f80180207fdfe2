"""Where the demo (and a lesson) gets its bytes: a live sniff, or the proxy.

Sniffing loopback needs capture rights; the proxy tap needs none. Both give
the same stream events, so everything after this point is the same.

Either writes its pcap as it goes, flushed every ``FLUSH_SECONDS``: a crash,
a kill or a Ctrl-C loses at most the last moments of the capture.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from .decode import Decoded
from .errors import CaptureError
from .events import Event
from .livecapture import LiveCapture
from .packets import Segment
from .pipeline import decode_events, reassemble
from .proxy import Proxy
from .synth import EventPcap

FLUSH_SECONDS = 0.2


class _Every:
    """Calls ``work`` every ``seconds`` in a thread of its own, until ``stop``."""

    def __init__(self, seconds: float, work: Callable[[], None]) -> None:
        self._seconds = seconds
        self._work = work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pcap-flush", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            self._work()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


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
        self._flusher = _Every(FLUSH_SECONDS, self._capture.flush) if pcap else None

    def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.stop()  # before the pcap closes
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
        self._out = EventPcap(pcap) if pcap else None  # cannot write it: say so before relaying
        self._written = 0  # events already in the pcap
        self._proxy = Proxy("127.0.0.1", 0, ("127.0.0.1", port))
        self._proxy.start()
        self.client_port = self._proxy.address[1]
        self.pcap = pcap
        self.explanation = (f"{reason}; clients connect through the proxy tap on port "
                            f"{self.client_port}, which relays to {port} and records both "
                            "directions" + (f"; the pcap {pcap} is rebuilt from that recording"
                                            if pcap else ""))
        self._flusher = _Every(FLUSH_SECONDS, self._write) if pcap else None

    def _write(self) -> None:
        """Append the events recorded since the last call to the pcap, and flush it."""
        assert self._out is not None
        events = self.events()
        self._out.write(events[self._written:])
        self._written = len(events)
        self._out.flush()

    def stop(self) -> None:
        self._proxy.stop()
        if self._flusher is not None and self._out is not None:
            self._flusher.stop()
            self._write()  # what came in since the last flush, and the cut connections
            self._out.close()

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
