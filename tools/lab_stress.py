"""Run every lab's solution again and again on a busy machine: a flaky check shows here.

    python -m tools.lab_stress [--repeat 20] [--labs 01-10] [--burners 2]

For each lab it does what ``socketlab lab check NN --solution --all`` does,
``--repeat`` times (every run, not stopping at the first failing one), while
``--burners`` processes burn a CPU each beside it, and prints the runs, the
failed runs and the time per lab, with the first ✗ of each failed run. A
correct solution must never fail: a check that does under load will fail a
student's correct code too. The exit status is 1 when any run failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from socketlab.labs.catalog import Lab, LabError, all_labs, lab_range
from socketlab.labs.checking import CheckRun, run_checks

from .xvfb import Xvfb, XvfbUnavailable

BURN = "while True: pass"


@dataclass
class LabFigures:
    lab: Lab
    runs: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)  # the first ✗ of each failed run

    def line(self) -> str:
        return (f"lab {self.lab.number}  {self.lab.title:<24} runs {self.runs:>3}  "
                f"failed {self.failed:>3}  {self.seconds:7.1f} s")


def first_failure(run: CheckRun) -> str:
    """One line for a failed run: its first ✗ and hint, what the code did to the process
    (threads left, a fork, an exit), or why no check could run."""
    for result in run.results:
        if result.outcome in ("failed", "hung", "skipped"):
            hint = " ".join(result.message.split())[:300]
            return f"{result.outcome} {result.file}::{result.name}: {hint}"
    if run.process_problems:
        return " ".join(" ".join(run.process_problems).split())[:300]
    return run.problem or f"{run.passed} of {run.collected} checks passed"


@contextmanager
def burners(count: int) -> Iterator[None]:
    """``count`` processes that each keep a CPU busy until the block ends."""
    procs = [subprocess.Popen([sys.executable, "-c", BURN], stdin=subprocess.DEVNULL)
             for _ in range(count)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def stress_lab(lab: Lab, repeat: int) -> LabFigures:
    figures = LabFigures(lab)
    started = time.monotonic()
    for _ in range(repeat):
        run = run_checks(lab, lab.solution, stop_first=False)
        figures.runs += 1
        if not (run.ok and run.passed == run.collected):
            figures.failed += 1
            figures.failures.append(first_failure(run))
    figures.seconds = time.monotonic() - started
    return figures


def stress(labs: Sequence[Lab], repeat: int, burner_count: int,
           say: Callable[[str], None] = print) -> list[LabFigures]:
    """Every lab's solution, ``repeat`` runs each, beside ``burner_count`` busy processes."""
    results: list[LabFigures] = []
    with ExitStack() as stack:
        if any(lab.needs_display for lab in labs) and not os.environ.get("DISPLAY"):
            stack.enter_context(Xvfb())  # sets $DISPLAY for the check runs
        stack.enter_context(burners(burner_count))
        for lab in labs:
            figures = stress_lab(lab, repeat)
            say(figures.line())
            for failure in figures.failures:
                say(f"    ✗ {failure}")
            results.append(figures)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.lab_stress",
        description="Run each lab's solution --all, N times, beside CPU-burning processes.")
    parser.add_argument("--repeat", type=int, default=20, metavar="N",
                        help="runs per lab (default 20)")
    parser.add_argument("--labs", metavar="A-B", help="which labs, e.g. 01-05 (default: all)")
    parser.add_argument("--burners", type=int, default=2, metavar="K",
                        help="CPU-burning processes beside the checks (default 2)")
    args = parser.parse_args(argv)
    # Stopped with SIGTERM as with Ctrl-C: the burners are stopped on the way out.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        labs = lab_range(args.labs) if args.labs else all_labs()
        results = stress(labs, max(1, args.repeat), max(0, args.burners),
                         lambda line: print(line, flush=True))  # each lab as it ends
    except (LabError, XvfbUnavailable) as error:
        print(f"lab_stress: {error}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    runs, failed = sum(r.runs for r in results), sum(r.failed for r in results)
    total = sum(r.seconds for r in results)
    print(f"{runs} runs, {failed} failed, {total:.0f} s, beside {args.burners} burners")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
