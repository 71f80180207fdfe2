"""``python -m tools.screenshots`` still draws the docs' four pictures.

The tool starts its own Xvfb, server and clients; a change to the GUI that
breaks it would otherwise be found only when someone next needs a picture.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from matplotlib import image

from tests.ci_rules import skip_or_fail

REPO = Path(__file__).resolve().parents[2]
PICTURES = (
    "connect-dialog.png", "chat.png", "chat-ko.png", "e2e-whisper.png", "identity-warning.png"
)


def test_the_docs_screenshots_are_drawn_from_a_live_window(tmp_path: Path) -> None:
    for tool in ("Xvfb", "import"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} is not installed (apt-get install xvfb imagemagick)")
    done = subprocess.run(
        [sys.executable, "-m", "tools.screenshots", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(PICTURES)
    for name in PICTURES:
        pixels = image.imread(tmp_path / name)
        height, width = pixels.shape[:2]
        assert width >= 300 and height >= 200, f"{name} is {width}x{height}"
        # A window that drew nothing is one flat colour.
        assert pixels.std() > 0.05, f"{name} is blank"
    chat = image.imread(tmp_path / "chat.png")
    dialog = image.imread(tmp_path / "connect-dialog.png")
    assert chat.shape[0] * chat.shape[1] > dialog.shape[0] * dialog.shape[1]
