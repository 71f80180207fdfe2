"""Run the notebooks top to bottom and keep the executed copies for the docs.

    python -m notebooks.execute                 # every notebook, into build/notebooks/
    python -m notebooks.execute 02 05 --out DIR

Each ``NN-topic.py`` (jupytext percent format) becomes a notebook, runs in a
fresh ``python3`` kernel of this interpreter with its folder as working
directory (as ``socketlab notebooks`` runs it), with a time limit per
cell, and is written as ``NN-topic.ipynb`` with its outputs. The copy records
the SHA-256 of its source, so the docs build can tell a current copy from a
stale one (``executed_copy``). A failing cell raises nbclient's
``CellExecutionError`` with the cell and its traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUT = ROOT / "build" / "notebooks"
CELL_TIMEOUT = 60  # seconds; a whole notebook is meant to take less than that
_HASH_KEY = "source_sha256"


def sources() -> list[Path]:
    """The notebooks, in their reading order."""
    return sorted(HERE.glob("[0-9][0-9]-*.py"))


def find(prefix: str) -> Path:
    """The notebook whose name starts with ``prefix`` (``"02"`` or ``"02-encryption"``)."""
    found = [p for p in sources() if p.stem.startswith(prefix)]
    if len(found) != 1:
        raise SystemExit(f"no single notebook starts with {prefix!r}: "
                         f"{', '.join(p.stem for p in sources())}")
    return found[0]


def source_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def to_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook a jupytext source stands for, stamped with the source's hash."""
    nb = jupytext.read(path)
    nb.metadata.setdefault("socketlab", {})[_HASH_KEY] = source_hash(path)
    return nb


def executed_copy(path: Path, out: Path = DEFAULT_OUT) -> Path | None:
    """The executed copy of ``path`` in ``out`` if it was made from the current source."""
    copy = out / f"{path.stem}.ipynb"
    if not copy.exists():
        return None
    stamp = nbformat.read(copy, as_version=4).metadata.get("socketlab", {}).get(_HASH_KEY)
    return copy if stamp == source_hash(path) else None


@dataclass(frozen=True)
class Executed:
    source: Path
    notebook: Path
    seconds: float


def execute(path: Path, out: Path = DEFAULT_OUT, *, timeout: int = CELL_TIMEOUT) -> Executed:
    """Run ``path`` in a fresh kernel and write the executed ``.ipynb`` into ``out``."""
    nb = to_notebook(path)
    # Plots must reach the notebook: an inherited MPLBACKEND=Agg would swallow them.
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.monotonic()
    client.execute(env=env)
    seconds = time.monotonic() - started
    nb.metadata["socketlab"]["seconds"] = round(seconds, 2)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{path.stem}.ipynb"
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")  # two runs may race
    nbformat.write(nb, partial)
    partial.replace(target)  # a reader (the docs build) never sees half a file
    return Executed(path, target, seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notebooks.execute", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebook numbers or name prefixes (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the copies go")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = [find(name) for name in args.names] if args.names else sources()
    for path in paths:
        done = execute(path, args.out, timeout=args.timeout)
        print(f"{path.name}: {done.seconds:.1f} s -> {done.notebook}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
