"""LocalStorage: tables in a plain directory — for unit tests and local runs."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dtflw.errors import InvalidArgumentError, StorageError
from dtflw.files import rmtree_tolerant
from dtflw.storage.base import PENDING_SUFFIX, PathInfo, Storage, _is_data_entry, has_glob

try:  # a local disk can lock: one marker file per table instead of a folder of entries
    from dtflw.storage.file_markers import LockedFileMarkers as _Markers
except ImportError:  # pragma: no cover - no flock (Windows): the generic marker folders
    from dtflw.storage.markers import PendingMarkers as _Markers  # type: ignore[assignment]


class LocalStorage(_Markers, Storage):
    """Tables under a local folder `root`; paths are plain absolute paths (`/tmp/x/Table.parquet`).

    Spark gets `file:` URIs, so reads and writes stay on local disk even inside the local
    Databricks runtime, where scheme-less paths mean DBFS.
    """

    scheme = "file"
    probe_legacy_marker = False  # creating an entry under a legacy file marker fails: that triggers its clean-up

    def __init__(
        self,
        root: str | os.PathLike[str],
        root_dir: str = "",
        format: str = "parquet",
        spark: Any = None,
        dbutils: Any = None,
    ) -> None:
        if not isinstance(root, (str, os.PathLike)) or str(root).strip() == "" or "\0" in str(root):
            raise InvalidArgumentError(f"LocalStorage root must be a non-empty path without NUL, got {root!r}.")
        if "{" in str(root) or "}" in str(root):
            raise InvalidArgumentError(
                f"LocalStorage root {str(root)!r} must not contain '{{' or '}}': in table paths they mark "
                "`{name}` templates (for_each, backfills). Use a folder without braces."
            )
        super().__init__(root_dir, spark=spark, dbutils=dbutils, format=format)
        self._root = Path(root).expanduser().resolve()
        self._base_path = str(self._root).rstrip("/") + "/"

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> LocalStorage:
        """`file:///abs/dir`, `file:/abs/dir` or a plain path."""
        path = url
        if url.startswith("file:"):
            path = url[len("file:") :]
            if path.startswith("//"):  # file:///abs (empty authority)
                path = path[2:]
            if not path.startswith("/"):
                raise InvalidArgumentError(f"A file: storage URL needs an absolute path, got {url!r}.")
        return cls(path, **kwargs)

    @property
    def root(self) -> Path:
        return self._root

    @property
    def base_path(self) -> str:
        return self._base_path

    def _spark_path(self, abs_path: str) -> str:
        return "file:" + abs_path

    def _list_dir(self, path: str) -> list[PathInfo] | None:
        try:
            with os.scandir(path) as it:
                return _entries(it)
        except NotADirectoryError:
            info = self._stat(path)
            return [info] if info else None
        except FileNotFoundError:
            return None

    def tables_exist(self, paths: Sequence[str], max_workers: int = 8) -> list[bool]:
        """As `Storage.tables_exist`, with the two `stat`s per parquet file in one tight loop
        (threads would only wait for each other: a local `stat` takes microseconds)."""
        own = type(self)
        if own.exists is not LocalStorage.exists or own._table_is_complete is not LocalStorage._table_is_complete:
            return super().tables_exist(paths, max_workers)  # a subclass decides (maybe slowly): as Storage does
        if self._format == "delta":
            return super().tables_exist(paths, max_workers=1)
        base = self._base_path
        found = []
        for path in paths:
            if path.__class__ is not str or not path.startswith(base) or has_glob(path[len(base) :]):
                found.append(self.table_exists(path))  # the general route (and its errors)
                continue
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                found.append(False)
                continue
            if stat.S_ISDIR(st.st_mode) and not self._table_is_complete(path):
                found.append(False)
                continue
            found.append(not self._path_exists(path.rstrip("/") + PENDING_SUFFIX))
        return found

    def _table_is_complete(self, abs_path: str) -> bool:
        """The generic rule (`Storage._table_is_complete`) with one `stat` for a file and names
        only for a folder: this check runs for every input and output of every notebook."""
        if self._format == "delta" and not abs_path.endswith(".parquet"):
            return super()._table_is_complete(abs_path)
        try:
            st = os.stat(abs_path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        if not stat.S_ISDIR(st.st_mode):
            return True
        try:
            with os.scandir(abs_path) as it:
                return any(_is_data_entry(e.name) or e.name == "_SUCCESS" for e in it)
        except (FileNotFoundError, NotADirectoryError):
            return False

    def _files_below(self, abs_path: str) -> list[tuple[str, int, int]] | None:
        """As `Storage._files_below`, with one `stat` for a single file (the common parquet output)."""
        try:
            st = os.stat(abs_path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISDIR(st.st_mode):
            return super()._files_below(abs_path)
        return [(os.path.basename(abs_path.rstrip("/")), st.st_size, int(st.st_mtime * 1000))]

    def _path_exists(self, path: str) -> bool:
        try:
            os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def _stat(self, path: str) -> PathInfo | None:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        p = path.rstrip("/")
        return _info(p, os.path.basename(p), stat.S_ISDIR(st.st_mode), st)

    def _write_text(self, path: str, text: str) -> None:
        """Atomic: the text goes to a temporary file beside `path`, which then replaces it."""
        target = Path(path)
        data = text.encode("utf-8")
        for attempt in range(5):
            tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.tmp"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                # Complete file first, then one rename: a crash or a full disk never leaves a partial
                # target. (No fsync: these are small bookkeeping files, and a sync per notebook
                # would dominate large runs; the rename alone is atomic for readers.)
                with open(tmp, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, target)
                return
            except (FileNotFoundError, FileExistsError):  # a concurrent cleanup removed the (empty) parent folder
                _unlink_quietly(tmp)
                if attempt == 4:
                    raise StorageError(f"Writing {path!r} failed: its folder kept disappearing.") from None
            except OSError as error:
                _unlink_quietly(tmp)
                raise StorageError(f"Writing {path!r} failed: {error.strerror or error}.") from error

    def _write_text_atomic(self, path: str, text: str) -> None:
        self._write_text(path, text)

    def _create_marker(self, path: str, text: str) -> None:
        """A pending entry: written in place (its existence is what counts, so no temporary
        file that a crash could strand inside the marker folder)."""
        data = text.encode("utf-8")
        for attempt in range(20):
            try:
                _make_folder(os.path.dirname(path))
                with open(path, "wb") as handle:
                    handle.write(data)
                return
            except (FileNotFoundError, FileExistsError):  # a concurrent clear removed the empty marker folder
                if attempt == 19:
                    raise StorageError(f"Creating marker {path!r} failed: its folder kept disappearing.") from None
            except OSError as error:
                raise StorageError(f"Creating marker {path!r} failed: {error.strerror or error}.") from error

    def _read_text(self, path: str) -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def _delete(self, path: str, recurse: bool = False) -> None:
        """Idempotent: a path that is missing, or vanishes meanwhile, is not an error."""
        p = Path(path)
        for attempt in range(5):
            try:
                if attempt == 0:  # the common case, a file: one call
                    try:
                        os.unlink(path)
                        return
                    except (IsADirectoryError, PermissionError):  # a folder (EISDIR, or EPERM on some systems)
                        pass
                if p.is_dir() and not p.is_symlink():
                    if recurse:
                        rmtree_tolerant(p)
                    else:
                        p.rmdir()
                else:
                    p.unlink()
                return
            except FileNotFoundError:
                return
            except (IsADirectoryError, NotADirectoryError):  # replaced meanwhile by the other kind
                if attempt == 4:
                    raise StorageError(f"Deleting {path!r} failed: it kept changing.") from None
            except OSError as error:
                raise StorageError(f"Deleting {path!r} failed: {error.strerror or error}.") from error

    def _remove_empty_dir(self, path: str) -> None:
        try:
            os.rmdir(path)  # atomic: refuses a folder that is not empty
        except OSError:
            pass


def _make_folder(folder: str) -> None:
    """`folder` and its parents, existing already or not (one call when only the leaf is new)."""
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _info(path: str, name: str, is_dir: bool, st: os.stat_result) -> PathInfo:
    return PathInfo(
        path=path, name=name, is_dir=is_dir, size=0 if is_dir else st.st_size, modification_time=int(st.st_mtime * 1000)
    )


def _entries(it: Any) -> list[PathInfo]:
    """Listing entries; one removed between listing and stat (a concurrent delete) is left out."""
    found = []
    for e in it:
        try:
            found.append(_info(e.path, e.name, e.is_dir(), e.stat()))
        except FileNotFoundError:
            continue
    return found
