"""Test helpers for code that uses dtflw or Databricks ``dbutils`` (no pyspark needed to import).

- ``FakeDbutils``: the ``dbutils`` test double (notebooks are registered Python callables).
- ``writes_outputs(exit_value=None, dbutils=None, cols=None)``: a notebook handler writing a stub
  table (``_SUCCESS`` + an empty parquet file with the given columns) for every ``<name>_out``
  argument; ``write_outputs`` is the same function. ``write_parquet_stub(path, dbutils, cols)``
  writes one stub.
- ``SchemaOnlySpark``: a SparkSession stand-in whose ``read.parquet(path).dtypes`` reads the
  parquet footer, so ``cols=`` output checks run without pyspark.
- ``assert_df_equal`` / ``assert_columns``: DataFrame assertions (need pyspark when called).
- pytest fixtures (``fake_dbutils``, ``local_flow``, ``dtflw_spark``, ``local_runtime``...) come
  from ``dtflw.testing.pytest_plugin``, registered automatically when dtflw is installed.
"""

from __future__ import annotations

from dtflw.testing.dataframes import assert_columns, assert_df_equal
from dtflw.testing.fake_dbutils import FakeDbutils, NotebookCall
from dtflw.testing.outputs import write_outputs, write_parquet_stub, writes_outputs
from dtflw.testing.parquet import SchemaOnlySpark, parquet_columns, write_empty_parquet

__all__ = [
    "FakeDbutils",
    "NotebookCall",
    "SchemaOnlySpark",
    "assert_columns",
    "assert_df_equal",
    "parquet_columns",
    "write_empty_parquet",
    "write_outputs",
    "write_parquet_stub",
    "writes_outputs",
]
