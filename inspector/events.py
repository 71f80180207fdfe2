"""What the inspector's sources report: one event union for a sniff and the proxy.

A TCP reassembler (``reassembly.py``, fed by a capture) and the proxy tap
(``proxy.py``) both tell what crossed a connection as these events, so one
decoder (``decode.py``) shows either:

- ``Opened``, ``Data`` (in-order bytes with their stream offset) and ``Closed``:
  from both sources.
- ``Gap`` and ``Conflict``: only from a capture, which can miss or see twice.
- ``Intercepted``, ``Failure`` and ``Tampered``: only from the proxy, which
  takes part in the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from socketlab.protocol import AnyMessage

Direction = Literal["c2s", "s2c"]
CloseReason = Literal["fin", "rst", "capture_end", "evicted"]


@dataclass(frozen=True, slots=True)
class Connection:
    """One TCP connection. ``index`` tells apart reuses of the same 4-tuple."""

    client: tuple[str, int]
    server: tuple[str, int]
    index: int


@dataclass(frozen=True, slots=True)
class Opened:
    conn: Connection
    ts: float
    handshake: bool  # the SYN was seen, so offsets start at the first byte sent


# Not frozen: a capture makes one per segment delivered, and a frozen dataclass's
# ``__init__`` (``object.__setattr__`` per field) costs about six times a plain one.
@dataclass(slots=True)
class Data:
    conn: Connection
    direction: Direction
    offset: int
    data: bytes
    ts: float


@dataclass(frozen=True, slots=True)
class Gap:
    """Bytes that were sent but never captured."""

    conn: Connection
    direction: Direction
    offset: int
    length: int
    ts: float


@dataclass(frozen=True, slots=True)
class Conflict:
    """Retransmitted bytes that differ from the first copy; the first copy was kept."""

    conn: Connection
    direction: Direction
    offset: int
    length: int
    ts: float


@dataclass(frozen=True, slots=True)
class Closed:
    """No more events for ``conn``. ``capture_end``: still open when the source
    stopped; ``evicted``: dropped to bound memory or replaced by a new SYN on
    its 4-tuple."""

    conn: Connection
    how: CloseReason
    ts: float


@dataclass(frozen=True, slots=True)
class Intercepted:
    """A message the ``mitm`` proxy decoded on its way through."""

    conn: Connection
    direction: Direction
    message: AnyMessage
    ts: float


@dataclass(frozen=True, slots=True)
class Failure:
    """A connection could not be served, or its attack failed; the others go on."""

    conn: Connection
    code: str
    message: str
    ts: float


TamperKind = Literal["replay", "reorder", "reflect", "flip"]


@dataclass(frozen=True, slots=True)
class Tampered:
    """The proxy changed what one side received (``inspector/tamper.py``).

    ``direction`` and ``frame_no`` name the frame as the view numbers it (the
    handshake is #1 in each direction); for ``reflect`` that is the frame's
    own direction, before it was sent back. ``what`` says it for people.
    """

    conn: Connection
    direction: Direction
    frame_no: int
    kind: TamperKind
    what: str
    ts: float


StreamEvent = Opened | Data | Gap | Conflict | Closed
"""What a TCP reassembler reports."""

Event = Opened | Data | Gap | Conflict | Closed | Intercepted | Failure | Tampered
"""Everything a source may report; what the decoder takes."""
