"""`dtflw plan | graph | export | history` on a small driver, under the local runtime (no Spark)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dtflw.cli import main

DRIVER = """\
# Databricks notebook source
from dtflw import init_flow
from dtflw.storage.dbfs import init_storage

flow = init_flow(init_storage(), name="cli-demo")
flow.notebook("ingest").args({"year": "2022"}).output("Orders").add()
flow.notebook("clean").input("Orders").output("Clean").tags("silver").add()
flow.notebook("report").input("Clean").add()
result = flow.run(max_workers=2, lazy="auto")

# COMMAND ----------

print(flow["Clean"])
assert result.ok
"""

WRITER = """\
# Databricks notebook source
for name, value in dbutils.widgets.getAll().items():
    if name.endswith("_out"):
        dbutils.fs.put(value, "data", True)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "driver.py").write_text(DRIVER)
    for name in ("ingest", "clean", "report"):
        (folder / f"{name}.py").write_text(WRITER)
    return folder


def run(*argv: str) -> int:
    return main(list(argv))


def test_plan_graph_export_history(project, tmp_path, capsys):
    root = ["--dbfs-root", str(tmp_path / "dbfs")]
    assert run("plan", str(project / "driver.py"), *root) == 0
    out = capsys.readouterr().out
    assert "Flow cli-demo:" in out and "ingest" in out and "outputs missing" in out
    assert "Running" not in out  # declare only: nothing ran
    assert not (tmp_path / "dbfs" / "FileStore").exists() or not list((tmp_path / "dbfs").rglob("Orders.parquet"))

    assert run("plan", str(project / "driver.py"), *root, "--only", "clean", "--lazy", "false") == 0
    out = capsys.readouterr().out
    assert "clean" in out and "not selected" in out

    assert run("graph", str(project / "driver.py"), *root, "-o", str(tmp_path / "g.mmd")) == 0
    assert "lineage of cli-demo" in capsys.readouterr().out
    mermaid = (tmp_path / "g.mmd").read_text()
    assert "flowchart" in mermaid and "ingest" in mermaid and "Orders" in mermaid

    assert run("export", str(project / "driver.py"), *root, "--job", "--name", "demo") == 0
    job = json.loads(capsys.readouterr().out)
    keys = [t["task_key"] for t in job["tasks"]]
    assert keys == ["proj__ingest", "proj__clean", "proj__report"]
    assert job["tasks"][1]["depends_on"] == [{"task_key": "proj__ingest"}]
    assert (
        job["tasks"][0]["notebook_task"]["base_parameters"]["Orders_out"]
        == "dbfs:/FileStore/user@example.com/proj/ingest/Orders.parquet"
    )
    assert run("export", str(project / "driver.py"), *root, "--bundle", "-o", str(tmp_path / "b.yml")) == 0
    assert "resources:" in (tmp_path / "b.yml").read_text()

    assert run("history", *root) == 0
    assert "no runs recorded" in capsys.readouterr().out

    assert run("run", str(project / "driver.py"), *root, "--quiet", "--report", "") == 0
    out = capsys.readouterr().out
    assert "Clean.parquet" in out and "Wrote" not in out  # dtflw's own fs.put lines are dropped
    assert run("history", *root, "--flow", "cli-demo") == 0
    out = capsys.readouterr().out
    assert out.count("succeeded") == 3 and "/Users/user@example.com/proj/clean" in out

    assert run("plan", str(project / "driver.py"), *root) == 0
    assert capsys.readouterr().out.count("up to date") == 3


def test_driver_without_flows_and_errors(project, tmp_path, capsys):
    (project / "plain.py").write_text("x = 1\n")
    with pytest.raises(SystemExit, match="declared no notebooks"):
        run("plan", str(project / "plain.py"), "--dbfs-root", str(tmp_path / "dbfs"))
    assert run("plan", str(project / "driver.py"), "--dbfs-root", str(tmp_path / "dbfs"), "--only", "nope") == 1
    assert "matches no declared notebook" in capsys.readouterr().err
