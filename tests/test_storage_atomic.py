"""dtflw's own small files are written atomically; deletes and pending markers tolerate races."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from dtflw.errors import ConcurrentWriteError, StorageError
from dtflw.storage.dbfs import DbfsStorage
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub


@pytest.fixture(params=["local", "dbutils"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "tables")
    return DbfsStorage(dbutils=FakeDbutils(fs_root=tmp_path / "dbfs"), root_dir="t")


def local_path(storage, abs_path: str) -> Path:
    if isinstance(storage, LocalStorage):
        return Path(abs_path)
    return storage.dbutils.path_map.to_local(abs_path)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---- atomic writes ---------------------------------------------------------------------------
def test_local_write_failing_midway_keeps_the_old_content_and_leaves_no_temporary(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path)
    path = str(tmp_path / "h" / "f.json")
    storage._write_text_atomic(path, "old")

    def no_space(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(StorageError, match=r"f\.json.*No space left on device"):
        storage._write_text_atomic(path, "new" * 1000)
    monkeypatch.undo()
    assert Path(path).read_text() == "old" and files_in(tmp_path / "h") == ["f.json"]


def test_local_write_of_a_new_file_failing_midway_leaves_nothing(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path)
    path = str(tmp_path / "h" / "new.json")

    def replace_fails(src, dst):  # the disk fills up before the file is complete
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", replace_fails)
    with pytest.raises(StorageError, match="new.json"):
        storage._write_text_atomic(path, "x" * 10000)
    monkeypatch.undo()
    assert files_in(tmp_path / "h") == []


def test_dbutils_write_failing_at_the_rename_keeps_the_old_content(tmp_path, monkeypatch):
    storage = DbfsStorage(dbutils=FakeDbutils(fs_root=tmp_path), root_dir="t")
    path = storage.get_abs_path("t/h/f.json")
    storage._write_text_atomic(path, "old")
    assert storage._read_text(path) == "old"

    def broken_mv(*args, **kwargs):
        raise RuntimeError("java.io.IOException: disk quota exceeded")

    monkeypatch.setattr(storage.dbutils.fs, "mv", broken_mv)
    with pytest.raises(StorageError, match=r"f\.json.*disk quota"):
        storage._write_text_atomic(path, "new")
    monkeypatch.undo()
    assert storage._read_text(path) == "old"
    assert files_in(local_path(storage, path).parent) == ["f.json"]


def test_emulated_put_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    dbutils = FakeDbutils(fs_root=tmp_path)
    dbutils.fs.put("dbfs:/x/f.txt", "old", True)
    real = Path.write_bytes

    def half(self, data):
        real(self, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half)
    with pytest.raises(Exception, match="No space left"):
        dbutils.fs.put("dbfs:/x/f.txt", "new content", True)
    monkeypatch.undo()
    assert dbutils.fs.head("dbfs:/x/f.txt") == "old"
    assert [f.name for f in dbutils.fs.ls("dbfs:/x")] == ["f.txt"]


def test_overwriting_is_atomic_on_every_backend(storage):
    path = storage.get_abs_path(storage.get_path_in_root_dir("h/f.json"))
    storage._write_text_atomic(path, "one")
    storage._write_text_atomic(path, "two")
    assert storage._read_text(path) == "two"
    assert files_in(local_path(storage, path).parent) == ["f.json"]


# ---- idempotent deletes and marker clears under races ------------------------------------------
def test_deleting_a_missing_path_is_not_an_error(storage):
    path = storage.get_abs_path(storage.get_path_in_root_dir("nothing/here"))
    storage._delete(path)
    storage._delete(path, recurse=True)
    storage.clear_pending(path)
    storage.clear_pending(path, "someone")


def test_concurrent_clears_of_one_marker_never_raise(storage):
    table = storage.get_abs_path(storage.get_path_in_root_dir("t/T.parquet"))
    write_parquet_stub(str(local_path(storage, table)))
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            for i in range(15):
                try:
                    owner = storage.mark_pending(table, f"nb{n}")
                except ConcurrentWriteError:  # another thread holds the table: it withdrew, nothing to clear
                    barrier.wait(timeout=10) if i == 0 else None
                    continue
                barrier.wait(timeout=10) if i == 0 else None
                storage.clear_pending(table, owner)
                storage.clear_pending(table, owner)  # again: idempotent
            storage.clear_pending(table)  # and the whole marker (the 0.6.x call), racing the others
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert not storage.is_pending(table) and storage.exists(table)


def test_concurrent_owners_each_clear_only_their_own_entry(storage):
    table = storage.get_abs_path(storage.get_path_in_root_dir("t/T.parquet"))
    write_parquet_stub(str(local_path(storage, table)))
    errors: list[BaseException] = []
    owners = [f"run{n}" for n in range(8)]
    for owner in owners:  # earlier writers whose leases ran out: dead
        storage.mark_pending(table, "nb", owner=owner, lease_seconds=0.01)
        time.sleep(0.02)
    keeper = storage.mark_pending(table, "nb", owner="last")  # started last, still writing

    def clear(owner: str) -> None:
        try:
            storage.clear_pending(table, owner)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=clear, args=(o,)) for o in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert storage.is_pending(table) and storage.pending_owners(table) == [keeper]
    storage.clear_pending(table, keeper)
    assert not storage.is_pending(table)


# ---- owner-based markers -------------------------------------------------------------------------
def test_one_writer_clearing_does_not_clear_a_later_writers_pending_state(storage):
    table = storage.get_abs_path(storage.get_path_in_root_dir("t/A.parquet"))
    p1 = storage.mark_pending(table, "nb", lease_seconds=0.01)
    time.sleep(0.02)  # P1 stops renewing: its lease runs out, so it counts as dead
    p2 = storage.mark_pending(table, "nb", lease_seconds=0.3)  # a second run starts writing A
    write_parquet_stub(str(local_path(storage, table)))
    storage.clear_pending(table, p1)  # the first run finishes after all
    assert storage.is_pending(table) and not storage.exists(table)  # P2 may still be writing
    assert storage.pending_owners(table) == [p2]
    # P2 is killed: A stays pending, so a lazy run redoes it
    assert not storage.exists(table) and storage.exists(table, ignore_pending=True)
    time.sleep(0.35)  # ... and its lease runs out
    p3 = storage.mark_pending(table, "nb")  # a later successful rewrite supersedes P2's half write
    storage.clear_pending(table, p3)
    assert not storage.is_pending(table) and storage.exists(table)


def test_a_failed_earlier_writer_is_superseded_by_a_later_success(storage):
    table = storage.get_abs_path(storage.get_path_in_root_dir("t/B.parquet"))
    failed = storage.mark_pending(table, "nb")
    storage.abandon_pending(table, failed)  # failed: never cleared, its lease ended
    write_parquet_stub(str(local_path(storage, table)))
    assert not storage.exists(table)
    owner = storage.mark_pending(table, "nb")
    storage.clear_pending(table, owner)
    assert storage.exists(table) and not local_path(storage, storage.pending_marker(table)).exists()


def test_clearing_an_unknown_owner_clears_nobody(storage):
    table = storage.get_abs_path(storage.get_path_in_root_dir("t/C.parquet"))
    owner = storage.mark_pending(table, "nb")
    storage.clear_pending(table, "never-marked")
    assert storage.pending_owners(table) == [owner]


def test_a_legacy_single_file_marker_is_pending_and_superseded(tmp_path):
    storage = LocalStorage(tmp_path)
    table = str(tmp_path / "T.parquet")
    write_parquet_stub(table)
    Path(storage.pending_marker(table)).write_text("written by notebook old\n")
    assert storage.is_pending(table)
    owner = storage.mark_pending(table, "nb")
    storage.clear_pending(table, owner)
    assert storage.exists(table) and not Path(storage.pending_marker(table)).exists()


def test_a_legacy_empty_folder_marker_still_counts_as_pending(tmp_path):
    storage = LocalStorage(tmp_path)
    table = str(tmp_path / "T.parquet")
    write_parquet_stub(table)
    Path(storage.pending_marker(table)).mkdir()
    assert storage.is_pending(table) and not storage.exists(table)


def test_owner_names_are_checked(storage):
    from dtflw.errors import InvalidArgumentError

    table = storage.get_abs_path(storage.get_path_in_root_dir("t/D.parquet"))
    for bad in ("../x", "a/b", "", ".."):
        with pytest.raises(InvalidArgumentError, match="owner"):
            storage.mark_pending(table, "nb", owner=bad)
