"""``socketlab lab handout --classroom``: a GitHub Classroom autograding workflow.

GitHub Classroom reads ``.github/workflows/classroom.yml``: one step a test
with ``classroom-resources/autograding-command-grader`` (a command; its exit
status 0 earns ``max-score``), then ``autograding-grading-reporter`` adding
them up. Each check of each lab is one test with its points, its command
``socketlab lab check NN --all -k EXPR`` where EXPR selects that check alone
(``-k`` matches parts of names, so a check whose name is inside another's is
told apart with ``and not``). A student's repository holds their work in
``work/NN-name``, so the handout's ``.gitignore`` stops ignoring it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .catalog import Lab, LabError
from .points import Check, lab_checks

WORKFLOW = Path(".github") / "workflows" / "classroom.yml"
GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
INSTALL = 'pip install -e ".[labs]"'  # quoted: a shell may read [labs] as a pattern
TIMEOUT_MINUTES = 3  # one check's command: a check takes seconds, the install is done


def keyword(check: Check, checks: list[Check]) -> str:
    """A ``-k`` expression that selects ``check`` and no other check of its lab."""
    inside = sorted({other.name for other in checks
                     if other.name != check.name and check.name in other.name})
    files = [other.file for other in checks if check.name in other.file]
    if files:  # -k also matches the file's name: every check in it would run
        raise LabError(f"the check {check.name} is named like the file {files[0]}: "
                       "rename one so that -k can select the check alone")
    parts = [check.name, *(f"not {name}" for name in inside)]
    twins = [other.file for other in checks
             if other.name == check.name and other.file != check.file]
    if twins:  # the same name in another file: the file's name tells them apart
        stem = check.file.removesuffix(".py")
        parts += [stem, *(f"not {twin.removesuffix('.py')}" for twin in twins if stem in twin)]
    return " and ".join(parts)


def _step_id(lab: Lab, check: Check, checks: list[Check]) -> str:
    twins = sum(other.name == check.name for other in checks) > 1
    name = f"{check.file.removesuffix('.py')}-{check.name}" if twins else check.name
    return f"lab{lab.number}-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _quoted(text: str) -> str:
    """A YAML scalar: a JSON string is one."""
    return json.dumps(text, ensure_ascii=False)


def workflow(labs: list[Lab]) -> str:
    """The workflow's YAML: install the kit, one graded test a check, the reporter."""
    display = any(lab.needs_display for lab in labs)
    install = ("sudo apt-get update && sudo apt-get install -y xvfb && " if display else "")
    lines = [
        "# Written by 'socketlab lab handout --classroom': GitHub Classroom's autograding.",
        "name: Autograding Tests",
        "'on': [push, repository_dispatch]",
        "permissions:", "  checks: write", "  actions: read", "  contents: read",
        "jobs:", "  run-autograding-tests:", "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'", "    steps:",
        "    - name: Checkout code", "      uses: actions/checkout@v4",
        "    - name: Set up Python", "      uses: actions/setup-python@v5",
        "      with:", "        python-version: '3.11'",
        "    - name: Install the kit",
        f"      run: {_quoted(install + INSTALL)}",
    ]
    ids = []
    for lab in labs:
        checks = lab_checks(lab)
        prefix = "xvfb-run -a " if lab.needs_display else ""
        for check in checks:
            if check.points != int(check.points):
                raise LabError(f"lab {lab.number}: GitHub Classroom awards whole points only, "
                               f"and {check.name} is worth {check.points:g}")
            step = _step_id(lab, check, checks)
            ids.append(step)
            name = f"{lab.number} {check.title}"
            selected = keyword(check, checks)
            command = f"{prefix}socketlab lab check {lab.number} --all -k '{selected}'"
            lines += [
                f"    - name: {_quoted(name)}", f"      id: {step}", f"      uses: {GRADER}",
                "      with:", f"        test-name: {_quoted(name)}",
                f"        command: {_quoted(command)}",
                f"        timeout: {TIMEOUT_MINUTES}", f"        max-score: {int(check.points)}",
            ]
    lines += ["    - name: Autograding Reporter", f"      uses: {REPORTER}", "      env:"]
    lines += [f"        {step.upper()}_RESULTS: \"${{{{steps.{step}.outputs.result}}}}\""
              for step in ids]
    lines += ["      with:", f"        runners: {','.join(ids)}"]
    return "\n".join(lines) + "\n"


def add_classroom(out: Path, labs: list[Lab]) -> Path:
    """Write the workflow into the handout ``out``, and let git keep ``work/`` there."""
    path = out / WORKFLOW
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(workflow(labs), encoding="utf-8")
    ignore = out / ".gitignore"
    if ignore.is_file():
        kept = [line for line in ignore.read_text(encoding="utf-8").splitlines()
                if line.strip() not in ("work/", "work", "/work/")]
        ignore.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path
