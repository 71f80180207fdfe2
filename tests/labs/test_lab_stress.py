"""The stress command: a lab's solution run again and again beside CPU burners, with figures."""

from __future__ import annotations

import pytest

from tools.lab_stress import main


def test_stress_prints_runs_failures_and_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repeat", "2", "--labs", "01", "--burners", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    lab, total = out[0].split(), out[-1]
    assert lab[:3] == ["lab", "01", "Echo"] and lab[3:7] == ["runs", "2", "failed", "0"], out
    assert float(lab[7]) > 0 and lab[8] == "s", out
    assert total.startswith("2 runs, 0 failed,") and total.endswith("beside 2 burners"), out


def test_stress_refuses_an_unknown_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--labs", "banana"]) == 2
    assert "cannot read the lab range" in capsys.readouterr().err
