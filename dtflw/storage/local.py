"""LocalStorage: tables in a plain directory — for unit tests and local runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from dtflw.errors import InvalidArgumentError
from dtflw.storage.base import PathInfo, Storage


class LocalStorage(Storage):
    """Tables under a local folder `root`; paths are plain absolute paths (`/tmp/x/Table.parquet`).

    Spark gets `file:` URIs, so reads and writes stay on local disk even inside the local
    Databricks runtime, where scheme-less paths mean DBFS.
    """

    scheme = "file"

    def __init__(
        self,
        root: str | os.PathLike[str],
        root_dir: str = "",
        format: str = "parquet",
        spark: Any = None,
        dbutils: Any = None,
    ) -> None:
        if not isinstance(root, (str, os.PathLike)) or str(root).strip() == "":
            raise InvalidArgumentError(f"LocalStorage root must be a non-empty path, got {root!r}.")
        super().__init__(root_dir, spark=spark, dbutils=dbutils, format=format)
        self._root = Path(root).expanduser().resolve()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> LocalStorage:
        """`file:///abs/dir` or a plain path."""
        path = url[len("file://") :] if url.startswith("file://") else url
        return cls(path, **kwargs)

    @property
    def root(self) -> Path:
        return self._root

    @property
    def base_path(self) -> str:
        return str(self._root).rstrip("/") + "/"

    def _spark_path(self, abs_path: str) -> str:
        return "file:" + abs_path

    def _list_dir(self, path: str) -> list[PathInfo] | None:
        try:
            with os.scandir(path) as it:
                return [_info(e.path, e.name, e.is_dir(), e.stat()) for e in it]
        except NotADirectoryError:
            info = self._stat(path)
            return [info] if info else None
        except FileNotFoundError:
            return None

    def _stat(self, path: str) -> PathInfo | None:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        p = path.rstrip("/")
        return _info(p, os.path.basename(p), os.path.isdir(p), st)

    def _write_text(self, path: str, text: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")

    def _read_text(self, path: str) -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def _delete(self, path: str, recurse: bool = False) -> None:
        p = Path(path)
        if p.is_dir() and not p.is_symlink():
            if recurse:
                shutil.rmtree(p)
            else:
                p.rmdir()
        elif p.exists() or p.is_symlink():
            p.unlink()


def _info(path: str, name: str, is_dir: bool, st: os.stat_result) -> PathInfo:
    return PathInfo(
        path=path, name=name, is_dir=is_dir, size=0 if is_dir else st.st_size, modification_time=int(st.st_mtime * 1000)
    )
