"""Run history: one RunRecord per notebook attempt, kept on the flow's storage.

Records are JSON files under `<base>/<root_dir>/_dtflw/history/<run id>/` (one file each, so
writers never append to a shared file); `_dtflw/history/_latest/<flow>.json` keeps each notebook's
last successful record for quick incremental decisions. With a delta-format storage the run's
records are also appended to the Delta table `_dtflw/history_delta` at the end of a run when a
SparkSession is running (always on Databricks; a local run that skipped everything starts none).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from dtflw.model.status import RunStatus
from dtflw.storage.base import Storage

HISTORY_DIR = "_dtflw/history"
LATEST_DIR = "_latest"


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


class HistoryStore:
    """Reads and writes RunRecords on a Storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.base = storage.get_abs_path(storage.get_path_in_root_dir(HISTORY_DIR))
        self._lock = threading.Lock()
        self._seq = 0

    def append(self, record: RunRecord) -> None:
        with self._lock:
            self._seq += 1
            seq = self._seq
        name = f"{seq:05d}-{record.key}-{record.attempt}.json"
        self.storage._write_text(f"{self.base}/{record.run_id}/{name}", json.dumps(record.to_dict()))

    def run_ids(self) -> list[str]:
        """Every recorded run, oldest first."""
        entries = self.storage._list_dir(self.base) or []
        return sorted(e.name for e in entries if e.is_dir and not e.name.startswith("_"))

    def records(self, run_id: str | None = None, flow: str | None = None) -> list[RunRecord]:
        """Records of one run (or of all runs), in the order they were written."""
        out: list[RunRecord] = []
        for rid in [run_id] if run_id else self.run_ids():
            entries = self.storage._list_dir(f"{self.base}/{rid}") or []
            for entry in sorted(entries, key=lambda e: e.name):
                text = self.storage._read_text(f"{self.base}/{rid}/{entry.name}")
                if text:
                    record = RunRecord.from_dict(json.loads(text))
                    if flow is None or record.flow == flow:
                        out.append(record)
        return out

    def last_run_id(self, flow: str) -> str | None:
        """The newest run of `flow` with any record."""
        for rid in reversed(self.run_ids()):
            if self.records(rid, flow):
                return rid
        return None

    def latest_successes(self, flow: str) -> dict[str, dict[str, Any]]:
        """key -> the last successful record of that notebook in `flow` (as a dict)."""
        text = self.storage._read_text(f"{self.base}/{LATEST_DIR}/{flow_slug(flow)}.json")
        return json.loads(text)["notebooks"] if text else {}

    def save_latest_successes(self, flow: str, latest: Mapping[str, Mapping[str, Any]]) -> None:
        doc = {"flow": flow, "notebooks": dict(latest)}
        self.storage._write_text(f"{self.base}/{LATEST_DIR}/{flow_slug(flow)}.json", json.dumps(doc))

    def write_delta(self, spark: Any, records: Sequence[RunRecord]) -> None:
        """Append records to the Delta history table (delta-format storages, Spark required)."""
        if not records:
            return
        rows = [json.dumps(r.to_dict()) for r in records]
        path = self.storage.get_abs_path(self.storage.get_path_in_root_dir("_dtflw/history_delta"))
        frame = spark.read.json(spark.sparkContext.parallelize(rows, 1))
        frame.write.format("delta").mode("append").option("mergeSchema", "true").save(self.storage._spark_path(path))
