"""A tiny YAML emitter for job exports: every string double-quoted and escaped, so any path,
argument or name survives a YAML parser unchanged. Standard library only."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from dtflw.errors import InvalidArgumentError

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}  # YAML 1.1 keywords
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def to_yaml(value: Mapping[str, Any]) -> str:
    """Block-style YAML for dict/list/str/int/float/bool/None; every string double-quoted."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"to_yaml needs a dict at the top, got {type(value).__name__}.")
    return "\n".join(_block(value)) + "\n" if value else "{}\n"


def _block(value: Any) -> list[str]:
    """Lines (relative indentation) of a non-empty mapping or list."""
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if _is_block(item):
                lines.append(f"{_key(key)}:")
                lines += ["  " + line for line in _block(item)]
            else:
                lines.append(f"{_key(key)}: {_scalar(item)}")
        return lines
    for item in value:
        if _is_block(item):
            first, *rest = _block(item)
            lines.append("- " + first)
            lines += ["  " + line for line in rest]
        else:
            lines.append("- " + _scalar(item))
    return lines


def _is_block(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple)) and len(value) > 0


def _key(key: Any) -> str:
    """Identifier keys stay plain (readable); anything else, or a YAML keyword, is quoted."""
    if not isinstance(key, str):
        raise InvalidArgumentError(f"YAML keys must be strings, got {type(key).__name__} {key!r}.")
    plain = _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML_WORDS
    return key if plain else _quote(key)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, (list, tuple)):
        return "[]"
    raise InvalidArgumentError(f"Cannot write {type(value).__name__} {value!r} as YAML.")


def _float(value: float) -> str:
    """A float YAML 1.1 and 1.2 both read back as the same float (mantissa always has a dot)."""
    if not math.isfinite(value):
        raise InvalidArgumentError(f"Cannot write {value!r} as YAML: not a finite number.")
    text = repr(value)
    mantissa, sep, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + sep + exponent


def _quote(text: str) -> str:
    """A double-quoted YAML scalar: escapes for quotes, backslashes, line breaks and controls."""
    return '"' + "".join(_escape(ch) for ch in text) + '"'


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    printable = (
        ch == "\t" or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000
    )
    if printable and code != 0xFEFF:
        return ch
    return f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}"
