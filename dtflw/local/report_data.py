"""The run report's data: what `run.json` holds and every page of the report is drawn from.

`run_data` turns a run's records (every executed notebook), the flows created during the run
(every declared notebook, with skipped and upstream_failed ones) and the run's error into one
plain, JSON-ready dict. The HTML page and the PDF read only this dict, so `dtflw report RUN_DIR`
can draw them again from `run.json` alone. Every text in it has passed the run's redactor.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dtflw.errors import InvalidArgumentError
from dtflw.local.records import NotebookRecord, NotebookStatus
from dtflw.local.summary import deepest_failure

RUN_JSON = "run.json"
FORMAT_VERSION = 1

Redact = Callable[[str], str]

# How a report names the run as a whole (`data["status"]`).
RUN_FAILED = "failed"
RUN_SUCCEEDED = "succeeded"
RUN_INTERRUPTED = "interrupted"
RUN_EMPTY = "nothing ran"
NOT_RUN = "not run"  # a declared notebook of a flow that never ran (declare-only, or the flow raised first)


def _same(text: str) -> str:
    return text


def run_data(
    records: Sequence[NotebookRecord],
    title: str,
    flows: Iterable[Any] = (),
    error: BaseException | None = None,
    redact: Redact | None = None,
    files: Mapping[int, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """The report's data: records, flows, failure, status, counts. `files[record.id]` names the
    record's written notebook files (`{"ipynb": ..., "html": ...}`)."""
    red = redact or _same
    started = min((r.started for r in records), default=None)
    ended = max((r.ended or r.started for r in records), default=None)
    data: dict[str, Any] = {
        "dtflw_report": FORMAT_VERSION,
        "title": red(title),
        "written": time.time(),
        "started": started,
        "ended": ended,
        "error": red(_error_text(error)) if error is not None else None,
        "interrupted": isinstance(error, KeyboardInterrupt),
        "records": [_record(r, red, (files or {}).get(r.id, {})) for r in records],
        "flows": [_flow(f, records, red) for f in flows],
        "notes": [],
    }
    data["failure"] = _failure(records, data, red)
    data["status"] = run_status(data)
    return data


def _error_text(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _record(record: NotebookRecord, red: Redact, files: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": record.id,
        "parent": record.parent,
        "workspace_path": record.workspace_path,
        "file": record.file,
        "arguments": {k: red(v) for k, v in record.arguments.items()},
        "status": str(record.status),
        "started": record.started,
        "ended": record.ended,
        "seconds": round(record.seconds, 3),
        "exit_value": red(record.exit_value) if record.exit_value is not None else None,
        "error": red(record.error) if record.error is not None else None,
        "error_cell": record.error_cell,
        "error_line": record.error_line,
        "cells": len(record.cells),
        "ipynb": files.get("ipynb"),
        "html": files.get("html"),
    }


def _traceback(record: NotebookRecord) -> str:
    """The text of the failing cell's error output (the traceback), if there is one."""
    cells = [c for c in record.cells if c.cell.index == record.error_cell] or record.cells[-1:]
    for cell in cells:
        for output in reversed(cell.outputs):
            if output.kind == "error":
                return output.text
    return ""


def _failure(records: Sequence[NotebookRecord], data: dict[str, Any], red: Redact) -> dict[str, Any] | None:
    """Where the run failed: the deepest failed notebook, else a failed flow notebook, else the error."""
    origin = deepest_failure(records)
    if origin is not None:
        by_id = {r.id: r for r in records}
        chain, parent = [], by_id.get(origin.parent) if origin.parent is not None else None
        while parent is not None:
            chain.append(parent.workspace_path)
            parent = by_id.get(parent.parent) if parent.parent is not None else None
        return {
            "notebook": origin.workspace_path,
            "file": origin.file,
            "record": origin.id,
            "cell": None if origin.error_cell is None else origin.error_cell + 1,
            "line": origin.error_line,
            "message": red(origin.error or "failed"),
            "called_from": chain,
            "traceback": red(_traceback(origin)),
        }
    for flow in data["flows"]:
        for nb in flow["notebooks"]:
            if nb["status"] == "failed":
                return {"notebook": nb["workspace_path"], "message": nb["error"] or nb["reason"] or "failed"}
    if data["error"] is not None and not data["interrupted"]:
        return {"notebook": None, "message": data["error"]}
    return None


def _flow(flow: Any, records: Sequence[NotebookRecord], red: Redact) -> dict[str, Any]:
    """One flow: its declared notebooks with their statuses, and its lineage graph as SVG."""
    try:
        graph = flow.graph()
        paths = {node.id: node.path for node in graph.notebooks}
        svg: str | None = red(graph.to_svg())
    except Exception:  # a flow left half-declared by a failing driver still gets listed
        graph, paths, svg = None, {}, None
    ids_by_path: dict[str, list[int]] = {}
    for record in records:
        ids_by_path.setdefault(record.workspace_path, []).append(record.id)
    result = getattr(flow, "last_result", None)
    notebooks: list[dict[str, Any]] = []
    if result is not None:
        for r in result.results:
            path = paths.get(f"nb:{r.key}", r.notebook)
            notebooks.append(
                {
                    "key": r.key,
                    "notebook": r.notebook,
                    "workspace_path": path,
                    "status": str(r.status),
                    "reason": red(r.reason),
                    "attempts": r.attempts,
                    "seconds": round(r.seconds, 3),
                    "exit_value": red(r.exit_value) if r.exit_value is not None else None,
                    "error": red(r.error) if r.error is not None else None,
                    "records": ids_by_path.get(path, []),
                }
            )
    elif graph is not None:
        for node in graph.notebooks:
            status = node.status or NOT_RUN
            notebooks.append(
                {"key": node.id.removeprefix("nb:"), "notebook": node.label, "workspace_path": node.path}
                | {"status": str(status), "reason": "", "attempts": 0, "seconds": 0.0, "exit_value": None}
                | {"error": None, "records": ids_by_path.get(node.path, [])}
            )
    return {
        "name": red(str(getattr(flow, "name", "flow"))),
        "run_id": getattr(result, "run_id", None),
        "notebooks": notebooks,
        "lineage_svg": svg,
    }


def run_status(data: Mapping[str, Any]) -> str:
    """failed, interrupted, succeeded, or "nothing ran" (never "succeeded" when nothing ran)."""
    statuses = [r["status"] for r in data["records"]]
    statuses += [nb["status"] for f in data["flows"] for nb in f["notebooks"]]
    if data["interrupted"] or "cancelled" in statuses or NotebookStatus.RUNNING.value in statuses:
        return RUN_INTERRUPTED
    if data["error"] is not None or data.get("failure") or "failed" in statuses or "upstream_failed" in statuses:
        return RUN_FAILED
    return RUN_SUCCEEDED if data["records"] else RUN_EMPTY


def counts(statuses: Iterable[str]) -> dict[str, int]:
    """Status -> how many, in a fixed, readable order."""
    order = ["failed", "upstream_failed", "cancelled", "running", "succeeded", "skipped", NOT_RUN]
    out: dict[str, int] = {}
    for status in statuses:
        out[status] = out.get(status, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def summary_line(data: Mapping[str, Any]) -> str:
    """E.g. "3 notebooks executed: 1 failed, 2 succeeded · flow demo: 1 failed, 1 upstream_failed"."""
    records = data["records"]
    parts = []
    if records:
        word = "notebook" if len(records) == 1 else "notebooks"
        parts.append(f"{len(records)} {word} executed: " + _counted(r["status"] for r in records))
    else:
        parts.append("no notebook was executed")
    for flow in data["flows"]:
        parts.append(f"flow {flow['name']}: " + (_counted(nb["status"] for nb in flow["notebooks"]) or "empty"))
    if data["started"] is not None and data["ended"] is not None:
        parts.append(f"{data['ended'] - data['started']:.2f} s")
    return " · ".join(parts)


def _counted(statuses: Iterable[str]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts(statuses).items())


def save(data: Mapping[str, Any], folder: Path) -> Path:
    path = folder / RUN_JSON
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def load(folder: str | Path) -> dict[str, Any]:
    """The data a report folder (or its `run.json`) was written from."""
    path = Path(folder)
    if path.is_dir():
        path = path / RUN_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        reason = "not found" if isinstance(error, FileNotFoundError) else str(error)
        raise InvalidArgumentError(f"cannot read the run report data {str(path)!r}: {reason}") from None
    if not isinstance(data, dict) or data.get("dtflw_report") != FORMAT_VERSION:
        raise InvalidArgumentError(f"{str(path)!r} is not the {RUN_JSON} of a dtflw run report")
    return data
