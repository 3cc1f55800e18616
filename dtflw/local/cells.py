"""The parsed form of a notebook (cells, ``%run`` directives) and the magic-cell rules.

Shared by every notebook format (``dtflw.local.formats`` for Databricks SOURCE exports,
``dtflw.local.source`` for ``.ipynb`` and file dispatch): a cell gets a kind (``python``, ``md``,
``sql``, ``run`` ...), its body without the magic line and the line it starts on, so the runner
can execute it and point errors at the right place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

import attrs

from dtflw.errors import DtflwError

NOTEBOOK_FORMATS = frozenset({"databricks-source", "ipynb", "plain-python"})

MAGIC_KINDS = {
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
CELL_KINDS = frozenset(MAGIC_KINDS.values()) | {"unknown"}
# Magics whose argument sits on the magic line itself (``%pip install x``, ``%run ./x``).
INLINE_KINDS = frozenset({"run", "pip", "sh", "fs", "conda"})

_MAGIC_LINE = re.compile(r"%%?([A-Za-z][\w-]*)(?:\s+(.*))?\Z", re.S)
_RUN_PREFIX = re.compile(r"%run(?:\s+|\Z)")
_PARAM_NAME = re.compile(r"\$([^\s=$\"']+)=")

# A source line with its 1-based line number.
Line = tuple[int, str]
# Formats a location ("file, line 3") for error messages.
Where = Callable[[int], str]


class NotebookSourceError(DtflwError):
    """A notebook cannot be parsed or cannot run locally (bad file, other language, bad %run)."""


class UnsupportedLanguageError(NotebookSourceError):
    """A Scala or R notebook (or cell): the local runtime runs Python and SQL only."""


def unsupported_language(language: str, what: str, where: str) -> UnsupportedLanguageError:
    """The error for Scala/R code: ``Scala notebooks are not supported by the local runtime: x``."""
    label = {"scala": "Scala", "r": "R"}.get(language.lower(), language)
    return UnsupportedLanguageError(f"{label} {what} are not supported by the local runtime: {where}")


@attrs.frozen
class Cell:
    """One executable or markdown cell of a notebook.

    ``source`` is the body without the magic word: for ``%md`` the markdown (including text on the
    magic line), for ``%run``/``%pip``/``%sh``/``%fs`` the rest of the magic line plus any
    following lines. ``first_line`` is the 1-based line where that body starts: a line of the file
    for Databricks SOURCE and plain ``.py`` files; for ``.ipynb`` a line within the cell's own
    source (the JSON file's lines mean nothing to a user), reported together with the cell number.
    ``index`` is 0-based and counts only the cells kept (empty and raw cells are dropped). In a SQL
    notebook the plain cells are ``sql`` cells without a magic.
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
    """A parsed notebook: where it came from, its format, language and non-empty cells in order."""

    path: str
    format: str = attrs.field(validator=attrs.validators.in_(NOTEBOOK_FORMATS))
    language: str
    cells: tuple[Cell, ...] = attrs.field(converter=_cell_tuple)


# --------------------------------------------------------------------------- cells and magics


def magic_cell(index: int, lines: list[Line], title: str | None, where: Where) -> Cell | None:
    """Build a cell from lines whose first line is a ``%word`` magic; None if it is not one."""
    number, first = lines[0]
    match = _MAGIC_LINE.match(first.strip())
    if match is None:
        return None
    word, rest = match.group(1), (match.group(2) or "").rstrip()
    kind = MAGIC_KINDS.get(word, "unknown")
    body = trim(([(number, rest)] if rest else []) + lines[1:])
    if kind == "run":
        _check_run(number, body, where)
    first_line = body[0][0] if body else number
    return Cell(index, kind, join(body), word, title, first_line)


def _check_run(number: int, body: list[Line], where: Where) -> None:
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


def code_cell(index: int, lines: list[Line], title: str | None, kind: str = "python") -> Cell:
    """Build a cell in the notebook's own language (no magic) from trimmed, non-empty lines."""
    return Cell(index, kind, join(lines), None, title, lines[0][0])


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


# --------------------------------------------------------------------------- text helpers


def line_in(label: str) -> Where:
    """Return a formatter that appends a line number to ``label`` for error messages."""
    return lambda number: f"{label}, line {number}"


def normalize(text: str) -> str:
    """Drop a BOM and turn CRLF / CR line endings into LF."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def first_line(text: str) -> str:
    """Return the first line without BOM and trailing whitespace."""
    return normalize(text).split("\n", 1)[0].rstrip()


def numbered(text: str) -> list[Line]:
    """Split text into lines numbered from 1."""
    return list(enumerate(text.split("\n"), start=1))


def trim(lines: list[Line]) -> list[Line]:
    """Drop blank lines at both ends."""
    start, end = 0, len(lines)
    while start < end and not lines[start][1].strip():
        start += 1
    while end > start and not lines[end - 1][1].strip():
        end -= 1
    return lines[start:end]


def join(lines: list[Line]) -> str:
    """Join numbered lines back into text."""
    return "\n".join(line for _, line in lines)
