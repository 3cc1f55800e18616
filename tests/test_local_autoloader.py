"""Auto Loader (``format("cloudFiles")``) on the local session (:mod:`dtflw.local.autoloader`)."""

from __future__ import annotations

import json

import pytest

from dtflw.local.uc import UnityCatalogError


@pytest.mark.spark
def test_auto_loader_streams_new_files_only_with_a_saved_schema(spark_session) -> None:
    spark, root = spark_session.spark, spark_session.dbfs_root
    land = root / "autoloader" / "landing"
    land.mkdir(parents=True)
    (land / "a.csv").write_text("id,name,when\n1,x,2024-01-01\n2,y,2024-01-02\n")
    spark.sql("DROP TABLE IF EXISTS autoloader_bronze")

    def run(**trigger: bool) -> list[tuple[object, ...]]:
        df = (
            spark.readStream.format("cloudFiles")
            .option("cloudFiles.format", "csv")
            .option("cloudFiles.schemaLocation", "dbfs:/autoloader/chk/schema")
            .option("cloudFiles.inferColumnTypes", "true")
            .option("cloudFiles.schemaHints", "when STRING")
            .option("cloudFiles.useNotifications", "true")
            .option("cloudFiles.backfillInterval", "1 day")
            .option("header", "true")
            .load("dbfs:/autoloader/landing")
        )
        assert df.isStreaming
        assert df.dtypes == [("id", "int"), ("name", "string"), ("when", "string"), ("_rescued_data", "string")]
        query = df.writeStream.option("checkpointLocation", "dbfs:/autoloader/chk/cp").trigger(**trigger)
        query.toTable("autoloader_bronze").awaitTermination()
        return [tuple(r) for r in spark.sql("SELECT id, name FROM autoloader_bronze ORDER BY id").collect()]

    with pytest.warns(UserWarning, match=r"cloudFiles\.backfillInterval, cloudFiles\.useNotifications"):
        assert run(availableNow=True) == [(1, "x"), (2, "y")]
    saved = (root / "autoloader" / "chk" / "schema" / "_schemas" / "0").read_text().split("\n", 1)
    assert saved[0] == "v1" and [f["name"] for f in json.loads(saved[1])["fields"]] == ["id", "name", "when"]

    (land / "b.csv").write_text("id,name,when\n3,z,2024-01-03\n")
    assert run(once=True) == [(1, "x"), (2, "y"), (3, "z")]
    assert run(availableNow=True) == [(1, "x"), (2, "y"), (3, "z")]  # nothing new

    (land / "c.json").write_text('{"id": 5, "tags": {"a": 1}}\n')
    options = {"cloudFiles.format": "json", "cloudFiles.schemaLocation": "/autoloader/js", "pathGlobFilter": "*.json"}
    strings = spark.readStream.format("cloudFiles").options(**options).load("/autoloader/landing")
    assert strings.dtypes == [("id", "string"), ("tags", "string"), ("_rescued_data", "string")]
    given = spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").schema("id INT")
    assert given.load("/autoloader/landing").dtypes == [("id", "int")]
    with pytest.raises(UnityCatalogError, match="schemaLocation"):
        spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").load("/autoloader/landing")
    with pytest.raises(UnityCatalogError, match="cloudFiles.format"):
        spark.readStream.format("cloudFiles").load("/autoloader/landing")
    spark.sql("DROP TABLE autoloader_bronze")
