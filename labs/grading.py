"""``socketlab lab grade``: a whole class's submissions, each checked on its own.

A submission is a folder or a zip, one per student, named after them. Each
is copied (or unpacked) into a temporary folder of its own, and its checks
run there exactly as ``socketlab lab check NN PATH --all`` runs them: in a
child process group of their own with their own working directory, time
limits and free ports (``checking.py``, ``isolation.py``). Whatever one
submission does (hang, flood its output, fork, hold a port, exit) is charged
to its own grade; its processes die with its run, and its copy is deleted.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .catalog import Lab, LabError
from .checking import CheckRun, run_checks
from .formats import Grade, as_json, grade
from .points import shown
from .starters import IGNORED

ZIP_BYTES = 100 * 1024 * 1024  # unpacked size of one submission's zip, at most
ZIP_FILES = 5000
SEARCH_DEPTH = 4  # folders deep to look for the lab's files in a submission


@dataclass(frozen=True)
class Submission:
    student: str
    source: Path  # a folder, or a .zip


def find_submissions(folder: Path) -> list[Submission]:
    """One submission per folder or zip in ``folder``, by student name."""
    if not folder.is_dir():
        raise LabError(f"there is no folder {folder}")
    found: dict[str, Submission] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() or path.suffix.lower() == ".zip":
            student = path.stem if path.is_file() else path.name
            if student in found:
                raise LabError(f"two submissions for {student!r} in {folder}: "
                               f"{found[student].source.name} and {path.name}")
            found[student] = Submission(student, path)
    if not found:
        raise LabError(f"{folder} holds no submission (one folder or .zip per student)")
    return list(found.values())


def unpack(archive: Path, out: Path) -> None:
    """Unpack a student's zip into ``out``, refusing paths outside it and zip bombs."""
    with zipfile.ZipFile(archive) as zipped:
        members = [m for m in zipped.infolist() if not m.is_dir()]
        if len(members) > ZIP_FILES or sum(m.file_size for m in members) > ZIP_BYTES:
            raise LabError(f"{archive.name} unpacks to more than {ZIP_FILES} files or "
                           f"{ZIP_BYTES // 2**20} MB")
        for member in members:
            name = PurePosixPath(member.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts:
                raise LabError(f"{archive.name} holds a path outside itself: {member.filename}")
            destination = out.joinpath(*name.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(member) as source, destination.open("wb") as target:
                shutil.copyfileobj(source, target)


def locate(lab: Lab, folder: Path) -> Path:
    """The folder in a submission that holds the lab's files.

    The submission itself, or ``work/NN-name`` (a whole handout), or the one
    folder below that holds most of the starter's file names.
    """
    wanted = {path.name for path in lab.starter.glob("*.py")}

    def holds(candidate: Path) -> int:
        return len(wanted.intersection(p.name for p in candidate.glob("*.py")))

    for candidate in (folder, folder / "work" / lab.name, folder / lab.name):
        if candidate.is_dir() and holds(candidate):
            return candidate
    below = [path for path in _folders(folder, SEARCH_DEPTH) if holds(path)]
    return max(below, key=lambda p: (holds(p), -len(p.parts)), default=folder)


def _folders(root: Path, depth: int) -> Iterator[Path]:
    if depth == 0:
        return
    for path in sorted(root.iterdir()):
        if path.is_dir() and not path.is_symlink() and not path.name.startswith("."):
            yield path
            yield from _folders(path, depth - 1)


def grade_one(lab: Lab, submission: Submission) -> Grade:
    """Check one submission in a temporary copy of its own; never raises for its content."""
    command = f"socketlab lab check {lab.number}"
    with tempfile.TemporaryDirectory(prefix=f"socketlab-grade-{lab.number}-") as tmp:
        copy = Path(tmp) / submission.student
        try:
            if submission.source.is_dir():
                shutil.copytree(submission.source, copy, symlinks=True, ignore=IGNORED)
            else:
                copy.mkdir()
                unpack(submission.source, copy)
        except (OSError, zipfile.BadZipFile, LabError) as error:
            return grade(CheckRun(lab, submission.source,
                                  problem=f"the submission could not be read: {error}"), command)
        run = run_checks(lab, locate(lab, copy), stop_first=False)
        run.target = submission.source
        return grade(run, command)


def grade_class(lab: Lab, submissions: list[Submission], jobs: int,
                done: Callable[[Submission, Grade], None]) -> list[Grade]:
    """Every submission graded, ``jobs`` at a time; ``done`` hears of each as it ends."""

    def one(submission: Submission) -> Grade:
        result = grade_one(lab, submission)
        done(submission, result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, submissions))


def write_grades(out: Path, results: Path, submissions: list[Submission],
                 grades: list[Grade]) -> None:
    """``grades.csv`` (student, points, an outcome a check) and ``results/STUDENT.json``."""
    results.mkdir(parents=True, exist_ok=True)
    checks = [graded.check for graded in grades[0].checks]
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "points", "max_points", "problems",
                         *(check.name for check in checks)])
        for submission, result in zip(submissions, grades, strict=True):
            problems = [p for p in (result.run.problem, *result.run.process_problems) if p]
            writer.writerow([submission.student, shown(result.points),
                             shown(result.max_points), " | ".join(problems),
                             *(graded.outcome for graded in result.checks)])
            (results / f"{submission.student}.json").write_text(
                json.dumps(as_json(result), indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8")


def summary(grades: list[Grade]) -> list[str]:
    """Per check, how many submissions failed it: what the class found hard."""
    lines = [f"{'failed':>6}  check"]
    for index, graded in enumerate(grades[0].checks):
        failed = sum(result.checks[index].outcome != "passed" for result in grades)
        lines.append(f"{failed:>6}  {graded.check.title} ({graded.check.name})")
    return lines
