"""``socketlab lab …``: list, start, check, sniff, load and hand out the labs.

Every expected failure (an unknown lab, a missing folder, a file Python
cannot read, a hung check) is one clear line and a non-zero exit status,
never a traceback (``-v`` shows pytest's own output).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from socketlab.i18n import ENGLISH, language
from socketlab.protocol import SocketlabError

from . import results
from .catalog import Lab, LabError, all_labs, find_lab, lab_range, work_root
from .checking import CheckRun, run_checks
from .formats import FORMATS, Grade, grade, render_format
from .handout import write_handout
from .language import N_, _
from .points import lab_checks, shown, total
from .report import marks, pad, render, render_repeated
from .starters import IGNORED, make_starter

EXIT_FAILED = 1
EXIT_USAGE = 2
# What was checked, as ``lab list`` remembers it (results.py keeps the English).
YOUR_WORK, STARTER, PATH, SOLUTION = N_("your work"), N_("starter"), N_("path"), N_("solution")


def cmd_list(args: argparse.Namespace) -> int:
    remembered = results.load()
    sign = marks()
    for lab in all_labs():
        state = _("not checked yet")
        last = remembered.get(lab.number)
        if last:
            mark = sign["passed"] if last.get("ok") else sign["failed"]
            state = f"{mark} " + _("{passed} of {total} checks passed ({what}, {when})").format(
                passed=last["passed"], total=last["total"], what=_(last["what"]),
                when=last["when"])
        started = _("started") if lab.work().is_dir() else ""
        worth = _("{points} pts").format(points=shown(total(lab_checks(lab))))
        print(f"{lab.number}  {pad(lab.shown_title, 28)} {worth:>7}  {pad(started, 8)} {state}")
    print("\n" + _("your work is in {folder}  ·  'socketlab lab start NN' begins a lab").format(
        folder=work_root()))
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    lab = find_lab(args.lab)
    work = lab.work()
    if work.exists():
        print(_("lab {number} is already started: your work is in {folder} "
                "(nothing copied).").format(number=lab.number, folder=work))
        print(_("To start again from the starter, rename or delete that folder first."))
        return 0
    shutil.copytree(lab.starter, work, ignore=IGNORED)
    print(_("lab {number} · {title}: your copy is {folder}").format(
        number=lab.number, title=lab.shown_title, folder=work))
    print(_("read {readme}, edit the files in your copy, then:").format(readme=_readme(lab)))
    print(f"    socketlab lab check {lab.number}")
    return 0


def _readme(lab: Lab) -> Path:
    """The lab's README in the student's language, where it has one."""
    translated = lab.path / f"README.{language()}.md"
    return translated if language() != ENGLISH and translated.is_file() else lab.path / "README.md"


def _target(lab: Lab, args: argparse.Namespace, quiet: bool = False) -> tuple[Path, str]:
    if args.solution:
        if not lab.solution.is_dir():
            raise LabError(_("lab {number} has no solution/ here (a student's handout)")
                           .format(number=lab.number))
        return lab.solution, SOLUTION
    if args.path:
        from .grading import locate

        given = Path(args.path).resolve()
        found = locate(lab, given) if given.is_dir() else given
        if found != given and not quiet:
            print(_("(checking {folder}: the lab's files are there)").format(folder=found) + "\n")
        return found, PATH
    if lab.work().is_dir():
        return lab.work(), YOUR_WORK
    if not quiet:
        print(_("(no work/{name} yet, so this uses the pristine starter; "
                "'socketlab lab start {number}' makes your own copy)").format(
            name=lab.name, number=lab.number) + "\n")
    return lab.starter, STARTER


def _rerun_command(lab: Lab, args: argparse.Namespace) -> str:
    """How the student ran this, to run it again: the folder they named stays in."""
    command = f"socketlab lab check {lab.number}"
    if args.solution:
        return command + " --solution"
    if args.path:
        quoted = (subprocess.list2cmdline([args.path]) if os.name == "nt"
                  else shlex.quote(args.path))
        return f"{command} {quoted}"
    return command


def cmd_check(args: argparse.Namespace) -> int:
    lab = find_lab(args.lab)
    if args.format != "text":
        return _check_as(lab, args)
    target, kind = _target(lab, args)
    if not target.is_dir():
        raise LabError(_("there is no folder {folder}").format(folder=target))
    command = _rerun_command(lab, args)
    repeat = max(1, args.repeat)
    runs: list[CheckRun] = []
    try:
        for number in range(1, repeat + 1):
            runs.append(run_checks(lab, target, stop_first=not args.all, keyword=args.k))
            if repeat > 1:  # a sign of life: twenty runs take a while
                said = (_("run {number} of {repeat}: passed") if runs[-1].ok else
                        _("run {number} of {repeat}: failed"))
                print(said.format(number=number, repeat=repeat), flush=True)
            if runs[-1].problem:  # the code cannot even be run: every run would say so
                break
    except KeyboardInterrupt:
        if not runs:
            raise
        print(_("(stopped by Ctrl-C)"))
    if repeat > 1:
        print()
    ok = all(run.ok for run in runs)
    if len(runs) > 1:
        render_repeated(runs, command=command, asked=repeat, verbose=args.verbose)
    else:
        note = (_("this lab has races, and a lucky run proves little: "
                  "try {command} --repeat 20").format(command=command)
                if ok and lab.repeatable and repeat == 1 else None)
        render(runs[0], command=command, verbose=args.verbose, stopped_early=not args.all,
               note=note)
    if not args.k and kind != SOLUTION:
        results.remember(next((run for run in runs if not run.ok), runs[-1]), kind)
    return 0 if ok and len(runs) == repeat else EXIT_FAILED


def _check_as(lab: Lab, args: argparse.Namespace) -> int:
    """Every check, written as json, junit or gradescope (to --output, else stdout)."""
    if args.repeat > 1 or args.k:
        raise LabError(_("--format {format} grades every check once: "
                         "leave out --repeat and -k").format(format=args.format))
    target, _kind = _target(lab, args, quiet=True)
    run = run_checks(lab, target, stop_first=False)
    text = render_format(grade(run, f"socketlab lab check {lab.number}"), args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0 if run.ok else EXIT_FAILED


def cmd_sniff(args: argparse.Namespace) -> int:
    from .sniff import sniff_lab  # the inspector (scapy, matplotlib) only when sniffing

    lab = find_lab(args.lab)
    target, _kind = _target(lab, args)
    pcap = Path(args.pcap).resolve() if args.pcap else None
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    sniff_lab(lab, target, print, prefer=args.capture, pcap=pcap, colour=colour)
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from .load import LOAD_LABS, run_load  # matplotlib only when loading

    lab = find_lab(args.lab)
    if lab.number not in LOAD_LABS:
        raise LabError(_("lab {number} has no load test (lab {labs} has)").format(
            number=lab.number, labs=", ".join(LOAD_LABS)))
    target, _kind = _target(lab, args)
    run_load(target, args.clients, args.stall, args.seconds, Path(args.chart).resolve())
    return 0


def cmd_handout(args: argparse.Namespace) -> int:
    labs = lab_range(args.labs) if args.labs else all_labs()
    out = Path(args.out).resolve()
    written = write_handout(out, labs)
    print(_("wrote the student's edition to {folder}: {count} files, labs {labs} "
            "(no solutions, no mutants)").format(folder=out, count=len(written),
                                                 labs=", ".join(lab.number for lab in labs)))
    if args.classroom:
        from .classroom import add_classroom

        path = add_classroom(out, labs)
        print(_("and {workflow}: GitHub Classroom grades each check with its points "
                "(work/ is committed there, not ignored)").format(workflow=path.relative_to(out)))
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from . import grading

    lab = find_lab(args.lab)
    submissions = grading.find_submissions(Path(args.submissions).resolve())
    out = Path(args.out).resolve()
    results_dir = Path(args.results).resolve() if args.results else out.parent / "results"
    print(f"lab {lab.number} · {lab.title}: grading {len(submissions)} submissions, "
          f"{args.jobs} at a time", flush=True)

    def done(submission: grading.Submission, result: Grade) -> None:
        problem = result.run.problem or next(iter(result.run.process_problems), "")
        if len(problem) > 60:
            problem = problem[:60].rsplit(" ", 1)[0] + " …"
        print(f"  {submission.student}: {shown(result.points)} of {shown(result.max_points)}"
              " points" + (f" ({problem})" if problem else ""), flush=True)

    grades = grading.grade_class(lab, submissions, args.jobs, done)
    grading.write_grades(out, results_dir, submissions, grades)
    print()
    print("\n".join(grading.summary(grades)))
    print(f"\nwrote {out} and {len(grades)} files in {results_dir}")
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from .autograder import write_autograder

    lab = find_lab(args.lab)
    out = Path(args.out).resolve()
    names = write_autograder(lab, out)
    print(f"wrote {out} for lab {lab.number} · {lab.title} ({', '.join(names)}): upload it as "
          "the assignment's autograder on Gradescope (docs/instructor.md, Gradescope)")
    return 0


def cmd_make_starter(args: argparse.Namespace) -> int:
    labs = all_labs() if args.lab == "all" else [find_lab(args.lab)]
    for lab in labs:
        make_starter(lab, lab.starter)
        print(f"wrote {lab.starter} from {lab.solution}")
    return 0


def build_parser(prog: str = "socketlab lab") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=_("The labs: build the chat step by step.")
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help=_("the labs, and which pass on this machine"))
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("start", help=_("copy a lab's starter into work/ (never overwrites)"))
    p.add_argument("lab", help=_("the lab's number, e.g. 01"))
    p.set_defaults(run=cmd_start)

    p = sub.add_parser("check", help=_("run a lab's checks on your work (or the starter)"))
    p.add_argument("lab", help=_("the lab's number, e.g. 01"))
    p.add_argument("path", nargs="?", help=_("check this folder instead of work/NN-…"))
    p.add_argument("--solution", action="store_true", help=_("check the solution (instructors)"))
    p.add_argument("--all", action="store_true", help=_("run every check, not stop at the first ✗"))
    p.add_argument("-k", metavar="NAME", help=_("run only the checks whose name contains NAME"))
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help=_("run the checks N times and say how often each failed (races)"))
    p.add_argument("-v", "--verbose", action="store_true",
                   help=_("show tracebacks and pytest's output"))
    p.add_argument("--format", choices=FORMATS, default="text",
                   help=_("text for people (default); json, junit or gradescope for a grader: "
                          "every check runs, as with --all"))
    p.add_argument("--output", metavar="FILE", help=_("write the json/junit/gradescope here"))
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("sniff", help=_("run the lab's demo and show what crossed the wire"))
    p.add_argument("lab", help=_("the lab's number, e.g. 01"))
    p.add_argument("path", nargs="?", help=_("run this folder's code instead of work/NN-…"))
    p.add_argument("--solution", action="store_true", help=_("run the solution (instructors)"))
    p.add_argument("--capture", choices=("sniff", "proxy"), default="sniff",
                   help=_("sniff where you may (default), or always go through the proxy"))
    p.add_argument("--pcap", metavar="OUT", help=_("also write the capture (and its key log)"))
    p.set_defaults(run=cmd_sniff)

    p = sub.add_parser("load", help=_("lab 09: the others' latency with a slow client, with and "
                                      "without your fix (a table and a chart)"))
    p.add_argument("lab", help=_("the lab's number: 09"))
    p.add_argument("path", nargs="?", help=_("load this folder's server instead of work/NN-…"))
    p.add_argument("--solution", action="store_true", help=_("load the solution (instructors)"))
    p.add_argument("--clients", type=int, default=50, metavar="N", help=_("clients (default 50)"))
    p.add_argument("--stall", type=int, default=1, metavar="K",
                   help=_("of them, how many never read (default 1)"))
    p.add_argument("--seconds", type=float, default=2.0, metavar="S",
                   help=_("how long the others talk (default 2)"))
    p.add_argument("--chart", default="latency-09.png", metavar="PNG",
                   help=_("where the chart goes (default latency-09.png here)"))
    p.set_defaults(run=cmd_load)

    p = sub.add_parser("handout", help=_("write the student's edition (no solutions) to a folder"))
    p.add_argument("--out", required=True, metavar="DIR", help=_("the folder to write it to"))
    p.add_argument("--labs", metavar="A-B", help=_("which labs, e.g. 01-05 (default: all)"))
    p.add_argument("--classroom", action="store_true",
                   help=_("add a GitHub Classroom autograding workflow (.github/workflows)"))
    p.set_defaults(run=cmd_handout)

    p = sub.add_parser("gradescope",
                       help=_("(instructors) write a lab's Gradescope autograder zip"))
    p.add_argument("lab", help=_("the lab's number, e.g. 01"))
    p.add_argument("--out", default="autograder.zip", metavar="ZIP",
                   help=_("where the zip goes (default autograder.zip here)"))
    p.set_defaults(run=cmd_gradescope)

    p = sub.add_parser("grade", help=_(
        "(instructors) check every student's submission: "
        "grades.csv, results/STUDENT.json, what the class found hard"))
    p.add_argument("lab", help=_("the lab's number, e.g. 01"))
    p.add_argument("submissions", help=_("a folder holding one folder or .zip per student"))
    p.add_argument("--out", default="grades.csv", metavar="CSV",
                   help=_("the grades table (default grades.csv here)"))
    p.add_argument("--results", metavar="DIR",
                   help=_("one STUDENT.json each (default: results/ beside the CSV)"))
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help=_("check N submissions at once (default 1)"))
    p.set_defaults(run=cmd_grade)

    p = sub.add_parser("make-starter", help=_("(lab authors) regenerate starter/ from solution/"))
    p.add_argument("lab", help=_("a lab's number, or 'all'"))
    p.set_defaults(run=cmd_make_starter)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "socketlab lab") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        return int(args.run(args))
    except (LabError, SocketlabError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: " + _("stopped by Ctrl-C"), file=sys.stderr)
        return 130
