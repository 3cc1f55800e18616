"""AzureStorage: tables in an Azure Storage container (`wasbs://` Blob or `abfss://` ADLS Gen2).

With a `credential`, metadata operations (exists, list/glob, delete, version, size) are
`azure-storage-blob` calls with bounded request counts; without one they go through
`dbutils.fs` as in dtflw 0.6.x. Data reads and writes are Spark's in both cases.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

import dtflw.databricks as db
from dtflw.errors import InvalidArgumentError, StorageError
from dtflw.storage.azure_blob import PAGE_SIZE, BlobContainer, BlobEntry, check_endpoint  # SDK-free
from dtflw.storage.base import (
    _DELTA_COMMIT,
    PENDING_SUFFIX,
    PathInfo,
    Storage,
    _digest,
    _is_data_entry,
    has_glob,
    is_marker_name,
    join_path,
)
from dtflw.storage.dbutils_fs import DbutilsFsStorage

_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
PROTOCOL_HOSTS = {"wasbs": "blob", "abfss": "dfs"}
#: Blobs fetched by an existence probe: one request, a page small enough to cost nothing.
PROBE_PAGE = 5


def validate_account_name(name: object) -> str:
    """Azure rule: 3-24 lowercase letters and digits."""
    if not isinstance(name, str) or not _ACCOUNT.match(name):
        raise InvalidArgumentError(
            f"Azure storage account name {name!r} is invalid: expected 3-24 lowercase letters or digits."
        )
    return name


def validate_container_name(name: object) -> str:
    """Azure rule: 3-63 chars of lowercase letters, digits and single hyphens, not at the ends."""
    if not isinstance(name, str) or not _CONTAINER.match(name):
        raise InvalidArgumentError(
            f"Azure container name {name!r} is invalid: expected 3-63 lowercase letters, digits and "
            "single hyphens, starting and ending with a letter or digit."
        )
    return name


class AzureStorage(DbutilsFsStorage):
    """Tables under `<protocol>://<container>@<account>.<blob|dfs>.core.windows.net/<root_dir>/`.

    `protocol` defaults to "wasbs", the 0.6.x path form, so derived paths do not change.
    `credential` (connection string, account key, SAS token, 'default' for DefaultAzureCredential,
    or an azure-core credential object) switches metadata operations to the Blob API; `endpoint`
    overrides the account URL (emulators, sovereign clouds); `client_options` go to the SDK client.
    `abfss://` paths are checked through the blob endpoint of the same account and container.
    """

    def __init__(
        self,
        account_name: str,
        container_name: str,
        root_dir: str | None = "",
        spark: Any = None,
        dbutils: Any = None,
        protocol: str = "wasbs",
        format: str = "parquet",
        credential: object = None,
        endpoint: str | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.account_name = validate_account_name(account_name)
        self.container_name = validate_container_name(container_name)
        if protocol not in PROTOCOL_HOSTS:
            raise InvalidArgumentError(f"Azure protocol {protocol!r} is invalid: expected 'abfss' or 'wasbs'.")
        self.protocol = protocol
        super().__init__(root_dir, spark=spark, dbutils=dbutils, format=format)
        self._blobs = _blob_container(account_name, container_name, credential, endpoint, client_options)
        self._announce_to_local_runtime()

    def _announce_to_local_runtime(self) -> None:
        """Inside a local run, map this container for Spark I/O (cloud URLs must be registered)."""
        dbutils = self._dbutils if self._dbutils is not None else db.installed_dbutils()
        register = getattr(getattr(dbutils, "runtime", None), "register_cloud_authority", None)
        if register is not None:
            register(self.base_path.split("://", 1)[1].split("/", 1)[0])

    @property
    def scheme(self) -> str:  # type: ignore[override]  # per instance (abfss or wasbs), a ClassVar elsewhere
        return self.protocol

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> AzureStorage:
        """`abfss://<container>@<account>.dfs.core.windows.net/<root_dir>` (or wasbs, blob)."""
        from dtflw.storage import check_storage_url

        check_storage_url(url)
        m = re.match(r"^(abfss|wasbs)://([^@/]+)@([^./]+)\.(?:dfs|blob)\.core\.windows\.net/?(.*)$", url)
        if not m:
            raise InvalidArgumentError(
                f"Azure URL {url!r} is invalid: expected abfss://<container>@<account>.dfs.core.windows.net/<dir>."
            )
        protocol, container, account, root = m.groups()
        return cls(account, container, root, protocol=protocol, **kwargs)

    @property
    def base_path(self) -> str:
        host = PROTOCOL_HOSTS[self.protocol]
        return f"{self.protocol}://{self.container_name}@{self.account_name}.{host}.core.windows.net/"

    @property
    def auth(self) -> str:
        """How metadata is reached: 'dbutils.fs', or the kind of Blob API credential (no secret)."""
        return "dbutils.fs" if self._blobs is None else self._blobs.kind

    def __repr__(self) -> str:
        endpoint = "" if self._blobs is None else f", endpoint={self._blobs.endpoint!r}"
        return (
            f"AzureStorage(base_path={self.base_path!r}, root_dir={self.root_dir!r}, "
            f"format={self.format!r}, auth={self.auth!r}{endpoint})"
        )

    def check_access(self) -> None:
        """Fail now, clearly, if the container is missing or the credential is rejected (one request)."""
        if self._blobs is None:
            self._ls(self.base_path)
        else:
            self._blobs.probe()

    # ---- blob names -----------------------------------------------------------------------
    def _blob_name(self, abs_path: str) -> str:
        """The blob name of an absolute path on this storage ('' for the container root)."""
        if not abs_path.startswith(self.base_path) and abs_path.rstrip("/") != self.base_path.rstrip("/"):
            raise StorageError(
                f"Path {abs_path!r} is not on this storage: expected it to start with {self.base_path!r}."
            )
        return abs_path[len(self.base_path) :].strip("/")

    def _info(self, entry: BlobEntry) -> PathInfo:
        return PathInfo(
            path=self.base_path + entry.name,
            name=entry.basename,
            is_dir=entry.is_dir,
            size=entry.size,
            modification_time=entry.modification_time,
        )

    # ---- primitives -------------------------------------------------------------------------
    def _list_dir(self, path: str) -> list[PathInfo] | None:
        if self._blobs is None:
            return super()._list_dir(path)
        name = self._blob_name(path)
        entries = self._blobs.level(_folder(name))
        if entries or not name:
            return [self._info(e) for e in entries]
        blob = self._blobs.exact(name)
        if blob is None:
            return None
        return [] if blob.is_dir else [self._info(blob)]

    def _stat(self, path: str) -> PathInfo | None:
        if self._blobs is None:
            return super()._stat(path)
        name = self._blob_name(path)
        page, _ = self._blobs.first(name)
        if not name or (page and page[0].name.startswith(name + "/")):
            return PathInfo(path=path.rstrip("/"), name=name.rsplit("/", 1)[-1], is_dir=True)
        if page and page[0].name == name:
            return self._info(page[0])
        if page and self._blobs.first(name + "/")[0]:  # a sibling like `name-x` sorted first
            return PathInfo(path=path.rstrip("/"), name=name.rsplit("/", 1)[-1], is_dir=True)
        return None

    def _write_text(self, path: str, text: str) -> None:
        if self._blobs is None:
            super()._write_text(path, text)
        else:
            self._blobs.put_text(self._blob_name(path), text)

    def _read_text(self, path: str) -> str | None:
        if self._blobs is None:
            return super()._read_text(path)
        return self._blobs.read_text(self._blob_name(path))

    def _write_text_atomic(self, path: str, text: str) -> None:
        """One Put Blob request (atomic: the blob is replaced whole or not at all); dbutils.fs
        writes a temporary file and renames it."""
        self._write_text(path, text)

    def _create_marker(self, path: str, text: str) -> None:
        """A small text blob (blob storage has no empty folders); dbutils.fs makes a folder."""
        if self._blobs is None:
            super()._create_marker(path, text)
        else:
            self._blobs.put_text(self._blob_name(path), text)

    def _delete(self, path: str, recurse: bool = False) -> None:
        if self._blobs is None:
            super()._delete(path, recurse)
            return
        name = self._blob_name(path)
        if not name:
            raise StorageError(
                f"Refusing to delete the whole container {self.container_name!r} of account "
                f"{self.account_name!r}: give a path below {self.base_path!r}."
            )
        self._blobs.delete_tree(name, recurse)

    # ---- tables: one-request answers where the base algorithm would list ------------------
    def exists(self, path: str, ignore_pending: bool = False) -> bool:
        """The base rules from one listing of the blobs named `<table>...`.

        That page holds the pending marker too (`<table>._dtflw_pending` sorts right before
        `<table>/`), and, for an unpartitioned Delta table, its first commit. Layouts one small
        page cannot settle fall back to further requests.
        """
        abs_path = self._checked_abs(path)
        blobs = self._blobs
        name = "" if blobs is None or self.is_pattern(abs_path) else self._blob_name(abs_path)
        if blobs is None or not name:  # dbutils.fs, a pattern (rejected there) or the container root
            return super().exists(path, ignore_pending)
        page, complete = blobs.first(name, PROBE_PAGE)
        if not ignore_pending and self._pending_in(abs_path, name, page, complete):
            return False
        return self._complete_from(abs_path, name, page, complete)

    def _pending_in(self, abs_path: str, name: str, page: list[BlobEntry], complete: bool) -> bool:
        marker = name + PENDING_SUFFIX
        names = [e.name.rstrip("/") for e in page]
        if any(n == marker or n.startswith(marker + "/") for n in names):  # an owner entry, or a legacy marker
            return True
        settled = complete or any(n > marker for n in names)  # listings are in name order
        return False if settled else self.is_pending(abs_path)

    def _table_is_complete(self, abs_path: str) -> bool:
        """The base rules, decided from one small listing when it is conclusive."""
        blobs = self._blobs
        name = "" if blobs is None else self._blob_name(abs_path)
        if blobs is None or not name:
            return super()._table_is_complete(abs_path)
        page, complete = blobs.first(name, PROBE_PAGE)
        return self._complete_from(abs_path, name, page, complete)

    def _complete_from(self, abs_path: str, name: str, page: list[BlobEntry], complete: bool) -> bool:
        """Delta: a commit under `_delta_log/` (seen in the page, else one probe). Parquet and
        other paths: the blob itself, `_SUCCESS` or a data entry under it prove the table; a
        complete page without one disproves it. Otherwise the base algorithm decides."""
        blobs = self._blobs
        assert blobs is not None
        delta = self._format == "delta" and not abs_path.endswith(".parquet")
        log = f"{name}/_delta_log/"
        if delta and (
            any(e.name.startswith(log) and _DELTA_COMMIT.match(e.name[len(log) :]) for e in page)
            or self._delta_commits(blobs, name, first_only=True)
        ):
            return True
        decided = _decide(name, page, complete, delta)
        return super()._table_is_complete(abs_path) if decided is None else decided

    @staticmethod
    def _delta_commits(blobs: BlobContainer, name: str, first_only: bool = False) -> list[int]:
        """Commit numbers in `<name>/_delta_log/` (only the first one found, with `first_only`)."""
        found = []
        for entry in blobs.scan(f"{name}/_delta_log/0", page_size=PROBE_PAGE if first_only else PAGE_SIZE):
            m = _DELTA_COMMIT.match(entry.name[len(name) + len("/_delta_log/") :])
            if m:
                found.append(int(m.group(1)))
                if first_only:
                    break
        return found

    def _walk(self, current: str, segments: Sequence[str], out: list[PathInfo]) -> None:
        """The base walk, listing a glob segment's folder only from the segment's literal start."""
        head, rest = segments[0], segments[1:]
        if self._blobs is None or not has_glob(head):
            super()._walk(current, segments, out)
            return
        folder = self._blob_name(current)
        for entry in self._blobs.level(_folder(folder) + _literal_start(head)):
            if is_marker_name(entry.basename) or not fnmatch.fnmatchcase(entry.basename, head):
                continue
            if not rest:
                out.append(self._info(entry))
            elif entry.is_dir:
                self._walk(join_path(current, entry.basename), rest, out)

    def version(self, path: str) -> str | None:
        """Latest Delta commit (`delta:<n>`), else a digest of every blob's name, size and mtime."""
        abs_path = self._checked_abs(path)
        if self._blobs is None or self.is_pattern(abs_path):
            return super().version(path)
        name = self._blob_name(abs_path)
        if self._format == "delta" and not abs_path.endswith(".parquet"):
            commits = self._delta_commits(self._blobs, name)
            if commits:
                return f"delta:{max(commits)}"
        files = _table_files(self._blobs, name)
        return _digest((rel, e.size, e.modification_time) for rel, e in files) if files else None

    def size(self, path: str) -> int | None:
        """Total bytes of the table or file at `path`; None when nothing is there."""
        abs_path = self._checked_abs(path)
        if self._blobs is None:
            return _walk_size(self, abs_path)
        files = _table_files(self._blobs, self._blob_name(abs_path))
        return sum(e.size for _, e in files) if files else None


def _table_files(blobs: BlobContainer, name: str) -> list[tuple[str, BlobEntry]]:
    """(name relative to the table, blob) for every file under folder `name`, else the blob `name`."""
    prefix = _folder(name)
    files = [(e.name[len(prefix) :], e) for e in blobs.scan(prefix) if not e.is_dir]
    if files or not name:
        return files
    blob = blobs.exact(name)
    return [] if blob is None or blob.is_dir else [(blob.basename, blob)]


def _blob_container(
    account_name: str,
    container_name: str,
    credential: object,
    endpoint: str | None,
    client_options: Mapping[str, Any] | None,
) -> BlobContainer | None:
    """The Blob API wrapper when a credential is given; endpoint/options alone are a mistake."""
    if credential is None:
        if endpoint is not None or client_options is not None:
            raise InvalidArgumentError(
                f"endpoint and client_options need a credential (Azure storage account {account_name!r}); "
                "without one, dbutils.fs is used."
            )
        return None
    checked = None if endpoint is None else check_endpoint(endpoint)
    return BlobContainer(account_name, container_name, credential, checked, client_options)


def _folder(name: str) -> str:
    """The listing prefix of folder `name` ('' for the root)."""
    return name + "/" if name else ""


def _literal_start(segment: str) -> str:
    """The part of a glob segment before its first glob character."""
    m = re.search(r"[*?\[]", segment)
    return segment[: m.start()] if m else segment


def _decide(name: str, page: list[BlobEntry], complete: bool, delta: bool) -> bool | None:
    """The base existence rules from the first blobs named `name...`; None when not conclusive.

    Called for delta only after no commit was found. A witness (the blob itself, `_SUCCESS`
    or a data entry directly under the path) proves a parquet table; for delta a witness
    counts only if the listing is complete and shows no `_delta_log/`.
    """
    witness = has_log = False
    for entry in page:
        if entry.name == name:
            witness = witness or not entry.is_dir
            continue
        if not entry.name.startswith(name + "/"):
            continue  # a sibling such as `name-old` or `name.bak`
        segment = entry.name[len(name) + 1 :].split("/", 1)[0]
        has_log = has_log or segment == "_delta_log"
        witness = witness or segment == "_SUCCESS" or _is_data_entry(segment)
    if delta:
        return (witness and not has_log) if complete else None
    if witness:
        return True
    return False if complete else None


def _walk_size(storage: Storage, abs_path: str) -> int | None:
    """Sum of file sizes under `abs_path`, walking with the storage's `_list_dir`."""
    entries = storage._list_dir(abs_path)
    if entries is None:
        return None
    total = 0
    for entry in entries:
        if entry.is_dir:
            total += _walk_size(storage, entry.path) or 0
        elif entry.path.rstrip("/") == abs_path.rstrip("/"):
            return entry.size
        else:
            total += entry.size
    return total


def init_storage(
    account_name: str,
    container_name: str,
    root_dir: str | None = None,
    spark: Any = None,
    dbutils: Any = None,
    **kwargs: Any,
) -> AzureStorage:
    """An AzureStorage; `root_dir` defaults to the current user's name (dtflw 0.6.x behaviour).

    `kwargs` go to AzureStorage (protocol, format, credential, endpoint, client_options). With
    a credential and an explicit `root_dir`, no Databricks runtime is needed.
    """
    validate_account_name(account_name)
    validate_container_name(container_name)
    if dbutils is None and (root_dir is None or kwargs.get("credential") is None):
        dbutils = db.get_dbutils()
    if root_dir is None:
        root_dir = db.get_current_username(dbutils)
    return AzureStorage(account_name, container_name, root_dir, spark=spark, dbutils=dbutils, **kwargs)
