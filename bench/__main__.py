"""``python -m bench [--quick] [--only NAME[,NAME]]``: run the benchmarks, print the table.

A whole run (quick or full) writes ``bench/results/latest.json`` and the
table in ``docs/performance.md``; a run with ``--only`` writes
``bench/results/only-NAME.json`` and leaves the document alone, so that the
document always shows one whole run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .figures import (
    Bench,
    Settings,
    fig_box_cost,
    fig_fanout,
    fig_gui,
    fig_latency,
    fig_memory,
    fig_stall,
    fig_trace_cost,
)
from .hall import fig_hall
from .inspector_bench import fig_inspector
from .report import RESULTS, Row, command_line, machine, table, write_doc, write_json

log = logging.getLogger("bench")

# In running order: later figures reuse the runs of earlier ones.
FIGURES: dict[str, list[Callable[[Bench], list[Row]]]] = {
    "fanout": [fig_fanout],
    "cost": [fig_box_cost, fig_trace_cost],
    "latency": [fig_latency],
    "stall": [fig_stall],
    "memory": [fig_memory],
    "inspector": [fig_inspector],
    "gui": [fig_gui],
    "hall": [fig_hall],
}


def default_procs() -> int:
    """Load-generator processes: one on 2 cores (a second would take the server's CPU)."""
    return max(1, min(4, ((os.cpu_count() or 2) - 2) // 2 + 1))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (under two minutes)")
    parser.add_argument("--only", metavar="NAME", help=f"comma-separated: {', '.join(FIGURES)}")
    parser.add_argument(
        "--procs",
        type=int,
        default=default_procs(),
        help="load-generator processes (default %(default)s)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.only:
        unknown = set(args.only.split(",")) - set(FIGURES)
        if unknown:
            parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
    )
    names = args.only.split(",") if args.only else list(FIGURES)
    info = machine()
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="socketlab-bench-") as tmp:
        bench = Bench(Settings(quick=args.quick, workdir=Path(tmp), procs=args.procs))
        for name, figures in FIGURES.items():
            if name in names:
                log.info("figure group %s", name)
                for figure in figures:
                    rows.extend(figure(bench))
    rows.sort(key=lambda row: int(row.figure))  # stable: figure order, run order within
    seconds = time.perf_counter() - started
    if hasattr(os, "getloadavg"):
        info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["seconds"] = round(seconds, 1)
    command = command_line()
    if args.only:
        write_json(rows, info, command, RESULTS.with_name(f"only-{'-'.join(names)}.json"))
    else:
        write_json(rows, info, command)
        write_doc(rows, info, command, seconds)
    print(table(rows))
    print(
        f"\n{sum(r.status == 'PASS' for r in rows)} PASS, "
        f"{sum(r.status == 'MISS' for r in rows)} MISS, {seconds:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
