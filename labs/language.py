"""The runner's and the checks' words in the student's language (see socketlab.i18n).

The runner's own words (the report's lines, its errors, the harness's way of
describing an exception) are in ``labs/locale/ko.po``. A lab's checks carry
their own table, ``labs/NN-name/locale/ko.po``: their sentences (each check's
docstring, the line beside ✓ or ✗) and their hints. A check looks a text up in
its lab's table first, then in the runner's, and shows the English where
neither has it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from socketlab.i18n import N_, Catalog

RUNNER = Catalog(Path(__file__).resolve().parent / "locale")
_ = RUNNER.gettext
ngettext = RUNNER.ngettext


@functools.cache
def lab_catalog(lab_folder: Path) -> Catalog:
    """The table of a lab (``lab_folder/locale``): its title, its checks' sentences and
    hints; backed by the runner's. One per lab, read once."""
    return Catalog(lab_folder / "locale", fallback=RUNNER)


__all__ = ["N_", "RUNNER", "_", "lab_catalog", "ngettext"]
