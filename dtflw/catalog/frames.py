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
        return spark.createDataFrame([{k: _plain(v) for k, v in r.items()} for r in rows])
    if kind == "spark":
        raise InvalidArgumentError("kind='spark' needs a running SparkSession (and at least one row).")
    return list(rows)


def _plain(value: Any) -> Any:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
