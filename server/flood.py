"""Flood control: a token bucket per connection, and what happens past it.

Pure: the caller passes the time (``now_ms``), as to the hub. A client may
send ``burst`` messages at once, then ``rate`` per second. A message over
that is *held*: the hub answers ``Throttle`` and the reader stops reading
that client's socket until a token is there (IRC's "fake lag"), so TCP's
flow control slows the sender and nobody else waits. A client that keeps
on past its rate is told ``rate_limited`` once, then dropped with
``excess_flood``; one that pauses for as long as a full bucket takes to refill starts
with a clean slate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """How much a client may send. ``rate`` 0 turns flood control off."""

    rate: float = 10.0  # messages per second, sustained: no typist reaches it
    burst: int = 20  # messages at once (a pasted paragraph, a reconnect's catch-up)

    def __post_init__(self) -> None:
        if self.rate < 0 or self.burst < 1:
            raise ValueError("flood limits need rate >= 0 and burst >= 1")

    @property
    def warn_after(self) -> int:
        """Held messages in one episode before the client is told ``rate_limited``."""
        return self.burst

    @property
    def drop_after(self) -> int:
        """Held messages in one episode before the client is dropped (``excess_flood``)."""
        return 5 * self.burst

    @property
    def enabled(self) -> bool:
        return self.rate > 0


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; one message costs one."""

    __slots__ = ("_burst", "_last_ms", "_rate", "_tokens")

    def __init__(self, rate: float, burst: int, now_ms: int) -> None:
        self._rate = rate / 1000.0  # tokens per millisecond
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last_ms = now_ms

    def _refill(self, now_ms: int) -> None:
        elapsed = max(0, now_ms - self._last_ms)  # a clock stepped back refills nothing
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._last_ms = max(self._last_ms, now_ms)

    def take(self, now_ms: int) -> int:
        """Take a token: 0 if there was one, else the milliseconds until there is (none taken)."""
        self._refill(now_ms)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - self._tokens) / self._rate - 1e-6))  # (float dust)


class FloodState:
    """One connection's bucket and how long it has been over its rate."""

    __slots__ = ("bucket", "free_at_ms", "held", "warned")

    def __init__(self, limits: FloodLimits, now_ms: int) -> None:
        self.bucket = TokenBucket(limits.rate, limits.burst, now_ms)
        self.held = 0  # messages held back in this episode of flooding
        self.free_at_ms = 0  # when the last held message could go
        self.warned = False
