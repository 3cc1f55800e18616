"""Finding secret values in text, for tests that prove nothing leaks.

    assert not leaked_forms(secret, captured_stdout + caplog.text)

`secret_forms` lists the common ways a value ends up in output: as is, inside a `repr()` /
`ascii()`, JSON-escaped, URL-quoted and base64-encoded. It is computed here independently of
dtflw's redactor, so a test using it checks the redactor rather than repeating it.
"""

from __future__ import annotations

import base64
import json
import urllib.parse


def secret_forms(value: str) -> list[str]:
    """`value` in its common encodings (the inner part of quoted forms, base64 without padding)."""
    data = value.encode("utf-8")
    forms = [
        value,
        repr(value)[1:-1],
        ascii(value)[1:-1],
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        base64.b64encode(data).decode().rstrip("="),
        base64.urlsafe_b64encode(data).decode().rstrip("="),
    ]
    return list(dict.fromkeys(forms))


def leaked_forms(value: str, text: str) -> list[str]:
    """The forms of `value` that occur in `text` ([] when none does)."""
    return [form for form in secret_forms(value) if form in text]


__all__ = ["leaked_forms", "secret_forms"]
