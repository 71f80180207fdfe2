"""Figures as rows; the machine they ran on; ``latest.json`` and the markdown table."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "latest.json"
DOC = REPO / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass
class Row:
    """One number of one figure, with its target where the issue sets one."""

    key: str  # stable, e.g. "1.fanout.plain.200.ratio"
    label: str
    value: float | None  # None: not measured (``note`` says why)
    unit: str = ""
    target: str = ""  # e.g. ">= 1.5"; empty: reported for context
    status: str = ""  # PASS, MISS, or "" without a target
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def figure(self) -> str:
        return self.key.split(".", 1)[0]


def judged(
    key: str, label: str, value: float | None, unit: str, op: str, limit: float, note: str = ""
) -> Row:
    """A row with a target ``op limit`` (op is ">=" or "<="), marked PASS or MISS."""
    target = f"{op} {limit:g}"
    if value is None:
        return Row(key, label, None, unit, target, "MISS", note or "not measured")
    ok = value >= limit if op == ">=" else value <= limit
    return Row(key, label, value, unit, target, "PASS" if ok else "MISS", note)


def not_measured(key: str, label: str, why: str, target: str = "") -> Row:
    return Row(key, label, None, "", target, "", f"not measured: {why}")


def machine() -> dict[str, Any]:
    """Where and when this ran: enough to judge the numbers."""
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"),
        # The code measured may differ from the commit: name what is not committed.
        "uncommitted": sorted(
            {line[3:].split("/")[0] for line in (_git("status", "--porcelain") or "").splitlines()}
        ),
    }
    if hasattr(os, "getloadavg"):
        info["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    return info


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.rstrip("\n") or None  # (a leading space is part of `status` output)


def write_json(rows: list[Row], info: dict[str, Any], command: str, path: Path = RESULTS) -> None:
    """``latest.json``: the machine, the command, and one entry per figure row."""
    data = {
        "machine": info,
        "command": command,
        "figures": {row.key: {k: v for k, v in asdict(row).items() if k != "key"} for row in rows},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit != "×" and float(value).is_integer():
        text = f"{value:,.0f}"
    elif unit == "×" or abs(value) < 10:
        text = f"{value:.2f}"
    else:
        text = f"{value:,.0f}"
    return f"{text} {unit}".strip() if unit != "×" else f"{text}×"


def _symbols(target: str) -> str:
    return target.replace(">=", "≥").replace("<=", "≤")


def table(rows: list[Row]) -> str:
    lines = [
        "| # | Figure | Value | Target | Result | Note |",
        "|---|---|---:|---|---|---|",
    ]
    for row in rows:
        note = row.note.replace("|", "\\|")
        lines.append(
            f"| {row.figure} | {row.label} | {_fmt(row.value, row.unit)} | "
            f"{_symbols(row.target) or '—'} | {row.status or 'info'} | {note} |"
        )
    return "\n".join(lines)


def section(rows: list[Row], info: dict[str, Any], command: str, seconds: float) -> str:
    load = info.get("loadavg_at_start")
    machine_line = (
        f"{info['nproc']} cores ({info['cpu']}), {info['platform']}, "
        f"{info['implementation']} {info['python']}"
    )
    passed = sum(r.status == "PASS" for r in rows)
    judged_rows = sum(r.status in ("PASS", "MISS") for r in rows)
    parts = [
        BEGIN,
        "",
        f"Made by `{command}` on {info['date']} in {seconds:.0f} s, "
        f"commit `{(info['git_commit'] or 'unknown')[:12]}`"
        + (f" (uncommitted: {', '.join(info['uncommitted'])})." if info["uncommitted"] else "."),
        "",
        f"Machine: {machine_line}"
        + (
            f"; load average at start {load[0]:.2f} (other work on the machine shares the cores)."
            if load
            else "."
        ),
        "",
        f"**{passed} of {judged_rows} targets met.**",
        "",
        table(rows),
        "",
        END,
    ]
    return "\n".join(parts)


def write_doc(
    rows: list[Row], info: dict[str, Any], command: str, seconds: float, path: Path = DOC
) -> None:
    """Replace the generated part of ``docs/performance.md``, keeping the prose around it."""
    generated = section(rows, info, command, seconds)
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + generated + tail
    else:
        text = "# Performance\n\n" + generated + "\n" + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def command_line() -> str:
    args = " ".join(sys.argv[1:])
    return f"python -m bench {args}".strip()
