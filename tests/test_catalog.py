"""The pipeline catalogue over run history: objects, frames, questions, the index, CLI, dashboard."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dtflw import Logger, init_flow
from dtflw.catalog import Catalog
from dtflw.catalog.dashboard import dashboard_html, write_dashboard
from dtflw.catalog.load import build_index, load_records
from dtflw.cli import main as cli_main
from dtflw.errors import FlowRunError, HistoryError, InvalidArgumentError
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, writes_outputs


def run_a(storage: LocalStorage, dbutils: FakeDbutils, year: str) -> None:
    flow = init_flow(storage, dbutils=dbutils, logger=Logger("silent"), name="a")
    flow.notebook("ingest").args({"year": year}).output("Orders").add()
    flow.notebook("clean").input("Orders").output("Clean").add()
    flow.run()


@pytest.fixture
def history(tmp_path: Path) -> tuple[LocalStorage, FakeDbutils]:
    """Flow a twice (the second with other args), flow b reading a's table by path, and a failure."""
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    for name in ("ingest", "clean", "report"):
        dbutils.notebook.register(name, writes_outputs())
    storage = LocalStorage(tmp_path / "t")
    run_a(storage, dbutils, "2023")
    run_a(storage, dbutils, "2024")
    flow = init_flow(storage, dbutils=dbutils, logger=Logger("silent"), name="b")
    clean = str(tmp_path / "t" / "project" / "clean" / "Clean.parquet")
    flow.notebook("report").input("Clean", file_path=clean).output("Report").add()
    flow.run()

    def broken(args: dict[str, str]) -> None:
        raise RuntimeError("boom")

    dbutils.notebook.register("report", broken)
    again = init_flow(storage, dbutils=dbutils, logger=Logger("silent"), name="b")
    again.notebook("report").input("Clean", file_path=clean).output("Report").add()
    with pytest.raises(FlowRunError):
        again.run()
    return storage, dbutils


NB = "/Users/user@example.com/project/"


def test_who_writes_reads_impact_and_unread(history: tuple[LocalStorage, FakeDbutils]) -> None:
    catalog = Catalog(history[0])
    assert catalog.who_writes("Orders") == [NB + "ingest"]
    assert catalog.who_reads("Clean") == [NB + "report"]  # another flow, by path
    clean = catalog.table("Clean")
    assert catalog.who_reads(clean.path) == [NB + "report"] and clean.flows == ("a", "b")
    assert clean.producers == (NB + "clean",) and clean.latest_version and clean.last_write
    impact = catalog.impact("Orders")
    assert impact["notebooks"] == [NB + "clean", NB + "report"]
    assert [p.rsplit("/", 1)[1] for p in impact["tables"]] == ["Clean.parquet", "Report.parquet"]
    assert [p.rsplit("/", 1)[1] for p in catalog.unread_tables()] == ["Report.parquet"]
    with pytest.raises(InvalidArgumentError, match="No table 'Nope' in the run history"):
        catalog.who_writes("Nope")


def test_notebooks_runs_and_failures(history: tuple[LocalStorage, FakeDbutils]) -> None:
    catalog = Catalog(history[0])
    report = catalog.notebook("report")
    assert (report.runs, report.succeeded, report.failed, report.success_rate) == (2, 1, 1, 0.5)
    assert report.last_status == "failed" and report.median_seconds is not None
    assert catalog.failing() == [(NB + "report", 0.5, 1)]
    assert {nb for nb, _ in catalog.slowest(10)} == {NB + "ingest", NB + "clean", NB + "report"}
    runs = catalog.runs(kind="records")
    assert len(runs) == 4 and [dict(r["counts"]) for r in runs].count({"succeeded": 2}) == 2
    assert catalog.run(runs[-1]["run_id"]).counts == {"failed": 1}  # runs come oldest first
    with pytest.raises(HistoryError, match="No run 'x'"):
        catalog.run("x")
    with pytest.raises(InvalidArgumentError, match="whole number"):
        catalog.slowest(0)


def test_diff_between_two_runs(history: tuple[LocalStorage, FakeDbutils]) -> None:
    catalog = Catalog(history[0])
    first, second = [r["run_id"] for r in catalog.runs(kind="records") if r["flows"] == ("a",)]
    changes = {(c.notebook.rsplit("/", 1)[1], c.what): (c.before, c.after) for c in catalog.diff(first, second)}
    assert changes[("ingest", "args")] == ("year=2023", "year=2024")
    assert ("clean", "input Orders") in changes  # ingest wrote a new version
    assert all(what != "source" for _, what in changes)


def test_frames(history: tuple[LocalStorage, FakeDbutils]) -> None:
    catalog = Catalog(history[0])
    frame = catalog.notebooks()  # pandas is installed in the test environment
    assert list(frame["path"]) == sorted(frame["path"]) and len(frame) == 3
    edges = catalog.edges(kind="records")
    assert {"source": NB + "ingest", "target": catalog.table("Orders").path, "kind": "writes"} in edges
    assert len(catalog.records(kind="records")) == 6
    with pytest.raises(InvalidArgumentError, match="kind must be one of"):
        catalog.tables(kind="polars")


def test_index_loses_nothing_also_when_built_twice_at_once(history: tuple[LocalStorage, FakeDbutils]) -> None:
    storage = history[0]

    def key(r: dict[str, Any]) -> str:
        return json.dumps(r, sort_keys=True)

    before = Counter(key(r) for r in load_records(storage))
    threads = [threading.Thread(target=build_index, args=(storage, 0.0)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    index_dir = Path(storage.base_path) / "_dtflw" / "history" / "_index"
    assert list(index_dir.glob("*.json")), "an index was written"
    assert Counter(key(r) for r in load_records(storage)) == before
    assert build_index(storage, 0.0) == 0  # everything is covered now
    run_a(storage, history[1], "2025")  # a run after the index is read from its own files
    assert sum(Counter(key(r) for r in load_records(storage)).values()) == sum(before.values()) + 2
    assert build_index(storage, 3600.0) == 0  # too young to index


def test_cli_catalog_and_dashboard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.notebook.register("ingest", writes_outputs())
    storage_url = f"file:{tmp_path / 'hist'}"
    storage = LocalStorage(tmp_path / "hist")
    flow = init_flow(storage, dbutils=dbutils, logger=Logger("silent"), name="a")
    flow.notebook("ingest").output("Orders").add()
    flow.run()
    common = ["--storage", storage_url, "--dbfs-root", str(tmp_path / "dbfs")]
    assert cli_main(["catalog", "who-writes", "Orders", *common, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"notebook": NB + "ingest"}]
    assert cli_main(["catalog", "tables", *common, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "path,names,producers,consumers,latest_version"
    assert cli_main(["catalog", "notebooks", *common]) == 0
    assert "success_rate" in capsys.readouterr().out
    assert cli_main(["catalog", "diff", "only-one", *common]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "dtflw catalog failed: catalog diff takes two run ids, got 1." and "Traceback" not in err
    assert cli_main(["dashboard", "-o", str(tmp_path / "site"), *common]) == 0
    page = (tmp_path / "site" / "index.html").read_text()
    assert "Runs over time" in page and "project/ingest" in page and "<script" not in page


def test_dashboard_without_history_and_on_a_file(tmp_path: Path) -> None:
    catalog = Catalog(LocalStorage(tmp_path / "empty"))
    page = dashboard_html(catalog)
    assert "no runs" in page and "no tables" in page
    (tmp_path / "f").write_text("x")
    with pytest.raises(InvalidArgumentError, match="is a file"):
        write_dashboard(catalog, tmp_path / "f")


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="no Chromium binary (chromium, chromium-browser, google-chrome)")
def test_dashboard_in_headless_chromium(history: tuple[LocalStorage, FakeDbutils], tmp_path: Path) -> None:
    page = write_dashboard(Catalog(history[0]), tmp_path / "site")
    shot = tmp_path / "shot.png"
    command = [_chromium() or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*command, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert "Lineage across flows" in dom.stdout and "<svg" in dom.stdout
    subprocess.run([*command, f"--screenshot={shot}", "--window-size=1000,800", page.as_uri()], timeout=120)
    assert shot.stat().st_size > 10_000  # something was drawn
