"""`dtflw history`, `dtflw catalog ...` and `dtflw dashboard`: what a storage's run history holds,
as rows rendered as a text table, JSON or CSV, or as a static HTML page."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import attrs

from dtflw.catalog import Catalog
from dtflw.cli.checks import check_local_root
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


def _history_storage(args: argparse.Namespace) -> Any:
    """The storage whose run history `history`, `catalog` and `dashboard` read."""
    from dtflw.local.runtime import LocalDbutils, LocalRuntime
    from dtflw.storage import storage_from_url

    if not args.user.strip() or "/" in args.user:
        raise InvalidArgumentError(f"--user expects a non-empty name without '/', got {args.user!r}")
    check_local_root("--dbfs-root", args.dbfs_root)
    runtime = LocalRuntime(dbfs_root=args.dbfs_root, user=args.user, progress=False)
    dbutils = LocalDbutils(runtime, runtime.path_map, user=args.user)
    url = args.storage or f"dbfs:/FileStore/{args.user}"
    storage = storage_from_url(url, dbutils=dbutils)
    if args.storage and not storage._path_exists(storage.base_path):  # a typo'd URL or folder: not "no runs"
        raise InvalidArgumentError(
            f"--storage {url!r}: nothing is there ({storage.base_path}); expected a storage URL such as "
            "dbfs:/FileStore/<user>, /Volumes/<catalog>/<schema>/<volume>, abfss://... or a local folder."
        )
    return storage


def catalog_command(args: argparse.Namespace) -> int:
    headers, rows = answer(_history_storage(args), args.what, args.names, args.last)
    print(render(headers, rows, args.format))
    return 0


def dashboard_command(args: argparse.Namespace) -> int:
    from dtflw.catalog import Catalog
    from dtflw.catalog.dashboard import write_dashboard

    page = write_dashboard(Catalog(_history_storage(args)), args.output)
    print(page)
    return 0


def history_command(args: argparse.Namespace) -> int:
    from dtflw.run.history import HistoryStore

    records = HistoryStore(_history_storage(args)).records(args.run, args.flow)
    if not records:
        print("no runs recorded")
        return 0
    rows = [
        (
            r.run_id,
            r.notebook,
            str(r.attempt),
            r.status,
            "" if r.seconds is None else f"{r.seconds:.1f}",
            r.error or r.reason,
        )
        for r in records
    ]
    print(text_table(("run", "notebook", "attempt", "status", "seconds", "detail"), rows))
    return 0
