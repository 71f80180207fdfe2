"""A thread's error is charged to the check that started it, never to a later check,
and the checks' own threads are never "your code"."""

from __future__ import annotations

from pathlib import Path

from socketlab.labs.catalog import all_labs
from socketlab.labs.checking import run_checks

CHECKS = '''
import threading
import time

from socketlab.labs import harness


def test_first_leaves_a_thread_behind():
    """a check whose student thread fails after the check is over"""
    module = harness.load("work.py")
    started = threading.Event()

    def serve():  # the student's server starts a thread per client, as lab 03's does
        threading.Thread(target=module.late_failure, args=(started,), daemon=True).start()

    harness.run_in_thread(serve, name="student-serve")
    assert started.wait(2)


def test_second_sees_nothing_of_it():
    """a later check, running while that thread fails"""
    time.sleep(0.6)
    assert harness.first_thread_exception() is None, harness.first_thread_exception()


def test_checkers_are_not_the_student():
    """the checks' own thread fails: not the student's error"""
    thread = harness.checker_thread(lambda: 1 / 0, name="reference-server")
    thread.join(2)
    assert harness.first_thread_exception() is None, harness.first_thread_exception()


def test_own_thread_is_charged():
    """the student's thread fails during its own check: that check is told"""
    module = harness.load("work.py")
    thread = harness.run_in_thread(module.late_failure, None, name="student-late")
    thread.join(2)
    assert harness.first_thread_exception() is None, harness.first_thread_exception()
'''

WORK = '''
import time


def late_failure(started):
    if started is not None:
        started.set()
    time.sleep(0.3)
    raise OSError(9, "Bad file descriptor")
'''


def test_thread_error_charged_only_to_its_own_check(tmp_path: Path) -> None:
    lab_dir = tmp_path / "labs" / "99-threads"
    (lab_dir / "checks").mkdir(parents=True)
    (lab_dir / "lab.toml").write_text('title = "Threads"\ncheck_order = ["test_t.py"]\n',
                                      encoding="utf-8")
    (lab_dir / "checks" / "test_t.py").write_text(CHECKS, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    (work / "work.py").write_text(WORK, encoding="utf-8")
    [lab] = all_labs(tmp_path / "labs")
    run = run_checks(lab, work, stop_first=False)
    outcomes = {r.name: (r.outcome, r.message) for r in run.results}
    assert outcomes["test_first_leaves_a_thread_behind"][0] == "passed", outcomes
    assert outcomes["test_second_sees_nothing_of_it"][0] == "passed", outcomes
    assert outcomes["test_checkers_are_not_the_student"][0] == "passed", outcomes
    outcome, message = outcomes["test_own_thread_is_charged"]
    assert outcome == "failed" and "the thread 'student-late' stopped" in message, outcomes
    assert "Bad file descriptor" in message and "work.py line" in message, message
