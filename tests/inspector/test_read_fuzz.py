"""Damaged captures: ``read`` gives the same with one and with two workers, and never a
traceback or a hang.

A seeded mutator (bit flips, interesting bytes and 32-bit lengths, cuts, deleted and
repeated ranges) damages four small captures of chat sessions: a pcap, a big-endian
nanosecond pcap of raw IP, a two-section pcapng (options, enhanced, simple and
obsolete packet blocks, both byte orders) and a gzipped pcap. Every file is read
as ``socketlab read`` reads it with ``--jobs 1`` (``read_pcap`` and the printer) and
with ``--jobs 2`` (each share's ``decode_share``, merged as the parent merges them),
in this process: that is what the command runs, minus the process start-up. One
in twenty files also goes through ``read_lines`` with real worker processes. A read may
end in a ``SocketlabError`` (one line at the command line), never in anything else,
and within a time limit per file. Damaged proxy recordings (``.jsonl``, always one
process) are held to the same: read, or one ``bad_recording`` line.
"""

from __future__ import annotations

import dataclasses
import gzip
import random
import signal
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

from socketlab.inspector.events import Closed, Connection, Data, Opened
from socketlab.inspector.keylog_file import KeyLogFile
from socketlab.inspector.parallel_read import (
    Message,
    ReadJob,
    ReadTotals,
    decode_share,
    merge_lines,
    read_lines,
)
from socketlab.inspector.pcapread import iter_pcap
from socketlab.inspector.pipeline import PcapSummary, decode_events, read_pcap
from socketlab.inspector.printer import Printer
from socketlab.inspector.recording import RecordingWriter, read_recording
from socketlab.inspector.synth import write_pcap
from socketlab.protocol import SocketlabError
from tests.inspector.conftest import vector_events

FILES = 2_000
SEED = 21
SECONDS_PER_FILE = 5
WIDTH = 100

Outcome = tuple[list[str] | None, str | None, int | None]  # lines, error, truncated_at


def sessions() -> list[tuple[float, int, bytes]]:
    """Three chat sessions and an echo, interleaved, as (ts, linktype, frame)."""
    timeline = []
    for i in range(3):
        conn = Connection(("127.0.0.1", 50_000 + 7 * i), ("127.0.0.1", 7777), i)
        timeline += [dataclasses.replace(event, conn=conn, ts=event.ts + i / 1000)
                     for event in vector_events()]
    echo = Connection(("127.0.0.1", 51_001), ("127.0.0.1", 9000), 3)
    timeline += [Opened(echo, 1.5, True), Data(echo, "c2s", 0, b"hello\n", 1.5),
                 Data(echo, "s2c", 0, b"hello\n", 1.5), Closed(echo, "fin", 1.5)]
    timeline.sort(key=lambda event: event.ts)
    return timeline


def pcap_le(packets: list[tuple[float, int, bytes]]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for ts, _, data in packets:
        out.append(struct.pack("<IIII", int(ts), round(ts % 1 * 1e6), len(data), len(data)))
        out.append(data)
    return b"".join(out)


def pcap_be_ns_raw(packets: list[tuple[float, int, bytes]]) -> bytes:
    out = [struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 101)]
    for ts, _, data in packets:
        ip = data[14:]
        out.append(struct.pack(">IIII", int(ts), round(ts % 1 * 1e9), len(ip), len(ip)))
        out.append(ip)
    return b"".join(out)


def block(order: str, kind: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)


def pcapng(packets: list[tuple[float, int, bytes]]) -> bytes:
    """Two sections: little-endian (ns ticks, an offset, every packet block kind), then
    big-endian raw IP."""
    half = len(packets) // 2
    out = []
    for order, part, linktype in (("<", packets[:half], 1), (">", packets[half:], 101)):
        out.append(block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1)))
        options = (struct.pack(order + "HH", 9, 1) + b"\x09\x00\x00\x00"
                   + struct.pack(order + "HHq", 14, 8, 0) + struct.pack(order + "HH", 0, 0))
        out.append(block(order, 1, struct.pack(order + "HHI", linktype, 0, 65535) + options))
        for n, (ts, _, data) in enumerate(part):
            frame = data if linktype == 1 else data[14:]
            ticks = round(ts * 1e9)
            if n % 7 == 3:  # simple packet block
                out.append(block(order, 3, struct.pack(order + "I", len(frame)) + frame))
            elif n % 7 == 5:  # obsolete packet block
                out.append(block(order, 2, struct.pack(order + "HHIIII", 0, 0, ticks >> 32,
                                                       ticks & 0xFFFFFFFF, len(frame),
                                                       len(frame)) + frame))
            else:
                out.append(block(order, 6, struct.pack(order + "IIIII", 0, ticks >> 32,
                                                       ticks & 0xFFFFFFFF, len(frame),
                                                       len(frame)) + frame))
    return b"".join(out)


INTERESTING_BYTES = (0x00, 0x01, 0x06, 0x08, 0x40, 0x45, 0x7F, 0x80, 0xFF)
INTERESTING_WORDS = (0, 1, 4, 8, 12, 16, 20, 24, 28, 0x7FFF_FFFF, 0xFFFF_FFFF)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random damages; positions favour the headers at the front."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not buf:
            break
        size = len(buf)
        pos = rng.randrange(min(size, 256)) if rng.random() < 0.4 else rng.randrange(size)
        how = rng.randrange(7)
        if how == 0:
            for _ in range(rng.randint(1, 8)):
                bit = rng.randrange(size * 8)
                buf[bit // 8] ^= 1 << (bit % 8)
        elif how == 1:
            buf[pos] = rng.choice(INTERESTING_BYTES)
        elif how == 2:
            pos -= pos % 4
            word = rng.choice(INTERESTING_WORDS).to_bytes(4, rng.choice(("little", "big")))
            buf[pos:pos + 4] = word[:len(buf) - pos]
        elif how == 3:
            del buf[pos:]
        elif how == 4:
            del buf[pos:pos + rng.randint(1, 64)]
        elif how == 5:
            buf[pos:pos] = buf[pos:pos + rng.randint(1, 64)]
        else:
            buf[pos:pos + 1] = bytes([rng.randrange(256)])
    return bytes(buf)


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM interrupts the read (a worker's pipe too).

    pytest-timeout's own alarm for the whole test is put back afterwards, less the
    time spent here."""
    def expired(signum: int, frame: object) -> None:
        raise AssertionError(f"{what}: still reading after {seconds} s")

    before = signal.signal(signal.SIGALRM, expired)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
        if outer:
            signal.setitimer(signal.ITIMER_REAL,
                             max(0.001, outer - (time.monotonic() - started)))


def one_process(path: Path, keylog: Path, as_json: bool) -> Outcome:
    """What ``read --jobs 1`` prints: cmd_read's own calls."""
    summary = PcapSummary()
    try:
        lines = Printer(as_json, colour=False, width=WIDTH).format(
            read_pcap(path, KeyLogFile(keylog), summary=summary))
    except SocketlabError as exc:
        return None, str(exc), None
    return lines, None, summary.truncated_at


def two_workers(job: ReadJob, processes: bool) -> Outcome:
    """What ``read --jobs 2`` prints: with its real worker processes, or with each
    share decoded here and merged as the parent merges them."""
    totals = ReadTotals()
    try:
        if processes:
            lines = list(read_lines(job, totals))
        else:
            shares: list[list[Message]] = [[] for _ in range(job.workers)]
            for index, sent in enumerate(shares):
                decode_share(job, index, sent.append)
            lines = list(merge_lines(shares, totals))
    except SocketlabError as exc:
        return None, str(exc), None
    return lines, None, totals.truncated_at


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("fuzz-seeds")
    write_pcap(folder / "sessions.pcap", sessions())
    packets = list(iter_pcap(folder / "sessions.pcap"))
    le = pcap_le(packets)
    return [le, pcap_be_ns_raw(packets), pcapng(packets), gzip.compress(le, mtime=0)]


def test_the_seed_captures_read_whole(seeds: list[bytes], tmp_path: Path, vector_keylog: Path):
    """The undamaged captures decode the sessions: the mutants start from real chats."""
    for n, data in enumerate(seeds):
        path = tmp_path / f"seed{n}"
        path.write_bytes(data)
        lines, error, truncated_at = one_process(path, vector_keylog, True)
        assert error is None and truncated_at is None and lines
        assert sum('"type":"say"' in line for line in lines) >= 3, n


@pytest.mark.timeout(300)
def test_damaged_captures_read_the_same_with_two_workers(seeds: list[bytes], tmp_path: Path,
                                                         vector_keylog: Path):
    rng = random.Random(SEED)
    outcomes = {"lines": 0, "error": 0, "truncated": 0}
    for n in range(FILES):
        path = tmp_path / f"mutant{n % 10}"
        path.write_bytes(mutate(rng.choice(seeds), rng))
        as_json = n % 2 == 0
        job = ReadJob(path, vector_keylog, None, "auto", as_json, False, WIDTH, 2)
        readers: list[tuple[str, Callable[[], Outcome]]] = [
            ("one process", partial(one_process, path, vector_keylog, as_json)),
            ("two shares", partial(two_workers, job, False))]
        if n % 20 == 0:
            readers.append(("two processes", partial(two_workers, job, True)))
        results = []
        for name, reader in readers:
            with time_limit(SECONDS_PER_FILE, f"mutant {n} ({name})"):
                results.append(reader())
        if results.count(results[0]) != len(results):
            kept = tmp_path / f"failing-mutant-{n}"
            kept.write_bytes(path.read_bytes())
            pytest.fail(f"mutant {n} ({kept}) reads differently: "
                        + "; ".join(f"{name}: {result[1] or len(result[0] or [])} "
                                    f"(truncated at {result[2]})"
                                    for (name, _), result in zip(readers, results, strict=True)))
        _, error, truncated_at = results[0]
        outcomes["error" if error else "truncated" if truncated_at is not None else "lines"] += 1
    # The mutants reach all three outcomes, each often: the damage is neither too
    # small to matter nor so large that every file is refused at its header.
    assert min(outcomes.values()) >= FILES // 20, outcomes


RECORDINGS = 500


def test_damaged_recordings_read_or_say_which_line(tmp_path: Path, vector_keylog: Path):
    """A proxy recording (.jsonl) damaged the same ways: read, or a bad_recording error."""
    whole = tmp_path / "session.jsonl"
    writer = RecordingWriter(whole)
    for event in vector_events():
        writer.write(event)
    writer.close()
    seed = whole.read_bytes()
    rng = random.Random(SEED)
    outcomes = {"read": 0, "refused": 0}
    for n in range(RECORDINGS):
        path = tmp_path / "mutant.jsonl"
        path.write_bytes(mutate(seed, rng))
        with time_limit(SECONDS_PER_FILE, f"recording mutant {n}"):
            try:
                Printer(n % 2 == 0, colour=False, width=WIDTH).format(
                    decode_events(read_recording(path), KeyLogFile(vector_keylog)))
                outcomes["read"] += 1
            except SocketlabError:
                outcomes["refused"] += 1
    # JSON breaks at almost any damage, so most are refused; some still read.
    assert min(outcomes.values()) >= RECORDINGS // 50, outcomes
