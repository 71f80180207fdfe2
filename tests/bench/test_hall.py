"""Figure 8's runs: the event engine under a small hall, measured as the figure reads it."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from bench.baseline_server import BaselineServer
from bench.figures import Bench, Settings
from bench.hall import hall_load
from bench.servers import Kind, cpu_times


def test_a_hall_run_counts_every_delivery_and_the_servers_cost(tmp_path: Path) -> None:
    bench = Bench(Settings(quick=True, workdir=tmp_path))
    hall = hall_load(bench, "events", "box", 12)
    res = hall.run.result
    assert res is not None, hall.run.error
    assert res.delivered == res.expected > 0
    assert (res.lost, res.duplicates, res.out_of_order, res.dropped) == (0, 0, 0, 0)
    assert res.p50_ms is not None and res.p99_ms is not None
    if sys.platform.startswith("linux"):
        assert hall.threads == 2  # the process's main thread and the one loop: no thread a client
        assert hall.rss_kib is not None and hall.rss_kib > 0
        assert hall.cpu_us_per_delivery is not None and hall.cpu_us_per_delivery > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")
def test_cpu_times_tells_user_time_from_kernel_time() -> None:
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass  # user time: no system call in the loop
    times = cpu_times(os.getpid())
    assert times is not None
    user, system = times
    mine = os.times()
    assert user == pytest.approx(mine.user, abs=0.05) and user >= 0.25
    assert system == pytest.approx(mine.system, abs=0.05)


@pytest.mark.parametrize(("kind", "nodelay"), [("events", False), ("baseline", True)])
def test_a_hall_run_with_nagle_swapped_still_delivers_everything(
    tmp_path: Path, kind: Kind, nodelay: bool
) -> None:
    bench = Bench(Settings(quick=True, workdir=tmp_path))
    hall = hall_load(bench, kind, "box", 12, nodelay=nodelay)
    res = hall.run.result
    assert res is not None, hall.run.error
    assert res.delivered == res.expected > 0
    assert (res.lost, res.duplicates, res.out_of_order) == (0, 0, 0)


@pytest.mark.parametrize("nodelay", [False, True])
def test_the_baseline_sets_tcp_nodelay_only_when_asked(nodelay: bool) -> None:
    with BaselineServer(nodelay=nodelay) as server, socket.create_connection(server.address):
        deadline = time.monotonic() + 5
        while not server._sockets and time.monotonic() < deadline:
            time.sleep(0.01)
        (accepted,) = server._sockets  # its end of the connection: the client cannot see it
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == int(nodelay)
