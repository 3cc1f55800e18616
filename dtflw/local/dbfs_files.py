"""``/dbfs/...`` for Python's own file APIs during a local run (the FUSE view of DBFS).

On a Databricks driver ``/dbfs/X`` is DBFS' ``dbfs:/X``, so notebooks use ``open("/dbfs/...")``,
``os.listdir``, ``pathlib``, ``shutil`` and pandas on it. Here, while :func:`dbfs_mapped` is active,
``builtins.open`` / ``io.open`` and the ``os`` functions that ``os.path``, ``pathlib``, ``shutil``,
``glob`` and ``os.walk`` call are replaced by thin wrappers that rewrite a path that is ``/dbfs`` or
starts with ``/dbfs/`` (``str``, ``bytes`` or ``os.PathLike``) to ``<dbfs_root>/...`` and pass every
other argument through untouched. The machine's real ``/dbfs`` is never used while mapped.

Why wrappers: the alternatives need privileges (a bind mount or FUSE at ``/dbfs``, a mount
namespace) or would change the machine (a real ``/dbfs`` symlink). Python-level callers all look
the functions up on ``os`` / ``builtins`` at call time, so replacing those attributes is enough.

Shown paths stay in the ``/dbfs`` form: ``OSError.filename``, the ``name`` of an opened file and
``os.scandir`` entries' ``path`` (hence ``pathlib`` and ``os.walk`` results) read ``/dbfs/...``.

Mapping follows the calling context: each active run maps to its own root (``contextvars``, which
``notebook.run`` copies into its worker threads); a thread that did not inherit a context (a plain
``threading.Thread`` / ``ThreadPoolExecutor`` worker) uses the most recently activated root.
Installation is reference-counted, so nested and concurrent runs in one process are safe.

Not covered (they open files without going through Python's ``os`` / ``open``):
C/C++/Rust extensions with their own I/O — pyarrow's file systems (``pandas.read_parquet`` /
``to_parquet`` with a path string, ``pyarrow.parquet``), polars, duckdb, h5py, sqlite3 paths,
``numpy.fromfile`` with a path; subprocesses (``%sh``, ``subprocess.run(["cat", "/dbfs/x"])``);
``os.chdir("/dbfs/...")``; functions imported before activation by ``from os import stat``;
``importlib`` (uses ``posix`` directly, so ``sys.path`` entries under ``/dbfs`` are not mapped).
``/Volumes/...`` is not mapped (it is a real folder on macOS).
"""

from __future__ import annotations

import builtins
import contextlib
import contextvars
import io
import os
import posixpath
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_PREFIX = "/dbfs"
_PREFIX_B = b"/dbfs"
_current_root: contextvars.ContextVar[str | None] = contextvars.ContextVar("dtflw_dbfs_files_root", default=None)
_lock = threading.Lock()
_active: list[str] = []  # roots of the active activations, most recent last
_installed: dict[tuple[Any, str], tuple[Any, Any]] = {}  # (module, name) -> (original, wrapper)
_MISSING: Any = object()

#: ``os`` functions taking one path first; their wrappers map it.
ONE_PATH = (
    "stat",
    "lstat",
    "listdir",
    "mkdir",
    "rmdir",
    "remove",
    "unlink",
    "open",
    "access",
    "chmod",
    "chown",
    "lchown",
    "utime",
    "readlink",
    "truncate",
    "statvfs",
    "pathconf",
    "mkfifo",
    "mknod",
    "listxattr",
    "getxattr",
    "setxattr",
    "removexattr",
    "lchmod",
    "chflags",
    "lchflags",
)
#: ``os`` functions taking two paths first.
TWO_PATHS = ("rename", "replace", "link", "symlink")
_SUPPORT_SETS = ("supports_dir_fd", "supports_fd", "supports_follow_symlinks", "supports_effective_ids")


# ---- path mapping ---------------------------------------------------------------------------


def _root() -> str | None:
    root = _current_root.get()
    if root is None:
        active = _active  # a thread without the run's context: the latest active run
        return active[-1] if active else None
    return root


def _map_str(path: str) -> str | None:
    """``<root>/X`` for ``/dbfs/X`` (or ``/dbfs``), else ``None``."""
    if not path.startswith(_PREFIX) or (len(path) > 5 and path[5] != "/"):
        return None
    if "/." in path:
        normal = posixpath.normpath(path)
        if normal != _PREFIX and not normal.startswith(_PREFIX + "/"):
            return None  # /dbfs/../x leaves DBFS: not ours
        path = normal
    root = _root()
    return None if root is None else root + path[5:]


def map_path(path: Any) -> Any:
    """The mapped form of a path argument, or ``None`` when it is not a ``/dbfs`` path."""
    if type(path) is str:
        return _map_str(path)
    if type(path) is int or path is None:  # a file descriptor / "no path"
        return None
    try:
        path = os.fspath(path)
    except TypeError:
        return None
    if isinstance(path, str):
        return _map_str(path)
    if not path.startswith(_PREFIX_B):
        return None
    mapped = _map_str(os.fsdecode(path))
    return None if mapped is None else os.fsencode(mapped)


def local_path(path: str | os.PathLike[str]) -> Path:
    """Where ``path`` lands during the current run (unchanged if it is not a ``/dbfs`` path)."""
    mapped = map_path(path)
    return Path(mapped if mapped is not None else path)


def _shown(original: Any) -> Any:
    return os.fspath(original) if isinstance(original, os.PathLike) else original


def _fix_error(error: OSError, pairs: tuple[tuple[Any, Any], ...]) -> None:
    """Show the caller's ``/dbfs`` path in the error, not the local one."""
    for original, mapped in pairs:
        if mapped is None:
            continue
        if error.filename == mapped:
            error.filename = _shown(original)
        if error.filename2 == mapped:
            error.filename2 = _shown(original)


# ---- wrappers -------------------------------------------------------------------------------


def _wrap_one(original: Callable[..., Any]) -> Callable[..., Any]:
    prefix = _PREFIX

    def wrapper(path: Any = _MISSING, *args: Any, **kwargs: Any) -> Any:
        if type(path) is str and not path.startswith(prefix):  # the fast path: any other str path
            return original(path, *args, **kwargs) if args or kwargs else original(path)
        if path is _MISSING:
            return original(*args, **kwargs)
        mapped = map_path(path)
        if mapped is None:
            return original(path, *args, **kwargs)
        try:
            return original(mapped, *args, **kwargs)
        except OSError as error:
            _fix_error(error, ((path, mapped),))
            raise

    _copy_identity(wrapper, original)
    return wrapper


def _wrap_two(original: Callable[..., Any]) -> Callable[..., Any]:
    prefix = _PREFIX

    def wrapper(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
        if type(src) is str and type(dst) is str and not src.startswith(prefix) and not dst.startswith(prefix):
            return original(src, dst, *args, **kwargs)
        mapped_src, mapped_dst = map_path(src), map_path(dst)
        if mapped_src is None and mapped_dst is None:
            return original(src, dst, *args, **kwargs)
        try:
            return original(
                src if mapped_src is None else mapped_src, dst if mapped_dst is None else mapped_dst, *args, **kwargs
            )
        except OSError as error:
            _fix_error(error, ((src, mapped_src), (dst, mapped_dst)))
            raise

    _copy_identity(wrapper, original)
    return wrapper


def _wrap_open(original: Callable[..., Any]) -> Callable[..., Any]:
    prefix = _PREFIX

    def wrapper(file: Any, *args: Any, **kwargs: Any) -> Any:
        if type(file) is str and not file.startswith(prefix):  # the fast path
            return original(file, *args, **kwargs)
        mapped = map_path(file)
        if mapped is None:
            return original(file, *args, **kwargs)
        try:
            handle = original(mapped, *args, **kwargs)
        except OSError as error:
            _fix_error(error, ((file, mapped),))
            raise
        raw = getattr(getattr(handle, "buffer", handle), "raw", getattr(handle, "buffer", handle))
        with contextlib.suppress(AttributeError, TypeError):
            raw.name = _shown(file)  # what `handle.name` shows, as on Databricks
        return handle

    _copy_identity(wrapper, original)
    return wrapper


def _wrap_scandir(original: Callable[..., Any]) -> Callable[..., Any]:
    prefix = _PREFIX

    def wrapper(path: Any = _MISSING) -> Any:
        if type(path) is str and not path.startswith(prefix):
            return original(path)
        if path is _MISSING:
            return original()
        mapped = map_path(path)
        if mapped is None:
            return original(path)
        try:
            return _ScandirIterator(original(mapped), _shown(path))
        except OSError as error:
            _fix_error(error, ((path, mapped),))
            raise

    _copy_identity(wrapper, original)
    return wrapper


def _copy_identity(wrapper: Callable[..., Any], original: Callable[..., Any]) -> None:
    wrapper.__name__ = getattr(original, "__name__", "wrapper")
    wrapper.__qualname__ = getattr(original, "__qualname__", wrapper.__name__)
    wrapper.__doc__ = getattr(original, "__doc__", None)
    wrapper.__wrapped__ = original  # type: ignore[attr-defined]


class _DirEntry:
    """An ``os.DirEntry`` whose ``path`` is in the caller's ``/dbfs`` form."""

    __slots__ = ("_entry", "name", "path")

    def __init__(self, entry: os.DirEntry[Any], folder: str | bytes) -> None:
        self._entry = entry
        self.name = entry.name
        sep: Any = "/" if isinstance(folder, str) else b"/"
        self.path = folder + entry.name if folder.endswith(sep) else folder + sep + entry.name

    def __fspath__(self) -> Any:
        return self.path

    def __repr__(self) -> str:
        return f"<DirEntry {self.name!r}>"

    def inode(self) -> int:
        return self._entry.inode()

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return self._entry.is_dir(follow_symlinks=follow_symlinks)

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return self._entry.is_file(follow_symlinks=follow_symlinks)

    def is_symlink(self) -> bool:
        return self._entry.is_symlink()

    def is_junction(self) -> bool:
        return False

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        return self._entry.stat(follow_symlinks=follow_symlinks)


class _ScandirIterator:
    """``os.scandir``'s iterator (a context manager too), yielding :class:`_DirEntry`."""

    def __init__(self, inner: Any, folder: str | bytes) -> None:
        self._inner = inner
        self._folder = folder

    def __iter__(self) -> _ScandirIterator:
        return self

    def __next__(self) -> _DirEntry:
        return _DirEntry(next(self._inner), self._folder)

    def __enter__(self) -> _ScandirIterator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._inner.close()


# ---- installation ---------------------------------------------------------------------------


def _targets() -> list[tuple[Any, str, Callable[[Callable[..., Any]], Callable[..., Any]]]]:
    targets: list[tuple[Any, str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [
        (builtins, "open", _wrap_open),
        (io, "open", _wrap_open),
        (os, "scandir", _wrap_scandir),
    ]
    targets += [(os, name, _wrap_one) for name in ONE_PATH if hasattr(os, name)]
    targets += [(os, name, _wrap_two) for name in TWO_PATHS if hasattr(os, name)]
    return targets


def _install() -> None:
    wrappers: dict[int, Any] = {}  # one wrapper per original (builtins.open is io.open)
    for module, name, make in _targets():
        original = getattr(module, name)
        wrapper = wrappers.get(id(original))
        if wrapper is None:
            wrapper = wrappers[id(original)] = make(original)
        _installed[(module, name)] = (original, wrapper)
        setattr(module, name, wrapper)
    for set_name in _SUPPORT_SETS:  # `os.stat in os.supports_dir_fd` must keep its answer
        support = getattr(os, set_name, None)
        if isinstance(support, set):
            for original, wrapper in list(_installed.values()):
                if original in support:
                    support.add(wrapper)


def _uninstall() -> None:
    for set_name in _SUPPORT_SETS:
        support = getattr(os, set_name, None)
        if isinstance(support, set):
            for _, wrapper in _installed.values():
                support.discard(wrapper)
    for (module, name), (original, wrapper) in _installed.items():
        if getattr(module, name, None) is wrapper:  # someone patched over us: leave theirs
            setattr(module, name, original)
    _installed.clear()


def is_installed() -> bool:
    """Whether the ``/dbfs`` wrappers are in place (some run is active)."""
    with _lock:
        return bool(_active)


@contextlib.contextmanager
def dbfs_mapped(dbfs_root: str | os.PathLike[str]) -> Iterator[None]:
    """Map ``/dbfs/...`` to ``dbfs_root`` for Python file APIs while the block runs."""
    root = os.path.abspath(os.fspath(dbfs_root)).rstrip("/") or "/"
    os.makedirs(root, exist_ok=True)  # /dbfs always exists on a driver
    with _lock:
        if not _active:
            _install()
        _active.append(root)
    token = _current_root.set(root)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # exited in another context: nothing to reset
            _current_root.reset(token)
        with _lock:
            _active.remove(root)
            if not _active:
                _uninstall()
