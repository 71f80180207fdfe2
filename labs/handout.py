"""``socketlab lab handout``: the student's edition of the kit.

The repository is the instructor's edition. The handout holds the kit and the
chosen labs without ``solution/`` and ``mutants/``, and without the meta-tests
that need them; the checks run there against the student's work as here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .catalog import LAB_NAME, LABS_DIR, Lab, LabError
from .language import _

CHECKOUT = LABS_DIR.parent
NEVER = {".git", ".venv", "venv", "work", "site", "build", "dist", "demo-out", ".cache",
         "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}
INSTRUCTOR_ONLY = ("solution", "mutants")
META_TESTS = Path("tests") / "labs"


def kit_files(root: Path = CHECKOUT) -> list[Path]:
    """The checkout's files, relative: git's list where there is one, else a walk."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True,
                                check=True).stdout.decode().split("\0")
        files = [Path(name) for name in listed if name and (root / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        files = [p.relative_to(root) for p in root.rglob("*") if p.is_file()]
    return [f for f in files if not NEVER.intersection(f.parts) and f.suffix != ".pyc"]


def _keep(path: Path, chosen: set[str]) -> bool:
    parts = path.parts
    if parts[:2] == META_TESTS.parts:
        return False
    if parts[0] == "labs" and len(parts) > 2 and LAB_NAME.match(parts[1]):
        return parts[1] in chosen and parts[2] not in INSTRUCTOR_ONLY
    return True


def write_handout(out: Path, labs: list[Lab], root: Path = CHECKOUT) -> list[Path]:
    """Copy the student's edition into ``out`` (which must be new or empty)."""
    if out.exists() and any(out.iterdir()):
        raise LabError(_("{folder} is not empty: give a new folder for the handout").format(
            folder=out))
    chosen = {lab.name for lab in labs}
    written = []
    for relative in kit_files(root):
        if _keep(relative, chosen):
            destination = out / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / relative, destination)
            written.append(relative)
    return written
