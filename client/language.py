"""The client's words in the user's language (see socketlab.i18n): ``_`` looks each
text up in ``locale/ko.po`` when Korean is chosen, and falls back to English."""

from __future__ import annotations

from pathlib import Path

from socketlab.i18n import N_, Catalog

CATALOG = Catalog(Path(__file__).resolve().parent / "locale")
_ = CATALOG.gettext

__all__ = ["CATALOG", "N_", "_"]
