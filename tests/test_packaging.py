"""One import package and one command, as a user gets them.

The kit installs as ``socketlab.*`` only: a student's own ``server.py`` or
``protocol.py`` must not shadow it, nor it them. Checked from a folder outside
the checkout, with the suite's interpreter (the editable install of the
README), and with a wheel built from a copy of the checkout and installed into
a throwaway virtual environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import version
from pathlib import Path

from socketlab.cli import VERBS

ROOT = Path(__file__).resolve().parents[1]
# The names a student's first files take, and the folders that are not installed.
NOT_IMPORTABLE = ("server", "client", "protocol", "inspector", "bench", "tools", "tests")
PACKAGES = ("socketlab.protocol", "socketlab.server", "socketlab.client", "socketlab.inspector")
# The verbs issue 8 promises, whatever else VERBS grows.
PROMISED_VERBS = {"server", "client", "sniff", "read", "proxy", "chart", "demo"}
# Left out of the copy a wheel is built from: caches, environments, build output.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "site", "work", "demo-out", "*.egg-info",
    "__pycache__", ".*_cache", ".hypothesis",
)
IMPORT_PROBE = """
import importlib, json
result = {}
for name in NAMES:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        result[name] = "missing: " + str(exc.name)
    else:
        result[name] = module.__file__
print(json.dumps(result))
"""


def clean_env() -> dict[str, str]:
    """The environment without anything that would put the checkout on sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout,
        check=False,
    )


def script(python: Path, name: str) -> Path:
    """The console script ``name`` next to the interpreter ``python`` (bin/ or Scripts/)."""
    return python.parent / (name + (".exe" if os.name == "nt" else ""))


# The console script of the suite's environment (the README's editable install).
SOCKETLAB = [str(script(Path(sys.executable), "socketlab"))]


def imports(python: Path, names: tuple[str, ...], cwd: Path) -> dict[str, str]:
    done = run([str(python), "-c", f"NAMES = {names!r}\n{IMPORT_PROBE}"], cwd)
    assert done.returncode == 0, done.stderr
    result: dict[str, str] = json.loads(done.stdout)
    return result


def assert_only_socketlab_importable(python: Path, cwd: Path) -> dict[str, str]:
    found = imports(python, NOT_IMPORTABLE + PACKAGES, cwd)
    for name in NOT_IMPORTABLE:
        assert found[name] == f"missing: {name}", f"import {name} works: {found[name]}"
    for name in PACKAGES:
        assert not found[name].startswith("missing"), f"import {name} fails: {found[name]}"
    return found


def test_outside_the_checkout_only_socketlab_is_importable(tmp_path: Path) -> None:
    python = Path(sys.executable)
    found = assert_only_socketlab_importable(python, tmp_path)
    # The editable install maps each package to its folder in this checkout.
    assert Path(found["socketlab.server"]).parent == ROOT / "server"
    assert Path(found["socketlab.protocol"]).parent == ROOT / "protocol"


def test_help_lists_every_command_and_each_command_answers(tmp_path: Path) -> None:
    done = run([*SOCKETLAB, "--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.split("commands:")[1].splitlines()
              if line.startswith("  ")}
    assert listed >= PROMISED_VERBS
    assert listed == set(VERBS)
    as_module = run([sys.executable, "-m", "socketlab", "--help"], tmp_path)
    assert as_module.returncode == 0 and as_module.stdout == done.stdout
    for verb in sorted(listed):
        verb_help = run([*SOCKETLAB, verb, "--help"], tmp_path)
        assert verb_help.returncode == 0, f"socketlab {verb} --help: {verb_help.stderr}"
        assert verb_help.stdout.startswith(f"usage: socketlab {verb}"), verb_help.stdout[:200]


def test_version_is_the_installed_distributions(tmp_path: Path) -> None:
    for args in (SOCKETLAB, [sys.executable, "-m", "socketlab"]):
        done = run([*args, "--version"], tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"socketlab {version('socketlab')}"


def test_a_students_files_named_like_the_kit_do_not_break_it(tmp_path: Path) -> None:
    # Lab 01's and 02's first files, each one raising if anything imports it.
    for name in ("server", "client", "protocol", "inspector"):
        (tmp_path / f"{name}.py").write_text(f"raise ImportError('the student {name}.py')\n")
    for args in ([sys.executable, "-m", "socketlab"], SOCKETLAB):
        for verb in ("server", "client", "read"):
            done = run([*args, verb, "--help"], tmp_path)
            assert done.returncode == 0, f"{args} {verb}: {done.stderr}"
            assert "the student" not in done.stderr
    # And the student's file is still theirs to import.
    done = run([sys.executable, "-c", "import server"], tmp_path)
    assert "the student server.py" in done.stderr


def test_a_wheel_holds_only_socketlab_and_installs_into_a_fresh_venv(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    wheels = tmp_path / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(wheels)],
                source, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("socketlab-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt")))
    dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    assert dist_info.startswith("socketlab-")
    outside = [n for n in names if n.split("/")[0] not in ("socketlab", dist_info)]
    assert outside == [], f"the wheel holds more than socketlab/: {outside[:10]}"
    for module in ("socketlab/cli.py", "socketlab/trace.py", "socketlab/protocol/framing.py",
                   "socketlab/server/app.py", "socketlab/client/gui.py",
                   "socketlab/inspector/__main__.py", "socketlab/client/locale/ko.po",
                   "socketlab/labs/locale/ko.po"):
        assert module in names, f"{module} is not in the wheel"
    assert b"socketlab = socketlab.cli:main" in entry_points

    # A throwaway venv gets the wheel (not editable); its dependencies are borrowed
    # from the suite's environment through a .pth line, so nothing is downloaded.
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    installed = run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                     "--no-deps", "--no-index", str(wheel)], tmp_path, timeout=120)
    assert installed.returncode == 0, installed.stderr
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               tmp_path).stdout.strip()
    Path(site, "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    found = assert_only_socketlab_importable(python, tmp_path)
    assert Path(found["socketlab.server"]).is_relative_to(site), found["socketlab.server"]
    done = run([str(script(python, "socketlab")), "server", "--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: socketlab server")
    # The runner's Korean words came with it (labs/locale/ko.po, read at run time).
    korean = subprocess.run([str(script(python, "socketlab")), "lab", "check", "42"],
                            cwd=tmp_path, env={**clean_env(), "SOCKETLAB_LANG": "ko"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert korean.returncode == 2
    assert korean.stderr.startswith("socketlab lab: '42'번 실습은 없어요"), korean.stderr
