"""The lab runner as a student and an instructor meet it: one clear line for
every expected failure, never a hang, never an overwritten edit, a handout
without solutions whose checks still run."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
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


# A student's runaway code, in the student's own folder (lab 01's solution, edited).
# Each asserts what the student sees, how long it took (the check's limit plus a
# few seconds at most) and that no process or port of it is left afterwards.

SLACK = 5.0  # seconds beyond the check's limit a whole hostile run may take
RECORD = ('\ndef record(note: str = "") -> None:\n'
          '    with open(__file__ + ".pids", "a") as pids:\n'
          '        pids.write(f"{os.getpid()} {note}\\n")\n')

# A forking server: the parent goes on accepting, the child serves that client.
FORK_PER_CLIENT = (
    "        conn, address = listener.accept()\n        with conn:\n",
    "        conn, address = listener.accept()\n"
    "        if os.fork():\n"
    "            conn.close()\n"
    "            continue\n"
    "        record(str(listener.getsockname()[1]))\n"
    "        with conn:\n")


def hostile(folder: Path, *edits: tuple[str, str]) -> Path:
    """Lab 01's solution in ``folder``, with each ``(old, new)`` edit made to echo_server.py."""
    shutil.copytree(ECHO.solution, folder)
    server = folder / "echo_server.py"
    text = server.read_text().replace("import threading\n", "import os\nimport threading\n"
                                      "import time\n" + RECORD, 1)
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    server.write_text(text)
    return folder


def line_of(folder: Path, needle: str) -> int:
    lines = (folder / "echo_server.py").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def recorded(folder: Path) -> list[tuple[int, str]]:
    """The (pid, note) lines the student's code wrote while it ran (none: no file)."""
    pids = folder / "echo_server.py.pids"
    lines = pids.read_text().splitlines() if pids.exists() else []
    return [(int(pid), note) for pid, _, note in (line.partition(" ") for line in lines)]


def running(pid: int) -> bool:
    """Whether ``pid`` is still a check process (a zombie runs nothing and holds no port)."""
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self/stat").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        command = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    return state not in ("Z", "X") and b"pytest" in command  # not a newcomer with its pid


def nobody_listens(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        try:
            probe.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            pass
        else:
            return False
    with socket.socket() as listener:  # and the port can be had again
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
    return True


def hostile_check(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``socketlab lab check 01 FOLDER``: in time, and nothing of it left running after."""
    started = time.monotonic()
    result = lab("check", "01", str(folder), *args, work=folder.parent / "work")
    took = time.monotonic() - started
    assert took < ECHO.check_timeout + SLACK, f"took {took:.1f} s: {result.stdout}"
    assert not [pid for pid, _ in recorded(folder) if running(pid)], "a process was left"
    return result


def said(result: subprocess.CompletedProcess[str]) -> str:
    """What the student read, as one line (the runner wraps long hints)."""
    return " ".join(result.stdout.split())


def test_threads_left_running_are_named_and_stopped(tmp_path: Path) -> None:
    folder = hostile(tmp_path / "threads", (
        "    listener.listen()\n",
        "    listener.listen()\n"
        "    record()\n"
        "    threading.Thread(target=heartbeat, name=\"heartbeat\").start()  # not daemon\n"),
        ("def handle(", "def heartbeat() -> None:\n    while True:\n        time.sleep(0.2)\n\n\n"
                        "def handle("))
    result = hostile_check(folder)
    out = result.stdout
    assert result.returncode == 1, out
    assert sum(line.lstrip().startswith("✓") for line in out.splitlines()) == 14
    # One heartbeat per open_listener() call the checks made: two or more.
    left = re.search(r"✗ your code left (\d+) threads running after the checks "
                     r"\(heartbeat ×(\d+)\), so the program could not end and was stopped: "
                     r"make them daemon threads \(daemon=True\) or join\(\) them; "
                     r"they were waiting at echo_server\.py "
                     rf"line {line_of(folder, 'time.sleep')}", said(result))
    assert left and int(left[1]) == int(left[2]) >= 2, said(result)
    assert "all 14 checks passed" not in out and out.splitlines()[-1] == "14 passed, 1 failed"
    assert recorded(folder), "the checks' process was not seen"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="only POSIX can fork")
def test_a_fork_that_keeps_the_port_is_told_and_ended(tmp_path: Path) -> None:
    folder = hostile(tmp_path / "forks", FORK_PER_CLIENT)  # and the child never ends
    result = hostile_check(folder)
    assert result.returncode == 1, result.stdout
    copies = recorded(folder)
    assert len(copies) >= 2
    assert (f"✗ your code forked (os.fork() at echo_server.py line {line_of(folder, 'os.fork')})"
            " during '5 clients, one after another, each get their own bytes back': "
            f"{len(copies)} copies of the checks' process were still running after the checks, "
            "and were stopped. A forked child must end with os._exit(0)") in said(result)
    for port in {int(port) for _, port in copies}:
        assert nobody_listens(port), f"port {port} is still held"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="only POSIX can fork")
def test_a_forked_copy_of_the_checks_is_never_counted(tmp_path: Path) -> None:
    # The copy goes on running the checks, and its echo is wrong: its results
    # (all ✗) must not reach the student's screen, nor its count the last line.
    folder = hostile(tmp_path / "forked-checks", (
        "    listener.listen()\n",
        "    listener.listen()\n"
        "    if os.fork() == 0:  # 'serve in the background'\n"
        "        os.environ['A_COPY'] = '1'\n"
        "        record()\n"),
        ("        conn.sendall(data)", "        conn.sendall(data.upper() "
                                      "if os.environ.get('A_COPY') else data)"))
    result = hostile_check(folder, "--all")
    lines = result.stdout.splitlines()
    # Two ✗, both true: the copy still holds the port, so the restart check cannot listen
    # again (and says why), and the fork itself.
    assert sum(line.lstrip().startswith("✓") for line in lines) == 13
    assert sum(line.lstrip().startswith("✗") for line in lines) == 2, result.stdout
    assert "Something still listens on that port although your listener was closed" in said(result)
    assert "a copy ran checks of its own (only the original's results count)" in said(result)
    assert lines[-1] == "13 passed, 2 failed"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="only POSIX can fork")
def test_a_fork_that_ends_its_child_is_no_mistake(tmp_path: Path) -> None:
    folder = hostile(tmp_path / "forks-well", FORK_PER_CLIENT,
                     ("file=sys.stderr)\n", "file=sys.stderr)\n        os._exit(0)\n"))
    result = hostile_check(folder, "-k", "one_after_another")
    assert result.returncode == 0, result.stdout
    assert len(recorded(folder)) == 5
    assert "your code" not in result.stdout
    assert result.stdout.splitlines()[-1] == "1 passed, 0 failed"


def test_bytes_that_are_not_text_and_50_mb_of_output(tmp_path: Path) -> None:
    folder = hostile(tmp_path / "noisy", (
        "\ndef record(",
        "\nimport atexit\n\n\nif 'NOISY' not in os.environ:  # once, though the checks "
        "import this file again and again\n"
        "    os.environ['NOISY'] = '1'\n\n"
        "    @atexit.register\n"
        "    def goodbye() -> None:\n"
        "        record()\n"
        "        os.write(1, b'bye \\xff\\xfe\\n')\n"
        "        for _ in range(50):\n"
        "            os.write(2, b'x' * 999_999 + b'\\n')\n\n"
        "\ndef record("))
    # The runner's own peak memory. On Linux, VmHWM: ru_maxrss would also count the pytest
    # process this one was forked from (the peak survives exec), hundreds of MB in a full run.
    code = ("import pathlib, re, resource, sys\n"
            "from socketlab.labs.cli import main\n"
            "status = main(sys.argv[1:])\n"
            "status_file = pathlib.Path('/proc/self/status')\n"
            "peak = (int(re.search(r'VmHWM:\\s+(\\d+)', status_file.read_text())[1])\n"
            "        if status_file.exists()\n"
            "        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
            "print('maxrss', peak, file=sys.stderr)\n"
            "sys.exit(status)\n")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code, "check", "01", str(folder)],
                            capture_output=True, text=True, timeout=120, check=False,
                            env={**os.environ, "SOCKETLAB_WORK": str(tmp_path / "work")})
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert took < ECHO.check_timeout + SLACK, took
    lines = result.stdout.splitlines()
    assert "all 14 checks passed" in lines
    assert "(your code printed 50.0 MB; only the end was kept: -v shows it)" in lines
    assert lines[-1] == "14 passed, 0 failed"
    assert "Traceback" not in result.stdout + result.stderr
    maxrss_mb = int(result.stderr.split("maxrss")[-1]) / (1024 if sys.platform != "darwin"
                                                          else 1024 * 1024)
    assert maxrss_mb < 100, f"the runner grew to {maxrss_mb:.0f} MB"
    assert [pid for pid, _ in recorded(folder) if running(pid)] == []


def test_an_exit_in_a_handler_is_told_as_an_exit(tmp_path: Path) -> None:
    # The client's "bye" comes while the check waits for its echo: the exit is
    # sure to fall in the middle of that check (a b"" could come after its end).
    folder = hostile(tmp_path / "my work", (
        "        if not data:\n            return\n",
        "        if not data:\n            return\n"
        "        if data == b'bye':  # the client is done: so are we\n"
        "            record()\n"
        "            os._exit(0)\n"))
    result = hostile_check(folder)
    assert result.returncode == 1
    assert ('✗ handle() returns when the client closes (recv() gives b"") your code exited with '
            "status 0 in the middle of this check: os._exit() ends the whole program at once"
            ) in said(result)
    assert f"(at echo_server.py line {line_of(folder, 'os._exit')})" in said(result)
    assert "did not finish" not in said(result)
    assert result.stdout.splitlines()[-1] == "5 passed, 1 failed"
    # issue 18: the re-run line keeps the folder the student named
    assert (f"run only this: socketlab lab check 01 {shlex.quote(str(folder))} "
            "-k test_handle_returns_when_the_client_closes") in result.stdout


def test_repeat_says_how_often_each_check_failed(tmp_path: Path) -> None:
    # Every second run goes wrong (the runs are counted by the checks' process ids).
    folder = hostile(tmp_path / "flaky", (
        "\ndef record(",
        "\nRUNS = __file__ + '.runs'\n"
        "with open(RUNS, 'a+') as runs:\n"
        "    runs.seek(0)\n"
        "    seen = set(runs.read().split()) | {str(os.getpid())}\n"
        "    runs.write(f' {os.getpid()}')\n"
        "FLAKY = len(seen) % 2 == 0\n\n"
        "\ndef record("),
        ("        conn.sendall(data)", "        conn.sendall(data.upper() "
                                      "if FLAKY and data == b'hello, echo' else data)"))
    result = hostile_check(folder, "--repeat", "3", "-k", "bytes_come_back or pieces_come")
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert lines[:4] == ["run 1 of 3: passed", "run 2 of 3: failed", "run 3 of 3: passed", ""]
    assert lines[4].endswith(f"checking {folder}, 3 runs")
    assert ("  ✗ handle() sends back exactly the bytes a client sent — failed in 1 of 3 runs "
            "(run 2)") in lines
    assert (f"      run only this: socketlab lab check 01 {folder} --repeat 3 "
            "-k test_bytes_come_back") in lines
    assert ("  ✓ bytes sent in three separate pieces all come back, in order — passed in the 2 "
            "of 3 runs that reached it") in lines
    assert lines[-1] == "3 runs: 1 check failed in 1 of 3 runs, 1 never failed"


def test_a_check_run_keeps_its_temporary_files_to_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest's shared temporary root is left alone: in it, the end of every run deleted
    the oldest runs' folders (of any pytest, MBs of captures), and the seconds that took
    were charged to the student's code as a program that would not end."""
    shared = tmp_path / "pytest-root"
    shared.mkdir()
    monkeypatch.setenv("PYTEST_DEBUG_TEMPROOT", str(shared))  # where tmp_path would go
    lab = find_lab("03")
    run = run_checks(lab, lab.solution, keyword="trace")  # the check that writes in tmp_path
    assert run.ok and run.passed == run.collected == 1, run.problem or run.output
    assert list(shared.iterdir()) == []
