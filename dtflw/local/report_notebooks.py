"""Each executed notebook of a run as an nbformat 4.5 `.ipynb` (with outputs, timings and cell
ids, written by `nbformat`) and as an HTML page rendered by `nbconvert` next to it.

Both libraries come with the `local` extra. Without `nbformat` no `.ipynb` is written, without
`nbconvert` no HTML page: the report notes why and is written all the same.
"""

from __future__ import annotations

import html
import importlib
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dtflw.local.records import CellRecord, NotebookRecord, Output
from dtflw.local.source import cell_to_ipynb

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
NBFORMAT_MISSING = "nbformat is not installed: no .ipynb written (pip install 'dtflw[local]')"
NBCONVERT_MISSING = "nbconvert is not installed: notebooks not rendered to HTML (pip install 'dtflw[local]')"


def _module(name: str) -> Any:
    """nbformat / nbconvert / pygments, imported on use (they ship no type information)."""
    return importlib.import_module(name)


def notebook_filename(record: NotebookRecord) -> str:
    """A unique, readable file name for one executed notebook."""
    stem = _UNSAFE.sub("_", record.workspace_path.strip("/"))[-80:]
    return f"{record.id:03d}_{stem}.ipynb"


def cell_id(index: int) -> str:
    """The nbformat cell id of a notebook's cell `index` (0-based); HTML anchors use it too."""
    return f"cell-{index + 1}"


def _output(output: Output) -> Any:
    new_output = _module("nbformat.v4").new_output

    if output.kind == "stream":
        return new_output("stream", name="stdout", text=output.text)
    if output.kind == "warning":
        return new_output("stream", name="stderr", text=f"WARNING: {output.text}\n")
    if output.kind == "error":
        traceback = output.text.splitlines()
        return new_output(
            "error",
            ename=str(output.data.get("ename", "Error")),
            evalue=str(output.data.get("evalue", "")),
            traceback=traceback,
        )
    data: dict[str, Any] = {"text/plain": output.text}
    if "text/html" in output.data:
        data["text/html"] = output.data["text/html"]
    return new_output("display_data", data=data)


def _cell(record: CellRecord) -> Any:
    v4 = _module("nbformat.v4")
    rendered = cell_to_ipynb(record.cell)  # the cell as the source module writes it: magic line, title
    source = "".join(rendered["source"])
    metadata = dict(rendered["metadata"])
    metadata["dtflw"] = {"status": str(record.status), "seconds": round(record.seconds, 3)}
    ident = cell_id(record.cell.index)
    if rendered["cell_type"] == "markdown":
        return v4.new_markdown_cell(source, metadata=metadata, id=ident)
    outputs = [_output(o) for o in record.outputs if o.kind != "markdown"]
    return v4.new_code_cell(source, metadata=metadata, id=ident, execution_count=record.cell.index + 1, outputs=outputs)


def notebook_node(record: NotebookRecord) -> Any:
    """The executed notebook as a validated nbformat 4.5 `NotebookNode`."""
    nbformat = _module("nbformat")
    metadata = {
        "language_info": {"name": "python", "pygments_lexer": "python3"},
        "dtflw": {
            "workspace_path": record.workspace_path,
            "file": record.file,
            "arguments": record.arguments,
            "status": str(record.status),
            "seconds": round(record.seconds, 3),
            "exit_value": record.exit_value,
            "error": record.error,
            "error_cell": record.error_cell,
            "error_line": record.error_line,
        },
    }
    node = nbformat.v4.new_notebook(cells=[_cell(c) for c in record.cells], metadata=metadata)
    node.nbformat_minor = 5
    nbformat.validate(node)
    return node


def write_notebook(record: NotebookRecord, folder: Path) -> Path:
    """Write `record` as `.ipynb` into `folder` (raises ImportError without nbformat)."""
    nbformat = _module("nbformat")
    path = folder / notebook_filename(record)
    node = notebook_node(record)
    with path.open("w", encoding="utf-8") as handle:
        nbformat.write(node, handle, version=4, split_lines=False)  # strings stay strings
    return path


_PAGE_CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 2em; }
header { border-bottom: 1px solid #dee2e6; margin-bottom: 1em; }
.status { display: inline-block; padding: 0 .5em; border-radius: 4px; color: #fff; }
.status.succeeded { background: #2f9e44; } .status.failed { background: #e03131; }
.status.running { background: #7950f2; }
.cell { margin: .6em 0; border-left: 3px solid transparent; padding-left: .5em; }
.cell:target { border-left-color: #e03131; }
.input_prompt, .prompt { color: #868e96; font-size: .8em; }
.input_area { background: #f8f9fa; border: 1px solid #e9ecef; border-radius: 4px; padding: 0 .5em; overflow-x: auto; }
.output_area pre { white-space: pre-wrap; word-break: break-word; margin: .3em 0; }
.output_error pre { background: #fff5f5; color: #c92a2a; padding: .3em; }
.output_stderr pre { background: #fff9db; }
table.dataframe { border-collapse: collapse; }
table.dataframe td, table.dataframe th { border: 1px solid #ddd; padding: 2px 6px; }
"""


class HtmlRenderer:
    """Renders `.ipynb` files to standalone HTML pages with nbconvert's `basic` template, no scripts,
    no CDN (the page works offline). `available` is False without nbconvert."""

    def __init__(self) -> None:
        try:
            exporter = _module("nbconvert").HTMLExporter
            formatter = _module("pygments.formatters").HtmlFormatter
        except ImportError:
            self.available = False
            return
        self.available = True
        self._exporter = exporter(template_name="basic")
        self._css: str = _PAGE_CSS + formatter().get_style_defs(".highlight")

    def render(self, ipynb: Path, record: NotebookRecord, redact: Callable[[str], str] | None = None) -> Path:
        """Write `<ipynb stem>.html` beside `ipynb`; returns its path."""
        node = _module("nbformat").read(str(ipynb), as_version=4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body, _ = self._exporter.from_notebook_node(node)
        body = body.replace('id="cell-id=', 'id="')  # `#cell-3` links to the third cell
        css = self._css
        if record.error_cell is not None:  # mark the failing cell (the index page links to it)
            css += f"#{cell_id(record.error_cell)} {{ border-left-color: #e03131; }}"
        title = html.escape(record.workspace_path)
        error = f"<p><b>Error:</b> {html.escape(record.error)}</p>" if record.error else ""
        page = (
            f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{css}</style></head><body><header>"
            f'<p><a href="index.html">&larr; run report</a></p><h1>{title}</h1>'
            f'<p><span class="status {html.escape(str(record.status))}">{html.escape(str(record.status))}</span> '
            f"{html.escape(record.file)} &middot; {record.seconds:.2f} s</p>{error}</header>\n"
            f"{body}\n</body></html>\n"
        )
        if redact is not None:
            page = redact(page)
        path = ipynb.with_suffix(".html")
        path.write_text(page, encoding="utf-8")
        return path
