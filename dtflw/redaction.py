"""Keeping secrets out of logs, errors, history and reports.

Three kinds of redaction, all giving ``[REDACTED]``:

- by name (``is_secret_name``): an argument whose name looks secret is hidden whatever its value;
- by value shape (``looks_secret_value`` / ``mask_secret_patterns``): connection strings and SAS
  tokens (``AccountKey=``, ``SharedAccessSignature=``, ``Password=``/``Pwd=``, ``sig=``, a password
  in a URL's ``user:password@``, JSON web tokens) are hidden wherever they appear;
- by known value: every value the runtime's ``dbutils.secrets`` handed out, in its common encodings
  (see ``dtflw.emulated.secrets.secret_variants``), through ``dbutils.redactor``.

``redact_exception`` applies a text redaction to an exception and its whole chain.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Name rule. A name is split into lower-case words at non-alphanumerics and camelCase humps
# ("storageKey" -> storage, key; "db-pass" -> db, pass). It is secret when
#  1. the words joined contain a distinctive fragment (password, passwd, passphrase, pwd, secret,
#     token, credential, apikey, accesskey, accountkey, privatekey, connectionstring, connstr), or
#  2. a word is one of the short secret words (pass, pw, creds, sas, sig, signature), or
#  3. the last word is "key"/"keys" or ends with one of the key compounds (storagekey...): a
#     `*_key` name such as `key`, `private_key`, `storage-key`, `storageKey`.
# So `monkey`, `keyboard`, `key_date`, `compass`, `kansas` and `passenger` are not secret names.
_FRAGMENTS = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "credential",
    "apikey",
    "accesskey",
    "accountkey",
    "privatekey",
    "connectionstring",
    "connstr",
)
_WORDS = frozenset({"pass", "pw", "creds", "sas", "sig", "signature"})
# Every rule needs one of these in the name's letters and digits (joined, lower-case).
_SECRET_HINTS = ("pass", "pw", "secret", "token", "cred", "key", "conn", "sas", "sig")
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_KEY_COMPOUNDS = (
    "storagekey",
    "masterkey",
    "sharedkey",
    "signingkey",
    "clientkey",
    "subscriptionkey",
    "encryptionkey",
    "saskey",
    "hmackey",
)
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\b|_|\d|$)|[A-Z]?[a-z]+|[A-Z]+|\d+")

# Values shaped like credentials: the group before "=" (or "@") is kept, the secret part masked.
_SECRET_PATTERNS = (
    # Azure storage / Service Bus connection strings, ODBC/JDBC passwords: a value in double or
    # single quotes (also escaped, once or more: \"...\") or in ODBC braces (`}}` escapes a brace)
    # runs to its closing mark
    re.compile(
        r"(?i)\b((?:AccountKey|SharedAccessKey|Password|Pwd)\s*=\s*)"
        r"((?P<quote>\\*[\"'])(?:(?!(?P=quote)).)*(?P=quote)?|\{(?:[^}]|\}\})*\}?|[^;\s'\"&\\]+)"
    ),
    re.compile(r"(?i)\b(SharedAccessSignature\s*=\s*)([^;\s'\"\\]+)"),
    # SAS token query parameters
    re.compile(r"(?i)((?:^|[?&;\s'\"])sig=)([^&;\s'\"\\]+)"),
    # password in a URL's user info (the user may be empty; the password runs to the first "@"
    # followed by a host, so it may itself hold "@" or "/")
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@'\"\\]*:)([^\s'\"\\]+?)(?=@[^\s@/'\"\\?#]*(?:[/\s'\"\\?#]|$))"),
    # JSON web tokens (bearer tokens)
    re.compile(r"()(\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)"),
)


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True for argument names that usually carry secrets (password, token, key, SAS...).

    See the name rule above: ``key``, ``*_key``, ``*secret*``, ``*token*``, ``*pwd*``,
    ``*passwd*``, ``*credential*``, connection strings, SAS; not ``monkey`` or ``key_date``.
    """
    squashed = _NON_ALNUM.sub("", name.lower())
    if not any(hint in squashed for hint in _SECRET_HINTS):
        return False  # quick test first: no rule below can match (most names)
    words = _words(name)
    if not words:
        return False
    joined = "".join(words)
    if any(fragment in joined for fragment in _FRAGMENTS):
        return True
    if any(word in _WORDS for word in words):
        return True
    last = words[-1]
    return last in ("key", "keys") or last.endswith(_KEY_COMPOUNDS)


def looks_secret_value(value: str) -> bool:
    """True for values shaped like credentials: connection strings with keys or passwords, SAS
    tokens, URLs with a password, JSON web tokens."""
    return _may_match(value) and any(pattern.search(value) for pattern in _SECRET_PATTERNS)


def mask_secret_patterns(text: str) -> str:
    """``text`` with the secret part of credential-shaped values (``looks_secret_value``) masked."""
    if not _may_match(text):
        return text
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    """The kept prefix, then `[REDACTED]` inside the value's own quotes or braces (so masking
    masked text changes nothing)."""
    value = match.group(2)
    quote = match.groupdict().get("quote")
    if quote:
        end = quote if len(value) >= 2 * len(quote) and value.endswith(quote) else ""
        return match.group(1) + quote + REDACTED + end
    if value.startswith("{"):
        return match.group(1) + "{" + REDACTED + ("}" if len(value) > 1 and value.endswith("}") else "")
    return match.group(1) + REDACTED


def _may_match(text: str) -> bool:
    """False when no `_SECRET_PATTERNS` can match: each needs "=", "@" or "eyJ" (a quick test
    first, as paths and messages rarely hold any; this runs on every value of every notebook)."""
    return "=" in text or "@" in text or "eyJ" in text


def redact_args(args: Mapping[str, str], dbutils: Any = None) -> dict[str, str]:
    """A copy of `args` safe to show: secret-looking names and values, and known secret values, masked.

    Known values are those the runtime's dbutils handed out (emulated dbutils track them).
    """
    redactor = getattr(dbutils, "redactor", None)
    out = {}
    for name, value in args.items():
        if is_secret_name(name) or (isinstance(value, str) and looks_secret_value(value)):
            out[name] = REDACTED
        elif redactor is not None and isinstance(value, str):
            out[name] = redactor.redact(value)
        else:
            out[name] = value
    return out


def redact_text(text: str, dbutils: Any = None) -> str:
    """`text` with every secret value known to the runtime's dbutils, and credential-shaped
    values, masked."""
    redactor = getattr(dbutils, "redactor", None)
    return mask_secret_patterns(redactor.redact(text) if redactor is not None else text)


# ---- exceptions ------------------------------------------------------------------------------
class RedactedError(Exception):
    """Stands in for an exception whose text held a secret and could not be redacted in place.

    Its message is ``"<original type>: <redacted message>"``; it keeps the original traceback.
    """

    def __init__(self, message: str, original_type: str) -> None:
        super().__init__(message)
        self.original_type = original_type


_MAX_CHAIN = 50


def _safe_str(error: BaseException, show: Callable[[BaseException], str]) -> str | None:
    try:
        return show(error)
    except Exception:  # a broken __str__/__repr__: nothing to show, nothing to leak
        return None


def _leaks(error: BaseException, redact: Callable[[str], str]) -> bool:
    """True when the exception's text (str, repr, notes) changes under `redact`."""
    texts = [_safe_str(error, str), _safe_str(error, repr), *getattr(error, "__notes__", [])]
    return any(isinstance(t, str) and redact(t) != t for t in texts)


def _scrub_value(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (int, float, bool, type(None))):
        return value
    shown = _safe_str_value(value)
    return value if shown is None or redact(shown) == shown else redact(shown)


def _safe_str_value(value: Any) -> str | None:
    try:
        return repr(value)
    except Exception:
        return None


def _scrub_in_place(error: BaseException, redact: Callable[[str], str]) -> bool:
    """Redact the exception's args, string attributes and notes; True when it no longer leaks."""
    try:
        error.args = tuple(_scrub_value(arg, redact) for arg in error.args)
        for name, value in list(vars(error).items()):
            if name != "__notes__":
                scrubbed = _scrub_value(value, redact)
                if scrubbed is not value:
                    setattr(error, name, scrubbed)
        notes = getattr(error, "__notes__", None)
        if isinstance(notes, list):
            notes[:] = [redact(n) if isinstance(n, str) else n for n in notes]
    except Exception:  # read-only attributes and the like: fall back to a stand-in
        return False
    return not _leaks(error, redact)


def _stand_in(error: BaseException, redact: Callable[[str], str]) -> RedactedError:
    text = _safe_str(error, str) or ""
    name = type(error).__name__
    stand_in = RedactedError(redact(f"{name}: {text}" if text else name), name)
    return stand_in.with_traceback(error.__traceback__)


def redact_exception(error: BaseException, redact: Callable[[str], str]) -> BaseException:
    """`error` with no text of its chain (`__cause__`, `__context__`) changed by `redact`.

    A clean exception is returned as it is. One whose text leaks is redacted in place (its
    `args`, string attributes and notes), so references to it elsewhere are clean too; if that
    is not enough (a `__str__` computed from hidden state), a `RedactedError` stands in for it.
    Tracebacks (frames, line numbers) are kept.
    """
    seen: dict[int, BaseException] = {}

    def clean(exc: BaseException, depth: int) -> BaseException:
        if id(exc) in seen:
            return seen[id(exc)]
        result = exc
        if _leaks(exc, redact) and not _scrub_in_place(exc, redact):
            result = _stand_in(exc, redact)
        seen[id(exc)] = result
        if depth >= _MAX_CHAIN:
            result.__cause__, result.__context__ = None, None
            return result
        cause, context = exc.__cause__, exc.__context__
        suppress = exc.__suppress_context__
        result.__cause__ = clean(cause, depth + 1) if cause is not None else None
        result.__context__ = clean(context, depth + 1) if context is not None else None
        result.__suppress_context__ = suppress
        return result

    return clean(error, 0)
