"""DbfsStorage: tables on the Databricks File System (`dbfs:/`)."""

from __future__ import annotations

from typing import Any

import dtflw.databricks as db
from dtflw.storage.dbutils_fs import DbutilsFsStorage


class DbfsStorage(DbutilsFsStorage):
    """Tables under `dbfs:/<root_dir>/...`; metadata through `dbutils.fs`, data through Spark."""

    scheme = "dbfs"

    def __init__(self, root_dir: str | None, spark: Any = None, dbutils: Any = None, format: str = "parquet") -> None:
        super().__init__(root_dir, spark=spark, dbutils=dbutils, format=format)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> DbfsStorage:
        """`dbfs:/FileStore/me` -> root_dir `FileStore/me`."""
        return cls(url[len("dbfs:") :].strip("/"), **kwargs)

    @property
    def base_path(self) -> str:
        return "dbfs:/"


def init_storage(
    root_dir: str | None = None, spark: Any = None, dbutils: Any = None, format: str = "parquet"
) -> DbfsStorage:
    """A DbfsStorage; `root_dir` defaults to `FileStore/<current user>` (dtflw 0.6.x behaviour)."""
    if dbutils is None:
        dbutils = db.get_dbutils()
    if root_dir is None:
        root_dir = f"FileStore/{db.get_current_username(dbutils)}"
    return DbfsStorage(root_dir, spark=spark, dbutils=dbutils, format=format)
