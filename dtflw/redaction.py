"""Keeping secrets out of logs, errors, history and reports."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(
    r"(pass(word|wd)?|pwd|secret|token|credential|api[_-]?key|access[_-]?key|"
    r"account[_-]?key|sas|connection[_-]?string|conn[_-]?str)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """True for argument names that usually carry secrets (password, token, key, SAS...)."""
    return bool(_SECRET_NAME.search(name))


def redact_args(args: Mapping[str, str], dbutils: Any = None) -> dict[str, str]:
    """A copy of `args` safe to show: secret-looking names and known secret values are masked.

    Known values are those the runtime's dbutils handed out (emulated dbutils track them).
    """
    redactor = getattr(dbutils, "redactor", None)
    out = {}
    for name, value in args.items():
        if is_secret_name(name):
            out[name] = REDACTED
        elif redactor is not None and isinstance(value, str):
            out[name] = redactor.redact(value)
        else:
            out[name] = value
    return out


def redact_text(text: str, dbutils: Any = None) -> str:
    """`text` with every secret value known to the runtime's dbutils masked."""
    redactor = getattr(dbutils, "redactor", None)
    return redactor.redact(text) if redactor is not None else text
