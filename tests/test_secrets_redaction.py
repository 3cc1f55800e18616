"""The redaction rules themselves: encoded secret values, secret names and values, exception chains."""

from __future__ import annotations

import base64
import html
import json
import re
import traceback
import urllib.parse

import pytest

from dtflw.emulated.secrets import Redactor, secret_variants
from dtflw.redaction import (
    REDACTED,
    RedactedError,
    is_secret_name,
    looks_secret_value,
    mask_secret_patterns,
    redact_args,
    redact_exception,
)
from dtflw.testing.secrets import leaked_forms

SECRET = "K3y\"w0rd'/p@ss+é&<x>\\n"


def _encodings(value: str) -> dict[str, str]:
    """Ways a value is commonly written into text, computed here independently of dtflw."""
    data = value.encode("utf-8")
    return {
        "raw": value,
        "repr": repr(value),
        "ascii": ascii(value),
        "repr_in_dict": repr({"k": value, "q": "'\""}),
        "format_r": f"{value!r}",
        "key_error": str(KeyError(value)),
        "json": json.dumps(value),
        "json_unicode": json.dumps({"v": value}, ensure_ascii=False),
        "json_of_repr": json.dumps(repr(value)),
        "html": html.escape(value),
        "url_quote": urllib.parse.quote(value, safe=""),
        "url_quote_path": urllib.parse.quote(value),
        "url_quote_plus": urllib.parse.quote_plus(value),
        "url_lower_hex": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(value, safe="")),
        "base64": base64.b64encode(data).decode(),
        "base64_nopad": base64.b64encode(data).decode().rstrip("="),
        "base64_urlsafe": base64.urlsafe_b64encode(data).decode(),
        "base64_urlsafe_nopad": base64.urlsafe_b64encode(data).decode().rstrip("="),
        "base64_embedded": base64.b64encode(b"user:" + data + b"!").decode(),
        "bytes_repr": repr(data),
    }


@pytest.mark.parametrize("encoding", list(_encodings(SECRET)))
def test_redactor_hides_every_common_encoding(encoding: str) -> None:
    redactor = Redactor()
    redactor.register(SECRET)
    text = f"before {_encodings(SECRET)[encoding]} after"
    redacted = redactor.redact(text)
    assert REDACTED in redacted
    assert redacted.startswith("before ") and redacted.endswith(" after")
    assert not leaked_forms(SECRET, redacted)
    if encoding == "base64_embedded":  # only the few characters mixing in "user:" and "!" are left
        assert len(redacted.split()[1].replace(REDACTED, "")) <= 12


def test_redactor_variants_are_computed_once_and_short_values_are_masked_in_every_encoding() -> None:
    redactor = Redactor()
    redactor.register("abc")
    assert redactor.redact("abc YWJj") == f"{REDACTED} {REDACTED}"  # a leak is worse than an extra mask
    for short, encoded in (("9!x", "9%21x"), ("9!x", "OSF4"), ("ab", "YWI="), ("Z", "Wg=="), ("p w", "p+w")):
        one = Redactor()
        one.register(short)
        assert one.redact(f"got {encoded}.") == f"got {REDACTED}.", (short, encoded)
    redactor.register("abc")
    assert len(redactor) == 1
    assert secret_variants("") == set()
    assert "hunter22" in secret_variants("hunter22") and "aHVudGVyMjI=" in secret_variants("hunter22")
    assert "hunter22" not in repr(redactor)


@pytest.mark.parametrize(
    "name",
    [
        "key",
        "private_key",
        "storage_key",
        "storage-key",
        "storageKey",
        "STORAGE_KEY",
        "api_key",
        "apiKey",
        "access_keys",
        "password",
        "db_password",
        "passwd",
        "pwd",
        "db-pass",
        "client_secret",
        "secrets",
        "sas",
        "sas_url",
        "sig",
        "token",
        "refresh_token",
        "credential",
        "azure_credentials",
        "connection_string",
        "connectionString",
        "conn_str",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["year", "monkey", "keyboard", "key_date", "key_column_name", "compass", "passenger", "kansas", "turkey", "table"],
)
def test_innocent_names(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("value", "kept", "hidden"),
    [
        ("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFy==;EndpointSuffix=x", "acct", "Zm9vYmFy"),
        ("https://a.blob.core.windows.net/c?sv=2022-11-02&ss=b&sig=abc%2Fdef", "sv=2022-11-02", "abc%2Fdef"),
        ("sv=2022-11-02&se=2030&sig=XyZ123", "se=2030", "XyZ123"),
        ("BlobEndpoint=x;SharedAccessSignature=sv=1&sig=QQQ", "BlobEndpoint=x", "sv=1&sig=QQQ"),
        ("Endpoint=sb://ns/;SharedAccessKeyName=r;SharedAccessKey=kKkK", "SharedAccessKeyName=r", "kKkK"),
        ("Server=db;Uid=me;Pwd=pw-123;", "Uid=me", "pw-123"),
        ("jdbc:sqlserver://db;user=me;password=pw-456", "user=me", "pw-456"),
        ("postgresql://me:pw-789@db:5432/x", "postgresql://me:", "pw-789"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "", "eyJzdWIiOiIxIn0"),
    ],
)
def test_credential_shaped_values(value: str, kept: str, hidden: str) -> None:
    assert looks_secret_value(value)
    masked = mask_secret_patterns(f"connecting with {value!r}")
    assert hidden not in masked and kept in masked and REDACTED in masked
    assert redact_args({"target": value}) == {"target": REDACTED}


@pytest.mark.parametrize("value", ["2022", "dbfs:/mnt/x", "https://example.com/a?b=c", "a=b;c=d", "user@example.com"])
def test_plain_values_are_kept(value: str) -> None:
    assert not looks_secret_value(value)
    assert mask_secret_patterns(value) == value
    assert redact_args({"x": value, "key": value}) == {"x": value, "key": REDACTED}


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__]
    return seen


_HIDDEN: dict[int, str] = {}


class _Opaque(Exception):
    """An exception whose text comes from hidden state (not args): it cannot be redacted in place."""

    def __init__(self, hidden: str) -> None:
        super().__init__()
        _HIDDEN[id(self)] = hidden

    def __str__(self) -> str:
        return f"opaque {_HIDDEN[id(self)]}"


def test_redact_exception_cleans_the_whole_chain_and_keeps_clean_ones() -> None:
    redactor = Redactor()
    redactor.register(SECRET)
    clean = ValueError("nothing secret")
    assert redact_exception(clean, redactor.redact) is clean

    try:
        try:
            try:
                raise _Opaque(SECRET)
            except _Opaque as inner:
                raise KeyError(SECRET) from inner
        except KeyError:
            error = RuntimeError(f"wrapped {SECRET!r}")
            error.add_note(f"note {json.dumps(SECRET)}")
            raise error  # noqa: B904 - the implicit __context__ is what is tested
    except RuntimeError as caught:
        top = caught
    result = redact_exception(top, redactor.redact)
    assert result is top  # redacted in place: other references to it are clean too
    chain = _chain(result)
    assert [type(e) for e in chain] == [RuntimeError, KeyError, RedactedError]
    assert chain[2].original_type == "_Opaque"  # type: ignore[attr-defined]
    text = "".join(traceback.format_exception(result)) + "".join(repr(e) + str(e.args) for e in chain)
    assert not leaked_forms(SECRET, text)
    assert "wrapped '[REDACTED]'" in text and "_Opaque" in text


def test_the_quick_tests_never_skip_what_the_full_rules_catch() -> None:
    """`is_secret_name` and the value patterns start with a cheap test; it must be only a shortcut."""
    import random
    import string

    from dtflw import redaction

    rng = random.Random(5)
    pieces = ["pass", "Word", "pw", "d", "to", "ken", "key", "Keys", "storage", "sas", "sig", "conn", "str", "cred",
              "ential", "api", "secret", "_", "-", ".", "=", "@", "://", "eyJ", "x", "AccountKey", "Pwd", " ", ";",
              "sig=", "user:pw@host", "é", "1"]  # fmt: skip
    samples = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(5000)]
    samples += ["".join(rng.choice(string.printable) for _ in range(rng.randint(1, 30))) for _ in range(2000)]
    for text in samples:
        words = redaction._words(text)
        joined = "".join(words)
        slow_name = bool(words) and (
            any(f in joined for f in redaction._FRAGMENTS)
            or any(w in redaction._WORDS for w in words)
            or words[-1] in ("key", "keys")
            or words[-1].endswith(redaction._KEY_COMPOUNDS)
        )
        assert redaction.is_secret_name(text) == slow_name, text
        slow_value = any(p.search(text) for p in redaction._SECRET_PATTERNS)
        assert looks_secret_value(text) == slow_value, text
