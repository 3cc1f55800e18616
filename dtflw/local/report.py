"""The run report: every executed notebook as an `.ipynb` with its outputs, plus `index.html`.

`index.html` shows the notebook tree (who called whom), arguments (redacted), status,
durations and links to the notebooks.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dtflw.local.records import CellRecord, NotebookRecord, NotebookStatus, Output
from dtflw.local.source import cell_to_ipynb

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def notebook_filename(record: NotebookRecord) -> str:
    """A unique, readable file name for one executed notebook."""
    stem = _UNSAFE.sub("_", record.workspace_path.strip("/"))[-80:]
    return f"{record.id:03d}_{stem}.ipynb"


def _output_json(output: Output) -> dict[str, Any]:
    if output.kind == "stream":
        return {"output_type": "stream", "name": "stdout", "text": output.text}
    if output.kind == "error":
        return {
            "output_type": "error",
            "ename": output.data.get("ename", "Error"),
            "evalue": output.data.get("evalue", ""),
            "traceback": output.text.splitlines(),
        }
    data: dict[str, Any] = {"text/plain": output.text}
    if "text/html" in output.data:
        data["text/html"] = output.data["text/html"]
    if output.kind == "warning":
        return {"output_type": "stream", "name": "stderr", "text": f"WARNING: {output.text}\n"}
    if output.kind == "markdown":
        data = {"text/markdown": output.text}
    return {"output_type": "display_data", "data": data, "metadata": {}}


def _cell_json(record: CellRecord) -> dict[str, Any]:
    """The cell as `source.cell_to_ipynb` renders it, plus its outputs and timing."""
    cell = cell_to_ipynb(record.cell)
    cell["metadata"]["dtflw"] = {"status": record.status, "seconds": round(record.seconds, 3)}
    if cell["cell_type"] == "code":
        cell["execution_count"] = record.cell.index + 1
        cell["outputs"] = [_output_json(o) for o in record.outputs if o.kind != "markdown"]
    return cell


def notebook_json(record: NotebookRecord) -> dict[str, Any]:
    """An nbformat-4 document of the executed notebook with its outputs and timings."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "language_info": {"name": "python"},
            "dtflw": {
                "workspace_path": record.workspace_path,
                "file": record.file,
                "arguments": record.arguments,
                "status": record.status,
                "seconds": round(record.seconds, 3),
                "exit_value": record.exit_value,
                "error": record.error,
            },
        },
        "cells": [_cell_json(c) for c in record.cells],
    }


def write_report(records: Iterable[NotebookRecord], directory: str | Path, title: str = "dtflw run") -> Path:
    """Write one `.ipynb` per record and `index.html`; returns the index path."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    records = list(records)
    for record in records:
        (out / notebook_filename(record)).write_text(json.dumps(notebook_json(record), indent=1), encoding="utf-8")
    index = out / "index.html"
    index.write_text(index_html(records, title), encoding="utf-8")
    return index


def _children(records: list[NotebookRecord]) -> dict[int | None, list[NotebookRecord]]:
    tree: dict[int | None, list[NotebookRecord]] = {}
    known = {r.id for r in records}
    for record in records:
        parent = record.parent if record.parent in known else None
        tree.setdefault(parent, []).append(record)
    return tree


def _rows(tree: dict[int | None, list[NotebookRecord]], parent: int | None, depth: int) -> list[str]:
    rows = []
    for record in tree.get(parent, []):
        args = ", ".join(f"{k}={v}" for k, v in record.arguments.items())
        detail = record.error or (f"exit: {record.exit_value}" if record.exit_value else "")
        rows.append(
            f"<tr class='{record.status}'><td style='padding-left:{depth * 1.5 + 0.5}em'>"
            f"<a href='{html.escape(notebook_filename(record))}'>{html.escape(record.workspace_path)}</a></td>"
            f"<td>{record.status}</td><td>{record.seconds:.2f} s</td>"
            f"<td><code>{html.escape(args)}</code></td><td>{html.escape(detail)}</td></tr>"
        )
        rows += _rows(tree, record.id, depth + 1)
    return rows


def index_html(records: list[NotebookRecord], title: str) -> str:
    """A self-contained HTML page listing the run's notebooks as a tree."""
    rows = "\n".join(_rows(_children(records), None, 0))
    failed = sum(r.status is NotebookStatus.FAILED for r in records)
    summary = f"{len(records)} notebooks, {failed} failed" if failed else f"{len(records)} notebooks, all succeeded"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #ddd; padding: .3em .6em; text-align: left; }}
tr.failed td {{ background: #fde2e2; }} tr.succeeded td:nth-child(2) {{ color: #17803d; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{summary} &middot; written {time.strftime("%Y-%m-%d %H:%M:%S")}</p>
<table><thead><tr><th>notebook</th><th>status</th><th>duration</th><th>arguments</th><th>result</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""
