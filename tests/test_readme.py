"""The README's quick start works where students are: bash, and Windows PowerShell
(5.1 has no ``&&``); and CI still runs exactly the README's test command."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def blocks(section: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)


@pytest.mark.skipif(shutil.which("awk") is None, reason="needs awk, as .ci/run does")
def test_ci_extracts_the_readme_test_command() -> None:
    """.ci/run's own awk program, run on the README, gives the bash test command."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    program = re.search(r"awk '\n(.*?)\n' README\.md", ci, flags=re.DOTALL)
    assert program is not None, "the extraction moved: update this test with .ci/run"
    done = subprocess.run(["awk", program.group(1), "README.md"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    bash = [body for lang, body in blocks(quick_start()) if lang == "bash"]
    assert done.stdout == bash[1]
    assert done.stdout.strip().endswith(".venv/bin/python -m pytest -q")


def test_each_bash_command_has_a_powershell_form_without_and_and() -> None:
    found = blocks(quick_start())
    bash = [body for lang, body in found if lang == "bash"]
    powershell = [body for lang, body in found if lang == "powershell"]
    assert [lang for lang, _ in found[:2]] == ["bash", "bash"]  # what .ci/run reads
    assert len(powershell) == len(bash) == 2
    for body in powershell:
        assert "&&" not in body and "/bin/" not in body
    assert "socketlab demo --out demo-out" in powershell[0]
    assert all("py -m venv .venv" in body for body in powershell)
    assert ".venv\\Scripts\\python -m pytest -q" in powershell[1]
    assert "'.[test,docs]'" in powershell[1]


def test_it_says_what_to_install_when_tkinter_is_missing() -> None:
    text = " ".join(quick_start().split())
    assert "sudo apt install python3-tk" in text
    assert 'tick "tcl/tk and IDLE"' in text
    assert "socketlab client --tui" in text
