"""Emulated ``dbutils.secrets`` plus a ``Redactor`` that hides fetched values in text.

Databricks replaces printed secret values with ``[REDACTED]``; dtflw uses the redactor on its own
logs, errors and run history. Secret values never appear in any ``repr``.
"""

from __future__ import annotations

import builtins
import re
import threading
from collections.abc import Mapping
from typing import NamedTuple

from dtflw.emulated.errors import SecretNotFoundError

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


class Redactor:
    """Thread-safe set of secret values that ``redact`` replaces with ``[REDACTED]``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"Redactor(<{len(self)} values>)"

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def register(self, value: str) -> None:
        """Remember a value to redact; empty strings are ignored (they would match everywhere)."""
        if not isinstance(value, str):
            raise TypeError(f"Secret values must be str, got {type(value).__name__}")
        if not value:
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def redact(self, text: str) -> str:
        """``text`` with every registered value replaced by ``[REDACTED]``, longest first."""
        pattern = self._compiled()
        return text if pattern is None else pattern.sub(REDACTED, text)

    def _compiled(self) -> re.Pattern[str] | None:
        """One alternation, longest first, so one pass never re-matches inside a replacement."""
        with self._lock:
            if self._pattern is None and self._values:
                ordered = sorted(self._values, key=lambda v: (-len(v), v))
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            return self._pattern


def _check_values(values: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Copy scope → key → value, insisting on strings (value types are named, never shown)."""
    result: dict[str, dict[str, str]] = {}
    for scope, keys in values.items():
        if not isinstance(scope, str) or not isinstance(keys, Mapping):
            raise TypeError(f"Secrets must map scope (str) to a mapping of key to value; bad scope {scope!r}")
        for key, value in keys.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(
                    f"Secret {scope!r}/{key!r}: key and value must be str (value type {type(value).__name__})"
                )
        result[scope] = dict(keys)
    return result


def _check_names(*names: object) -> None:
    """Scopes and keys are strings (the runtime type-checks them too)."""
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{name!r} has the wrong type - {str} is expected.")


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
