"""The dtflw 0.6.x module `dtflw.storage.fs`, kept so storages written for 0.6.x work unchanged.

It keeps alive:

- `FileStorageBase`: the base class of 0.6.x custom storages. A subclass that calls
  `super().__init__(spark, dbutils, root_dir)` (0.6.x argument order) and defines `base_path`
  gets every storage operation through `dbutils.fs` and Spark (it is a `DbutilsFsStorage`);
  `format="delta"` may be passed as a keyword. Methods it overrides (`exists(path)`,
  `read_table(path)`, `get_path_with_file_extension(path)` ...) are honoured by the core.
  `isinstance(storage, FileStorageBase)` is True for every dtflw `Storage`, as 0.6.x code expects.
- `file_exists(abs_path, dbutils=None)`: True/False from one `dbutils.fs.ls`.
"""

from __future__ import annotations

from typing import Any

import dtflw.databricks as db
from dtflw.errors import InvalidArgumentError, StorageError
from dtflw.storage.base import Storage
from dtflw.storage.dbutils_fs import DbutilsFsStorage, is_not_found


def file_exists(abs_path: str, dbutils: Any = None) -> bool:
    """True when something (file or folder) is at `abs_path`, False when `dbutils.fs.ls` says it
    is not found; any other failure raises StorageError. `dbutils` defaults to the runtime's."""
    if not isinstance(abs_path, str) or not abs_path.strip():
        raise InvalidArgumentError(f"abs_path must be a non-empty string, got {abs_path!r}.")
    if dbutils is None:
        dbutils = db.get_dbutils()
    try:
        dbutils.fs.ls(abs_path)
    except Exception as error:  # dbutils raises py4j / ExecutionError types we cannot import
        if is_not_found(error):
            return False
        raise StorageError(f"Checking {abs_path!r} through dbutils.fs failed: {error}") from error
    return True


class FileStorageBase(DbutilsFsStorage):
    """Base class of dtflw 0.6.x custom storages: subclass it and define `base_path`.

    `FileStorageBase(spark, dbutils, root_dir="", format="parquet")`; spark and dbutils are found
    in the runtime when None.
    """

    def __init__(
        self, spark: Any = None, dbutils: Any = None, root_dir: str | None = "", *, format: str = "parquet"
    ) -> None:
        super().__init__(root_dir, spark=spark, dbutils=dbutils, format=format)

    @classmethod
    def __subclasshook__(cls, subclass: type) -> bool:
        """Every Storage is a FileStorageBase (0.6.x code checked storages that way); a user's
        subclass of FileStorageBase claims only its own subclasses."""
        if cls is FileStorageBase and Storage in getattr(subclass, "__mro__", ()):
            return True
        return super().__subclasshook__(subclass)  # NotImplemented: the usual ABC rules


__all__ = ["FileStorageBase", "file_exists"]
