"""Run a lab's checks against a folder, in a child process, and collect what happened.

The child is pytest with ``plugin.py``; it may be killed (a hung check) without
harming the runner, and a student's leftover threads or sockets die with it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import LABS_DIR, Lab, LabError

HARD_LIMIT = 180.0  # seconds for a whole run: a backstop behind the per-check limit
STACK_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


@dataclass
class CheckResult:
    id: str
    file: str
    name: str
    sentence: str
    outcome: str = "not run"  # passed | failed | hung | skipped | not run
    message: str = ""
    where: str | None = None
    thread_error: str | None = None
    traceback: str = ""
    given: bool = False

    @property
    def selector(self) -> str:
        """What ``-k`` takes to run only this check."""
        return self.name


@dataclass
class CheckRun:
    lab: Lab
    target: Path
    results: list[CheckResult] = field(default_factory=list)
    collected: int = 0
    problem: str | None = None  # the run itself failed: syntax error, collection error …
    output: str = ""  # pytest's own output, for -v
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(r.outcome == "passed" for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.outcome in ("failed", "hung") for r in self.results)

    @property
    def skipped(self) -> int:
        return sum(r.outcome == "skipped" for r in self.results)

    @property
    def ok(self) -> bool:
        """Every check that ran passed, and none was skipped: a skip proves nothing."""
        return (self.problem is None and self.failed == 0 and self.skipped == 0
                and self.passed > 0)

    def outcome_of(self, selector: str) -> str:
        """The outcome of the check whose name contains ``selector``."""
        for result in self.results:
            if selector in result.id:
                return result.outcome
        return "not run"


def syntax_problem(folder: Path) -> str | None:
    """One line for the first file in ``folder`` Python cannot even read."""
    for path in sorted(folder.rglob("*.py")):
        try:
            compile(path.read_bytes(), str(path), "exec")
        except SyntaxError as error:
            return (f"{path.relative_to(folder)} line {error.lineno}: {error.msg} — "
                    "Python cannot read this file, so no check can run")
    return None


def run_checks(
    lab: Lab,
    target: Path,
    *,
    stop_first: bool = True,
    keyword: str | None = None,
    timeout: float | None = None,
) -> CheckRun:
    """Run ``lab``'s checks against ``target``; never raises for the student's mistakes."""
    if not target.is_dir():
        raise LabError(f"there is no folder {target}")
    run = CheckRun(lab, target)
    run.problem = syntax_problem(target)
    if run.problem:
        return run
    limit = timeout or lab.check_timeout
    with tempfile.TemporaryDirectory(prefix="socketlab-check-") as tmp:
        report, stacks = Path(tmp) / "report.jsonl", Path(tmp) / "stacks.txt"
        command = [
            sys.executable, "-m", "pytest", str(lab.checks),
            "-p", "socketlab.labs.plugin", "-p", "no:cacheprovider", "-p", "no:threadexception",
            "-c", str(LABS_DIR / "checks.ini"), "--rootdir", str(lab.checks),
            "-q", "--tb=short", "-rN",
        ]
        if stop_first:
            command.append("-x")
        if keyword:
            command += ["-k", keyword]
        env = {
            **os.environ,
            "SOCKETLAB_LAB_TARGET": str(target.resolve()),
            "SOCKETLAB_LAB_REPORT": str(report),
            "SOCKETLAB_LAB_STACKS": str(stacks),
            "SOCKETLAB_LAB_ORDER": ",".join(lab.check_order),
            "SOCKETLAB_LAB_TIMEOUT": str(limit),
            "SOCKETLAB_HOME": str(Path(tmp) / "home"),
            "PYTHONDONTWRITEBYTECODE": "1",  # keep the student's folder (and handouts) clean
            # Only pytest's own plugins and ours: whatever else is installed (hypothesis
            # alone costs a second at every start) has no say in a student's checks.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        }
        env.pop("SOCKETLAB_KEYLOG", None)
        started = time.monotonic()
        try:
            child = subprocess.run(command, env=env, capture_output=True, text=True,
                                   timeout=HARD_LIMIT, stdin=subprocess.DEVNULL, check=False)
            run.output, code = child.stdout + child.stderr, child.returncode
        except subprocess.TimeoutExpired as expired:
            run.output, code = str(expired.stdout or "") + str(expired.stderr or ""), -1
        run.seconds = time.monotonic() - started
        _read_report(run, report, stacks, limit)
    if code not in (0, 1) and not run.results:
        run.problem = _collection_problem(run.output, code)
    return run


def _read_report(run: CheckRun, report: Path, stacks: Path, limit: float) -> None:
    by_id: dict[str, CheckResult] = {}
    if report.exists():
        for line in report.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["event"] == "collected":
                run.collected = record["count"]
            elif record["event"] == "start":
                result = CheckResult(record["id"], record["file"], record["name"],
                                     record["sentence"], given=record["given"])
                by_id[result.id] = result
                run.results.append(result)
            elif record["event"] == "end" and record["id"] in by_id:
                result = by_id[record["id"]]
                result.outcome = record["outcome"]
                result.message = record.get("message", "")
                result.where = record.get("where")
                result.thread_error = record.get("thread_error")
                result.traceback = record.get("traceback", "")
    for result in run.results:
        if result.outcome == "not run":  # started, never ended: it hung and was stopped
            result.outcome = "hung"
            stuck = stuck_at(stacks.read_text(encoding="utf-8") if stacks.exists() else "",
                             run.target)
            result.message = (f"this check did not finish within {limit:.0f} s and was stopped"
                              + (f"; your code was stuck at {stuck}" if stuck else ""))
            result.traceback = stacks.read_text(encoding="utf-8") if stacks.exists() else ""


def stuck_at(stack_dump: str, target: Path) -> str | None:
    """Where the student's code was when the stacks were dumped.

    For example ``server.py line 9 (recv)``.
    """
    places = []
    root = str(target.resolve())
    for match in STACK_FRAME.finditer(stack_dump):
        if match["file"].startswith(root):
            name = Path(match["file"]).name
            places.append(f"{name} line {match['line']} in {match['func']}()")
    return ", ".join(dict.fromkeys(places)) or None


def _collection_problem(output: str, code: int) -> str:
    """One line from pytest's output when no check could even start."""
    for line in output.splitlines():
        if line.startswith("E ") and line[2:].strip():
            return f"the checks could not start: {line[2:].strip()}"
    return f"the checks could not start (pytest exit status {code}); run with -v to see why"
