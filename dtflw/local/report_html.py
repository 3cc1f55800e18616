"""The report's `index.html`: the page to open first.

From the top: the run's status and summary, the failure (notebook, cell, line, message, traceback),
a timeline (Gantt) of every executed notebook, each flow's declared notebooks with their statuses
and lineage graph, and the tree of executed notebooks with links to their pages. One self-contained
file: inline CSS and SVG, no scripts, nothing fetched, so it works offline and prints well.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping, Sequence
from typing import Any

from dtflw.local.report_data import summary_line

COLORS = {
    "succeeded": "#2f9e44",
    "failed": "#e03131",
    "upstream_failed": "#f08c00",
    "skipped": "#adb5bd",
    "cancelled": "#7950f2",
    "running": "#7950f2",
    "interrupted": "#7950f2",
    "nothing ran": "#e03131",
    "not run": "#ced4da",
}

_CSS = """
body { font-family: system-ui, -apple-system, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 1.5em;
  color: #212529; }
h1 { font-size: 1.5em; margin: .2em 0; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #dee2e6; }
.badge { display: inline-block; padding: .05em .5em; border-radius: 4px; color: #fff; font-size: .85em;
  white-space: nowrap; }
.headline .badge { font-size: 1.1em; padding: .2em .7em; margin-right: .5em; text-transform: uppercase; }
.failure { border: 2px solid #e03131; background: #fff5f5; border-radius: 6px; padding: .6em 1em; margin: 1em 0; }
.failure h2 { margin: 0 0 .4em; border: 0; color: #c92a2a; }
.failure .message { font-family: ui-monospace, monospace; font-size: 1.05em; white-space: pre-wrap;
  word-break: break-word; }
pre { white-space: pre-wrap; word-break: break-word; background: #f8f9fa; padding: .5em; font-size: .85em; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
td, th { border-bottom: 1px solid #dee2e6; padding: .3em .5em; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #f1f3f5; } tr.failed td { background: #fff5f5; } tr.upstream_failed td { background: #fff4e6; }
col.status { width: 9em; } col.time { width: 5.5em; } col.n { width: 6.5em; } col.links { width: 7em; }
.args { color: #495057; font-size: .8em; font-family: ui-monospace, monospace; }
.muted { color: #868e96; } .lineage { overflow: auto; border: 1px solid #dee2e6; border-radius: 6px; }
.timeline svg { width: 100%; height: auto; }
@media print { body { max-width: none; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def badge(status: str) -> str:
    return f'<span class="badge" style="background:{COLORS.get(status, "#495057")}">{_e(status)}</span>'


def index_html(data: Mapping[str, Any]) -> str:
    """The whole page, from the report data (`report_data.run_data`)."""
    written = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data["written"]))
    parts = [
        f"<h1>{_e(data['title'])}</h1>",
        f'<p class="headline">{badge(data["status"])} {_e(summary_line(data))}</p>',
        _failure(data),
        _notes(data),
        '<h2 id="timeline">Timeline</h2>',
        f'<div class="timeline">{timeline_svg(data["records"])}</div>',
        *[_flow(flow) for flow in data["flows"]],
        '<h2 id="notebooks">Executed notebooks</h2>',
        _records_table(data["records"]),
        f'<p class="muted">Written {written} by dtflw. Data: <a href="run.json">run.json</a>.</p>',
    ]
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(data['title'])}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(p for p in parts if p)
        + "\n</body></html>\n"
    )


def _notebook_link(data: Mapping[str, Any], record_id: int | None, cell: int | None = None) -> str:
    record = next((r for r in data["records"] if r["id"] == record_id), None)
    if record is None:
        return ""
    target = record.get("html") or record.get("ipynb")
    if not target:
        return ""
    anchor = f"#cell-{cell}" if cell is not None and record.get("html") else ""
    return f' <a href="{_e(target + anchor)}">open the notebook{" at the cell" if anchor else ""}</a>'


def _failure(data: Mapping[str, Any]) -> str:
    failure = data.get("failure")
    if not failure:
        if data["status"] == "interrupted" and data["error"]:
            return f'<div class="failure"><h2>Interrupted</h2><div class="message">{_e(data["error"])}</div></div>'
        return ""
    where = []
    if failure.get("notebook"):
        where.append(f"notebook <b>{_e(failure['notebook'])}</b>")
    if failure.get("file"):
        where.append(_e(failure["file"]))
    if failure.get("cell") is not None:
        where.append(f"cell {failure['cell']}")
    if failure.get("line") is not None:
        where.append(f"line {failure['line']}")
    link = _notebook_link(data, failure.get("record"), failure.get("cell"))
    chain = failure.get("called_from") or []
    via = f'<p class="muted">Called from {" &larr; ".join(_e(c) for c in chain)}</p>' if chain else ""
    tb = failure.get("traceback") or ""
    trace = f"<details><summary>Traceback</summary><pre>{_e(tb)}</pre></details>" if tb else ""
    place = f"<p>In {', '.join(where)}.{link}</p>" if where else ""
    return (
        f'<div class="failure" id="failure"><h2>Failure</h2>{place}'
        f'<div class="message">{_e(failure["message"])}</div>{via}{trace}</div>'
    )


def _notes(data: Mapping[str, Any]) -> str:
    return "".join(f'<p class="muted">Note: {_e(n)}</p>' for n in data.get("notes", []))


def _flow(flow: Mapping[str, Any]) -> str:
    run = f' <span class="muted">run {_e(flow["run_id"])}</span>' if flow.get("run_id") else ""
    rows = []
    for nb in flow["notebooks"]:
        detail = nb["error"] or nb["reason"] or (f"exit: {nb['exit_value']}" if nb.get("exit_value") else "")
        path = nb["workspace_path"]
        label = _e(nb["notebook"]) + (f'<div class="args">{_e(path)}</div>' if path != nb["notebook"] else "")
        rows.append(
            f'<tr class="{_e(nb["status"])}"><td>{label}</td><td>{badge(nb["status"])}</td>'
            f"<td>{nb['attempts']}</td><td>{nb['seconds']:.2f} s</td><td>{_e(detail)}</td></tr>"
        )
    table = (
        '<table><colgroup><col><col class="status"><col class="n"><col class="time"><col></colgroup>'
        "<thead><tr><th>declared notebook</th><th>status</th><th>attempts</th><th>time</th><th>detail</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )
    svg = flow.get("lineage_svg")
    lineage = f'<h3>Lineage</h3><div class="lineage">{svg}</div>' if svg else ""
    return f"<h2>Flow {_e(flow['name'])}{run}</h2>{table}{lineage}"


def _records_table(records: Sequence[Mapping[str, Any]]) -> str:
    if not records:
        return '<p class="muted">No notebook was executed.</p>'
    known = {r["id"] for r in records}
    children: dict[int | None, list[Mapping[str, Any]]] = {}
    for record in records:
        parent = record["parent"] if record["parent"] in known else None
        children.setdefault(parent, []).append(record)
    rows: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for r in children.get(parent, []):
            args = ", ".join(f"{k}={v}" for k, v in r["arguments"].items())
            detail = r["error"] or (f"exit: {r['exit_value']}" if r["exit_value"] else "")
            links = " ".join(f'<a href="{_e(r[kind])}">{kind}</a>' for kind in ("html", "ipynb") if r.get(kind))
            rows.append(
                f'<tr class="{_e(r["status"])}" id="nb-{r["id"]}"><td style="padding-left:{depth * 1.2 + 0.5}em">'
                f'{_e(r["workspace_path"])}<div class="args">{_e(args)}</div></td><td>{badge(r["status"])}</td>'
                f"<td>{r['seconds']:.2f} s</td><td>{_e(detail)}</td><td>{links}</td></tr>"
            )
            walk(r["id"], depth + 1)

    walk(None, 0)
    return (
        '<table><colgroup><col style="width:40%"><col class="status"><col class="time"><col><col class="links">'
        "</colgroup><thead><tr><th>notebook</th><th>status</th><th>time</th><th>result</th><th>pages</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


# ---- timeline ---------------------------------------------------------------------------------
_LABEL_W, _CHART_W, _ROW_H, _TOP = 300, 640, 22, 26


def _step(total: float) -> float:
    """A round tick step giving 4 to 10 ticks over `total` seconds."""
    step = 0.001
    while total / step > 10:
        for factor in (2, 2.5, 2):
            step *= factor
            if total / step <= 10:
                break
    return step


def timeline_bars(records: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, float, float, int]]:
    """(label, status, start offset, end offset, depth) per executed notebook, by start time."""
    if not records:
        return []
    t0 = min(r["started"] for r in records)
    depth: dict[int, int] = {}
    for r in records:
        depth[r["id"]] = depth.get(r["parent"], -1) + 1 if r["parent"] is not None else 0
    ordered = sorted(records, key=lambda r: (r["started"], r["id"]))
    return [
        (r["workspace_path"], r["status"], r["started"] - t0, (r["ended"] or r["started"]) - t0, depth[r["id"]])
        for r in ordered
    ]


def timeline_svg(records: Sequence[Mapping[str, Any]]) -> str:
    """A Gantt chart: one labelled bar per executed notebook from its start to its end, coloured by status."""
    bars = timeline_bars(records)
    if not bars:
        return '<p class="muted">No notebook was executed.</p>'
    total = max(max(end for _, _, _, end, _ in bars), 0.001)
    scale = _CHART_W / total
    height = _TOP + _ROW_H * len(bars) + 8
    width = _LABEL_W + _CHART_W + 130
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        ' font-family="system-ui, sans-serif" font-size="12" role="img" aria-label="timeline">'
    ]
    step = _step(total)
    tick = 0.0
    while tick <= total * 1.0001:
        x = _LABEL_W + tick * scale
        out.append(f'<line x1="{x:.1f}" y1="{_TOP - 6}" x2="{x:.1f}" y2="{height - 4}" stroke="#e9ecef"/>')
        out.append(f'<text x="{x:.1f}" y="{_TOP - 10}" text-anchor="middle" fill="#868e96">{tick:g} s</text>')
        tick = round(tick + step, 6)
    for row, (label, status, start, end, depth) in enumerate(bars):
        y = _TOP + row * _ROW_H
        x = _LABEL_W + start * scale
        w = max((end - start) * scale, 2.0)
        short = label if len(label) <= 44 - 2 * depth else "…" + label[-(43 - 2 * depth) :]
        color = COLORS.get(status, "#495057")
        tip = f"{label}: {status}, {end - start:.2f} s (from +{start:.2f} s)"
        out.append(
            f"<g><title>{_e(tip)}</title>"
            f'<text x="{6 + depth * 10}" y="{y + 15}" fill="#212529">{_e(short)}</text>'
            f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{_ROW_H - 6}" rx="3" fill="{color}"/>'
            f'<text x="{x + w + 4:.1f}" y="{y + 15}" fill="#495057">{end - start:.2f} s {_e(status)}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)
