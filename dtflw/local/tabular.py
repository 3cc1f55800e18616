"""Tables for ``display()``: Python objects that Databricks shows as a table, and their rendering.

``table_of`` turns a pandas DataFrame, a dict, a pyspark ``Row`` or a list of records (``Row``s,
named tuples such as ``dbutils.fs.ls`` entries, dicts, dataclass or attrs instances, or plain
values) into column names and rows; ``render_table`` draws them as a text table and an HTML
table. pandas and pyspark are never imported: objects are recognized by what they offer.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

Table = tuple[list[str], list[list[Any]]]


def table_of(obj: Any, limit: int) -> tuple[Table, bool] | None:
    """``((names, rows), truncated)`` for an object shown as a table (at most ``limit`` rows).

    None for anything else (a Spark DataFrame, a string, a number ...).
    """
    if _is_pandas(obj):
        names = [str(c) for c in obj.columns]
        rows = [list(r) for r in obj.head(limit + 1).itertuples(index=False, name=None)]
        return (names, rows[:limit]), len(rows) > limit
    if isinstance(obj, Mapping):
        items = list(obj.items())
        return (["key", "value"], [[k, v] for k, v in items[:limit]]), len(items) > limit
    if _fields(obj) is not None:
        return _records([obj]), False
    if isinstance(obj, (list, tuple)) and not isinstance(obj, (str, bytes)):
        return _records(list(obj[:limit])), len(obj) > limit
    return None


def _is_pandas(obj: Any) -> bool:
    """A pandas (or pandas-like) DataFrame: columns, head() and itertuples()."""
    return all(hasattr(obj, name) for name in ("columns", "head", "itertuples", "dtypes"))


def _fields(record: Any) -> list[str] | None:
    """The field names of a record (Row, named tuple, dataclass or attrs instance), else None."""
    if isinstance(record, tuple):
        names = getattr(record, "__fields__", None) or getattr(record, "_fields", None)
        return [str(n) for n in names] if names else None
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return [f.name for f in dataclasses.fields(record)]
    if attrs.has(type(record)):
        return [f.name for f in attrs.fields(type(record))]
    return None


def _as_dict(record: Any) -> dict[str, Any] | None:
    """A record's fields and values, or None for a plain value."""
    if isinstance(record, Mapping):
        return {str(k): v for k, v in record.items()}
    names = _fields(record)
    if names is None:
        return None
    if isinstance(record, tuple):
        return dict(zip(names, record))
    return {name: getattr(record, name) for name in names}


def _records(items: Sequence[Any]) -> Table:
    """Columns are the union of the records' fields in first-seen order; plain values: ``value``."""
    dicts = [_as_dict(item) for item in items]
    if any(d is None for d in dicts):
        if all(_fields(item) is None and not isinstance(item, Mapping) for item in items):
            return ["value"], [[item] for item in items]
        dicts = [d if d is not None else {"value": item} for d, item in zip(dicts, items)]
    names: list[str] = []
    for d in dicts:
        assert d is not None
        names.extend(k for k in d if k not in names)
    return names, [[d.get(n) if d is not None else None for n in names] for d in dicts]


def cell_text(value: Any) -> str:
    """How a value shows in a table cell (``null`` for None)."""
    return "null" if value is None else str(value)


def render_table(names: list[str], rows: list[list[Any]], truncated: bool, limit: int) -> tuple[str, str]:
    """``(text, html)`` of a table; a note says when only the first ``limit`` rows are shown."""
    if not names:
        return "Query returned no results", "<p>Query returned no results</p>"
    values = [[cell_text(v) for v in row] for row in rows]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in values)
    note = f"<p>Showing the first {limit} rows.</p>" if truncated else ""
    markup = f"<table class='dataframe'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    text = text_table(names, values) + (f"\n(first {limit} rows)" if truncated else "")
    return text, markup


def text_table(names: list[str], rows: list[list[str]]) -> str:
    """A ``+---+`` bordered plain-text table."""
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line, fmt(names), line, *[fmt(r) for r in rows], line])
