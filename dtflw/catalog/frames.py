"""Rows as a DataFrame: pandas when installed, else Spark when a session runs, else the rows."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

from dtflw.errors import InvalidArgumentError

KINDS = ("auto", "pandas", "spark", "records")


def as_frame(rows: Sequence[dict[str, Any]], kind: str = "auto") -> Any:
    """`rows` as `kind`: "pandas", "spark", "records" (the list itself), or "auto" (the first available)."""
    if kind not in KINDS:
        raise InvalidArgumentError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}.")
    if kind == "records":
        return list(rows)
    if kind in ("auto", "pandas") and importlib.util.find_spec("pandas") is not None:
        import pandas as pd

        return pd.DataFrame(list(rows))
    if kind == "pandas":
        raise InvalidArgumentError("kind='pandas' needs pandas: pip install pandas")
    from dtflw.databricks import get_spark_session_if_running

    spark = get_spark_session_if_running()
    if spark is not None and rows:
        plain = [{k: _plain(v) for k, v in r.items()} for r in rows]
        return spark.createDataFrame([tuple(r.values()) for r in plain], _schema(plain))
    if kind == "spark":
        raise InvalidArgumentError("kind='spark' needs a running SparkSession (and at least one row).")
    return list(rows)


def _plain(value: Any) -> Any:
    """A value Spark can hold in a column: lists and mappings become text."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return value


def _schema(rows: Sequence[dict[str, Any]]) -> Any:
    """Column types from the first non-null value of each column (text when there is none)."""
    from pyspark.sql import types as T

    fields = []
    for name in rows[0]:
        sample = next((r.get(name) for r in rows if r.get(name) is not None), None)
        kind: Any = T.StringType()
        if isinstance(sample, bool):
            kind = T.BooleanType()
        elif isinstance(sample, int):
            kind = T.LongType()
        elif isinstance(sample, float):
            kind = T.DoubleType()
        fields.append(T.StructField(name, kind, True))
    return T.StructType(fields)
