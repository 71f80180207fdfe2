"""``socketlab lab gradescope NN``: the autograder zip Gradescope runs for a lab.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once
to build its image (with network), then for each submission puts the
student's files in ``/autograder/submission`` and runs ``run_autograder``,
which must write ``/autograder/results/results.json``. The kit travels inside
the zip as a wheel (``wheel.py``): nothing is fetched from this repository.
``$AUTOGRADER_ROOT`` (default ``/autograder``) and ``$SOCKETLAB_PYTHON``
let the same scripts run in a folder laid out the same way, for a test.
"""

from __future__ import annotations

import stat
import tempfile
import zipfile
from pathlib import Path

from .catalog import Lab
from .wheel import build_wheel

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder (it has network then).
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y python3 python3-venv python3-pip{apt}
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  # the kit needs Python 3.11 or newer (Ubuntu 22.04 has it as python3.11)
  apt-get install -y python3.11 python3.11-venv
  PYTHON=python3.11
fi
"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install "$ROOT/source/{wheel}[labs]"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: check it, write results/results.json.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{SOCKETLAB_PYTHON:-$ROOT/venv/bin/python}}"
WORK="$(mktemp -d)"
cp -r "$ROOT/submission/." "$WORK/"
mkdir -p "$ROOT/results"
RESULTS="$ROOT/results/results.json"
rm -f "$RESULTS"
cd "$WORK"
{display}"$PYTHON" -m socketlab lab check {lab} "$WORK" --format gradescope --output "$RESULTS"
if [ ! -s "$RESULTS" ]; then
  echo '{{"score": 0.0, "tests": [],
    "output": "The checks could not run at all: ask your instructor."}}' > "$RESULTS"
fi
rm -rf "$WORK"
exit 0
"""


def write_autograder(lab: Lab, out: Path) -> list[str]:
    """Write ``lab``'s Gradescope autograder zip to ``out``; the names in it."""
    with tempfile.TemporaryDirectory(prefix="socketlab-autograder-") as tmp:
        wheel = build_wheel(Path(tmp))
        scripts = {
            "setup.sh": SETUP.format(apt=" xvfb xauth" if lab.needs_display else "",
                                     wheel=wheel.name),
            "run_autograder": RUN.format(lab=lab.number,
                                         display="xvfb-run -a " if lab.needs_display else ""),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
            for name, text in scripts.items():
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | 0o755) << 16  # executable once unpacked
                zipped.writestr(info, text, compress_type=zipfile.ZIP_DEFLATED)
            zipped.write(wheel, wheel.name)
    return [*scripts, wheel.name]
