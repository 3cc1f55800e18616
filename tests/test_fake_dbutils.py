"""Tests of ``dtflw.testing.FakeDbutils``."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dtflw.emulated import ExecutionError, InputWidgetNotDefined, NotebookExit
from dtflw.errors import InvalidArgumentError, NotebookRunError, NotebookTimeoutError
from dtflw.testing import FakeDbutils, NotebookCall

DRIVER = "/Users/user@example.com/project/main"


@pytest.fixture
def dbutils(tmp_path: Path) -> FakeDbutils:
    return FakeDbutils(fs_root=tmp_path / "dbfs")


def current_path(dbutils: FakeDbutils) -> str:
    return dbutils.notebook.entry_point.getDbutils().notebook().getContext().notebookPath().get()


# --------------------------------------------------------------------------------------------
# construction


def test_defaults() -> None:
    dbutils = FakeDbutils()
    assert dbutils.notebook_path == DRIVER
    assert current_path(dbutils) == DRIVER
    ctx = dbutils.entry_point.getDbutils().notebook().getContext()
    assert ctx.tags().apply("user") == "user@example.com"
    assert ctx.tags().get("jobType").isEmpty()
    assert ctx.userName().get() == "user@example.com"


def test_invalid_inputs() -> None:
    with pytest.raises(InvalidArgumentError, match="notebook_path"):
        FakeDbutils(notebook_path="relative/nb")
    with pytest.raises(InvalidArgumentError, match="user"):
        FakeDbutils(user="")
    with pytest.raises(InvalidArgumentError, match="job_tags"):
        FakeDbutils(job_tags={"jobId": 1})  # type: ignore[dict-item]


def test_driver_widgets_and_secrets() -> None:
    dbutils = FakeDbutils(widgets={"env": "prod"}, secrets={"kv": {"pw": "hunter2"}})
    dbutils.widgets.text("env", "dev")
    assert dbutils.widgets.get("env") == "prod"
    assert dbutils.secrets.get("kv", "pw") == "hunter2"
    assert dbutils.redactor.redact("pw hunter2") == "pw [REDACTED]"


def test_job_tags_and_task_values() -> None:
    dbutils = FakeDbutils(job_tags={"jobType": "NORMAL", "jobId": "1", "taskKey": "ingest"})
    ctx = dbutils.notebook.getContext()
    assert ctx.tags().apply("jobType") == "NORMAL"
    assert ctx.jobId().get() == "1"
    assert json.loads(ctx.toJson())["tags"]["user"] == "user@example.com"
    dbutils.jobs.taskValues.set("rows", 3)
    assert dbutils.jobs.taskValues.get("ingest", "rows") == 3
    interactive = FakeDbutils()
    assert interactive.jobs.taskValues.get("ingest", "rows", debugValue=0) == 0


def test_fs_uses_root(dbutils: FakeDbutils, tmp_path: Path) -> None:
    dbutils.fs.put("/a.txt", "x")
    assert (tmp_path / "dbfs" / "a.txt").read_text() == "x"
    assert dbutils.path_map.dbfs_root == tmp_path / "dbfs"


def test_fs_temp_root_is_lazy_and_removed() -> None:
    dbutils = FakeDbutils()
    assert dbutils._fs is None
    dbutils.fs.put("dbfs:/x/y.txt", "hi")
    root = dbutils.path_map.dbfs_root
    assert (root / "x" / "y.txt").read_text() == "hi"
    assert [e.path for e in dbutils.fs.ls("/x")] == ["dbfs:/x/y.txt"]
    with pytest.raises(ExecutionError, match="FileNotFoundException"):
        dbutils.fs.ls("/nope")
    del dbutils
    import gc

    gc.collect()
    assert not root.exists()


# --------------------------------------------------------------------------------------------
# registration and dispatch


def test_register_and_run_all_path_spellings(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("ingest", lambda args: "ok:" + args.get("x", "-"))
    assert dbutils.notebook.run("ingest", 0) == "ok:-"
    assert dbutils.notebook.run("./ingest", 0, {"x": "1"}) == "ok:1"
    assert dbutils.notebook.run("/Users/user@example.com/project/ingest", 10) == "ok:-"
    assert dbutils.notebook.run("/Workspace/Users/user@example.com/project/ingest", 0) == "ok:-"
    assert dbutils.notebook.registered() == ["/Users/user@example.com/project/ingest"]


def test_relative_paths_with_folders(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("../lib/util", lambda args: "util")
    dbutils.notebook.register("jobs/etl", lambda args: "etl")
    assert dbutils.notebook.run("/Users/user@example.com/lib/util", 0) == "util"
    assert dbutils.notebook.run("./jobs/../jobs/etl", 0) == "etl"


def test_unregistered_path(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("known", lambda args: None)
    with pytest.raises(NotebookRunError) as info:
        dbutils.notebook.run("./unknown", 0, {"a": "1"})
    message = str(info.value)
    assert "/Users/user@example.com/project/unknown" in message
    assert "'./unknown'" in message
    assert "/Users/user@example.com/project/known" in message
    assert "com.databricks.WorkflowException" in message
    assert info.value.arguments == {"a": "1"}


def test_return_values(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("none", lambda args: None)
    dbutils.notebook.register("num", lambda args: 42)
    assert dbutils.notebook.run("none", 0) == ""
    assert dbutils.notebook.run("num", 0) == "42"


def test_arguments_must_be_strings(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("nb", lambda args: None)
    with pytest.raises(TypeError, match="str -> str"):
        dbutils.notebook.run("nb", 0, {"n": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="str -> str"):
        dbutils.notebook.run("nb", 0, {1: "x"})  # type: ignore[dict-item]


def test_handler_gets_a_copy_of_arguments(dbutils: FakeDbutils) -> None:
    original = {"a": "1"}

    def handler(args: dict[str, str]) -> str:
        args["a"] = "changed"
        return ""

    dbutils.notebook.register("nb", handler)
    dbutils.notebook.run("nb", 0, original)
    assert original == {"a": "1"}
    assert dbutils.notebook.calls[0].arguments == {"a": "1"}


def test_calls_are_recorded_in_order(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("a", lambda args: None)
    dbutils.notebook.run("a", 0, {"x": "1"})
    dbutils.notebook.run("./a", 5)
    assert dbutils.notebook.calls == [
        NotebookCall("a", 0, {"x": "1"}),
        NotebookCall("./a", 5, {}),
    ]
    assert dbutils.notebook.calls[1].timeout_seconds == 5


# --------------------------------------------------------------------------------------------
# widgets and context inside runs


def test_child_sees_own_widgets_and_context(dbutils: FakeDbutils) -> None:
    seen: dict[str, object] = {}
    dbutils.widgets.text("driver_only", "d")

    def child(args: dict[str, str]) -> str:
        dbutils.widgets.text("env", "dev")
        seen["env"] = dbutils.widgets.get("env")
        seen["all"] = dbutils.widgets.getAll()
        seen["path"] = current_path(dbutils)
        seen["getContext"] = dbutils.notebook.getContext().notebookPath().get()
        seen["run_id"] = dbutils.notebook.getContext().currentRunId().isDefined()
        try:
            dbutils.widgets.get("driver_only")
        except InputWidgetNotDefined:
            seen["isolated"] = True
        return "done"

    dbutils.notebook.register("child", child)
    assert dbutils.notebook.run("child", 0, {"env": "prod"}) == "done"
    assert seen == {
        "env": "prod",
        "all": {"env": "prod"},
        "path": "/Users/user@example.com/project/child",
        "getContext": "/Users/user@example.com/project/child",
        "run_id": True,
        "isolated": True,
    }
    assert dbutils.widgets.get("driver_only") == "d"
    assert current_path(dbutils) == DRIVER
    with pytest.raises(InputWidgetNotDefined):
        dbutils.widgets.get("env")


def test_nested_runs_resolve_against_callee_folder(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register(
        "/Users/user@example.com/lib/inner", lambda args: "inner:" + args["v"] + ":" + current_path(dbutils)
    )

    def outer(args: dict[str, str]) -> str:
        result = dbutils.notebook.run("./inner", 0, {"v": dbutils.widgets.get("v") + "!"})
        return result + "|" + current_path(dbutils) + "|" + dbutils.widgets.get("v")

    dbutils.notebook.register("../lib/outer", outer)
    result = dbutils.notebook.run("../lib/outer", 0, {"v": "x"})
    assert result == ("inner:x!:/Users/user@example.com/lib/inner|/Users/user@example.com/lib/outer|x")
    assert [c.path for c in dbutils.notebook.calls] == ["../lib/outer", "./inner"]


def test_concurrent_runs_see_own_widgets(dbutils: FakeDbutils) -> None:
    barrier = threading.Barrier(8, timeout=2)

    def worker(args: dict[str, str]) -> str:
        dbutils.widgets.text("i", "unset")
        barrier.wait()  # all eight runs are active at once
        time.sleep(0.01)
        return dbutils.widgets.get("i") + "@" + current_path(dbutils)

    dbutils.notebook.register("worker", worker)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(dbutils.notebook.run, "worker", 0, {"i": str(i)}) for i in range(8)]
        results = [f.result() for f in futures]
    assert results == [f"{i}@/Users/user@example.com/project/worker" for i in range(8)]
    assert len(dbutils.notebook.calls) == 8
    assert sorted(c.arguments["i"] for c in dbutils.notebook.calls) == [str(i) for i in range(8)]


def test_concurrent_runs_with_timeouts(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("w", lambda args: dbutils.widgets.get("i"))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: dbutils.notebook.run("w", 5, {"i": str(i)}), range(8)))
    assert results == [str(i) for i in range(8)]


# --------------------------------------------------------------------------------------------
# exit, errors and timeouts


def test_exit_value_is_returned(dbutils: FakeDbutils) -> None:
    after: list[str] = []

    def handler(args: dict[str, str]) -> str:
        try:
            dbutils.notebook.exit(json.dumps({"rows": 3}))
        except Exception:  # user code's broad except must not swallow exit
            after.append("swallowed")
        after.append("continued")
        return "not this"

    dbutils.notebook.register("nb", handler)
    assert json.loads(dbutils.notebook.run("nb", 0)) == {"rows": 3}
    assert after == []


def test_exit_stringifies_and_works_with_timeout(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("nb", lambda args: dbutils.notebook.exit(7))
    assert dbutils.notebook.run("nb", 1) == "7"


def test_exit_outside_run_raises() -> None:
    with pytest.raises(NotebookExit) as info:
        FakeDbutils().notebook.exit("v")
    assert info.value.value == "v"


def test_handler_error_becomes_notebook_run_error(dbutils: FakeDbutils) -> None:
    def broken(args: dict[str, str]) -> str:
        raise KeyError("missing column")

    dbutils.notebook.register("broken", broken)
    with pytest.raises(NotebookRunError) as info:
        dbutils.notebook.run("./broken", 0, {"a": "1"})
    error = info.value
    assert isinstance(error.__cause__, KeyError)
    assert error.reason == "KeyError: 'missing column'"
    assert error.notebook == "/Users/user@example.com/project/broken"
    assert error.arguments == {"a": "1"}
    assert "NotebookExecutionException: FAILED" in str(error)


def test_handler_error_with_timeout_keeps_cause(dbutils: FakeDbutils) -> None:
    def broken(args: dict[str, str]) -> str:
        raise ValueError("bad")

    dbutils.notebook.register("broken", broken)
    with pytest.raises(NotebookRunError) as info:
        dbutils.notebook.run("broken", 2)
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.reason == "ValueError: bad"


def test_secrets_are_redacted_in_run_errors() -> None:
    dbutils = FakeDbutils(secrets={"kv": {"pw": "hunter2"}})

    def leaky(args: dict[str, str]) -> str:
        raise RuntimeError("login failed for " + dbutils.secrets.get("kv", "pw"))

    dbutils.notebook.register("leaky", leaky)
    with pytest.raises(NotebookRunError) as info:
        dbutils.notebook.run("leaky", 0, {"token": "hunter2"})
    assert "hunter2" not in str(info.value)
    assert "[REDACTED]" in str(info.value)
    assert info.value.arguments == {"token": "[REDACTED]"}


def test_timeout_raises_notebook_timeout_error(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("slow", lambda args: time.sleep(0.3))
    started = time.monotonic()
    with pytest.raises(NotebookTimeoutError) as info:
        dbutils.notebook.run("slow", 0.05, {"a": "1"})
    assert time.monotonic() - started < 0.25
    assert info.value.status == "CANCELED"
    assert info.value.notebook == "/Users/user@example.com/project/slow"
    assert "NotebookExecutionException: CANCELED" in str(info.value)
    assert isinstance(info.value, NotebookRunError)


def test_fast_handler_within_timeout_runs_in_its_context(dbutils: FakeDbutils) -> None:
    def quick(args: dict[str, str]) -> str:
        time.sleep(0.01)
        return dbutils.widgets.get("a") + current_path(dbutils)

    dbutils.notebook.register("quick", quick)
    assert dbutils.notebook.run("quick", 1, {"a": "1"}) == "1/Users/user@example.com/project/quick"


def test_nested_timeout_fails_the_child(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("slow", lambda args: time.sleep(0.2))
    dbutils.notebook.register("parent", lambda args: dbutils.notebook.run("slow", 0.02))
    with pytest.raises(NotebookRunError) as info:
        dbutils.notebook.run("parent", 0)
    assert not isinstance(info.value, NotebookTimeoutError)
    assert isinstance(info.value.__cause__, NotebookTimeoutError)


def test_bad_timeouts(dbutils: FakeDbutils) -> None:
    dbutils.notebook.register("nb", lambda args: None)
    with pytest.raises(InvalidArgumentError, match="from 0"):
        dbutils.notebook.run("nb", -1)
    with pytest.raises(TypeError):
        dbutils.notebook.run("nb", "10")  # type: ignore[arg-type]
    assert dbutils.notebook.calls == []


# --------------------------------------------------------------------------------------------
# pytest-mock


def test_spy_on_notebook_run(dbutils: FakeDbutils, mocker) -> None:  # type: ignore[no-untyped-def]
    dbutils.notebook.register("nb", lambda args: "r" + args["x"])
    spy = mocker.spy(dbutils.notebook, "run")
    assert dbutils.notebook.run("nb", 0, {"x": "1"}) == "r1"
    spy.assert_called_once_with("nb", 0, {"x": "1"})
    assert spy.spy_return == "r1"


def test_spy_on_fs_and_widgets(dbutils: FakeDbutils, mocker) -> None:  # type: ignore[no-untyped-def]
    put = mocker.spy(dbutils.fs, "put")
    dbutils.fs.put("/f.txt", "x", overwrite=True)
    put.assert_called_once_with("/f.txt", "x", overwrite=True)
    get = mocker.spy(dbutils.widgets, "get")
    dbutils.widgets.text("w", "v")
    assert dbutils.widgets.get("w") == "v"
    get.assert_called_once_with("w")


def test_timeout_worker_carries_callers_context_variables(dbutils: FakeDbutils) -> None:
    import contextvars

    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")
    request_id.set("caller-42")
    dbutils.notebook.register("nb", lambda args: request_id.get() + "|" + threading.current_thread().name)
    value, thread_name = dbutils.notebook.run("nb", 1).split("|")
    assert value == "caller-42"
    assert thread_name != threading.current_thread().name


@pytest.mark.parametrize("timeout", [-1, 2**31, 1e300, float("nan"), float("inf")])
def test_notebook_run_rejects_timeouts_outside_a_java_int(timeout) -> None:
    from dtflw.errors import InvalidArgumentError

    dbutils = FakeDbutils()
    dbutils.notebook.register("nb", lambda args: "ok")
    with pytest.raises(InvalidArgumentError, match="timeout_seconds"):
        dbutils.notebook.run("nb", timeout, {})
    assert dbutils.notebook.run("nb", 2**31 - 1, {}) == "ok"


def test_a_notebook_run_again_after_a_timeout_waits_for_the_timed_out_run_to_end(tmp_path) -> None:
    from dtflw.errors import NotebookTimeoutError

    out = tmp_path / "content"
    calls: list[int] = []

    def slow_first(args: dict[str, str]) -> None:
        calls.append(len(calls) + 1)
        me = len(calls)
        if me == 1:
            import time

            time.sleep(0.6)  # longer than its timeout: it keeps running in the background
        out.write_text(f"attempt {me}")

    dbutils = FakeDbutils()
    dbutils.notebook.register("nb", slow_first)
    with pytest.raises(NotebookTimeoutError):
        dbutils.notebook.run("nb", 0.2)
    dbutils.notebook.run("nb", 5)  # a retry: as on Databricks, the timed-out run is over first
    assert out.read_text() == "attempt 2"
    import time

    time.sleep(0.7)
    assert out.read_text() == "attempt 2"  # the abandoned run never writes after the retry
