"""What ``socketlab lab list`` remembers: the last full check of each lab on this machine."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .catalog import work_root
from .checking import CheckRun

FILE_NAME = ".results.json"


def _path(root: Path | None) -> Path:
    return (root or work_root()) / FILE_NAME


def load(root: Path | None = None) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(run: CheckRun, kind: str, root: Path | None = None) -> None:
    """Keep ``run``'s outcome for ``lab list`` (a failure to write is not the student's problem)."""
    data = load(root)
    data[run.lab.number] = {
        "passed": run.passed,
        "failed": run.failed,
        "total": run.collected,
        "ok": run.ok and run.passed == run.collected,
        "what": kind,
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    path = _path(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    except OSError:
        pass
