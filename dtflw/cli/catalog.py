"""`dtflw catalog ...`: the catalogue's answers as rows, rendered as a text table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import attrs

from dtflw.catalog import Catalog
from dtflw.errors import InvalidArgumentError
from dtflw.render import text_table

Rows = list[tuple[Any, ...]]
_NEEDS = {"who-writes": 1, "who-reads": 1, "impact": 1, "diff": 2}


def answer(storage: Any, what: str, names: Sequence[str], last: int | None) -> tuple[tuple[str, ...], Rows]:
    """Headers and rows for `dtflw catalog <what> [names...]`."""
    wanted = _NEEDS.get(what, 0)
    if len(names) != wanted:
        shown = {0: "no argument", 1: "one table (a name or an absolute path)", 2: "two run ids"}[wanted]
        raise InvalidArgumentError(f"catalog {what} takes {shown}, got {len(names)}.")
    catalog = Catalog(storage)
    if what == "tables":
        return _objects(catalog.tables(kind="records"), ("path", "names", "producers", "consumers", "latest_version"))
    if what == "notebooks":
        return _objects(
            catalog.notebooks(kind="records"),
            ("path", "flows", "runs", "success_rate", "median_seconds", "last_status"),
        )
    if what == "runs":
        return _objects(catalog.runs(kind="records"), ("run_id", "flows", "counts", "seconds"))
    if what in ("who-writes", "who-reads"):
        found = catalog.who_writes(names[0]) if what == "who-writes" else catalog.who_reads(names[0])
        return ("notebook",), [(nb,) for nb in found]
    if what == "impact":
        downstream = catalog.impact(names[0])
        return ("kind", "path"), [("notebook", p) for p in downstream["notebooks"]] + [
            ("table", p) for p in downstream["tables"]
        ]
    if what == "diff":
        return ("notebook", "what", "before", "after"), [attrs.astuple(c) for c in catalog.diff(names[0], names[1])]
    if what == "slowest":
        return ("notebook", "median_seconds"), [(nb, round(s, 3)) for nb, s in catalog.slowest(20, last)]
    if what == "failing":
        return ("notebook", "failure_rate", "failures"), [
            (nb, round(r, 3), n) for nb, r, n in catalog.failing(20, last)
        ]
    return ("table",), [(p,) for p in catalog.unread_tables()]


def _objects(rows: list[dict[str, Any]], columns: Sequence[str]) -> tuple[tuple[str, ...], Rows]:
    return tuple(columns), [tuple(row.get(c) for c in columns) for row in rows]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def render(headers: Sequence[str], rows: Rows, form: str) -> str:
    if form == "json":
        return json.dumps([dict(zip(headers, row)) for row in rows], indent=2, default=str)
    if form == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows([[_cell(v) for v in row] for row in rows])
        return out.getvalue().rstrip("\n")
    if not rows:
        return "(none)"
    return text_table(tuple(headers), [tuple(_cell(v) for v in row) for row in rows])
