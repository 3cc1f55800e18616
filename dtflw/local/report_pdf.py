"""The run report as one PDF (`--report-format pdf`, `dtflw report RUN_DIR --pdf`), made with fpdf2
(pure Python, from the `local` extra; no browser): status, failure, timeline, every declared
notebook of each flow, the executed notebooks and each flow's lineage graph."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dtflw.errors import InvalidArgumentError
from dtflw.local.report_data import summary_line
from dtflw.local.report_html import COLORS, timeline_bars

_ASCII = str.maketrans({"…": "...", "←": "<-", "→": "->", "·": "-", "—": "-", "–": "-", "“": '"', "”": '"'})


def _t(text: object) -> str:
    """Text the PDF core fonts can show (latin-1)."""
    return str(text).translate(_ASCII).encode("latin-1", "replace").decode("latin-1")


def _rgb(status: str) -> tuple[int, int, int]:
    color = COLORS.get(status, "#495057").lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def write_pdf(data: Mapping[str, Any], path: Path) -> Path:
    """Write the report data (`report_data.run_data` / `run.json`) as a PDF at `path`."""
    try:
        from fpdf import FPDF
    except ImportError:
        raise InvalidArgumentError("a PDF report needs the fpdf2 package: pip install 'dtflw[local]'") from None
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_margins(12, 12, 12)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(width, 8, _t(data["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_fill_color(*_rgb(data["status"]))
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(pdf.get_string_width(_t(data["status"]).upper()) + 6, 7, _t(data["status"]).upper(), fill=True)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(3, 7, "")
    pdf.multi_cell(0, 7, _t(summary_line(data)), new_x="LMARGIN", new_y="NEXT")
    written = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data["written"]))
    _small(pdf, f"Written {written} by dtflw.")
    _failure(pdf, data, width)
    for note in data.get("notes", []):
        _small(pdf, f"Note: {note}")
    _heading(pdf, "Timeline")
    _timeline(pdf, data["records"], width)
    for flow in data["flows"]:
        run = f" (run {flow['run_id']})" if flow.get("run_id") else ""
        _heading(pdf, f"Flow {flow['name']}{run}")
        rows = [
            (nb["notebook"], nb["status"], str(nb["attempts"]), f"{nb['seconds']:.2f} s", nb["error"] or nb["reason"])
            for nb in flow["notebooks"]
        ]
        _table(pdf, ("declared notebook", "status", "attempts", "time", "detail"), rows, (0.3, 0.15, 0.1, 0.1, 0.35))
    _heading(pdf, "Executed notebooks")
    executed = [
        (r["workspace_path"], r["status"], f"{r['seconds']:.2f} s", r["error"] or (r["exit_value"] or ""))
        for r in data["records"]
    ]
    _table(pdf, ("notebook", "status", "time", "result"), executed, (0.45, 0.15, 0.1, 0.3))
    for flow in data["flows"]:
        _lineage(pdf, flow, width)
    pdf.output(str(path))
    return path


def _small(pdf: Any, text: str) -> None:
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(110, 110, 110)
    pdf.multi_cell(0, 4, _t(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _heading(pdf: Any, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 7, _t(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)


def _failure(pdf: Any, data: Mapping[str, Any], width: float) -> None:
    failure = data.get("failure")
    if not failure:
        return
    _heading(pdf, "Failure")
    where = [f"notebook {failure['notebook']}"] if failure.get("notebook") else []
    where += [failure["file"]] if failure.get("file") else []
    where += [f"cell {failure['cell']}"] if failure.get("cell") is not None else []
    where += [f"line {failure['line']}"] if failure.get("line") is not None else []
    pdf.set_text_color(201, 42, 42)
    if where:
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(width, 5, _t("In " + ", ".join(where)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", "", 9)
    pdf.multi_cell(width, 4.5, _t(failure["message"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    if failure.get("called_from"):
        _small(pdf, "Called from " + " <- ".join(failure["called_from"]))
    if failure.get("traceback"):
        pdf.set_font("Courier", "", 7)
        pdf.multi_cell(width, 3.5, _t(failure["traceback"][-3000:]), new_x="LMARGIN", new_y="NEXT")


def _timeline(pdf: Any, records: Sequence[Mapping[str, Any]], width: float) -> None:
    bars = timeline_bars(records)
    if not bars:
        _small(pdf, "No notebook was executed.")
        return
    label_w, row_h = width * 0.38, 5.0
    chart_w = width - label_w - 28
    total = max(max(end for _, _, _, end, _ in bars), 0.001)
    pdf.set_font("Helvetica", "", 7)
    for label, status, start, end, depth in bars:
        if pdf.get_y() + row_h > pdf.h - pdf.b_margin:
            pdf.add_page()
        y = pdf.get_y()
        text = _t(label if len(label) <= 52 else "..." + label[-49:])
        pdf.set_xy(pdf.l_margin + depth * 2, y)
        pdf.cell(label_w - depth * 2, row_h, text)
        x = pdf.l_margin + label_w + start / total * chart_w
        w = max((end - start) / total * chart_w, 0.6)
        pdf.set_fill_color(*_rgb(status))
        pdf.rect(x, y + 0.8, w, row_h - 1.6, style="F")
        pdf.set_xy(x + w + 1, y)
        pdf.cell(26, row_h, _t(f"{end - start:.2f} s {status}"))
        pdf.set_xy(pdf.l_margin, y + row_h)
    _small(pdf, f"0 to {total:.2f} s")


def _table(pdf: Any, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
    if not rows:
        _small(pdf, "None.")
        return
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(col_widths=[w * 100 for w in widths], text_align="LEFT", line_height=4) as table:
        table.row([_t(h) for h in header])
        for row in rows:
            table.row([_t(cell) for cell in row])


def _lineage(pdf: Any, flow: Mapping[str, Any], width: float) -> None:
    svg = flow.get("lineage_svg")
    if not svg:
        return
    pdf.add_page()
    _heading(pdf, f"Lineage of flow {flow['name']}")
    svg_log = logging.getLogger("fpdf.svg")  # it logs each SVG element it skips (<title>, <marker>)
    level = svg_log.level
    svg_log.setLevel(logging.ERROR)
    try:
        pdf.image(io.BytesIO(svg.encode("utf-8")), w=width)
    except Exception as error:  # fpdf2 draws a subset of SVG; the HTML page always has the graph
        _small(pdf, f"(the lineage graph could not be drawn in the PDF: {type(error).__name__}; see index.html)")
    finally:
        svg_log.setLevel(level)
