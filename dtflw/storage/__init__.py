"""Storage backends, registered by URL scheme (fsspec style).

`storage_from_url("dbfs:/FileStore/me")` picks the backend registered for the URL's scheme.
Third parties add backends through the `dtflw.storage` entry-point group
(`name = "module:Class"`, the name being the scheme); `register_storage` does it in code.
"""

from __future__ import annotations

import re
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, cast

from dtflw.errors import InvalidArgumentError
from dtflw.storage.base import PathInfo, Storage

ENTRY_POINT_GROUP = "dtflw.storage"

_BUILTIN: dict[str, str] = {
    "file": "dtflw.storage.local:LocalStorage",
    "dbfs": "dtflw.storage.dbfs:DbfsStorage",
    "volumes": "dtflw.storage.volumes:VolumeStorage",
    "abfss": "dtflw.storage.azure:AzureStorage",
    "wasbs": "dtflw.storage.azure:AzureStorage",
}
_registered: dict[str, type[Storage] | str] = {}


def register_storage(scheme: str, cls: type[Storage] | str) -> None:
    """Register a backend class (or a "module:Class" reference) for a URL scheme."""
    if not isinstance(scheme, str) or not scheme.isidentifier():
        raise InvalidArgumentError(f"Storage scheme {scheme!r} must be a plain word like 'dbfs'.")
    _registered[scheme] = cls


def _load(ref: type[Storage] | str) -> type[Storage]:
    if isinstance(ref, str):
        module, _, name = ref.partition(":")
        return cast("type[Storage]", getattr(import_module(module), name))  # named by a registration
    return ref


def available_schemes() -> list[str]:
    """Every scheme a backend is known for: built in, registered, or from entry points."""
    eps = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(set(_BUILTIN) | set(_registered) | eps)


def get_storage_class(scheme: str) -> type[Storage]:
    """The backend class for `scheme`; registered ones win over entry points and built-ins."""
    if scheme in _registered:
        return _load(_registered[scheme])
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == scheme:
            return cast("type[Storage]", ep.load())  # named by a third party's entry point
    if scheme in _BUILTIN:
        return _load(_BUILTIN[scheme])
    raise InvalidArgumentError(
        f"No storage backend for scheme {scheme!r}; known schemes: {', '.join(available_schemes())}."
    )


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two characters or more: `C:` is a drive


def scheme_of(url: str) -> str:
    """The scheme of a storage URL (a built-in one in lower case: `DBFS:` is 'dbfs');
    `/Volumes/...` is 'volumes', plain paths 'file'."""
    if url.startswith("/Volumes/"):
        return "volumes"
    found = _SCHEME.match(url)
    if found is None:
        return "file"
    scheme = found.group(1)
    return scheme.lower() if scheme.lower() in _BUILTIN else scheme


def storage_from_url(url: str, **kwargs: Any) -> Storage:
    """Build the storage for `url` with the backend registered for its scheme.

    A URL holds no credentials: a password in it (`user:password@`), a query string (a SAS
    token), a `;key=value` tail or a port is refused, and errors never repeat such a URL."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidArgumentError(f"Storage URL must be a non-empty string, got {url!r}.")
    check_storage_url(url)
    scheme = scheme_of(url)
    if _SCHEME.match(url) and scheme != url[: len(scheme)]:  # `DBFS:/x`: the backends expect lower case
        url = scheme + url[len(scheme) :]
    return get_storage_class(scheme).from_url(url, **kwargs)


def check_storage_url(url: str) -> None:
    """InvalidArgumentError (not naming the URL's secret parts) for a URL that carries
    credentials, a query, a port or stray spaces."""
    if url != url.strip():
        raise InvalidArgumentError(f"Storage URL {url.strip()[:60]!r}... has leading or trailing spaces.")
    authority = url.split("://", 1)[1].split("/", 1)[0] if "://" in url else ""
    found = _SCHEME.match(url)
    head = url.split("://", 1)[0] + "://" if "://" in url else (found.group(0) if found else "")
    problems = [
        ("?" in url or "#" in url, "a query string or fragment (a SAS token goes in credential=, never in the URL)"),
        (";" in url, "a ';' (connection-string parts such as AccountKey= go in credential=)"),
        (":" in authority.split("@", 1)[0] and "@" in authority, "a password (user:password@)"),
        (authority.count("@") > 1, "more than one '@' (a password?)"),
        (":" in authority.rsplit("@", 1)[-1], "a port"),
    ]
    for hit, what in problems:
        if hit:
            raise InvalidArgumentError(
                f"Storage URL {head}... must not hold {what}; it is not repeated here since it may be secret."
            )


__all__ = [
    "PathInfo",
    "Storage",
    "register_storage",
    "get_storage_class",
    "storage_from_url",
    "available_schemes",
    "scheme_of",
    "check_storage_url",
    "ENTRY_POINT_GROUP",
]
