"""The report's frames as HTML: one table per connection, the wire beside the meaning.

Connections interleave frame by frame in a capture, so the report never
prints frames in one stream under changing headings: each connection gets its
own heading (its user's name once the login is seen, its addresses, how it
spoke) and its own table, numbered 1, 2, … in the order its frames crossed.
Left, the bytes on the wire, taken apart (``len``, ``nonce``, ``mac``,
``data``); right, what they mean, styled apart so decrypted text never looks
as if it travelled in the clear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from socketlab.protocol import HEADER_SIZE, Hello, SealedParts

from .decode import Chunk, Decoded, Frame, Note
from .events import Connection

WIRE_COLUMN = "on the wire"
MEANING_COLUMN = "what it means, decrypted with the key log"
_HEX_BYTES = 8  # bytes of hex per line: enough to see the pattern, short enough to read
_TEXT_CHARS = 28  # characters of a plaintext body shown on the wire side


def address(conn: Connection) -> str:
    (ch, cp), (sh, sp) = conn.client, conn.server
    return f"{ch}:{cp} ⇄ {sh}:{sp}"


def connection_title(conn: Connection, names: dict[Connection, str]) -> str:
    """A connection as people call it: its user, else its client's address."""
    name = names.get(conn)
    return name if name is not None else f"client {conn.client[0]}:{conn.client[1]}"


def frames_html(items: Sequence[Decoded], names: dict[Connection, str],
                refused: dict[Connection, str], only: Sequence[Frame] | None = None) -> str:
    """HTML for ``items`` (or just the frames in ``only``), grouped by connection."""
    t0 = min((item.ts for item in items), default=0.0)
    picked = None if only is None else {id(frame) for frame in only}
    by_conn: dict[Connection, list[tuple[int | None, Decoded]]] = {}
    numbers: dict[Connection, int] = {}
    for item in items:
        number = None
        if isinstance(item, Frame):
            number = numbers[item.conn] = numbers.get(item.conn, 0) + 1
        rows = by_conn.setdefault(item.conn, [])
        if picked is None or id(item) in picked:
            rows.append((number, item))
    blocks = []
    for conn, rows in by_conn.items():
        if rows:
            blocks.append(_connection(conn, rows, names, refused, session_mode(items, conn), t0,
                                      numbers.get(conn, 0)))
    return "\n".join(blocks) or "<p>No frames were captured.</p>"


def session_mode(items: Iterable[Decoded], conn: Connection) -> str:
    """How a connection spoke: its hello's mode, else what its frames show."""
    sealed = False
    for item in items:
        if isinstance(item, Frame) and item.conn == conn:
            for msg in item.messages:
                if isinstance(msg, Hello):
                    return msg.mode
            sealed = sealed or item.kind == "sealed"
    return "box" if sealed else ""


def _connection(conn: Connection, rows: list[tuple[int | None, Decoded]],
                names: dict[Connection, str], refused: dict[Connection, str], mode: str,
                t0: float, total: int) -> str:
    tags = []
    if mode == "box":
        tags.append('<span class="tag sealed">encrypted session</span>')
    elif mode == "plain":
        tags.append('<span class="tag plain">PLAINTEXT session</span>')
    if conn in refused:
        tags.append(f'<span class="tag refused">login refused: {escape(refused[conn])}</span>')
    title = connection_title(conn, names)
    head = (f'<h3 class="conn">{escape(title)} <span class="addr">{escape(address(conn))}, '
            f'{total} frame{"s" if total != 1 else ""}</span> {" ".join(tags)}</h3>')
    user = names.get(conn, "client")
    body = "\n".join(_row(number, item, user, t0) for number, item in rows)
    return (f'{head}\n<table class="frames" data-conn="{escape(title)}">'
            '<colgroup><col class="n"><col class="t"><col class="d"><col class="w"><col></colgroup>'
            f'<thead><tr><th>#</th><th>time</th><th>from → to</th><th>{WIRE_COLUMN}</th>'
            f"<th>{escape(MEANING_COLUMN)}</th></tr></thead>\n<tbody>\n{body}\n</tbody></table>")


def _arrow(direction: str | None, user: str) -> str:
    if direction is None:
        return ""
    return f"{user} → server" if direction == "c2s" else f"server → {user}"


def _row(number: int | None, item: Decoded, user: str, t0: float) -> str:
    when = f"{item.ts - t0:.3f} s"
    if isinstance(item, Note):
        return (f'<tr class="note"><td></td><td>{when}</td>'
                f"<td>{escape(_arrow(item.direction, user))}</td>"
                f'<td colspan="2">note: {escape(item.text)}</td></tr>')
    if isinstance(item, Chunk):
        wire = "\n".join(_hex_lines("raw", item.data, 4))
        meaning = (f'<span class="how">{len(item.data)} raw bytes at offset {item.offset} '
                   "(not length-prefixed frames)</span>")
        return (f"<tr><td></td><td>{when}</td><td>{escape(_arrow(item.direction, user))}</td>"
                f'<td class="wire">{escape(wire)}</td><td class="meaning">{meaning}</td></tr>')
    meaning_class, meaning = _meaning(item)
    return (f'<tr data-number="{number}"><td>{number}</td><td>{when}</td>'
            f"<td>{escape(_arrow(item.direction, user))}<br>{len(item.wire)} B</td>"
            f'<td class="wire">{escape(_wire(item))}</td>'
            f'<td class="meaning {meaning_class}">{meaning}</td></tr>')


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data)


def _hex_lines(label: str, data: bytes, max_lines: int = 1) -> list[str]:
    lines = [f"{label if i == 0 else '':<6}{_hex(data[i:i + _HEX_BYTES])}"
             for i in range(0, min(len(data), _HEX_BYTES * max_lines), _HEX_BYTES)]
    if len(data) > _HEX_BYTES * max_lines:
        lines[-1] += f" … ({len(data)} B)"
    return lines or [f"{label:<6}(empty)"]


def _wire(frame: Frame) -> str:
    header = frame.wire[:HEADER_SIZE]
    lines = [f"{'len':<6}{_hex(header)}  = {int.from_bytes(header, 'big')} bytes follow"]
    if frame.sealed is not None:
        lines += _sealed_lines(frame.sealed)
    elif frame.body and all(32 <= b < 127 for b in frame.body):
        text = frame.body.decode("ascii")
        cut = f"… ({len(frame.body)} B)" if len(text) > _TEXT_CHARS else ""
        lines.append(f"{'body':<6}{text[:_TEXT_CHARS]}{cut}")
    else:
        lines += _hex_lines("body", frame.body)
    return "\n".join(lines)


def _sealed_lines(parts: SealedParts) -> list[str]:
    if parts.direction == "?":  # a nonce not laid out as direction + counter
        nonce = _hex_lines("nonce", parts.nonce)
    else:
        nonce = [f"{'nonce':<6}{parts.nonce[0]:02x} + 00×15 + ctr {parts.counter}"
                 f"  ({parts.nonce[:1].decode('ascii')}: from the {parts.direction})"]
    return [*nonce, *_hex_lines("mac", parts.mac), *_hex_lines("data", parts.ciphertext)]


def _meaning(frame: Frame) -> tuple[str, str]:
    """(CSS class, HTML) of the meaning column."""
    if frame.kind == "frame":
        text = frame.text if frame.text is not None else "(binary, not UTF-8 text)"
        return "plain", f'<span class="how">a frame\'s text</span><pre>{escape(text)}</pre>'
    if not frame.messages:
        return "closed", f'<span class="how">{escape(frame.note or "not decoded")}</span>'
    bodies = "".join(f"<pre>{escape(body.decode('utf-8'))}</pre>" for body in frame.bodies)
    if frame.kind == "sealed":
        how = frame.note or "decrypted with the key log"
        return "decrypted", f'<span class="how">{escape(how)}:</span>{bodies}'
    how = "sent in plaintext: these very bytes crossed the wire"
    if frame.note:
        how += f"; {frame.note}"
    return "plain", f'<span class="how">{escape(how)}</span>{bodies}'
