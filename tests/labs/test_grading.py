"""Grading a class: points, the json/junit/gradescope formats, the Gradescope autograder,
the GitHub Classroom workflow and ``socketlab lab grade`` on a folder with hostile
submissions, all from real check runs of lab 01 (its checks take seconds).

The runs are made once per module: the class folder graded with ``--jobs 2``,
and each submission checked alone, which every format test reads.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import shlex
import socket
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from _pytest.mark.expression import Expression
from junitparser import Error, Failure, JUnitXml, Skipped

from socketlab.labs import cli
from socketlab.labs.catalog import LabError, all_labs, find_lab
from socketlab.labs.checking import run_checks
from socketlab.labs.formats import Grade, as_gradescope, as_json, as_junit, grade
from socketlab.labs.grading import find_submissions, grade_class, locate, summary, write_grades
from socketlab.labs.mutants import load_mutants
from socketlab.labs.points import lab_checks, total
from tests.labs.class_folder import HOSTILE, make_class

pytestmark = pytest.mark.timeout(400)  # the module's runs are made once, by its first test

LAB = find_lab("01")
MUTANTS = {mutant.name: mutant for mutant in load_mutants(LAB)}
COMMAND = "socketlab lab check 01"


def _quiet(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(argv)
    return code, out.getvalue()


def _ours(root: Path) -> list[int]:
    """Processes checking a submission of ``root``, or a grade run's copy of one.

    A check run's environment names its target: the submission itself when
    checked alone, a ``socketlab-grade-01-…`` folder when graded; a forked
    copy inherits it.
    """
    markers = (str(root).encode(), b"SOCKETLAB_LAB_TARGET=" + tempfile.gettempdir().encode()
               + b"/socketlab-grade-01-")
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if any(marker in (entry / "environ").read_bytes() for marker in markers):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A class graded two at a time, and some of its submissions (each kind) checked alone."""
    root = tmp_path_factory.mktemp("class")
    folder, ports = root / "submissions", root / "held-ports.txt"
    folder.mkdir()
    kinds = make_class(LAB, folder, ports=ports)
    submissions = find_submissions(folder)
    grades = grade_class(LAB, submissions, 2, lambda *_: None)
    write_grades(root / "grades.csv", root / "results", submissions, grades)
    left_after_grade = _ours(root)
    # checked alone below, in place: the one that deletes its files does so then
    files_after_grade = sorted(p.name for p in (folder / "hostile-deletes-its-files").iterdir())
    alone = {}
    for student, kind in kinds.items():
        if kind.startswith("mutant") and kind != "mutant:reset-stops-server":
            continue  # each mutant is graded above; the meta-tests check them alone
        source = folder / student
        if not source.is_dir():
            source = root / "unzipped" / student
            with zipfile.ZipFile(folder / f"{student}.zip") as zipped:
                zipped.extractall(source)
        alone[student] = grade(run_checks(LAB, locate(LAB, source), stop_first=False), COMMAND)
    with (root / "grades.csv").open(encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    results = {path.stem: json.loads(path.read_text(encoding="utf-8"))
               for path in (root / "results").glob("*.json")}
    return {"root": root, "kinds": kinds, "said": "\n".join(summary(grades)), "rows": rows,
            "results": results, "alone": alone, "ports": ports, "left": left_after_grade,
            "files": files_after_grade,
            "graded": {s.student: g for s, g in zip(submissions, grades, strict=True)}}


def _by_kind(graded_class: dict[str, Any], kind: str) -> Grade:
    student = next(s for s, k in graded_class["kinds"].items() if k == kind)
    result: Grade = graded_class["graded"][student]
    return result


# --- points -------------------------------------------------------------------------------


def test_the_listed_checks_are_the_ones_a_run_meets(graded_class: dict[str, Any]) -> None:
    run = _by_kind(graded_class, "solution").run
    assert [c.id for c in lab_checks(LAB)] == [r.id for r in run.results]
    assert run.collected == len(lab_checks(LAB))


def test_lab_toml_gives_points_and_refuses_unknown_checks(tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    for path in LAB.checks.glob("*.py"):
        (tmp_path / "checks" / path.name).write_bytes(path.read_bytes())
    base = (LAB.path / "lab.toml").read_text(encoding="utf-8")
    lab = dataclasses.replace(LAB, path=tmp_path)
    (tmp_path / "lab.toml").write_text(
        base + '\n[points]\ntest_connect = 3\n"test_echo.py" = 2\n', encoding="utf-8")
    worth = {c.name: c.points for c in lab_checks(lab)}
    echo = [c.name for c in lab_checks(lab) if c.file == "test_echo.py"]
    assert worth["test_connect"] == 3 and all(worth[name] == 2 for name in echo)
    assert total(lab_checks(lab)) == len(worth) + 2 + len(echo)
    (tmp_path / "lab.toml").write_text(base + "\n[points]\ntest_gone = 2\n", encoding="utf-8")
    with pytest.raises(LabError, match="test_gone"):
        lab_checks(lab)


def test_lab_list_shows_each_labs_total() -> None:
    code, said = _quiet(["list"])
    assert code == 0
    for lab in all_labs():
        line = next(line for line in said.splitlines() if line.startswith(lab.number + " "))
        assert f"{total(lab_checks(lab)):g} pts" in line


# --- the formats, from real runs ----------------------------------------------------------


def _gradescope_valid(data: dict[str, Any]) -> None:
    """Gradescope's documented results.json: keys and types."""
    assert isinstance(data["score"], float)
    assert data["stdout_visibility"] in ("hidden", "visible", "after_due_date", "after_published")
    assert isinstance(data["output"], str) and isinstance(data["execution_time"], float)
    for test in data["tests"]:
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["visibility"] in ("hidden", "visible", "after_due_date", "after_published")
        assert test["status"] in ("passed", "failed")
    assert data["score"] == sum(test["score"] for test in data["tests"])


def _junit_matches(result: Grade) -> None:
    """junitparser reads one testcase a check, each failing one with the hint as its message."""
    xml = JUnitXml.fromstring(as_junit(result).encode())
    cases = {case.name: case for suite in xml for case in suite}
    for graded in result.checks:
        case = cases[graded.check.name]
        assert case.is_passed == (graded.outcome == "passed"), graded.check.name
        if graded.outcome != "passed":
            kind = {"failed": Failure, "skipped": Skipped}.get(graded.outcome, Error)
            assert isinstance(case.result[0], kind)
            assert case.result[0].message == graded.hint
    assert ("process" in cases) == bool(result.run.process_problems)


def _every_format(result: Grade) -> tuple[dict[str, Any], dict[str, Any]]:
    _junit_matches(result)
    scope = as_gradescope(result)
    _gradescope_valid(scope)
    data = as_json(result)
    assert data["points"] == scope["score"] == result.points
    assert [c["outcome"] for c in data["checks"]] == [g.outcome for g in result.checks]
    return data, scope


def test_the_solution_earns_every_point_in_every_format(graded_class: dict[str, Any]) -> None:
    data, scope = _every_format(_by_kind(graded_class, "solution"))
    assert data["points"] == data["max_points"] == total(lab_checks(LAB))
    assert all(test["score"] == test["max_score"] for test in scope["tests"])


def test_the_starter_earns_only_the_given_checks(graded_class: dict[str, Any]) -> None:
    result = _by_kind(graded_class, "starter")
    data, _ = _every_format(result)
    for check in data["checks"]:
        assert (check["outcome"] == "passed") == check["given"], check["id"]
        if not check["given"]:
            assert check["hint"] and check["points"] == 0
    assert data["points"] == sum(c.points for c in lab_checks(LAB) if c.given)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_a_mutant_loses_exactly_the_points_of_the_checks_it_fails(
        graded_class: dict[str, Any], name: str) -> None:
    result = _by_kind(graded_class, f"mutant:{name}")
    data, scope = _every_format(result)
    lost = sum(c["max_points"] for c in data["checks"] if c["outcome"] != "passed")
    assert lost > 0 and data["points"] == data["max_points"] - lost
    caught = next(c for c in data["checks"] if c["id"] == MUTANTS[name].caught_by)
    assert caught["outcome"] == "failed" and caught["points"] == 0
    test = scope["tests"][data["checks"].index(caught)]
    assert caught["hint"] in test["output"] and f"{COMMAND} -k" in test["output"]


def test_a_check_that_could_not_run_is_no_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lab 05's window checks without a display: skipped, said so, and worth nothing."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("CI", raising=False)  # under CI, lab 05's checks fail without one
    tk = find_lab("05")
    result = grade(run_checks(tk, tk.solution, stop_first=False), "socketlab lab check 05")
    skipped = [g for g in result.checks if g.outcome == "skipped"]
    assert skipped and all(g.earned == 0 and g.hint.startswith("could not run here: ")
                           for g in skipped)
    assert result.points == result.max_points - sum(g.check.points for g in skipped)
    _every_format(result)
    scope = as_gradescope(result)
    assert all("could not run here" in scope["tests"][result.checks.index(g)]["output"]
               for g in skipped)


def test_the_command_writes_each_format(graded_class: dict[str, Any], tmp_path: Path) -> None:
    target = str(graded_class["root"] / "submissions" / "mutant-reset-stops-server")
    code, _ = _quiet(["check", "01", target, "--format", "junit",
                      "--output", str(tmp_path / "out.xml")])
    assert code == 1
    xml = JUnitXml.fromfile(str(tmp_path / "out.xml"))
    assert sum(1 for suite in xml for _ in suite) == len(lab_checks(LAB))
    code, said = _quiet(["check", "01", "--solution", "--format", "json"])
    assert code == 0 and json.loads(said)["points"] == total(lab_checks(LAB))


# --- socketlab lab grade ------------------------------------------------------------------


def test_each_submission_gets_the_grade_it_gets_alone(graded_class: dict[str, Any]) -> None:
    for student, alone in graded_class["alone"].items():
        row, result = graded_class["rows"][student], graded_class["results"][student]
        outcomes = [c["outcome"] for c in result["checks"]]
        assert outcomes == [g.outcome for g in alone.checks], student
        assert float(row["points"]) == result["points"] == alone.points, student
        assert [row[g.check.name] for g in alone.checks] == outcomes
        assert bool(result["process_problems"]) == bool(alone.run.process_problems), student


def test_hostile_submissions_cost_their_own_grade_only(graded_class: dict[str, Any]) -> None:
    points = {kind.split(":")[1]: graded_class["results"][student]["points"]
              for student, kind in graded_class["kinds"].items() if kind.startswith("hostile")}
    full = total(lab_checks(LAB))
    assert set(points) == set(HOSTILE)
    assert points["loops-at-import"] == points["calls-os-exit"] == 0
    assert points["floods-output"] == full  # noisy, but right
    forked = next(r for s, r in graded_class["results"].items() if "forks" in s)
    assert "forked" in forked["process_problems"][0]
    threads = next(r for s, r in graded_class["results"].items() if "500" in s)
    assert "threads running" in threads["process_problems"][0]
    assert points["deletes-its-files"] < full
    # graded, it harmed only its copy
    assert graded_class["files"] == sorted(p.name for p in LAB.solution.iterdir())


def test_grading_leaves_nothing_running(graded_class: dict[str, Any]) -> None:
    assert graded_class["left"] == []
    assert _ours(graded_class["root"]) == []
    held = graded_class["ports"].read_text(encoding="utf-8").split()
    assert held  # the forking submission did bind its ports
    for port in map(int, held):
        with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
            probe.connect(("127.0.0.1", port))


def test_the_grade_command_writes_its_table(tmp_path: Path) -> None:
    folder = tmp_path / "submissions"
    folder.mkdir()
    make_class(LAB, folder, solutions=1, starters=0)
    for path in folder.iterdir():
        if path.name != "solution-0":
            subprocess.run(["rm", "-rf", str(path)], check=True)
    code, said = _quiet(["grade", "01", str(folder), "--out", str(tmp_path / "g.csv")])
    assert code == 0, said
    row = next(csv.DictReader((tmp_path / "g.csv").open(encoding="utf-8")))
    assert row["student"] == "solution-0" and float(row["points"]) == total(lab_checks(LAB))
    assert (tmp_path / "results" / "solution-0.json").is_file()
    assert "solution-0: 14 of 14 points" in said


def test_the_summary_says_what_the_class_found_hard(graded_class: dict[str, Any]) -> None:
    rows = graded_class["rows"]
    for check in lab_checks(LAB):
        failed = sum(row[check.name] != "passed" for row in rows.values())
        assert f"{failed:>6}  {check.title} ({check.name})" in graded_class["said"]


# --- the Gradescope autograder ------------------------------------------------------------


@pytest.fixture(scope="module")
def autograder(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The zip unpacked as Gradescope does, its wheel installed offline in a venv of its own."""
    root = tmp_path_factory.mktemp("autograder")
    code, said = _quiet(["gradescope", "01", "--out", str(root / "autograder.zip")])
    assert code == 0, said
    with zipfile.ZipFile(root / "autograder.zip") as zipped:
        names = zipped.namelist()
    # unzip, as Gradescope unpacks it: it keeps the scripts' executable bits (extractall does not)
    subprocess.run(["unzip", "-q", str(root / "autograder.zip"), "-d", str(root / "source")],
                   check=True)
    wheel = next(name for name in names if name.endswith(".whl"))
    assert {"setup.sh", "run_autograder"} <= set(names)
    assert f"source/{wheel}[labs]" in (root / "source" / "setup.sh").read_text()
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-index", "--no-deps", str(root / "source" / wheel)], check=True)
    # The kit's dependencies come from this environment; the kit itself only from the wheel.
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.run([str(python), "-c", "import socketlab.labs; "
                            "print(socketlab.labs.__file__)"],
                           capture_output=True, text=True, check=True, cwd=root).stdout
    assert where.startswith(site)
    return {"root": root, "python": python}


def test_the_autograder_of_a_lab_with_windows_brings_a_display(tmp_path: Path) -> None:
    code, said = _quiet(["gradescope", "05", "--out", str(tmp_path / "a.zip")])
    assert code == 0, said
    with zipfile.ZipFile(tmp_path / "a.zip") as zipped:
        setup = zipped.read("setup.sh").decode()
        run = zipped.read("run_autograder").decode()
    assert "xvfb" in setup.split("apt-get install -y python3 ")[1].splitlines()[0]
    assert "xvfb-run -a \"$PYTHON\" -m socketlab lab check 05" in run


@pytest.mark.parametrize("kind", ["solution", "starter", "mutant:reset-stops-server"])
def test_run_autograder_writes_results_json(autograder: dict[str, Path],
                                            graded_class: dict[str, Any], kind: str,
                                            tmp_path: Path) -> None:
    student = next(s for s, k in graded_class["kinds"].items() if k == kind)
    shape = tmp_path / "autograder"
    (shape / "results").mkdir(parents=True)
    (shape / "source").symlink_to(autograder["root"] / "source")
    # as a student uploads it: the files in a folder of their own
    subprocess.run(["cp", "-r", str(graded_class["root"] / "submissions" / student),
                    str(shape / "submission")], check=True)
    env = {**os.environ, "AUTOGRADER_ROOT": str(shape),
           "SOCKETLAB_PYTHON": str(autograder["python"])}
    # A Korean class sets the language in the autograder's environment: the hints follow
    # it, from the wheel's tables (the field names and outcomes stay Gradescope's).
    env["SOCKETLAB_LANG"] = "ko" if kind == "starter" else "en"
    script = shape / "source" / "run_autograder"
    assert os.access(script, os.X_OK)
    subprocess.run([str(script)], env=env, check=True, timeout=120)
    data = json.loads((shape / "results" / "results.json").read_text(encoding="utf-8"))
    _gradescope_valid(data)
    if kind == "starter":
        assert data["output"].startswith("실습 01 · 에코: ")
        assert "아직 작성하지 않음: TODO(lab 01.1)" in data["tests"][0]["output"]
        assert "이 검사만 다시 돌리기: socketlab lab check 01" in data["tests"][0]["output"]
    alone = as_gradescope(graded_class["graded"][student])
    assert [(t["name"], t["score"]) for t in data["tests"]] == [
        (t["name"], t["score"]) for t in alone["tests"]]
    assert list((shape / "submission").iterdir())  # copied, not moved


# --- GitHub Classroom ---------------------------------------------------------------------


def test_classroom_workflow_grades_every_check_of_every_lab(tmp_path: Path) -> None:
    code, said = _quiet(["handout", "--out", str(tmp_path / "h"), "--classroom"])
    assert code == 0, said
    assert "work/" not in (tmp_path / "h" / ".gitignore").read_text().splitlines()
    # The checks a workflow step runs speak the runner's and each lab's Korean too.
    for table in LAB.path.parent.glob("**/locale/ko.po"):
        copied = tmp_path / "h" / table.relative_to(LAB.path.parent.parent)
        assert copied.read_bytes() == table.read_bytes()
    flow = yaml.safe_load((tmp_path / "h" / ".github/workflows/classroom.yml").read_text())
    assert set(flow["on"]) == {"push", "repository_dispatch"}
    steps = flow["jobs"]["run-autograding-tests"]["steps"]
    graders = [s for s in steps if s.get("uses", "").startswith(
        "classroom-resources/autograding-command-grader@")]
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    ids = [s["id"] for s in graders]
    assert len(set(ids)) == len(ids) and reporter["with"]["runners"].split(",") == ids
    assert reporter["env"] == {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}"
                               for i in ids}
    install = next(s for s in steps if s.get("name") == "Install the kit")
    assert 'pip install -e ".[labs]"' in install["run"] and "xvfb" in install["run"]
    parser = cli.build_parser()
    seen: dict[str, list[float]] = {}
    for step in graders:
        argv = shlex.split(step["with"]["command"])
        display = argv[0] == "xvfb-run"
        if display:
            argv = argv[2:]
        assert argv[:2] == ["socketlab", "lab"]
        args = parser.parse_args(argv[2:])
        assert args.run is cli.cmd_check and args.all and args.format == "text"
        lab = find_lab(args.lab)
        assert display == lab.needs_display
        chosen = [c for c in lab_checks(lab)
                  if Expression.compile(args.k).evaluate(
                      lambda word, c=c: word in c.name or word in c.file)]
        assert len(chosen) == 1, step["with"]["command"]
        assert step["with"]["max-score"] == chosen[0].points
        seen.setdefault(lab.number, []).append(chosen[0].points)
    for lab in all_labs():
        assert len(seen[lab.number]) == len(lab_checks(lab))
        assert sum(seen[lab.number]) == total(lab_checks(lab))
