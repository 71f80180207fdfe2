"""The documentation site builds with --strict: no broken link, no missing page."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_strict(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for page in ("index.html", "protocol/index.html", "inspector/index.html",
                 "chat/index.html", "performance/index.html"):
        assert (tmp_path / "site" / page).exists(), page
    assert (tmp_path / "site" / "images" / "chat.png").exists()
