"""JSON parsing that refuses what Python's ``json`` lets through.

``json.loads`` accepts NaN and Infinity, keeps the last of duplicate keys,
parses lone surrogates ("\\ud800") that later fail to encode, and raises
RecursionError on deep nesting. A protocol decoder must turn all of these
into its own error, so each is guarded here.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import ProtocolError

MAX_DEPTH = 8


def _no_constants(name: str) -> Any:
    raise ProtocolError("bad_json", f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # "1e999" parses to inf
        raise ProtocolError("bad_json", f"{text} is out of range")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ProtocolError("bad_json", f"duplicate key {key!r}")
        result[key] = value
    return result


def _nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside strings; linear, so no recursion risk."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _check_strings(value: Any) -> None:
    """Refuse lone surrogates anywhere (keys and values): they cannot be UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ProtocolError("bad_json", "a string holds a lone surrogate") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


# One decoder for every call: json.loads with hooks would build a new one each time.
_DECODER = json.JSONDecoder(
    parse_constant=_no_constants, parse_float=_finite_float, object_pairs_hook=_no_duplicates
)


def loads_object(body: bytes) -> dict[str, Any]:
    """Parse ``body`` as one UTF-8 JSON object, strictly."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError("bad_json", f"the body is not UTF-8 ({exc.reason})") from None
    # The cheap count rules out deep nesting for almost every real message.
    if text.count("[") + text.count("{") > MAX_DEPTH and _nesting_depth(text) > MAX_DEPTH:
        raise ProtocolError("bad_json", f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        value = _DECODER.decode(text)
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise ProtocolError("bad_json", f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ProtocolError("bad_json", "the body must be a JSON object")
    # Valid UTF-8 cannot hold a surrogate, so one can only come from a \u escape.
    if "\\u" in text:
        _check_strings(value)
    return value


def dumps(obj: dict[str, Any]) -> bytes:
    """Compact, deterministic UTF-8 JSON (what the known-answer vectors pin down)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )
