"""``read --jobs N`` at the edges of the reassembler's memory prints what one process prints.

One process remembers the last 1,024 closed connections and keeps at most
10,000 open; a worker that sees only its share of the connections would
remember longer and evict later. These captures cross each limit with the
real defaults, through the real CLI.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from socketlab.inspector.packets import ACK, LINKTYPE_ETHERNET, PSH, RST, SYN
from socketlab.inspector.parallel_read import (
    Message,
    ReadJob,
    ReadTotals,
    _Diverged,
    decode_share,
    merge_lines,
    share_of,
)
from socketlab.inspector.pcapwrite import PcapWriter
from socketlab.inspector.reassembly import CLOSED_MEMORY, MAX_CONNECTIONS
from socketlab.inspector.synth import tcp_packet

SERVER = ("127.0.0.1", 9000)
ETHERNET_IPV4 = bytes(12) + b"\x08\x00"
CLIENT_ISN, SERVER_ISN = 1_000, 5_000


def read(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "socketlab", "read", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def client(n: int) -> tuple[str, int]:
    return ("127.0.0.1", 20_000 + n)


def share(n: int, workers: int) -> int:
    return share_of(LINKTYPE_ETHERNET, ETHERNET_IPV4 + tcp_packet(client(n), SERVER, 0, 0, ACK),
                    workers)


class Capture:
    """Packets of many connections to SERVER, written as they are made."""

    def __init__(self, out: PcapWriter) -> None:
        self.out = out
        self.ts = 1.0

    def send(self, src: tuple[str, int], dst: tuple[str, int], seq: int, ack: int, flags: int,
             payload: bytes = b"") -> None:
        self.ts += 0.0001
        self.out.write(self.ts, ETHERNET_IPV4 + tcp_packet(src, dst, seq, ack, flags, payload))

    def handshake(self, n: int) -> None:
        c = client(n)
        self.send(c, SERVER, CLIENT_ISN, 0, SYN)
        self.send(SERVER, c, SERVER_ISN, CLIENT_ISN + 1, SYN | ACK)
        self.send(c, SERVER, CLIENT_ISN + 1, SERVER_ISN + 1, ACK)

    def say(self, n: int, text: bytes, at: int = 0) -> None:
        self.send(client(n), SERVER, CLIENT_ISN + 1 + at, SERVER_ISN + 1, ACK | PSH, text)


CLOSES = CLOSED_MEMORY + 76


def stragglers(path: Path, *, late_first: bool = True) -> Path:
    """1,100 connections the server resets, then late bytes of a recent one and
    (``late_first``) of the first."""
    with PcapWriter(path, LINKTYPE_ETHERNET) as out:
        capture = Capture(out)
        for n in range(CLOSES):
            capture.handshake(n)
            capture.say(n, b"hello %d\n" % n)
            capture.send(SERVER, client(n), SERVER_ISN + 1, 0, RST)
        if late_first:
            capture.say(0, b"LATE-FIRST\n", at=len(b"hello 0\n"))
        capture.say(CLOSES - 10, b"LATE-RECENT\n", at=len(b"hello %d\n" % (CLOSES - 10)))
    return path


def test_a_straggler_of_a_long_closed_connection_reads_as_in_one_process(tmp_path: Path):
    """1,100 connections close (the server resets each) before a late packet of the
    first: one process has forgotten it and shows the late bytes as a connection
    caught mid-stream; each of two workers closed only about 550 of its own."""
    closes = CLOSES
    path = stragglers(tmp_path / "stragglers.pcap")
    # The first one's worker closed fewer than the memory holds: it would still remember.
    assert sum(share(n, 2) == share(0, 2) for n in range(closes)) < CLOSED_MEMORY

    one = read(str(path), "--as", "raw", "--jobs", "1")
    two = read(str(path), "--as", "raw", "--jobs", "2")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert "LATE-FIRST" in one.stdout
    assert "LATE-RECENT" not in one.stdout  # remembered: dropped
    assert two.stdout == one.stdout
    assert two.stderr == one.stderr


@pytest.mark.parametrize("jobs", ["2", "3"])
def test_past_the_open_connection_limit_reads_as_in_one_process(tmp_path: Path, jobs: str):
    """10,050 connections open at once: one process evicts the 50 least recently
    active (the first ones, which then say nothing more), while each worker holds
    fewer than 10,000 of its own; bytes sent later on an evicted connection are a
    straggler to one process."""
    opened = MAX_CONNECTIONS + 50
    assert max(sum(share(n, int(jobs)) == w for n in range(opened)) for w in range(int(jobs))) \
        < MAX_CONNECTIONS  # no worker reaches the limit in its own share
    path = tmp_path / "crowd.pcap"
    with PcapWriter(path, LINKTYPE_ETHERNET) as out:
        capture = Capture(out)
        capture.handshake(0)
        capture.say(0, b"FIRST-WORDS\n")
        for n in range(1, opened):
            capture.handshake(n)
        capture.say(0, b"CROWD-AFTER\n", at=len(b"FIRST-WORDS\n"))
        capture.say(opened - 1, b"NEWEST\n")
    one = read(str(path), "--as", "raw", "--jobs", "1")
    many = read(str(path), "--as", "raw", "--jobs", jobs)
    assert one.returncode == many.returncode == 0, one.stderr + many.stderr
    assert "FIRST-WORDS" in one.stdout and "NEWEST" in one.stdout
    assert "CROWD-AFTER" not in one.stdout  # evicted, then dropped as a straggler
    assert many.stdout == one.stdout
    assert many.stderr == one.stderr


@pytest.mark.parametrize("late_first", [True, False], ids=["forgotten", "remembered"])
def test_one_process_takes_over_only_where_a_share_would_differ(tmp_path: Path,
                                                                late_first: bool):
    """The shares' lines are merged as they are while their decisions agree with one
    process's; a straggler that one process no longer remembers ends the merge there."""
    path = stragglers(tmp_path / "stragglers.pcap", late_first=late_first)
    job = ReadJob(path, None, None, "raw", False, False, 120, 2)
    shares: list[list[Message]] = [[], []]
    for index, sent in enumerate(shares):
        decode_share(job, index, sent.append)
    merged = merge_lines(list(shares), ReadTotals())
    if late_first:
        with pytest.raises(_Diverged):
            list(merged)
    else:
        assert sum("connection closed (rst)" in line for line in merged) == CLOSES
