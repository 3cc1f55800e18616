"""SQL text for the local Unity Catalog layer: a small lexer and the rewrite of table names.

Spark's session catalog has one namespace level (``db.table``); Unity Catalog has three
(``catalog.schema.table``). :mod:`dtflw.local.uc` maps a UC schema ``c.s`` onto the database
``c__s``; this module rewrites the names in a statement's text accordingly, leaving string literals,
comments and everything that is not a name alone:

- ``c.s.t`` (``c`` a known UC catalog) becomes ``c__s.t`` wherever it appears (also ``c.s.t.col``);
- ``hive_metastore.s.t`` becomes ``spark_catalog.s.t`` (Spark's name for the same catalog);
- while the current catalog is a UC catalog, a two-part ``s.t`` right after a keyword that introduces
  a table (``FROM``, ``JOIN``, ``INTO``, ``TABLE``, ``UPDATE``, ``DESCRIBE``, ...) becomes
  ``<current>__s.t`` (elsewhere ``a.b`` is usually ``alias.column`` and is left alone);
- ``current_catalog()``, ``current_schema()`` and ``current_database()`` become literals.

A three-part name with an unknown catalog right after such a keyword raises ``TABLE_OR_VIEW_NOT_FOUND``
(reads) or ``NO_SUCH_CATALOG_EXCEPTION`` (writes), as on Databricks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import attrs

_TOKEN_RE = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<str>'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?)
    |(?P<bq>`(?:[^`]|``)*`?)
    |(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?[A-Za-z]*)
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<other>.)
    """,
    re.S | re.X,
)

# keywords after which a (possibly qualified) name is a table or view
TABLE_KEYWORDS = frozenset(
    {"FROM", "JOIN", "INTO", "TABLE", "UPDATE", "VIEW", "EXISTS", "DESCRIBE", "DESC", "DETAIL", "HISTORY"}
    | {"EXTENDED", "USING", "OPTIMIZE", "VACUUM", "CLONE", "REFRESH"}
)
READ_KEYWORDS = frozenset({"FROM", "JOIN", "USING", "DESCRIBE", "DESC", "DETAIL", "HISTORY", "EXTENDED", "CLONE"})
_LEGACY = ("hive_metastore", "spark_catalog")
_CURRENT_FUNCTIONS = {"current_catalog": "catalog", "current_schema": "schema", "current_database": "schema"}


@attrs.frozen
class Token:
    kind: str
    text: str


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        tokens.append(Token(kind, match.group()))
    return tokens


def unquote(text: str) -> str:
    return text[1:-1].replace("``", "`") if text.startswith("`") else text


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def strip_comments(text: str) -> str:
    """The statement without comments (each replaced by a blank), trimmed."""
    return "".join(" " if t.kind == "comment" else t.text for t in tokenize(text)).strip()


def _is_ident(token: Token) -> bool:
    return token.kind in ("word", "bq")


def _previous(tokens: Sequence[Token], index: int) -> Token | None:
    for j in range(index - 1, -1, -1):
        if tokens[j].kind not in ("ws", "comment"):
            return tokens[j]
    return None


def _next(tokens: Sequence[Token], index: int) -> Token | None:
    for j in range(index + 1, len(tokens)):
        if tokens[j].kind not in ("ws", "comment"):
            return tokens[j]
    return None


@attrs.define
class NameRewriter:
    """Rewrites names in statement text; see the module docstring.

    ``catalogs()`` the known UC catalogs; ``current()`` (catalog, schema); ``ensure(c, s)`` is called
    for every UC schema a statement names (so it can be re-registered from the DBFS root);
    ``unknown(kind, parts)`` raises the Databricks-like error for an unknown catalog.
    """

    catalogs: Callable[[], frozenset[str]]
    current: Callable[[], tuple[str, str]]
    ensure: Callable[[str, str], None]
    unknown: Callable[[str, Sequence[str]], None]

    def rewrite(self, text: str) -> str:
        tokens = tokenize(text)
        out: list[str] = []
        known = self.catalogs()
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if not _is_ident(token) or (i > 0 and tokens[i - 1].text == "."):
                out.append(token.text)
                i += 1
                continue
            j, parts = i, [unquote(token.text)]
            while j + 2 < len(tokens) and tokens[j + 1].text == "." and _is_ident(tokens[j + 2]):
                parts.append(unquote(tokens[j + 2].text))
                j += 2
            replaced, j = self._chain(tokens, i, j, parts, known)
            out.append(replaced if replaced is not None else "".join(t.text for t in tokens[i : j + 1]))
            i = j + 1
        return "".join(out)

    def _chain(
        self, tokens: Sequence[Token], start: int, end: int, parts: list[str], known: frozenset[str]
    ) -> tuple[str | None, int]:
        """The replacement for tokens[start..end] (None: keep) and the last token index consumed."""
        previous = _previous(tokens, start)
        keyword = previous.text.upper() if previous is not None and previous.kind == "word" else ""
        after = _next(tokens, end)
        if len(parts) == 1 and parts[0].lower() in _CURRENT_FUNCTIONS and after is not None and after.text == "(":
            return self._current_function(tokens, end, parts[0].lower(), previous)
        table_position = keyword in TABLE_KEYWORDS and not (after is not None and after.text == "(")
        first = parts[0].lower()
        if len(parts) >= 3 and first in known:
            self.ensure(first, parts[1].lower())
            return ".".join([quote(f"{first}__{parts[1].lower()}"), *map(quote, parts[2:])]), end
        if len(parts) >= 3 and first in _LEGACY:
            return ".".join(["spark_catalog", *map(quote, parts[1:])]), end
        if len(parts) == 3 and table_position:
            self.unknown("read" if keyword in READ_KEYWORDS else "write", parts)
        if len(parts) == 2 and table_position:
            catalog, _ = self.current()
            if catalog in known:
                self.ensure(catalog, parts[0].lower())
                return ".".join([quote(f"{catalog}__{parts[0].lower()}"), quote(parts[1])]), end
        return None, end

    def _current_function(
        self, tokens: Sequence[Token], end: int, name: str, previous: Token | None
    ) -> tuple[str | None, int]:
        j = end + 1
        while j < len(tokens) and tokens[j].kind == "ws":
            j += 1
        k = j + 1
        while k < len(tokens) and tokens[k].kind == "ws":
            k += 1
        if k >= len(tokens) or tokens[k].text != ")":  # only the exact call name()
            return None, end
        catalog, schema = self.current()
        value = catalog if _CURRENT_FUNCTIONS[name] == "catalog" else schema
        literal = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        follower = _next(tokens, k)
        bare_item = previous is not None and (previous.text.upper() == "SELECT" or previous.text == ",")
        ends_item = follower is None or follower.text in (",", ";") or follower.text.upper() in ("FROM", "WHERE")
        if bare_item and ends_item:  # keep the column name Spark (and Databricks) give it
            literal += f" AS `{name}()`"
        return literal, k
