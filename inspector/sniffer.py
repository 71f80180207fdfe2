"""A live capture in its own process, so decoding cannot make it drop packets.

In one process the capture thread and the decoder share the GIL: while the
decoder holds it, packets pile up in the kernel, and past its buffer the
kernel drops them. Here a child process (spawned, so it also works on
Windows and macOS) runs the ``LiveCapture`` and hands the segments over in
batches through a pipe; the parent decodes them at its own pace.

However the capture ends, the pcap keeps what was shown: the child flushes
the pcap before it hands a batch over, so whatever the parent shows is on
disk already, even if the child is then killed. The child leaves Ctrl-C,
SIGTERM and a closing terminal (SIGHUP, sent to the whole process group) to
the parent, which tells it to stop; if the parent dies, the child sees its
end of the control pipe close, stops and closes the pcap by itself.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection as Pipe
from pathlib import Path

from .errors import CaptureError
from .livecapture import CaptureStats, LiveCapture
from .packets import Segment

BATCH_SECONDS = 0.05  # how often the child hands over what it caught
START_TIMEOUT = 20.0  # spawning a Python and importing scapy can take seconds
STOP_TIMEOUT = 10.0  # the child's final drain is bounded at a second; this is a backstop
# The signals a terminal sends to the whole process group: the parent's to handle.
_GROUP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                       if hasattr(signal, name))


def _child(pipe: Pipe, control: Pipe, iface: str | None, port: int,
           pcap: str | None) -> None:
    """Body of the capture process: capture, and send segments in batches."""
    for signum in _GROUP_SIGNALS:  # already ignored since birth where it was spawned from
        signal.signal(signum, signal.SIG_IGN)  # the main thread (see _group_signals_ignored)
    caught: list[Segment] = []
    capture = LiveCapture(iface, port, caught.append, pcap_out=pcap)
    try:
        capture.start()
    except CaptureError as exc:
        pipe.send(("error", exc.code, exc.message))
        return
    try:
        pipe.send(("started", capture.iface))
        # poll() is True on the parent's word, and at EOF when the parent is gone.
        while not control.poll(BATCH_SECONDS):
            _hand_over(caught, capture.flush, pipe)
    except OSError:  # the parent is gone (a broken pipe): close the pcap whole and end
        capture.stop()
        return
    try:
        stats = capture.stop()  # closes the pcap: nothing left to flush
        _hand_over(caught, lambda: None, pipe)
        pipe.send(("stats", stats))
    except OSError:
        pass  # the parent went away while we stopped: the pcap is closed all the same


def _hand_over(caught: list[Segment], flush: Callable[[], None], pipe: Pipe) -> None:
    if caught:
        batch = caught[:]
        # Only the first len(batch) go: the capture thread may append meanwhile.
        del caught[:len(batch)]
        flush()  # on disk before the parent can show it
        pipe.send(("segments", batch))


@contextmanager
def _group_signals_ignored() -> Iterator[None]:
    """Ignore the group's signals for a moment: while a child is spawned (it inherits
    SIG_IGN through exec, so a Ctrl-C during its start-up cannot kill it with a
    traceback), and while the capture stops."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal.signal works only there; the child ignores them once it runs
        return
    before = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _GROUP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


class SniffProcess:
    """Capture TCP ``port`` on ``iface`` (default: loopback) in a child process."""

    def __init__(self, iface: str | None, port: int, pcap: str | Path | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe(duplex=False)
        child_control, self._control = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child, args=(child_end, child_control, iface, port,
                                 str(pcap) if pcap else None),
            name="capture", daemon=True)
        self._child_ends = (child_end, child_control)
        self._ended = False
        self.iface: str | None = None
        self.stats: CaptureStats | None = None

    @property
    def running(self) -> bool:
        """False once the child has sent its count, or died."""
        return not self._ended

    def start(self) -> None:
        """Start the child; raises ``CaptureError`` (no rights, no such interface) at once."""
        with _group_signals_ignored():
            self._process.start()
        for end in self._child_ends:  # the parent keeps only its ends: EOF when one side dies
            end.close()
        try:
            if not self._pipe.poll(START_TIMEOUT):
                raise CaptureError("capture_failed", "the capture process did not start in time")
            kind, *rest = self._pipe.recv()
        except EOFError:
            raise CaptureError("capture_failed", "the capture process ended as it started") \
                from None
        except BaseException:  # also Ctrl-C while it starts: no capture left behind
            self._process.kill()
            self._process.join(5)
            raise
        if kind == "error":
            self._process.join(5)
            raise CaptureError(rest[0], rest[1])
        self.iface = rest[0]

    def segments(self, timeout: float) -> list[Segment]:
        """What was caught since the last call (waits up to ``timeout`` for some)."""
        out: list[Segment] = []
        deadline = time.monotonic() + timeout
        while not self._ended and self._pipe.poll(max(0.0, deadline - time.monotonic())):
            try:
                kind, payload = self._pipe.recv()
            except EOFError:  # the child died: what it handed over is all there is
                self._ended = True
                break
            if kind == "segments":
                out += payload
                deadline = 0.0  # return what we have; do not wait for more
            elif kind == "stats":
                self.stats = payload
                self._ended = True
        return out

    def stop(self) -> list[Segment]:
        """Stop capturing; returns the segments not yet collected. ``stats`` is then set,
        unless the child died first. A second Ctrl-C meanwhile is ignored: the pcap is
        being closed."""
        with _group_signals_ignored():
            try:
                self._control.send("stop")
            except OSError:
                pass  # the child is gone already
            rest: list[Segment] = []
            deadline = time.monotonic() + STOP_TIMEOUT
            while not self._ended and time.monotonic() < deadline:
                rest += self.segments(timeout=max(0.0, deadline - time.monotonic()))
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
        self._control.close()
        self._pipe.close()
        return rest
