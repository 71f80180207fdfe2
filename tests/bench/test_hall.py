"""Figure 8's runs: the event engine under a small hall, measured as the figure reads it."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.figures import Bench, Settings
from bench.hall import hall_load


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
