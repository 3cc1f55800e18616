"""Reading a Delta table's folder as parquet fails as on Databricks (dtflw.local.uc_patch)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.spark


def test_delta_folder_read_as_parquet_raises_incompatible_format(spark_session: Any) -> None:
    from pyspark.errors import AnalysisException

    spark = spark_session.spark
    path = f"dbfs:/tmp/{uuid.uuid4().hex[:8]}/t"
    spark.range(3).write.format("delta").save(path)
    spark.range(5).write.format("delta").mode("overwrite").save(path)
    for read in (
        lambda: spark.read.parquet(path),
        lambda: spark.read.format("parquet").load(path),
        lambda: spark.read.load(path, format="parquet"),
        lambda: spark.sql(f"SELECT * FROM parquet.`{path}`"),
    ):
        with pytest.raises(AnalysisException, match=r"Incompatible format detected") as info:
            read()
        assert path in str(info.value) and 'format("delta")' in str(info.value)
    assert spark.read.format("delta").load(path).count() == 5
    assert spark.read.load(path).count() == 5  # the default format is delta, as on Databricks
    spark.conf.set("spark.databricks.delta.formatCheck.enabled", "false")
    try:
        assert spark.read.parquet(path).count() == 8  # the stale files, as with the check off
    finally:
        spark.conf.unset("spark.databricks.delta.formatCheck.enabled")
