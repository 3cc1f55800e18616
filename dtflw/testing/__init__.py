"""Test helpers for code that uses dtflw or Databricks ``dbutils`` (no pyspark needed)."""

from __future__ import annotations

from dtflw.testing.fake_dbutils import FakeDbutils, NotebookCall

__all__ = ["FakeDbutils", "NotebookCall"]
