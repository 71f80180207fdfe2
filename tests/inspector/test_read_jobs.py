"""How many processes ``socketlab read`` uses when not told: a second only on a free core."""

import os
from pathlib import Path

import pytest

from socketlab.inspector import __main__ as inspector_main
from socketlab.inspector.__main__ import PARALLEL_FROM_BYTES, _core_to_spare, _read_jobs


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)


@pytest.mark.parametrize(("loadavg", "spare"), [
    ("0.31 0.40 0.52 1/412 9981\n", True),  # only read itself is running
    ("12.28 12.97 13.20 2/800 4428\n", False),  # read and one other program: both cores taken
    ("12.28 12.97 13.20 13/841 4520\n", False),
], ids=["quiet", "one-other", "busy"])
def test_a_second_process_only_on_a_core_nobody_uses(two_cores: None, tmp_path: Path,
                                                      loadavg: str, spare: bool):
    (tmp_path / "loadavg").write_text(loadavg)
    assert _core_to_spare(tmp_path / "loadavg") is spare


def test_without_proc_a_free_core_is_assumed(two_cores: None, tmp_path: Path):
    assert _core_to_spare(tmp_path / "missing") is True
    (tmp_path / "odd").write_text("not a load average\n")
    assert _core_to_spare(tmp_path / "odd") is True


@pytest.mark.parametrize("spare", [True, False])
def test_a_large_pcap_gets_two_processes_when_a_core_is_free(
        two_cores: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spare: bool):
    monkeypatch.setattr(inspector_main, "_core_to_spare", lambda _loadavg: spare)
    small, large = tmp_path / "small.pcap", tmp_path / "large.pcap"
    small.write_bytes(bytes(100))
    large.write_bytes(bytes(PARALLEL_FROM_BYTES))
    assert _read_jobs(None, large) == (2 if spare else 1)
    assert _read_jobs(None, small) == 1
    assert _read_jobs(3, small) == 3 and _read_jobs(1, large) == 1  # asked: as asked
