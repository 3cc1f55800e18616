"""DataFrame assertions for pipeline tests (pyspark needed; imported lazily).

    from dtflw.testing import assert_df_equal
    assert_df_equal(spark.read.parquet(flow["Orders"]), [("a", 1), ("b", 2)], schema="id STRING, n INT")

`assert_df_equal` uses `pyspark.testing.assertDataFrameEqual` (pyspark 3.5+), which you may call
directly too; it adds expected rows given as plain tuples/dicts with a DDL `schema`, and a column
check against the same `cols=` spellings dtflw's outputs take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dtflw.errors import InvalidArgumentError
from dtflw.model.schema import to_schema


def assert_df_equal(
    actual: Any,
    expected: Any,
    schema: Any = None,
    check_row_order: bool = False,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> None:
    """Assert DataFrame `actual` equals `expected` (a DataFrame, or rows with a DDL `schema`).

    Rows are compared in any order unless `check_row_order`; floats within `rtol`/`atol`. Rows
    given as tuples or dicts become a DataFrame on `actual`'s session (`schema`: a DDL string or
    StructType; without one Spark infers the types, and the schemas must still match).
    """
    from pyspark.sql import DataFrame
    from pyspark.testing import assertDataFrameEqual

    if not isinstance(expected, DataFrame):
        if isinstance(expected, (str, bytes)) or not isinstance(expected, Sequence):
            raise InvalidArgumentError("assert_df_equal: expected must be a DataFrame or a list of rows.")
        expected = actual.sparkSession.createDataFrame(list(expected), schema=schema)
    assertDataFrameEqual(actual, expected, checkRowOrder=check_row_order, rtol=rtol, atol=atol)


def assert_columns(df: Any, cols: Any, strict: bool = True) -> None:
    """Assert `df` has the columns `cols` (as `.output(cols=...)` takes them); `strict`: no others."""
    schema = to_schema(cols)
    if schema is None:
        raise InvalidArgumentError("assert_columns needs cols.")
    diff = schema.diff(df.dtypes, strict=strict)
    if not diff.ok:
        parts = [
            f"missing {list(diff.missing)}" if diff.missing else "",
            f"extra {list(diff.extra)}" if diff.extra else "",
        ]
        parts += [f"{n}: expected {e}, found {f}" for n, e, f in diff.mistyped]
        raise AssertionError("Columns differ: " + "; ".join(parts))


__all__ = ["assert_columns", "assert_df_equal"]
