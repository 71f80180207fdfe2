"""What a student sees after ``socketlab lab check``: one line a check, a hint under a ✗."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable

from .checking import CheckRun

Write = Callable[[str], None]


def marks(stream: object = None) -> dict[str, str]:
    """✓ and ✗ where the terminal can show them, plain words where it cannot."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗–".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return {"passed": "ok", "failed": "XX", "hung": "XX", "skipped": "--"}
    return {"passed": "✓", "failed": "✗", "hung": "✗", "skipped": "–"}


def render(run: CheckRun, *, command: str, verbose: bool = False,
           stopped_early: bool = True, note: str | None = None, write: Write = print) -> None:
    sign = marks()
    write(f"lab {run.lab.number} · {run.lab.title} — checking {run.target}")
    write("")
    if run.problem:
        write(f"  {sign['failed']} {run.problem}")
    for result in run.results:
        mark = sign.get(result.outcome, "?")
        write(f"  {mark} {result.sentence}")
        if result.outcome in ("failed", "hung"):
            lines = [result.message]
            if result.where:
                lines.append(f"(at {result.where})")
            if result.thread_error and result.thread_error not in result.message:
                lines.append(f"meanwhile {result.thread_error}")
            for line in lines:
                for part in (p.strip() for p in line.splitlines()):
                    write(textwrap.indent(textwrap.fill(part, 90), "      "))
            write(f"      run only this: {command} -k {result.selector}")
            if verbose and result.traceback:
                write(textwrap.indent(result.traceback.rstrip(), "      | "))
        elif result.outcome == "skipped":
            write(f"      skipped: {result.message}")
    if verbose and run.output.strip():
        write("")
        write("pytest's own output:")
        write(textwrap.indent(run.output.rstrip(), "  | "))
    write("")
    not_run = run.collected - len(run.results)
    if run.ok and not_run == 0:
        write(f"all {run.passed} checks passed")
    elif not_run > 0 and stopped_early:
        write(f"stopped at the first failure; {not_run} more not run "
              "(fix this one first, or add --all to run every check)")
    if run.skipped:
        write(f"{run.skipped} checks could not run here (the reason is above): "
              "this is not a pass")
    if note:
        write(note)
    failed = run.failed or int(run.problem is not None)
    skipped = f", {run.skipped} skipped" if run.skipped else ""
    write(f"{run.passed} passed, {failed} failed{skipped}")
