"""Given: tracing.py writes what `socketlab chart threads` draws."""

import threading

import pytest

from socketlab.inspector.trace_file import read_trace
from socketlab.labs import harness
from socketlab.labs.harness import _


@pytest.mark.given
def test_trace_file_is_what_the_chart_reads(tmp_path):
    """tracing.py writes a file the timeline chart reads: states per thread, lock waits too"""
    tracing = harness.load("tracing.py")
    path = tmp_path / "trace.jsonl"
    tracing.start(path)
    try:
        lock = tracing.Lock()
        lock.acquire()
        waiter = threading.Thread(target=lambda: (lock.acquire(), lock.release()), name="waiter")
        waiter.start()
        assert harness.eventually(lambda: "lock_wait" in path.read_text(encoding="utf-8"), 2), _(
            "a thread waiting for a tracing.Lock was not traced as lock_wait")
        lock.release()
        waiter.join(2)
        tracing.record("exit")
    finally:
        tracing.stop()
    records = read_trace(path)
    states = [(r.thread, r.state) for r in records]
    assert states == [("waiter", "lock_wait"), ("waiter", "handling"),
                      (threading.current_thread().name, "exit")], states
