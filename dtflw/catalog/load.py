"""Reading every run record of a storage's `_dtflw/history`, fast: an index of finished runs.

Run records stay where the runs wrote them (`_dtflw/history/<run id>/*.jsonl`, never rewritten
here). `build_index` copies the records of runs whose files are all older than
`min_age_seconds` into one new index file, `_dtflw/history/_index/<time>-<random>.json`
(written atomically; one JSON document: the record files it covers, when it was made, and their
records, parsed in one pass). `load_records` reads every index, then only the record
files no index covers; a covered run folder is listed again only when it changed after the
index was made. Two indexers at once may cover a file twice: each record file is read once (the
first index that covers it wins), so nothing is lost or counted twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from dtflw.run.history import RUN_ID, HistoryStore
from dtflw.storage.base import Storage

INDEX_DIR = "_index"
_log = logging.getLogger(__name__)

Record = dict[str, Any]


def _lines(text: str, where: str) -> Iterable[Any]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except (ValueError, RecursionError):
                _log.warning("Catalog: skipping line %d of %s: not valid JSON", number, where)


def _documents(text: str, where: str) -> list[Any]:
    """The JSON lines of a record file: parsed as one array (one decoder pass, shared key memo),
    line by line only when that fails (so one bad line costs only itself, with a warning)."""
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        docs = json.loads("[" + ",".join(lines) + "]")
    except (ValueError, RecursionError):
        return list(_lines(text, where))
    return docs if isinstance(docs, list) else []


def _record_files(store: HistoryStore, run_id: str) -> list[tuple[str, int]]:
    entries = store.storage._list_dir(f"{store.base}/{run_id}") or []
    return sorted(
        (e.name, e.modification_time)
        for e in entries
        if not e.is_dir and e.name.endswith((".json", ".jsonl")) and not e.name.startswith(".")
    )


def _read_file(store: HistoryStore, run_id: str, name: str) -> list[Record]:
    path = f"{store.base}/{run_id}/{name}"
    text = store._read(path)
    if text is None:
        return []
    docs = _documents(text, path) if name.endswith(".jsonl") else list(_lines(text.replace("\n", " "), path))
    out = []
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("key"), str):
            doc.pop("started_at", None)  # derived from started/ended: not kept
            doc.pop("ended_at", None)
            out.append(doc)
    return out


def _run_folders(store: HistoryStore) -> dict[str, int]:
    """Run id -> the folder's modification time (ms): one listing of the history folder."""
    entries = store.storage._list_dir(store.base) or []
    return {e.name.rstrip("/"): e.modification_time for e in entries if e.is_dir and RUN_ID.match(e.name.rstrip("/"))}


def _encode(sources: dict[str, list[Record]], written: int) -> str:
    """An index: the record files it covers, when it was made, and each record with its file's number."""
    names = list(sources)
    rows = [[n, record] for n, name in enumerate(names) for record in sources[name]]
    return json.dumps({"covers": names, "written": written, "records": rows}, separators=(",", ":"))


def _decode(doc: dict[str, Any]) -> dict[str, list[Record]]:
    names: list[str] = doc["covers"]
    out: dict[str, list[Record]] = {}
    for number, record in doc["records"]:
        out.setdefault(names[number], []).append(record)
    return out


def _indexes(store: HistoryStore) -> list[tuple[set[str], int, dict[str, list[Record]]]]:
    """Each index file: the record files it covers (`run/name`), when it was made (ms), its records."""
    folder = f"{store.base}/{INDEX_DIR}"
    out = []
    for entry in sorted(store.storage._list_dir(folder) or [], key=lambda e: e.name):
        if entry.is_dir or not entry.name.endswith(".json"):
            continue
        text = store._read(f"{folder}/{entry.name}")
        try:
            doc = json.loads(text or "")
            out.append((set(doc["covers"]), int(doc["written"]), _decode(doc)))
        except (ValueError, KeyError, TypeError, IndexError, RecursionError) as error:
            _log.warning("Catalog: skipping index %s: %s", entry.name, error)
    return out


def load_records(storage: Storage) -> list[Record]:
    """Every readable run record of `storage` (as JSON dicts), indexed runs read from their index.

    A run folder an index covers is listed again only when it changed after the index was made.
    """
    store = HistoryStore(storage)
    seen: set[str] = set()
    indexed: dict[str, int] = {}  # run id -> when the newest index covering it was made
    records: list[Record] = []
    for covers, written, by_file in _indexes(store):
        for source in sorted(covers - seen):
            records.extend(by_file.get(source, ()))
            run_id = source.split("/", 1)[0]
            indexed[run_id] = max(indexed.get(run_id, 0), written)
        seen |= covers
    for run_id, changed in sorted(_run_folders(store).items()):
        if run_id in indexed and changed < indexed[run_id]:
            continue
        for name, _ in _record_files(store, run_id):
            if f"{run_id}/{name}" not in seen:
                records.extend(_read_file(store, run_id, name))
    return records


def build_index(storage: Storage, min_age_seconds: float = 3600.0) -> int:
    """Index the record files of finished runs (all files older than `min_age_seconds`) that no
    index covers yet; returns how many files the new index covers (0: nothing written)."""
    store = HistoryStore(storage)
    written = int(time.time() * 1000)
    seen: set[str] = set().union(*(covers for covers, _, _ in _indexes(store)))
    cutoff = written - min_age_seconds * 1000
    sources: dict[str, list[Record]] = {}
    for run_id in sorted(_run_folders(store)):
        files = _record_files(store, run_id)
        if not files or any(mtime > cutoff for _, mtime in files):
            continue  # a run that may still be writing
        for name, _ in files:
            if f"{run_id}/{name}" not in seen:
                sources[f"{run_id}/{name}"] = _read_file(store, run_id, name)
    if not sources:
        return 0
    from dtflw.run.history import _new_name

    storage._write_text_atomic(f"{store.base}/{INDEX_DIR}/{_new_name()}.json", _encode(sources, written))
    return len(sources)
