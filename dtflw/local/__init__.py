"""The local Databricks runtime: run unmodified notebooks on a local Spark with Delta Lake.

`LocalRuntime(dbfs_root=..., user=...).run_notebook(path, params)`; the `dtflw run` command
wraps it. pyspark is imported only when a notebook first touches Spark.
"""

from dtflw.local.runtime import LocalDbutils, LocalRuntime

__all__ = ["LocalRuntime", "LocalDbutils"]
