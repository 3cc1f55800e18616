"""The local runtime without Spark: notebook.run, %run, widgets, exit, failures, timeouts,
threads, secrets, task values, context, report, CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from dtflw.cli import main as cli_main
from dtflw.errors import InvalidArgumentError, NotebookRunError, NotebookTimeoutError
from dtflw.local.report import write_report
from dtflw.local.runtime import LocalRuntime, secrets_from_environment

pytestmark = pytest.mark.engines  # make test runs this module on every Spark engine

HEADER = "# Databricks notebook source\n"
SEP = "\n# COMMAND ----------\n"


def notebook(folder: Path, rel: str, *cells: str) -> Path:
    """Write a Databricks source notebook made of `cells`."""
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + SEP.join(textwrap.dedent(c).strip() + "\n" for c in cells))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path / "proj"


@pytest.fixture
def runtime(tmp_path: Path) -> LocalRuntime:
    return LocalRuntime(dbfs_root=tmp_path / "run" / "dbfs", progress=False)


def test_widgets_nested_runs_include_and_exit(project, runtime):
    notebook(
        project,
        "lib/helpers.py",
        """
        dbutils.widgets.text("greeting", "hello")
        G = dbutils.widgets.get("greeting")
        def greet(n):
            return f"{G} {n}"
    """,
    )
    notebook(
        project,
        "child.py",
        """
        ctx = dbutils.notebook.entry_point.getDbutils().notebook().getContext()
        x = int(dbutils.widgets.get("x"))
        dbutils.notebook.exit(f"{x + 1}@{ctx.notebookPath().get()}")
        raise AssertionError("cells after exit must not run")
    """,
    )
    main = notebook(
        project,
        "main.py",
        "# MAGIC %md # Title",
        "# MAGIC %run ./lib/helpers $greeting=hey",
        """
        dbutils.widgets.text("name", "world")
        message = greet(dbutils.widgets.get("name"))
        child = dbutils.notebook.run("child", 60, {"x": "41"})
    """,
        "dbutils.notebook.exit(message + '|' + child)",
    )
    result = runtime.run_notebook(main, {"name": "bob"})
    assert result == "hey bob|42@/Users/user@example.com/proj/child"
    paths = [(r.workspace_path, r.status) for r in runtime.records]
    assert paths == [
        ("/Users/user@example.com/proj/main", "succeeded"),
        ("/Users/user@example.com/proj/child", "succeeded"),
    ]
    assert runtime.records[1].parent == runtime.records[0].id


def test_plain_python_and_ipynb_notebooks(project, runtime):
    (project).mkdir(parents=True)
    (project / "plain.py").write_text("dbutils.notebook.exit(str(6 * 7))\n")
    nb = {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# hi"]},
            {
                "cell_type": "code",
                "metadata": {},
                "source": ["r = dbutils.notebook.run('plain', 0)\n", "dbutils.notebook.exit('ipynb:' + r)"],
                "outputs": [],
                "execution_count": None,
            },
        ],
    }
    (project / "main.ipynb").write_text(json.dumps(nb))
    assert runtime.run_notebook(project / "main.ipynb") == "ipynb:42"


def test_missing_widget_and_failing_child_name_the_notebook(project, runtime):
    notebook(project, "child.py", "x = 1", "raise ValueError('bad input ' + dbutils.widgets.get('v'))")
    main = notebook(project, "main.py", "dbutils.notebook.run('child', 0, {'v': 'zz'})")
    with pytest.raises(NotebookRunError) as err:
        runtime.run_notebook(main)
    text = str(err.value)
    assert "/Users/user@example.com/proj/main" in text and "bad input zz" in text
    assert "NotebookExecutionException: FAILED" in text
    child = runtime.records[1]
    assert child.status == "failed" and child.error_cell == 1 and child.error_line == 5
    assert child.cells[1].outputs[-1].kind == "error" and "ValueError" in child.cells[1].outputs[-1].text

    missing = notebook(project, "missing.py", "dbutils.widgets.get('nope')")
    with pytest.raises(NotebookRunError, match="InputWidgetNotDefined: No input widget named nope is defined"):
        runtime.run_notebook(missing)


def test_unknown_notebook_and_bad_entry(project, runtime):
    main = notebook(project, "main.py", "dbutils.notebook.run('./nope', 0)")
    with pytest.raises(NotebookRunError, match="nope"):
        runtime.run_notebook(main)
    with pytest.raises(InvalidArgumentError, match="not found"):
        runtime.run_notebook(project / "absent.py")


def test_timeout_is_enforced(project, runtime):
    notebook(project, "slow.py", "import time\ntime.sleep(5)")
    main = notebook(
        project,
        "main.py",
        """
        try:
            dbutils.notebook.run("slow", 1)
        except Exception as e:
            dbutils.notebook.exit(type(e).__name__ + ":" + str(e))
    """,
    )
    result = runtime.run_notebook(main)
    assert result.startswith("NotebookTimeoutError:") and "CANCELED" in result
    with pytest.raises(NotebookTimeoutError):
        runtime.run_notebook(notebook(project, "slow2.py", "import time\ntime.sleep(5)"), timeout_seconds=1)


def test_concurrent_runs_keep_their_own_widgets_and_output(project, runtime):
    notebook(
        project,
        "child.py",
        """
        import time
        v = dbutils.widgets.get("v")
        print("child sees", v)
        time.sleep(0.05)
        dbutils.notebook.exit(v + ":" + dbutils.widgets.get("v"))
    """,
    )
    main = notebook(
        project,
        "main.py",
        """
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda i: dbutils.notebook.run("child", 0, {"v": str(i)}), range(8)))
        dbutils.notebook.exit(",".join(results))
    """,
    )
    assert runtime.run_notebook(main) == ",".join(f"{i}:{i}" for i in range(8))
    children = [r for r in runtime.records if r.workspace_path.endswith("child")]
    assert len(children) == 8
    for record in children:
        printed = "".join(o.text for c in record.cells for o in c.outputs if o.kind == "stream")
        assert printed == f"child sees {record.arguments['v']}\n"


def test_magics_that_do_not_run_locally_warn(project, runtime):
    main = notebook(
        project,
        "main.py",
        "# MAGIC %pip install attrs definitely-not-installed-pkg==1.0",
        "# MAGIC %sh ls -la",
        "# MAGIC %fs mkdirs /tmp/dtflw-x",
        "dbutils.notebook.exit('ok')",
    )
    assert runtime.run_notebook(main) == "ok"
    warnings = [o.text for c in runtime.records[0].cells for o in c.outputs if o.kind == "warning"]
    assert any("attrs" in w and "is installed" in w for w in warnings)
    assert any("definitely-not-installed-pkg is NOT installed" in w for w in warnings)
    assert any("%sh" in w for w in warnings)
    assert (runtime.path_map.dbfs_root / "tmp" / "dtflw-x").is_dir()


def test_secrets_from_env_and_file_are_redacted_in_output(project, tmp_path, monkeypatch):
    monkeypatch.setenv("DTFLW_SECRET__kv__token", "env-secret-123")
    assert secrets_from_environment()["kv"]["token"] == "env-secret-123"
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({"db": {"password": "file-secret-456"}}))
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", secrets_file=secrets_file, progress=False)
    main = notebook(
        project,
        "main.py",
        """
        t = dbutils.secrets.get("kv", "token")
        p = dbutils.secrets.get(scope="db", key="password")
        print("token is", t, "and", p)
        assert [s.key for s in dbutils.secrets.list("db")] == ["password"]
        dbutils.notebook.exit(str(len(t)))
    """,
    )
    assert runtime.run_notebook(main) == "14"
    printed = runtime.records[0].cells[0].outputs[0].text
    assert printed == "token is [REDACTED] and [REDACTED]\n"
    with pytest.raises(InvalidArgumentError, match="could not be read"):
        LocalRuntime(dbfs_root=tmp_path / "x", secrets_file=tmp_path / "none.json")


def test_task_values_outside_a_job_and_fs(project, runtime):
    main = notebook(
        project,
        "main.py",
        """
        dbutils.jobs.taskValues.set("rows", 3)
        v = dbutils.jobs.taskValues.get("ingest", "rows", debugValue=7)
        dbutils.fs.put("dbfs:/FileStore/a.txt", "hello", True)
        head = dbutils.fs.head("/FileStore/a.txt")
        names = [f.name for f in dbutils.fs.ls("dbfs:/FileStore")]
        try:
            dbutils.fs.ls("dbfs:/nope")
        except Exception as e:
            missing = "java.io.FileNotFoundException" in str(e)
        dbutils.notebook.exit(f"{v}|{head}|{names}|{missing}")
    """,
    )
    assert runtime.run_notebook(main) == "7|hello|['a.txt']|True"
    assert (runtime.path_map.dbfs_root / "FileStore" / "a.txt").read_text() == "hello"


def test_entry_folder_is_importable_and_cwd(project, runtime):
    (project).mkdir(parents=True)
    (project / "helpers_mod.py").write_text("VALUE = 'from module'\n")
    (project / "data.txt").write_text("from cwd")
    main = notebook(
        project,
        "main.py",
        "import helpers_mod\ndbutils.notebook.exit(helpers_mod.VALUE + '|' + open('data.txt').read())",
    )
    assert runtime.run_notebook(main) == "from module|from cwd"


def test_report_and_failure_summary(project, runtime, tmp_path):
    notebook(project, "child.py", "print('working')", "x = 1 / 0")
    main = notebook(project, "main.py", "# MAGIC %md # Driver", "dbutils.notebook.run('child', 0, {'k': 'v'})")
    with pytest.raises(NotebookRunError):
        runtime.run_notebook(main)
    index = write_report(runtime.records, tmp_path / "report")
    page = index.read_text()
    assert "/Users/user@example.com/proj/child" in page and "failed" in page and "k=v" in page
    files = sorted(p.name for p in (tmp_path / "report").glob("*.ipynb"))
    assert len(files) == 2
    child_nb = json.loads((tmp_path / "report" / files[1]).read_text())
    assert child_nb["metadata"]["dtflw"]["status"] == "failed"
    outputs = child_nb["cells"][1]["outputs"]
    assert outputs[-1]["output_type"] == "error" and outputs[-1]["ename"] == "ZeroDivisionError"
    assert child_nb["cells"][0]["outputs"][0]["text"] == "working\n"


def test_cli_success_failure_and_params(project, tmp_path, capsys):
    notebook(
        project, "ok.py", "dbutils.widgets.text('n', '1')", "dbutils.notebook.exit('n=' + dbutils.widgets.get('n'))"
    )
    notebook(project, "child.py", "raise RuntimeError('disk on fire')")
    notebook(project, "bad.py", "dbutils.notebook.run('child', 0)")
    common = ["--dbfs-root", str(tmp_path / "dbfs"), "--report", str(tmp_path / "rep"), "--quiet"]
    assert cli_main(["run", str(project / "ok.py"), "-p", "n=5", *common]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "n=5"
    assert cli_main(["run", str(project / "bad.py"), *common]) == 1
    err = capsys.readouterr().err
    assert "notebook /Users/user@example.com/proj/child" in err and "disk on fire" in err
    assert "called from /Users/user@example.com/proj/bad" in err
    assert (tmp_path / "rep" / "index.html").exists()
    with pytest.raises(SystemExit):
        cli_main(["run", str(project / "ok.py"), "-p", "novalue"])


@pytest.mark.spark
def test_sql_cells_display_and_lazy_spark(spark_session, project, tmp_path):
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    main = notebook(
        project,
        "main.py",
        """
        dbutils.widgets.text("min", "2")
        dbutils.widgets.text("label", "it's")
    """,
        """
        # MAGIC %sql
        # MAGIC CREATE OR REPLACE TEMPORARY VIEW nums AS SELECT id FROM range(5);
        # MAGIC SELECT id, :label AS label FROM nums WHERE id >= :min AND '${min}' = '2' ORDER BY id
    """,
        """
        spark.range(3).display()
        display(spark.createDataFrame([(1, "a")], "n INT, s STRING"))
        displayHTML("<b>bold</b>")
        dbutils.notebook.exit(",".join(str(r.id) + r.label for r in _sqldf.collect()))
    """,
    )
    assert runtime.run_notebook(main) == "2it's,3it's,4it's"
    sql_cell, py_cell = runtime.records[0].cells[1], runtime.records[0].cells[2]
    assert "<td>it&#x27;s</td>" in sql_cell.outputs[-1].data["text/html"]
    html = [o.data.get("text/html", "") for o in py_cell.outputs]
    assert any("<th>id</th>" in h for h in html) and any("<td>a</td>" in h for h in html)
    assert "<b>bold</b>" in html


@pytest.mark.spark
@pytest.mark.dtflw_engine_gap(
    connect="DeltaTable needs the Delta Connect server plugin (not published for Delta 4.4 / Spark 4.2)",
    sail="Sail has no DeltaTable Python API",
)
def test_spark_paths_are_mapped_in_notebooks(spark_session, project, tmp_path):
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    main = notebook(
        project,
        "main.py",
        """
        spark.range(4).write.format("delta").save("dbfs:/FileStore/t")
        spark.range(2).write.parquet("abfss://data@acct01.dfs.core.windows.net/p")
        from delta.tables import DeltaTable
        n = DeltaTable.forPath(spark, "/FileStore/t").toDF().count()
        dbutils.notebook.exit(str(n) + "|" + str(len(dbutils.fs.ls("abfss://data@acct01.dfs.core.windows.net/p")) > 0))
    """,
    )
    assert runtime.run_notebook(main) == "4|True"
    assert (tmp_path / "dbfs" / "FileStore" / "t" / "_delta_log").is_dir()
    assert runtime.path_map.to_local("abfss://data@acct01.dfs.core.windows.net/p").is_dir()


def test_azure_storage_created_in_a_local_run_is_mapped_for_spark(project, runtime):
    main = notebook(
        project,
        "main.py",
        """
        from dtflw.storage.azure import AzureStorage
        account = "acct" + "02"  # not findable in the source text
        AzureStorage(account, "lake", "", protocol="abfss")
    """,
    )
    runtime.run_notebook(main)
    assert "lake@acct02.dfs.core.windows.net" in runtime.cloud_authorities
