"""Mutants: the classic wrong answers of a lab, as small edits to its solution.

``mutants/NAME.toml``::

    mistake = "send() instead of sendall() in the server"
    file = "echo_server.py"
    caught_by = "test_echo.py::test_big_message_comes_back_whole"
    says = "sendall"          # optional: a word the check's hint must contain

    [[replace]]
    old = "conn.sendall(data)"
    new = "conn.send(data)"

Each ``old`` must occur exactly once in the solution file, so a mutant cannot
silently stop applying when the solution changes. The meta-tests apply every
mutant to a copy of the solution and require the check named by
``caught_by`` to fail, with a hint that contains ``says`` (the hint must name
the mistake, not merely notice something is wrong). The runner stops at the
first ✗, so they also require the first ✗ of a default run to be that check,
or to carry ``says`` in its hint (an earlier check that names the same mistake).
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .catalog import Lab, LabError
from .starters import IGNORED


@dataclass(frozen=True)
class Mutant:
    name: str
    mistake: str
    file: str
    caught_by: str
    replacements: tuple[tuple[str, str], ...]
    says: str = ""

    def apply(self, lab: Lab, out: Path) -> Path:
        """A copy of ``lab``'s solution in ``out`` with this mistake made."""
        shutil.copytree(lab.solution, out, ignore=IGNORED, dirs_exist_ok=True)
        path = out / self.file
        text = path.read_text(encoding="utf-8")
        for old, new in self.replacements:
            count = text.count(old)
            if count != 1:
                raise LabError(f"mutant {self.name}: {old!r} occurs {count} times in {self.file}, "
                               "not once")
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
        return out


def load_mutants(lab: Lab) -> list[Mutant]:
    mutants = []
    for path in sorted(lab.mutants.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        mutants.append(Mutant(
            name=path.stem,
            mistake=data["mistake"],
            file=data["file"],
            caught_by=data["caught_by"],
            replacements=tuple((r["old"], r["new"]) for r in data["replace"]),
            says=data.get("says", ""),
        ))
    return mutants
