"""Pending markers with leases: one live writer per table, dead writers superseded, renewals."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dtflw.errors import ConcurrentWriteError, InvalidArgumentError
from dtflw.storage.base import PENDING_SUFFIX, Storage, is_marker_name
from dtflw.storage.dbfs import DbfsStorage
from dtflw.storage.leases import held
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub


@pytest.fixture(params=["local", "dbutils"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "tables")
    return DbfsStorage(dbutils=FakeDbutils(fs_root=tmp_path / "dbfs"), root_dir="t")


def table_path(storage: Storage, name: str) -> str:
    return storage.get_abs_path(storage.get_path_in_root_dir(f"t/{name}.parquet"))


def local_path(storage: Storage, abs_path: str) -> Path:
    if isinstance(storage, LocalStorage):
        return Path(abs_path)
    return storage.dbutils.path_map.to_local(abs_path)  # type: ignore[no-any-return]


def write(storage: Storage, table: str) -> None:
    write_parquet_stub(str(local_path(storage, table)))


def test_names_stay_importable_from_base():
    assert PENDING_SUFFIX == "._dtflw_pending" and is_marker_name("T.parquet._dtflw_pending/")


def test_a_second_live_writer_fails_up_front_naming_the_first(storage):
    table = table_path(storage, "A")
    p1 = storage.mark_pending(table, "/Repos/p/ingest", owner="run-1.x", run_id="run-1")
    with pytest.raises(ConcurrentWriteError) as caught:
        storage.mark_pending(table, "/Repos/p/other", run_id="run-2")
    error = caught.value
    assert error.path == table and error.owner == p1 and error.marker == storage.pending_marker(table)
    assert "run-1" in str(error) and table in str(error) and storage.pending_marker(table) in str(error)
    if isinstance(storage, LocalStorage):  # file entries record the notebook (dbutils folders: once renewed)
        assert error.run_id == "run-1" and "'/Repos/p/ingest'" in str(error)
    assert storage.pending_owners(table) == [p1]  # the second writer left nothing behind


def test_the_earlier_live_writer_completes_after_the_later_one_failed(storage):
    table = table_path(storage, "B")
    p1 = storage.mark_pending(table, "nb")  # P1 starts and is still writing
    with pytest.raises(ConcurrentWriteError):
        storage.mark_pending(table, "nb")  # P2 fails before writing anything
    write(storage, table)
    assert not storage.exists(table)  # P1 still writing: pending
    storage.clear_pending(table, p1)
    assert storage.exists(table) and not storage.is_pending(table)
    assert not local_path(storage, storage.pending_marker(table)).exists()


def test_an_expired_writer_is_dead_and_the_next_success_clears_it(storage):
    table = table_path(storage, "C")
    storage.mark_pending(table, "nb", lease_seconds=0.05)  # killed: never renews, never clears
    write(storage, table)  # ... after writing half
    time.sleep(0.1)
    assert storage.is_pending(table) and not storage.exists(table)  # expired still means pending
    owner = storage.mark_pending(table, "nb")  # proceeds: the other writer is dead
    assert len(storage.pending_owners(table)) == 2
    storage.clear_pending(table, owner)
    assert storage.exists(table) and storage.pending_owners(table) == []
    assert not local_path(storage, storage.pending_marker(table)).exists()


def test_a_live_earlier_writer_is_never_cleared_by_a_later_one(storage):
    """The defect: a later writer's success removed a still-live earlier writer's entry."""
    table = table_path(storage, "D")
    p1 = storage.mark_pending(table, "nb", lease_seconds=0.05)
    time.sleep(0.1)  # P1 looks dead (a long pause) ...
    p2 = storage.mark_pending(table, "nb")
    storage.renew_pending(table, p1)  # ... but it was alive and renews
    write(storage, table)
    storage.clear_pending(table, p2)  # P2 finishes: P1's live entry stays
    assert storage.pending_owners(table) == [p1] and not storage.exists(table)
    storage.clear_pending(table, p1)
    assert storage.exists(table)


def test_a_later_writer_keeps_the_table_pending_when_an_earlier_one_finishes(storage):
    table = table_path(storage, "E")
    p1 = storage.mark_pending(table, "nb", lease_seconds=0.05)
    time.sleep(0.1)
    p2 = storage.mark_pending(table, "nb")
    write(storage, table)
    storage.clear_pending(table, p1)
    assert storage.pending_owners(table) == [p2] and not storage.exists(table)


def test_the_same_owner_may_mark_again(storage):
    table = table_path(storage, "F")
    owner = storage.mark_pending(table, "nb")
    assert storage.mark_pending(table, "nb", owner=owner) == owner
    write(storage, table)
    storage.clear_pending(table, owner)
    assert storage.exists(table)


def test_an_abandoned_writer_keeps_the_table_pending_but_lets_the_next_one_in(storage):
    table = table_path(storage, "G")
    failed = storage.mark_pending(table, "nb")
    write(storage, table)
    storage.abandon_pending(table, failed)
    assert storage.pending_owners(table) == [failed] and not storage.exists(table)
    owner = storage.mark_pending(table, "nb")
    storage.clear_pending(table, owner)
    assert storage.exists(table)


def test_leases_are_checked(storage):
    for bad in (0, -1, "5", True):
        with pytest.raises(InvalidArgumentError, match="lease_seconds"):
            storage.mark_pending(table_path(storage, "H"), "nb", lease_seconds=bad)


def test_pending_writers_describe_the_leases(tmp_path):
    storage = LocalStorage(tmp_path)
    table = str(tmp_path / "T.parquet")
    owner = storage.mark_pending(table, "nb", lease_seconds=30)
    (writer,) = storage.pending_writers(table)
    assert writer.owner == owner and writer.lease_seconds == 30 and writer.is_live()
    assert writer.expires == pytest.approx(time.time() + 30, abs=2)


# ---- held(): mark, renew while the body runs, clear ----------------------------------------------
def test_held_renews_the_lease_while_the_body_runs(storage):
    table = table_path(storage, "R")
    with held(storage, [table], "nb", lease_seconds=0.3) as owners:
        deadline = time.time() + 1.0  # three leases and more
        while time.time() < deadline:
            with pytest.raises(ConcurrentWriteError):
                storage.mark_pending(table, "other", lease_seconds=0.3)
            time.sleep(0.05)
        write(storage, table)
        assert storage.pending_owners(table) == [owners[table]]
    assert storage.exists(table) and not storage.is_pending(table)
    assert not local_path(storage, storage.pending_marker(table)).exists()


def test_an_exception_in_the_body_leaves_the_outputs_pending(storage):
    a, b = table_path(storage, "X"), table_path(storage, "Y")
    with pytest.raises(RuntimeError, match="died"), held(storage, [a, b], "nb", lease_seconds=60):
        write(storage, a)
        raise RuntimeError("died halfway")
    assert storage.is_pending(a) and storage.is_pending(b) and not storage.exists(a)
    with held(storage, [a, b], "nb"):  # the failed writer is dead now: a rerun proceeds at once
        write(storage, b)
    assert storage.exists(a) and storage.exists(b)


def test_a_conflict_on_one_output_withdraws_the_others(storage):
    a, b = table_path(storage, "P"), table_path(storage, "Q")
    other = storage.mark_pending(b, "nb")
    ran = False
    with pytest.raises(ConcurrentWriteError), held(storage, [a, b], "nb"):
        ran = True
    assert not ran and not storage.is_pending(a) and storage.pending_owners(b) == [other]


def test_held_starts_at_most_one_renewer_thread(storage):
    tables = [table_path(storage, f"T{n}") for n in range(20)]

    def run(table: str) -> None:
        with held(storage, [table], "nb", lease_seconds=0.03):
            time.sleep(0.05)

    threads = [threading.Thread(target=run, args=(t,)) for t in tables]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [t.name for t in threading.enumerate()].count("dtflw-lease-renewer") <= 1
    assert not any(storage.is_pending(t) for t in tables)


def test_concurrent_writers_through_held_never_both_write(tmp_path):
    storage = LocalStorage(tmp_path)
    table = str(tmp_path / "T.parquet")
    writing: list[int] = []
    overlaps: list[int] = []
    barrier = threading.Barrier(8)

    def run(n: int) -> None:
        barrier.wait(timeout=10)
        try:
            with held(storage, [table], f"nb{n}"):
                writing.append(n)
                if len(writing) > 1:
                    overlaps.append(n)
                time.sleep(0.02)
                writing.remove(n)
        except ConcurrentWriteError:
            pass

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlaps and not storage.is_pending(table)


# ---- cost: storage calls per mark and clear -------------------------------------------------------
class Counting(LocalStorage):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    def _stat(self, path):  # type: ignore[no-untyped-def]
        self.calls.append("stat")
        return super()._stat(path)

    def _list_dir(self, path):  # type: ignore[no-untyped-def]
        self.calls.append("list")
        return super()._list_dir(path)

    def _create_marker(self, path, text):  # type: ignore[no-untyped-def]
        self.calls.append("create")
        super()._create_marker(path, text)

    def _delete(self, path, recurse=False):  # type: ignore[no-untyped-def]
        self.calls.append("delete")
        super()._delete(path, recurse)

    def _remove_empty_dir(self, path):  # type: ignore[no-untyped-def]
        self.calls.append("rmdir")
        super()._remove_empty_dir(path)


def test_on_local_disk_a_marker_is_one_locked_file_and_no_folder(tmp_path):
    """mkdir/rmdir per output cost ~400 µs on a journaling disk: local markers are one file."""
    storage = Counting(tmp_path)
    table = str(tmp_path / "T.parquet")
    first = storage.mark_pending(table, "nb", lease_seconds=0.01)
    time.sleep(0.02)
    second = storage.mark_pending(table, "nb")
    marker = Path(storage.pending_marker(table))
    assert marker.is_file() and storage.pending_owners(table) == [first, second]
    assert storage.calls == []  # none of the generic protocol's listings, entries or folders
    storage.clear_pending(table, second)
    assert not marker.exists() and storage.calls == []


def test_a_legacy_file_marker_is_superseded(tmp_path):
    storage = LocalStorage(tmp_path)
    table = str(tmp_path / "T.parquet")
    write_parquet_stub(table)
    Path(storage.pending_marker(table)).write_text("written by notebook old\n")
    assert storage.pending_owners(table) == [] and not storage.exists(table)
    owner = storage.mark_pending(table, "nb")
    storage.clear_pending(table, owner)
    assert storage.exists(table) and not Path(storage.pending_marker(table)).exists()


_STAMPED = '{"format": "dtflw-pending/1", "writers": [{"entry": "e", "owner": "o", "stamp": %s, "lease_ms": 1000, '
_STAMPED += '"tag": "", "notebook": "", "run_id": null, "renewed_ms": 0}]}'


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b'{"format": "dtflw-pending/1", "writers": [{"ent',
        b"\x00\xff" * 8,
        b"[" * 200_000,  # nested past the JSON decoder's recursion limit
        (_STAMPED % "Infinity").encode(),
        (_STAMPED % "1e300").encode(),
        (_STAMPED % "-5").encode(),
    ],
)
def test_a_marker_file_cut_short_by_a_crash_stays_pending_until_the_next_success(tmp_path, content):
    storage = LocalStorage(tmp_path)
    table = str(tmp_path / "T.parquet")
    write_parquet_stub(table)
    Path(storage.pending_marker(table)).write_bytes(content)  # the writer died while updating it
    assert storage.is_pending(table) and not storage.exists(table) and storage.pending_writers(table) == []
    owner = storage.mark_pending(table, "nb")  # no live writer recorded: proceeds
    assert storage.pending_owners(table) == [owner]
    storage.clear_pending(table, owner)
    assert storage.exists(table)


def test_a_marker_folder_on_local_disk_is_handled_by_the_generic_protocol(tmp_path):
    storage = LocalStorage(tmp_path)
    table = str(tmp_path / "T.parquet")
    write_parquet_stub(table)
    Path(storage.pending_marker(table)).mkdir()  # left by an earlier release
    owner = storage.mark_pending(table, "nb")
    assert storage.pending_owners(table) == [owner] and Path(storage.pending_marker(table)).is_dir()
    with pytest.raises(ConcurrentWriteError):
        storage.mark_pending(table, "other")
    storage.clear_pending(table, owner)
    assert storage.exists(table) and not Path(storage.pending_marker(table)).exists()


def test_abandoning_and_withdrawing_through_a_local_marker_folder_use_the_folder(tmp_path):
    storage = LocalStorage(tmp_path)
    a, b = str(tmp_path / "A.parquet"), str(tmp_path / "B.parquet")
    Path(storage.pending_marker(a)).mkdir()  # folders left by an earlier release
    Path(storage.pending_marker(b)).mkdir()
    failed = storage.mark_pending(a, "nb")
    storage.abandon_pending(a, failed)  # the writer failed: pending, but dead at once
    (writer,) = storage.pending_writers(a)
    assert writer.owner == failed and not writer.is_live()
    other = storage.mark_pending(b, "other")
    with pytest.raises(ConcurrentWriteError), held(storage, [a, b], "nb"):
        pass  # a is taken (its writer is dead), b conflicts: a's new mark is withdrawn again
    assert storage.pending_owners(a) == [failed] and storage.pending_owners(b) == [other]


def test_writers_in_separate_processes_never_both_hold_a_table(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import sys, time
        from dtflw.errors import ConcurrentWriteError
        from dtflw.storage.leases import held
        from dtflw.storage.local import LocalStorage

        storage = LocalStorage({str(tmp_path)!r})
        table = storage.get_abs_path("T.parquet")
        wins = 0
        deadline = time.time() + 1.5
        while time.time() < deadline:
            try:
                with held(storage, [table], "/nb" + sys.argv[1]):
                    with open({str(tmp_path / "log")!r}, "a") as log:
                        log.write("+" + sys.argv[1] + "\\n")
                    time.sleep(0.002)
                    with open({str(tmp_path / "log")!r}, "a") as log:
                        log.write("-" + sys.argv[1] + "\\n")
                    wins += 1
            except ConcurrentWriteError:
                pass
        print(wins)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(n)], stdout=subprocess.PIPE, text=True) for n in range(3)
    ]
    wins = [int(p.communicate(timeout=60)[0]) for p in procs]
    lines = (tmp_path / "log").read_text().split()
    assert sum(wins) == len(lines) // 2 > 0
    for start, end in zip(lines[::2], lines[1::2]):  # never two holders at once: strictly alternating
        assert start[0] == "+" and end == "-" + start[1:]
    assert not LocalStorage(tmp_path).is_pending(str(tmp_path / "T.parquet"))


def test_a_nested_flow_inside_the_holding_notebook_is_no_rival(storage):
    """A driver notebook's caller marks its outputs; its own flow then writes them."""
    table = table_path(storage, "N")
    parent = storage.mark_pending(table, "/Repos/p/gold/main")
    with pytest.raises(ConcurrentWriteError):
        storage.mark_pending(table, "/Repos/p/gold/revenue", inside="/Repos/p/other")
    child = storage.mark_pending(table, "/Repos/p/gold/revenue", inside="/Repos/p/gold/main")
    write(storage, table)
    storage.clear_pending(table, child)
    assert storage.pending_owners(table) == [parent]  # the caller still holds it until it validated
    storage.clear_pending(table, parent)
    assert storage.exists(table)


def test_leases_still_held_when_the_process_exits_are_ended_and_the_output_stays_pending(tmp_path):
    import subprocess
    import sys
    import textwrap

    root = tmp_path / "tables"
    script = textwrap.dedent(
        f"""
        import threading, time
        from dtflw.storage.local import LocalStorage
        from dtflw.storage.leases import held

        storage = LocalStorage({str(root)!r})
        ready = threading.Event()

        def writer():  # a notebook still writing when the process ends (a second Ctrl-C)
            with held(storage, [storage.get_abs_path("T.parquet")], "/nb", lease_seconds=300):
                ready.set()
                time.sleep(60)

        threading.Thread(target=writer, daemon=True).start()
        ready.wait()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    storage = LocalStorage(root)
    path = storage.get_abs_path("T.parquet")
    assert storage.is_pending(path)
    (writer,) = storage.pending_writers(path)
    assert not writer.is_live()  # the next run need not wait 300 s for the dead writer's lease


def _hold_in_child(root: Path, hold: str, lease: float = 300):
    """A child process marking T.parquet pending under `root`, then `hold`ing: "sleep" (alive
    until killed) or "kill" (kill -9 itself while holding). Returns the running Popen."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import os, signal, sys, time
        from dtflw.storage.local import LocalStorage
        from dtflw.storage.leases import held

        storage = LocalStorage({str(root)!r})
        with held(storage, [storage.get_abs_path("T.parquet")], "/nb", lease_seconds={lease}):
            sys.stdout.write("held\\n")
            sys.stdout.flush()
            if {hold!r} == "kill":
                os.kill(os.getpid(), signal.SIGKILL)  # dies outright: no atexit, no clean-up
            time.sleep(120)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="processes are named through /proc")
def test_a_writer_killed_outright_on_this_machine_stops_blocking_at_once(tmp_path):
    root = tmp_path / "tables"
    child = _hold_in_child(root, "kill")
    child.wait(timeout=60)
    storage = LocalStorage(root)
    path = storage.get_abs_path("T.parquet")
    (writer,) = storage.pending_writers(path)
    assert writer.process is not None and writer.expires > time.time() + 200  # its lease has not run out
    assert not writer.is_live()
    assert storage.is_pending(path)  # still half written: pending until the next success
    owner = storage.mark_pending(path, "/nb2")  # no ConcurrentWriteError from the dead writer
    write(storage, path)
    storage.clear_pending(path, owner)
    assert storage.exists(path) and not storage.is_pending(path)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="processes are named through /proc")
def test_a_live_writer_in_another_process_still_blocks(tmp_path):
    root = tmp_path / "tables"
    child = _hold_in_child(root, "sleep")
    try:
        storage = LocalStorage(root)
        path = storage.get_abs_path("T.parquet")
        with pytest.raises(ConcurrentWriteError):
            storage.mark_pending(path, "/nb2")
    finally:
        child.kill()
        child.wait(timeout=60)
    assert storage.mark_pending(path, "/nb2")  # gone now, without waiting 300 s


def test_only_a_certainly_gone_process_counts_as_dead():
    from dtflw.storage import processes
    from dtflw.storage.marker_entries import PendingWriter

    me = processes.this_process()
    if me is None:
        pytest.skip("processes are named through /proc")
    boot, namespace, pid, start = me.split(":")
    assert not processes.is_gone(me)
    assert processes.is_gone(f"{boot}:{namespace}:{pid}:{int(start) + 1}")  # the PID was reused
    assert not processes.is_gone(f"another-boot:{namespace}:{pid}:{int(start) + 1}")  # unknown: the lease decides
    assert not processes.is_gone(f"{boot}:1:{pid}:{int(start) + 1}")  # another PID namespace
    for odd in ("", "garbage", "a:b:c:d", None):
        assert not processes.is_gone(odd)
    stamp = time.time_ns()
    writer = PendingWriter("e", "o", stamp, lease_seconds=60, process=f"{boot}:{namespace}:{pid}:{int(start) + 1}")
    assert not writer.is_live()
    assert PendingWriter("e", "o", stamp, lease_seconds=60, process=me).is_live()
    assert not PendingWriter("e", "o", stamp, lease_seconds=0.0, process=me).is_live()  # an ended lease


def test_a_marker_file_records_the_writing_process(tmp_path):
    import json

    from dtflw.storage import processes

    storage = LocalStorage(tmp_path)
    path = storage.get_abs_path("T.parquet")
    owner = storage.mark_pending(path, "/nb")
    (entry,) = json.loads(Path(path + PENDING_SUFFIX).read_text())["writers"]
    assert entry.get("process") == processes.this_process()
    storage.renew_pending(path, owner)
    (writer,) = storage.pending_writers(path)
    assert writer.process == processes.this_process()


def test_a_marker_that_cannot_be_created_is_a_storage_error_naming_it(tmp_path):
    from dtflw.errors import StorageError

    (tmp_path / "plain-file").write_text("not a folder")
    storage = LocalStorage(tmp_path / "plain-file" / "root")  # no folder can be made below a file
    path = storage.get_abs_path("T.parquet")
    with pytest.raises(StorageError, match="T.parquet._dtflw_pending"):
        storage.mark_pending(path, "/nb")


def _stalled(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    """Renewals fail from now on, so leases run out as in a paused (SIGSTOP, suspended) process."""
    from dtflw.errors import StorageError

    def unreachable(self: Any, path: str, owner: str) -> None:
        raise StorageError("storage unreachable")

    monkeypatch.setattr(type(storage), "renew_pending", unreachable)


@pytest.mark.parametrize("rival_finishes", [True, False])
def test_a_writer_whose_lease_ran_out_and_was_taken_over_fails_and_leaves_the_output_pending(
    storage, monkeypatch, rival_finishes
):
    from dtflw.errors import HoldLostError

    table = table_path(storage, "T")
    _stalled(storage, monkeypatch)
    with pytest.raises(HoldLostError, match="taken over") as info:
        with held(storage, [table], "/nb/paused", lease_seconds=0.3, run_id="paused-run"):
            time.sleep(0.5)  # paused past its lease: the next writer may take over
            rival = storage.mark_pending(table, "/nb/rival", lease_seconds=60, run_id="rival-run")
            write(storage, table)
            if rival_finishes:
                storage.clear_pending(table, rival)
            write(storage, table)  # the paused writer resumes and writes over the rival's table
    assert info.value.paused >= 0.3
    if not rival_finishes:
        assert info.value.owner == rival  # the writer that took over is named
        storage.clear_pending(table, rival)  # the rival finishes after all
    assert storage.is_pending(table) and not storage.exists(table)  # never trusted: re-run it
    owner = storage.mark_pending(table, "/nb/next")  # the next writer may start at once
    write(storage, table)
    storage.clear_pending(table, owner)
    assert storage.exists(table)


def test_a_writer_held_throughout_is_not_checked_again(storage, monkeypatch):
    table = table_path(storage, "T")
    calls = []
    real = type(storage).pending_writers
    monkeypatch.setattr(type(storage), "pending_writers", lambda self, p: calls.append(p) or real(self, p))
    with held(storage, [table], "/nb", lease_seconds=60):
        write(storage, table)
    assert storage.exists(table) and calls == []  # the common path costs nothing extra


def test_a_vanished_entry_is_never_recreated_by_renewal(storage):
    from dtflw.storage.marker_entries import EntryVanishedError

    table = table_path(storage, "T")
    owner = storage.mark_pending(table, "/nb", lease_seconds=0.2)
    time.sleep(0.3)
    rival = storage.mark_pending(table, "/nb/rival")  # took over the dead writer's output...
    write(storage, table)
    storage.clear_pending(table, rival)  # ...and finished: the dead entry went with it
    with pytest.raises(EntryVanishedError):
        storage.renew_pending(table, owner)
    assert storage.exists(table)


def test_a_writer_renewing_after_its_lease_lapsed_and_was_taken_over_steps_back_at_once(storage, monkeypatch):
    from dtflw.errors import HoldLostError, StorageError

    table = table_path(storage, "T")
    real_renew = type(storage).renew_pending
    stalled = threading.Event()
    stalled.set()

    def renew(self: Any, path: str, owner: str) -> None:  # fails while "paused", then works again
        if stalled.is_set():
            raise StorageError("paused")
        real_renew(self, path, owner)

    monkeypatch.setattr(type(storage), "renew_pending", renew)
    with pytest.raises(HoldLostError):
        with held(storage, [table], "/nb/paused", lease_seconds=0.3):
            time.sleep(0.4)  # the lease lapsed: a rival takes over and is still writing
            rival = storage.mark_pending(table, "/nb/rival", lease_seconds=60)
            stalled.clear()  # the paused process resumes: its renewer runs again...
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and storage.pending_writers(table)[-1].owner == rival:
                time.sleep(0.02)
            # ...and, seeing the rival, marks the output pending again at once, stamped after it
            writers = storage.pending_writers(table)  # oldest first
            assert [w.owner for w in writers].count(rival) == 1 and writers[-1].owner != rival
            assert not writers[-1].is_live()  # an ended entry: it no longer claims the output
            write(storage, table)
    storage.clear_pending(table, rival)  # the rival succeeds...
    assert storage.is_pending(table) and not storage.exists(table)  # ...but both wrote: pending


def test_an_ended_lease_is_dead_whatever_its_clock_says():
    from dtflw.storage.marker_entries import PendingWriter

    future = time.time_ns() + 3600 * 10**9  # written by a machine whose clock runs an hour ahead
    assert not PendingWriter("e", "o", future, lease_seconds=0.0, renewed_ms=future // 10**6).is_live()
    assert PendingWriter("e", "o", future, lease_seconds=60.0).is_live()  # a live lease from the future: live
