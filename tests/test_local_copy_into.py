"""``COPY INTO`` on the local session (:mod:`dtflw.local.copy_into`)."""

from __future__ import annotations

import json

import pytest

from dtflw.local.copy_into import RESULT_SCHEMA, TRACKING_FILE, glob_regex, parse
from dtflw.local.uc import UnityCatalogError


def test_parse_every_clause() -> None:
    statement = parse(
        "COPY INTO main.bronze.`raw` FROM (SELECT id, _metadata.file_name AS f FROM 'dbfs:/in') "
        "WITH (CREDENTIAL c) FILEFORMAT = csv PATTERN = '*.csv' "
        "FORMAT_OPTIONS ('header' = 'true', 'sep' = '\\t') COPY_OPTIONS ('force' = 'true', 'mergeSchema' = 'true');"
    )
    assert (statement.target, statement.target_is_path, statement.source) == ("main.bronze.`raw`", False, "dbfs:/in")
    assert statement.file_format == "csv" and statement.pattern == "*.csv" and statement.files is None
    assert statement.format_options == {"header": "true", "sep": "\t"}
    assert statement.copy_options == {"force": "true", "mergeSchema": "true"}
    assert statement.select is not None and statement.select[statement.source_index].text == "'dbfs:/in'"

    by_path = parse("COPY INTO delta.`/t` BY POSITION FROM '/in' FILEFORMAT = JSON FILES = ('a.json', 'b.json')")
    assert (by_path.target, by_path.target_is_path, by_path.by_position) == ("/t", True, True)
    assert by_path.files == ["a.json", "b.json"] and by_path.file_format == "json"
    assert parse("COPY INTO t (a, b) FROM '/in' FILEFORMAT = BINARYFILE").columns == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("COPY INTO t FROM '/in'", "expected 'FILEFORMAT'"),
        ("COPY INTO t FROM '/in' FILEFORMAT = XML", "FILEFORMAT must be one of"),
        ("COPY INTO t FROM '/in' FILEFORMAT = CSV FILES = ('a') PATTERN = '*'", "cannot both"),
        ("COPY INTO t FROM (SELECT 1) FILEFORMAT = CSV", "FROM '<path>'"),
        ("COPY INTO t FROM '/in' FILEFORMAT = CSV FORMAT_OPTIONS ('header')", "options must look like"),
    ],
)
def test_parse_errors_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(UnityCatalogError, match=message):
        parse(text)


def test_glob_pattern_is_hadoop_like() -> None:
    assert glob_regex("*.csv").match("a.csv") and not glob_regex("*.csv").match("sub/a.csv")
    assert glob_regex("*/*.csv").match("sub/a.csv")
    assert glob_regex("f[0-9]?.{csv,txt}").match("f1x.txt") and not glob_regex("f[0-9].csv").match("fa.csv")
    assert glob_regex("[^a]*").match("b.csv") and not glob_regex("[^a]*").match("a.csv")


@pytest.mark.spark
def test_copy_into_loads_new_files_once_and_infers_the_schema(spark_session) -> None:
    spark, root = spark_session.spark, spark_session.dbfs_root
    land = root / "copy_into" / "landing"
    (land / "old").mkdir(parents=True)
    (land / "a.csv").write_text("id,name\n1,x\n2,y\n")
    (land / "b.csv").write_text("id,name\n3,z\n")
    (land / "old" / "c.csv").write_text("id,name\n99,sub\n")
    (land / "_ignored.csv").write_text("id,name\n98,hidden\n")
    spark.sql("DROP TABLE IF EXISTS copy_into_t")
    spark.sql("CREATE TABLE IF NOT EXISTS copy_into_t")
    copy = (
        "COPY INTO copy_into_t FROM 'dbfs:/copy_into/landing' FILEFORMAT = CSV PATTERN = '*.csv' "
        "FORMAT_OPTIONS ('header' = 'true', 'inferSchema' = 'true') COPY_OPTIONS ('mergeSchema' = 'true')"
    )

    first = spark.sql(copy)
    assert first.schema.simpleString() == spark.createDataFrame([], RESULT_SCHEMA).schema.simpleString()
    assert [tuple(r) for r in first.collect()] == [(3, 3, 0)]
    assert [tuple(r) for r in spark.sql("SELECT id, name FROM copy_into_t ORDER BY id").collect()] == [
        (1, "x"),
        (2, "y"),
        (3, "z"),
    ]
    assert dict(spark.table("copy_into_t").dtypes) == {"id": "int", "name": "string"}
    assert [tuple(r) for r in spark.sql(copy).collect()] == [(0, 0, 0)]  # idempotent

    (land / "d.csv").write_text("id,name\n4,w\n")
    with_select = (
        "COPY INTO copy_into_t FROM (SELECT id, upper(name) AS name, _metadata.file_name AS source_file "
        "FROM '/copy_into/landing') FILEFORMAT = CSV PATTERN = '*.csv' FORMAT_OPTIONS ('header' = 'true') "
        "COPY_OPTIONS ('mergeSchema' = 'true')"
    )
    assert [tuple(r) for r in spark.sql(with_select).collect()] == [(1, 1, 0)]
    rows = spark.sql("SELECT id, name, source_file FROM copy_into_t WHERE id = 4").collect()
    assert [tuple(r) for r in rows] == [(4, "W", "d.csv")]  # cast to the table's INT, new column merged

    forced = "COPY INTO copy_into_t FROM '/copy_into/landing' FILEFORMAT = CSV FILES = ('a.csv') "
    forced += "FORMAT_OPTIONS ('header' = 'true') COPY_OPTIONS ('force' = 'true')"
    assert [tuple(r) for r in spark.sql(forced).collect()] == [(2, 2, 0)]
    assert spark.table("copy_into_t").count() == 6

    folder = root / "user" / "hive" / "warehouse" / "copy_into_t"
    tracked = json.loads((folder / TRACKING_FILE).read_text())
    assert sorted(tracked["files"]) == [f"dbfs:/copy_into/landing/{n}.csv" for n in "abd"]
    assert tracked["files"]["dbfs:/copy_into/landing/a.csv"]["size"] == (land / "a.csv").stat().st_size

    spark.sql("CREATE TABLE copy_into_p (id BIGINT, name STRING) USING delta LOCATION 'dbfs:/copy_into/p'")
    by_path = "COPY INTO delta.`dbfs:/copy_into/p` FROM '/copy_into/landing/old/*.csv' FILEFORMAT = CSV "
    by_path += "FORMAT_OPTIONS ('header' = 'true')"
    assert [tuple(r) for r in spark.sql(by_path).collect()] == [(1, 1, 0)]
    assert [tuple(r) for r in spark.table("copy_into_p").collect()] == [(99, "sub")]
    with pytest.raises(UnityCatalogError, match="PATH_NOT_FOUND"):
        spark.sql("COPY INTO copy_into_p FROM '/copy_into/nowhere' FILEFORMAT = CSV")
    spark.sql("DROP TABLE copy_into_t")
    spark.sql("DROP TABLE copy_into_p")


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE OR REFRESH STREAMING TABLE bronze AS SELECT * FROM STREAM read_files('/x')",
        "create streaming live table raw as select 1",
        "CREATE LIVE TABLE gold AS SELECT 1",
        "CREATE OR REFRESH MATERIALIZED VIEW mv AS SELECT 1",
    ],
)
def test_pipeline_statements_fail_with_a_clear_error(statement):
    import contextlib

    from dtflw.local import uc_statements

    class NoSpark:  # the statement is refused before Spark or the catalog is asked anything
        def translated_errors(self):
            return contextlib.nullcontext()

    with pytest.raises(Exception, match="NOT_SUPPORTED_LOCALLY.*Lakeflow Declarative Pipeline"):
        uc_statements.run_sql(NoSpark(), None, statement, (), {})  # type: ignore[arg-type]
