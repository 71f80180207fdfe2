"""The main loop keeps servicing while a flood of messages arrives.

The figure itself belongs to the benchmark (bench/gui_stall.py, reported in
docs/performance.md); this test holds only a bound generous enough not to flake.
"""

from __future__ import annotations

from bench.gui_stall import measure_stall


def test_main_loop_keeps_ticking_while_2000_messages_arrive(display: str) -> None:
    result = measure_stall(2000)
    assert result["n_messages"] == 2000  # measure_stall waits until the last one is shown
    assert result["ticks"] >= 5
    assert result["max_gap_ms"] < 500, result
