"""What a student sees after ``socketlab lab check``: one line a check, a hint under a ✗."""

from __future__ import annotations

import sys
import textwrap
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from .checking import FAILED, CheckResult, CheckRun
from .language import _, ngettext

Write = Callable[[str], None]


WIDTH = 90  # columns of a hint line, indent not counted


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes: a Hangul syllable takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` columns (``f"{text:<8}"`` counts characters)."""
    return text + " " * max(0, width - columns(text))


def wrap(text: str, width: int = WIDTH) -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken between words.

    English goes through ``textwrap`` as it always has; text with wide
    characters (Korean) is broken by columns, which ``textwrap`` cannot count.
    """
    if columns(text) == len(text):
        return textwrap.wrap(text, width)
    lines: list[str] = []
    for word in text.split():
        if lines and columns(lines[-1]) + 1 + columns(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


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
        lines.append(_("(at {where})").format(where=result.where))
    if result.thread_error and result.thread_error not in result.message:
        lines.append(_("meanwhile {error}").format(error=result.thread_error))
    return lines


def _explain(result: CheckResult, command: str, verbose: bool, write: Write) -> None:
    """A failed check's hint, where in the student's code, and how to run it alone."""
    _indented(hint_lines(result), write)
    write("      " + run_only_this(command, result.selector))
    if verbose and result.traceback:
        write(textwrap.indent(result.traceback.rstrip(), "      | "))


def run_only_this(command: str, selector: str) -> str:
    """How to run one check alone: under its ✗, and in a grade."""
    return _("run only this: {command} -k {selector}").format(command=command, selector=selector)


def _indented(lines: list[str], write: Write) -> None:
    for line in lines:
        for part in (p.strip() for p in line.splitlines()):
            write(textwrap.indent("\n".join(wrap(part)), "      "))


def _process_problem(text: str, sign: dict[str, str], write: Write) -> None:
    """What the code did to the check process: a ✗ of its own after the checks."""
    first, *rest = wrap(text)
    write(f"  {sign['failed']} {first}")
    for line in rest:
        write(f"      {line}")


def _output(run: CheckRun, write: Write) -> None:
    write("")
    if run.output_cut:
        write(_("pytest's own output (its last {size} KB):").format(
            size=len(run.output.encode()) // 1024))
    else:
        write(_("pytest's own output:"))
    write(textwrap.indent(run.output.rstrip(), "  | "))


def _cut_note(run: CheckRun) -> str | None:
    if not run.output_cut:
        return None
    return _("(your code printed {size}; only the end was kept: -v shows it)").format(
        size=_size(run.output_cut + len(run.output.encode())))


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.0f} KB"


def render(run: CheckRun, *, command: str, verbose: bool = False,
           stopped_early: bool = True, note: str | None = None, write: Write = print) -> None:
    sign = marks()
    write(_("lab {number} · {title} — checking {target}").format(
        number=run.lab.number, title=run.lab.shown_title, target=run.target))
    write("")
    if run.problem:
        write(f"  {sign['failed']} {run.problem}")
    for result in run.results:
        mark = sign.get(result.outcome, "?")
        write(f"  {mark} {result.sentence}")
        if result.outcome in FAILED:
            _explain(result, command, verbose, write)
        elif result.outcome == "skipped":
            write("      " + _("skipped: {reason}").format(reason=result.message))
    for text in run.process_problems:
        _process_problem(text, sign, write)
    if verbose and run.output.strip():
        _output(run, write)
    write("")
    not_run = run.collected - len(run.results)
    if run.ok and not_run == 0:
        write(_("all {count} checks passed").format(count=run.passed))
    elif not_run > 0 and stopped_early:
        write(_("stopped at the first failure; {count} more not run "
                "(fix this one first, or add --all to run every check)").format(count=not_run))
    if run.skipped:
        write(_("{count} checks could not run here (the reason is above): "
                "this is not a pass").format(count=run.skipped))
    for line in (_cut_note(run), note):
        if line:
            write(line)
    failed = run.failed + int(run.problem is not None) + len(run.process_problems)
    if run.skipped:
        write(_("{passed} passed, {failed} failed, {skipped} skipped").format(
            passed=run.passed, failed=failed, skipped=run.skipped))
    else:
        write(_("{passed} passed, {failed} failed").format(passed=run.passed, failed=failed))


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
    first = runs[0]
    header = (_("lab {number} · {title} — checking {target}, {runs} runs (of {asked} asked)")
              if n < asked else _("lab {number} · {title} — checking {target}, {runs} runs"))
    write(header.format(number=first.lab.number, title=first.lab.shown_title, target=first.target,
                        runs=n, asked=asked))
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
            which = ", ".join(map(str, tally.failing_runs[:5]))
            which += ", …" if len(tally.failing_runs) > 5 else ""
            write(f"  {sign['failed']} " + _("{sentence} — failed in {failed} of {runs} runs "
                                             "(run {which})").format(
                sentence=tally.first.sentence, failed=tally.failed, runs=n, which=which))
            _explain(tally.first, f"{command} --repeat {asked}", verbose, write)
        elif tally.skipped:
            write(f"  {sign['skipped']} " + _("{sentence} — skipped: {reason}").format(
                sentence=tally.first.sentence, reason=tally.first.message))
        else:
            line = tally.first.sentence if ran == n else _(
                "{sentence} — passed in the {ran} of {runs} runs that reached it").format(
                sentence=tally.first.sentence, ran=ran, runs=n)
            write(f"  {sign['passed']} {line}")
    troubled = [run for run in runs if run.process_problems]
    if troubled:
        _process_problem(_("{problem} (in {count} of {runs} runs)").format(
            problem=troubled[0].process_problems[0], count=len(troubled), runs=n), sign, write)
    cut = next((note for run in runs if (note := _cut_note(run))), None)
    if cut:
        write(cut)
    write("")
    failed = sum(bool(t.failed) for t in tallies.values())
    skipped = sum(bool(t.skipped and not t.failed) for t in tallies.values())
    passed = len(tallies) - failed - skipped
    bad_runs = sum(bool(run.failed or run.problem or run.process_problems) for run in runs)
    if not bad_runs and not skipped:
        write(_("{runs} runs: all {count} checks passed in every run").format(runs=n, count=passed))
        return
    if failed:
        said = ngettext("{count} check failed in {bad} of {runs} runs, {passed} never failed",
                        "{count} checks failed in {bad} of {runs} runs, {passed} never failed",
                        failed).format(count=failed, bad=bad_runs, runs=n, passed=passed)
    elif bad_runs:
        said = _("no check failed, but {bad} of {runs} runs did (the {mark} above)").format(
            bad=bad_runs, runs=n, mark=sign["failed"])
    else:
        said = ngettext("{count} check passed in every run", "{count} checks passed in every run",
                        passed).format(count=passed)
    if skipped:
        write(_("{runs} runs: {said}, {skipped} skipped (not a pass)").format(
            runs=n, said=said, skipped=skipped))
    else:
        write(_("{runs} runs: {said}").format(runs=n, said=said))
