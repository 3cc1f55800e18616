"""A static run dashboard: one self-contained HTML page (inline SVG and CSS, no scripts, nothing
fetched), written by `write_dashboard(catalog, folder)` or shown in a notebook with
`displayHTML(dashboard_html(catalog))`.

Sections: runs over time (one row per notebook, one cell per run, coloured by status, its
duration on hover), the slowest notebooks (median seconds), failure rates, and the lineage of
every flow recorded on the storage, drawn as one graph.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dtflw.catalog.catalog import Catalog
from dtflw.errors import InvalidArgumentError
from dtflw.lineage.graph import LineageGraph
from dtflw.lineage.nodes import NOTEBOOK, STATUS_COLOURS, TABLE, Edge, Node

MAX_RUNS = 60
_PARTITION = re.compile(r"(?<=/)([A-Za-z_][A-Za-z0-9_]*)=[^/]+")
_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#212529}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table.grid{border-collapse:collapse;font-size:12px}
table.grid td{width:14px;height:14px;border:1px solid #fff}
table.grid th{text-align:right;font-weight:normal;padding-right:8px;white-space:nowrap}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border-radius:3px;font-size:12px}
.muted{color:#868e96;font-size:13px}
svg{max-width:100%;height:auto}
"""


def dashboard_html(catalog: Catalog, title: str = "dtflw runs") -> str:
    """The dashboard page as one HTML string."""
    runs = catalog.runs(kind="records")[-MAX_RUNS:]
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='muted'>{len(catalog.runs(kind='records'))} run(s), "
        f"{len(catalog.notebooks(kind='records'))} notebook(s), {len(catalog.tables(kind='records'))} table(s) "
        f"recorded under {html.escape(catalog.storage.base_path)}</p>",
        "<h2>Runs over time</h2>",
        _legend(),
        _grid(catalog, [r["run_id"] for r in runs]),
        "<h2>Slowest notebooks (median seconds of successful runs)</h2>",
        _bars([(nb, s) for nb, s in catalog.slowest(10)], "s"),
        "<h2>Failure rates</h2>",
        _bars([(nb, rate * 100) for nb, rate, _ in catalog.failing(10)], "%") or "<p class='muted'>no failures</p>",
        "<h2>Lineage across flows</h2>",
        lineage(catalog).to_svg() if catalog.tables(kind="records") else "<p class='muted'>no tables</p>",
    ]
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )


def write_dashboard(catalog: Catalog, folder: str | Path, title: str = "dtflw runs") -> Path:
    """Write `index.html` into `folder` (made if needed); returns its path."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise InvalidArgumentError(f"Dashboard folder {str(out)!r} is a file.")
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    tmp = out / ".index.html.tmp"
    tmp.write_text(dashboard_html(catalog, title), encoding="utf-8")
    tmp.replace(page)
    return page


def lineage(catalog: Catalog) -> LineageGraph:
    """Every recorded notebook and table as one lineage graph (across flows); the partitions of a
    for-each or backfill output (`.../date=2024-01-01`) are one table (`.../date=*`)."""
    nodes: dict[str, Node] = {}
    edges: dict[Edge, None] = {}
    for nb in catalog.notebooks(kind="records"):
        nodes[f"nb:{nb['path']}"] = Node(f"nb:{nb['path']}", NOTEBOOK, nb["path"].rsplit("/", 1)[-1], nb["path"],
                                         nb["last_status"])  # fmt: skip
    for table in catalog.tables(kind="records"):
        path = _family(table["path"])
        if f"tbl:{path}" not in nodes:
            label = ", ".join(table["names"]) or path.rsplit("/", 1)[-1]
            nodes[f"tbl:{path}"] = Node(f"tbl:{path}", TABLE, label, path, external=not table["producers"])
    for row in catalog.edges(kind="records"):
        if row["kind"] == "reads":
            edges[Edge(f"tbl:{_family(row['source'])}", f"nb:{row['target']}")] = None
        else:
            edges[Edge(f"nb:{row['source']}", f"tbl:{_family(row['target'])}")] = None
    return LineageGraph(tuple(nodes.values()), tuple(edges))


def _family(path: str) -> str:
    return _PARTITION.sub(r"\1=*", path)


def _short(notebook: str) -> str:
    """A notebook path without its `/Users/<name>/` or `/Repos/<name>/` prefix (the title keeps it)."""
    parts = notebook.strip("/").split("/")
    return "/".join(parts[2:]) if len(parts) > 2 and parts[0] in ("Users", "Repos") else notebook


def _legend() -> str:
    items = "".join(
        f"<span style='background:{fill};border:1px solid {stroke}'>{html.escape(status)}</span>"
        for status, (fill, stroke) in STATUS_COLOURS.items()
    )
    return f"<p class='legend'>{items}</p>"


def _grid(catalog: Catalog, run_ids: Sequence[str]) -> str:
    if not run_ids:
        return "<p class='muted'>no runs</p>"
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in catalog.records(kind="records"):
        if rec.get("run_id") in run_ids:
            cells[(str(rec["notebook"]), str(rec["run_id"]))] = rec  # the last attempt wins
    rows = []
    for nb in sorted({nb for nb, _ in cells}):
        tds = []
        for run_id in run_ids:
            rec = cells.get((nb, run_id))
            if rec is None:
                tds.append("<td></td>")
                continue
            status = str(rec.get("status"))
            seconds = rec.get("seconds")
            tip = f"{run_id}: {status}" + (f", {seconds:.1f} s" if isinstance(seconds, (int, float)) else "")
            colour = STATUS_COLOURS.get(status, ("#dee2e6", "#adb5bd"))[1]
            tds.append(f"<td style='background:{colour}' title='{html.escape(tip)}'></td>")
        rows.append(f"<tr><th title='{html.escape(nb)}'>{html.escape(_short(nb))}</th>{''.join(tds)}</tr>")
    return f"<table class='grid'>{''.join(rows)}</table><p class='muted'>oldest run left, newest right</p>"


def _bars(items: Sequence[tuple[str, float]], unit: str) -> str:
    if not items:
        return ""
    top = max(v for _, v in items) or 1.0
    height = 22 * len(items) + 6
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='760' height='{height}' role='img'>"]
    for n, (name, value) in enumerate(items):
        y = 4 + n * 22
        width = max(1.0, 380 * value / top)
        parts.append(
            f"<text x='0' y='{y + 14}' font-size='12'><title>{html.escape(name)}</title>"
            f"{html.escape(_short(name)[-44:])}</text>"
            f"<rect x='340' y='{y}' width='{width:.1f}' height='16' fill='#4dabf7'/>"
            f"<text x='{345 + width:.1f}' y='{y + 13}' font-size='12'>{value:.1f} {unit}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
