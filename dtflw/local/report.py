"""The run report of `dtflw run` (`--report`, default `.dtflw-run/report`).

`index.html` is the page to open first: the run's status, the failure (notebook, cell, line,
message), a timeline of every executed notebook, every declared notebook of each flow with its
status (skipped and upstream_failed too) and lineage graph, and the tree of executed notebooks.
Beside it: each executed notebook as `.ipynb` (nbformat 4.5) and as `.html` (nbconvert),
`run.json` (the data the pages are drawn from) and, on request, `report.pdf`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dtflw.errors import InvalidArgumentError
from dtflw.local import report_data
from dtflw.local.records import NotebookRecord
from dtflw.local.report_html import index_html
from dtflw.local.report_notebooks import (
    NBCONVERT_MISSING,
    NBFORMAT_MISSING,
    HtmlRenderer,
    notebook_filename,
    notebook_node,
    write_notebook,
)

__all__ = ["FORMATS", "notebook_filename", "notebook_node", "rebuild_report", "write_report"]

FORMATS = ("html", "pdf")
PDF_NAME = "report.pdf"


def write_report(
    records: Iterable[NotebookRecord],
    directory: str | os.PathLike[str],
    title: str = "dtflw run",
    *,
    flows: Iterable[Any] = (),
    error: BaseException | None = None,
    redact: Callable[[str], str] | None = None,
    formats: Iterable[str] = ("html",),
) -> Path:
    """Write the report into `directory`; returns the path of `index.html`.

    `flows`: the `Flow`s created during the run (their declared notebooks and lineage are listed);
    `error`: what ended the run, if it failed before or outside any notebook (e.g. a missing entry
    file); `redact`: the run's secret redactor, applied to every text taken from flows and errors;
    `formats`: "html" (always written) and "pdf" (`report.pdf`, needs fpdf2).
    """
    formats = _check_formats(formats)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    records = list(records)
    notes: list[str] = []
    files: dict[int, dict[str, str]] = {}
    renderer = HtmlRenderer()
    if not renderer.available:
        notes.append(NBCONVERT_MISSING)
    for record in records:
        try:
            ipynb = write_notebook(record, out)
        except ImportError:
            notes.append(NBFORMAT_MISSING)
            break
        files[record.id] = {"ipynb": ipynb.name}
        if renderer.available:
            files[record.id]["html"] = renderer.render(ipynb, record, redact).name
    data = report_data.run_data(records, title, flows, error, redact, files)
    data["notes"] = sorted(set(notes))
    return _write_pages(data, out, formats)


def rebuild_report(directory: str | os.PathLike[str], formats: Iterable[str] = FORMATS) -> Path:
    """Draw `index.html` (and `report.pdf` with "pdf") again from the folder's `run.json`
    (`dtflw report RUN_DIR --pdf`); returns the path of the last file written."""
    formats = _check_formats(formats)
    out = Path(directory)
    data = report_data.load(out)
    index = _write_pages(data, out, formats, save=False)
    return out / PDF_NAME if "pdf" in formats else index


def _write_pages(data: dict[str, Any], out: Path, formats: tuple[str, ...], save: bool = True) -> Path:
    if save:
        report_data.save(data, out)
    index = out / "index.html"
    index.write_text(index_html(data), encoding="utf-8")
    if "pdf" in formats:
        from dtflw.local.report_pdf import write_pdf

        write_pdf(data, out / PDF_NAME)
    return index


def _check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(formats)
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise InvalidArgumentError(f"unknown report format(s) {unknown}; expected some of {list(FORMATS)}")
    return chosen
