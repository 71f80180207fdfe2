"""``socketlab notebooks``: JupyterLab on the kit's notebooks, each one opening as a notebook.

The notebooks are stored as jupytext text files (``notebooks/NN-topic.py``), so
they diff and review like code. Left to itself JupyterLab opens a ``.py`` file
in its text editor; this command starts ``jupyter lab`` in the notebooks'
folder with one setting more, for that run only: Python files open as
notebooks (jupytext's "Jupytext Notebook" viewer). The setting lives in
``notebooks/.jupyter/labconfig/`` (a hidden folder, put on
``JUPYTER_CONFIG_PATH``), so the student's own Jupyter settings stay as they
are. A notebook saved from JupyterLab goes back into its ``.py`` file.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from socketlab.protocol import SocketlabError

# The kit's checkout: notebooks/ is not installed, it comes with the source.
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LAB_CONFIG = NOTEBOOKS / ".jupyter"
INSTALL = "pip install -e \".[notebooks]\""


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Open the notebooks in JupyterLab; double-click one to open it as a "
                    "notebook. Needs the notebooks extra: " + INSTALL,
        epilog="Other options go to jupyter lab: --no-browser (print the address to open "
               "instead), --port 8890 ... Ctrl-C twice stops it.")
    return parser


def lab_command(extra: Sequence[str]) -> list[str]:
    """The ``jupyter lab`` command line this verb runs."""
    return [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={NOTEBOOKS}", *extra]


def lab_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the kit's JupyterLab setting added before the user's own config paths."""
    paths = [str(LAB_CONFIG), *filter(None, env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep))]
    return {**env, "JUPYTER_CONFIG_PATH": os.pathsep.join(paths)}


def check_ready() -> None:
    """Raise a one-line error when the notebooks or JupyterLab are not there."""
    if not any(NOTEBOOKS.glob("[0-9][0-9]-*.py")):
        raise SocketlabError("no_notebooks", "the notebooks come with the source: clone "
                             f"socketlab, then run {INSTALL} in its folder")
    missing = [name for name in ("jupyterlab", "jupytext", "ipykernel")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise SocketlabError("no_jupyterlab", f"{', '.join(missing)} not installed: {INSTALL}")


def main(argv: Sequence[str] | None = None, prog: str = "socketlab notebooks") -> int:
    _, extra = build_parser(prog).parse_known_args(argv)
    try:
        check_ready()
    except SocketlabError as exc:
        print(f"socketlab notebooks: {exc.message}", file=sys.stderr)
        return 2
    with subprocess.Popen(lab_command(extra), cwd=NOTEBOOKS,
                          env=lab_environment(dict(os.environ))) as lab:
        while True:
            try:
                return lab.wait()
            except KeyboardInterrupt:
                continue  # the terminal's Ctrl-C reached JupyterLab too: it asks, then stops
