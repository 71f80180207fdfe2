"""Where the labs are, what each one holds, and where a student's work goes."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .language import _, lab_catalog

LABS_DIR = Path(__file__).resolve().parent
LAB_NAME = re.compile(r"^(\d\d)-[a-z0-9-]+$")


class LabError(Exception):
    """A lab command cannot do what was asked; ``str()`` is the one line to show."""


@dataclass(frozen=True)
class Lab:
    number: str  # "01"
    path: Path  # labs/01-echo
    title: str
    check_order: tuple[str, ...] = ()
    check_timeout: float = 10.0  # seconds, per check
    repeatable: bool = False  # --repeat makes sense (races)
    needs_display: bool = False  # the checks open Tk windows

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def shown_title(self) -> str:
        """The title in the student's language (the lab's own table has it)."""
        return lab_catalog(self.path).gettext(self.title)

    @property
    def starter(self) -> Path:
        return self.path / "starter"

    @property
    def solution(self) -> Path:
        return self.path / "solution"

    @property
    def checks(self) -> Path:
        return self.path / "checks"

    @property
    def mutants(self) -> Path:
        return self.path / "mutants"

    @property
    def capture(self) -> Path:
        return self.path / "capture"

    def work(self, root: Path | None = None) -> Path:
        """The student's own copy: ``work/NN-name`` next to ``labs/``."""
        return (root or work_root()) / self.name


def work_root() -> Path:
    """``$SOCKETLAB_WORK``, else ``work/`` beside ``labs/`` in a checkout, else ``./work``."""
    configured = os.environ.get("SOCKETLAB_WORK")
    if configured:
        return Path(configured).resolve()
    checkout = LABS_DIR.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "work"
    return Path.cwd() / "work"


def _load(path: Path) -> Lab:
    number = LAB_NAME.match(path.name)
    assert number is not None
    config = tomllib.loads((path / "lab.toml").read_text(encoding="utf-8"))
    return Lab(
        number=number.group(1),
        path=path,
        title=config["title"],
        check_order=tuple(config.get("check_order", ())),
        check_timeout=float(config.get("check_timeout", 10.0)),
        repeatable=bool(config.get("repeatable", False)),
        needs_display=bool(config.get("needs_display", False)),
    )


def all_labs(root: Path = LABS_DIR) -> list[Lab]:
    """Every lab folder under ``root``, in order."""
    return [
        _load(path)
        for path in sorted(root.iterdir())
        if path.is_dir() and LAB_NAME.match(path.name) and (path / "lab.toml").is_file()
    ]


def find_lab(number: str, root: Path = LABS_DIR) -> Lab:
    """The lab numbered ``number`` ("3", "03" or "03-threads")."""
    wanted = number.split("-", 1)[0]
    if wanted.isdigit():
        wanted = f"{int(wanted):02d}"
    labs = all_labs(root)
    for lab in labs:
        if lab.number == wanted:
            return lab
    known = ", ".join(lab.number for lab in labs) or "none"
    raise LabError(_("there is no lab {number!r} (labs here: {known}; see 'socketlab lab list')")
                   .format(number=number, known=known))


def lab_range(spec: str, root: Path = LABS_DIR) -> list[Lab]:
    """Labs named by ``"01-05"``, ``"03"`` or ``"01,04,06-08"``."""
    chosen: list[Lab] = []
    for part in spec.split(","):
        low, _dash, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise LabError(_("cannot read the lab range {spec!r} (write e.g. 01-05 or 01,03)")
                           .format(spec=spec))
        first, last = int(low), int(high or low)
        chosen += [lab for lab in all_labs(root) if first <= int(lab.number) <= last]
    if not chosen:
        raise LabError(_("no lab in the range {spec!r}").format(spec=spec))
    return chosen
