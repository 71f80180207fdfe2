"""Where the inspector once said nothing, or too little: ``read`` that finds no
connection, ``chart --show`` without a display, a missing file, ``demo --out`` on
a file. Each is ``socketlab …`` as a process: its exit status and one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from socketlab.trace import open_tracer

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "socketlab", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60, check=False)


def one_line(done: subprocess.CompletedProcess[str], status: int, *needles: str) -> None:
    assert done.returncode == status, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_read_with_a_port_nobody_used_says_so(demo_pcap: Path) -> None:
    done = run("read", str(demo_pcap), "--port", "1")
    assert done.stdout == ""
    one_line(done, 1, str(demo_pcap), "no connection on TCP port 1", "leave out --port")


def test_read_with_two_workers_says_the_same(demo_pcap: Path) -> None:
    done = run("read", str(demo_pcap), "--port", "1", "--jobs", "2")
    one_line(done, 1, str(demo_pcap), "no connection on TCP port 1")


def test_read_with_the_right_port_shows_frames_and_no_such_line(demo_pcap: Path) -> None:
    first = json.loads(run("read", str(demo_pcap), "--json").stdout.splitlines()[0])
    done = run("read", str(demo_pcap), "--port", str(first["server"][1]))
    assert done.returncode == 0 and done.stdout.strip(), done
    assert "no connection" not in done.stderr


def test_chart_show_without_a_display_says_so(tmp_path: Path) -> None:
    trace = tmp_path / "server.jsonl"
    tracer = open_tracer(trace, "server")
    for state in ("recv", "handling", "recv"):
        tracer.record(state, thread="reader-alice")
    tracer.close()
    done = run("chart", "threads", str(trace), "--show")
    one_line(done, 2, "--show needs a display", "-o")


def test_chart_of_a_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nosuchfile.jsonl"
    one_line(run("chart", "threads", str(missing), "-o", str(tmp_path / "t.png")), 2,
             str(missing), "No such file")


@pytest.mark.parametrize("kind", ["threads", "entropy"])
def test_chart_errors_name_the_file_for_every_kind(tmp_path: Path, kind: str) -> None:
    missing = tmp_path / "gone.pcap"
    one_line(run("chart", kind, str(missing), "-o", str(tmp_path / "c.png")), 2, str(missing))


def test_demo_out_on_an_existing_file_says_what_to_do(tmp_path: Path) -> None:
    existing = tmp_path / "notes.txt"
    existing.write_text("my notes\n")
    one_line(run("demo", "--out", str(existing), "--capture", "proxy"), 2,
             str(existing), "is a file", "another name")
    assert existing.read_text() == "my notes\n"
