"""Storage primitives on top of `dbutils.fs` — shared by the DBFS, Volumes and Azure backends."""

from __future__ import annotations

import uuid
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
        """Atomic: `put` to a temporary name beside `path`, then `mv` onto it (a rename on DBFS,
        Volumes and ADLS), so readers never see a partial or empty file."""
        parent, _, name = path.rstrip("/").rpartition("/")
        tmp = f"{parent}/.{name}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            with quietly():  # `put` prints "Wrote N bytes."; the local runtime drops that line
                self.dbutils.fs.put(tmp, text, True)
            self._move_over(tmp, path)
        except Exception as error:
            self._delete_quietly(tmp)
            if isinstance(error, StorageError):
                raise
            raise StorageError(f"Writing {path!r} through dbutils.fs failed: {error}") from error

    def _write_text_atomic(self, path: str, text: str) -> None:
        self._write_text(path, text)

    def _move_over(self, source: str, target: str) -> None:
        """Rename `source` onto `target`; where a rename will not replace a file, replace it."""
        try:
            self.dbutils.fs.mv(source, target)
        except Exception as error:
            if "already exists" not in str(error).lower() or self._stat(target) is None:
                raise
            self._delete(target)  # a file system whose rename refuses to replace
            self.dbutils.fs.mv(source, target)

    def _delete_quietly(self, path: str) -> None:
        try:
            self.dbutils.fs.rm(path, False)
        except Exception:  # best effort: the temporary file may never have been written
            pass

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
        """Idempotent: a missing path (or one removed meanwhile) is not an error."""
        try:
            self.dbutils.fs.rm(path, recurse)
        except Exception as error:
            if not is_not_found(error):
                raise StorageError(f"Deleting {path!r} through dbutils.fs failed: {error}") from error

    def _remove_empty_dir(self, path: str) -> None:
        """`rm` without recurse refuses a folder that is not empty: exactly what a racing clear needs."""
        try:
            self.dbutils.fs.rm(path, False)
        except Exception:  # not empty (another writer's entry) or already gone
            pass


def _to_info(file_info: Any) -> PathInfo:
    name = str(file_info.name)
    return PathInfo(
        path=str(file_info.path).rstrip("/"),
        name=name.rstrip("/"),
        is_dir=name.endswith("/"),
        size=int(getattr(file_info, "size", 0) or 0),
        modification_time=int(getattr(file_info, "modificationTime", 0) or 0),
    )
