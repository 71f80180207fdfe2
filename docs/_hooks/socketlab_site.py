"""mkdocs hooks: the Labs and Notebooks sections are made from what exists.

Labs: each ``labs/NN-name/README.md`` (through the ``docs/labs`` symlink) gets
a nav entry under "Labs", in order, so the site builds with whatever labs are
written so far; the labs' code, checks and solutions stay out of the site
(``exclude_docs`` in mkdocs.yml).

Notebooks: each ``notebooks/NN-topic.py`` becomes the page
``notebooks/NN-topic.ipynb``, rendered by mkdocs-jupyter from its *executed*
copy (``python -m notebooks.execute``, or the test suite, writes them to
``build/notebooks/``; ``$SOCKETLAB_NOTEBOOKS`` names another folder). The
build never runs a notebook. One without a copy made from its current source
is shown without outputs, and the build log says so.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import nbformat
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

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
        copy = execute.executed_copy(source, executed)
        if copy is not None:
            content = copy.read_bytes()
        else:
            content = nbformat.writes(execute.to_notebook(source)).encode()
            log.info("%s: no executed copy of this source in %s, shown without outputs "
                     "(python -m notebooks.execute makes one)", source.name, executed)
        partial = STAGE / f"{uri}.{os.getpid()}.part"  # another build may read the last one
        partial.write_bytes(content)
        partial.replace(STAGE / uri)
        files.append(File(uri, src_dir=str(STAGE), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    return files
