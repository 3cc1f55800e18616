"""The storage abstraction: where tables live, how their paths are derived and checked.

A backend implements four primitives (list a folder, test a path, write a small text file,
delete); everything else — table existence, globbing, versions — is built on them here (pending
markers in `dtflw.storage.markers`), so every backend answers the same questions the same way.
"""

from __future__ import annotations

import builtins
import fnmatch
import functools
import hashlib
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import attrs

from dtflw.errors import InvalidArgumentError, StorageError
from dtflw.storage.markers import PENDING_SUFFIX as PENDING_SUFFIX  # re-exported: defined here before
from dtflw.storage.markers import PendingMarkers
from dtflw.storage.markers import is_marker_name as is_marker_name
from dtflw.storage.markers import join_path as join_path
from dtflw.storage.markers import same_path as _same_path

TABLE_FORMATS = ("parquet", "delta")
_GLOB_CHARS = re.compile(r"[*?\[]")
_DELTA_COMMIT = re.compile(r"^(\d{20})\.(json|checkpoint\.parquet)$")


@attrs.frozen
class PathInfo:
    """One entry of a folder listing: full path, last path segment, kind, size and mtime (ms)."""

    path: str
    name: str
    is_dir: bool
    size: int = 0
    modification_time: int = 0


def has_glob(path: str) -> bool:
    """True when a path holds a glob character (`*`, `?`, `[`)."""
    return bool(_GLOB_CHARS.search(path))


class Storage(PendingMarkers, ABC):
    """A place for tables: derives absolute paths, checks existence, lists, reads and writes.

    Subclasses provide `base_path` and the four primitives `_list_dir`, `_stat`,
    `_write_text` and `_delete`. `format` is the table format: "parquet" (a `<Table>.parquet`
    file or folder, as dtflw 0.6.x) or "delta" (a `<Table>` folder with a `_delta_log/`).
    """

    scheme: ClassVar[str] = ""

    def __init__(
        self, root_dir: str | None = "", spark: Any = None, dbutils: Any = None, format: str = "parquet"
    ) -> None:
        if format not in TABLE_FORMATS:
            raise InvalidArgumentError(f"Unknown table format {format!r}; expected one of {', '.join(TABLE_FORMATS)}.")
        if root_dir is not None and not isinstance(root_dir, str):
            raise InvalidArgumentError(f"root_dir must be a string (a folder under the storage), got {root_dir!r}.")
        root = (root_dir or "").strip("/")
        if not root.isprintable() or "{" in root or "}" in root:
            raise InvalidArgumentError(
                f"root_dir {root_dir!r} must not contain control characters (NUL, newline, tab...), '{{' or '}}' "
                "(braces mark `{name}` path templates)."
            )
        if ".." in root.split("/"):
            raise InvalidArgumentError(f"root_dir {root_dir!r} must not contain '..'.")
        self._root_dir = root
        self._spark = spark
        self._dbutils = dbutils
        self._format = format

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Storage:
        """Build the storage a URL names (`storage_from_url` calls this on the scheme's backend)."""
        raise StorageError(f"{cls.__name__} cannot be built from a URL {url!r}: the backend defines no from_url().")

    # ---- identity -------------------------------------------------------------------------
    @property
    @abstractmethod
    def base_path(self) -> str:
        """The absolute prefix every path of this storage starts with (ends with '/')."""

    @property
    def root_dir(self) -> str:
        """Folder under `base_path` where derived table paths start ('' for none)."""
        return self._root_dir

    @property
    def format(self) -> str:
        """Table format: 'parquet' or 'delta'."""
        return self._format

    @property
    def spark(self) -> Any:
        """The SparkSession used for reads and writes (found lazily in the runtime if not given)."""
        if self._spark is None:
            from dtflw.databricks import get_spark_session

            self._spark = get_spark_session()
        return self._spark

    @spark.setter
    def spark(self, value: Any) -> None:  # 0.6.x subclasses assigned `self.spark = spark` themselves
        self._spark = value

    @property
    def dbutils(self) -> Any:
        """The dbutils used for file operations (found lazily in the runtime if not given)."""
        if self._dbutils is None:
            from dtflw.databricks import get_dbutils

            self._dbutils = get_dbutils()
        return self._dbutils

    @dbutils.setter
    def dbutils(self, value: Any) -> None:  # as `spark`: 0.6.x subclasses may assign it
        self._dbutils = value

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_path={self.base_path!r}, root_dir={self.root_dir!r}, format={self.format!r})"
        )

    # ---- paths ----------------------------------------------------------------------------
    def is_pattern(self, path: str) -> bool:
        """True when the part of `path` below `base_path` holds a glob character (`*`, `?`, `[`);
        a base path that contains one (a folder named `data[1]`) is not a pattern."""
        return has_glob(path[len(self.base_path) :] if path.startswith(self.base_path) else path)

    def is_abs_path(self, path: str) -> bool:
        """True when `path` is absolute on this storage (starts with `base_path`)."""
        return isinstance(path, str) and path.startswith(self.base_path)

    def get_abs_path(self, rel_path: str) -> str:
        """`<base_path>/<rel_path>`; a path that is already absolute here is returned unchanged.

        An absolute path of another storage (other scheme or prefix) is an error: this storage
        could not check or read it.
        """
        _check_path_arg(rel_path, "rel_path")
        if self.is_abs_path(rel_path) or rel_path.rstrip("/") == self.base_path.rstrip("/"):
            return rel_path
        if _looks_absolute(rel_path):
            raise StorageError(
                f"Path {rel_path!r} is not on this storage: expected a path relative to, or "
                f"starting with, {self.base_path!r}."
            )
        return join_path(self.base_path, rel_path)

    def get_path_in_root_dir(self, rel_path: str) -> str:
        """`<root_dir>/<rel_path>`, still relative to `base_path`."""
        _check_path_arg(rel_path, "rel_path")
        return join_path(self._root_dir, rel_path)

    def get_path_with_file_extension(self, path: str) -> str:
        """The table path for this format: `<path>.parquet`, or `<path>` for delta folders."""
        _check_path_arg(path, "path")
        return f"{path}.parquet" if self._format == "parquet" else path

    def derive_table_path(self, project_path: str, table: str) -> str:
        """Default absolute path of `table` written by the notebook at `project_path`."""
        return self.get_abs_path(
            self.get_path_in_root_dir(self.get_path_with_file_extension(f"{project_path}/{table}"))
        )

    # ---- primitives (backend-specific) ----------------------------------------------------
    @abstractmethod
    def _list_dir(self, path: str) -> list[PathInfo] | None:
        """Entries of folder `path` (a file lists as itself); None when the path does not exist."""

    @abstractmethod
    def _stat(self, path: str) -> PathInfo | None:
        """The entry for `path` itself (file or folder), None when missing (one request)."""

    def _path_exists(self, path: str) -> bool:
        return self._stat(path) is not None

    @abstractmethod
    def _write_text(self, path: str, text: str) -> None:
        """Create or overwrite a small UTF-8 file (pending markers, run history).

        dtflw's backends write atomically: readers see the old content or the new, never a
        partial or empty file; a failure raises StorageError naming the path.
        """

    def _write_text_atomic(self, path: str, text: str) -> None:
        """`_write_text`, which dtflw's own backends make atomic (custom backends may not)."""
        self._write_text(path, text)

    def _read_text(self, path: str) -> str | None:
        """A small UTF-8 file's content (run history), None when missing."""
        raise NotImplementedError(f"{type(self).__name__} cannot read text files (needed for run history).")

    @abstractmethod
    def _delete(self, path: str, recurse: bool = False) -> None:
        """Delete a file (or a folder with `recurse`); a missing path is not an error."""

    # ---- tables ---------------------------------------------------------------------------
    def exists(self, path: str, ignore_pending: bool = False) -> bool:
        """True when a complete table (or plain file/folder) exists at `path`.

        Delta: `_delta_log/` holds a commit. Parquet: the file, or a folder with `_SUCCESS` or any
        data entry. A table that a notebook is writing (or failed while writing) carries a
        pending marker and does not count as existing (unless `ignore_pending`, which the
        notebook's own output check uses). Glob patterns are not accepted here.
        """
        abs_path = self._checked_abs(path)
        if self.is_pattern(abs_path):
            raise InvalidArgumentError(
                f"exists() takes a concrete path, got the pattern {abs_path!r}; use list() for patterns."
            )
        return self._table_is_complete(abs_path) and (ignore_pending or not self.is_pending(abs_path))

    def table_exists(self, path: str, ignore_pending: bool = False) -> bool:
        """The existence check dtflw's core makes: `exists`, whichever signature a subclass gave it.

        dtflw's backends take `exists(path, ignore_pending)`. A storage written for dtflw 0.6.x may
        override `exists(self, path)` alone: its answer is honoured, and the pending-marker check
        is added here (unless `ignore_pending`), so a half-written output never counts as complete.
        """
        if _exists_takes_ignore_pending(type(self)):
            return self.exists(path, ignore_pending=ignore_pending)
        return bool(self.exists(path)) and (ignore_pending or not self.is_pending(path))

    def tables_exist(self, paths: Sequence[str], max_workers: int = 8) -> builtins.list[bool]:
        """`table_exists` of each path, in order: what a lazy run asks about all of its outputs
        before it starts. Asked `max_workers` at a time (remote storages answer each question
        with a round trip); a failure raises the first error."""
        if len(paths) < 2 or max_workers < 2:
            return [self.table_exists(p) for p in paths]
        with ThreadPoolExecutor(min(max_workers, len(paths)), thread_name_prefix="dtflw-exists") as pool:
            return list(pool.map(self.table_exists, paths))

    def _table_is_complete(self, abs_path: str) -> bool:
        if self._format == "delta" and not abs_path.endswith(".parquet"):
            log = self._list_dir(join_path(abs_path, "_delta_log"))
            if log is not None:
                return any(_DELTA_COMMIT.match(e.name.rstrip("/")) for e in log)
        entries = self._list_dir(abs_path)
        if entries is None:
            return False
        if len(entries) == 1 and not entries[0].is_dir and _same_path(entries[0].path, abs_path):
            return True
        return any(_is_data_entry(e.name) or e.name.rstrip("/") == "_SUCCESS" for e in entries)

    def list(self, glob_pattern: str) -> list[str]:
        """Absolute paths matching `glob_pattern` (`*`, `?`, `[...]` within one path segment).

        Walks only the folders the pattern can match: a literal prefix is not listed at all.
        """
        abs_pattern = self._checked_abs(glob_pattern, name="glob_pattern")
        rel = abs_pattern[len(self.base_path) :] if abs_pattern.startswith(self.base_path) else abs_pattern
        segments = [s for s in rel.split("/") if s != ""]
        if not segments:
            return [self.base_path] if self._path_exists(self.base_path) else []
        return sorted(info.path for info in self._glob(segments))

    def _glob(self, segments: Sequence[str]) -> builtins.list[PathInfo]:
        found: list[PathInfo] = []
        self._walk(self.base_path.rstrip("/"), segments, found)
        return found

    def _walk(self, current: str, segments: Sequence[str], out: builtins.list[PathInfo]) -> None:
        head, rest = segments[0], segments[1:]
        if not has_glob(head):
            candidate = join_path(current, head)
            if rest:
                self._walk(candidate, rest, out)
            elif (info := self._stat(candidate)) is not None:
                out.append(attrs.evolve(info, path=candidate))
            return
        entries = self._list_dir(current + "/" if not current.endswith("/") else current) or []
        if len(entries) == 1 and not entries[0].is_dir and _same_path(entries[0].path, current):
            return  # `current` is a file: nothing lies below it
        for entry in entries:
            name = entry.name.rstrip("/")
            if is_marker_name(name) or not fnmatch.fnmatchcase(name, head):
                continue
            child = join_path(current, name)
            if rest:
                if entry.is_dir:
                    self._walk(child, rest, out)
            else:
                out.append(attrs.evolve(entry, path=child))

    def version(self, path: str) -> str | None:
        """A string that changes whenever the table changes; None when it does not exist.

        Delta: the latest commit number. Other tables: a digest of the names, sizes and mtimes of
        every file below the path (partition folders included; one listing per folder).
        """
        abs_path = self._checked_abs(path)
        if self.is_pattern(abs_path):
            rel = abs_path[len(self.base_path) :]
            found = self._glob([s for s in rel.split("/") if s])
            return _digest((i.path, i.size, i.modification_time) for i in found) if found else None
        if self._format == "delta":
            log = self._list_dir(join_path(abs_path, "_delta_log"))
            if log:
                commits = [int(m.group(1)) for e in log if (m := _DELTA_COMMIT.match(e.name))]
                if commits:
                    return f"delta:{max(commits)}"
        files = self._files_below(abs_path)
        return None if files is None else _digest(files)

    def _files_below(self, abs_path: str) -> builtins.list[tuple[str, int, int]] | None:
        """(relative name, size, mtime) of every file under `abs_path`; None when it is missing."""
        entries = self._list_dir(abs_path)
        if entries is None:
            return None
        files: list[tuple[str, int, int]] = []
        stack = [("", entries)]
        while stack:
            prefix, listing = stack.pop()
            for entry in listing:
                name = prefix + entry.name.rstrip("/")
                if is_marker_name(entry.name):
                    continue
                if entry.is_dir:
                    stack.append((name + "/", self._list_dir(join_path(abs_path, name)) or []))
                else:
                    files.append((name, entry.size, entry.modification_time))
        return files

    def read_table(self, path: str) -> Any:
        """Read the table at `path` into a Spark DataFrame."""
        abs_path = self._checked_abs(path)
        reader = self.spark.read
        if self._format == "delta" and not abs_path.endswith(".parquet"):
            return reader.format("delta").load(self._spark_path(abs_path))
        return reader.parquet(self._spark_path(abs_path))

    def write_table(self, df: Any, path: str) -> None:
        """Write `df` to `path` in this storage's format, replacing what was there."""
        abs_path = self._checked_abs(path)
        writer = df.write.mode("overwrite")
        if self._format == "delta" and not abs_path.endswith(".parquet"):
            writer.format("delta").option("overwriteSchema", "true").save(self._spark_path(abs_path))
        else:
            writer.parquet(self._spark_path(abs_path))

    def _spark_path(self, abs_path: str) -> str:
        """The form of `abs_path` that Spark should get (backends with plain paths add a scheme)."""
        return abs_path

    # ---- helpers --------------------------------------------------------------------------
    def _checked_abs(self, path: str, name: str = "path") -> str:
        """`path` made absolute; `get_abs_path` only gets relative paths (a 0.6.x override may
        prefix `base_path` unconditionally, as 0.6.x's own did)."""
        _check_path_arg(path, name)
        return path if self.is_abs_path(path) else self.get_abs_path(path)


@functools.lru_cache(maxsize=256)
def _exists_takes_ignore_pending(cls: type[Storage]) -> bool:
    """True when `cls.exists` accepts `ignore_pending=` (a named parameter or `**kwargs`).

    Inspected once per class (a bounded cache: asked for every table check). An `exists` whose
    signature cannot be read counts as 0.6.x-style.
    """
    try:
        params = list(inspect.signature(cls.exists).parameters.values())
    except (TypeError, ValueError):
        params = []
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD or (p.name == "ignore_pending" and p.kind in keyword) for p in params
    )


def _check_path_arg(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string, got {type(value).__name__}.")
    if value.strip() == "":
        raise InvalidArgumentError(f"{name} must not be empty.")
    if "\0" in value:
        raise InvalidArgumentError(f"{name} {value!r} must not contain a NUL character.")


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _looks_absolute(path: str) -> bool:
    return path.startswith("/") or bool(_SCHEME.match(path))


def _is_data_entry(name: str) -> bool:
    bare = name.rstrip("/")
    return not (bare.startswith("_") or bare.startswith("."))


def _digest(items: Iterable[tuple[object, ...]]) -> str:
    h = hashlib.sha1()
    for item in sorted(items):
        h.update(repr(item).encode())
    return "files:" + h.hexdigest()[:16]
