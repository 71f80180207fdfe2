"""The lab runner as a student and an instructor meet it: one clear line for
every expected failure, never a hang, never an overwritten edit, a handout
without solutions whose checks still run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socketlab.labs.catalog import all_labs, find_lab
from socketlab.labs.checking import run_checks
from socketlab.labs.handout import write_handout
from socketlab.labs.starters import solution_blocks

ECHO = find_lab("01")


def lab(*args: str, work: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOCKETLAB_WORK": str(work)}
    return subprocess.run([sys.executable, "-m", "socketlab", "lab", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_start_copies_the_starter_and_never_overwrites(tmp_path: Path) -> None:
    first = lab("start", "01", work=tmp_path)
    assert first.returncode == 0, first.stderr
    copy = tmp_path / ECHO.name / "echo_server.py"
    assert copy.read_text() == (ECHO.starter / "echo_server.py").read_text()
    copy.write_text("# my edits\n")
    again = lab("start", "1", work=tmp_path)
    assert again.returncode == 0
    assert "already started" in again.stdout
    assert copy.read_text() == "# my edits\n"


def test_check_runs_the_work_copy_and_list_remembers(tmp_path: Path) -> None:
    shutil.copytree(ECHO.solution, tmp_path / ECHO.name)
    checked = lab("check", "01", work=tmp_path)
    assert checked.returncode == 0, checked.stdout
    lines = checked.stdout.splitlines()
    assert lines[-1] == "14 passed, 0 failed"
    assert "all 14 checks passed" in lines
    assert sum(line.lstrip().startswith("✓") for line in lines) == 14
    listed = lab("list", work=tmp_path)
    row = next(line for line in listed.stdout.splitlines() if line.startswith("01"))
    assert "14 of 14 checks passed" in row and "your work" in row


def test_a_failing_check_shows_a_hint_and_how_to_rerun_it(tmp_path: Path) -> None:
    work = tmp_path / ECHO.name
    shutil.copytree(ECHO.solution, work)
    server = work / "echo_client.py"
    server.write_text(server.read_text().replace("sock.sendall(data)", "sock.send(data)"))
    checked = lab("check", "01", work=tmp_path)
    assert checked.returncode == 1
    out = checked.stdout
    assert "✗ echo() sends all of a 1 MB message (sendall, not send)" in out
    assert "use sendall()" in out
    assert "run only this: socketlab lab check 01 -k test_big_message_sent_whole" in out
    assert "Traceback" not in out + checked.stderr
    assert out.splitlines()[-1] == "12 passed, 1 failed"  # the 14th not run: stop at the first


def test_unknown_lab_and_missing_folder_are_one_line(tmp_path: Path) -> None:
    for args, says in ((("check", "42"), "there is no lab '42'"),
                       (("check", "01", str(tmp_path / "nowhere")), "there is no folder"),
                       (("start", "x"), "there is no lab 'x'")):
        result = lab(*args, work=tmp_path)
        assert result.returncode == 2
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_a_syntax_error_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    work = tmp_path / ECHO.name
    shutil.copytree(ECHO.starter, work)
    (work / "echo_server.py").write_text("def open_listener(host, port)\n    pass\n")
    result = lab("check", "01", work=tmp_path)
    assert result.returncode == 1
    assert "✗ echo_server.py line 1: expected ':'" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_hanging_check_is_stopped_and_says_where(tmp_path: Path) -> None:
    work = tmp_path / "hangs"
    shutil.copytree(ECHO.solution, work)
    server = work / "echo_server.py"
    server.write_text(server.read_text().replace(
        "    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n",
        "    threading.Event().wait()  # never returns\n"
        "    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"))
    started = time.monotonic()
    run = run_checks(ECHO, work, timeout=2)
    assert time.monotonic() - started < 20
    hung = run.results[0]
    assert hung.outcome == "hung"
    assert "did not finish within 2 s" in hung.message
    assert "echo_server.py line 26 in open_listener()" in hung.message


def test_handout_holds_no_solution_and_its_checks_run(tmp_path: Path) -> None:
    out = tmp_path / "handout"
    write_handout(out, all_labs())
    assert not list(out.glob("labs/*/solution")) and not list(out.glob("labs/*/mutants"))
    assert not (out / "tests" / "labs").exists()
    assert (out / "labs" / ECHO.name / "starter" / "echo_server.py").is_file()
    for lab_ in all_labs():
        # Later labs' starters hold this lab's solution on purpose (each lab is
        # self-contained): only this lab's own folder and the kit must not.
        handed = [p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*.py")
                  if not (p.relative_to(out).parts[0] == "labs"
                          and p.relative_to(out).parts[1][:2] > lab_.number)]
        for path in lab_.solution.rglob("*.py"):
            for block in solution_blocks(path.read_text(encoding="utf-8")):
                code = [line.strip() for line in block
                        if len(line.strip()) > 12 and not line.strip().startswith("#")]
                for text in handed:
                    leaked = [line for line in code if line in text]
                    assert len(leaked) < max(2, len(code) // 2 + 1), (
                        f"{path}: a solution block is in the handout: {leaked}")
    handout_lab = next(lab_ for lab_ in all_labs(out / "labs") if lab_.number == "01")
    run = run_checks(handout_lab, handout_lab.starter)
    assert run.collected == 14 and run.results[0].outcome == "failed"
    assert "not written yet: TODO(lab 01.1)" in run.results[0].message


def test_handout_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("mine")
    result = lab("handout", "--out", str(tmp_path), "--labs", "01", work=tmp_path)
    assert result.returncode == 2 and "is not empty" in result.stderr


@pytest.mark.parametrize("capture", ["proxy", pytest.param("sniff", marks=pytest.mark.needs_root)])
def test_sniff_shows_the_echo_on_the_wire(tmp_path: Path, capture: str) -> None:
    pcap = tmp_path / "echo.pcap"
    result = lab("sniff", "01", "--solution", "--capture", capture, "--pcap", str(pcap),
                 work=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"capturing with {capture}")
    assert "|hello, echo.|" in result.stdout and "|second client.|" in result.stdout
    assert result.stdout.count("═══ connection") == 2
    read_back = subprocess.run([sys.executable, "-m", "socketlab", "read", str(pcap)],
                               capture_output=True, text=True, timeout=60, check=True)
    assert "|TCP is a byte st|" in read_back.stdout
