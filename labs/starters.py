"""One source for starter and solution: the starter is made from the solution.

A solution marks what the student writes::

    def handle(conn):
        \"\"\"Echo every chunk back until the client closes.\"\"\"
        # BEGIN SOLUTION 01.1: echo every chunk back until the client closes
        while data := conn.recv(4096):
            conn.sendall(data)
        # END SOLUTION

and the starter gets, at the block's indentation::

        raise NotImplementedError("TODO(lab 01.1): echo every chunk back until the client closes")

Both are committed; a meta-test fails when the committed starter differs from
what ``make_starter`` makes (``socketlab lab make-starter NN`` writes it).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .catalog import Lab, LabError

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION (?P<step>\d\d\.\d+): (?P<todo>.+?)\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def starter_text(source: str, where: str = "<solution>") -> str:
    """``source`` with every solution block replaced by its TODO."""
    out: list[str] = []
    block: re.Match[str] | None = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        if block is None:
            begin = BEGIN.match(line)
            if begin:
                block = begin
                todo = f"TODO(lab {begin['step']}): {begin['todo']}"
                out.append(f"{begin['indent']}raise NotImplementedError({todo!r})\n")
            elif END.match(line) or "# BEGIN SOLUTION" in line:
                raise LabError(f"{where}:{number}: a solution marker out of place")
            else:
                out.append(line)
        elif END.match(line):
            block = None
        elif "# BEGIN SOLUTION" in line:
            raise LabError(f"{where}:{number}: a solution block inside another")
    if block is not None:
        raise LabError(f"{where}: '# BEGIN SOLUTION {block['step']}' has no END")
    return "".join(out)


def solution_blocks(source: str) -> list[list[str]]:
    """The lines inside each solution block (the code a handout must not contain)."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in source.splitlines():
        if BEGIN.match(line):
            current = []
        elif END.match(line) and current is not None:
            blocks.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def make_starter(lab: Lab, out: Path) -> None:
    """Write the starter made from ``lab``'s solution into ``out`` (replaced whole)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(lab.solution, out, ignore=IGNORED)
    for path in sorted(out.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        path.write_text(starter_text(text, str(path.relative_to(out))), encoding="utf-8")


def differences(expected: Path, actual: Path) -> list[str]:
    """Relative paths that differ between two folders (missing on either side included)."""
    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }

    left, right = files(expected), files(actual)
    return sorted(name for name in left.keys() | right.keys() if left.get(name) != right.get(name))
