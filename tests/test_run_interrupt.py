"""Ctrl-C during flow.run(): a real SIGINT to this process while notebooks run on FakeDbutils."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from dtflw import init_flow
from dtflw.errors import FlowInterrupted
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub


def ctrl_c(after: float = 0.0) -> None:
    """Deliver SIGINT to this process (the main thread gets KeyboardInterrupt), as a terminal does."""
    time.sleep(after)
    os.kill(os.getpid(), signal.SIGINT)


def writer(calls: list[str], name: str, seconds: float = 0.0, interrupts: tuple[float, ...] = ()):
    def run(args: dict[str, str]) -> str:
        calls.append(name)
        for delay in interrupts:
            threading.Thread(target=ctrl_c, args=(delay,), daemon=True).start()
        time.sleep(seconds)
        for key, value in args.items():
            if key.endswith("_out"):
                write_parquet_stub(value)
        return name

    return run


def chain(tmp_path: Path, calls: list[str], first_interrupts: tuple[float, ...], first_seconds: float):
    """first -> second -> third, on FakeDbutils and local storage."""
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    storage = LocalStorage(tmp_path / "tables")
    dbutils.notebook.register("first", writer(calls, "first", first_seconds, first_interrupts))
    for name in ("second", "third"):
        dbutils.notebook.register(name, writer(calls, name))
    flow = init_flow(storage, dbutils=dbutils, name="interrupted")
    flow.notebook("first").output("A").add()
    flow.notebook("second").input("A").output("B").add()
    flow.notebook("third").input("B").output("C").add()
    return flow, storage


def test_first_ctrl_c_lets_running_notebooks_finish_starts_nothing_and_can_resume(tmp_path):
    calls: list[str] = []
    flow, storage = chain(tmp_path, calls, first_interrupts=(0.05,), first_seconds=0.4)
    with pytest.raises(FlowInterrupted) as info:
        flow.run(max_workers=2)
    result = info.value.result
    assert calls == ["first"]  # nothing started after the Ctrl-C
    assert [(r.notebook, r.status.value) for r in result] == [
        ("first", "succeeded"),  # it was running: waited for
        ("second", "cancelled"),
        ("third", "cancelled"),
    ]
    message = str(info.value)
    assert result.run_id in message and f"resume='{result.run_id}'" in message and "1 succeeded" in message
    assert not isinstance(info.value, Exception)  # `except Exception` never swallows a Ctrl-C
    statuses = {r.key: r.status.value for r in flow.history(result.run_id)}
    assert statuses == {"project__first": "succeeded", "project__second": "cancelled", "project__third": "cancelled"}

    again, _ = chain(tmp_path, calls, first_interrupts=(), first_seconds=0.0)
    calls.clear()
    resumed = again.run(resume=result.run_id)
    assert calls == ["second", "third"] and resumed.ok


def test_second_ctrl_c_stops_waiting_and_the_running_notebooks_output_stays_pending(tmp_path):
    calls: list[str] = []
    flow, storage = chain(tmp_path, calls, first_interrupts=(0.05, 0.3), first_seconds=1.5)
    started = time.monotonic()
    with pytest.raises(FlowInterrupted) as info:
        flow.run()
    assert time.monotonic() - started < 1.2  # did not wait for the 1.5 s notebook
    first = info.value.result["first"]
    assert first.status.value == "cancelled" and "outputs stay pending" in first.reason
    assert storage.is_pending(storage.derive_table_path("project/first", "A"))
    time.sleep(1.5)  # the abandoned notebook thread ends; nothing else runs
    assert calls == ["first"]


def test_first_ctrl_c_stops_local_runtime_notebooks_before_their_next_cell(tmp_path):
    from dtflw.local.runtime import LocalRuntime

    project = tmp_path / "proj"
    project.mkdir()
    ran_second_cell = tmp_path / "second-cell-ran"
    header, sep = "# Databricks notebook source\n", "\n# COMMAND ----------\n"
    (project / "slow.py").write_text(
        header
        + "import os, signal, threading, time\n"
        + "threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
        + "time.sleep(0.6)\n"
        + sep
        + f"open({str(ran_second_cell)!r}, 'w').write('x')\n"
    )
    (project / "after.py").write_text(header + "print('after')\n")
    (project / "driver.py").write_text(
        header
        + "from dtflw import init_flow\nfrom dtflw.storage.local import LocalStorage\n"
        + f"flow = init_flow(LocalStorage({str(tmp_path / 'tables')!r}), name='cancel')\n"
        + "flow.notebook('slow').output('A').add()\n"
        + "flow.notebook('after').input('A').add()\n"
        + "flow.run()\n"
    )
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    with pytest.raises(FlowInterrupted) as info:
        runtime.run_notebook(project / "driver.py")
    assert not ran_second_cell.exists()
    statuses = {r.notebook: (r.status.value, r.reason) for r in info.value.result}
    assert statuses["slow"][0] == "cancelled" and "outputs stay pending" in statuses["slow"][1]
    assert statuses["after"] == ("cancelled", "run interrupted")


def test_a_failure_inside_the_scheduler_itself_is_raised_not_a_hang():
    from dtflw.run.workers import DagWorkers

    def finish(node: int, result: str) -> None:
        raise ValueError("bug in a finish callback")

    workers = DagWorkers(
        [0, 1],
        {0: frozenset(), 1: frozenset({0})},
        {0: [1]},
        2,
        run=lambda node: f"ran {node}",
        settle=lambda node: None,
        finish=finish,
        crashed=lambda node, error: "crashed",
    )
    with pytest.raises(RuntimeError, match="scheduler failed") as info:
        workers.run_all(lambda running: None)
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="processes are named through /proc")
def test_a_run_killed_outright_is_rerun_at_once_and_its_half_output_is_not_trusted(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from dtflw import init_flow, Logger
        from dtflw.storage.local import LocalStorage
        from dtflw.testing import FakeDbutils, write_parquet_stub

        def half_write(args):  # its output looks whole, but the process is killed -9 before it ends
            write_parquet_stub(args["T_out"])
            os.kill(os.getpid(), signal.SIGKILL)

        dbutils = FakeDbutils(fs_root={str(tmp_path / "dbfs")!r})
        dbutils.notebook.register("a", half_write)
        flow = init_flow(LocalStorage({str(tmp_path / "tables")!r}), dbutils=dbutils, logger=Logger("silent"))
        flow.notebook("a").output("T").add()
        flow.run()
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    calls: list[str] = []
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.notebook.register("a", writer(calls, "a"))
    flow = init_flow(LocalStorage(tmp_path / "tables"), dbutils=dbutils)
    flow.notebook("a").output("T").add()
    started = time.monotonic()
    result = flow.run(lazy=True)  # the dead run's lease (120 s) has not run out
    assert [r.status for r in result] == ["succeeded"] and calls == ["a"]
    assert time.monotonic() - started < 30


def test_after_the_first_ctrl_c_a_failing_notebook_is_not_retried(tmp_path):
    calls: list[str] = []

    def flaky(args: dict[str, str]) -> None:
        calls.append("flaky")
        if len(calls) == 1:
            threading.Thread(target=ctrl_c, args=(0.05,), daemon=True).start()
        time.sleep(0.3)
        raise RuntimeError("transient")

    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.notebook.register("flaky", flaky)
    flow = init_flow(LocalStorage(tmp_path / "tables"), dbutils=dbutils, name="retrying")
    flow.notebook("flaky").output("A").retries(3, backoff_seconds=0.5).add()
    started = time.monotonic()
    with pytest.raises(FlowInterrupted) as info:
        flow.run()
    assert calls == ["flaky"]  # no retry after the Ctrl-C, and no backoff sat out
    assert time.monotonic() - started < 2
    (result,) = info.value.result
    assert result.status.value == "failed" and result.attempts == 1


def test_a_cancelled_attempt_is_not_retried(tmp_path):
    from dtflw.errors import NotebookCancelledError, NotebookRunError

    calls: list[str] = []

    def cancelled(args: dict[str, str]) -> None:
        calls.append("x")
        raise NotebookCancelledError("stopped before its next cell: the run was cancelled")

    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.notebook.register("x", cancelled)
    flow = init_flow(LocalStorage(tmp_path / "tables"), dbutils=dbutils)
    with pytest.raises(NotebookRunError):
        flow.notebook("x").retries(3).run()
    assert calls == ["x"]


def test_a_notebook_interrupted_in_this_process_can_be_run_again_at_once(tmp_path):
    stop = KeyboardInterrupt  # the cell cancelled (a SystemExit fails the notebook, as on Databricks)
    calls: list[str] = []

    def interrupted(args: dict[str, str]) -> None:
        calls.append("a")
        write_parquet_stub(args["A_out"])  # half written when the cell was cancelled
        raise stop()

    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.notebook.register("a", interrupted)
    storage = LocalStorage(tmp_path / "tables")
    flow = init_flow(storage, dbutils=dbutils)
    with pytest.raises(stop):
        flow.notebook("a").output("A").run()
    path = storage.get_abs_path("project/a/A.parquet")
    assert storage.is_pending(path) and not storage.exists(path)  # never trusted
    assert [w.is_live() for w in storage.pending_writers(path)] == [False]  # but no longer held
    dbutils.notebook.register("a", writer(calls, "a"))
    flow.notebook("a").output("A").run(is_lazy=True)  # re-running the cell works at once
    assert calls == ["a", "a"] and storage.exists(path)
