"""What keeps large runs cheap: decisions made before the workers start, one existence check of
all outputs, no second look at what the run just wrote, and the collector kept off old objects."""

from __future__ import annotations

import gc
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from dtflw import init_flow
from dtflw.errors import FlowRunError
from dtflw.logger import Logger, LoggerBase, is_silent
from dtflw.run.heap import older_objects_frozen
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub
from tests.concurrency_probe import Concurrency


class CountingStorage(LocalStorage):
    """Counts the existence questions dtflw asks, and which thread asks them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[tuple[str, str]] = []  # (path, thread) of "is it there, complete?"
        self.validated: list[str] = []  # "did the notebook write it?" (pending ignored)
        self.batches: list[list[str]] = []

    def table_exists(self, path: str, ignore_pending: bool = False) -> bool:
        if ignore_pending:
            self.validated.append(path)
        else:
            self.asked.append((path, threading.current_thread().name))
        return super().table_exists(path, ignore_pending)

    def tables_exist(self, paths, max_workers=8):  # type: ignore[no-untyped-def]
        self.batches.append(list(paths))
        return super().tables_exist(paths, max_workers)


def writer(args: dict[str, str]) -> None:
    for key, value in args.items():
        if key.endswith("_out"):
            write_parquet_stub(value)


def chain(tmp_path: Path, names: list[str], hooks: dict[str, list[str]] | None = None):
    storage = CountingStorage(tmp_path / "tables")
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    for name in names:
        dbutils.notebook.register(name, writer)
    flow = init_flow(storage, dbutils=dbutils, logger=Logger("silent"), name="chain")
    if hooks is not None:
        flow.on("notebook_start", lambda e: hooks.setdefault(threading.current_thread().name, []).append(e.notebook))
    previous = None
    for name in names:
        nb = flow.notebook(name).output(f"{name.upper()}")
        if previous:
            nb.input(previous.upper())
        nb.add()
        previous = name
    return flow, storage, dbutils


def test_a_no_op_lazy_run_decides_everything_before_any_worker_starts(tmp_path):
    names = ["a", "b", "c", "d"]
    flow, storage, _ = chain(tmp_path, names)
    flow.run()
    threads: dict[str, list[str]] = {}
    again, storage, _ = chain(tmp_path, names, hooks=threads)
    result = again.run(max_workers=4, lazy=True)
    assert [r.status for r in result] == ["skipped"] * 4
    assert list(threads) == [threading.current_thread().name]  # no worker thread took a notebook
    assert storage.batches == [[again[n.upper()] for n in names]]  # every output checked in one go
    assert storage.asked == []  # ... and never again one by one


def test_notebooks_downstream_of_one_that_runs_are_decided_by_the_workers(tmp_path):
    names = ["a", "b", "c"]
    flow, _, _ = chain(tmp_path, names)
    flow.run()
    shutil.rmtree(flow["B"])  # b must run again; c waits for it
    threads: dict[str, list[str]] = {}
    again, storage, dbutils = chain(tmp_path, names, hooks=threads)
    result = again.run(max_workers=2, lazy=True)
    assert {r.notebook: r.status for r in result} == {"a": "skipped", "b": "succeeded", "c": "skipped"}
    me = threading.current_thread().name
    assert threads[me] == ["a"] and sorted(n for t, ns in threads.items() if t != me for n in ns) == ["b", "c"]
    assert [c.path for c in dbutils.notebook.calls] == ["b"]
    # b's "run" was decided ahead and kept: its output was asked about once, in the batch
    assert [p for p, _ in storage.asked if p == again["B"]] == []
    # before b runs its input is checked (a skipped notebook wrote nothing in this run); c was
    # decided after b ran, by a worker: its output looked up alone, its input (b's output) not at all
    assert [p for p, t in storage.asked] == [again["A"], again["C"]]
    assert all(t != me for _, t in storage.asked)


def test_a_skip_that_fails_ahead_blocks_its_readers(tmp_path, monkeypatch):
    names = ["a", "b"]
    flow, _, _ = chain(tmp_path, names)
    flow.run()
    again, _, _ = chain(tmp_path, names)
    import dtflw.run.scheduler as scheduler

    def broken(ctx, spec, strict, known_present=False):  # the columns of a's output no longer match
        if spec.path == "a":
            raise ValueError("columns changed")

    monkeypatch.setattr(scheduler, "validate_outputs", broken)
    with pytest.raises(FlowRunError) as caught:
        again.run(lazy=True)
    statuses = {r.notebook: r.status for r in caught.value.result}
    assert statuses == {"a": "failed", "b": "upstream_failed"}


def test_readers_take_what_the_run_wrote_without_looking_again(tmp_path):
    flow, storage, _ = chain(tmp_path, ["a", "b", "c"])
    result = flow.run()
    assert result.ok
    assert storage.asked == []  # internal inputs were written and validated moments before
    assert storage.validated == [flow["A"], flow["B"], flow["C"]]  # each notebook's own output, once
    records = [json.loads(line) for f in sorted(Path(storage.root, "_dtflw/history").glob("*/*.jsonl")) for line in
               f.read_text().splitlines()]  # fmt: skip
    by_key = {r["notebook"].rsplit("/", 1)[-1]: r for r in records}
    assert by_key["b"]["inputs"][0]["version"] == by_key["a"]["outputs"][0]["version"] == storage.version(flow["A"])
    assert by_key["c"]["inputs"][0]["version"] == by_key["b"]["outputs"][0]["version"] is not None


def test_an_input_the_run_wrote_that_another_run_started_rewriting_is_not_handed_on(tmp_path):
    from dtflw.errors import MissingInputError

    flow, storage, dbutils = chain(tmp_path, ["a", "b"])
    rival = []  # another run starts rewriting A once a finished

    def after(event: Any) -> None:
        if event.notebook.endswith("a") and not rival:
            rival.append(storage.mark_pending(storage.get_abs_path("project/a/A.parquet"), "/other/run"))

    flow.on("notebook_end", after)
    with pytest.raises(FlowRunError) as info:
        flow.run()
    assert isinstance(info.value.result["b"].error, str) and "still being written" in info.value.result["b"].error
    assert MissingInputError.__name__ in info.value.result["b"].error


def test_an_input_someone_else_wrote_is_still_checked(tmp_path):
    storage = CountingStorage(tmp_path / "tables")
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.notebook.register("b", writer)
    flow = init_flow(storage, dbutils=dbutils, logger=Logger("silent"), name="outside")
    write_parquet_stub(storage.get_abs_path("raw/A.parquet"))
    flow.notebook("b").input("A", file_path="raw/A.parquet").output("B").add()
    flow.run()
    assert storage.get_abs_path("raw/A.parquet") in [p for p, _ in storage.asked]


# ---- tables_exist -------------------------------------------------------------------------------
def test_tables_exist_answers_as_table_exists_does(tmp_path):
    storage = LocalStorage(tmp_path)
    write_parquet_stub(str(tmp_path / "file.parquet"))
    (tmp_path / "folder.parquet").mkdir()
    write_parquet_stub(str(tmp_path / "folder.parquet" / "part-0.parquet"))
    (tmp_path / "empty.parquet").mkdir()
    (tmp_path / "only_meta.parquet").mkdir()
    (tmp_path / "only_meta.parquet" / "_committed").write_text("")
    write_parquet_stub(str(tmp_path / "pending.parquet"))
    owner = storage.mark_pending(str(tmp_path / "pending.parquet"), "nb")
    (tmp_path / "file.parquet.txt").write_text("")
    paths = [str(tmp_path / n) for n in ("file.parquet", "folder.parquet", "empty.parquet", "only_meta.parquet",
                                         "pending.parquet", "missing.parquet", "file.parquet.txt/x")]  # fmt: skip
    paths.append("file.parquet")  # relative: the general route
    expected = [True, True, False, False, False, False, False, True]
    assert [storage.table_exists(p) for p in paths] == expected
    assert storage.tables_exist(paths) == expected
    storage.clear_pending(str(tmp_path / "pending.parquet"), owner)
    assert storage.tables_exist([str(tmp_path / "pending.parquet")]) == [True]


def test_tables_exist_honours_a_subclass_that_decides_existence(tmp_path):
    class Nothing(LocalStorage):
        def exists(self, path):  # type: ignore[no-untyped-def, override]  # a 0.6.x-style override
            return False

    storage = Nothing(tmp_path)
    write_parquet_stub(str(tmp_path / "T.parquet"))
    assert storage.tables_exist([str(tmp_path / "T.parquet")]) == [False]

    class Strict(LocalStorage):  # a stricter completeness rule
        def _table_is_complete(self, abs_path: str) -> bool:
            return False

    assert Strict(tmp_path).tables_exist([str(tmp_path / "T.parquet")]) == [False]
    assert LocalStorage(tmp_path).tables_exist([str(tmp_path / "T.parquet")]) == [True]


def test_a_remote_storage_is_asked_several_questions_at_a_time(tmp_path):
    probe = Concurrency(pause=0.05)

    class Slow(LocalStorage):  # a round trip per question, as on Azure
        def exists(self, path, ignore_pending=False):  # type: ignore[no-untyped-def]
            with probe:
                pass
            if path.endswith("bad"):
                raise OSError("connection reset")
            return path.endswith("yes")

    storage = Slow(tmp_path)
    paths = [str(tmp_path / f"T{n}.{'yes' if n % 2 else 'no'}") for n in range(8)]
    assert storage.tables_exist(paths, max_workers=4) == [n % 2 == 1 for n in range(8)]  # in order
    assert 2 <= probe.peak <= 4
    probe.peak = 0
    assert storage.tables_exist(paths, max_workers=1) == [n % 2 == 1 for n in range(8)]
    assert probe.peak == 1
    with pytest.raises(OSError, match="connection reset"):
        storage.tables_exist([*paths, str(tmp_path / "T.bad")], max_workers=4)


# ---- the collector ------------------------------------------------------------------------------
def test_objects_older_than_a_run_are_frozen_during_it_and_thawed_after():
    assert gc.get_freeze_count() == 0
    with older_objects_frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_nothing_is_frozen_when_the_process_froze_objects_itself_or_turned_the_collector_off(monkeypatch):
    calls: list[str] = []
    real_freeze, real_unfreeze = gc.freeze, gc.unfreeze
    gc.freeze()
    try:
        # counted by calls, not by gc.get_freeze_count(): other threads may free frozen objects
        monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze") or real_freeze())
        monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze") or real_unfreeze())
        with older_objects_frozen():
            pass
        assert calls == []  # the process's own freeze stays as it was
    finally:
        monkeypatch.undo()
        gc.unfreeze()
    gc.disable()
    try:
        with older_objects_frozen():
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_a_flow_run_leaves_nothing_frozen_even_when_it_fails(tmp_path):
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.notebook.register("bad", lambda args: 1 / 0)
    flow = init_flow(LocalStorage(tmp_path / "t"), dbutils=dbutils, logger=Logger("silent"))
    flow.notebook("bad").add()
    with pytest.raises(FlowRunError):
        flow.run()
    assert gc.get_freeze_count() == 0


# ---- lines nobody reads are not built -----------------------------------------------------------
def test_only_dtflws_own_logger_at_silent_counts_as_silent():
    class Printing(LoggerBase):
        def log(self, msg: str) -> None:
            print(msg)

    assert is_silent(Logger("silent")) and not is_silent(Logger("default"))
    assert not is_silent(Printing("silent"))  # a 0.6.x-style logger writes what it is given


def test_when_checking_all_outputs_at_once_fails_each_notebook_is_decided_on_its_own(tmp_path):
    names = ["a", "b"]
    flow, _, _ = chain(tmp_path, names)
    flow.run()
    again, storage, _ = chain(tmp_path, names)

    def unavailable(paths, max_workers=8):  # type: ignore[no-untyped-def]
        raise OSError("throttled")

    storage.tables_exist = unavailable  # type: ignore[method-assign]
    result = again.run(lazy=True)
    assert [r.status for r in result] == ["skipped", "skipped"]
    assert sorted(p for p, _ in storage.asked) == sorted([again["A"], again["B"]])


def test_a_plan_asks_about_all_outputs_in_one_go(tmp_path):
    names = ["a", "b", "c"]
    flow, _, _ = chain(tmp_path, names)
    flow.run()
    again, storage, _ = chain(tmp_path, names)
    plan = again.plan(lazy=True)
    assert not plan.to_run and storage.batches == [[flow[n.upper()] for n in names]] and storage.asked == []
