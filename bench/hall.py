"""Figure 8 of issue 12: the lecture hall, 1,000 clients on one machine.

Every server in one run, each in a fresh process: ngircd (C, one thread,
epoll; plain IRC), socketlab's two engines (``socketlab``: threads, the
default; ``events``: one selectors loop), plain and box, and the seed-style
baseline (box). The load is figure 2's (4 senders, 100 messages/s offered in
all, every reader decodes everything) with 1,000 clients; the sweep repeats
it at 50, 200 and 500 clients for the chart of p99 against clients. Memory:
2,000 clients logged in and idle. One more run puts a client that never reads
among the 1,000 (the event engine must still isolate it). Three more swap
TCP_NODELAY at 1,000 clients, box: socketlab's engines with Nagle's algorithm
on, the baseline with it off, so that the servers' CPU (given as user and
kernel time) and latency can be compared with the same socket option.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .figures import CLASS_RATE, CLASS_SENDERS, PREFILL_BYTES, Bench, Run, _health, _summary
from .loadgen import LoadError, LoadSpec, run_load
from .report import REPO, Row, judged, not_measured
from .servers import (
    Kind,
    ServerProcess,
    ServerStartError,
    cpu_times,
    ngircd_path,
    process_status,
    raise_open_files,
)

log = logging.getLogger(__name__)

HALL = 1000  # clients in a lecture hall
IDLE = 2000  # clients connected and idle, for memory
SWEEP = (50, 200, 500, HALL)
# Every reader decoding 100,000 socketlab messages a second (JSON, strict checks) is
# more than one Python process can do while it shares 2 cores with the server: the
# generator, not the server, would set the latency. One reader in ten decodes (and
# gives latencies, from all along the join order); the others count cheaply.
DECODE: Literal["all", "probe", "sample"] = "sample"
CHART = REPO / "docs" / "images" / "hall-p99.png"
# (kind, mode) in the order of the table and the chart's legend; IRC has no box mode.
SERIES: tuple[tuple[Kind, str], ...] = (
    ("ngircd", "plain"),
    ("events", "plain"),
    ("events", "box"),
    ("socketlab", "plain"),
    ("socketlab", "box"),
    ("baseline", "box"),
)
NAMES = {"ngircd": "ngircd", "events": "socketlab events", "socketlab": "socketlab threads",
         "baseline": "baseline"}  # fmt: skip
COLOURS = {"ngircd": "tab:gray", "events": "tab:green", "socketlab": "tab:blue",
           "baseline": "tab:red"}  # fmt: skip


@dataclass(frozen=True)
class HallRun:
    run: Run
    rss_kib: int | None  # with everyone connected, before the load
    threads: int | None
    # The server's user and system CPU seconds from then to the end of the load.
    cpu_s: tuple[float, float] | None

    @property
    def cpu_us_per_delivery(self) -> float | None:
        """What one delivery cost the server in CPU: steady under a busy machine's noise."""
        split = self.cpu_split
        return round(split[0] + split[1], 2) if split else None

    @property
    def cpu_split(self) -> tuple[float, float] | None:
        """The same, as (user, kernel) µs a delivery: where the cost is."""
        res = self.run.result
        if self.cpu_s is None or res is None or not res.delivered:
            return None
        user, system = self.cpu_s
        return round(1e6 * user / res.delivered, 2), round(1e6 * system / res.delivered, 2)


def hall_load(
    bench: Bench,
    kind: Kind,
    mode: str,
    clients: int,
    *,
    silent: bool = False,
    idle: bool = False,
    nodelay: bool | None = None,
) -> HallRun:
    """One paced run (or, with ``idle``, only the logins) against a fresh server
    (``nodelay``: TCP_NODELAY on its sockets; None for the server's own choice)."""
    quick = bench.settings.quick
    duration = (2.0 if quick else 5.0) if clients >= HALL else (1.0 if quick else 3.0)
    run = Run()
    memory: dict[str, int] = {}
    cpu: list[tuple[float, float] | None] = []
    try:
        with ServerProcess(
            kind, bench.settings.workdir, max_clients=max(clients, 250) + 8, nodelay=nodelay
        ) as server:

            def on_idle() -> None:
                memory.update(process_status(server.pid) or {})
                cpu.append(cpu_times(server.pid))

            def on_drained() -> None:
                # Before the clients leave: 1,000 leaving at once is 1,000 ``left``
                # broadcasts (about 500,000 sends) that no delivery counts.
                cpu.append(cpu_times(server.pid))

            spec = LoadSpec(
                server.address,
                protocol=server.protocol,  # type: ignore[arg-type]
                mode=mode,  # type: ignore[arg-type]
                clients=clients + silent,
                senders=0 if idle else CLASS_SENDERS,
                rate=CLASS_RATE,
                silent=int(silent),
                prefill_bytes=PREFILL_BYTES if silent else 0,
                prefill_timeout=bench.settings.stall_wait,
                warmup=0.1 if idle else 1.0,
                duration=0.1 if idle else duration,
                drain_timeout=15.0,
                setup_timeout=150.0 if idle else 60.0,  # (each login is announced to all)
                decode=DECODE,
                procs=bench.settings.procs,
            )
            run.result = run_load(spec, on_idle, on_drained=on_drained)
    except (LoadError, ServerStartError, OSError, ImportError) as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    what = f"{kind} {mode} {clients}{' +silent' if silent else ''}{' idle' if idle else ''}"
    if nodelay is not None:
        what += " TCP_NODELAY" if nodelay else " Nagle"
    start, end = (cpu[0], cpu[1]) if len(cpu) == 2 else (None, None)
    used = (end[0] - start[0], end[1] - start[1]) if start and end else None
    hall = HallRun(run, memory.get("VmRSS"), memory.get("Threads"), used)
    log.info("hall %s: %s; %s; %s µs CPU a delivery (user, kernel)", what, _summary(run), memory,
             hall.cpu_split)  # fmt: skip
    return hall


def fig_hall(bench: Bench) -> list[Row]:
    """8: the lecture hall (p50/p99, lost, threads, RSS at 1,000; memory at 2,000 idle)."""
    raise_open_files(2 * IDLE + 512)  # the servers and load workers inherit it
    series = [(k, m) for k, m in SERIES if k != "ngircd" or ngircd_path()]
    sweep: dict[tuple[str, str], dict[int, HallRun]] = {s: {} for s in series}
    for clients in SWEEP:  # alternate the servers at each size
        for kind, mode in series:
            sweep[kind, mode][clients] = hall_load(bench, kind, mode, clients)
    rows: list[Row] = []
    for kind, mode in series:
        rows += _hall_rows(kind, mode, sweep[kind, mode][HALL])
    rows += _targets(sweep)
    stalled = hall_load(bench, "events", "box", HALL, silent=True)
    rows += _stall_rows(stalled, sweep.get(("events", "box"), {}).get(HALL), bench.settings.procs)
    rows += _swapped_rows(bench)
    for kind, mode in series:
        rows.append(_sweep_row(kind, mode, sweep[kind, mode]))
    for kind, mode in series:
        if mode == "box" or kind == "ngircd":
            rows.append(_idle_row(kind, mode, hall_load(bench, kind, mode, IDLE, idle=True)))
    if not ngircd_path():
        rows.append(not_measured("8.hall.ngircd", "ngircd at 1,000 clients", "not installed"))
    chart = _chart(sweep)
    if chart:
        log.info("chart: %s", chart)
    return rows


def _hall_rows(kind: Kind, mode: str, hall: HallRun) -> list[Row]:
    res, key = hall.run.result, f"8.hall.{mode}.{kind}"
    what = f"{NAMES[kind]}, {mode}, {HALL:,} clients"
    if res is None:
        return [not_measured(f"{key}.p99", what, hall.run.error)]
    memory = (
        f"{hall.threads:,} threads, {hall.rss_kib / 1024:.0f} MB RSS with everyone connected"
        if hall.threads and hall.rss_kib
        else "no /proc: threads and RSS not read"
    )
    health = _health([hall.run])
    return [
        Row(f"{key}.p50", f"{what}: p50", res.p50_ms, "ms"),
        Row(f"{key}.p99", f"{what}: p99", res.p99_ms, "ms", note=memory),
        Row(f"{key}.lost", f"{what}: lost", res.lost, note=health),
        Row(
            f"{key}.cpu",
            f"{what}: server CPU a delivery",
            hall.cpu_us_per_delivery,
            "µs",
            note=f"{_cpu_note(hall)}; {res.delivered:,} deliveries, "
            f"{res.deliveries_per_s:,.0f}/s at best",
        ),
    ]


def _cpu_note(hall: HallRun | None) -> str:
    split = hall.cpu_split if hall else None
    return f"user {split[0]} + kernel {split[1]} µs" if split else "no /proc: CPU not read"


def _p99(hall: HallRun | None) -> float | None:
    res = hall.run.result if hall else None
    return res.p99_ms if res else None


def _targets(sweep: dict[tuple[str, str], dict[int, HallRun]]) -> list[Row]:
    """The issue's goal: box p99 at 1,000 clients within 2x ngircd's (plain IRC), 0 lost."""
    rows: list[Row] = []
    irc = _p99(sweep.get(("ngircd", "plain"), {}).get(HALL))
    for kind in ("events", "socketlab"):
        hall = sweep.get((kind, "box"), {}).get(HALL)
        ours = _p99(hall)
        ratio = round(ours / irc, 2) if ours and irc else None
        label = f"{NAMES[kind]} box p99 / ngircd p99, {HALL:,} clients"
        note = f"{ours} ms against {irc} ms in the same run" if ours and irc else ""
        if kind == "events":
            rows.append(
                judged("8.hall.box.events.p99_vs_ngircd", label, ratio, "×", "<=", 2.0, note)
            )
            res = hall.run.result if hall else None
            rows.append(
                judged(
                    "8.hall.box.events.lost_total",
                    f"{NAMES[kind]} box, {HALL:,} clients: messages lost",
                    res.lost if res else None,
                    "",
                    "<=",
                    0,
                )
            )
        else:
            rows.append(Row("8.hall.box.socketlab.p99_vs_ngircd", label, ratio, "×", note=note))
    baseline = sweep.get(("baseline", "box"), {}).get(HALL)
    theirs = baseline.cpu_us_per_delivery if baseline else None
    for kind in ("events", "socketlab"):
        hall = sweep.get((kind, "box"), {}).get(HALL)
        ours = hall.cpu_us_per_delivery if hall else None
        rows.append(
            judged(
                f"8.hall.box.{kind}.cpu_vs_baseline",
                f"{NAMES[kind]} box: server CPU a delivery / the baseline's, {HALL:,} clients",
                round(ours / theirs, 2) if ours and theirs else None,
                "×",
                "<=",
                1.0,
                f"{_cpu_note(hall)} against {_cpu_note(baseline)}; socketlab sets "
                "TCP_NODELAY, the baseline does not (the Nagle rows swap them)",
            )
        )
    return rows


# Nagle's algorithm swapped: socketlab's engines without TCP_NODELAY (as the baseline
# and ngircd run), and the baseline with it (as socketlab runs).
SWAPPED: tuple[tuple[Kind, bool], ...] = (("events", False), ("socketlab", False),
                                          ("baseline", True))  # fmt: skip


def _swapped_rows(bench: Bench) -> list[Row]:
    """What TCP_NODELAY costs and buys: p99 and server CPU with the option swapped."""
    rows: list[Row] = []
    for kind, nodelay in SWAPPED:
        hall = hall_load(bench, kind, "box", HALL, nodelay=nodelay)
        option = "TCP_NODELAY set" if nodelay else "Nagle on"
        key = f"8.hall.box.{kind}.{'nodelay' if nodelay else 'nagle'}"
        what = f"{NAMES[kind]}, box, {HALL:,} clients, {option}"
        res = hall.run.result
        if res is None:
            rows.append(not_measured(f"{key}.p99", what, hall.run.error))
            continue
        rows += [
            Row(f"{key}.p50", f"{what}: p50", res.p50_ms, "ms"),
            Row(f"{key}.p99", f"{what}: p99", res.p99_ms, "ms", note=f"{res.lost:,} lost"),
            Row(
                f"{key}.cpu",
                f"{what}: server CPU a delivery",
                hall.cpu_us_per_delivery,
                "µs",
                note=_cpu_note(hall),
            ),
        ]
    return rows


def _stall_rows(stalled: HallRun, calm: HallRun | None, procs: int) -> list[Row]:
    res, key = stalled.run.result, "8.hall.box.events.stall"
    what = f"socketlab events, box, {HALL:,} clients, one reader stalled"
    if res is None:
        return [not_measured(f"{key}.p99_ratio", what, stalled.run.error, "<= 2")]
    calm_p99 = _p99(calm)
    ratio = round(res.p99_ms / calm_p99, 2) if res.p99_ms and calm_p99 else None
    gone = res.left.get(f"u{HALL % procs}n{HALL}", "")  # the silent one
    note = f"p99 {res.p99_ms} ms; {res.delivered:,} of {res.expected:,} delivered" + (
        f"; the silent client was dropped: {gone}" if gone else ""
    )
    return [
        judged(
            f"{key}.p99_ratio", f"{what}: others' p99 / unstalled p99", ratio, "×", "<=", 2.0, note
        ),
        judged(f"{key}.lost", f"{what}: messages lost", res.lost, "", "<=", 0),
    ]


def _sweep_row(kind: Kind, mode: str, runs: dict[int, HallRun]) -> Row:
    points = {n: _p99(h) for n, h in runs.items()}
    text = " · ".join(f"{n:,}: {p} ms" if p is not None else f"{n:,}: —" for n, p in points.items())
    return Row(
        f"8.sweep.{mode}.{kind}",
        f"{NAMES[kind]}, {mode}: p99 against clients",
        points.get(HALL),
        "ms",
        note=text,
        details={"p99_ms": {str(n): p for n, p in points.items()}},
    )


def _idle_row(kind: Kind, mode: str, idle: HallRun) -> Row:
    what = f"{NAMES[kind]}, {IDLE:,} idle clients ({mode}): RSS"
    if idle.run.result is None or idle.rss_kib is None:
        return not_measured(f"8.idle.{kind}.rss", what, idle.run.error or "no /proc")
    return Row(
        f"8.idle.{kind}.rss",
        what,
        round(idle.rss_kib / 1024, 1),
        "MB",
        note=f"{idle.threads:,} threads; {idle.rss_kib / IDLE:.0f} KiB a client",
    )


def _chart(sweep: dict[tuple[str, str], dict[int, HallRun]]) -> Path | None:
    """p99 against clients, one line per server: docs/images/hall-p99.png."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no chart")
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for (kind, mode), runs in sweep.items():
        points = [(n, p) for n, h in sorted(runs.items()) if (p := _p99(h)) is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            style = "--" if mode == "plain" else "-"
            ax.plot(xs, ys, style, marker="o", color=COLOURS[kind], label=f"{NAMES[kind]} ({mode})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(SWEEP, [f"{n:,}" for n in SWEEP])
    ax.set_xlabel("clients (4 senders, 100 messages/s in all)")
    ax.set_ylabel("p99 latency (ms, log scale)")
    ax.set_title("The lecture hall: p99 against clients, one machine (2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART)
    plt.close(fig)
    return CHART
