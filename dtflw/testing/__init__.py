"""Test helpers for code that uses dtflw or Databricks ``dbutils`` (no pyspark needed)."""

from __future__ import annotations

from dtflw.testing.fake_dbutils import FakeDbutils, NotebookCall
from dtflw.testing.outputs import write_outputs, write_parquet_stub

__all__ = ["FakeDbutils", "NotebookCall", "write_outputs", "write_parquet_stub"]
