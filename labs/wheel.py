"""The kit as a wheel, built with the standard library alone.

A grading machine (Gradescope's) has no access to this repository, so the
autograder carries the kit inside it. ``pip wheel`` would need the build
backend (setuptools, wheel) and, with build isolation, the network; a wheel
is only a zip with a few metadata files, so it is written here from what
``pyproject.toml`` says (packages, package-dir, package-data, dependencies,
scripts), offline and the same on every machine.
"""

from __future__ import annotations

import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path
from typing import Any

from .catalog import LabError
from .handout import CHECKOUT, kit_files

TAG = "py3-none-any"


def _project(root: Path) -> dict[str, Any]:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise LabError("the kit is not a checkout here (no pyproject.toml beside labs/): "
                       "build the autograder from a clone of the repository")
    return tomllib.loads(pyproject.read_text(encoding="utf-8"))


def _package_files(config: dict[str, Any], root: Path) -> dict[str, Path]:
    """Each installed file's name in the wheel, and where it is in the checkout."""
    setuptools = config["tool"]["setuptools"]
    tracked = set(kit_files(root))
    files: dict[str, Path] = {}
    for package in setuptools["packages"]:
        folder = Path(setuptools["package-dir"][package])
        chosen = [p for p in tracked if p.parent == folder and p.suffix == ".py"]
        for pattern in setuptools.get("package-data", {}).get(package, []):
            chosen += [p.relative_to(root) for p in (root / folder).glob(pattern)
                       if p.relative_to(root) in tracked]
        for path in chosen:
            inside = path.relative_to(folder).as_posix()
            files[f"{package.replace('.', '/')}/{inside}"] = root / path
    return files


def _metadata(project: dict[str, Any]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}",
             f"Version: {project['version']}", f"Summary: {project.get('description', '')}",
             f"Requires-Python: {project.get('requires-python', '>=3')}"]
    lines += [f"Requires-Dist: {dep}" for dep in project.get("dependencies", [])]
    for extra, deps in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {dep}; extra == "{extra}"' for dep in deps]
    return "\n".join(lines) + "\n"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(out: Path, root: Path = CHECKOUT) -> Path:
    """Write the kit's wheel into the folder ``out``; its path."""
    config = _project(root)
    project = config["project"]
    dist = f"{project['name']}-{project['version']}"
    info = f"{dist}.dist-info"
    scripts = "".join(f"{name} = {target}\n"
                      for name, target in project.get("scripts", {}).items())
    contents = {name: path.read_bytes()
                for name, path in sorted(_package_files(config, root).items())}
    contents[f"{info}/METADATA"] = _metadata(project).encode()
    contents[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: socketlab\n"
                                 f"Root-Is-Purelib: true\nTag: {TAG}\n").encode()
    contents[f"{info}/entry_points.txt"] = f"[console_scripts]\n{scripts}".encode()
    record = [_record_line(name, data) for name, data in contents.items()]
    contents[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{dist}-{TAG}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in contents.items():
            zipped.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data,
                            compress_type=zipfile.ZIP_DEFLATED)
    return wheel
