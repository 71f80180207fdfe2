"""A cheap load generator for chat servers: socketlab's protocol or IRC.

``run_load(LoadSpec(...))`` opens N client connections (box or plain:
handshake and login through ``protocol``; or IRC NICK/USER/JOIN), lets S of
them send numbered, timestamped messages, either paced (``rate``) or as fast
as the server takes them with a bounded number in flight (saturation), and
counts what every reader receives: deliveries per second in a measured
window, loss, duplicates, order, and latency p50/p99. It can add clients that
log in and then never read.

Workers are ``multiprocessing`` processes started with the *spawn* context
(the same on Windows, macOS and Linux); each runs one selectors loop over its
share of the non-blocking sockets. On a 2-core machine one worker is right:
a second would take the server's CPU.

Latency clock: ``time.perf_counter_ns()``, read by the sender when it queues
a message and by the reader right after ``recv``; only pairs in the same
process are compared, so no assumption is made about clocks across processes.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import time
from array import array
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from .loadworker import (
    CLOSE,
    DRAIN,
    PREFILL,
    QUIET,
    RUN,
    STOP,
    LoadSpec,
    Shared,
    run_worker,
)

__all__ = ["LoadError", "LoadResult", "LoadSpec", "run_load"]

log = logging.getLogger(__name__)

_QUIET_TIMEOUT = 10.0
_RESULT_TIMEOUT = 20.0


class LoadError(RuntimeError):
    """The run could not be carried out (a worker failed or timed out)."""


@dataclass
class LoadResult:
    """What one run measured; every count is over readers (not silent clients)."""

    clients: int
    senders: int
    seconds: float  # length of the best measured step
    window_deliveries: int  # deliveries counted in it
    steps: list[dict[str, Any]]  # each step's window and deliveries/s
    sent: int  # messages the senders sent, whole run
    expected: int  # deliveries owed to readers, whole run
    delivered: int
    lost: int  # owed but not delivered by the end of the drain
    extra: int  # delivered beyond what was owed (counting readers cannot tell what)
    duplicates: int
    out_of_order: int
    dropped: int  # readers the server disconnected
    drained: bool  # every reader had everything within drain_timeout
    prefilled: bool  # the prefill whispers all came back (False: the server stalled)
    latency_samples: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    left: dict[str, str] = field(default_factory=dict)  # names the server announced as gone

    @property
    def deliveries_per_s(self) -> float:
        return self.window_deliveries / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"deliveries_per_s": round(self.deliveries_per_s)}


def percentile(sorted_values: list[int] | array, q: float) -> int:
    """Nearest-rank percentile of already sorted values (q in 0..1)."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def run_load(
    spec: LoadSpec,
    on_idle: Callable[[], None] | None = None,
    until: Callable[[], bool] | None = None,
    on_drained: Callable[[], None] | None = None,
) -> LoadResult:
    """Run one load against ``spec.address`` and return what it measured.

    ``on_idle`` is called once every client is logged in and the server has
    gone quiet, before any message is sent (figure 5 reads RSS there).
    ``until``, polled while a step is measured, ends the step early when true.
    ``on_drained`` is called once the load is over (every message delivered, or
    the drain timed out) while every client is still connected: what a server
    does when they all leave at once is not part of the load.
    """
    ctx = multiprocessing.get_context("spawn")
    shared = Shared.create(ctx, spec.procs)
    pipes: list[Connection] = []
    workers = []
    try:
        for proc in range(spec.procs):
            receiver, sender = ctx.Pipe(duplex=False)
            worker = ctx.Process(
                target=run_worker,
                args=(spec, proc, shared, sender),
                name=f"loadgen-{proc}",
                daemon=True,
            )
            worker.start()
            sender.close()
            pipes.append(receiver)
            workers.append(worker)
        # Spawning and importing count against the setup budget too.
        began = time.perf_counter()
        _wait_for(shared.ready, spec.setup_timeout + 10.0, "log in", pipes)
        logged_in = time.perf_counter()
        shared.phase.value = QUIET
        _wait_for(shared.quiet, _QUIET_TIMEOUT, "go quiet after logging in", pipes)
        log.debug(
            "%d clients logged in after %.2f s, quiet after %.2f s more",
            spec.clients,
            logged_in - began,
            time.perf_counter() - logged_in,
        )
        if on_idle is not None:
            on_idle()
        prefilled = True
        if spec.prefill_bytes and spec.silent:
            shared.phase.value = PREFILL
            prefilled = _wait_for(shared.prefilled, spec.prefill_timeout, None, pipes)
        shared.phase.value = RUN
        marks = [time.perf_counter()]
        for step in range(spec.steps):
            time.sleep(spec.warmup)
            shared.mark.value = 2 * step + 1
            marks.append(time.perf_counter())
            _sleep(spec.duration, until)
            shared.mark.value = 2 * step + 2
            marks.append(time.perf_counter())
        shared.phase.value = DRAIN
        drained = _wait_for(shared.drained, spec.drain_timeout, None, pipes)
        if on_drained is not None:
            on_drained()
        shared.phase.value = STOP
        parts = [_receive(pipe) for pipe in pipes]
    finally:
        shared.phase.value = CLOSE
        for worker in workers:
            worker.join(5.0)
            if worker.is_alive():
                worker.kill()
                worker.join(1.0)
        for pipe in pipes:
            pipe.close()
    return _combine(spec, parts, marks, drained, prefilled)


def _sleep(seconds: float, until: Callable[[], bool] | None) -> None:
    if until is None:
        time.sleep(seconds)
        return
    deadline = time.monotonic() + seconds
    while not until() and time.monotonic() < deadline:
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def _wait_for(flags: Any, timeout: float, what: str | None, pipes: list[Connection]) -> bool:
    """Wait until every worker set its flag; a worker that reports early has failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(flags):
            return True
        for pipe in pipes:
            if pipe.poll():
                raise LoadError(f"a load worker failed: {_receive(pipe).get('error')}")
        time.sleep(0.01)
    if what is None:
        return False
    raise LoadError(f"the clients did not {what} within {timeout:.0f} s")


def _receive(pipe: Connection) -> dict[str, Any]:
    if not pipe.poll(_RESULT_TIMEOUT):
        raise LoadError("a load worker sent no result")
    try:
        part: dict[str, Any] = pipe.recv()
    except EOFError:
        raise LoadError("a load worker died without a result") from None
    if "error" in part:
        raise LoadError(f"a load worker failed: {part['error']}")
    return part


def _combine(
    spec: LoadSpec, parts: list[dict[str, Any]], marks: list[float], drained: bool, prefilled: bool
) -> LoadResult:
    latencies = array("q")
    left: dict[str, str] = {}
    for part in parts:
        latencies.frombytes(part["latencies"])
        left.update(part["left"])
    ordered = sorted(latencies)

    def ms(q: float) -> float | None:
        return round(percentile(ordered, q) / 1e6, 3) if ordered else None

    def total(key: str) -> int:
        return sum(part[key] for part in parts)

    steps = []
    for step in range(spec.steps):
        start, end = 2 * step + 1, 2 * step + 2
        deliveries = sum(part["at_mark"][end] - part["at_mark"][start] for part in parts)
        steps.append((deliveries, marks[end] - marks[start], spec.windows[step]))
    deliveries, seconds, _ = max(steps, key=lambda s: s[0] / s[1])

    return LoadResult(
        clients=spec.clients,
        senders=spec.senders,
        seconds=round(seconds, 3),
        window_deliveries=deliveries,
        steps=[
            {"window": w if spec.rate is None else None, "deliveries_per_s": round(d / t)}
            for d, t, w in steps
        ],
        sent=total("sent"),
        expected=total("expected"),
        delivered=total("delivered"),
        lost=total("lost"),
        extra=total("extra"),
        duplicates=total("duplicates"),
        out_of_order=total("out_of_order"),
        dropped=total("dropped"),
        drained=drained,
        prefilled=prefilled,
        latency_samples=len(ordered),
        p50_ms=ms(0.50),
        p99_ms=ms(0.99),
        max_ms=ms(1.0),
        left=left,
    )
