"""Parse Databricks notebooks into cells so they can run locally.

Three file formats are understood: the Databricks SOURCE export (``.py`` starting with
``# Databricks notebook source``, ``.sql`` starting with ``-- Databricks notebook source``; see
``dtflw.local.formats``), nbformat-4 ``.ipynb`` (including Databricks exports) and plain ``.py``
or ``.sql`` files (one cell). Every cell gets a kind (``python``, ``md``, ``sql``, ``run`` ...),
its body without the magic line and the line it starts on, so the runner can execute it and point
errors at the right place. Python and SQL notebooks are accepted; Scala and R fail early with
``UnsupportedLanguageError``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dtflw.local.cells import (
    CELL_KINDS,
    INLINE_KINDS,
    NOTEBOOK_FORMATS,
    Cell,
    Notebook,
    NotebookSourceError,
    RunDirective,
    UnsupportedLanguageError,
    code_cell,
    join,
    line_in,
    magic_cell,
    normalize,
    numbered,
    parse_run_directive,
    trim,
    unsupported_language,
)
from dtflw.local.formats import (
    CELL_SEPARATOR,
    LANGUAGE_OF_SUFFIX,
    PYTHON,
    PYTHON_HEADER,
    SQL,
    header_language,
    is_databricks_source,
    parse_databricks_source,
)

__all__ = [
    "CELL_KINDS",
    "CELL_SEPARATOR",
    "NOTEBOOK_FORMATS",
    "PYTHON_HEADER",
    "Cell",
    "Notebook",
    "NotebookSourceError",
    "RunDirective",
    "UnsupportedLanguageError",
    "cell_to_ipynb",
    "is_databricks_source",
    "notebook_to_ipynb_dict",
    "parse_databricks_source",
    "parse_ipynb",
    "parse_notebook_file",
    "parse_run_directive",
]

_NB_META = "application/vnd.databricks.v1+notebook"
_CELL_META = "application/vnd.databricks.v1+cell"
# Cell kind of the plain code cells of an .ipynb, by its Databricks language.
_IPYNB_KINDS = {"python": "python", "sql": "sql"}


# --------------------------------------------------------------------------- file dispatch


def parse_notebook_file(path: str | os.PathLike[str]) -> Notebook:
    """Read and parse a notebook file, choosing the format by extension and first line.

    ``OSError`` from reading the file propagates unchanged.
    """
    file = Path(path)
    name = os.fspath(path)
    suffix = file.suffix.lower()
    language = LANGUAGE_OF_SUFFIX.get(suffix)
    if language is not None and language.kind is None:
        raise unsupported_language(language.name, "notebooks", name)
    text = _read_text(file, name)
    if suffix == ".ipynb":
        return parse_ipynb(text, name)
    if language is not None:
        header = header_language(text, suffix)
        if header is not None:
            return parse_databricks_source(text, name, header)
        return _plain(text, name, language.name)
    return _sniff(text, name)


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
    raise NotebookSourceError(
        f"{name}: unsupported notebook file; expected a .py, .sql, .ipynb or Databricks source file"
    )


def _plain(text: str, name: str, language: str) -> Notebook:
    """Wrap an ordinary Python (or SQL) file as a notebook with a single cell."""
    lines = trim(numbered(normalize(text)))
    kind = SQL.kind if language == SQL.name else PYTHON.kind
    assert kind is not None
    cells = (code_cell(0, lines, None, kind),) if lines else ()
    return Notebook(path=name, format="plain-python", language=language, cells=cells)


# --------------------------------------------------------------------------- ipynb


def parse_ipynb(text: str, name: str = "<notebook>") -> Notebook:
    """Parse nbformat-4 JSON; raw cells are skipped, magic code cells dispatch like magics.

    A first-line magic decides the kind of the whole cell (``%%sql`` counts as ``%sql``); magics
    further down a cell stay part of the code. Code cells of a Databricks SQL notebook are SQL.
    """
    data = _load_json(text, name)
    language = _ipynb_language(data, name)
    cells: list[Cell] = []
    for number, raw in enumerate(data["cells"], start=1):
        cell = _ipynb_cell(len(cells), raw, f"{name}, cell {number}", _IPYNB_KINDS[language])
        if cell is not None:
            cells.append(cell)
    return Notebook(path=name, format="ipynb", language=language, cells=cells)


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


def _ipynb_language(data: dict[str, Any], name: str) -> str:
    """The Databricks language of the notebook (Python when undeclared); others are rejected."""
    metadata = data.get("metadata")
    databricks = metadata.get(_NB_META) if isinstance(metadata, dict) else None
    language = databricks.get("language") if isinstance(databricks, dict) else None
    if language is None:
        return "python"
    if str(language).lower() not in _IPYNB_KINDS:
        raise unsupported_language(str(language), "notebooks", name)
    return str(language).lower()


def _ipynb_cell(index: int, raw: object, label: str, kind: str) -> Cell | None:
    """Build the cell for one nbformat cell dict, or None for raw and empty cells.

    ``label`` names the file and 1-based JSON cell number for error messages; ``kind`` is the
    kind of code cells without a magic.
    """
    if not isinstance(raw, dict):
        raise NotebookSourceError(f"{label}: cell is not a JSON object")
    cell_type = raw.get("cell_type")
    if cell_type == "raw":
        return None
    lines = trim(numbered(normalize(_ipynb_text(raw, label))))
    if not lines:
        return None
    title = _ipynb_title(raw)
    if cell_type == "markdown":
        return Cell(index, "md", join(lines), None, title, lines[0][0])
    if cell_type != "code":
        raise NotebookSourceError(f"{label}: unknown cell_type {cell_type!r}")
    where = line_in(label)
    return magic_cell(index, lines, title, where) or code_cell(index, lines, title, kind)


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
    separator = " " if cell.kind in INLINE_KINDS else "\n"
    return f"%{cell.magic}{separator}{cell.source}"


def _split(text: str) -> list[str]:
    """Split text into nbformat's list-of-lines form (newlines kept)."""
    return text.splitlines(keepends=True)
