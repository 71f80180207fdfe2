"""The load generator counts what a server really delivers (no timing asserted)."""

from __future__ import annotations

import logging

import pytest

from bench.baseline_server import BaselineServer
from bench.loadgen import LoadSpec, run_load
from socketlab.server import ChatServer, FloodLimits

CLIENTS = 3
MESSAGES = 5


@pytest.mark.parametrize("mode", ["plain", "box"])
def test_every_message_reaches_every_client(mode: str) -> None:
    with BaselineServer(allow_plaintext=True) as server:
        result = run_load(
            LoadSpec(
                server.address,
                mode=mode,  # type: ignore[arg-type]
                clients=CLIENTS,
                senders=CLIENTS,
                rate=300.0,
                per_sender=MESSAGES,
                warmup=0.0,
                duration=0.5,
            )
        )
    assert result.sent == CLIENTS * MESSAGES
    # The server echoes a say to its sender too: every client gets every message.
    assert result.expected == result.delivered == CLIENTS * CLIENTS * MESSAGES
    assert (result.lost, result.duplicates, result.out_of_order, result.dropped) == (0, 0, 0, 0)
    assert result.drained
    assert result.latency_samples > 0
    assert result.p50_ms is not None and result.p99_ms is not None
    assert 0 < result.p50_ms <= result.p99_ms


def test_a_silent_client_stalls_the_baseline_and_is_counted_as_loss() -> None:
    with BaselineServer(allow_plaintext=True) as server:
        result = run_load(
            LoadSpec(
                server.address,
                clients=CLIENTS + 1,
                senders=1,
                rate=100.0,
                per_sender=MESSAGES,
                silent=1,
                prefill_bytes=6_000_000,
                prefill_timeout=1.0,
                warmup=0.0,
                duration=0.3,
                drain_timeout=0.5,
            )
        )
    assert not result.prefilled and not result.drained
    assert result.sent == MESSAGES
    assert result.lost == CLIENTS * MESSAGES - result.delivered > 0


def test_the_load_is_over_before_any_client_leaves(caplog: pytest.LogCaptureFixture) -> None:
    # Figure 8 reads the server's CPU in on_drained: what 1,000 clients leaving
    # at once cost (a left broadcast each) must not be counted against deliveries.
    caplog.set_level(logging.INFO, logger="socketlab.server")
    left_lines: list[list[str]] = []

    def on_drained() -> None:
        left_lines.append([r.getMessage() for r in caplog.records if " left (" in r.getMessage()])

    with ChatServer(allow_plaintext=True, flood=FloodLimits(rate=0)) as server:
        result = run_load(
            LoadSpec(
                server.address,
                mode="box",
                clients=CLIENTS,
                senders=1,
                rate=300.0,
                per_sender=MESSAGES,
                warmup=0.0,
                duration=0.3,
            ),
            on_drained=on_drained,
        )
    assert result.drained and result.delivered == result.expected > 0
    assert left_lines == [[]]  # called once, with everyone still there
    assert any(" left (" in r.getMessage() for r in caplog.records)  # they left afterwards
