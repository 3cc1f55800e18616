"""Mapping of Databricks path forms (``dbfs:/``, ``/Volumes``, ``abfss://`` …) to local folders.

Layout (all roots configurable):

- ``dbfs:/X`` and scheme-less ``/X`` → ``<dbfs_root>/X`` (DBFS is ``dbutils.fs``' default FS);
- ``/Volumes/c/s/v/X`` and ``dbfs:/Volumes/c/s/v/X`` → ``<volumes_root>/c/s/v/X``; the default
  ``volumes_root`` is ``<dbfs_root>/Volumes``, so both spellings land in one place, as on Databricks;
- ``abfss://<container>@<account>.dfs.core.windows.net/X`` and
  ``wasbs://<container>@<account>.blob.core.windows.net/X`` → ``<cloud_root>/<account>/<container>/X``;
  the default ``cloud_root`` is ``<dbfs_root>/.cloud`` (one folder holds everything);
- ``file:/X`` → ``/X`` (the driver's own disk, unchanged).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from dtflw.errors import InvalidArgumentError, InvalidTypeError

_AZURE_HOSTS = {
    "abfs": ".dfs.core.windows.net",
    "abfss": ".dfs.core.windows.net",
    "wasb": ".blob.core.windows.net",
    "wasbs": ".blob.core.windows.net",
}
_VOLUMES = "Volumes"


@attrs.frozen
class Location:
    """A parsed Databricks URI: its canonical qualified form and the local path it maps to."""

    qualified: str
    local: Path
    scheme: str


def _split_components(path: str, uri: str) -> tuple[str, ...]:
    """Normalise a ``/``-separated path lexically; ``..`` may not climb above its root."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise InvalidArgumentError(f"Path {uri!r} escapes its root with '..'")
            parts.pop()
        else:
            parts.append(part)
    return tuple(parts)


def join_uri(uri: str, name: str) -> str:
    """Join ``name`` onto ``uri`` with one ``/``, keeping the scheme form (``dbfs:/a`` + ``b``)."""
    if not isinstance(uri, str) or not isinstance(name, str):
        raise InvalidTypeError(f"join_uri expects two str, got {uri!r} and {name!r}")
    stripped = name.lstrip("/")
    if not stripped:
        return uri
    return (uri if uri.endswith("/") else uri + "/") + stripped


def _as_path(value: str | os.PathLike[str] | None) -> Path | None:
    """Converter for the roots: keep ``None``, make everything else an absolute ``Path``."""
    return None if value is None else Path(value).absolute()


@attrs.frozen
class PathMap:
    """Maps Databricks URIs to local paths under configurable roots (see the module docstring)."""

    dbfs_root: Path = attrs.field(converter=_as_path)
    volumes_root: Path | None = attrs.field(default=None, converter=_as_path)
    cloud_root: Path | None = attrs.field(default=None, converter=_as_path)

    def __attrs_post_init__(self) -> None:
        if self.volumes_root is None:
            object.__setattr__(self, "volumes_root", self.dbfs_root / _VOLUMES)
        if self.cloud_root is None:
            object.__setattr__(self, "cloud_root", self.dbfs_root / ".cloud")

    # -- public API --------------------------------------------------------------------------

    def to_local(self, uri: str) -> Path:
        """Local path for a ``dbutils.fs``-style URI (``/dbfs/x`` means ``dbfs:/dbfs/x`` here)."""
        return self.locate(uri).local

    def qualify(self, uri: str) -> str:
        """Canonical qualified form: ``/tmp/x`` → ``dbfs:/tmp/x``, ``dbfs:///a/./b`` → ``dbfs:/a/b``."""
        return self.locate(uri).qualified

    def local_file_api_path(self, path: str) -> Path:
        """Local path for Python's ``open()``: ``/dbfs/X`` and ``/Volumes/...`` are mapped.

        Other paths (absolute or relative) are returned unchanged, as on a Databricks driver.
        """
        if not isinstance(path, str):
            raise InvalidTypeError(f"Path must be a str, got {path!r}")
        if not path.startswith("/"):
            return Path(path)
        parts = _split_components(path, path)
        if parts[:1] == ("dbfs",):
            return self.dbfs_root.joinpath(*parts[1:])
        if parts[:1] == (_VOLUMES,):
            return self._volumes().joinpath(*parts[1:])
        return Path(path)

    def locate(self, uri: str) -> Location:
        """Parse ``uri`` into its qualified form and local path; malformed URIs raise clearly."""
        if not isinstance(uri, str):
            raise InvalidTypeError(f"Path must be a str, got {uri!r}")
        if not uri:
            raise InvalidArgumentError("Path must not be empty")
        scheme, sep, rest = uri.partition(":")
        if not sep or "/" in scheme or scheme == "":
            return self._dbfs(uri, uri)
        scheme = scheme.lower()
        if scheme == "dbfs":
            return self._dbfs(rest, uri)
        if scheme == "file":
            return self._file(rest, uri)
        if scheme in _AZURE_HOSTS:
            return self._azure(scheme, uri)
        raise InvalidArgumentError(
            f"Unsupported URI scheme {scheme!r} in {uri!r}; supported: dbfs:, file:, "
            "abfss://, abfs://, wasbs://, wasb:// and scheme-less DBFS paths"
        )

    # -- helpers -----------------------------------------------------------------------------

    def _volumes(self) -> Path:
        assert self.volumes_root is not None
        return self.volumes_root

    def _cloud(self) -> Path:
        assert self.cloud_root is not None
        return self.cloud_root

    def _dbfs(self, path: str, uri: str) -> Location:
        """DBFS paths (scheme-less or ``dbfs:``); ``/Volumes/...`` goes to the volumes root."""
        parts = _split_components(path, uri)
        if parts[:1] == (_VOLUMES,):
            local = self._volumes().joinpath(*parts[1:])
        else:
            local = self.dbfs_root.joinpath(*parts)
        return Location("dbfs:/" + "/".join(parts), local, "dbfs")

    def _file(self, path: str, uri: str) -> Location:
        """Driver-local ``file:`` paths map to themselves."""
        parts = _split_components(path, uri)
        return Location("file:/" + "/".join(parts), Path("/").joinpath(*parts), "file")

    def _azure(self, scheme: str, uri: str) -> Location:
        """``abfss://container@account.dfs.core.windows.net/X`` (and wasbs) → cloud root."""
        suffix = _AZURE_HOSTS[scheme]
        split = urlsplit(uri)
        container, at, host = split.netloc.partition("@")
        account = host[: -len(suffix)] if host.lower().endswith(suffix) else ""
        if not at or not container or not account or "." in account or split.query or split.fragment:
            raise InvalidArgumentError(
                f"Malformed {scheme} URL {uri!r}; expected {scheme}://<container>@<account>{suffix}/<path>"
            )
        parts = _split_components(split.path, uri)
        prefix = f"{scheme}://{container}@{host}"
        local = self._cloud().joinpath(account, container, *parts)
        return Location(prefix + "/" + "/".join(parts), local, scheme)


def resolve_workspace_path(path: str, caller_path: str) -> str:
    """Absolute workspace path of notebook ``path`` as called from notebook ``caller_path``.

    Relative forms (``x``, ``./x``, ``../x``, ``dir/x``) resolve against the caller's folder;
    a leading ``/Workspace`` is dropped (``/Workspace/Users/u/x`` → ``/Users/u/x``). No extension
    is added or removed.
    """
    if not isinstance(path, str) or not path.strip():
        raise InvalidArgumentError(f"Notebook path must be a non-empty str, got {path!r}")
    if not caller_path.startswith("/"):
        raise InvalidArgumentError(f"Caller notebook path must be absolute, got {caller_path!r}")
    folder = caller_path.rsplit("/", 1)[0]
    full = path if path.startswith("/") else f"{folder}/{path}"
    parts = _split_components(full, path)
    if parts[:1] == ("Workspace",):
        parts = parts[1:]
    if not parts:
        raise InvalidArgumentError(f"Notebook path {path!r} names the workspace root, not a notebook")
    return "/" + "/".join(parts)
