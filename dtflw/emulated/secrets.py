"""Emulated ``dbutils.secrets`` plus a ``Redactor`` that hides fetched values in text.

Databricks replaces printed secret values with ``[REDACTED]``; dtflw uses the redactor on its own
logs, errors and run history. Secret values never appear in any ``repr``.

Each registered value is also redacted in its common encodings (``secret_variants``), computed once
when the value is registered: as written by ``repr()``/``ascii()`` (either quote escaped), by
``json.dumps`` (with and without ``ensure_ascii``), HTML-escaped, URL-quoted (``quote`` with and
without ``/`` kept, ``quote_plus``, percent escapes in either case), and base64 (standard and
URL-safe, with or without ``=`` padding; values of 6+ bytes also inside longer base64 text),
whatever the value's length.
"""

from __future__ import annotations

import base64
import builtins
import html
import json
import re
import threading
import urllib.parse
from collections.abc import Mapping
from typing import NamedTuple

from dtflw.emulated import help as _help
from dtflw.emulated.errors import SecretNotFoundError
from dtflw.errors import InvalidTypeError

REDACTED = "[REDACTED]"


class SecretMetadata(NamedTuple):
    """One entry of ``dbutils.secrets.list(scope)``."""

    key: str


class SecretScope(NamedTuple):
    """One entry of ``dbutils.secrets.listScopes()``."""

    name: str

    def getName(self) -> str:
        """The scope name (Databricks' Java-style accessor)."""
        return self.name


#: Kept for callers of earlier releases: every value is now also redacted URL-quoted and as whole
#: base64 (a short secret's forms are short too, but a leak is worse than an extra mask).
MIN_ENCODED_LENGTH = 1
#: Values of at least this many bytes are also found inside longer base64 text (any alignment).
MIN_EMBEDDED_BASE64_BYTES = 6


def _quoted_forms(value: str) -> set[str]:
    """How ``value`` looks inside a Python ``repr``/``ascii`` or JSON string literal."""
    return {
        repr(value)[1:-1],
        ascii(value)[1:-1],
        # inside a repr that had to escape single quotes (the text held both kinds of quote)
        repr(value + "'\"")[1:-4],
        ascii(value + "'\"")[1:-4],
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }


def _escaped_forms(value: str) -> set[str]:
    """``value`` escaped once or twice (a repr inside a JSON log line or report cell)."""
    forms = _quoted_forms(value) | {
        repr(value.encode("utf-8"))[2:-1],
        html.escape(value),
        html.escape(value, quote=False),
    }
    for form in list(forms):
        forms |= _quoted_forms(form)
    return forms


def _url_forms(value: str) -> set[str]:
    forms = {
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
        urllib.parse.quote_plus(value, safe="/"),
    }
    return forms | {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), form) for form in forms}


def _base64_forms(value: str) -> set[str]:
    data = value.encode("utf-8")
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode("ascii")
        forms |= {whole, whole.rstrip("=")}
        if len(data) >= MIN_EMBEDDED_BASE64_BYTES:
            # Inside longer base64 text the value starts at a byte offset of 0, 1 or 2 modulo 3;
            # the characters made of its bits only are the same whatever surrounds it.
            for offset in range(3):
                encoded = encode(b"\0" * offset + data).decode("ascii")
                first = -(-offset * 8 // 6)  # first character not mixing in preceding bits
                last = (offset + len(data)) * 8 // 6  # characters made entirely of the value's bits
                forms.add(encoded[first:last])
    return forms


def secret_variants(value: str) -> set[str]:
    """``value`` and the ways it is commonly written into text (see the module docstring)."""
    if not value:
        return set()
    variants = {value} | _escaped_forms(value) | _url_forms(value) | _base64_forms(value)
    return {v for v in variants if v}


class Redactor:
    """Thread-safe set of secret values that ``redact`` replaces with ``[REDACTED]``.

    ``redact`` also replaces each value's common encodings (``secret_variants``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._variants: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"Redactor(<{len(self)} values>)"

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def register(self, value: str) -> None:
        """Remember a value to redact; empty strings are ignored (they would match everywhere)."""
        if not isinstance(value, str):
            raise InvalidTypeError(f"Secret values must be str, got {type(value).__name__}")
        if not value:
            return
        with self._lock:
            if value in self._values:
                return
        variants = secret_variants(value)  # computed once, outside the lock
        with self._lock:
            self._values.add(value)
            if not variants <= self._variants:
                self._variants |= variants
                self._pattern = None

    def redact(self, text: str) -> str:
        """``text`` with every registered value (and its encodings) replaced by ``[REDACTED]``, longest first."""
        pattern = self._compiled()
        return text if pattern is None else pattern.sub(REDACTED, text)

    def _compiled(self) -> re.Pattern[str] | None:
        """One alternation, longest first, so one pass never re-matches inside a replacement."""
        with self._lock:
            if self._pattern is None and self._variants:
                ordered = sorted(self._variants, key=lambda v: (-len(v), v))
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            return self._pattern


def _check_values(values: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Copy scope → key → value, insisting on strings (value types are named, never shown)."""
    result: dict[str, dict[str, str]] = {}
    for scope, keys in values.items():
        if not isinstance(scope, str) or not isinstance(keys, Mapping):
            raise InvalidTypeError(f"Secrets must map scope (str) to a mapping of key to value; bad scope {scope!r}")
        for key, value in keys.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidTypeError(
                    f"Secret {scope!r}/{key!r}: key and value must be str (value type {type(value).__name__})"
                )
        result[scope] = dict(keys)
    return result


def _check_names(*names: object) -> None:
    """Scopes and keys are strings (the runtime type-checks them too)."""
    for name in names:
        if not isinstance(name, str):
            raise InvalidTypeError(f"{name!r} has the wrong type - {str} is expected.")


class Secrets:
    """Emulated ``dbutils.secrets`` over an in-memory scope → key → value mapping."""

    def __init__(
        self,
        values: Mapping[str, Mapping[str, str]] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self._values = _check_values(values or {})
        self.redactor = redactor if redactor is not None else Redactor()

    def __repr__(self) -> str:
        return f"Secrets(scopes={sorted(self._values)!r})"

    def help(self, method_name: str = "") -> None:
        """Print the methods of ``dbutils.secrets`` (or one of them); returns ``None``."""
        return _help.print_help(_help.SECRETS, method_name)

    def get(self, scope: str, key: str) -> str:
        """The secret's value; it is registered with the redactor before being handed out."""
        _check_names(scope, key)
        try:
            value = self._values[scope][key]
        except KeyError:
            raise SecretNotFoundError(scope, key) from None
        self.redactor.register(value)
        return value

    def getBytes(self, scope: str, key: str) -> bytes:
        """The secret's value as UTF-8 bytes."""
        return self.get(scope, key).encode("utf-8")

    def list(self, scope: str) -> list[SecretMetadata]:
        """The keys of one scope (sorted), never their values."""
        _check_names(scope)
        try:
            keys = self._values[scope]
        except KeyError:
            raise SecretNotFoundError(scope) from None
        return [SecretMetadata(key) for key in sorted(keys)]

    def listScopes(self) -> builtins.list[SecretScope]:
        """All scopes, sorted by name."""
        return [SecretScope(name) for name in sorted(self._values)]
