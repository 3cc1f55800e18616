"""Databricks SOURCE exports in every notebook language (Python, SQL, Scala, R).

All four share one shape, only the comment prefix differs: a header line
(``# Databricks notebook source``, ``-- ...`` for SQL, ``// ...`` for Scala; R uses ``#`` like
Python and is told apart by its ``.r`` extension), cells separated by ``<c> COMMAND ----------``,
an optional ``<c> DBTITLE n,Title`` first line, and magic cells whose every line starts with
``<c> MAGIC`` (blank lines as a bare ``<c> MAGIC``). The magic word is read from the first
non-blank line after the prefix. Python and SQL notebooks are parsed; Scala and R notebooks raise
``UnsupportedLanguageError``.
"""

from __future__ import annotations

import re

import attrs

from dtflw.local.cells import (
    Cell,
    Line,
    Notebook,
    code_cell,
    first_line,
    line_in,
    magic_cell,
    normalize,
    numbered,
    trim,
    unsupported_language,
)


@attrs.frozen
class SourceLanguage:
    """A notebook language as it appears in a SOURCE export."""

    name: str  # "python", "sql", "scala", "r": Notebook.language
    comment: str  # the line-comment prefix of the language
    kind: str | None  # cell kind of the plain (non-magic) cells; None: cannot run locally

    @property
    def header(self) -> str:
        return f"{self.comment} Databricks notebook source"

    @property
    def separator(self) -> str:
        return f"{self.comment} COMMAND ----------"

    @property
    def magic(self) -> str:
        return f"{self.comment} MAGIC"


PYTHON = SourceLanguage("python", "#", "python")
SQL = SourceLanguage("sql", "--", "sql")
SCALA = SourceLanguage("scala", "//", None)
R = SourceLanguage("r", "#", None)

#: The language of a notebook file by (lower-cased) extension.
LANGUAGE_OF_SUFFIX = {".py": PYTHON, ".sql": SQL, ".scala": SCALA, ".r": R}
_HEADERS = {language.header: language for language in (PYTHON, SQL, SCALA)}
PYTHON_HEADER = PYTHON.header
CELL_SEPARATOR = PYTHON.separator


def header_language(text: str, suffix: str = "") -> SourceLanguage | None:
    """The language whose SOURCE header starts ``text`` (R when a ``#`` header sits in ``.r``)."""
    language = _HEADERS.get(first_line(text))
    if language is PYTHON and suffix.lower() == ".r":
        return R
    return language


def is_databricks_source(text: str) -> bool:
    """Tell whether ``text`` starts with a Databricks SOURCE header (any language)."""
    return first_line(text) in _HEADERS


def parse_databricks_source(text: str, name: str = "<notebook>", language: SourceLanguage | None = None) -> Notebook:
    """Parse a Databricks SOURCE export into cells.

    The language comes from the header (or ``language``, else the ``.r`` extension of ``name``
    for R); a missing header means Python. Scala and R raise ``UnsupportedLanguageError``.
    """
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    language = language or header_language(text, suffix) or PYTHON
    if language.kind is None:
        raise unsupported_language(language.name, "notebooks", name)
    lines = numbered(normalize(text))
    if lines and lines[0][1].rstrip() == language.header:
        lines = lines[1:]
    cells: list[Cell] = []
    for segment in _segments(lines, language):
        cell = _source_cell(len(cells), segment, name, language)
        if cell is not None:
            cells.append(cell)
    return Notebook(path=name, format="databricks-source", language=language.name, cells=cells)


def _segments(lines: list[Line], language: SourceLanguage) -> list[list[Line]]:
    """Split numbered lines on ``<c> COMMAND ----------`` separators."""
    segments: list[list[Line]] = [[]]
    for number, line in lines:
        if line.strip().startswith(language.separator):
            segments.append([])
        else:
            segments[-1].append((number, line))
    return segments


def _source_cell(index: int, segment: list[Line], name: str, language: SourceLanguage) -> Cell | None:
    """Build the cell of one SOURCE segment, or None when it holds nothing.

    A cell whose first line carries the MAGIC prefix is a magic cell: the prefix is stripped from
    every line and the magic word read from the first non-blank line (exports put a bare
    ``# MAGIC`` line before ``# MAGIC %run ./x`` at times). MAGIC lines without a ``%word``
    stay code of the notebook's language, as they would be comments there.
    """
    title, body = _take_title(trim(segment), language)
    if not body:
        return None
    assert language.kind is not None  # checked by parse_databricks_source
    if _is_magic_line(body[0][1], language):
        unprefixed = trim([(number, _strip_magic_prefix(line, language)) for number, line in body])
        if not unprefixed:
            return None
        cell = magic_cell(index, unprefixed, title, line_in(name))
        if cell is not None:
            return cell
    return code_cell(index, body, title, language.kind)


def _is_magic_line(line: str, language: SourceLanguage) -> bool:
    """``<c> MAGIC`` alone or followed by a space."""
    return line.rstrip() == language.magic or line.startswith(language.magic + " ")


def _take_title(lines: list[Line], language: SourceLanguage) -> tuple[str | None, list[Line]]:
    """Split off a leading ``<c> DBTITLE n,Title`` line."""
    if lines:
        match = re.match(rf"{re.escape(language.comment)}\s*DBTITLE\s+\d+\s*,(.*)\Z", lines[0][1].strip())
        if match:
            return match.group(1).strip() or None, trim(lines[1:])
    return None, lines


def _strip_magic_prefix(line: str, language: SourceLanguage) -> str:
    """Remove ``<c> MAGIC `` (or a bare ``<c> MAGIC``); lines without it stay as they are."""
    if line.startswith(language.magic + " "):
        return line[len(language.magic) + 1 :]
    if line.rstrip() == language.magic:
        return ""
    return line
