"""What a student sees after ``socketlab lab check``: one line a check, a hint under a ✗."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from .checking import FAILED, CheckResult, CheckRun, many

Write = Callable[[str], None]


def marks(stream: object = None) -> dict[str, str]:
    """✓ and ✗ where the terminal can show them, plain words where it cannot."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗–".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return {"passed": "ok", "failed": "XX", "hung": "XX", "exited": "XX", "skipped": "--"}
    return {"passed": "✓", "failed": "✗", "hung": "✗", "exited": "✗", "skipped": "–"}


def hint_lines(result: CheckResult) -> list[str]:
    """A failed check's hint and where in the student's code: what a grade shows too."""
    lines = [result.message]
    if result.where:
        lines.append(f"(at {result.where})")
    if result.thread_error and result.thread_error not in result.message:
        lines.append(f"meanwhile {result.thread_error}")
    return lines


def _explain(result: CheckResult, command: str, verbose: bool, write: Write) -> None:
    """A failed check's hint, where in the student's code, and how to run it alone."""
    _indented(hint_lines(result), write)
    write(f"      run only this: {command} -k {result.selector}")
    if verbose and result.traceback:
        write(textwrap.indent(result.traceback.rstrip(), "      | "))


def _indented(lines: list[str], write: Write) -> None:
    for line in lines:
        for part in (p.strip() for p in line.splitlines()):
            write(textwrap.indent(textwrap.fill(part, 90), "      "))


def _process_problem(text: str, sign: dict[str, str], write: Write) -> None:
    """What the code did to the check process: a ✗ of its own after the checks."""
    first, *rest = textwrap.wrap(text, 90)
    write(f"  {sign['failed']} {first}")
    for line in rest:
        write(f"      {line}")


def _output(run: CheckRun, write: Write) -> None:
    write("")
    write("pytest's own output" + (f" (its last {len(run.output.encode()) // 1024} KB)"
                                   if run.output_cut else "") + ":")
    write(textwrap.indent(run.output.rstrip(), "  | "))


def _cut_note(run: CheckRun) -> str | None:
    if not run.output_cut:
        return None
    return (f"(your code printed {_size(run.output_cut + len(run.output.encode()))}; "
            "only the end was kept: -v shows it)")


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.0f} KB"


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
        if result.outcome in FAILED:
            _explain(result, command, verbose, write)
        elif result.outcome == "skipped":
            write(f"      skipped: {result.message}")
    for text in run.process_problems:
        _process_problem(text, sign, write)
    if verbose and run.output.strip():
        _output(run, write)
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
    for line in (_cut_note(run), note):
        if line:
            write(line)
    failed = run.failed + int(run.problem is not None) + len(run.process_problems)
    skipped = f", {run.skipped} skipped" if run.skipped else ""
    write(f"{run.passed} passed, {failed} failed{skipped}")


@dataclass
class _Tally:
    """One check over many runs."""

    first: CheckResult  # its first failing result (or its first result)
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failing_runs: list[int] = field(default_factory=list)


def render_repeated(runs: list[CheckRun], *, command: str, asked: int,
                    verbose: bool = False, write: Write = print) -> None:
    """``--repeat N``: every check once, with how often it passed and failed over the runs."""
    sign = marks()
    n = len(runs)
    write(f"lab {runs[0].lab.number} · {runs[0].lab.title} — checking {runs[0].target}, "
          f"{n} runs" + (f" (of {asked} asked)" if n < asked else ""))
    write("")
    tallies: dict[str, _Tally] = {}
    for number, run in enumerate(runs, 1):
        for result in run.results:
            tally = tallies.setdefault(result.id, _Tally(result))
            if result.outcome in FAILED:
                if not tally.failed:
                    tally.first = result
                tally.failed += 1
                tally.failing_runs.append(number)
            elif result.outcome == "passed":
                tally.passed += 1
            elif result.outcome == "skipped":
                tally.skipped += 1
    problem = next((run.problem for run in runs if run.problem), None)
    if problem:
        write(f"  {sign['failed']} {problem}")
    for tally in tallies.values():
        ran = tally.passed + tally.failed + tally.skipped
        if tally.failed:
            write(f"  {sign['failed']} {tally.first.sentence} — failed in {tally.failed} of "
                  f"{n} runs (run {', '.join(map(str, tally.failing_runs[:5]))}"
                  f"{', …' if len(tally.failing_runs) > 5 else ''})")
            _explain(tally.first, f"{command} --repeat {asked}", verbose, write)
        elif tally.skipped:
            write(f"  {sign['skipped']} {tally.first.sentence} — skipped: {tally.first.message}")
        else:
            reached = "" if ran == n else f" — passed in the {ran} of {n} runs that reached it"
            write(f"  {sign['passed']} {tally.first.sentence}{reached}")
    troubled = [run for run in runs if run.process_problems]
    if troubled:
        _process_problem(troubled[0].process_problems[0]
                         + f" (in {len(troubled)} of {n} runs)", sign, write)
    cut = next((note for run in runs if (note := _cut_note(run))), None)
    if cut:
        write(cut)
    write("")
    failed = sum(bool(t.failed) for t in tallies.values())
    skipped = sum(bool(t.skipped and not t.failed) for t in tallies.values())
    passed = len(tallies) - failed - skipped
    bad_runs = sum(bool(run.failed or run.problem or run.process_problems) for run in runs)
    if not bad_runs and not skipped:
        write(f"{n} runs: all {passed} checks passed in every run")
        return
    if failed:
        said = f"{many(failed, 'check')} failed in {bad_runs} of {n} runs, {passed} never failed"
    elif bad_runs:
        said = f"no check failed, but {bad_runs} of {n} runs did (the {sign['failed']} above)"
    else:
        said = f"{many(passed, 'check')} passed in every run"
    write(f"{n} runs: {said}" + (f", {skipped} skipped (not a pass)" if skipped else ""))
