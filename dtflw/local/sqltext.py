"""SQL cell text as Databricks treats it: statements, widget references and widget statements.

Everything here is text processing (no Spark): ``split_sql`` cuts a cell into statements,
``bind_widgets`` fills in widget values (``:name`` markers, legacy ``${name}`` and
``getArgument('name')``) and ``parse_widget_statement`` recognizes ``CREATE WIDGET`` /
``REMOVE WIDGET``, which Databricks handles itself instead of sending them to Spark.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from dtflw.emulated.errors import InputWidgetNotDefined

_QUOTES = "'\"`"
_NAME = r"(`[^`]+`|[A-Za-z_]\w*)"
_STRING = r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_CREATE_WIDGET = re.compile(
    rf"CREATE\s+WIDGET\s+(TEXT|DROPDOWN|COMBOBOX|MULTISELECT)\s+{_NAME}"
    rf"(?:\s+DEFAULT\s+{_STRING})?(?:\s+CHOICES\s+(.+?))?\s*\Z",
    re.I | re.S,
)
_REMOVE_WIDGET = re.compile(rf"REMOVE\s+WIDGET\s+{_NAME}\s*\Z", re.I)
_GET_ARGUMENT = re.compile(rf"getArgument\s*\(\s*{_STRING}\s*(?:,\s*{_STRING}\s*)?\)", re.I)
_MARKER = re.compile(r":([A-Za-z_]\w*)")
_LEGACY = re.compile(r"\$\{(\w+)\}")


@attrs.frozen
class WidgetStatement:
    """A ``CREATE WIDGET <kind> name [DEFAULT 'v'] [CHOICES <query>]`` or ``REMOVE WIDGET name``.

    ``kind`` is ``text``, ``dropdown``, ``combobox``, ``multiselect`` or ``remove``;
    ``choices`` is the query whose first column lists the choices (``None`` for text widgets).
    """

    kind: str
    name: str
    default: str = ""
    choices: str | None = None


def _skip(text: str, i: int) -> int:
    """The end of the quoted string or comment starting at ``i`` (``i`` itself if none starts)."""
    ch = text[i]
    if ch in _QUOTES:
        j = i + 1
        while j < len(text) and text[j] != ch:
            j += 2 if text[j] == "\\" and ch != "`" else 1
        return min(j + 1, len(text))
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end == -1 else end + 2
    return i


def split_sql(text: str) -> list[str]:
    """Statements separated by ``;`` outside quotes and comments; ``--`` comments are dropped.

    Statements holding nothing but comments are left out.
    """
    statements, current, i = [], [], 0
    while i < len(text):
        end = _skip(text, i)
        if end > i:
            current.append(text[i:end])
            i = end
        elif text.startswith("--", i):
            newline = text.find("\n", i)
            i = len(text) if newline == -1 else newline
        elif text[i] == ";":
            statements.append("".join(current))
            current, i = [], i + 1
        else:
            current.append(text[i])
            i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if re.sub(r"/\*.*?\*/", "", s, flags=re.S).strip()]


def sql_literal(value: str) -> str:
    """``value`` as a Spark SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def unquote(literal: str) -> str:
    """The value of a quoted SQL string literal (or a backquoted name)."""
    if len(literal) >= 2 and literal[0] == literal[-1] and literal[0] in _QUOTES:
        body = literal[1:-1]
        return body if literal[0] == "`" else re.sub(r"\\(.)", r"\1", body, flags=re.S)
    return literal


def bind_widgets(statement: str, widgets: Mapping[str, str]) -> str:
    """Fill in widget values the way a Databricks SQL cell sees them.

    ``:name`` parameter markers of defined widgets become string literals (unknown names stay,
    so Spark reports them); ``getArgument('name'[, 'default'])`` becomes the value as a string
    literal (``InputWidgetNotDefined`` when the widget is missing and there is no default);
    legacy ``${name}`` is replaced by the bare value everywhere, quotes included. Markers are
    bound client-side: with Delta's SQL extension loaded, OSS Spark 4.2 rejects
    ``spark.sql(..., args=...)`` (UNBOUND_SQL_PARAMETER), and Spark refuses markers in
    ``CREATE VIEW`` bodies, measured with delta-spark 4.4.0. Quoted text, comments and ``::``
    casts are left alone.
    """
    out, i = [], 0
    while i < len(statement):
        end = _skip(statement, i)
        if end > i:
            out.append(statement[i:end])
            i = end
            continue
        ch = statement[i]
        word_start = i == 0 or not (statement[i - 1].isalnum() or statement[i - 1] == "_")
        if ch == ":" and statement.startswith("::", i):
            out.append("::")
            i += 2
        elif ch == ":" and (m := _MARKER.match(statement, i)) and m.group(1) in widgets:
            out.append(sql_literal(widgets[m.group(1)]))
            i = m.end()
        elif ch in "gG" and word_start and (m := _GET_ARGUMENT.match(statement, i)):
            out.append(sql_literal(_argument(m, widgets)))
            i = m.end()
        else:
            out.append(ch)
            i += 1
    return _LEGACY.sub(lambda m: widgets.get(m.group(1), m.group(0)), "".join(out))


def _argument(match: re.Match[str], widgets: Mapping[str, str]) -> str:
    """The value a ``getArgument(...)`` call in SQL stands for."""
    name = unquote(match.group(1))
    if name in widgets:
        return widgets[name]
    if match.group(2) is not None:
        return unquote(match.group(2))
    raise InputWidgetNotDefined(name)


def parse_widget_statement(statement: str) -> WidgetStatement | None:
    """The widget statement ``statement`` is, or None for any other statement."""
    created = _CREATE_WIDGET.match(statement.strip())
    if created:
        kind, name, default, choices = created.groups()
        return WidgetStatement(kind.lower(), unquote(name), unquote(default) if default else "", choices)
    removed = _REMOVE_WIDGET.match(statement.strip())
    if removed:
        return WidgetStatement("remove", unquote(removed.group(1)))
    return None
