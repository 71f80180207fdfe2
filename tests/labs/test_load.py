"""``socketlab lab load 09``: a real run on lab 09's solution, and on its starter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROW = re.compile(
    r"^(?P<label>with your Client|without \(lab 08's DirectClient\))[^\d]*"
    r"(?P<delivered>[\d,]+)\s+(?P<lost>[\d,]+)\s+(?P<p50>[\d,.]+)\s+(?P<p99>[\d,.]+)\s+"
    r"(?P<max>[\d,.]+)\s+(?P<dropped>\d+) of (?P<stalled>\d+)$")


def load(*args: str, work: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOCKETLAB_WORK": str(work), "SOCKETLAB_LANG": lang}
    return subprocess.run([sys.executable, "-m", "socketlab", "lab", "load", "09", *args],
                          env=env, cwd=work, capture_output=True, text=True, timeout=120,
                          check=False)


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_load_shows_the_block_without_the_writer_thread(tmp_path: Path) -> None:
    chart = tmp_path / "latency.png"
    done = load("--solution", "--clients", "8", "--stall", "1", "--seconds", "2",
                "--chart", str(chart), work=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {m["label"].split()[0]: m for line in done.stdout.splitlines()
            if (m := ROW.match(line))}
    assert set(rows) == {"with", "without"}, done.stdout
    with_fix, without = rows["with"], rows["without"]
    # 7 readers, 5 of them say 40 lines each (2 s at 20 a second): each reader is owed 200.
    for row in (with_fix, without):
        assert number(row["delivered"]) + number(row["lost"]) == 7 * 5 * 40, done.stdout
        assert row["stalled"] == "1"
    assert with_fix["dropped"] == "1" and without["dropped"] == "0", done.stdout
    assert number(with_fix["lost"]) == 0, done.stdout
    # Without the writer thread the readers waited for the stalled client until it closed
    # (2 s of lines + 1.5 s of drain): their worst latency is seconds, not milliseconds.
    assert number(without["max"]) > max(1000, number(with_fix["max"])), done.stdout
    assert number(without["p99"]) > number(with_fix["p99"]), done.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"chart: {chart}" in done.stdout


def test_load_on_the_starter_says_what_to_do(tmp_path: Path) -> None:
    start = subprocess.run([sys.executable, "-m", "socketlab", "lab", "start", "09"],
                           env={**os.environ, "SOCKETLAB_WORK": str(tmp_path)},
                           capture_output=True, text=True, timeout=60, check=False)
    assert start.returncode == 0, start.stderr
    done = load("--clients", "4", "--seconds", "0.5", work=tmp_path, lang="ko")
    assert done.returncode == 2
    assert "socketlab lab check 09" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "클라이언트가 로그인하지 못했어요" in done.stderr, done.stderr
    assert done.stdout.startswith("실습 09 · 부하 테스트: 클라이언트 4개 가운데 1개는"), done.stdout
