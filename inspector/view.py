"""The side-by-side view: the bytes on the wire next to what they mean.

Left, each frame as it crossed the wire (hex and ASCII, shortened; a sealed
frame split into length, nonce, MAC and ciphertext). Right, the decoded
message, the frame's text (a connection shown as plain frames), or why it
could not be decoded. A connection shown as raw bytes is a hex dump per
chunk and direction, in order, as Wireshark's "Follow TCP Stream". Colour on
a terminal, plain text when piped, and JSON lines for notebooks and tools.

Connections interleave in time, so every frame, chunk and note starts with
its connection's tag, the client's port (``[53042]``); a heading introduces
each connection once. The tag depends on the connection alone, so a line
reads the same whatever came before it (``read --jobs N`` merges lines).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from socketlab.protocol import HEADER_SIZE

from .decode import Chunk, Decoded, Frame, Note
from .events import Connection

BYTES_PER_LINE = 8
MAX_LINES = 4
LEFT_WIDTH = 8 * 3 + 8 + 10  # label, hex, ASCII
_COLOURS = {"c2s": "36", "s2c": "35", "sealed": "33", "plain": "32", "note": "31", "dim": "2"}


def _paint(text: str, what: str, colour: bool) -> str:
    return f"\x1b[{_COLOURS[what]}m{text}\x1b[0m" if colour else text


def _ascii(chunk: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)


def hex_lines(data: bytes, label: str, max_lines: int = MAX_LINES) -> list[str]:
    """``label  hex…  |ascii|`` lines, at most ``max_lines``, then what was left out."""
    lines = []
    for i in range(0, min(len(data), BYTES_PER_LINE * max_lines), BYTES_PER_LINE):
        chunk = data[i : i + BYTES_PER_LINE]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        lines.append(f"{label if i == 0 else '':<6}{hexes:<24}|{_ascii(chunk)}|")
    shown = BYTES_PER_LINE * max_lines
    if len(data) > shown:
        lines.append(f"{'':<6}… {len(data) - shown} more bytes")
    return lines or [f"{label:<6}(empty)"]


def _wire_column(frame: Frame) -> list[str]:
    header = frame.wire[:HEADER_SIZE]
    lines = hex_lines(header, "len", 1)
    if frame.sealed is None:
        return lines + hex_lines(frame.body, "body")
    parts = frame.sealed
    if parts.direction == "?":  # not direction + counter (a random nonce): show its bytes
        lines += hex_lines(parts.nonce, "nonce", 1)
    else:
        nonce = f"{parts.nonce[:1].hex()} {'00 ' * 2}… ctr {parts.counter}"
        lines.append(f"{'nonce':<6}{nonce:<24}|{parts.direction} #{parts.counter}|")
    lines += hex_lines(parts.mac, "mac", 1)
    lines += hex_lines(parts.ciphertext, "data", 2)
    return lines


def _meaning_column(frame: Frame, width: int) -> list[str]:
    if frame.kind == "frame" and frame.text is not None:
        return _wrap(json.dumps(frame.text, ensure_ascii=False), width)
    if not frame.messages:
        return _wrap(frame.note, width)
    lines = [line for body in frame.bodies for line in _wrap(body.decode("utf-8"), width)]
    if frame.note:
        lines += _wrap(f"({frame.note})", width)
    return lines


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def conn_label(conn: Connection) -> str:
    (ch, cp), (sh, sp) = conn.client, conn.server
    return f"{ch}:{cp} ⇄ {sh}:{sp}"


def conn_tag(conn: Connection) -> str:
    """The short name every line of ``conn`` starts with: its client's port."""
    return f"[{conn.client[1]}]"


def conn_heading(conn: Connection) -> str:
    """The line that introduces a connection, once, before its first line."""
    (ch, cp), (sh, sp) = conn.client, conn.server
    return (f"═══ connection {conn_tag(conn)}: client {ch}:{cp} ⇄ server {sh}:{sp} "
            f"(its lines start with {conn_tag(conn)}, the client's port)")


_ARROWS = {"c2s": "client → server", "s2c": "server → client"}
_STATES = {"plain": "plaintext", "sealed": "encrypted", "undecodable": "undecodable"}


def render_frame(frame: Frame, *, colour: bool = False, width: int = 100) -> str:
    """One frame, side by side: wire bytes | meaning, under a title with its connection's tag."""
    arrow = _ARROWS[frame.direction]
    if frame.kind == "frame":
        state, what = "frame", "text" if frame.text is not None else "binary"
    else:
        state, what = _STATES[frame.kind], frame.label or "?"
    title = f"{conn_tag(frame.conn)} #{frame.number:<3} {arrow}  {len(frame.wire)} B  " \
            f"{state}: {what}"
    head = _paint(title, frame.direction, colour)
    left = _wire_column(frame)
    right = _meaning_column(frame, max(20, width - LEFT_WIDTH - 3))
    paint_right = "sealed" if frame.kind == "sealed" and not frame.messages else "plain"
    rows = []
    for i in range(max(len(left), len(right))):
        l_text = left[i] if i < len(left) else ""
        r_text = right[i] if i < len(right) else ""
        painted = _paint(r_text, paint_right, colour) if r_text else ""
        rows.append(f"  {l_text:<{LEFT_WIDTH}} │ {painted}")
    return "\n".join([head, *rows])


RAW_BYTES_PER_LINE = 16
RAW_MAX_LINES = 32


def render_chunk(chunk: Chunk, *, colour: bool = False) -> str:
    """Raw bytes as a hex dump with stream offsets: ``offset  hex…  |ascii|``."""
    lines = [_paint(f"{conn_tag(chunk.conn)} {_ARROWS[chunk.direction]}  {len(chunk.data)} B "
                    f"at offset {chunk.offset}  raw", chunk.direction, colour)]
    data = chunk.data
    shown = min(len(data), RAW_BYTES_PER_LINE * RAW_MAX_LINES)
    for i in range(0, shown, RAW_BYTES_PER_LINE):
        piece = data[i : i + RAW_BYTES_PER_LINE]
        hexes = " ".join(f"{b:02x}" for b in piece)
        lines.append(f"  {chunk.offset + i:08x}  {hexes:<47}  |{_ascii(piece)}|")
    if len(data) > shown:
        lines.append(f"  … {len(data) - shown} more bytes (--json has them all)")
    return "\n".join(lines)


def render_note(note: Note, *, colour: bool = False) -> str:
    """A note: ``!`` for trouble (a gap, a bad frame), ``·`` for what is only information."""
    where = f"{_ARROWS[note.direction]}: " if note.direction else ""
    if note.info:
        return f"{conn_tag(note.conn)} · {where}{note.text}"
    return _paint(f"{conn_tag(note.conn)} ! {where}{note.text}", "note", colour)


def render(items: Iterable[Decoded], *, colour: bool = False, width: int = 100,
           seen: set[Connection] | None = None) -> Iterator[str]:
    """Text blocks for frames and notes, each tagged with its connection, and a
    heading before a connection's first block.

    Pass the same ``seen`` set across calls to render a live stream piece by piece.
    """
    seen = set() if seen is None else seen
    for item in items:
        if item.conn not in seen:
            seen.add(item.conn)
            yield _paint(conn_heading(item.conn), "dim", colour)
        if isinstance(item, Frame):
            yield render_frame(item, colour=colour, width=width)
        elif isinstance(item, Chunk):
            yield render_chunk(item, colour=colour)
        else:
            yield render_note(item, colour=colour)


# A pcap of a class holds a few hundred connections and a handful of distinct
# notes, but tens of thousands of lines: their JSON is made once, then looked up.
_PREFIXES: dict[tuple[Connection, str | None], str] = {}
_NOTES: dict[str, str] = {}
_CACHE_MAX = 4096


def _prefix(conn: Connection, direction: str | None) -> str:
    prefix = _PREFIXES.get((conn, direction))
    if prefix is None:
        if len(_PREFIXES) >= _CACHE_MAX:
            _PREFIXES.clear()
        (ch, cp), (sh, sp) = conn.client, conn.server
        prefix = _PREFIXES[conn, direction] = (
            f'{{"conn":{json.dumps(conn_label(conn), ensure_ascii=False)},'
            f'"client":[{json.dumps(ch)},{cp}],"server":[{json.dumps(sh)},{sp}],'
            f'"direction":{json.dumps(direction)},"ts":'
        )
    return prefix


def _note(text: str) -> str:
    quoted = _NOTES.get(text)
    if quoted is None:
        if len(_NOTES) >= _CACHE_MAX:
            _NOTES.clear()
        quoted = _NOTES[text] = json.dumps(text, ensure_ascii=False)
    return quoted


def to_json_line(item: Decoded) -> str:
    """One frame or note as one line of JSON (``--json``): the hot path of ``read``.

    The message bodies are spliced in as they are (compact JSON that
    ``protocol/`` has already checked), and the fixed fields are formatted
    directly; only free text goes through ``json.dumps``.
    """
    line = f"{_prefix(item.conn, item.direction)}{item.ts!r}"
    if isinstance(item, Note):
        return f'{line},"note":{json.dumps(item.text, ensure_ascii=False)}}}'
    if isinstance(item, Chunk):
        return (f'{line},"kind":"raw","offset":{item.offset},"size":{len(item.data)},'
                f'"data":"{item.data.hex()}"}}')
    if item.kind == "frame":
        return (f'{line},"number":{item.number},"size":{len(item.wire)},"kind":"frame",'
                f'"wire":"{item.wire.hex()}",'
                f'"text":{json.dumps(item.text, ensure_ascii=False)},'
                f'"note":{_note(item.note)}}}')
    messages, bodies = item.messages, item.bodies
    # One message (nearly every frame) skips the joins.
    types = f'"{messages[0].TYPE}"' if len(messages) == 1 \
        else ",".join([f'"{m.TYPE}"' for m in messages])
    texts = bodies[0].decode("utf-8") if len(bodies) == 1 \
        else ",".join([body.decode("utf-8") for body in bodies])
    sealed = item.sealed
    # The nonce and MAC as protocol/ parsed them (parse_sealed), not cut from the wire here.
    parts = "" if sealed is None else (
        f',"sealed":{{"direction":"{sealed.direction}","counter":{sealed.counter},'
        f'"nonce":"{sealed.nonce.hex()}","mac":"{sealed.mac.hex()}",'
        f'"ciphertext_size":{len(sealed.ciphertext)}}}')
    return (f'{line},"number":{item.number},"size":{len(item.wire)},"kind":"{item.kind}",'
            f'"wire":"{item.wire.hex()}","types":[{types}],"note":{_note(item.note)}{parts},'
            f'"messages":[{texts}]}}')


def to_json(item: Decoded) -> dict[str, Any]:
    """The same as a dict, for notebooks and tools."""
    parsed: dict[str, Any] = json.loads(to_json_line(item))
    return parsed
