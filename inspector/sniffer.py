"""A live capture in its own process, so decoding cannot make it drop packets.

In one process the capture thread and the decoder share the GIL: while the
decoder holds it, packets pile up in the kernel, and past its buffer the
kernel drops them. Here a child process (spawned, so it also works on
Windows and macOS) runs the ``LiveCapture`` and hands the segments over in
batches through a pipe; the parent decodes them at its own pace.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from multiprocessing.connection import Connection as Pipe
from pathlib import Path

from .errors import CaptureError
from .livecapture import CaptureStats, LiveCapture
from .packets import Segment

BATCH_SECONDS = 0.05  # how often the child hands over what it caught
START_TIMEOUT = 20.0  # spawning a Python and importing scapy can take seconds


def _child(pipe: Pipe, stop: threading.Event, iface: str | None, port: int,
           pcap: str | None) -> None:
    """Body of the capture process: capture, and send segments in batches."""
    caught: list[Segment] = []
    capture = LiveCapture(iface, port, caught.append, pcap_out=pcap)
    try:
        capture.start()
    except CaptureError as exc:
        pipe.send(("error", exc.code, exc.message))
        return
    pipe.send(("started", capture.iface))
    while not stop.wait(BATCH_SECONDS):
        if caught:
            # Swapping the list is atomic under the GIL; the capture thread
            # appends to the new one.
            batch, caught[:] = list(caught), []
            pipe.send(("segments", batch))
    stats = capture.stop()
    if caught:
        pipe.send(("segments", list(caught)))
    pipe.send(("stats", stats))


class SniffProcess:
    """Capture TCP ``port`` on ``iface`` (default: loopback) in a child process."""

    def __init__(self, iface: str | None, port: int, pcap: str | Path | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe(duplex=False)
        self._stop = context.Event()
        self._process = context.Process(
            target=_child, args=(child_end, self._stop, iface, port,
                                 str(pcap) if pcap else None),
            name="capture", daemon=True)
        self._child_end = child_end
        self.iface: str | None = None
        self.stats: CaptureStats | None = None

    def start(self) -> None:
        """Start the child; raises ``CaptureError`` (no rights, no such interface) at once."""
        self._process.start()
        self._child_end.close()  # the parent keeps only its end: EOF when the child dies
        if not self._pipe.poll(START_TIMEOUT):
            self._process.kill()
            raise CaptureError("capture_failed", "the capture process did not start in time")
        kind, *rest = self._pipe.recv()
        if kind == "error":
            self._process.join(5)
            raise CaptureError(rest[0], rest[1])
        self.iface = rest[0]

    def segments(self, timeout: float) -> list[Segment]:
        """What was caught since the last call (waits up to ``timeout`` for some)."""
        out: list[Segment] = []
        deadline = time.monotonic() + timeout
        while self._pipe.poll(max(0.0, deadline - time.monotonic())):
            kind, payload = self._pipe.recv()
            if kind == "segments":
                out += payload
                deadline = 0.0  # return what we have; do not wait for more
            elif kind == "stats":
                self.stats = payload
                break
        return out

    def stop(self) -> list[Segment]:
        """Stop capturing; returns the segments not yet collected. ``stats`` is then set."""
        self._stop.set()
        rest: list[Segment] = []
        deadline = time.monotonic() + 10
        while self.stats is None and time.monotonic() < deadline:
            try:
                rest += self.segments(timeout=max(0.0, deadline - time.monotonic()))
            except EOFError:
                break  # the child died: what we have is all there is
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
        return rest
