"""Run history survives bad files, bad run ids, full disks and concurrent writers."""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
from pathlib import Path

import pytest

from dtflw import init_flow
from dtflw.errors import FlowRunError, HistoryError, StorageError
from dtflw.run.history import LATEST_DIR, HistoryStore, RunRecord, flow_slug, new_run_id
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub

BAD_CONTENTS = {
    "empty": b"",
    "truncated": b'{"run_id": "20260101T000000Z-abcdef", "flow": "f", "ke',
    "binary": b"\x00\xff\xfe\x80PAR1\x00",
    "empty_list": b"[]",
    "not_a_record": b'{"hello": 1}',
    "deeply_nested": b"[" * 200_000,
    "key_is_a_list": json.dumps({"run_id": "20260101T000000Z-abcdef", "flow": "robust", "key": ["x"],
                                 "notebook": "/nb", "attempt": 1, "status": "failed"}).encode(),
    "args_is_a_string": json.dumps({"run_id": "20260101T000000Z-abcdef", "flow": "robust", "key": "k",
                                    "notebook": "/nb", "attempt": 1, "status": "failed", "args": "x"}).encode(),
}  # fmt: skip


def writes(args: dict[str, str]) -> str:
    for key, value in args.items():
        if key.endswith("_out"):
            write_parquet_stub(value)
    return "ok"


@pytest.fixture
def env(tmp_path):
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.notebook.register("a", writes)
    dbutils.notebook.register("b", writes)
    return LocalStorage(tmp_path / "tables"), dbutils


def two_step(storage, dbutils):
    flow = init_flow(storage, dbutils=dbutils, name="robust")
    flow.notebook("a").output("A").add()
    flow.notebook("b").input("A").output("B").add()
    return flow


def history_dir(storage) -> Path:
    return Path(storage.base_path) / "_dtflw" / "history"


def record(key: str, ended: float, run_id: str | None = None) -> dict:
    return RunRecord(run_id or new_run_id(), "robust", key, f"/nb/{key}", 1, "succeeded", ended=ended).to_dict()


# ---- unreadable files are skipped with a warning ------------------------------------------------
@pytest.mark.parametrize("kind", sorted(BAD_CONTENTS))
def test_a_bad_record_file_is_skipped_with_a_warning_naming_it(env, caplog, kind):
    storage, dbutils = env
    first = two_step(storage, dbutils).run()
    bad = history_dir(storage) / first.run_id / "00000-zzz-1.json"
    bad.write_bytes(BAD_CONTENTS[kind])
    caplog.set_level(logging.WARNING, logger="dtflw.run.history")
    records = two_step(storage, dbutils).history()
    assert {r.key for r in records} == {"project__a", "project__b"}
    assert str(bad) in caplog.text
    # resume, lazy="auto" and a fresh run all still work
    assert two_step(storage, dbutils).run(resume="last").ok
    assert two_step(storage, dbutils).run(lazy="auto").ok
    assert two_step(storage, dbutils).run().ok


@pytest.mark.parametrize("kind", sorted(BAD_CONTENTS))
def test_a_bad_latest_file_is_skipped_and_lazy_auto_still_runs(env, caplog, kind):
    storage, dbutils = env
    two_step(storage, dbutils).run()
    latest = history_dir(storage) / LATEST_DIR / flow_slug("robust")
    files = sorted(latest.glob("*.json"))
    assert len(files) == 1  # one file per run, holding both notebooks' last successes
    for f in files:
        f.write_bytes(BAD_CONTENTS[kind])
    legacy = history_dir(storage) / LATEST_DIR / f"{flow_slug('robust')}.json"  # the earlier layout
    legacy.write_bytes(BAD_CONTENTS[kind])
    caplog.set_level(logging.WARNING, logger="dtflw.run.history")
    result = two_step(storage, dbutils).run(lazy="auto")
    assert result.ok and {r.status for r in result} == {"succeeded"}  # nothing trusted: both re-run
    if BAD_CONTENTS[kind]:
        assert str(files[0]) in caplog.text and str(legacy) in caplog.text
    # the run wrote fresh entries: the next lazy run skips
    assert {r.status for r in two_step(storage, dbutils).run(lazy="auto")} == {"skipped"}


@pytest.mark.parametrize(
    "damage",
    [
        {"inputs": ["x"]},
        {"args": "x"},
        {"outputs": 5},
        {"key": ["x"]},
        {"attempt": "1"},
        {"inputs": [{"name": "A", "path": "/p", "version": 5}]},
    ],
)
def test_a_last_success_of_the_wrong_shape_is_not_trusted(env, damage):
    storage, dbutils = env
    two_step(storage, dbutils).run()
    (latest,) = (history_dir(storage) / LATEST_DIR / flow_slug("robust")).glob("*.json")
    doc = json.loads(latest.read_text())
    doc["latest"]["project__a"].update(damage)
    latest.write_text(json.dumps(doc))
    flow = two_step(storage, dbutils)
    plan = flow.plan(lazy="auto")  # no raw error: the damaged entry counts as no success
    assert [d.action.value for d in plan] == ["run", "run"]
    assert two_step(storage, dbutils).run(lazy="auto").ok


def test_an_older_readable_latest_entry_is_used_when_the_newest_is_corrupt(env, caplog):
    storage, _ = env
    store = HistoryStore(storage)
    store.save_latest_successes("robust", {"a": record("a", 100.0)})
    store.save_latest_successes("robust", {"a": record("a", 200.0)})
    newest = max((history_dir(storage) / LATEST_DIR / flow_slug("robust")).glob("*.json"))
    newest.write_text('{"key": "a", "rec')
    assert store.latest_successes("robust")["a"]["ended"] == 100.0
    assert str(newest) in caplog.text


def test_records_of_a_run_whose_files_are_all_unreadable_raise_history_error(env):
    storage, dbutils = env
    run_id = two_step(storage, dbutils).run().run_id
    for f in (history_dir(storage) / run_id).glob("*.json*"):
        f.write_bytes(b"\x00\x01")
    with pytest.raises(HistoryError, match=rf"{run_id}.*{history_dir(storage) / run_id}"):
        HistoryStore(storage).records(run_id)
    assert HistoryStore(storage).records() == []  # all runs: skipped, not raised
    assert HistoryStore(storage).last_run_id("robust") is None


@pytest.mark.parametrize(
    "run_id", ["../../etc", "20260101T000000Z-abcdef/../..", "/etc/passwd", "_latest", "x", "20260101T000000Z-ABCDEF"]
)
def test_malformed_run_ids_are_refused_before_reading_anything(env, run_id):
    storage, dbutils = env
    two_step(storage, dbutils).run()
    with pytest.raises(HistoryError, match="malformed"):
        HistoryStore(storage).records(run_id)
    with pytest.raises(HistoryError, match="malformed"):
        two_step(storage, dbutils).history(run_id)
    with pytest.raises(HistoryError, match="malformed"):
        two_step(storage, dbutils).run(resume=run_id)


def test_path_traversal_cannot_read_records_outside_the_history_folder(env, tmp_path):
    storage, dbutils = env
    run_id = two_step(storage, dbutils).run().run_id
    outside = tmp_path / "tables" / "_dtflw" / "evil"
    outside.mkdir(parents=True)
    (outside / "x.json").write_text(json.dumps(record("evil", 1.0, run_id)))
    with pytest.raises(HistoryError):
        HistoryStore(storage).records("../evil")


# ---- write failures never fail a run --------------------------------------------------------------
def test_a_full_disk_while_writing_history_is_logged_and_the_run_succeeds(env, caplog, monkeypatch):
    storage, dbutils = env

    def full(path: str, text: str) -> None:
        raise StorageError(f"Writing {path!r} failed: No space left on device.")

    monkeypatch.setattr(storage, "_write_text_atomic", full)
    caplog.set_level(logging.WARNING, logger="dtflw.run.history")
    result = two_step(storage, dbutils).run()
    assert result.ok
    assert "No space left on device" in caplog.text and "_dtflw/history" in caplog.text
    assert not list(history_dir(storage).rglob("*.json"))  # nothing half-written


def test_a_full_disk_leaves_no_empty_history_file(env, caplog, monkeypatch):
    storage, dbutils = env
    monkeypatch.setattr("builtins.open", _open_failing_writes(open))  # the disk fills mid-write
    result = two_step(storage, dbutils).run()
    monkeypatch.undo()
    assert result.ok
    files = list(history_dir(storage).rglob("*"))
    assert not [f for f in files if f.is_file()], files  # no 0-byte or partial file, no temporary
    assert "No space left on device" in caplog.text


def _open_failing_writes(real_open):
    class FullFile:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()
            return False

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

    def fake_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if "w" in mode and "_dtflw/history" in str(file):
            return FullFile(handle)
        return handle

    return fake_open


# ---- concurrent writers --------------------------------------------------------------------------
def _update_latest(root: str, worker: int, updates: int) -> None:
    store = HistoryStore(LocalStorage(root))
    for i in range(updates):
        latest = dict(store.latest_successes("robust"))  # what the scheduler does: read, merge, save
        latest[f"w{worker}-{i}"] = record(f"w{worker}-{i}", 1000.0 + i)
        latest["shared"] = record("shared", worker * 1000.0 + i)
        store.save_latest_successes("robust", latest)


def _check_latest(root: Path, workers: int, updates: int) -> None:
    store = HistoryStore(LocalStorage(root))
    latest = store.latest_successes("robust")
    expected = {f"w{w}-{i}" for w in range(workers) for i in range(updates)} | {"shared"}
    assert set(latest) == expected
    assert latest["shared"]["ended"] == (workers - 1) * 1000.0 + updates - 1  # the newest `ended` wins
    for f in (root / "_dtflw" / "history" / LATEST_DIR).rglob("*"):
        if f.is_file():
            json.loads(f.read_text())  # every file complete
            assert not f.name.endswith(".tmp")


def test_concurrent_threads_never_lose_a_latest_entry(tmp_path):
    threads = [threading.Thread(target=_update_latest, args=(str(tmp_path), w, 15)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _check_latest(tmp_path, 6, 15)


def test_concurrent_processes_never_corrupt_or_lose_a_latest_entry(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_update_latest, args=(str(tmp_path), w, 20)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    _check_latest(tmp_path, 3, 20)


def test_concurrent_flow_runs_all_keep_their_history_and_clear_their_markers(env):
    storage, dbutils = env
    errors: list[BaseException] = []

    def run() -> None:
        try:
            flow = init_flow(storage, dbutils=dbutils, name="robust")
            flow.notebook("a").output("A").add()
            assert flow.run().ok
        except FlowRunError as error:  # another run was writing A: this one failed up front
            if "ConcurrentWriteError" not in str(error):
                errors.append(error)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(HistoryStore(storage).latest_successes("robust")) == {"project__a"}
    assert len(HistoryStore(storage).records(flow="robust")) == 6
    assert not list(Path(storage.base_path).rglob("*._dtflw_pending"))


def test_a_reader_that_lists_just_before_a_compaction_still_sees_every_last_success(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path / "tables")
    store = HistoryStore(storage)
    for n in range(HistoryStore.KEEP_FILES):
        store.save_latest_successes("robust", {f"k{n}": record(f"k{n}", float(n))})
    other = HistoryStore(LocalStorage(tmp_path / "tables"))
    real = LocalStorage._list_dir
    compacted = []

    def list_then_compact(self, path):  # another run compacts right after this reader listed
        entries = real(self, path)
        if LATEST_DIR in path and not compacted:
            compacted.append(path)
            other.save_latest_successes("robust", {"late": record("late", 99.0)})
        return entries

    monkeypatch.setattr(LocalStorage, "_list_dir", list_then_compact)
    latest = store.latest_successes("robust")
    assert compacted and set(latest) >= {f"k{n}" for n in range(HistoryStore.KEEP_FILES)}
