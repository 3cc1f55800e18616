"""Finding the file behind a notebook path: ``x`` is ``x.py``, ``x.sql``, ``x.ipynb`` ... on disk.

Scala and R files are found too, so that running them fails with a clear "not supported" error
instead of "not found".
"""

from __future__ import annotations

from pathlib import Path

NOTEBOOK_SUFFIXES = (".py", ".sql", ".ipynb", ".scala", ".r", ".R")
#: For "not found" messages: every suffix tried, in order.
TRIED_SUFFIXES = "tried " + ", ".join(NOTEBOOK_SUFFIXES)


def find_notebook_file(candidate: Path) -> Path | None:
    """`candidate` itself if it is a notebook file, else `candidate` with the first of
    NOTEBOOK_SUFFIXES appended that names a file; None when there is none."""
    if candidate.suffix in NOTEBOOK_SUFFIXES and candidate.is_file():
        return candidate
    for suffix in NOTEBOOK_SUFFIXES:
        with_suffix = candidate.with_name(candidate.name + suffix)
        if with_suffix.is_file():
            return with_suffix
    return None


def not_found(what: str, candidate: Path) -> str:
    """``<what> not found: no file <candidate> (tried .py, .sql, ...)`` (no trailing period)."""
    return f"{what} not found: no file {candidate} ({TRIED_SUFFIXES})"
