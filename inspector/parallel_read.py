"""``socketlab read`` on several cores: the connections are shared out between processes.

Decoding a capture is per connection (reassembly, decryption, strict JSON), so
each worker process reads the whole file, keeps only the packets of its share
of the connections (by their ports, which both directions have in common) and
decodes them exactly as one process would. Every line it prints carries the
number of the packet that produced it; the parent merges the workers' lines
by that number, so the output is the same, line for line, as ``--jobs 1``.
What the end of the capture flushes comes last, ordered as one reassembler
would order it: by each connection's last packet. Damaged files included: a
short or mangled frame gets the share ``parse_packet`` gives it (the fuzz test
in tests/inspector/test_read_fuzz.py holds both paths to that).

The reassembler's memory is per process, and two of its decisions depend on
every connection: a straggling packet of a closed connection is dropped only
while that connection is among the last 1,024 closed, and past 10,000
connections open at once the least recently active is evicted. So each worker
also sends its reassembler's lifecycle notes (opened, closed, straggler
dropped), numbered like its lines; the parent replays them in packet order
against a shadow of one process's bookkeeping. A worker can only diverge by
remembering a closed connection longer, or by one process having to evict:
the first time the shadow disagrees, the parent stops the workers and reads
the file again in one process, printing only what it has not printed yet.
So the output is the same for every input; such captures just take longer.

Python's threads share one interpreter lock, so only processes use the
second core. The parent checks the file and the key log first, so their
errors are one line as always.
"""

from __future__ import annotations

import heapq
import multiprocessing
import multiprocessing.context
import signal
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from multiprocessing.connection import Connection as Pipe
from operator import itemgetter
from pathlib import Path

from .decode import Decoded, SessionDecoder, ViewChoice
from .errors import CaptureError
from .events import Connection
from .keylog_file import KeyLogFile
from .packets import LINKTYPE_ETHERNET, parse_packet
from .pcapread import iter_pcap
from .printer import Printer
from .reassembly import CLOSED_MEMORY, MAX_CONNECTIONS, Lifecycle, Reassembler

_BATCH = 1024  # lines per message to the parent: few pickles, little memory
# What a share sends: a batch of numbered lines and lifecycle notes, or (kind, ...)
# at the end ("end", packets, truncated_at) or on failure ("error", code, message).
Message = list[tuple[int, str | Lifecycle]] | tuple[str, int | str, int | str | None]


class _Diverged(Exception):
    """A share decided otherwise than one process would have: read in one process."""


@dataclass(frozen=True)
class ReadJob:
    """What every worker needs: the same arguments ``read`` got."""

    path: Path
    keylog: Path | None
    port: int | None
    view: ViewChoice
    as_json: bool
    colour: bool
    width: int
    workers: int


@dataclass
class ReadTotals:
    """Filled in when the lines have all been merged."""

    packets: int = 0
    truncated_at: int | None = None


def share_of(linktype: int, data: bytes, workers: int) -> int:
    """Which worker decodes this packet's connection: a hash of the sum of its two ports.

    The sum is the same both ways, so a connection stays with one worker. It is
    hashed (Knuth's multiplicative hash) because Linux gives connecting sockets
    ports of one parity, so the plain sum modulo 2 would send every connection to
    one worker. Linux loopback frames (Ethernet, IPv4, TCP) are read in place,
    once their length allows it; anything else is parsed, so a share is the same
    for every packet ``parse_packet`` gives the same ports.
    """
    if linktype == LINKTYPE_ETHERNET and len(data) >= 38 and data[12:14] == b"\x08\x00" \
            and data[14] >> 4 == 4 and data[23] == 6 and len(data) >= 38 + (data[14] & 0x0F) * 4:
        tcp = 14 + (data[14] & 0x0F) * 4
        ports = ((data[tcp] + data[tcp + 2]) << 8) + data[tcp + 1] + data[tcp + 3]
    else:
        seg = parse_packet(0.0, linktype, data)
        if seg is None:
            return 0
        ports = seg.src[1] + seg.dst[1]
    return ((ports * 2654435761) >> 16) % workers


def read_lines(job: ReadJob, totals: ReadTotals) -> Iterator[str]:
    """The output lines of ``read``, made by ``job.workers`` processes, in order."""
    iter_pcap(job.path).close()  # not a pcap, or unreadable: one clear error, here
    if job.keylog is not None:
        KeyLogFile(job.keylog, must_exist=True)  # no key log, a bad line: the same
    # fork: the workers need no start-up of their own (spawn elsewhere, as Windows must)
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context: multiprocessing.context.DefaultContext = multiprocessing.get_context(method)  # type: ignore[assignment]
    pipes: list[Pipe] = []
    processes = []
    for index in range(job.workers):
        ours, theirs = context.Pipe(duplex=False)
        process = context.Process(target=_work, args=(job, index, theirs, [*pipes, ours]),
                                  daemon=True, name=f"read-{index}")
        process.start()
        theirs.close()
        pipes.append(ours)
        processes.append(process)
    shown, merged = 0, False
    try:
        for text in merge_lines([_messages(pipe) for pipe in pipes], totals):
            yield text
            shown += 1
        merged = True
    except _Diverged:
        pass
    finally:
        for pipe in pipes:  # stopped early (piped into head): a worker still sending ends
            pipe.close()
        for process in processes:
            if not merged:  # diverged, Ctrl-C, head: what they would still send is no use
                process.terminate()
            process.join(timeout=5)
    if merged:
        return
    # What was printed is what one process prints up to the packet that diverged.
    yield from islice(read_lines(replace(job, workers=1), totals), shown, None)


def merge_lines(shares: list[Iterable[Message]], totals: ReadTotals) -> Iterator[str]:
    """The output lines, in order, from what each share's ``decode_share`` sent.

    Raises ``_Diverged`` where a share's reassembler decided otherwise than one
    process's would have (everything before that packet is yielded)."""
    streams = [_numbered_lines(messages, totals) for messages in shares]
    shadow = _Shadow()
    for _, item in heapq.merge(*streams, key=itemgetter(0)):
        if isinstance(item, str):
            yield item
        elif not shadow.agrees(item):
            raise _Diverged


class _Shadow:
    """One process's connection bookkeeping, without the data: which connections
    are open (how many) and which closed ones are remembered, in order."""

    def __init__(self) -> None:
        self.open = 0
        self.closed: OrderedDict[object, None] = OrderedDict()

    def agrees(self, note: Lifecycle) -> bool:
        """Replay ``note``: False where one process would have decided otherwise."""
        kind, key = note
        if kind == "stale":  # one process drops it only if it still remembers the close
            return key in self.closed
        if kind == "open":
            if self.open >= MAX_CONNECTIONS:
                return False  # one process would evict its least recently active
            self.open += 1
            self.closed.pop(key, None)
        else:
            self.open -= 1
            self.closed[key] = None
            if len(self.closed) > CLOSED_MEMORY:
                self.closed.popitem(last=False)
        return True


def _messages(pipe: Pipe) -> Iterator[Message]:
    while True:
        try:
            yield pipe.recv()
        except EOFError:
            raise CaptureError("worker_failed", "a decoding process ended early") from None


def _numbered_lines(messages: Iterable[Message],
                    totals: ReadTotals) -> Iterator[tuple[int, str | Lifecycle]]:
    for message in messages:
        if isinstance(message, list):
            yield from message
            continue
        kind, first, second = message
        if kind == "error":
            raise CaptureError(str(first), str(second))
        totals.packets, totals.truncated_at = int(first), None if second is None else int(second)
        return


def _work(job: ReadJob, index: int, pipe: Pipe, parent_ends: list[Pipe]) -> None:
    """One worker process: its share's lines go to the parent through ``pipe``.

    ``parent_ends`` are the parent's reading ends, which a forked worker holds too:
    closed here, so that when the parent stops reading (piped into ``head``) a
    worker's send fails at once instead of blocking for ever.
    """
    for end in parent_ends:
        end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        try:
            decode_share(job, index, pipe.send)
        except CaptureError as exc:
            pipe.send(("error", exc.code, exc.message))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
            pipe.send(("error", "worker_failed", f"{type(exc).__name__}: {exc}"))
    except BrokenPipeError:
        pass  # the parent stopped reading: nobody to tell
    finally:
        pipe.close()


def decode_share(job: ReadJob, index: int, send: Callable[[Message], None]) -> None:
    """Decode share ``index`` of the connections; ``send`` gets lists of (packet number,
    text) lines, then ``("end", packets, truncated_at)``."""
    keys = KeyLogFile(job.keylog, must_exist=True) if job.keylog is not None else None
    decoder = SessionDecoder(keys, view=job.view)
    notes: list[Lifecycle] = []  # one process needs no check against itself
    reassembler = Reassembler(lifecycle=notes if job.workers > 1 else None)
    printer = Printer(job.as_json, colour=job.colour, width=job.width)
    last: dict[tuple[tuple[str, int], tuple[str, int]], int] = {}
    batch: list[tuple[int, str | Lifecycle]] = []

    def show(number: int, items: list[Decoded]) -> None:
        batch.extend((number, text) for text in printer.format(items))
        if len(batch) >= _BATCH:
            send(batch[:])
            batch.clear()

    workers, port = job.workers, job.port
    number = -1
    with iter_pcap(job.path) as pcap:
        for number, (ts, linktype, data) in enumerate(pcap):
            # share_of's common case, inlined: this line runs for every packet in every worker.
            if linktype == LINKTYPE_ETHERNET and len(data) >= 38 \
                    and data[12:14] == b"\x08\x00" and data[14] >> 4 == 4 and data[23] == 6 \
                    and len(data) >= 38 + (data[14] & 0x0F) * 4:
                tcp = 14 + (data[14] & 0x0F) * 4
                ports = ((data[tcp] + data[tcp + 2]) << 8) + data[tcp + 1] + data[tcp + 3]
                if ((ports * 2654435761) >> 16) % workers != index:
                    continue
            elif share_of(linktype, data, workers) != index:
                continue
            seg = parse_packet(ts, linktype, data)
            if seg is None or (port is not None and port not in (seg.src[1], seg.dst[1])):
                continue
            last[(seg.src, seg.dst) if seg.src <= seg.dst else (seg.dst, seg.src)] = number
            events = reassembler.add(seg)
            if notes:  # before the packet's lines: the parent checks them first
                batch.extend((number, note) for note in notes)
                notes.clear()
            if events:
                show(number, [item for event in events for item in decoder.add(event)])
    reassembler.lifecycle = None  # the end closes every connection: nothing left to check
    end = number + 1
    for event in reassembler.finish():  # after every packet, by each connection's last one
        show(end + _last_packet(last, event.conn), decoder.add(event))
    send(batch)
    send(("end", pcap.packets, pcap.truncated_at))


def _last_packet(last: dict[tuple[tuple[str, int], tuple[str, int]], int],
                 conn: Connection) -> int:
    a, b = conn.client, conn.server
    return last.get((a, b) if a <= b else (b, a), 0)
