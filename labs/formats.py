"""A check run as a grade: JSON (our own, stable), JUnit XML and Gradescope's results.json.

All three come from one ``Grade``: every check of the lab (``points.py``), in
order, with the outcome it had in the run. A check that passed earns its
points; every other outcome earns none: failed, hung, exited, skipped (it
could not run here: no display, no capture rights) and "not run" (the
process ended before it, or the code could not even be read). The hint is
the one the student sees under the ✗ locally (``report.hint_lines``).

The JSON format (``--format json``), version 1::

    {"format": "socketlab-results", "version": 1, "lab": "01", "title": "Echo",
     "target": "/path/checked", "points": 12.0, "max_points": 14.0,
     "passed": 12, "failed": 2, "problem": null, "process_problems": [],
     "seconds": 3.1,
     "checks": [{"id": "test_echo.py::test_…", "step": "test_echo.py", "title": "…",
                 "outcome": "passed", "hint": "", "where": null, "duration": 0.12,
                 "points": 1.0, "max_points": 1.0, "given": false}, …]}
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from .checking import CheckRun
from .language import N_, _
from .points import Check, lab_checks, shown
from .report import hint_lines, run_only_this

FORMATS = ("text", "json", "junit", "gradescope")
# What a student reads beside a ✗ on Gradescope; the outcome names themselves stay English.
NOT_PASSED = {
    "failed": N_("failed"),
    "hung": N_("did not finish in time and was stopped"),
    "exited": N_("the checks' process ended in it"),
    "skipped": N_("could not run here (not a pass)"),
    "not run": N_("never ran"),
}


@dataclass(frozen=True)
class Graded:
    check: Check
    outcome: str  # passed | failed | hung | exited | skipped | not run
    hint: str  # "" when it passed
    where: str | None
    seconds: float

    @property
    def earned(self) -> float:
        return self.check.points if self.outcome == "passed" else 0.0


@dataclass(frozen=True)
class Grade:
    run: CheckRun
    checks: tuple[Graded, ...]
    command: str  # how a student runs these checks: "socketlab lab check 01"

    @property
    def points(self) -> float:
        return sum(graded.earned for graded in self.checks)

    @property
    def max_points(self) -> float:
        return sum(graded.check.points for graded in self.checks)

    @property
    def passed(self) -> int:
        return sum(graded.outcome == "passed" for graded in self.checks)

    def rerun(self, graded: Graded) -> str:
        return run_only_this(self.command, graded.check.name)


def _never_ran(run: CheckRun) -> str:
    if run.problem:
        return run.problem
    if run.process_problems:
        return _("this check never ran: {problem}").format(problem=run.process_problems[0])
    return _("this check never ran: the checks' process ended before it")


def grade(run: CheckRun, command: str) -> Grade:
    """Every check of ``run``'s lab with what it earned in ``run``."""
    by_id = {result.id: result for result in run.results}
    graded = []
    for check in lab_checks(run.lab):
        result = by_id.get(check.id)
        if result is None or result.outcome == "not run":
            graded.append(Graded(check, "not run", _never_ran(run), None, 0.0))
        elif result.outcome == "passed":
            graded.append(Graded(check, "passed", "", None, result.seconds))
        elif result.outcome == "skipped":
            graded.append(Graded(check, "skipped",
                                 _("could not run here: {reason}").format(reason=result.message),
                                 None, result.seconds))
        else:
            graded.append(Graded(check, result.outcome, "\n".join(hint_lines(result)),
                                 result.where, result.seconds))
    return Grade(run, tuple(graded), command)


def as_json(grade: Grade) -> dict[str, Any]:
    run = grade.run
    return {
        "format": "socketlab-results", "version": 1,
        "lab": run.lab.number, "title": run.lab.title, "target": str(run.target),
        "points": grade.points, "max_points": grade.max_points,
        "passed": grade.passed, "failed": len(grade.checks) - grade.passed,
        "problem": run.problem, "process_problems": list(run.process_problems),
        "seconds": round(run.seconds, 3),
        "checks": [{
            "id": g.check.id, "step": g.check.file, "title": g.check.title,
            "outcome": g.outcome, "hint": g.hint, "where": g.where,
            "duration": round(g.seconds, 3), "points": g.earned,
            "max_points": g.check.points, "given": g.check.given,
        } for g in grade.checks],
    }


def as_junit(grade: Grade) -> str:
    """One testsuite, one testcase a check; the hint is the failure's message."""
    run = grade.run
    failures = sum(g.outcome == "failed" for g in grade.checks) + bool(run.process_problems)
    errors = sum(g.outcome in ("hung", "exited", "not run") for g in grade.checks)
    skipped = sum(g.outcome == "skipped" for g in grade.checks)
    counts = {"tests": str(len(grade.checks) + bool(run.process_problems)),
              "failures": str(failures), "errors": str(errors), "skipped": str(skipped),
              "time": f"{run.seconds:.3f}"}
    suites = ET.Element("testsuites", {"name": f"socketlab lab {run.lab.number}", **counts})
    suite = ET.SubElement(suites, "testsuite",
                          {"name": f"lab {run.lab.number} · {run.lab.title}", **counts})
    for g in grade.checks:
        case = ET.SubElement(suite, "testcase", name=g.check.name,
                             classname=f"lab{run.lab.number}.{g.check.file.removesuffix('.py')}",
                             time=f"{g.seconds:.3f}")
        if g.outcome == "passed":
            continue
        if g.outcome == "skipped":
            ET.SubElement(case, "skipped", message=g.hint)
            continue
        tag = "failure" if g.outcome == "failed" else "error"
        detail = ET.SubElement(case, tag, message=g.hint, type=g.outcome)
        detail.text = f"{g.check.title}\n{g.hint}\n{grade.rerun(g)}"
    if run.process_problems:
        case = ET.SubElement(suite, "testcase", name="process",
                             classname=f"lab{run.lab.number}.process", time="0")
        text = "\n".join(run.process_problems)
        ET.SubElement(case, "failure", message=text, type="process").text = text
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode")


def as_gradescope(grade: Grade) -> dict[str, Any]:
    """Gradescope's results.json: the score, and one test a check with its points."""
    run = grade.run
    tests = []
    for number, g in enumerate(grade.checks, 1):
        mark = "✓" if g.outcome == "passed" else "✗"
        output = (f"{mark} {g.check.title}" if g.outcome == "passed" else
                  f"{mark} {g.check.title} — {_(NOT_PASSED[g.outcome])}\n{g.hint}\n"
                  f"{grade.rerun(g)}")
        tests.append({
            "name": f"{number}. {g.check.title}",
            "number": str(number),
            "score": g.earned,
            "max_score": g.check.points,
            "status": "passed" if g.outcome == "passed" else "failed",
            "output": output,
            "visibility": "visible",
        })
    said = [_("lab {number} · {title}: {points} of {max_points} points, {passed} of {total} "
              "checks passed").format(number=run.lab.number, title=run.lab.shown_title,
                                      points=shown(grade.points),
                                      max_points=shown(grade.max_points),
                                      passed=grade.passed, total=len(grade.checks))]
    said += [f"✗ {text}" for text in run.process_problems]
    return {
        "score": grade.points,
        "execution_time": round(run.seconds, 3),
        "output": "\n".join(said),
        "stdout_visibility": "hidden",
        "visibility": "visible",
        "tests": tests,
    }


def render_format(grade: Grade, fmt: str) -> str:
    """``grade`` written as ``fmt`` (json, junit or gradescope)."""
    if fmt == "junit":
        return as_junit(grade)
    data = as_json(grade) if fmt == "json" else as_gradescope(grade)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
