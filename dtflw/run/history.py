"""Run history: one RunRecord per notebook attempt, kept on the flow's storage.

Records live under `<base>/<root_dir>/_dtflw/history/<run id>/` as JSON-lines batch files: a
run buffers its records and writes a new, atomically created batch at most about once a second
and at its end (so a killed run loses at most the last second, and a 10,000-notebook run writes
a handful of files, not 10,000). `_dtflw/history/_latest/<flow>/` keeps each notebook's last
successful record for incremental decisions: one new file per run, never overwritten, merged by
readers (newest `ended` wins), compacted now and then. With a delta-format storage the run's
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

from dtflw.errors import HistoryError
from dtflw.run.records import RunRecord, TableVersion, is_record_doc
from dtflw.storage.base import Storage

__all__ = ["HistoryStore", "RunRecord", "TableVersion", "new_run_id", "check_run_id", "flow_slug"]

HISTORY_DIR = "_dtflw/history"
LATEST_DIR = "_latest"
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
_log = logging.getLogger(__name__)


def new_run_id() -> str:
    """Sortable by time: `20261122T002000Z-3f9a1c`."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def flow_slug(flow: str) -> str:
    """A file-name-safe id for a flow name."""
    return hashlib.sha1(flow.encode()).hexdigest()[:16]


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

    Robust by design: a batch, line or `_latest` file that cannot be read or parsed (empty,
    truncated, binary, not a record) is skipped with a logged warning naming it, so it never
    blocks a run; writes are atomic (`Storage._write_text_atomic`) and a write that fails is
    logged, never raised, because history must not turn a finished run into a failed one.

    Writers only ever create new files (named `<time ns>-<random>`), so concurrent runs never
    contend on one file or lose each other's updates. `_latest/<flow slug>/` is compacted into one
    file when it holds more than `KEEP_FILES`: the merged file is written before the files it
    merged are deleted, and only files that were read are deleted, so concurrent compactions
    never lose an entry. Files of earlier releases (one record per `.json`, one key per
    `_latest` file, a single `_latest/<flow slug>.json`) are still read.
    """

    KEEP_FILES = 8
    FLUSH_SECONDS = 1.0

    def __init__(self, storage: Storage, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.storage = storage
        self.base = storage.get_abs_path(storage.get_path_in_root_dir(HISTORY_DIR))
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._buffer: list[RunRecord] = []
        self._last_flush = time.monotonic()

    # ---- run records ---------------------------------------------------------------------
    def append(self, record: RunRecord) -> None:
        """Buffer one record; buffered records are written when `flush_seconds` have passed
        since the last write, and by `flush()` (which every run calls at its end)."""
        with self._lock:
            self._buffer.append(record)
            due = time.monotonic() - self._last_flush >= self.flush_seconds
        if due:
            self.flush()

    def flush(self) -> None:
        """Write the buffered records: one new JSON-lines file per run id. Failures are logged."""
        with self._lock:
            batch, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
        by_run: dict[str, list[RunRecord]] = {}
        for record in batch:
            by_run.setdefault(record.run_id, []).append(record)
        for run_id, records in by_run.items():
            path = f"{self.base}/{run_id}/{_new_name()}.jsonl"
            try:
                check_run_id(run_id)
                lines = "".join(r.to_json() + "\n" for r in records)
                self.storage._write_text_atomic(path, lines)
            except Exception as error:  # history must never fail a run
                _log.warning("Run history: could not write %d record(s) to %s: %s", len(records), path, error)

    def run_ids(self) -> list[str]:
        """Every recorded run, oldest first."""
        try:
            entries = self.storage._list_dir(self.base) or []
        except Exception as error:
            _log.warning("Run history: could not list %s: %s", self.base, error)
            return []
        return sorted(e.name.rstrip("/") for e in entries if e.is_dir and RUN_ID.match(e.name.rstrip("/")))

    def records(self, run_id: str | None = None, flow: str | None = None) -> list[RunRecord]:
        """Records of one run (or of all runs), in the order they were written.

        Unreadable files and lines are skipped with a warning. For one `run_id`: HistoryError
        when it is malformed, not recorded, or when none of its record files can be read.
        """
        if run_id:
            return self._run_records(check_run_id(run_id), flow, strict=True)
        out: list[RunRecord] = []
        for rid in self.run_ids():
            out.extend(self._run_records(rid, flow, strict=False))
        return out

    def _run_records(self, run_id: str, flow: str | None, strict: bool) -> list[RunRecord]:
        folder = f"{self.base}/{run_id}"
        entries = self.storage._list_dir(folder)
        if entries is None and strict:
            raise HistoryError(f"No run {run_id} is recorded under {self.base}.")
        files = sorted(e.name for e in entries or [] if not e.is_dir and _is_record_name(e.name))
        out: list[RunRecord] = []
        unreadable = 0
        for name in files:
            records = self._read_records(f"{folder}/{name}")
            if records is None:
                unreadable += 1
            out.extend(r for r in records or [] if flow is None or r.flow == flow)
        if strict and files and unreadable == len(files):
            raise HistoryError(f"Run {run_id}: none of its {len(files)} record file(s) under {folder} can be read.")
        return out

    def _read_records(self, path: str) -> list[RunRecord] | None:
        """The records in a batch (`.jsonl`) or single-record (`.json`) file; None if unreadable."""
        if not path.endswith(".jsonl"):
            doc = self._read_json(path)
            record = _as_record(doc, path) if doc is not None else None
            return None if record is None else [record]
        text = self._read(path)
        if text is None:
            return None
        out: list[RunRecord] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except (ValueError, RecursionError) as error:
                _log.warning("Run history: skipping line %d of %s: not valid JSON (%s)", number, path, error)
                continue
            record = _as_record(doc, f"line {number} of {path}")
            if record is not None:
                out.append(record)
        return out or None

    def _read(self, path: str) -> str | None:
        try:
            return self.storage._read_text(path)
        except Exception as error:
            _log.warning("Run history: skipping %s: cannot be read (%s)", path, error)
            return None

    def _read_json(self, path: str) -> dict[str, Any] | None:
        """The JSON object in `path`; None (with a warning) when missing, unreadable or not an object."""
        text = self._read(path)
        if text is None:
            return None
        return self._parse_json(path, text)

    def _parse_json(self, path: str, text: str) -> dict[str, Any] | None:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as error:
            what = "empty" if not text.strip() else f"not valid JSON ({type(error).__name__}: {error})"
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
            latest.update({k: v for k, v in notebooks.items() if is_record_doc(v)})
        elif legacy is not None:
            _log.warning("Run history: skipping %s: not a last-successes file", legacy_path)
        _merge(latest, self._read_latest_files(self._latest_folder(flow))[0])
        return latest

    def _read_latest_files(self, folder: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """The merged entries of every readable file in `folder`, and the names of those files.

        A file listed but gone when read was compacted meanwhile (its entries moved to a newer
        file): the folder is read again, a few times at most."""
        for _ in range(4):
            merged, read, vanished = self._read_latest_once(folder)
            if not vanished:
                break
        return merged, read

    def _read_latest_once(self, folder: str) -> tuple[dict[str, dict[str, Any]], list[str], bool]:
        try:
            entries = self.storage._list_dir(folder) or []
        except Exception as error:
            _log.warning("Run history: could not list %s: %s", folder, error)
            return {}, [], False
        merged: dict[str, dict[str, Any]] = {}
        read: list[str] = []
        vanished = False
        for name in sorted(e.name for e in entries if not e.is_dir and e.name.endswith(".json")):
            path = f"{folder}/{name}"
            text = self._read(path)
            if text is None:
                vanished = vanished or not self.storage._path_exists(path)  # compacted away since the listing
                continue
            doc = self._parse_json(path, text)
            found = _latest_entries(doc)
            if found is None:
                if doc is not None:
                    _log.warning("Run history: skipping %s: not a last-successes file", f"{folder}/{name}")
                continue
            _merge(merged, found)
            read.append(name)
        return merged, read, vanished

    def save_latest_successes(self, flow: str, updates: Mapping[str, Mapping[str, Any]]) -> None:
        """Record these notebooks' last successes (key -> record dict) as one new file.

        Never overwrites: concurrent runs merge, a reader takes each key's newest `ended`. When
        the folder holds more than `KEEP_FILES` files they are compacted. Failures are logged.
        """
        if not updates:
            return
        folder = self._latest_folder(flow)
        doc = {"latest": {key: dict(record) for key, record in updates.items()}}
        path = f"{folder}/{_new_name()}.json"
        try:
            self.storage._write_text_atomic(path, json.dumps(doc))
        except Exception as error:  # history must never fail a run
            _log.warning("Run history: could not write %s: %s", path, error)
            return
        self._compact(folder)

    def _compact(self, folder: str) -> None:
        """Merge the folder's files into one when there are too many. Failures are logged."""
        try:
            entries = self.storage._list_dir(folder) or []
            if sum(1 for e in entries if not e.is_dir) <= self.KEEP_FILES:
                return
            merged, read = self._read_latest_files(folder)
            if not read:
                return
            self.storage._write_text_atomic(f"{folder}/{_new_name()}.json", json.dumps({"latest": merged}))
            for name in read:
                self.storage._delete(f"{folder}/{name}")
        except Exception as error:
            _log.warning("Run history: could not compact %s: %s", folder, error)

    def write_delta(self, spark: Any, records: Sequence[RunRecord]) -> None:
        """Append records to the Delta history table (delta-format storages, Spark required)."""
        if not records:
            return
        rows = [json.dumps(r.to_dict()) for r in records]
        path = self.storage.get_abs_path(self.storage.get_path_in_root_dir("_dtflw/history_delta"))
        frame = spark.read.json(spark.sparkContext.parallelize(rows, 1))
        frame.write.format("delta").mode("append").option("mergeSchema", "true").save(self.storage._spark_path(path))


def _new_name() -> str:
    """A new, never reused file name that sorts by creation time."""
    return f"{time.time_ns():020d}-{secrets.token_hex(4)}"


def _is_record_name(name: str) -> bool:
    return name.endswith((".json", ".jsonl")) and not name.startswith(".")


def _as_record(doc: Any, where: str) -> RunRecord | None:
    if not isinstance(doc, dict):
        _log.warning("Run history: skipping %s: expected a JSON object, found %s", where, type(doc).__name__)
        return None
    try:
        return RunRecord.from_dict(doc)
    except Exception as error:
        _log.warning("Run history: skipping %s: not a run record (%s)", where, error)
        return None


def _latest_entries(doc: Mapping[str, Any] | None) -> dict[str, dict[str, Any]] | None:
    """key -> record in a `_latest` file: a run's file (`{"latest": {...}}`) or an earlier
    release's one-key file (`{"key": ..., "record": {...}}`); None when it is neither."""
    if doc is None:
        return None
    latest = doc.get("latest")
    if isinstance(latest, dict):
        return {k: v for k, v in latest.items() if isinstance(k, str) and is_record_doc(v)}
    key, record = doc.get("key"), doc.get("record")
    if isinstance(key, str) and isinstance(record, dict):
        return {key: record} if is_record_doc(record) else {}
    return None


def _merge(into: dict[str, dict[str, Any]], entries: Mapping[str, dict[str, Any]]) -> None:
    """Keep each key's record with the newest `ended`."""
    for key, record in entries.items():
        if key not in into or _ended(record) >= _ended(into[key]):
            into[key] = record


def _ended(record: Mapping[str, Any] | None) -> float:
    value = record.get("ended") if record else None
    return float(value) if isinstance(value, (int, float)) else 0.0
