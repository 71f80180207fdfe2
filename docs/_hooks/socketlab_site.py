"""mkdocs hooks: the Labs and Notebooks sections are made from what exists.

Labs: each ``labs/NN-name/README.md`` (through the ``docs/labs`` symlink) gets
a nav entry under "Labs", in order, so the site builds with whatever labs are
written so far; the labs' code, checks and solutions stay out of the site
(``exclude_docs`` in mkdocs.yml).

Notebooks: each ``notebooks/NN-topic.py`` becomes the page
``notebooks/NN-topic.ipynb``, rendered by mkdocs-jupyter from its *executed*
copy in ``build/notebooks/`` (``$SOCKETLAB_NOTEBOOKS`` names another folder).
A copy made from the current source is used as it is (the test suite and
``python -m notebooks.execute`` write them there too); a missing or stale one is
made here first, by ``notebooks/execute.py`` (a fresh kernel, one minute at most
per cell). A notebook that fails is logged as an error, so ``mkdocs build
--strict`` fails; ``mkdocs serve`` shows its page without outputs.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import NoSuchKernel
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # notebooks/ runs from the checkout, like bench/
from notebooks import execute  # noqa: E402

log = logging.getLogger("mkdocs.hooks.socketlab_site")
# What the build renders, staged as <STAGE>/notebooks/NN-topic.ipynb (mkdocs-jupyter
# needs a real file under a source folder).
STAGE = ROOT / "build" / "site-notebooks"


def _section(nav: list[Any], title: str) -> list[Any]:
    for item in nav:
        if isinstance(item, dict) and title in item:
            return item[title]  # type: ignore[no-any-return]
    raise ValueError(f"mkdocs.yml's nav needs a {title!r} section")


def _lab_pages() -> list[str]:
    """Each lab's README (and its pictures), as paths under labs/."""
    labs = ROOT / "labs"
    return sorted(str(p.relative_to(ROOT).as_posix())
                  for pattern in ("[0-9][0-9]-*/README.md", "[0-9][0-9]-*/images/*")
                  for p in labs.glob(pattern) if p.is_file())


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    _section(config.nav, "Labs").extend(p for p in _lab_pages() if p.endswith("/README.md"))
    _section(config.nav, "Notebooks").extend(
        f"notebooks/{p.stem}.ipynb" for p in execute.sources())
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files, which claims the .ipynb pages
def on_files(files: Files, config: MkDocsConfig) -> Files:
    if not (Path(config.docs_dir) / "labs").is_dir():
        # A checkout without symlinks (Windows without core.symlinks) has a small
        # text file where docs/labs should be: take the labs from the checkout.
        for file in [f for f in files if f.src_uri == "labs"]:
            files.remove(file)
        for uri in _lab_pages():
            files.append(File(uri, src_dir=str(ROOT), dest_dir=config.site_dir,
                              use_directory_urls=config.use_directory_urls))
    executed = Path(os.environ.get("SOCKETLAB_NOTEBOOKS", execute.DEFAULT_OUT))
    (STAGE / "notebooks").mkdir(parents=True, exist_ok=True)
    for source in execute.sources():
        uri = f"notebooks/{source.stem}.ipynb"
        content = _executed(source, executed)
        partial = STAGE / f"{uri}.{os.getpid()}.part"  # another build may read the last one
        partial.write_bytes(content)
        partial.replace(STAGE / uri)
        files.append(File(uri, src_dir=str(STAGE), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    return files


def _executed(source: Path, out: Path) -> bytes:
    """The notebook of ``source`` with its outputs: its current copy, made now if need be."""
    copy = execute.executed_copy(source, out)
    if copy is None:
        log.info("%s: running it for its page (kept in %s until the source changes)",
                 source.name, out)
        try:
            copy = execute.execute(source, out).notebook
        except NoSuchKernel:
            log.error("%s: no python3 kernel to run it: pip install -e '.[docs]'", source.name)
            return nbformat.writes(execute.to_notebook(source)).encode()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            log.error("%s failed, its page has no outputs:\n%s", source.name, exc)
            return nbformat.writes(execute.to_notebook(source)).encode()
    return copy.read_bytes()


def on_serve(server: LiveReloadServer, config: MkDocsConfig, builder: Any) -> LiveReloadServer:
    # The notebooks live outside docs/: an edited one is run again and its page reloaded.
    server.watch(str(execute.HERE))
    return server
