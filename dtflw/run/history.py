"""Run history: one RunRecord per notebook attempt, kept on the flow's storage.

Records are JSON files under `<base>/<root_dir>/_dtflw/history/<run id>/` (one file each, so
writers never append to a shared file); `_dtflw/history/_latest/<flow>/` keeps each notebook's
last successful record for quick incremental decisions (one new file per update, so concurrent
runs never overwrite each other). With a delta-format storage the run's
records are also appended to the Delta table `_dtflw/history_delta` at the end of a run when a
SparkSession is running (always on Databricks; a local run that skipped everything starts none).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from dtflw.errors import HistoryError
from dtflw.model.status import RunStatus
from dtflw.storage.base import Storage

HISTORY_DIR = "_dtflw/history"
LATEST_DIR = "_latest"
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
_log = logging.getLogger(__name__)


def new_run_id() -> str:
    """Sortable by time: `20261122T002000Z-3f9a1c`."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def _iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


@attrs.frozen
class TableVersion:
    """An input or output of a run: its name, path and version (None when absent)."""

    name: str
    path: str
    version: str | None


@attrs.frozen
class RunRecord:
    """One attempt of one notebook in one flow run (arguments and errors already redacted)."""

    run_id: str
    flow: str
    key: str
    notebook: str
    attempt: int
    status: RunStatus = attrs.field(converter=RunStatus)
    args: Mapping[str, str] = attrs.field(factory=dict)
    inputs: tuple[TableVersion, ...] = ()
    outputs: tuple[TableVersion, ...] = ()
    started: float | None = None
    ended: float | None = None
    exit_value: str | None = None
    error: str | None = None
    reason: str = ""
    fingerprint: str | None = None
    source_hash: str | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.started is None or self.ended is None else self.ended - self.started

    def to_dict(self) -> dict[str, Any]:
        doc = attrs.asdict(self)
        doc["status"] = self.status.value
        doc["args"] = dict(self.args)
        doc["started_at"], doc["ended_at"] = _iso(self.started), _iso(self.ended)
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RunRecord:
        fields = {f.name for f in attrs.fields(cls)}
        values = {k: v for k, v in doc.items() if k in fields}
        values["inputs"] = tuple(TableVersion(**t) for t in doc.get("inputs", ()))
        values["outputs"] = tuple(TableVersion(**t) for t in doc.get("outputs", ()))
        return cls(**values)


def flow_slug(flow: str) -> str:
    """A file-name-safe id for a flow name."""
    return hashlib.sha1(flow.encode()).hexdigest()[:16]


def _key_slug(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def check_run_id(run_id: object) -> str:
    """`run_id` if it has `new_run_id`'s form (`20261122T002000Z-3f9a1c`), else HistoryError.

    Keeps a run id from naming anything outside the history folder (`../`, `/`).
    """
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
        raise HistoryError(
            f"Run id {run_id!r} is malformed: expected the form 20261122T002000Z-3f9a1c (UTC time, '-', 6 hex digits)."
        )
    return run_id


class HistoryStore:
    """Reads and writes RunRecords on a Storage.

    Robust by design: a record or `_latest` file that cannot be read or parsed (empty, truncated,
    binary, not a record) is skipped with a logged warning naming it, so it never blocks a run;
    writes are atomic (`Storage._write_text_atomic`) and a write that fails is logged, never
    raised, because history must not turn a finished run into a failed one.

    `_latest/<flow slug>/` holds one file per notebook success, `<key slug>-<ended ms>-<rand>.json`:
    writers only ever create new files, so concurrent runs never contend on (or lose each
    other's updates to) one file; readers take each key's newest readable file. Older files of
    a key are pruned after a write (keeping a few). A `_latest/<flow slug>.json` of an earlier
    release is still read, as the oldest layer.
    """

    KEEP_PER_KEY = 3

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.base = storage.get_abs_path(storage.get_path_in_root_dir(HISTORY_DIR))
        self._lock = threading.Lock()
        self._seq = 0

    # ---- run records ---------------------------------------------------------------------
    def append(self, record: RunRecord) -> None:
        """Write one record (atomically); a failure is logged, never raised."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        path = f"{self.base}/{record.run_id}/{seq:05d}-{_key_slug(record.key)}-{record.attempt}.json"
        try:
            check_run_id(record.run_id)
            self.storage._write_text_atomic(path, json.dumps(record.to_dict()))
        except Exception as error:  # history must never fail a run
            _log.warning("Run history: could not write record %s: %s", path, error)

    def run_ids(self) -> list[str]:
        """Every recorded run, oldest first."""
        try:
            entries = self.storage._list_dir(self.base) or []
        except Exception as error:
            _log.warning("Run history: could not list %s: %s", self.base, error)
            return []
        return sorted(e.name for e in entries if e.is_dir and RUN_ID.match(e.name))

    def records(self, run_id: str | None = None, flow: str | None = None) -> list[RunRecord]:
        """Records of one run (or of all runs), in the order they were written.

        Unreadable record files are skipped with a warning. For one `run_id`: HistoryError when
        it is malformed, or when its run holds record files and none of them can be read.
        """
        if run_id:
            return self._run_records(check_run_id(run_id), flow, strict=True)
        out: list[RunRecord] = []
        for rid in self.run_ids():
            out.extend(self._run_records(rid, flow, strict=False))
        return out

    def _run_records(self, run_id: str, flow: str | None, strict: bool) -> list[RunRecord]:
        folder = f"{self.base}/{run_id}"
        entries = self.storage._list_dir(folder) or []
        files = sorted(e.name for e in entries if not e.is_dir and _is_record_name(e.name))
        out: list[RunRecord] = []
        unreadable = 0
        for name in files:
            record = self._read_record(f"{folder}/{name}")
            if record is None:
                unreadable += 1
            elif flow is None or record.flow == flow:
                out.append(record)
        if strict and files and unreadable == len(files):
            raise HistoryError(f"Run {run_id}: none of its {len(files)} record file(s) under {folder} can be read.")
        return out

    def _read_record(self, path: str) -> RunRecord | None:
        doc = self._read_json(path)
        if doc is None:
            return None
        try:
            return RunRecord.from_dict(doc)
        except Exception as error:
            _log.warning("Run history: skipping %s: not a run record (%s)", path, error)
            return None

    def _read_json(self, path: str) -> dict[str, Any] | None:
        """The JSON object in `path`; None (with a warning) when missing, unreadable or not an object."""
        try:
            text = self.storage._read_text(path)
        except Exception as error:
            _log.warning("Run history: skipping %s: cannot be read (%s)", path, error)
            return None
        if text is None:
            return None
        try:
            doc = json.loads(text)
        except ValueError as error:
            what = "empty" if not text.strip() else f"not valid JSON ({error})"
            _log.warning("Run history: skipping %s: %s", path, what)
            return None
        if not isinstance(doc, dict):
            _log.warning("Run history: skipping %s: expected a JSON object, found %s", path, type(doc).__name__)
            return None
        return doc

    def last_run_id(self, flow: str) -> str | None:
        """The newest run of `flow` with any readable record."""
        for rid in reversed(self.run_ids()):
            if self._run_records(rid, flow, strict=False):
                return rid
        return None

    # ---- last successes ------------------------------------------------------------------
    def _latest_folder(self, flow: str) -> str:
        return f"{self.base}/{LATEST_DIR}/{flow_slug(flow)}"

    def latest_successes(self, flow: str) -> dict[str, dict[str, Any]]:
        """key -> the last successful record of that notebook in `flow` (as a dict).

        Unreadable files are skipped with a warning; failures to list are logged ({} then).
        """
        latest: dict[str, dict[str, Any]] = {}
        legacy_path = f"{self.base}/{LATEST_DIR}/{flow_slug(flow)}.json"
        legacy = self._read_json(legacy_path)
        notebooks = legacy.get("notebooks") if legacy else None
        if isinstance(notebooks, dict):
            latest.update({k: v for k, v in notebooks.items() if isinstance(v, dict)})
        elif legacy is not None:
            _log.warning("Run history: skipping %s: not a last-successes file", legacy_path)
        folder = self._latest_folder(flow)
        try:
            entries = self.storage._list_dir(folder) or []
        except Exception as error:
            _log.warning("Run history: could not list %s: %s", folder, error)
            return latest
        by_key: dict[str, list[str]] = {}
        for entry in entries:
            parsed = _parse_latest_name(entry.name)
            if parsed is not None and not entry.is_dir:
                by_key.setdefault(parsed[0], []).append(entry.name)
        for names in by_key.values():
            for name in sorted(names, reverse=True):  # newest first; fall back past unreadable ones
                doc = self._read_json(f"{folder}/{name}")
                record = doc.get("record") if doc else None
                key = doc.get("key") if doc else None
                if isinstance(record, dict) and isinstance(key, str):
                    if _ended(record) >= _ended(latest.get(key)):
                        latest[key] = record
                    break
                if doc is not None:
                    _log.warning("Run history: skipping %s: not a last-success entry", f"{folder}/{name}")
        return latest

    def save_latest_successes(self, flow: str, latest: Mapping[str, Mapping[str, Any]]) -> None:
        """Record each notebook's last success; only entries newer than what is stored are written.

        Each is a new file (atomic, never overwritten), so concurrent runs merge: a reader takes
        each key's newest `ended`. Failures are logged, never raised.
        """
        try:
            stored = self.latest_successes(flow)
        except Exception as error:
            _log.warning("Run history: could not read the last successes of flow %r: %s", flow, error)
            stored = {}
        folder = self._latest_folder(flow)
        written = False
        for key, record in latest.items():
            old = stored.get(key)
            if old is not None and (_ended(record) < _ended(old) or dict(record) == old):
                continue
            ended_ms = int(_ended(record) * 1000) if _ended(record) > 0 else 0
            name = f"{_key_slug(key)}-{ended_ms:015d}-{secrets.token_hex(4)}.json"
            try:
                self.storage._write_text_atomic(f"{folder}/{name}", json.dumps({"key": key, "record": dict(record)}))
                written = True
            except Exception as error:  # history must never fail a run
                _log.warning("Run history: could not write %s: %s", f"{folder}/{name}", error)
        if written:
            self._prune(folder)

    def _prune(self, folder: str) -> None:
        """Remove each key's older files, keeping the newest few: one listing for all keys
        (deletes are idempotent, so concurrent pruning is safe). Failures are logged."""
        try:
            entries = self.storage._list_dir(folder) or []
            by_key: dict[str, list[str]] = {}
            for entry in entries:
                parsed = _parse_latest_name(entry.name)
                if parsed is not None:
                    by_key.setdefault(parsed[0], []).append(entry.name)
            for names in by_key.values():
                for name in sorted(names)[: -self.KEEP_PER_KEY]:
                    self.storage._delete(f"{folder}/{name}")
        except Exception as error:
            _log.warning("Run history: could not prune %s: %s", folder, error)

    def write_delta(self, spark: Any, records: Sequence[RunRecord]) -> None:
        """Append records to the Delta history table (delta-format storages, Spark required)."""
        if not records:
            return
        rows = [json.dumps(r.to_dict()) for r in records]
        path = self.storage.get_abs_path(self.storage.get_path_in_root_dir("_dtflw/history_delta"))
        frame = spark.read.json(spark.sparkContext.parallelize(rows, 1))
        frame.write.format("delta").mode("append").option("mergeSchema", "true").save(self.storage._spark_path(path))


def _is_record_name(name: str) -> bool:
    return name.endswith(".json") and not name.startswith(".")


_LATEST_NAME = re.compile(r"^([0-9a-f]{16})-(\d{15})-[0-9a-f]{8}\.json$")


def _parse_latest_name(name: str) -> tuple[str, int] | None:
    m = _LATEST_NAME.match(name)
    return (m.group(1), int(m.group(2))) if m else None


def _ended(record: Mapping[str, Any] | None) -> float:
    value = record.get("ended") if record else None
    return float(value) if isinstance(value, (int, float)) else 0.0
