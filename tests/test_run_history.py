"""HistoryStore's layout: batched record files, one last-successes file per run, compaction."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import attrs
import pytest

from dtflw.errors import HistoryError
from dtflw.run.history import LATEST_DIR, HistoryStore, RunRecord, TableVersion, flow_slug, new_run_id
from dtflw.storage.local import LocalStorage


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "tables")


def folder(storage: LocalStorage, *parts: str) -> Path:
    return Path(storage.base_path, "_dtflw", "history", *parts)


def rec(run_id: str, key: str, ended: float = 1.0, **fields) -> RunRecord:
    return RunRecord(run_id, "f", key, f"/nb/{key}", 1, "succeeded", ended=ended, **fields)


def test_a_record_round_trips_and_its_json_matches_attrs_asdict():
    record = rec(new_run_id(), "k", 2.5, started=1.5, args={"a": "1"}, inputs=(TableVersion("I", "/p", "v1"),))
    doc = record.to_dict()
    expected = json.loads(json.dumps(attrs.asdict(record)))
    expected.update(status="succeeded", started_at=doc["started_at"], ended_at=doc["ended_at"])
    assert json.loads(json.dumps(doc)) == expected
    assert RunRecord.from_dict(doc) == record


def test_records_are_buffered_and_written_as_few_batch_files(storage):
    store = HistoryStore(storage, flush_seconds=3600)
    run_id = new_run_id()
    for n in range(1000):
        store.append(rec(run_id, f"k{n}"))
    assert not folder(storage, run_id).exists()  # nothing written before a flush
    store.flush()
    files = list(folder(storage, run_id).iterdir())
    assert len(files) == 1 and files[0].suffix == ".jsonl"
    assert [r.key for r in HistoryStore(storage).records(run_id)] == [f"k{n}" for n in range(1000)]


def test_a_flush_happens_by_itself_once_flush_seconds_have_passed(storage):
    store = HistoryStore(storage, flush_seconds=0.0)
    run_id = new_run_id()
    store.append(rec(run_id, "a"))
    assert [r.key for r in HistoryStore(storage).records(run_id)] == ["a"]


def test_a_bad_line_is_skipped_with_a_warning_naming_file_and_line(storage, caplog):
    store = HistoryStore(storage)
    run_id = new_run_id()
    store.append(rec(run_id, "a"))
    store.append(rec(run_id, "b"))
    store.flush()
    (batch,) = folder(storage, run_id).iterdir()
    lines = batch.read_text().splitlines()
    batch.write_text("\n".join([lines[0], '{"trunc', "[]", lines[1]]) + "\n")
    caplog.set_level(logging.WARNING, logger="dtflw.run.history")
    assert [r.key for r in store.records(run_id)] == ["a", "b"]
    assert f"line 2 of {batch}" in caplog.text and f"line 3 of {batch}" in caplog.text


def test_an_unknown_or_malformed_run_id_is_a_history_error(storage):
    HistoryStore(storage).append(rec(new_run_id(), "a"))
    with pytest.raises(HistoryError, match="No run 20000101T000000Z-000000 is recorded"):
        HistoryStore(storage).records("20000101T000000Z-000000")
    with pytest.raises(HistoryError, match="malformed"):
        HistoryStore(storage).records("../x")


def test_last_successes_are_one_file_per_save_and_compacted_without_losing_entries(storage):
    store = HistoryStore(storage)
    for n in range(20):
        store.save_latest_successes("f", {f"k{n}": {"ended": float(n)}, "shared": {"ended": float(n)}})
    files = list(folder(storage, LATEST_DIR, flow_slug("f")).iterdir())
    assert len(files) <= HistoryStore.KEEP_FILES + 1
    latest = store.latest_successes("f")
    assert set(latest) == {f"k{n}" for n in range(20)} | {"shared"}
    assert latest["shared"]["ended"] == 19.0


def test_concurrent_saves_and_compactions_keep_every_entry(storage):
    def work(worker: int) -> None:
        store = HistoryStore(LocalStorage(storage.base_path))
        for n in range(25):
            store.save_latest_successes("f", {f"w{worker}-{n}": {"ended": float(n)}})

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latest = HistoryStore(storage).latest_successes("f")
    assert set(latest) == {f"w{w}-{n}" for w in range(4) for n in range(25)}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"args": {"year": "2022", "q": 'a "quoted"\\ value\n', "ü": "日本"}, "exit_value": "ok\t\x00", "error": "E"},
        {"started": 1.5, "ended": 1796054487.4656076, "reason": "up to date", "fingerprint": "f" * 24},
        {"started": 3, "ended": float("nan"), "attempt": 2, "source_hash": "abc"},
        {"args": {"n": 1}, "started": float("inf")},  # values a hand-made record may hold
    ],
)
def test_a_records_json_is_what_json_dumps_writes(fields):
    """`to_json` writes records by hand (speed): it must match `json.dumps(to_dict())` exactly."""
    base = dict(
        run_id="20261130T000000Z-abcdef", flow="bench", key="nb", notebook="/x/nb", attempt=1, status="succeeded",
        inputs=(TableVersion("T0", "/t/é/T0.parquet", None),),
        outputs=(TableVersion("T1", '/t/"1"/T1', "files:0123"), TableVersion("T2", "/t/T2", "delta:3")),
    )  # fmt: skip
    record = RunRecord(**{**base, **fields})
    assert record.to_json() == json.dumps(record.to_dict())
    assert RunRecord.from_dict(json.loads(record.to_json())).to_json() == record.to_json()
