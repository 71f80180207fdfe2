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

Languages: the i18n plugin (mkdocs-static-i18n) builds the site once per
language, English at / and Korean at /ko/, from ``page.md`` and ``page.ko.md``.
It places only pages from ``docs/``, and it cannot render notebooks (it makes
them plain files), so the notebook pages, and the labs where ``docs/labs`` is no
symlink, join the files after it, each under the language's folder. A page
shown in English in another language's edition (no translation yet) says so at
its top, in the words of that language's ``extra.untranslated`` (mkdocs.yml).
"""

from __future__ import annotations

import logging
import os
import posixpath
import sys
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import NoSuchKernel
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
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


def _extend(section: list[Any], pages: list[str]) -> None:
    # The i18n plugin builds once per language, and each build runs on_config again.
    section.extend(p for p in pages if p not in section)


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    _extend(_section(config.nav, "Labs"), [p for p in _lab_pages() if p.endswith("/README.md")])
    _extend(_section(config.nav, "Notebooks"),
            [f"notebooks/{p.stem}.ipynb" for p in execute.sources()])
    return config


class _NotebookPage(File):
    """An executed notebook: a page (mkdocs-jupyter renders it in on_pre_page)."""

    def is_documentation_page(self) -> bool:
        return True


def _languages(config: MkDocsConfig) -> tuple[str, dict[str, str]]:
    """The language being built, and each built language's folder in the site ("", "ko/")."""
    i18n: Any = config.plugins.get("i18n")
    if i18n is None:
        return "en", {"en": ""}
    folders = {lang.locale: "" if lang.default else f"{lang.locale}/"
               for lang in i18n.config.languages if lang.build}
    return str(config.theme["language"]), folders


def _add_page(files: Files, config: MkDocsConfig, kind: type[File], uri: str, src_dir: Path,
              dest_uri: str | None = None, *, translated: bool = True) -> None:
    """Add a page from outside docs/ to this language's build, linked to its other languages
    (``translated=False``: its text is the default language's, and on_page_markdown says so)."""
    current, folders = _languages(config)
    plain = kind(uri, src_dir=str(src_dir), dest_dir=config.site_dir,
                 use_directory_urls=config.use_directory_urls, dest_uri=dest_uri)
    versions = {lang: kind(uri, src_dir=str(src_dir), dest_dir=config.site_dir,
                           use_directory_urls=config.use_directory_urls,
                           dest_uri=folder + plain.dest_uri)
                for lang, folder in folders.items()}
    page = versions.get(current, plain)
    # What the i18n plugin reads to point the language switch at this page's other versions.
    page.alternates = versions  # type: ignore[attr-defined]
    page.locale_alternate_of = current  # type: ignore[attr-defined]
    default = next(lang for lang, folder in folders.items() if not folder)
    page.locale = current if translated else default  # type: ignore[attr-defined]
    files.append(page)


def _labs_from_checkout(files: Files, config: MkDocsConfig) -> None:
    """docs/labs is a small text file (Windows without core.symlinks): the labs from ROOT."""
    for file in [f for f in files if f.src_uri == "labs"]:
        files.remove(file)
    current, _ = _languages(config)
    for uri in _lab_pages():
        if not uri.endswith("/README.md"):  # a picture: one copy serves every language
            files.append(File(uri, src_dir=str(ROOT), dest_dir=config.site_dir,
                              use_directory_urls=config.use_directory_urls))
            continue
        translation = uri.replace("/README.md", f"/README.{current}.md")
        translated = (ROOT / translation).is_file()
        _add_page(files, config, File, translation if translated else uri, ROOT,
                  dest_uri=uri.replace("/README.md", "/index.html"), translated=translated)


@event_priority(-110)  # after the i18n plugin's on_files (-100): see the module's docstring
def on_files(files: Files, config: MkDocsConfig) -> Files:
    if not (Path(config.docs_dir) / "labs").is_dir():
        _labs_from_checkout(files, config)
    executed = Path(os.environ.get("SOCKETLAB_NOTEBOOKS", execute.DEFAULT_OUT))
    (STAGE / "notebooks").mkdir(parents=True, exist_ok=True)
    for source in execute.sources():
        uri = f"notebooks/{source.stem}.ipynb"
        content = _executed(source, executed)
        if not (STAGE / uri).is_file() or (STAGE / uri).read_bytes() != content:
            partial = STAGE / f"{uri}.{os.getpid()}.part"  # another build may read the last one
            partial.write_bytes(content)
            partial.replace(STAGE / uri)
        _add_page(files, config, _NotebookPage, uri, STAGE)
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    note = config.extra.get("untranslated")
    current, _ = _languages(config)
    if not note or getattr(page.file, "locale", current) == current:
        return markdown
    glossary = posixpath.relpath("glossary.md", posixpath.dirname(page.file.src_uri) or ".")
    banner = f'!!! info "{note["title"]}"\n    {note["text"].format(glossary=glossary)}\n'
    title, newline, rest = markdown.partition("\n")
    if title.startswith("# "):  # under the page's title, which stays the first heading
        return f"{title}\n\n{banner}{newline}{rest}"
    return f"{banner}\n{markdown}"


@event_priority(0)  # after the i18n plugin's on_page_context (50), which sets the switch's links
def on_page_context(context: dict[str, Any], page: Page, config: MkDocsConfig,
                    nav: Any) -> dict[str, Any]:
    # On a home page it leaves them absolute ("/ko/"), which miss a site served from a
    # subfolder or opened as files: make them relative, like the links on other pages.
    _, folders = _languages(config)
    # The plugin sets them as an attribute of config.extra, which the theme reads first.
    for alternate in getattr(config.extra, "alternate", None) or config.extra.get("alternate", []):
        folder = folders.get(alternate.get("lang", ""))
        if folder is not None and alternate.get("link") == f"/{folder}":
            alternate["link"] = folder or "./"
    return context


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
