"""flow.run() as a DAG on FakeDbutils: parallelism, isolation, laziness, history, resume, hooks."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from dtflw import FlowDefinitionError, init_flow
from dtflw.errors import FlowRunError
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub


class Recorder:
    """Handlers that write their outputs, remember start/end times, and can sleep or fail."""

    def __init__(self) -> None:
        self.spans: dict[str, tuple[float, float]] = {}
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def handler(self, name: str, sleep: float = 0.0, fail: str | None = None):
        def run(args: dict[str, str]) -> str:
            started = time.monotonic()
            with self.lock:
                self.calls.append(name)
            time.sleep(sleep)
            if fail:
                raise RuntimeError(fail)
            for key, value in args.items():
                if key.endswith("_out"):
                    write_parquet_stub(value)
            with self.lock:
                self.spans[name] = (started, time.monotonic())
            return f"{name} done"

        return run


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def env(tmp_path):
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    storage = LocalStorage(tmp_path / "tables")
    return storage, dbutils


def diamond(storage, dbutils, rec, **fail):
    """ingest -> (a, b) -> report, plus an independent notebook `solo`."""
    for name in ("ingest", "a", "b", "report", "solo"):
        dbutils.notebook.register(name, rec.handler(name, 0.2, fail.get(name)))
    flow = init_flow(storage, dbutils=dbutils, name="diamond")
    flow.notebook("ingest").output("Raw").add()
    flow.notebook("a").input("Raw").output("A").tags("gold").add()
    flow.notebook("b").input("Raw").output("B").tags("gold").add()
    flow.notebook("report").input("A").input("B").add()
    flow.notebook("solo").output("S").add()
    return flow


def test_independent_notebooks_run_in_parallel_and_dependencies_are_respected(env, rec):
    storage, dbutils = env
    flow = diamond(storage, dbutils, rec)
    started = time.monotonic()
    result = flow.run(max_workers=4)
    elapsed = time.monotonic() - started
    assert result.ok and {r.status for r in result} == {"succeeded"}
    assert elapsed < 0.2 * 5 * 0.8  # well under the sequential time
    s = rec.spans
    assert s["a"][0] >= s["ingest"][1] and s["b"][0] >= s["ingest"][1]
    assert s["report"][0] >= max(s["a"][1], s["b"][1])
    assert s["solo"][0] < s["ingest"][1]  # ran alongside ingest
    assert abs(s["a"][0] - s["b"][0]) < 0.15  # siblings together
    assert result["a"].exit_value == "a done" and result["a"].attempts == 1
    assert flow["A"].endswith("/project/a/A.parquet")


def test_failure_marks_downstream_and_independent_branches_finish(env, rec):
    storage, dbutils = env
    flow = diamond(storage, dbutils, rec, a="exploded")
    with pytest.raises(FlowRunError) as err:
        flow.run(max_workers=2)
    result = err.value.result
    assert result["a"].status == "failed" and "exploded" in result["a"].error
    assert result["report"].status == "upstream_failed" and "a" in result["report"].reason
    assert result["b"].status == "succeeded" and result["solo"].status == "succeeded"
    assert "'a'" in str(err.value) and "exploded" in str(err.value) and "report" in str(err.value)
    assert "report" not in rec.calls


def test_retries_are_recorded_per_attempt(env, rec):
    storage, dbutils = env
    attempts = []

    def flaky(args):
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("transient")
        write_parquet_stub(args["T_out"])

    dbutils.notebook.register("nb", flaky)
    flow = init_flow(storage, dbutils=dbutils, name="retry")
    flow.notebook("nb").output("T").retries(2, backoff_seconds=0.01).add()
    result = flow.run()
    assert result["nb"].attempts == 3
    records = flow.history(result.run_id)
    assert [(r.attempt, r.status) for r in records] == [(1, "failed"), (2, "failed"), (3, "succeeded")]
    assert "transient" in records[0].error


def test_definition_errors_are_found_before_anything_runs(env, rec):
    storage, dbutils = env
    dbutils.notebook.register("x", rec.handler("x"))
    flow = init_flow(storage, dbutils=dbutils)
    a = storage.derive_table_path("project/a", "A")
    flow.notebook("a").input("FromB", file_path="shared/b.parquet").output("A").add()
    flow.notebook("b").input("A").output("B", file_path="shared/b.parquet").add()
    with pytest.raises(FlowDefinitionError, match="cycle: .*a.*b"):
        flow.run()
    flow2 = init_flow(storage, dbutils=dbutils)
    flow2.notebook("x").output("T", file_path=a).add()
    flow2.notebook("y").output("U", file_path=a).add()
    with pytest.raises(FlowDefinitionError, match="both write"):
        flow2.plan()
    flow3 = init_flow(storage, dbutils=dbutils)
    flow3.notebook("x").output("T").add()
    with pytest.raises(FlowDefinitionError, match="only='nope' matches no declared notebook"):
        flow3.run(only="nope")
    with pytest.raises(FlowDefinitionError, match="tags"):
        flow3.run(tags="missing")
    flow3.run()
    with pytest.raises(FlowDefinitionError, match="Nothing to run"):
        flow3.run()
    assert rec.calls == ["x"]
    with pytest.raises(FlowDefinitionError, match="lazy"):
        flow3.plan(lazy="sometimes")


def test_selections(env, rec):
    storage, dbutils = env
    flow = diamond(storage, dbutils, rec)
    sel = lambda **kw: sorted(d.notebook for d in flow.plan(**kw) if d.action != "not selected")  # noqa: E731
    assert sel() == ["a", "b", "ingest", "report", "solo"]
    assert sel(only="solo") == ["solo"]
    assert sel(tags="gold") == ["a", "b"]
    assert sel(from_="a") == ["a", "report"]
    assert sel(to="a") == ["a", "ingest"]
    assert sel(from_="ingest", to="report") == ["a", "b", "ingest", "report"]
    assert sel(only=["/Users/user@example.com/project/solo", "project/a"]) == ["a", "solo"]


def test_lazy_true_and_auto_decisions_with_reasons(env, rec, tmp_path):
    storage, dbutils = env
    raw = Path(storage.base_path) / "raw"
    raw.mkdir(parents=True)
    (raw / "x.csv").write_text("1\n")

    def declare(args_year="2022"):
        flow = init_flow(storage, dbutils=dbutils, name="incremental")
        added = flow.notebook("ingest").args({"year": args_year}).input("Raw", file_path="raw/*.csv").output("T").add()
        assert added is None  # a notebook cell ending in .add() shows nothing
        flow.notebook("agg").input("T").output("U").add()
        return flow

    for name in ("ingest", "agg"):
        dbutils.notebook.register(name, rec.handler(name))
    first = declare().run(lazy="auto")
    assert [r.reason for r in first] == ["outputs missing", "outputs missing"]

    plan = declare().plan(lazy="auto")
    assert [(d.notebook, d.action, d.reason) for d in plan] == [
        ("ingest", "skip", "up to date"),
        ("agg", "skip", "up to date"),
    ]
    assert "up to date" in str(plan) and "<table>" in plan._repr_html_()
    assert plan._repr_html_().count('<tr style="background:#e9ecef">') == 2  # skip rows are grey
    assert '<tr style="background:#d3f9d8">' in declare().plan(lazy=False)._repr_html_()  # run rows green
    second = declare().run(lazy="auto")
    assert {r.status for r in second} == {"skipped"} and len(rec.calls) == 2

    time.sleep(0.01)
    (raw / "y.csv").write_text("2\n")
    plan = declare().plan(lazy="auto")
    assert plan["ingest"].reason == "input 'Raw' changed"
    assert plan["agg"].reason == "an upstream notebook will run"
    third = declare().run(lazy="auto")
    assert third["ingest"].reason == "input 'Raw' changed" and third["agg"].reason == "input 'T' changed"

    assert declare("2023").plan(lazy="auto")["ingest"].reason == "args changed"
    assert declare().plan(lazy="auto", force="agg")["agg"].reason == "forced"
    assert declare().plan(lazy=True)["agg"].reason == "outputs exist"
    assert declare().plan(lazy=False)["agg"].action == "run"


def test_history_records_are_stored_as_json_and_redacted(env, rec):
    storage, dbutils = env
    dbutils.notebook.register("nb", rec.handler("nb"))
    flow = init_flow(storage, dbutils=dbutils, name="hist")
    flow.notebook("nb").args({"api_token": "abc123", "n": "1"}).output("T").add()
    result = flow.run()
    files = list((Path(storage.base_path) / "_dtflw" / "history" / result.run_id).glob("*.jsonl"))
    assert len(files) == 1  # one batch: the run's records, one JSON document per line
    (doc,) = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert doc["args"] == {"api_token": "[REDACTED]", "n": "1"} and "abc123" not in files[0].read_text()
    assert doc["status"] == "succeeded" and doc["outputs"][0]["version"].startswith("files:")
    (record,) = flow.history()
    assert record.notebook == "/Users/user@example.com/project/nb" and record.seconds >= 0


def test_resume_reruns_only_failed_and_never_run_plus_downstream(env, rec):
    storage, dbutils = env
    flow = diamond(storage, dbutils, rec, b="broken")
    with pytest.raises(FlowRunError):
        flow.run(max_workers=1)
    first_id = flow.last_result.run_id  # kept even though the run raised
    rec.calls.clear()
    dbutils.notebook.register("b", rec.handler("b"))
    again = diamond(storage, dbutils, rec)
    plan = again.plan(resume="last")
    assert {d.notebook: d.action for d in plan} == {
        "ingest": "skip",
        "a": "skip",
        "b": "run",
        "report": "run",
        "solo": "skip",
    }
    result = again.run(resume="last")
    assert sorted(rec.calls) == ["b", "report"]
    assert result["ingest"].reason == f"succeeded in run {first_id}"
    with pytest.raises(FlowDefinitionError, match="no records"):
        diamond(storage, dbutils, rec).run(resume="20000101T000000Z-000000")
    storage.delete(storage.derive_table_path("project/solo", "S"))  # a "done" output went missing
    assert diamond(storage, dbutils, rec).plan(resume=result.run_id, lazy=True)["solo"].action == "run"


def test_hooks_see_every_event_and_a_raising_hook_is_ignored(env, rec, capsys):
    storage, dbutils = env
    flow = diamond(storage, dbutils, rec)
    events = []
    flow.on("flow_start", lambda e: events.append((e.name, None)))
    flow.on("notebook_end", lambda e: events.append((e.name, e.notebook, e.result.status)))
    flow.on("flow_end", lambda e: events.append((e.name, e.result.ok)))
    flow.on("notebook_start", lambda e: 1 / 0)
    flow.run()
    assert events[0] == ("flow_start", None) and events[-1] == ("flow_end", True)
    assert sorted(e[1] for e in events if e[0] == "notebook_end") == ["a", "b", "ingest", "report", "solo"]
    assert "ZeroDivisionError" in capsys.readouterr().out
    with pytest.raises(Exception, match="Unknown event"):
        flow.on("whenever", print)


def test_eager_runs_are_not_repeated_by_flow_run(env, rec):
    storage, dbutils = env
    for name in ("ingest", "agg"):
        dbutils.notebook.register(name, rec.handler(name))
    flow = init_flow(storage, dbutils=dbutils)
    flow.notebook("ingest").output("T").run()
    flow.notebook("agg").input("T").output("U").add()
    result = flow.run()
    assert [r.notebook for r in result] == ["agg"] and rec.calls == ["ingest", "agg"]


def test_invalid_run_arguments(env):
    storage, dbutils = env
    flow = init_flow(storage, dbutils=dbutils)
    flow.notebook("x").add()
    for bad in (0, -1, True, "4"):
        with pytest.raises(Exception, match="max_workers"):
            flow.run(max_workers=bad)
