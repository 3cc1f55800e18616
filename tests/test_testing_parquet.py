"""dtflw.testing: parquet stubs with columns, `writes_outputs(cols=...)`, and `cols=` checks without Spark."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dtflw import init_flow
from dtflw.errors import FlowRunError, InvalidArgumentError, RuntimeNotAvailableError
from dtflw.storage.local import LocalStorage
from dtflw.testing import (
    FakeDbutils,
    SchemaOnlySpark,
    parquet_columns,
    write_empty_parquet,
    write_outputs,
    write_parquet_stub,
    writes_outputs,
)

ALL_TYPES = (
    "id INT, big BIGINT, name STRING, day DATE, at TIMESTAMP, amount DECIMAL(10,2), "
    "wide DECIMAL(15,2), huge DECIMAL(30,3), flag BOOLEAN, tiny TINYINT, small SMALLINT, "
    "ratio FLOAT, score DOUBLE, blob BINARY"
)


def test_empty_parquet_round_trips_every_supported_type(tmp_path: Path) -> None:
    file = tmp_path / "t.parquet"
    write_empty_parquet(file, ALL_TYPES)
    assert parquet_columns(file) == [
        ("id", "int"), ("big", "bigint"), ("name", "string"), ("day", "date"), ("at", "timestamp"),
        ("amount", "decimal(10,2)"), ("wide", "decimal(15,2)"), ("huge", "decimal(30,3)"), ("flag", "boolean"),
        ("tiny", "tinyint"), ("small", "smallint"), ("ratio", "float"), ("score", "double"), ("blob", "binary"),
    ]  # fmt: skip
    data = file.read_bytes()
    assert data[:4] == data[-4:] == b"PAR1"
    write_empty_parquet(file, [("a", None), ("B", "integer"), ("c", "long")])  # untyped -> string, aliases
    assert parquet_columns(file) == [("a", "string"), ("B", "int"), ("c", "bigint")]
    write_empty_parquet(file, [(f"c{i}", "int") for i in range(40)])  # long schema list
    assert len(parquet_columns(file)) == 40


def test_unsupported_types_and_non_parquet_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="cannot be stubbed without Spark"):
        write_empty_parquet(tmp_path / "x.parquet", [("tags", "array<string>")])
    (tmp_path / "junk").write_bytes(b"PAR1")
    with pytest.raises(InvalidArgumentError, match="not a parquet file"):
        parquet_columns(tmp_path / "junk")


def test_stub_folder_holds_a_real_parquet_part_with_the_columns(tmp_path: Path) -> None:
    out = tmp_path / "T.parquet"
    write_parquet_stub(out, cols="id BIGINT, day DATE")
    write_parquet_stub(out, cols=[("id", "bigint")])  # overwrite: one part file, the new schema
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "part-00000.parquet"]
    assert parquet_columns(out / "part-00000.parquet") == [("id", "bigint")]
    write_parquet_stub(out)
    assert parquet_columns(out / "part-00000.parquet") == []


def test_writes_outputs_writes_each_outputs_columns(tmp_path: Path) -> None:
    assert write_outputs is writes_outputs
    handler = writes_outputs("done", cols={"Orders": "id BIGINT", "Days_out": [("day", "date")]})
    args = {n + "_out": str(tmp_path / n) for n in ("Orders", "Days", "Other")} | {"X_in": str(tmp_path / "X")}
    assert handler(args) == "done"
    assert parquet_columns(tmp_path / "Orders" / "part-00000.parquet") == [("id", "bigint")]
    assert parquet_columns(tmp_path / "Days" / "part-00000.parquet") == [("day", "date")]
    assert parquet_columns(tmp_path / "Other" / "part-00000.parquet") == []
    assert not (tmp_path / "X").exists()
    with pytest.raises(InvalidArgumentError):
        writes_outputs(cols={"T": "tags ARRAY<STRING>"})  # at registration, not inside the run


def schema_flow(tmp_path: Path, handler_cols: dict[str, str]) -> tuple[object, FakeDbutils]:
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    storage = LocalStorage(tmp_path / "tables", spark=SchemaOnlySpark())
    dbutils.notebook.register("ingest", writes_outputs("ok", cols=handler_cols))
    return init_flow(storage, dbutils=dbutils, name="cols"), dbutils


def test_cols_validation_passes_without_spark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")]:
        monkeypatch.delitem(sys.modules, name)  # as in a core install: no pyspark at all
    monkeypatch.setitem(sys.modules, "pyspark", None)
    flow, _ = schema_flow(tmp_path, {"Orders": "id BIGINT, day DATE, amount DECIMAL(10,2)"})
    builder = flow.notebook("ingest").output("Orders", cols="id BIGINT, day DATE, amount DECIMAL(10,2)")  # type: ignore[attr-defined]
    assert builder.run() == "ok"


def test_cols_validation_still_catches_a_mismatch_without_spark(tmp_path: Path) -> None:
    flow, _ = schema_flow(tmp_path, {"Orders": "id STRING"})
    flow.notebook("ingest").output("Orders", cols=[("id", "bigint"), ("day", None)]).add()  # type: ignore[attr-defined]
    with pytest.raises(FlowRunError) as info:
        flow.run()  # type: ignore[attr-defined]
    (failed,) = info.value.result.failed
    assert "day" in (failed.error or "") and "bigint" in (failed.error or "")


def test_schema_only_spark_refuses_everything_else(tmp_path: Path) -> None:
    write_parquet_stub(tmp_path / "T", cols="id INT")
    spark = SchemaOnlySpark()
    df = spark.read.parquet("file:" + str(tmp_path / "T"))
    assert df.dtypes == [("id", "int")] and df.columns == ["id"]
    with pytest.raises(RuntimeNotAvailableError, match="real SparkSession"):
        df.count()
    with pytest.raises(RuntimeNotAvailableError):
        spark.sql("select 1")
    with pytest.raises(RuntimeNotAvailableError):
        spark.read.format("delta")
