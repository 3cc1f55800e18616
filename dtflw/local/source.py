"""Parse Databricks notebooks into cells so they can run locally.

Three file formats are understood: the Databricks SOURCE export (``.py`` starting with
``# Databricks notebook source``), nbformat-4 ``.ipynb`` (including Databricks exports) and plain
``.py`` files (one Python cell). Every cell gets a kind (``python``, ``md``, ``sql``, ``run`` ...),
its body without the magic line and the line it starts on, so the runner can execute it and point
errors at the right place. Only Python notebooks are accepted; other languages fail early.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from dtflw.errors import DtflwError

PYTHON_HEADER = "# Databricks notebook source"
CELL_SEPARATOR = "# COMMAND ----------"
NOTEBOOK_FORMATS = frozenset({"databricks-source", "ipynb", "plain-python"})

# Databricks SOURCE headers of notebooks in other languages (R shares the Python header).
_OTHER_HEADERS = {
    "-- Databricks notebook source": "SQL",
    "// Databricks notebook source": "Scala",
}
_MAGIC_KINDS = {
    "python": "python",
    "md": "md",
    "md-sandbox": "md",
    "sql": "sql",
    "run": "run",
    "pip": "pip",
    "sh": "sh",
    "fs": "fs",
    "scala": "scala",
    "r": "r",
    "conda": "conda",
}
CELL_KINDS = frozenset(_MAGIC_KINDS.values()) | {"unknown"}
# Magics whose argument sits on the magic line itself (``%pip install x``, ``%run ./x``).
_INLINE_KINDS = frozenset({"run", "pip", "sh", "fs", "conda"})

_NB_META = "application/vnd.databricks.v1+notebook"
_CELL_META = "application/vnd.databricks.v1+cell"

_TITLE = re.compile(r"#\s*DBTITLE\s+\d+\s*,(.*)\Z")
_MAGIC_PREFIX = re.compile(r"# MAGIC(?: |\Z)")
_MAGIC_LINE = re.compile(r"%%?([A-Za-z][\w-]*)(?:\s+(.*))?\Z", re.S)
_RUN_PREFIX = re.compile(r"%run(?:\s+|\Z)")
_PARAM_NAME = re.compile(r"\$([^\s=$\"']+)=")

# A source line with its 1-based line number.
_Line = tuple[int, str]
# Formats a location ("file, line 3") for error messages.
_Where = Callable[[int], str]


class NotebookSourceError(DtflwError):
    """A notebook cannot be parsed or cannot run locally (bad file, other language, bad %run)."""


@attrs.frozen
class Cell:
    """One executable or markdown cell of a notebook.

    ``source`` is the body without the magic word: for ``%md`` the markdown (including text on the
    magic line), for ``%run``/``%pip``/``%sh``/``%fs`` the rest of the magic line plus any
    following lines. ``first_line`` is the 1-based line where that body starts: a line of the file
    for Databricks SOURCE and plain ``.py`` files; for ``.ipynb`` a line within the cell's own
    source (the JSON file's lines mean nothing to a user), reported together with the cell number.
    ``index`` is 0-based and counts only the cells kept (empty and raw cells are dropped).
    """

    index: int
    kind: str = attrs.field(validator=attrs.validators.in_(CELL_KINDS))
    source: str
    magic: str | None = None
    title: str | None = None
    first_line: int = 1


def _params_dict(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Converter for ``RunDirective.params``: a fresh plain dict."""
    return dict(params)


def _cell_tuple(cells: Iterable[Cell]) -> tuple[Cell, ...]:
    """Converter for ``Notebook.cells``: an immutable tuple."""
    return tuple(cells)


@attrs.frozen
class RunDirective:
    """A parsed ``%run <path> [$name=value ...]`` line.

    ``params`` is a plain dict (the widget values the target sees); it is left out of the hash,
    so directives stay hashable. A repeated name keeps its last value.
    """

    path: str
    params: dict[str, str] = attrs.field(factory=dict, converter=_params_dict, hash=False)


@attrs.frozen
class Notebook:
    """A parsed notebook: where it came from, its format and its non-empty cells in order."""

    path: str
    format: str = attrs.field(validator=attrs.validators.in_(NOTEBOOK_FORMATS))
    language: str
    cells: tuple[Cell, ...] = attrs.field(converter=_cell_tuple)


# --------------------------------------------------------------------------- file dispatch


def parse_notebook_file(path: str | os.PathLike[str]) -> Notebook:
    """Read and parse a notebook file, choosing the format by extension and first line.

    ``OSError`` from reading the file propagates unchanged.
    """
    file = Path(path)
    name = os.fspath(path)
    text = _read_text(file, name)
    suffix = file.suffix.lower()
    if suffix == ".ipynb":
        return parse_ipynb(text, name)
    if suffix == ".py":
        if is_databricks_source(text):
            return parse_databricks_source(text, name)
        return _plain_python(text, name)
    if suffix in (".sql", ".scala", ".r"):
        raise NotebookSourceError(
            f"{name}: a '{suffix}' notebook cannot run locally; only Python notebooks run locally"
        )
    return _sniff(text, name)


def is_databricks_source(text: str) -> bool:
    """Tell whether ``text`` starts with a Databricks SOURCE header (any language)."""
    first = _first_line(text)
    return first == PYTHON_HEADER or first in _OTHER_HEADERS


def _read_text(file: Path, name: str) -> str:
    """Read a file as UTF-8, turning a decoding failure into a NotebookSourceError."""
    try:
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookSourceError(f"{name}: not a UTF-8 text file ({exc.reason})") from exc


def _sniff(text: str, name: str) -> Notebook:
    """Pick a parser by content for files without a known extension."""
    if is_databricks_source(text):
        return parse_databricks_source(text, name)
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        return parse_ipynb(text, name)
    raise NotebookSourceError(f"{name}: unsupported notebook file; expected a .py, .ipynb or Databricks source file")


def _plain_python(text: str, name: str) -> Notebook:
    """Wrap an ordinary Python file as a notebook with a single Python cell."""
    lines = _trim(_numbered(_normalize(text)))
    cells = (_python_cell(0, lines, None),) if lines else ()
    return Notebook(path=name, format="plain-python", language="python", cells=cells)


# --------------------------------------------------------------------------- Databricks SOURCE


def parse_databricks_source(text: str, name: str = "<notebook>") -> Notebook:
    """Parse a Python Databricks SOURCE export into cells.

    A missing header is tolerated; a SQL or Scala header raises NotebookSourceError.
    """
    first = _first_line(text)
    if first in _OTHER_HEADERS:
        raise NotebookSourceError(
            f"{name}: this is a {_OTHER_HEADERS[first]} Databricks notebook; only Python notebooks run locally"
        )
    lines = _numbered(_normalize(text))
    if lines and lines[0][1].rstrip() == PYTHON_HEADER:
        lines = lines[1:]
    cells: list[Cell] = []
    for segment in _segments(lines):
        cell = _source_cell(len(cells), segment, name)
        if cell is not None:
            cells.append(cell)
    return Notebook(path=name, format="databricks-source", language="python", cells=cells)


def _segments(lines: list[_Line]) -> list[list[_Line]]:
    """Split numbered lines on ``# COMMAND ----------`` separators."""
    segments: list[list[_Line]] = [[]]
    for number, line in lines:
        if line.strip().startswith(CELL_SEPARATOR):
            segments.append([])
        else:
            segments[-1].append((number, line))
    return segments


def _source_cell(index: int, segment: list[_Line], name: str) -> Cell | None:
    """Build the cell of one SOURCE segment, or None when it holds nothing."""
    title, body = _take_title(_trim(segment))
    if not body:
        return None
    if _MAGIC_PREFIX.match(body[0][1]):
        unprefixed = [(number, _strip_magic_prefix(line)) for number, line in body]
        cell = _magic_cell(index, unprefixed, title, _line_in(name))
        if cell is not None:
            return cell
    return _python_cell(index, body, title)


def _take_title(lines: list[_Line]) -> tuple[str | None, list[_Line]]:
    """Split off a leading ``# DBTITLE n,Title`` line."""
    if lines:
        match = _TITLE.match(lines[0][1].strip())
        if match:
            return match.group(1).strip() or None, _trim(lines[1:])
    return None, lines


def _strip_magic_prefix(line: str) -> str:
    """Remove ``# MAGIC `` (or a bare ``# MAGIC``); lines without it stay as they are."""
    if line.startswith("# MAGIC "):
        return line[len("# MAGIC ") :]
    if line.rstrip() == "# MAGIC":
        return ""
    return line


# --------------------------------------------------------------------------- ipynb


def parse_ipynb(text: str, name: str = "<notebook>") -> Notebook:
    """Parse nbformat-4 JSON; raw cells are skipped, magic code cells dispatch like magics.

    A first-line magic decides the kind of the whole cell (``%%sql`` counts as ``%sql``); magics
    further down a cell stay part of the Python code.
    """
    data = _load_json(text, name)
    _check_ipynb_language(data, name)
    cells: list[Cell] = []
    for number, raw in enumerate(data["cells"], start=1):
        cell = _ipynb_cell(len(cells), raw, f"{name}, cell {number}")
        if cell is not None:
            cells.append(cell)
    return Notebook(path=name, format="ipynb", language="python", cells=cells)


def _load_json(text: str, name: str) -> dict[str, Any]:
    """Decode notebook JSON and check it has a list of cells."""
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise NotebookSourceError(
            f"{name}: not a valid .ipynb file: bad JSON ({exc.msg} at line {exc.lineno})"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookSourceError(f"{name}: not an nbformat-4 notebook: no 'cells' list")
    return data


def _check_ipynb_language(data: dict[str, Any], name: str) -> None:
    """Reject Databricks notebooks whose declared language is not Python."""
    metadata = data.get("metadata")
    databricks = metadata.get(_NB_META) if isinstance(metadata, dict) else None
    language = databricks.get("language") if isinstance(databricks, dict) else None
    if language is not None and str(language).lower() != "python":
        raise NotebookSourceError(f"{name}: this is a {language} notebook; only Python notebooks run locally")


def _ipynb_cell(index: int, raw: object, label: str) -> Cell | None:
    """Build the cell for one nbformat cell dict, or None for raw and empty cells.

    ``label`` names the file and 1-based JSON cell number for error messages.
    """
    if not isinstance(raw, dict):
        raise NotebookSourceError(f"{label}: cell is not a JSON object")
    cell_type = raw.get("cell_type")
    if cell_type == "raw":
        return None
    lines = _trim(_numbered(_normalize(_ipynb_text(raw, label))))
    if not lines:
        return None
    title = _ipynb_title(raw)
    if cell_type == "markdown":
        return Cell(index, "md", _join(lines), None, title, lines[0][0])
    if cell_type != "code":
        raise NotebookSourceError(f"{label}: unknown cell_type {cell_type!r}")
    where = _line_in(label)
    return _magic_cell(index, lines, title, where) or _python_cell(index, lines, title)


def _ipynb_text(raw: dict[str, Any], label: str) -> str:
    """Return a cell's source, given as one string or a list of strings."""
    source = raw.get("source", "")
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    raise NotebookSourceError(f"{label}: 'source' must be a string or a list of strings")


def _ipynb_title(raw: dict[str, Any]) -> str | None:
    """Read the Databricks cell title from the cell metadata, if any."""
    metadata = raw.get("metadata")
    databricks = metadata.get(_CELL_META) if isinstance(metadata, dict) else None
    title = databricks.get("title") if isinstance(databricks, dict) else None
    return title if isinstance(title, str) and title.strip() else None


# --------------------------------------------------------------------------- cells and magics


def _magic_cell(index: int, lines: list[_Line], title: str | None, where: _Where) -> Cell | None:
    """Build a cell from lines whose first line is a ``%word`` magic; None if it is not one."""
    number, first = lines[0]
    match = _MAGIC_LINE.match(first.strip())
    if match is None:
        return None
    word, rest = match.group(1), (match.group(2) or "").rstrip()
    kind = _MAGIC_KINDS.get(word, "unknown")
    body = _trim(([(number, rest)] if rest else []) + lines[1:])
    if kind == "run":
        _check_run(number, body, where)
    first_line = body[0][0] if body else number
    return Cell(index, kind, _join(body), word, title, first_line)


def _check_run(number: int, body: list[_Line], where: _Where) -> None:
    """Check that a ``%run`` cell holds only a well-formed directive on its magic line."""
    if not body or body[0][0] != number:
        raise NotebookSourceError(f"{where(number)}: %run needs a notebook path on the same line")
    for line_number, line in body[1:]:
        if line.strip():
            raise NotebookSourceError(f"{where(line_number)}: %run must be alone in its cell; found {line.strip()!r}")
    try:
        parse_run_directive(body[0][1])
    except NotebookSourceError as exc:
        raise NotebookSourceError(f"{where(number)}: {exc}") from exc


def _python_cell(index: int, lines: list[_Line], title: str | None) -> Cell:
    """Build a plain Python cell from trimmed, non-empty lines."""
    return Cell(index, "python", _join(lines), None, title, lines[0][0])


# --------------------------------------------------------------------------- %run


def parse_run_directive(text: str) -> RunDirective:
    """Parse ``[%run] <path> [$name=value ...]``; values and path may be quoted.

    Inside quotes a backslash escapes the quote character or another backslash.
    """
    shown = text.strip()
    line = shown
    prefix = _RUN_PREFIX.match(line)
    if prefix:
        line = line[prefix.end() :]
    if "\n" in line:
        raise _run_error(shown, "the directive must fit on one line")
    if not line or (line.startswith("$") and _PARAM_NAME.match(line)):
        raise _run_error(shown, "missing notebook path")
    path, pos = _read_value(line, 0, shown)
    if not path.strip():
        raise _run_error(shown, "empty notebook path")
    return RunDirective(path=path, params=_read_params(line, pos, shown))


def _read_params(line: str, pos: int, shown: str) -> dict[str, str]:
    """Read the ``$name=value`` pairs that follow the path."""
    params: dict[str, str] = {}
    while True:
        while pos < len(line) and line[pos].isspace():
            pos += 1
        if pos >= len(line):
            return params
        match = _PARAM_NAME.match(line, pos)
        if match is None:
            raise _run_error(shown, f"expected $name=value, found {line[pos:]!r}")
        params[match.group(1)], pos = _read_value(line, match.end(), shown)


def _read_value(line: str, pos: int, shown: str) -> tuple[str, int]:
    """Read a quoted or bare value at ``pos``; return it and the position after it."""
    if pos < len(line) and line[pos] in "\"'":
        return _read_quoted(line, pos, shown)
    end = pos
    while end < len(line) and not line[end].isspace():
        end += 1
    return line[pos:end], end


def _read_quoted(line: str, pos: int, shown: str) -> tuple[str, int]:
    """Read a quoted value starting at the quote character ``line[pos]``."""
    quote, chars, i = line[pos], [], pos + 1
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line) and line[i + 1] in (quote, "\\"):
            chars.append(line[i + 1])
            i += 2
        elif char == quote:
            if i + 1 < len(line) and not line[i + 1].isspace():
                raise _run_error(shown, f"unexpected text after closing quote: {line[i + 1 :]!r}")
            return "".join(chars), i + 1
        else:
            chars.append(char)
            i += 1
    raise _run_error(shown, f"unterminated {quote} quote")


def _run_error(shown: str, detail: str) -> NotebookSourceError:
    """Build the error for a malformed ``%run`` directive."""
    return NotebookSourceError(f"malformed %run directive {shown!r}: {detail}")


# --------------------------------------------------------------------------- back to ipynb


def notebook_to_ipynb_dict(nb: Notebook) -> dict[str, Any]:
    """Turn a parsed notebook into an nbformat-4 dict with empty outputs (for run reports)."""
    stem = os.path.splitext(os.path.basename(nb.path))[0] or nb.path
    return {
        "nbformat": 4,
        "nbformat_minor": 4,
        "metadata": {
            _NB_META: {"notebookName": stem, "language": nb.language},
            "language_info": {"name": nb.language},
        },
        "cells": [cell_to_ipynb(cell) for cell in nb.cells],
    }


def cell_to_ipynb(cell: Cell) -> dict[str, Any]:
    """Render one cell: markdown for non-empty plain ``%md``, otherwise code with its magic line."""
    metadata = {_CELL_META: {"title": cell.title, "showTitle": True}} if cell.title else {}
    if cell.kind == "md" and cell.magic in (None, "md") and cell.source:
        return {"cell_type": "markdown", "metadata": metadata, "source": _split(cell.source)}
    return {
        "cell_type": "code",
        "metadata": metadata,
        "source": _split(_code_text(cell)),
        "outputs": [],
        "execution_count": None,
    }


def _code_text(cell: Cell) -> str:
    """Put the magic back in front of a cell body so parse_ipynb reads the same cell."""
    if cell.magic is None:
        return cell.source
    if not cell.source:
        return f"%{cell.magic}"
    separator = " " if cell.kind in _INLINE_KINDS else "\n"
    return f"%{cell.magic}{separator}{cell.source}"


# --------------------------------------------------------------------------- text helpers


def _line_in(label: str) -> _Where:
    """Return a formatter that appends a line number to ``label`` for error messages."""
    return lambda number: f"{label}, line {number}"


def _normalize(text: str) -> str:
    """Drop a BOM and turn CRLF / CR line endings into LF."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _first_line(text: str) -> str:
    """Return the first line without BOM and trailing whitespace."""
    return _normalize(text).split("\n", 1)[0].rstrip()


def _numbered(text: str) -> list[_Line]:
    """Split text into lines numbered from 1."""
    return list(enumerate(text.split("\n"), start=1))


def _trim(lines: list[_Line]) -> list[_Line]:
    """Drop blank lines at both ends."""
    start, end = 0, len(lines)
    while start < end and not lines[start][1].strip():
        start += 1
    while end > start and not lines[end - 1][1].strip():
        end -= 1
    return lines[start:end]


def _join(lines: list[_Line]) -> str:
    """Join numbered lines back into text."""
    return "\n".join(line for _, line in lines)


def _split(text: str) -> list[str]:
    """Split text into nbformat's list-of-lines form (newlines kept)."""
    return text.splitlines(keepends=True)
