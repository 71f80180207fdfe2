"""Plain data the charts consume, and the pure computations behind them.

Nothing here imports matplotlib, scapy or the protocol decoder: the capture and
decoding side builds these small values, the chart side only draws them, and
both can be tested alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

import numpy as np

from socketlab.inspector.trace_file import RENAMED, STATES, TraceRecord

# States that occupy time on a lane; "exit" only ends the previous one.
DRAWN_STATES: tuple[str, ...] = tuple(s for s in STATES if s != "exit")


@dataclass(frozen=True, slots=True)
class MessageSize:
    """Bytes on the wire for one message (or message type) sent plain vs in a box."""

    label: str
    plain_bytes: int
    box_bytes: int


@dataclass(frozen=True, slots=True)
class LadderEvent:
    """One frame of a connection: ``label`` is its message type, or None if not decrypted;
    ``sealed`` says it crossed the wire encrypted (whether or not we could open it)."""

    ts: float
    direction: Literal["c2s", "s2c"]
    label: str | None
    size: int
    sealed: bool

    def __post_init__(self) -> None:
        if self.direction not in ("c2s", "s2c"):
            raise ValueError(f'direction must be "c2s" or "s2c", got {self.direction!r}')

    @property
    def text(self) -> str:
        """What the ladder writes on the arrow."""
        if self.label is None:
            return f"encrypted {self.size} B"
        return f"{self.label} ({self.size} B)"


class Segment(NamedTuple):
    """A thread in ``state`` from ``start`` to ``end`` (seconds since the first record)."""

    start: float
    end: float
    state: str


@dataclass(frozen=True, slots=True)
class Lane:
    """One thread's row in the timeline."""

    proc: str
    thread: str
    segments: tuple[Segment, ...]

    @property
    def label(self) -> str:
        return f"{self.proc} · {self.thread}"


@dataclass(frozen=True, slots=True)
class Timeline:
    """Lanes ready to draw. ``bin_width`` is set when busy lanes were downsampled."""

    lanes: tuple[Lane, ...]
    duration: float
    hidden_lanes: int = 0
    bin_width: float | None = None


def byte_counts(data: bytes) -> np.ndarray:
    """How often each byte value 0..255 occurs in ``data`` (length-256 int array)."""
    return np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)


def entropy(data: bytes) -> float:
    """Shannon entropy of the byte values in ``data``, in bits per byte (0.0 .. 8.0)."""
    if not data:
        return 0.0
    counts = byte_counts(data)
    p = counts[counts > 0] / len(data)
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def build_timeline(
    records: Sequence[TraceRecord], *, max_lanes: int = 60, max_segments: int = 50_000
) -> Timeline:
    """Turn trace records into sorted lanes of merged state segments.

    A state lasts until the thread's next record; a thread's last state lasts to
    the end of the trace unless it is "exit". At most ``max_lanes`` lanes are
    kept (in display order). If a lane holds more than its share of
    ``max_segments``, it is resampled into equal time bins, each showing the
    state the thread spent most of that bin in, since narrower bars would be
    thinner than a pixel anyway.
    """
    if not records:
        return Timeline(lanes=(), duration=0.0)
    records = _follow_renames(sorted(records, key=lambda r: r.t))  # sort: near-linear
    t0 = records[0].t
    duration = records[-1].t - t0

    by_thread: dict[tuple[str, str], list[TraceRecord]] = {}
    for r in records:
        by_thread.setdefault((r.proc, r.thread), []).append(r)
    keys = sorted(by_thread, key=_lane_sort_key(by_thread))
    shown = keys[:max_lanes]

    budget = max(1, max_segments // max(1, len(shown)))
    bin_width = None
    lanes = []
    for key in shown:
        segments = _segments(by_thread[key], t0, duration)
        if len(segments) > budget:
            segments = _resample(segments, duration, budget)
            bin_width = duration / budget
        lanes.append(Lane(key[0], key[1], tuple(segments)))
    return Timeline(tuple(lanes), duration, len(keys) - len(shown), bin_width)


def _follow_renames(records: list[TraceRecord]) -> list[TraceRecord]:
    """Put a renamed thread's records on one lane, under its last name.

    The server names a client's threads after its address until the user logs
    in, then after the user; it marks the moment with an ``exit`` record whose
    detail is ``renamed to NEW``.
    """
    renames = {(r.proc, r.thread): r.detail[len(RENAMED):] for r in records
               if r.state == "exit" and r.detail and r.detail.startswith(RENAMED)}
    if not renames:
        return records

    def final(proc: str, thread: str) -> str:
        for _ in range(len(renames)):  # bounded: a cycle of renames cannot loop forever
            if (proc, thread) not in renames:
                break
            thread = renames[proc, thread]
        return thread

    return [replace(r, thread=final(r.proc, r.thread)) for r in records
            if not (r.state == "exit" and r.detail and r.detail.startswith(RENAMED))]


def _segments(records: list[TraceRecord], t0: float, duration: float) -> list[Segment]:
    """One thread's records -> segments, merging repeats and dropping zero-length ones."""
    segments: list[Segment] = []
    state: str | None = None
    start = 0.0

    def close(end: float) -> None:
        if state is None or state == "exit" or end <= start:
            return
        if segments and segments[-1].state == state and segments[-1].end == start:
            segments[-1] = segments[-1]._replace(end=end)
        else:
            segments.append(Segment(start, end, state))

    for r in records:
        if r.state != state:
            close(r.t - t0)
            state, start = r.state, r.t - t0
    close(duration)
    return segments


def _resample(segments: list[Segment], duration: float, n_bins: int) -> list[Segment]:
    """Downsample to ``n_bins`` equal bins, each taking its dominant state."""
    edges = np.linspace(0.0, duration, n_bins + 1)
    starts = np.array([s.start for s in segments])
    ends = np.array([s.end for s in segments])
    states = np.array([s.state for s in segments])
    # Row i: time spent in DRAWN_STATES[i] per bin; the last row is "not alive".
    occupancy = np.zeros((len(DRAWN_STATES) + 1, n_bins))
    for i, state in enumerate(DRAWN_STATES):
        mask = states == state
        if not mask.any():
            continue
        s, e = starts[mask], ends[mask]
        # Cumulative time in this state, piecewise linear in x; sampled at the bin edges.
        cum = np.cumsum(e - s)
        xs = np.column_stack([s, e]).ravel()
        cs = np.column_stack([cum - (e - s), cum]).ravel()
        occupancy[i] = np.diff(np.interp(edges, xs, cs))
    occupancy[-1] = np.diff(edges) - occupancy[:-1].sum(axis=0)
    winner = occupancy.argmax(axis=0)

    change = np.flatnonzero(np.diff(winner)) + 1
    run_starts = np.concatenate(([0], change))
    run_ends = np.concatenate((change, [n_bins]))
    return [
        Segment(float(edges[a]), float(edges[b]), DRAWN_STATES[winner[a]])
        for a, b in zip(run_starts, run_ends, strict=True)
        if winner[a] < len(DRAWN_STATES)
    ]


def _client_name(proc: str, thread: str) -> str | None:
    """The chat client a lane belongs to, if any (server reader/writer or client process)."""
    if proc == "server":
        for prefix in ("reader-", "writer-"):
            if thread.startswith(prefix):
                return thread[len(prefix) :]
        return None
    if proc.startswith("client:"):
        return proc[len("client:") :]
    return None


_CLIENT_THREAD_ORDER = {"receive": 0, "MainThread": 1}


def _lane_sort_key(
    by_thread: dict[tuple[str, str], list[TraceRecord]],
) -> Callable[[tuple[str, str]], tuple[Any, ...]]:
    """Display order: server accept, reader/writer pair per client, other server
    threads, then each client's threads; clients in order of first appearance."""
    first_seen: dict[str, float] = {}
    for (proc, thread), recs in by_thread.items():
        name = _client_name(proc, thread)
        if name is not None:
            first_seen[name] = min(first_seen.get(name, math.inf), recs[0].t)

    def key(lane: tuple[str, str]) -> tuple[Any, ...]:  # mixed kinds, compared per position
        proc, thread = lane
        first = by_thread[lane][0].t
        name = _client_name(proc, thread)
        if proc == "server":
            if thread == "accept":
                return (0,)
            if name is not None:
                return (1, first_seen[name], name, thread.startswith("writer-"))
            return (2, first, thread)
        if name is not None:
            return (3, first_seen[name], name, _CLIENT_THREAD_ORDER.get(thread, 2), thread)
        return (4, proc, first, thread)

    return key
