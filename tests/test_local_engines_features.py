"""What works on each Spark engine: one small notebook per runtime feature, run through LocalRuntime.

`make test` runs this module on local, connect and sail (`--dtflw-engine`); a feature an engine
lacks is marked `dtflw_engine_gap` with the reason (an expected failure, never a silent skip).
README's fidelity table lists the same features.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dtflw.errors import NotebookRunError
from dtflw.local.runtime import LocalRuntime
from dtflw.testing.pytest_plugin import current_engine

pytestmark = [pytest.mark.spark, pytest.mark.engines]

NO_DELTA_CONNECT = "DeltaTable needs the Delta Connect server plugin (not published for Delta 4.4 / Spark 4.2)"


def run(tmp_path: Path, *cells: str) -> str:
    """Run a notebook of `cells` on this process's engine; returns its exit value."""
    source = "# Databricks notebook source\n" + "\n# COMMAND ----------\n".join(
        textwrap.dedent(c).strip() + "\n" for c in cells
    )
    file = tmp_path / "proj" / "main.py"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(source)
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", run_dir=tmp_path / "run", progress=False)
    return runtime.run_notebook(file)


def test_delta_on_dbfs_volumes_and_abfss_paths(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        for path in ("dbfs:/FileStore/a", "/Volumes/main/raw/files/b", "abfss://lake@acct01.dfs.core.windows.net/c"):
            spark.range(3).write.format("delta").mode("overwrite").save(path)
        n = sum(spark.read.format("delta").load(p).count() for p in ("/FileStore/a", "dbfs:/Volumes/main/raw/files/b"))
        cloud = spark.read.load("abfss://lake@acct01.dfs.core.windows.net/c", format="delta")
        dbutils.notebook.exit(str(n + cloud.count()))
        """,
    )
    assert out == "9"
    assert (tmp_path / "dbfs" / "FileStore" / "a" / "_delta_log").is_dir()
    assert (tmp_path / "dbfs" / "Volumes" / "main" / "raw" / "files" / "b" / "_delta_log").is_dir()
    assert list((tmp_path / "dbfs").rglob("c/_delta_log")), "abfss:// lands under the cloud root"


def test_csv_json_parquet_and_globs_on_dbfs(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        dbutils.fs.put("dbfs:/in/a_1.csv", "id,v\\n1,x\\n2,y\\n", True)
        dbutils.fs.put("dbfs:/in/a_2.csv", "id,v\\n3,z\\n", True)
        df = spark.read.option("header", True).csv("dbfs:/in/a_*.csv")
        df.write.mode("overwrite").parquet("/out/p")
        df.write.mode("overwrite").json("dbfs:/out/j")
        dbutils.notebook.exit(f"{df.count()}|{spark.read.parquet('dbfs:/out/p').count()}|{spark.read.json('/out/j').count()}")
        """,
    )
    assert out == "3|3|3"
    assert (tmp_path / "dbfs" / "out" / "p").is_dir()


def test_sql_cells_with_path_identifiers_location_and_merge(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        spark.range(3).write.format("delta").save("dbfs:/t/base")
        """,
        """
        # MAGIC %sql
        # MAGIC CREATE TABLE ext USING delta LOCATION 'dbfs:/t/ext' AS SELECT id FROM delta.`dbfs:/t/base`;
        # MAGIC CREATE OR REPLACE TEMPORARY VIEW upd AS SELECT id FROM range(5);
        # MAGIC MERGE INTO delta.`/t/base` AS t USING upd AS u ON t.id = u.id WHEN NOT MATCHED THEN INSERT *
        """,
        """
        dbutils.notebook.exit(f"{spark.table('ext').count()}|{spark.sql('SELECT * FROM delta.`dbfs:/t/base`').count()}")
        """,
    )
    assert out == "3|5"
    assert (tmp_path / "dbfs" / "t" / "ext" / "_delta_log").is_dir()


def test_managed_tables_land_in_the_dbfs_warehouse(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        spark.range(4).write.format("delta").mode("overwrite").saveAsTable("managed_t")
        dbutils.notebook.exit(str(spark.table("managed_t").count()))
        """,
    )
    assert out == "4"


@pytest.mark.dtflw_engine_gap(sail="DESCRIBE HISTORY is not in Sail's SQL dialect")
def test_describe_history(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        spark.range(2).write.format("delta").save("dbfs:/h")
        spark.range(2).write.format("delta").mode("append").save("dbfs:/h")
        dbutils.notebook.exit(str(spark.sql("DESCRIBE HISTORY delta.`dbfs:/h`").count()))
        """,
    )
    assert out == "2"


@pytest.mark.dtflw_engine_gap(sail="Sail does not implement input_file_name()")
def test_input_file_name(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        import pyspark.sql.functions as F
        dbutils.fs.put("dbfs:/f/x.csv", "a\\n1\\n", True)
        row = spark.read.option("header", True).csv("dbfs:/f/x.csv").select(F.input_file_name().alias("f")).first()
        dbutils.notebook.exit(row.f)
        """,
    )
    assert out.endswith("/f/x.csv")


def test_python_udfs_windows_and_display(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        import pyspark.sql.functions as F
        from pyspark.sql import Window
        double = F.udf(lambda x: x * 2, "long")
        rank = F.row_number().over(Window.orderBy(F.col("id").desc()))
        df = spark.range(4).withColumn("d", double("id")).withColumn("r", rank)
        display(df)
        df.display()
        dbutils.notebook.exit(",".join(f"{r.d}:{r.r}" for r in df.orderBy("id").collect()))
        """,
    )
    assert out == "0:4,2:3,4:2,6:1"


def test_spark_context_is_clear_about_the_engine(tmp_path: Path) -> None:
    cell = 'dbutils.notebook.exit(str(sc.parallelize([1, 2, 3]).count()) + "|" + str(sqlContext is not None))'
    if current_engine() == "local":
        assert run(tmp_path, cell) == "3|True"
        return
    with pytest.raises(NotebookRunError) as caught:
        run(tmp_path, cell)
    assert f"EngineUnsupportedError: `sc` is not available on engine '{current_engine()}'" in str(caught.value)
    assert "--engine local" in str(caught.value)


def test_delta_table_api_is_clear_about_the_engine(tmp_path: Path) -> None:
    cells = (
        'spark.range(3).write.format("delta").save("dbfs:/dt")',
        """
        from delta.tables import DeltaTable
        t = DeltaTable.forPath(spark, "dbfs:/dt")
        t.delete("id = 0")
        dbutils.notebook.exit(str(t.toDF().count()))
        """,
    )
    if current_engine() == "local":
        assert run(tmp_path, *cells) == "2"
        return
    with pytest.raises(NotebookRunError) as caught:
        run(tmp_path, *cells)
    message = str(caught.value)
    assert (
        f"DeltaTable.forPath() (the Delta Lake Python API) is not available on engine '{current_engine()}'" in message
    )
    assert "MERGE INTO" in message and "--engine local" in message


@pytest.mark.dtflw_engine_gap(
    connect="Unity Catalog names are emulated on the classic session only",
    sail="Unity Catalog names are emulated on the classic session only",
)
def test_unity_catalog_three_level_names(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        spark.sql("CREATE CATALOG IF NOT EXISTS probe_cat")
        spark.sql("CREATE SCHEMA IF NOT EXISTS probe_cat.s")
        spark.range(2).write.mode("overwrite").saveAsTable("probe_cat.s.t")
        dbutils.notebook.exit(str(spark.table("probe_cat.s.t").count()))
        """,
    )
    assert out == "2"


@pytest.mark.dtflw_engine_gap(
    connect="COPY INTO is emulated on the classic session only",
    sail="COPY INTO is emulated on the classic session only",
)
def test_copy_into(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        dbutils.fs.put("dbfs:/landing/a.csv", "id,v\\n1,x\\n", True)
        spark.sql("CREATE TABLE IF NOT EXISTS copied (id STRING, v STRING) USING delta LOCATION 'dbfs:/copied'")
        spark.sql(
            "COPY INTO delta.`dbfs:/copied` FROM 'dbfs:/landing' FILEFORMAT = CSV FORMAT_OPTIONS ('header' = 'true')"
        )
        dbutils.notebook.exit(str(spark.read.format("delta").load("dbfs:/copied").count()))
        """,
    )
    assert out == "1"


@pytest.mark.dtflw_engine_gap(
    connect="Auto Loader (cloudFiles) is emulated on the classic session only",
    sail="Auto Loader (cloudFiles) is emulated on the classic session only",
)
def test_auto_loader(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        """
        dbutils.fs.put("dbfs:/al/in/a.json", '{"id": 1}\\n', True)
        (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaLocation", "dbfs:/al/schema").load("dbfs:/al/in")
            .writeStream.option("checkpointLocation", "dbfs:/al/chk").trigger(availableNow=True)
            .start("dbfs:/al/out").awaitTermination())
        dbutils.notebook.exit(str(spark.read.format("delta").load("dbfs:/al/out").count()))
        """,
    )
    assert out == "1"


@pytest.mark.dtflw_engine_gap(sail="Sail's interruptAll does not stop a running job; the notebook stops after it")
def test_cancel_stops_running_spark_work(tmp_path: Path) -> None:
    import threading
    import time

    file = tmp_path / "proj" / "slow.py"
    file.parent.mkdir(parents=True)
    file.write_text(
        "# Databricks notebook source\n"
        "import time\nimport pyspark.sql.functions as F\n"
        "slow = F.udf(lambda x: time.sleep(0.5) or x, 'long')\n"
        "spark.range(60).repartition(1).select(slow('id')).collect()\n"
    )
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", run_dir=tmp_path / "run", progress=False)
    runtime.spark.range(1).collect()  # started before the clock runs
    timer = threading.Timer(3.0, runtime.cancel_running)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(NotebookRunError) as caught:
            runtime.run_notebook(file)
    finally:
        timer.cancel()
    assert 2.5 < time.monotonic() - started < 20, "the 30 s job was cancelled after 3 s"
    assert "cancel" in str(caught.value).lower()
