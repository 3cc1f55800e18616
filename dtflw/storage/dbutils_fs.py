"""Storage primitives on top of `dbutils.fs` — shared by the DBFS, Volumes and Azure backends."""

from __future__ import annotations

from typing import Any

from dtflw.errors import StorageError
from dtflw.quiet import quietly
from dtflw.storage.base import PathInfo, Storage


def is_not_found(error: BaseException) -> bool:
    """True when a dbutils.fs error says the path does not exist (Databricks' Java wording)."""
    text = str(error)
    return "java.io.FileNotFoundException" in text or "does not exist" in text


class DbutilsFsStorage(Storage):
    """A Storage whose metadata operations are `dbutils.fs` calls (one `ls` per question)."""

    @classmethod
    def __subclasshook__(cls, subclass: type) -> bool:
        """Only real subclasses are DbutilsFsStorages.

        `dtflw.storage.fs.FileStorageBase`, a subclass, claims every Storage (0.6.x checked
        storages with `isinstance(x, FileStorageBase)`); ABCs would pass that claim on to here.
        """
        if cls is DbutilsFsStorage:
            return DbutilsFsStorage in getattr(subclass, "__mro__", ())
        return super().__subclasshook__(subclass)  # NotImplemented: the usual ABC rules

    def _ls(self, path: str) -> list[Any] | None:
        try:
            return list(self.dbutils.fs.ls(path))
        except Exception as error:  # dbutils raises py4j / ExecutionError types we cannot import
            if is_not_found(error):
                return None
            raise StorageError(f"Listing {path!r} through dbutils.fs failed: {error}") from error

    def _list_dir(self, path: str) -> list[PathInfo] | None:
        listed = self._ls(path)
        if listed is None:
            return None
        return [_to_info(f) for f in listed]

    def _stat(self, path: str) -> PathInfo | None:
        listed = self._ls(path)
        if listed is None:
            return None
        bare = path.rstrip("/")
        name = bare.rsplit("/", 1)[-1]
        if len(listed) == 1 and listed[0].path.rstrip("/") == bare and not str(listed[0].name).endswith("/"):
            return _to_info(listed[0])
        return PathInfo(path=bare, name=name, is_dir=True)

    def _write_text(self, path: str, text: str) -> None:
        try:
            with quietly():  # `put` prints "Wrote N bytes."; the local runtime drops that line
                self.dbutils.fs.put(path, text, True)
        except Exception as error:
            raise StorageError(f"Writing {path!r} through dbutils.fs failed: {error}") from error

    def _read_text(self, path: str) -> str | None:
        try:
            return str(self.dbutils.fs.head(path, 10 * 1024 * 1024))
        except Exception as error:
            if is_not_found(error):
                return None
            raise StorageError(f"Reading {path!r} through dbutils.fs failed: {error}") from error

    def _create_marker(self, path: str, text: str) -> None:
        """An empty folder: `dbutils.fs.mkdirs` is one call and, unlike `put`, prints nothing."""
        try:
            self.dbutils.fs.mkdirs(path)
        except Exception as error:
            raise StorageError(f"Creating marker {path!r} through dbutils.fs failed: {error}") from error

    def _delete(self, path: str, recurse: bool = False) -> None:
        try:
            self.dbutils.fs.rm(path, recurse)
        except Exception as error:
            if not is_not_found(error):
                raise StorageError(f"Deleting {path!r} through dbutils.fs failed: {error}") from error


def _to_info(file_info: Any) -> PathInfo:
    name = str(file_info.name)
    return PathInfo(
        path=str(file_info.path).rstrip("/"),
        name=name.rstrip("/"),
        is_dir=name.endswith("/"),
        size=int(getattr(file_info, "size", 0) or 0),
        modification_time=int(getattr(file_info, "modificationTime", 0) or 0),
    )
