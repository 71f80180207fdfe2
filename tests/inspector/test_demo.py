"""The demo end to end: the README's first command, in a temporary folder."""

import multiprocessing
import subprocess
import sys
import threading

import pytest

from socketlab.inspector.decode import Frame
from socketlab.inspector.demo import run_demo


@pytest.mark.parametrize(
    "capture", [pytest.param("sniff", marks=pytest.mark.needs_root), "proxy"])
def test_demo_writes_everything_it_promises(tmp_path, capture, capsys):
    threads_before = set(threading.enumerate())
    result = run_demo(tmp_path, sys.stdout, prefer=capture)
    # Nothing left running: no server, client, proxy or capture thread, no child process.
    assert set(threading.enumerate()) <= threads_before
    assert multiprocessing.active_children() == []
    said = capsys.readouterr().out
    assert result.method == capture
    for name in ("view", "threads", "bytes", "sizes", "ladder", "report"):
        assert result.files[name].exists() and result.files[name].stat().st_size > 0
    if capture == "sniff":
        assert result.files["pcap"].read_bytes()[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    frames = [i for i in result.items if isinstance(i, Frame)]
    texts = {m.text for f in frames for m in f.messages if hasattr(m, "text")}
    assert {"hello, class!", "meet me after the lecture", "this line travels in plaintext"} <= texts
    assert "name_taken" in said
    assert "'meet me after the lecture'" in said and "not found" in said and "FOUND" in said
    html = result.files["report"].read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 4
    assert str(tmp_path) in said


def test_demo_command_runs_cleanly_and_exits(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "socketlab", "demo", "--out", str(out), "--capture", "proxy"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "report.html").exists()
    assert "Traceback" not in done.stderr
