"""mypy on the socketlab packages as they are installed: ``python -m tools.typecheck``.

The folders protocol/, server/, client/ and inspector/ install as
``socketlab.protocol`` … (pyproject's package-dir). An editable install maps
them with an import hook, which mypy cannot follow (it reads folders, not
hooks), so ``mypy server`` finds no ``socketlab.protocol``. This lays the
packages out as a wheel does, in a temporary tree of links to the checkout's
files (copies where links cannot be made, as on Windows without developer
mode), runs mypy there with pyproject's ``[tool.mypy]`` settings, and prints
the findings with the checkout's paths. Extra arguments go to mypy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
# Checked besides the installed packages: this folder, which imports them.
EXTRA = {"tools": "tools"}


def package_dirs() -> dict[str, str]:
    """Installed package name -> its folder in the checkout (pyproject's mapping)."""
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return {**mapping, **EXTRA}


def lay_out(tree: Path, packages: dict[str, str]) -> None:
    """Link every module of each package into ``tree`` where the wheel would put it."""
    for name, folder in packages.items():
        target = tree.joinpath(*name.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted((ROOT / folder).glob("*.py")):
            try:
                (target / source.name).symlink_to(source)
            except OSError:
                shutil.copy2(source, target / source.name)


def to_checkout(line: str, packages: dict[str, str]) -> str:
    """Rewrite a path at the start of one line of mypy's output as the checkout's path."""
    # Deepest package first: socketlab/protocol/ before socketlab/.
    for name in sorted(packages, key=lambda n: -n.count(".")):
        for sep in {"/", os.sep}:
            prefix = name.replace(".", sep) + sep
            if line.startswith(prefix):
                return packages[name] + sep + line[len(prefix) :]
    return line


def run(mypy_args: list[str]) -> tuple[int, str]:
    """Run mypy over the laid-out packages: its exit code and its report."""
    packages = package_dirs()
    roots = sorted({name.split(".")[0] for name in packages})
    with tempfile.TemporaryDirectory(prefix="socketlab-typecheck-") as tmp:
        tree = Path(tmp)
        lay_out(tree, packages)
        command = [sys.executable, "-m", "mypy", "--config-file", str(PYPROJECT)]
        command += ["--cache-dir", str(ROOT / ".mypy_cache")]
        for root in roots:
            command += ["-p", root]
        env = {**os.environ, "MYPY_FORCE_COLOR": "0", "MYPYPATH": ""}
        done = subprocess.run(
            [*command, *mypy_args], cwd=tree, env=env, capture_output=True, text=True, check=False
        )
    output = done.stdout + done.stderr
    report = "".join(to_checkout(line, packages) for line in output.splitlines(keepends=True))
    return done.returncode, report


def main(argv: list[str] | None = None) -> int:
    code, report = run(sys.argv[1:] if argv is None else argv)
    sys.stdout.write(report)
    return code


if __name__ == "__main__":
    sys.exit(main())
