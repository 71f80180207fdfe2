"""The proxy's recording format: JSON lines that ``socketlab read`` shows again.

UTF-8, one JSON object per line. The first line is ``{"format":
"socketlab-proxy", "version": 1}``, then one event per line, in the order the
proxy emitted them::

    {"event": "opened", "conn": C, "ts": T, "handshake": true}
    {"event": "data", "conn": C, "ts": T, "direction": "c2s", "offset": 0, "data": HEX}
    {"event": "intercepted", "conn": C, "ts": T, "direction": "s2c", "body": HEX}
    {"event": "failure", "conn": C, "ts": T, "code": "target_refused", "message": "..."}
    {"event": "tampered", "conn": C, "ts": T, "direction": "c2s", "frame_no": 3,
     "kind": "flip", "what": "..."}
    {"event": "closed", "conn": C, "ts": T, "how": "fin"}

``C`` is ``{"client": [host, port], "server": [host, port], "index": N}``,
``T`` is ``time.time()`` seconds, ``HEX`` lowercase hex; an intercepted
``body`` is the message as ``protocol.encode_message`` encodes it. The proxy
sees every byte, so there are no ``gap`` or ``conflict`` lines.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import IO, Any

from socketlab.protocol import SocketlabError, decode_message, encode_message

from .errors import RecordingError
from .events import (
    Closed,
    Connection,
    Data,
    Direction,
    Failure,
    Intercepted,
    Opened,
    Tampered,
    TamperKind,
)

log = logging.getLogger(__name__)

RECORDING_FORMAT = "socketlab-proxy"
RECORDING_VERSION = 1

ProxyEvent = Opened | Data | Intercepted | Failure | Tampered | Closed
"""What the proxy reports (it sees every byte: no ``Gap`` or ``Conflict``)."""


class RecordingWriter:
    """Writes a recording line by line, flushed, so ``read`` works on a live one.

    A write that fails (disk full) stops the recording, logged once; the
    proxy goes on.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8", newline="\n")
        self._line({"format": RECORDING_FORMAT, "version": RECORDING_VERSION})

    def write(self, event: ProxyEvent) -> None:
        self._line(event_to_json(event))

    def _line(self, obj: dict[str, Any]) -> None:
        if self._file is None:
            return
        try:
            self._file.write(json.dumps(obj, separators=(",", ":")) + "\n")
            self._file.flush()
        except OSError as exc:
            log.error("recording to %s stopped: %s", self.path, exc.strerror or exc)
            self._file.close()
            self._file = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


_EVENT_NAMES: dict[type, str] = {Opened: "opened", Data: "data", Intercepted: "intercepted",
                                 Failure: "failure", Tampered: "tampered", Closed: "closed"}
_TAMPER_KINDS: tuple[TamperKind, ...] = ("replay", "reorder", "reflect", "flip")
_CLOSE_REASONS = ("fin", "rst", "capture_end", "evicted")


def event_to_json(event: ProxyEvent) -> dict[str, Any]:
    """One recording line's object (see the module docstring)."""
    conn = event.conn
    obj: dict[str, Any] = {
        "event": _EVENT_NAMES[type(event)],
        "conn": {"client": list(conn.client), "server": list(conn.server), "index": conn.index},
        "ts": event.ts,
    }
    if isinstance(event, Opened):
        obj["handshake"] = event.handshake
    elif isinstance(event, Data):
        obj.update(direction=event.direction, offset=event.offset, data=event.data.hex())
    elif isinstance(event, Intercepted):
        obj.update(direction=event.direction, body=encode_message(event.message).hex())
    elif isinstance(event, Failure):
        obj.update(code=event.code, message=event.message)
    elif isinstance(event, Tampered):
        obj.update(direction=event.direction, frame_no=event.frame_no, kind=event.kind,
                   what=event.what)
    else:
        obj["how"] = event.how
    return obj


def read_recording(path: str | os.PathLike[str]) -> list[ProxyEvent]:
    """The events of a recording; ``RecordingError`` (with the line number) on bad
    input, ``OSError`` if the file cannot be opened."""
    events: list[ProxyEvent] = []
    header_seen = False
    with Path(path).open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except ValueError:  # also UnicodeDecodeError
                raise RecordingError("not a JSON line", line_no=line_no) from None
            except RecursionError:  # e.g. [[[[...]]]] 100,000 deep
                raise RecordingError("not a JSON line (nested too deep)", line_no=line_no) \
                    from None
            if not isinstance(obj, dict):
                raise RecordingError("expected a JSON object", line_no=line_no)
            if not header_seen:
                if obj != {"format": RECORDING_FORMAT, "version": RECORDING_VERSION}:
                    raise RecordingError(
                        f"not a {RECORDING_FORMAT} recording (version {RECORDING_VERSION}): "
                        "the first line should name the format", line_no=line_no)
                header_seen = True
                continue
            try:
                events.append(_event_from_json(obj))
            except (KeyError, TypeError, ValueError, SocketlabError) as exc:
                detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
                raise RecordingError(f"bad {obj.get('event', 'event')!r} event: {detail}",
                                     line_no=line_no) from None
    if not header_seen:
        raise RecordingError("the file is empty, not a recording", line_no=1)
    return events


def _event_from_json(obj: dict[str, Any]) -> ProxyEvent:
    conn = _conn(obj["conn"])
    ts = _number(obj["ts"], "ts")
    kind = obj["event"]
    if kind == "opened":
        return Opened(conn, ts, _bool(obj["handshake"]))
    if kind == "data":
        return Data(conn, _direction(obj["direction"]), _count(obj["offset"], "offset"),
                    bytes.fromhex(obj["data"]), ts)
    if kind == "intercepted":
        return Intercepted(conn, _direction(obj["direction"]),
                           decode_message(bytes.fromhex(obj["body"])), ts)
    if kind == "failure":
        return Failure(conn, _str(obj["code"]), _str(obj["message"]), ts)
    if kind == "tampered":
        if obj["kind"] not in _TAMPER_KINDS:
            raise ValueError(f"kind must be one of {', '.join(_TAMPER_KINDS)}")
        return Tampered(conn, _direction(obj["direction"]), _count(obj["frame_no"], "frame_no"),
                        obj["kind"], _str(obj["what"]), ts)
    if kind == "closed":
        if obj["how"] not in _CLOSE_REASONS:
            raise ValueError(f"how must be one of {', '.join(_CLOSE_REASONS)}")
        return Closed(conn, obj["how"], ts)
    raise ValueError(f"unknown event type {kind!r}")


def _conn(value: Any) -> Connection:
    def address(v: Any) -> tuple[str, int]:
        if not (isinstance(v, list) and len(v) == 2):
            raise ValueError("an address is [host, port]")
        return _str(v[0]), _count(v[1], "port")

    if not isinstance(value, dict):
        raise ValueError("conn must be an object")
    return Connection(address(value["client"]), address(value["server"]),
                      _count(value["index"], "index"))


def _direction(value: Any) -> Direction:
    if value not in ("c2s", "s2c"):
        raise ValueError("direction must be 'c2s' or 's2c'")
    return value  # type: ignore[no-any-return]


def _count(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a whole number >= 0")
    return value


def _number(value: Any, what: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f"{what} must be a number")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("handshake must be true or false")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value
