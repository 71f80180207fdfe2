"""The proxy as a framing torture: deliver bytes in other pieces than they were sent.

TCP is a byte stream: one ``send`` may arrive as several ``recv``s, and
several ``send``s as one. On loopback this almost never happens by itself,
so a program that treats each ``recv`` as one message seems to work. The
proxy makes it happen, on purpose and every time:

- ``chunk=1``: every byte is its own ``send`` on a ``TCP_NODELAY`` socket,
  and the next byte waits ``gap`` seconds (default 5 ms), so a receiver that
  is waiting in ``recv`` wakes up for each byte: ``recv(1024)`` returns the
  first byte of a message, never the whole message.
- ``chunk=N``: pieces of N bytes; ``chunk="random"``: pieces of 1 to 7
  bytes, drawn from the seeded generator.
- ``merge=N``: what the proxy reads is held and delivered with ONE ``send``
  once 2 to N reads are together (the count is drawn from the seeded
  generator; ``merge=2`` is always 2) or ``hold`` seconds (default 50 ms)
  after the first of them, whichever comes first; a single ``send`` of a few
  KiB arrives on loopback as one piece, so the receiver's ``recv`` gets two
  or more messages at once.

``merge`` and ``chunk`` may be combined (merged, then cut). ``Pacer`` is
sans-I/O: it says what to send, the relay thread sends it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from .errors import ProxyError

RANDOM_CHUNK = (1, 7)  # smallest and largest piece of chunk="random"
Chunking = int | Literal["random"] | None


@dataclass(frozen=True, slots=True)
class Torture:
    """How one direction's bytes are delivered. The default changes nothing."""

    chunk: Chunking = None
    merge: int | None = None
    gap: float = 0.005  # seconds between two pieces of a chunked delivery
    hold: float = 0.05  # seconds a merge waits for more reads

    def __post_init__(self) -> None:
        if self.chunk is not None and self.chunk != "random" and (
                not isinstance(self.chunk, int) or self.chunk < 1):
            raise ProxyError("bad_option", f"chunk must be a size >= 1 or 'random', "
                                           f"not {self.chunk!r}")
        if self.merge is not None and self.merge < 2:
            raise ProxyError("bad_option", f"merge must be 2 or more reads, not {self.merge}")
        if self.gap < 0 or self.hold <= 0:
            raise ProxyError("bad_option", "gap must be >= 0 and hold > 0 seconds")

    @property
    def active(self) -> bool:
        return self.chunk is not None or self.merge is not None


class Pacer:
    """One direction's plan: which pieces to send, and how long held bytes may wait."""

    def __init__(self, torture: Torture, rng: random.Random) -> None:
        self.torture = torture
        self._rng = rng
        self._held: list[bytes] = []
        self._want = self._draw_merge()
        self.held_since: float | None = None  # monotonic time of the oldest held read
        self._left = 0  # bytes still due in the current piece when a read ended inside it

    def _draw_merge(self) -> int:
        merge = self.torture.merge
        return self._rng.randint(2, merge) if merge is not None else 1

    def take(self, data: bytes, now: float) -> list[bytes]:
        """The pieces to send for one read (none while a merge holds it)."""
        if self.torture.merge is None:
            return self._cut(data)
        self._held.append(data)
        if self.held_since is None:
            self.held_since = now
        if len(self._held) < self._want:
            return []
        return self.flush()

    def flush(self) -> list[bytes]:
        """The pieces for whatever is held (its time is up, or the stream ends)."""
        data = b"".join(self._held)
        self._held.clear()
        self.held_since = None
        self._want = self._draw_merge()
        return self._cut(data) if data else []

    def wait_left(self, now: float) -> float | None:
        """Seconds the held bytes may still wait; None when nothing is held."""
        if self.held_since is None:
            return None
        return max(0.0, self.held_since + self.torture.hold - now)

    def _cut(self, data: bytes) -> list[bytes]:
        chunk = self.torture.chunk
        if chunk is None:
            return [data]
        # Cuts fall at stream offsets fixed by the seed (a piece cut short by the
        # end of a read goes on in the next), and wherever a read ends.
        pieces = []
        start = 0
        while start < len(data):
            if not self._left:
                self._left = self._rng.randint(*RANDOM_CHUNK) if chunk == "random" else chunk
            piece = data[start : start + self._left]
            pieces.append(piece)
            start += len(piece)
            self._left -= len(piece)
        return pieces
