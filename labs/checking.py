"""Run a lab's checks against a folder, in a child process, and collect what happened.

The child is pytest with ``plugin.py`` and ``guard.py``, run by ``isolation.py``
in a process group of its own: it may be killed (a hung check) without harming
the runner, and whatever the student's code left running dies with it. What
that code did to the process itself (threads that kept it alive, a fork, an
exit in the middle of a check) is told in the student's words.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import LABS_DIR, Lab, LabError
from .isolation import ChildOutcome, Limits, run_isolated

HARD_LIMIT = 180.0  # seconds for a whole run: a backstop behind the per-check limit
STACKS_KEPT = 256 * 1024  # bytes of the hung check's stack dump read back
FAILED = ("failed", "hung", "exited")
STACK_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


@dataclass
class CheckResult:
    id: str
    file: str
    name: str
    sentence: str
    outcome: str = "not run"  # passed | failed | hung | exited | skipped | not run
    message: str = ""
    where: str | None = None
    thread_error: str | None = None
    traceback: str = ""
    given: bool = False
    seconds: float = 0.0

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
    # What the student's code did to the check process: threads left, a fork …
    process_problems: list[str] = field(default_factory=list)
    output: str = ""  # pytest's own output, for -v: its tail
    output_cut: int = 0  # bytes of that output dropped from the front
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(r.outcome == "passed" for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.outcome in FAILED for r in self.results)

    @property
    def skipped(self) -> int:
        return sum(r.outcome == "skipped" for r in self.results)

    @property
    def ok(self) -> bool:
        """Every check that ran passed, and none was skipped: a skip proves nothing."""
        return (self.problem is None and not self.process_problems and self.failed == 0
                and self.skipped == 0 and self.passed > 0)

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
            "-p", "socketlab.labs.plugin", "-p", "socketlab.labs.guard",
            "-p", "no:cacheprovider", "-p", "no:threadexception",
            # The plugin's watchdog covers each check's teardown too; pytest's own
            # faulthandler plugin would cancel it as soon as a check fails.
            "-p", "no:faulthandler",
            "-c", str(LABS_DIR / "checks.ini"), "--rootdir", str(lab.checks),
            # tmp_path in this run's own folder: with pytest's shared one, the end of a
            # run deletes the oldest runs' folders there (any pytest's, MBs of them),
            # which kept the process from ending in time.
            "--basetemp", str(Path(tmp) / "pytest"),
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
        # Its own working directory: whatever the code writes there goes with the run.
        child = run_isolated(command, env=env, report=report, cwd=Path(tmp),
                             limits=Limits(check=limit, run=HARD_LIMIT))
        run.output, run.output_cut, run.seconds = child.output, child.output_cut, child.seconds
        _read_results(run, child, _read_stacks(stacks), limit)
    run.process_problems = what_the_code_did(run, child)
    if child.stopped == "run" and not run.results:
        run.problem = f"the checks did not even start within {HARD_LIMIT:.0f} s and were stopped"
    elif child.status not in (0, 1) and not run.results:
        run.problem = _collection_problem(run.output, child.status)
    return run


def _read_stacks(stacks: Path) -> str:
    """What the child's watchdog dumped when a check outlived its limit ("" if it did not)."""
    try:
        with stacks.open("rb") as handle:
            return handle.read(STACKS_KEPT).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _read_results(run: CheckRun, child: ChildOutcome, stacks: str, limit: float) -> None:
    by_id: dict[str, CheckResult] = {}
    for record in child.records:
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
            result.seconds = float(record.get("seconds", 0.0))
    # A check started and never ended (or ended, then hung in its cleanup): it
    # hung and was stopped, or the process ended under it.
    stuck = next((r for r in run.results if r.outcome == "not run"), None)
    if stuck is None and stacks and run.results:
        stuck = run.results[-1]
    exit_record = _own_exit(child)
    exited = by_id.get(exit_record.get("check") or "") if exit_record else None
    if exited is None and stuck is not None and not stacks and child.stopped is None:
        exited = stuck  # no os._exit() seen: a signal, a crash
    if exited is not None:
        exited.outcome = "exited"
        exited.where = exit_record.get("where") if exit_record else None
        exited.message = _exit_message(child.status, exit_record is not None)
        exited.thread_error, exited.traceback = None, ""
    elif stuck is not None and child.stopped == "run":
        stuck.outcome = "hung"
        stuck.message = f"the checks did not finish within {HARD_LIMIT:.0f} s and were stopped"
    elif stuck is not None:
        stuck.outcome = "hung"
        where = stuck_at(stacks, run.target)
        stuck.message = (f"this check did not finish within {limit:.0f} s and was stopped"
                         + (f"; your code was stuck at {where}" if where else ""))
        stuck.traceback = stacks


def _own_exit(child: ChildOutcome) -> dict[str, Any] | None:
    """The child's own ``os._exit()``, as ``guard.py`` saw it, if it called it."""
    return next((r for r in child.records if r["event"] == "exit"), None)


def _how_it_ended(status: int | None) -> str:
    """``"was killed by SIGSEGV"`` or ``"ended with status 3"``."""
    if status is not None and status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"ended with status {status}"


def _exit_message(status: int | None, by_os_exit: bool) -> str:
    if by_os_exit:
        return (f"your code exited with status {status} in the middle of this check: "
                "os._exit() ends the whole program at once, every thread with it (and these "
                "checks); to end one client or one thread, return from its function instead")
    return (f"the checks' process {_how_it_ended(status)} in the middle of this check: "
            "your code crashed it, or ended it")


def what_the_code_did(run: CheckRun, child: ChildOutcome) -> list[str]:
    """What the student's code did to the check process itself, one sentence each."""
    said = []
    forked = _fork_problem(run, child)
    if forked:
        said.append(forked)
    finished = next((r for r in child.records if r["event"] == "finished"), None)
    if child.stopped == "exit":
        said.append(_threads_problem(finished, child.limits.exit_grace))
    elif child.stopped == "run" and run.results and all(r.outcome != "hung"
                                                           for r in run.results):
        said.append(f"the checks did not finish within {HARD_LIMIT:.0f} s and were stopped")
    elif (finished is None and child.stopped is None and run.results
          and all(r.outcome not in ("hung", "exited") for r in run.results)):
        said.append(_ended_between(run, child))
    return said


def _ended_between(run: CheckRun, child: ChildOutcome) -> str:
    """The process ended between two checks, before the session's end."""
    exit_record = _own_exit(child)
    where = exit_record.get("where") if exit_record else None
    return (f"after '{run.results[-1].sentence}', the checks' process "
            f"{_how_it_ended(child.status)}"
            + (f" (your os._exit() at {where})" if where else "")
            + ": the checks after it never ran")


def _threads_problem(finished: dict[str, Any] | None, grace: float) -> str:
    count = int(finished.get("threads", 0)) if finished else 0
    if not finished or not count:
        return (f"after the checks, the program did not end by itself within {grace:.0f} s "
                "and was stopped (an atexit handler that waits?)")
    names = [(str(name), int(times)) for name, times in finished.get("names", [])]
    named = ", ".join(name + (f" ×{times}" if times > 1 else "") for name, times in names)
    named += ", …" if count > sum(times for _, times in names) else ""
    places = finished.get("places", [])
    return (f"your code left {many(count, 'thread')} running after the checks ({named}), "
            "so the program could not end and was stopped: make them daemon threads "
            "(daemon=True) or join() them"
            + (f"; they were waiting at {', '.join(places)}" if places else ""))


def _fork_problem(run: CheckRun, child: ChildOutcome) -> str | None:
    forks = [r for r in child.foreign if r.get("event") == "forked"]
    copied_checks = any(r.get("event") in ("start", "end") for r in child.foreign)
    left = len(child.leftovers)
    were = "were" if left != 1 else "was"
    still = f"{were} still running after the checks, and {were} stopped"
    if not (left or copied_checks):
        return None  # a copy that ended by itself did no harm
    if not (forks or copied_checks):
        return f"your code started processes, and {left} of them {still}: end each one you start"
    first = forks[0] if forks else {}
    during = next((r.sentence for r in run.results if r.id == first.get("check")), None)
    where = first.get("where")
    said = ("your code forked"
            + (f" (os.fork() at {where})" if where else "")
            + (f" during '{during}'" if during else ""))
    if left:
        said += f": {many(left, 'copy', 'copies')} of the checks' process {still}"
    if copied_checks:
        said += "; a copy ran checks of its own (only the original's results count)"
    return said + (". A forked child must end with os._exit(0) once its work is done, "
                   "or it runs on with everything it holds (the listening port too)")


def many(count: int, one: str, more: str | None = None) -> str:
    """``"1 thread"``, ``"3 threads"``, ``"2 copies"``."""
    return f"{count} {one if count == 1 else more or one + 's'}"


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


def _collection_problem(output: str, code: int | None) -> str:
    """One line from pytest's output when no check could even start."""
    for line in output.splitlines():
        if line.startswith("E ") and line[2:].strip():
            return f"the checks could not start: {line[2:].strip()}"
    return f"the checks could not start (pytest exit status {code}); run with -v to see why"
