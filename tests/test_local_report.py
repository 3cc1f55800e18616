"""The run report: index.html (status, failure, timeline, declared notebooks, lineage), executed
notebooks as nbformat 4.5 `.ipynb` + nbconvert HTML, run.json, the PDF, and a real browser.

No Spark: the notebooks only use dbutils. The browser test needs a Chromium binary (skipped
without); `DTFLW_UPDATE_SCREENSHOT=1` makes it rewrite docs/report.png, the README's picture.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import nbformat
import pytest

from dtflw.errors import InvalidArgumentError, NotebookRunError
from dtflw.local import report_data
from dtflw.local.report import rebuild_report, write_report
from dtflw.local.runtime import LocalRuntime

pytestmark = pytest.mark.engines  # make test runs this module on every Spark engine

HEADER = "# Databricks notebook source\n"
SEP = "\n# COMMAND ----------\n"
DRIVER = """\
from dtflw import init_flow
from dtflw.storage.dbfs import init_storage

flow = init_flow(init_storage(), name="demo")
flow.notebook("ingest").args({"year": "2022"}).output("Orders").add()
flow.notebook("clean").input("Orders").output("Clean").add()
flow.notebook("publish").input("Clean").add()
flow.notebook("audit").input("Orders").add()
result = flow.run(max_workers=1)
"""
WRITER = """\
for name, value in dbutils.widgets.getAll().items():
    if name.endswith("_out"):
        dbutils.fs.put(value, "data", True)
"""
MESSAGE = "ZeroDivisionError: division by zero"
ROOT = Path(__file__).resolve().parent.parent


def _notebook(folder: Path, rel: str, *cells: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + SEP.join(textwrap.dedent(c).strip() + "\n" for c in cells))
    return path


def _failing_flow_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[LocalRuntime, list[Any], Exception]:
    """A driver whose flow runs ingest and audit, fails in clean (cell 2) and never runs publish."""
    project = tmp_path / "proj"
    driver = _notebook(project, "driver.py", DRIVER)
    for name in ("ingest", "publish", "audit"):
        _notebook(project, f"{name}.py", WRITER)
    _notebook(project, "clean.py", "# MAGIC %md # Cleaning", "print('cleaning')", "rows = 10\nrows / 0")
    flows: list[Any] = []
    monkeypatch.setattr("dtflw.declare.flow.register_flow", flows.append)  # what the runtime will collect
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    with pytest.raises(NotebookRunError) as info:
        runtime.run_notebook(driver)
    return runtime, flows, info.value


@pytest.fixture
def failed_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    runtime, flows, error = _failing_flow_run(tmp_path, monkeypatch)
    return write_report(runtime.records, tmp_path / "report", "dtflw run driver.py", flows=flows, error=error)


def test_index_shows_status_failure_timeline_declared_notebooks_and_lineage(failed_report: Path) -> None:
    page = failed_report.read_text()
    head = page[: page.index('id="timeline"')]  # the top of the page: summary and failure
    assert ">failed</span>" in head and "all succeeded" not in page
    assert "/Users/user@example.com/proj/clean</b>" in head and "cell 3, line 9" in head and MESSAGE in head
    assert 'href="003_Users_user_example.com_proj_clean.html#cell-3"' in head
    assert "flow demo: 1 failed, 1 upstream_failed, 2 succeeded" in head
    timeline = page[page.index('id="timeline"') : page.index("<h2>Flow demo")]
    assert timeline.count("<rect") == 4 and "#e03131" in timeline and "#2f9e44" in timeline  # 4 executed
    flow = page[page.index("<h2>Flow demo") : page.index('id="notebooks"')]
    for name, status in [("ingest", "succeeded"), ("clean", "failed"), ("publish", "upstream_failed")]:
        assert re.search(rf"<td>{name}<div.*?>{status}</span>", flow), name
    assert "upstream failed: clean" in flow and '<div class="lineage"><svg' in flow


def test_executed_notebooks_are_valid_nbformat_45_with_html_pages(failed_report: Path) -> None:
    folder = failed_report.parent
    notebooks = sorted(folder.glob("*.ipynb"))
    assert [p.stem.split("_")[-1] for p in notebooks] == ["driver", "ingest", "clean", "audit"]
    for path in notebooks:
        node = nbformat.read(path, as_version=4)
        nbformat.validate(node)  # 4.5 requires cell ids
        assert (node.nbformat, node.nbformat_minor) == (4, 5) and all(c.get("id") for c in node.cells)
        assert path.with_suffix(".html").exists()
    clean = nbformat.read(notebooks[2], as_version=4)
    assert [c.id for c in clean.cells] == ["cell-1", "cell-2", "cell-3"]
    assert clean.metadata.dtflw.status == "failed" and clean.cells[2].outputs[-1].ename == "ZeroDivisionError"
    assert clean.cells[1].outputs[0].text == "cleaning\n"
    page = notebooks[2].with_suffix(".html").read_text()
    assert 'id="cell-3"' in page and "ZeroDivisionError" in page and "<script" not in page
    data = json.loads((folder / "run.json").read_text())
    assert data["status"] == "failed" and data["failure"]["cell"] == 3 and len(data["records"]) == 4


def test_missing_entry_file_is_a_failure_not_all_succeeded(tmp_path: Path) -> None:
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    with pytest.raises(InvalidArgumentError) as info:
        runtime.run_notebook(tmp_path / "nope.py")
    page = write_report(runtime.records, tmp_path / "report", "dtflw run nope.py", error=info.value).read_text()
    assert "all succeeded" not in page and "no notebook was executed" in page
    assert ">failed</span>" in page and "nope.py" in page[page.index('class="failure"') :]
    assert write_report([], tmp_path / "empty").read_text().count("nothing ran") == 1  # never "succeeded"


def test_report_without_flows_lists_records_and_redacts(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    _notebook(project, "child.py", "dbutils.notebook.exit('done')")
    main = _notebook(project, "main.py", "dbutils.notebook.run('child', 0, {'k': 'v'})")
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    runtime.run_notebook(main)
    error = RuntimeError("token hunter2 rejected")
    index = write_report(runtime.records, tmp_path / "r", error=error, redact=lambda s: s.replace("hunter2", "***"))
    page = index.read_text()
    assert (
        "hunter2" not in page
        and "token *** rejected" in page
        and "hunter2" not in (tmp_path / "r/run.json").read_text()
    )
    assert page.count("<rect") == 2 and "k=v" in page and "exit: done" in page and "<h2>Flow" not in page


def test_report_is_written_without_nbconvert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nbconvert", None)  # import fails
    project = tmp_path / "proj"
    main = _notebook(project, "main.py", "x = 1")
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    runtime.run_notebook(main)
    page = write_report(runtime.records, tmp_path / "r").read_text()
    assert "nbconvert is not installed" in page and ">succeeded</span>" in page
    assert len(list((tmp_path / "r").glob("*.ipynb"))) == 1 and not list((tmp_path / "r").glob("0*.html"))


def _pdf_text(path: Path) -> str:
    raw = path.read_bytes()
    assert raw.startswith(b"%PDF-")
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S)
    text = []
    for stream in streams:
        try:
            text.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            text.append(stream.decode("latin-1"))
    return "\n".join(text)


def test_pdf_with_the_report_and_rebuilt_from_run_json(failed_report: Path) -> None:
    folder = failed_report.parent
    assert not (folder / "report.pdf").exists()  # html only unless asked
    assert rebuild_report(folder, formats=("html", "pdf")) == folder / "report.pdf"
    text = _pdf_text(folder / "report.pdf")
    for expected in (MESSAGE, "FAILED", "upstream_failed", "Timeline", "/Users/user@example.com/proj/clean"):
        assert expected in text, expected
    (folder / "index.html").unlink()
    rebuild_report(folder, formats=("html",))
    assert MESSAGE in (folder / "index.html").read_text()
    with pytest.raises(InvalidArgumentError, match="unknown report format"):
        rebuild_report(folder, formats=("docx",))
    with pytest.raises(InvalidArgumentError, match="not found"):
        report_data.load(folder / "missing")


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    command = [_chromium() or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    command += ["--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="no Chromium binary (chromium, chromium-browser, google-chrome)")
def test_report_in_headless_chromium(failed_report: Path, tmp_path: Path) -> None:
    url = failed_report.resolve().as_uri()
    dom = _browser("--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert MESSAGE in dom.stdout and "upstream_failed" in dom.stdout and "<svg" in dom.stdout
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == []
    update = os.environ.get("DTFLW_UPDATE_SCREENSHOT") == "1"
    shot = ROOT / "docs" / "report.png" if update else tmp_path / "report.png"
    done = _browser(f"--screenshot={shot}", "--window-size=1000,1150", url)
    assert done.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG"), done.stderr[-2000:]
