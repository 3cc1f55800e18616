"""Emulated legacy DBFS mounts (``dbutils.fs.mount`` / ``mounts`` / ``unmount`` / ...).

A mount ``/mnt/<name>`` is a **symbolic link** ``<dbfs_root>/mnt/<name>`` → the local folder of the
source URL (``abfss://`` / ``wasbs://`` as :class:`~dtflw.emulated.paths.PathMap` maps them;
``s3://`` / ``s3a://`` / ``s3n://`` / ``gs://`` buckets → ``<cloud_root>/s3/<bucket>`` and
``<cloud_root>/gs/<bucket>``, used only by mounts). Because the link lives in the DBFS root, every
view of DBFS follows it without knowing about mounts: ``dbutils.fs``, ``PathMap.to_local``
(the path it returns resolves into the source folder), Python's ``open("/dbfs/mnt/x/...")`` and
Spark, whose ``dbfs:`` file system falls back to ``file://<dbfs_root>``.

The table itself (mount point, source, encryption type, owner) is kept in
``<dbfs_root>/.dtflw/mounts.json`` (written atomically), so like Databricks' workspace-wide mounts
it outlives the process: a later run on the same root sees the same mounts. ``extra_configs``
(credentials, in practice) are accepted and **never stored**. Links missing from disk (a deleted
``/mnt`` folder, a moved root) are re-created from the table by every mount call.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from dtflw.emulated.errors import ExecutionError
from dtflw.emulated.paths import PathMap
from dtflw.errors import InvalidTypeError

TABLE_FILE = Path(".dtflw") / "mounts.json"
_AZURE_SCHEMES = ("abfss", "abfs", "wasbs", "wasb")
_BUCKET_SCHEMES = {"s3": "s3", "s3a": "s3", "s3n": "s3", "gs": "gs"}
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_log = logging.getLogger(__name__)


class MountInfo(NamedTuple):
    """One ``dbutils.fs.mounts()`` entry (field names as on Databricks)."""

    mountPoint: str
    source: str
    encryptionType: str


#: Mounts every Databricks workspace lists besides the user's own (recalled from typical
#: ``dbutils.fs.mounts()`` output; none of them is backed by data locally).
DEFAULT_MOUNTS = (
    MountInfo("/databricks-datasets", "databricks-datasets", ""),
    MountInfo("/Volumes", "UnityCatalogVolumes", ""),
    MountInfo("/databricks/mlflow-tracking", "databricks/mlflow-tracking", ""),
    MountInfo("/databricks-results", "databricks-results", ""),
    MountInfo("/databricks/mlflow-registry", "databricks/mlflow-registry", ""),
    MountInfo("/", "DatabricksRoot", ""),
)
_DEFAULT_POINTS = frozenset(m.mountPoint for m in DEFAULT_MOUNTS)


def _remote(operation: str, detail: str) -> ExecutionError:
    """The error Databricks' mount service returns (a ``RemoteException`` around the cause)."""
    return ExecutionError(operation, f"java.rmi.RemoteException: java.lang.IllegalArgumentException: {detail}")


def _check_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(f"{value!r} has the wrong type - {str} is expected.")
    if not value.strip():
        raise _remote("mount", f"requirement failed: {what} must not be empty")
    return value


def _lock_for(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.Lock())


class MountTable:
    """The mount table of one DBFS root (shared by every ``dbutils`` on that root)."""

    def __init__(self, path_map: PathMap) -> None:
        self.path_map = path_map
        self.file = path_map.dbfs_root / TABLE_FILE
        self._lock = _lock_for(self.file)

    # -- public API (called by EmulatedFs) ---------------------------------------------------

    def mount(
        self,
        source: str,
        mount_point: str,
        encryption_type: str = "",
        owner: str | None = None,
        extra_configs: Mapping[str, str] | None = None,
    ) -> bool:
        """Mount ``source`` at ``mount_point`` (``/mnt/...``); an existing mount point raises."""
        point, target, record = self._prepare("mount", source, mount_point, encryption_type, owner, extra_configs)
        with self._lock:
            table = self._load()
            if point in table or point in _DEFAULT_POINTS:
                raise _remote("mount", f"requirement failed: Directory already mounted: {point}")
            for other in table:
                if point.startswith(other + "/") or other.startswith(point + "/"):
                    raise _remote("mount", f"requirement failed: Mount point {point} overlaps mount {other}")
            self._link("mount", point, target)
            table[point] = record
            self._save(table)
        return True

    def update_mount(
        self,
        source: str,
        mount_point: str,
        encryption_type: str = "",
        owner: str | None = None,
        extra_configs: Mapping[str, str] | None = None,
    ) -> bool:
        """Point an existing mount at a new source (or change its encryption type / owner)."""
        point, target, record = self._prepare("updateMount", source, mount_point, encryption_type, owner, extra_configs)
        with self._lock:
            table = self._load()
            if point not in table:
                raise _remote("updateMount", f"requirement failed: Directory not mounted: {point}")
            self._link("updateMount", point, target)
            table[point] = record
            self._save(table)
        return True

    def unmount(self, mount_point: str) -> bool:
        """Remove a mount (the source's data stays); a point that is not mounted raises."""
        point = self._point("unmount", _check_str(mount_point, "mount_point"))
        with self._lock:
            table = self._load()
            if point not in table:
                raise _remote("unmount", f"requirement failed: Directory not mounted: {point}")
            link = self._link_path(point)
            if link.is_symlink():
                link.unlink()
            del table[point]
            self._save(table)
        print(f"{point} has been unmounted.")
        return True

    def mounts(self) -> list[MountInfo]:
        """The user's mounts (sorted by mount point) after Databricks' default ones."""
        with self._lock:
            table = self._load()
            self._sync(table)
        own = [MountInfo(point, r["source"], r["encryptionType"]) for point, r in sorted(table.items())]
        return own + list(DEFAULT_MOUNTS)

    def refresh(self) -> bool:
        """Re-create links missing or stale on disk from the table (``refreshMounts``)."""
        with self._lock:
            self._sync(self._load())
        return True

    def link_paths(self) -> set[Path]:
        """Local link of every mount (what ``rm`` / ``mv`` must not remove as a whole)."""
        try:
            table = self._load()
        except ExecutionError:
            return set()
        return {self._link_path(point) for point in table}

    def targets(self) -> dict[str, Path]:
        """Mount point → local source folder, for code that maps paths itself (e.g. Hadoop links)."""
        with self._lock:
            table = self._load()
        found = {}
        for point, record in sorted(table.items()):
            try:
                found[point] = self._source_folder("mounts", record["source"])
            except ExecutionError:
                continue
        return found

    def source_folder(self, source: str) -> Path:
        """The local folder a mount source URL maps to."""
        return self._source_folder("mount", source)

    # -- helpers -----------------------------------------------------------------------------

    def _prepare(
        self,
        operation: str,
        source: str,
        mount_point: str,
        encryption_type: str,
        owner: str | None,
        extra_configs: Mapping[str, str] | None,
    ) -> tuple[str, Path, dict[str, Any]]:
        _check_str(source, "source")
        _check_str(mount_point, "mount_point")
        if not isinstance(encryption_type, str):
            raise InvalidTypeError(f"{encryption_type!r} has the wrong type - {str} is expected.")
        if owner is not None and not isinstance(owner, str):
            raise InvalidTypeError(f"{owner!r} has the wrong type - {str} is expected.")
        if extra_configs is not None and not isinstance(extra_configs, Mapping):
            raise InvalidTypeError(f"{extra_configs!r} has the wrong type - {dict} is expected.")
        point = self._point(operation, mount_point)
        target = self._source_folder(operation, source)
        return point, target, {"source": source, "encryptionType": encryption_type, "owner": owner}

    @staticmethod
    def _point(operation: str, mount_point: str) -> str:
        """``/mnt/x``, ``/mnt/x/`` and ``dbfs:/mnt/x`` → ``/mnt/x``; anything else raises."""
        path = mount_point[len("dbfs:") :] if mount_point.lower().startswith("dbfs:") else mount_point
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if not path.startswith("/") or ".." in parts or len(parts) < 2 or parts[0] != "mnt":
            raise _remote(operation, f"requirement failed: Mount point must be a folder under /mnt/, got {mount_point}")
        return "/" + "/".join(parts)

    def _source_folder(self, operation: str, source: str) -> Path:
        scheme = source.partition(":")[0].lower()
        if scheme in _AZURE_SCHEMES:
            try:
                return self.path_map.to_local(source)
            except Exception as error:  # malformed URL: the mount fails, as on Databricks
                raise _remote(operation, str(error)) from None
        if scheme in _BUCKET_SCHEMES:
            split = urlsplit(source)
            parts = [p for p in split.path.split("/") if p not in ("", ".")]
            if not split.netloc or ".." in parts or split.query or split.fragment:
                raise _remote(operation, f"Malformed mount source {source}; expected {scheme}://<bucket>/<path>")
            cloud = self.path_map.cloud_root
            assert cloud is not None
            return cloud.joinpath(_BUCKET_SCHEMES[scheme], split.netloc, *parts)
        raise _remote(
            operation,
            f"Unsupported mount source {source}; the local emulation mounts abfss://, abfs://, wasbs://, "
            "wasb://, s3://, s3a://, s3n:// and gs:// URLs",
        )

    def _link_path(self, point: str) -> Path:
        return self.path_map.dbfs_root.joinpath(*point.strip("/").split("/"))

    def _link(self, operation: str, point: str, target: Path) -> None:
        """Make ``<dbfs_root><point>`` a link to ``target`` (created if missing)."""
        link = self._link_path(point)
        try:
            target.mkdir(parents=True, exist_ok=True)
            if link.is_symlink():
                pass  # replaced atomically below
            elif link.is_dir():
                try:
                    link.rmdir()  # an empty folder in DBFS where the mount goes: the mount hides it
                except OSError:
                    raise ExecutionError.io_error(
                        operation, f"{point} is a non-empty folder in DBFS; cannot mount over it"
                    ) from None
            elif link.exists():
                raise ExecutionError.io_error(operation, f"{point} is a file in DBFS; cannot mount over it")
            link.parent.mkdir(parents=True, exist_ok=True)
            tmp = link.parent / f".{link.name}.{uuid.uuid4().hex[:12]}.mount-tmp"
            os.symlink(target, tmp, target_is_directory=True)
            os.replace(tmp, link)
        except OSError as error:
            raise ExecutionError.io_error(operation, f"Cannot create mount {point}: {error}") from error

    def _sync(self, table: dict[str, dict[str, Any]]) -> None:
        """Re-create links that are missing or point elsewhere (real folders are left alone)."""
        for point, record in table.items():
            link = self._link_path(point)
            try:
                target = self._source_folder("refreshMounts", record["source"])
            except ExecutionError:
                continue
            if link.is_symlink() and Path(os.readlink(link)) == target:
                continue
            if link.is_symlink() or not link.exists():
                self._link("refreshMounts", point, target)
            else:  # e.g. Spark's overwrite of the mount root deleted the link and made a folder
                _log.warning(
                    "Mount %s is shadowed by a real folder %s (the link to %s was replaced); "
                    "unmount and mount it again after moving that folder's files",
                    point,
                    link,
                    target,
                )

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
            mounts = data["mounts"]
            return {
                str(m["mountPoint"]): {
                    "source": str(m["source"]),
                    "encryptionType": str(m.get("encryptionType", "")),
                    "owner": m.get("owner"),
                }
                for m in mounts
            }
        except (ValueError, KeyError, TypeError) as error:
            raise ExecutionError.io_error("mounts", f"Mount table {self.file} is corrupt: {error}") from None

    def _save(self, table: dict[str, dict[str, Any]]) -> None:
        data = {"version": 1, "mounts": [{"mountPoint": p, **r} for p, r in sorted(table.items())]}
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.parent / f".mounts.{uuid.uuid4().hex[:12]}.tmp"
        try:
            tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, self.file)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
