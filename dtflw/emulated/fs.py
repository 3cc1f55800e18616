"""Emulated ``dbutils.fs`` over local folders (see ``PathMap`` for the path layout).

Mirrors the runtime: ``FileInfo`` with trailing ``/`` for directories and ms timestamps, runtime
type checks, ``ExecutionError`` carrying ``java.io.FileNotFoundException`` text, and no ``exists``.
Legacy mounts (``mount``, ``mounts``, ``unmount``, ``refreshMounts``, ``updateMount``) are links in the
DBFS root (see ``dtflw.emulated.mounts``); ``help()`` prints the method list.
"""

from __future__ import annotations

import enum
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple, TypeVar

from dtflw.emulated import help as _help
from dtflw.emulated.errors import ExecutionError
from dtflw.emulated.mounts import MountInfo, MountTable
from dtflw.emulated.paths import Location, PathMap, join_uri
from dtflw.errors import InvalidTypeError
from dtflw.files import rmtree_tolerant

_T = TypeVar("_T")


class _Unset(enum.Enum):
    """Sentinel type for "argument not given" (``None`` is a value the type check must reject)."""

    TOKEN = 0


_UNSET = _Unset.TOKEN


class _FileInfoFields(NamedTuple):
    path: str
    name: str
    size: int
    modificationTime: int


class FileInfo(_FileInfoFields):
    """One ``dbutils.fs.ls`` entry; directories have a trailing ``/`` on path and name."""

    __slots__ = ()

    def isDir(self) -> bool:
        """True for directories (their name ends with ``/``)."""
        return self.name.endswith("/")

    def isFile(self) -> bool:
        """True for files."""
        return not self.isDir()


def _check_type(value: object, expected: type) -> None:
    """The runtime's argument check, with its exact message."""
    if not isinstance(value, expected):
        raise InvalidTypeError(f"{value!r} has the wrong type - {expected} is expected.")


def _pick(first_name: str, first: _T | _Unset, second_name: str, second: _T | _Unset) -> _T:
    """Accept one of two keyword spellings (SDK stub vs. remote dbutils) for one parameter."""
    if first is not _UNSET and second is not _UNSET:
        raise InvalidTypeError(f"Pass either {first_name} or {second_name}, not both")
    if first is not _UNSET:
        return first
    if second is not _UNSET:
        return second
    raise InvalidTypeError(f"Missing required argument: {first_name}")


def _mtime_ms(path: Path) -> int:
    """Modification time in epoch milliseconds."""
    return int(path.stat().st_mtime * 1000)


class EmulatedFs:
    """``dbutils.fs`` backed by the local file system through a ``PathMap``."""

    def __init__(self, path_map: PathMap) -> None:
        self.path_map = path_map
        self.mount_table = MountTable(path_map)

    def __repr__(self) -> str:
        return f"EmulatedFs(dbfs_root={str(self.path_map.dbfs_root)!r})"

    # -- helpers -----------------------------------------------------------------------------

    def _locate(self, uri: str) -> Location:
        """Type-check and parse a path argument."""
        _check_type(uri, str)
        return self.path_map.locate(uri)

    def _existing(self, operation: str, uri: str) -> Location:
        """Like ``_locate`` but the path must exist (else ``FileNotFoundException``)."""
        location = self._locate(uri)
        if not location.local.exists():
            raise ExecutionError.file_not_found(operation, _shown(location))
        return location

    def _roots(self) -> set[Path]:
        """Local roots that must never be deleted or moved as a whole."""
        pm = self.path_map
        roots = (pm.dbfs_root, pm.volumes_root, pm.cloud_root, Path("/"))
        return {root for root in roots if root is not None}

    def _refuse_whole(self, operation: str, location: Location) -> None:
        """Roots and mount points may not be deleted or moved as a whole."""
        verb = "delete" if operation == "rm" else "move"
        if location.local in self._roots():
            raise ExecutionError.io_error(operation, f"Refusing to {verb} the root {_shown(location)}")
        if location.local in self.mount_table.link_paths():
            raise ExecutionError.io_error(
                operation, f"Refusing to {verb} the mount point {_shown(location)}; use dbutils.fs.unmount"
            )

    def help(self, method_name: str = "") -> None:
        """Print the methods of ``dbutils.fs`` (or one of them); returns ``None``."""
        return _help.print_help(_help.FS, method_name)

    # -- mounts (see dtflw.emulated.mounts) --------------------------------------------------

    def mount(
        self,
        source: str,
        mount_point: str,
        encryption_type: str = "",
        owner: str | None = None,
        extra_configs: Mapping[str, str] | None = None,
    ) -> bool:
        """Mount ``source`` at ``/mnt/<name>``; an existing mount point raises ``Directory already mounted``."""
        return self.mount_table.mount(source, mount_point, encryption_type, owner, extra_configs)

    def mounts(self) -> list[MountInfo]:
        """All mount points: the user's, then Databricks' defaults."""
        return self.mount_table.mounts()

    def unmount(self, mount_point: str) -> bool:
        """Remove a mount point (the source's data stays); one not mounted raises."""
        return self.mount_table.unmount(mount_point)

    def refreshMounts(self) -> bool:
        """Re-create mount links from the persisted mount table."""
        return self.mount_table.refresh()

    def updateMount(
        self,
        source: str,
        mount_point: str,
        encryption_type: str = "",
        owner: str | None = None,
        extra_configs: Mapping[str, str] | None = None,
    ) -> bool:
        """Point an existing mount at another source."""
        return self.mount_table.update_mount(source, mount_point, encryption_type, owner, extra_configs)

    # -- listing and reading -----------------------------------------------------------------

    def ls(self, path: str | _Unset = _UNSET, *, dir: str | _Unset = _UNSET) -> list[FileInfo]:
        """List a directory sorted by name; a file lists as itself."""
        location = self._existing("ls", _pick("path", path, "dir", dir))
        try:
            if not location.local.is_dir():
                return [_file_info(location.qualified, location.local)]
            entries = sorted(location.local.iterdir(), key=lambda p: p.name)
        except (FileNotFoundError, NotADirectoryError):  # removed meanwhile by a concurrent delete
            raise ExecutionError.file_not_found("ls", _shown(location)) from None
        found = []
        for entry in entries:
            try:
                found.append(_file_info(join_uri(location.qualified, entry.name), entry))
            except FileNotFoundError:
                continue  # removed between listing and stat by a concurrent delete
        return found

    def head(
        self,
        file: str,
        max_bytes: int | _Unset = _UNSET,
        *,
        maxBytes: int | _Unset = _UNSET,
    ) -> str:
        """The first ``max_bytes`` bytes (default 65536) of a file, decoded as UTF-8."""
        limit = (
            65536 if max_bytes is _UNSET and maxBytes is _UNSET else _pick("max_bytes", max_bytes, "maxBytes", maxBytes)
        )
        _check_type(limit, int)
        location = self._existing("head", file)
        if location.local.is_dir():
            raise ExecutionError.io_error("head", f"{_shown(location)} is a directory, not a file")
        if limit < 0:
            raise ValueError(f"max_bytes must be >= 0, got {limit}")
        with location.local.open("rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")

    # -- writing -----------------------------------------------------------------------------

    def mkdirs(self, dir: str) -> bool:
        """Create a directory and its parents; True even if it already exists."""
        location = self._locate(dir)
        if location.local.exists() and not location.local.is_dir():
            raise ExecutionError.already_exists("mkdirs", _shown(location))
        _run_io("mkdirs", lambda: _mkdirs(location.local))
        return True

    def put(self, file: str, contents: str, overwrite: bool = False) -> bool:
        """Write ``contents`` as UTF-8 (parents created); refuses to replace without ``overwrite``."""
        _check_type(contents, str)
        _check_type(overwrite, bool)
        location = self._locate(file)
        target = location.local
        if target.is_dir():
            raise ExecutionError.io_error("put", f"{_shown(location)} is a directory")
        if target.exists() and not overwrite:
            raise ExecutionError.already_exists("put", _shown(location))
        data = contents.encode("utf-8")
        _run_io("put", lambda: _write(target, data))
        print(f"Wrote {len(data)} bytes.")
        return True

    def rm(self, dir: str, recurse: bool = False) -> bool:
        """Delete a file or directory; False if it does not exist."""
        _check_type(recurse, bool)
        location = self._locate(dir)
        target = location.local
        if not target.exists() and not target.is_symlink():
            return False
        self._refuse_whole("rm", location)
        try:
            if target.is_file() or target.is_symlink():
                try:
                    _run_io("rm", target.unlink)
                    return True
                except ExecutionError as error:
                    if not isinstance(error.__cause__, IsADirectoryError):
                        raise  # else it became a folder meanwhile: delete it as one
            if target.is_dir() and not target.is_symlink():
                if not recurse:
                    try:
                        target.rmdir()  # atomic: a folder that is not empty stays
                    except OSError as error:
                        if isinstance(error, FileNotFoundError):
                            raise
                        raise ExecutionError.io_error(
                            "rm",
                            f"Cannot delete non-empty directory {_shown(location)}; use recurse=True",
                        ) from error
                else:
                    _run_io("rm", lambda: rmtree_tolerant(target))
            else:
                _run_io("rm", target.unlink)
        except FileNotFoundError:
            return False  # removed meanwhile by someone else, as Hadoop's delete answers
        except ExecutionError as error:
            if isinstance(error.__cause__, FileNotFoundError):
                return False
            raise
        return True

    def cp(
        self,
        source: str | _Unset = _UNSET,
        dest: str | _Unset = _UNSET,
        recurse: bool = False,
        *,
        from_: str | _Unset = _UNSET,
        to: str | _Unset = _UNSET,
    ) -> bool:
        """Copy a file, or a directory's contents with ``recurse=True``; existing files are replaced."""
        src, dst = self._transfer_args("cp", source, dest, recurse, from_, to)
        if src.local.is_dir():
            _run_io("cp", lambda: shutil.copytree(src.local, dst.local, dirs_exist_ok=True))
        else:
            _run_io("cp", lambda: _copy_file(src.local, _file_target(src.local, dst.local)))
        return True

    def mv(
        self,
        source: str | _Unset = _UNSET,
        dest: str | _Unset = _UNSET,
        recurse: bool = False,
        *,
        from_: str | _Unset = _UNSET,
        to: str | _Unset = _UNSET,
    ) -> bool:
        """Move a file, or a directory's contents with ``recurse=True``."""
        src, dst = self._transfer_args("mv", source, dest, recurse, from_, to)
        self._refuse_whole("mv", src)
        if src.local.is_dir():
            _run_io("mv", lambda: _move_tree(src.local, dst.local))
        else:
            target = _file_target(src.local, dst.local)
            _run_io("mv", lambda: _move_file(src.local, target))
        return True

    def _transfer_args(
        self,
        operation: str,
        source: str | _Unset,
        dest: str | _Unset,
        recurse: bool,
        from_: str | _Unset,
        to: str | _Unset,
    ) -> tuple[Location, Location]:
        """Validate ``cp``/``mv`` arguments and return (existing source, destination)."""
        source_uri: str = _pick("source", source, "from_", from_)
        dest_uri: str = _pick("dest", dest, "to", to)
        _check_type(source_uri, str)
        _check_type(dest_uri, str)
        _check_type(recurse, bool)
        src = self._existing(operation, source_uri)
        dst = self._locate(dest_uri)
        if src.local.is_dir():
            if not recurse:
                raise ExecutionError.io_error(operation, f"{_shown(src)} is a directory; use recurse=True")
            if dst.local == src.local or src.local in dst.local.parents:
                raise ExecutionError.io_error(
                    operation, f"Cannot {operation} {_shown(src)} into itself ({_shown(dst)})"
                )
            if dst.local.exists() and not dst.local.is_dir():
                raise ExecutionError.already_exists(operation, _shown(dst))
        return src, dst


def _shown(location: Location) -> str:
    """A path as Databricks prints it in errors: DBFS without scheme, others qualified."""
    if location.scheme == "dbfs":
        return location.qualified[len("dbfs:") :]
    return location.qualified


def _file_info(qualified: str, local: Path) -> FileInfo:
    """Build the ``FileInfo`` for one local entry under its qualified URI."""
    name = local.name
    if local.is_dir():
        slash_path = qualified if qualified.endswith("/") else qualified + "/"
        return FileInfo(slash_path, name + "/", 0, _mtime_ms(local))
    return FileInfo(qualified, name, local.stat().st_size, _mtime_ms(local))


def _run_io(operation: str, action: Callable[[], object]) -> None:
    """Run a local file operation, turning ``OSError`` into the runtime's ``ExecutionError``."""
    try:
        action()
    except OSError as error:
        raise ExecutionError.io_error(operation, f"{error.strerror or error}: {error.filename}") from error


def _write(target: Path, data: bytes) -> None:
    """Write bytes, creating parent folders like Hadoop's ``create``.

    The bytes go to a temporary file that then replaces ``target``, so a reader never sees a
    half-written file and a failed write leaves the old content (DBFS ``put`` is one request).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.put-tmp"
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _mkdirs(path: Path) -> None:
    """``mkdir -p`` that tolerates a parent removed meanwhile by a concurrent delete."""
    for _ in range(5):
        try:
            path.mkdir(parents=True, exist_ok=True)
            return
        except (FileNotFoundError, FileExistsError):
            if path.is_dir():
                return
    path.mkdir(parents=True, exist_ok=True)


def _file_target(source: Path, dest: Path) -> Path:
    """Copying/moving a file onto an existing directory puts it inside that directory."""
    return dest / source.name if dest.is_dir() else dest


def _copy_file(source: Path, target: Path) -> None:
    """Copy one file, creating the target's parent folders."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def _move_file(source: Path, target: Path) -> None:
    """Move one file, creating the target's parent folders."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(target))


def _move_tree(source: Path, target: Path) -> None:
    """Move a directory: rename if the target is free, else merge its contents into the target."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
        return
    shutil.copytree(source, target, dirs_exist_ok=True)
    shutil.rmtree(source)
