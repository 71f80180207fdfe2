"""Look of the Tk client: theme, fonts, colours and the chat log's text tags.

Kept apart from the widgets so a student can restyle the window without
reading any threading code.
"""

from __future__ import annotations

import logging
import sys
import tkinter as tk
import tkinter.font as tkfont
from collections.abc import Iterable
from functools import cache
from tkinter import ttk
from typing import Any

from socketlab.i18n import KOREAN, language

from .language import N_, _

log = logging.getLogger(__name__)

# The log's line kinds; gui_window tags every line with one of these.
OWN = "own"
OTHER = "other"
WHISPER_IN = "whisper_in"  # a whisper the server could read (transport-encrypted only)
WHISPER_OUT = "whisper_out"
E2E_IN = "e2e_in"  # an end-to-end whisper, its sender's identity checked
E2E_OUT = "e2e_out"
E2E_WARN = "e2e_warn"  # end to end, from an identity other than the pinned one
SYSTEM = "system"
ERROR = "error"
TIME = "time"
NICK = "nick"  # a sender's name, over the line's own tag
LINE_TAGS = (OWN, OTHER, WHISPER_IN, WHISPER_OUT, E2E_IN, E2E_OUT, E2E_WARN, SYSTEM, ERROR)

# Status bar texts, shown through _() (the Korean is in locale/ko.po).
CIPHER = N_("encrypted (X25519 + XSalsa20-Poly1305)")
PLAINTEXT = N_("PLAINTEXT")

BG = "#f4f5f7"
BORDER = "#c8ccd2"
LOG_BG = "#ffffff"
TEXT = "#1f2328"
MUTED = "#6b7280"
ACCENT = "#2563eb"
OK_FG = "#166534"
WARN_FG = "#7c2d12"
WARN_BG = "#fde68a"
ERROR_FG = "#b91c1c"
WHISPER_FG = "#7e22ce"
WHISPER_BG = "#f6f0ff"
E2E_FG = "#14532d"
E2E_BG = "#e8f7ee"
CHANGED_BG = "#ffedd5"

# The padlock drawn before an end-to-end whisper (a bitmap: no font here has U+1F512).
LOCK = "lock"
_LOCK_ROWS = (
    "...######...",
    "..##....##..",
    ".##......##.",
    ".##......##.",
    ".##......##.",
    "############",
    "############",
    "#####..#####",
    "#####..#####",
    "######.#####",
    "######.#####",
    "############",
    "############",
)

# Per tag: foreground, background (None: the log's own) and font variant.
_TAG_LOOK: dict[str, tuple[str, str | None, str]] = {
    TIME: (MUTED, None, "mono"),
    OWN: (ACCENT, None, "normal"),
    OTHER: (TEXT, None, "normal"),
    WHISPER_IN: (WHISPER_FG, WHISPER_BG, "italic"),
    WHISPER_OUT: ("#9333ea", WHISPER_BG, "italic"),
    E2E_IN: (E2E_FG, E2E_BG, "normal"),
    E2E_OUT: (OK_FG, E2E_BG, "normal"),
    E2E_WARN: (WARN_FG, CHANGED_BG, "bold"),
    SYSTEM: (MUTED, None, "italic"),
    ERROR: (ERROR_FG, None, "bold"),
}


def _xbm(rows: tuple[str, ...]) -> str:
    """An X bitmap of ``rows`` ("#" set): each row's bytes hold pixels LSB first."""
    width = len(rows[0])
    data = []
    for row in rows:
        for start in range(0, width, 8):
            chunk = row[start : start + 8]
            data.append(sum(1 << bit for bit, pixel in enumerate(chunk) if pixel == "#"))
    values = ", ".join(f"0x{byte:02x}" for byte in data)
    return (
        f"#define icon_width {width}\n#define icon_height {len(rows)}\n"
        f"static unsigned char icon_bits[] = {{ {values} }};"
    )


def log_icons(master: tk.Misc) -> dict[str, tk.BitmapImage]:
    """The images the chat log shows in front of some lines (keep a reference to them)."""
    return {LOCK: tk.BitmapImage(master=master, data=_xbm(_LOCK_ROWS), foreground=OK_FG)}


# Font families that have Hangul, best first: Linux's fonts-noto-cjk and fonts-nanum,
# then what Windows and macOS ship. Without one, Hangul shows as empty boxes.
HANGUL_FAMILIES = (
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Source Han Sans KR",
    "NanumGothic",
    "NanumBarunGothic",
    "Malgun Gothic",
    "맑은 고딕",
    "Apple SD Gothic Neo",
    "AppleGothic",
)
HANGUL_MONO_FAMILIES = ("Noto Sans Mono CJK KR", "NanumGothicCoding", "D2Coding")
FONT_ADVICE = N_(
    "no font with Hangul found: Korean text shows as empty boxes. Install one, "
    "e.g. sudo apt-get install fonts-noto-cjk (or fonts-nanum) on Debian/Ubuntu"
)


def pick_family(available: Iterable[str], wanted: Iterable[str]) -> str | None:
    """The first of ``wanted`` among the ``available`` families (as Tk spells it), if any."""
    spelled = {family.casefold(): family for family in available}
    return next((spelled[w.casefold()] for w in wanted if w.casefold() in spelled), None)


@cache
def _advise_font() -> None:
    """Say once per run which font to install; loudly when the window speaks Korean."""
    log.log(logging.WARNING if language() == KOREAN else logging.INFO, _(FONT_ADVICE))


def _use_hangul_fonts(root: tk.Tk) -> None:
    """Switch Tk's named fonts to a family with Hangul when one is installed."""
    families = tkfont.families(root)
    family = pick_family(families, HANGUL_FAMILIES)
    if family is None:
        _advise_font()
        return
    for name in ("TkDefaultFont", "TkTextFont", "TkMenuFont", "TkHeadingFont", "TkTooltipFont"):
        tkfont.nametofont(name, root=root).configure(family=family)
    mono = pick_family(families, HANGUL_MONO_FAMILIES)
    if mono is not None:
        tkfont.nametofont("TkFixedFont", root=root).configure(family=mono)


def _pick_theme(style: ttk.Style) -> None:
    # Native themes on Windows and macOS; "clam" is the cleanest built-in on X11.
    preferred = {"win32": "vista", "darwin": "aqua"}.get(sys.platform, "clam")
    if preferred in style.theme_names():
        style.theme_use(preferred)


def apply_theme(root: tk.Tk) -> dict[str, tkfont.Font]:
    """Set theme, fonts and ttk styles on ``root``; return the fonts the widgets use."""
    style = ttk.Style(root)
    _pick_theme(style)
    _use_hangul_fonts(root)
    base = tkfont.nametofont("TkDefaultFont", root=root)
    if sys.platform.startswith("linux"):
        base.configure(size=10)
        tkfont.nametofont("TkTextFont", root=root).configure(size=10)
    family, size = base.actual("family"), base.actual("size")
    mono_family = tkfont.nametofont("TkFixedFont", root=root).actual("family")
    fonts = {
        "normal": tkfont.Font(root=root, family=family, size=size + 1),
        "bold": tkfont.Font(root=root, family=family, size=size + 1, weight="bold"),
        "italic": tkfont.Font(root=root, family=family, size=size + 1, slant="italic"),
        "mono": tkfont.Font(root=root, family=mono_family, size=size - 1),
        "title": tkfont.Font(root=root, family=family, size=size + 4, weight="bold"),
        "small": tkfont.Font(root=root, family=family, size=size - 1),
    }
    if style.theme_use() == "clam":
        root.configure(background=BG)
        style.configure(".", background=BG)
        style.configure("TEntry", padding=4)
        style.configure("TButton", padding=(10, 4))
        style.configure("Treeview", rowheight=int(fonts["normal"].metrics("linespace") * 1.5))
    style.configure("Title.TLabel", font=fonts["title"])
    style.configure("Muted.TLabel", foreground=MUTED, font=fonts["small"])
    style.configure("Message.TLabel", foreground=ERROR_FG)
    style.configure("Busy.TLabel", foreground=MUTED)
    style.configure("Status.TLabel", padding=(4, 2))
    style.configure("Ok.Status.TLabel", foreground=OK_FG)
    style.configure(
        "Warn.Status.TLabel", foreground=WARN_FG, background=WARN_BG, font=fonts["bold"]
    )
    style.configure("Fingerprint.Status.TLabel", foreground=MUTED, font=fonts["mono"])
    style.configure("E2E.Status.TLabel", foreground=OK_FG, font=fonts["mono"])
    style.configure(
        "Changed.Status.TLabel", foreground=WARN_FG, background=WARN_BG, font=fonts["mono"]
    )
    style.configure("Heading.TLabel", font=fonts["bold"])
    style.configure("Warning.TLabel", foreground=WARN_FG, font=fonts["title"])
    style.configure("Fingerprint.TLabel", font=fonts["mono"])
    return fonts


def configure_log_tags(text: tk.Text, fonts: dict[str, tkfont.Font]) -> None:
    """Give the chat log one distinct look per line kind."""
    text.configure(
        background=LOG_BG,
        foreground=TEXT,
        font=fonts["normal"],
        selectbackground="#cfe0ff",
        selectforeground=TEXT,
        inactiveselectbackground="#dfe7f5",
        highlightbackground=BORDER,
        highlightcolor=BORDER,
    )
    # Wrapped lines of a message start under its text, not under its timestamp.
    indent = fonts["mono"].measure("00:00:00 ") + 4
    for tag, (fg, bg, variant) in _TAG_LOOK.items():
        options: dict[str, Any] = {"foreground": fg, "font": fonts[variant], "lmargin2": indent}
        if bg is not None:
            options["background"] = bg
        text.tag_configure(tag, **options)
    text.tag_configure(NICK, font=fonts["bold"])
    # Raised over the line tags: their font wins, while the line's colour and
    # whisper band (set only by the line tag) still show.
    text.tag_raise(TIME)
    text.tag_raise(NICK)
