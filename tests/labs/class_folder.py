"""A class's worth of submissions for one lab: solutions, starters, every mutant, hostile ones.

``python -m tests.labs.class_folder OUT --lab 01 --solutions 10 --starters 8`` makes
the folder ``socketlab lab grade`` is measured on (docs/instructor.md); the
tests make a small one. Each hostile submission is the solution with a few
lines run when the server module is imported.
"""

from __future__ import annotations

import argparse
import shutil
import zipfile
from pathlib import Path

from socketlab.labs.catalog import Lab, find_lab
from socketlab.labs.mutants import load_mutants
from socketlab.labs.starters import IGNORED

HOSTILE = {
    "loops-at-import": "while True:\n    pass\n",
    # 50 MB while a check runs (pytest captures it), and 50 MB more straight into the pipe at exit
    "floods-output": (
        "import atexit as _atexit, os as _os, sys as _sys\n"
        "_sys.stdout.write('x' * (50 * 1024 * 1024))\n"
        "def _flood():\n"
        "    data = memoryview(b'y' * (50 * 1024 * 1024))\n"
        "    while data:\n"
        "        data = data[_os.write(1, data):]\n"
        "_atexit.register(_flood)\n"
    ),
    "forks-and-keeps-a-port": (
        "import os as _os, socket as _socket, time as _time\n"
        "if _os.fork() == 0:\n"
        "    _held = _socket.socket()\n"
        "    _held.bind(('127.0.0.1', 0))\n"
        "    _held.listen()\n"
        "    with open({ports!r}, 'a') as _f:\n"
        "        _f.write(f'{{_held.getsockname()[1]}}\\n')\n"
        "    while True:\n"
        "        _time.sleep(1)\n"
    ),
    "starts-500-threads": (
        "import threading as _threading\n"
        "_never = _threading.Event()\n"
        "for _ in range(500):\n"
        "    _threading.Thread(target=_never.wait).start()\n"
    ),
    "calls-os-exit": "import os as _os\n_os._exit(3)\n",
    # its own files, from the copy it runs in: the submission itself stays whole
    "deletes-its-files": (
        "import pathlib as _pathlib\n"
        "for _file in _pathlib.Path(__file__).parent.glob('*.py'):\n"
        "    _file.unlink()\n"
    ),
}


def server_file(lab: Lab) -> str:
    """The solution file a hostile submission spoils: the one the first checks import."""
    files = sorted(path.name for path in lab.solution.glob("*.py"))
    return next((name for name in files if "server" in name), files[0])


def make_class(lab: Lab, out: Path, *, solutions: int = 1, starters: int = 1,
               ports: Path | None = None) -> dict[str, str]:
    """Fill ``out`` with submissions; what each one is ("solution", "mutant:NAME", "hostile:…")."""
    kinds: dict[str, str] = {}
    for number in range(solutions):
        shutil.copytree(lab.solution, out / f"solution-{number}", ignore=IGNORED)
        kinds[f"solution-{number}"] = "solution"
    if solutions:  # one as a zip, files inside a folder of their own
        with zipfile.ZipFile(out / "zipped.zip", "w") as zipped:
            for path in sorted(lab.solution.glob("*.py")):
                zipped.write(path, f"my-lab/{path.name}")
        kinds["zipped"] = "solution"
    for number in range(starters):
        shutil.copytree(lab.starter, out / f"starter-{number}", ignore=IGNORED)
        kinds[f"starter-{number}"] = "starter"
    for mutant in load_mutants(lab):
        mutant.apply(lab, out / f"mutant-{mutant.name}")
        kinds[f"mutant-{mutant.name}"] = f"mutant:{mutant.name}"
    target = server_file(lab)
    for name, code in HOSTILE.items():
        folder = out / f"hostile-{name}"
        shutil.copytree(lab.solution, folder, ignore=IGNORED)
        spoiled = code.format(ports=str(ports or out.parent / "held-ports.txt"))
        with (folder / target).open("a", encoding="utf-8") as handle:
            handle.write("\n\n" + spoiled)
        kinds[f"hostile-{name}"] = f"hostile:{name}"
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="a new folder")
    parser.add_argument("--lab", default="01")
    parser.add_argument("--solutions", type=int, default=10)
    parser.add_argument("--starters", type=int, default=8)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True)
    kinds = make_class(find_lab(args.lab), out, solutions=args.solutions, starters=args.starters)
    print(f"{len(kinds)} submissions in {out}")


if __name__ == "__main__":
    main()
