"""Every run records fingerprints, so the first lazy="auto" run after any run skips what is current."""

from __future__ import annotations

import pytest

from dtflw import init_flow
from dtflw.errors import FlowRunError, NotebookRunError
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub, writes_outputs


@pytest.fixture
def setup(tmp_path):
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    storage = LocalStorage(tmp_path / "tables")
    stub = writes_outputs()

    def run(args):
        if args.get("fail") == "yes":
            raise RuntimeError("asked to fail")
        return stub(args)

    for name in ("ingest", "clean"):
        dbutils.notebook.register(name, run)
    return storage, dbutils, dbutils.notebook.calls  # every notebook.run, as called


def declare(storage, dbutils, eager: bool = False, fail: str = "no"):
    flow = init_flow(storage, dbutils=dbutils, name="rec")
    for build in (
        lambda: flow.notebook("ingest").output("Raw"),
        lambda: flow.notebook("clean").args({"fail": fail}).input("Raw").output("Clean"),
    ):
        builder = build()
        builder.run() if eager else builder.add()
    return flow


@pytest.mark.parametrize("lazy", [False, True])
def test_a_dag_run_with_any_laziness_lets_the_next_auto_run_skip(setup, lazy):
    storage, dbutils, calls = setup
    declare(storage, dbutils).run(lazy=lazy)
    assert all(r.fingerprint for r in declare(storage, dbutils).history())
    calls.clear()
    result = declare(storage, dbutils).run(lazy="auto")
    assert calls == [] and {r.status.value for r in result} == {"skipped"}


def test_eager_runs_are_recorded_under_one_run_id_and_feed_lazy_auto(setup):
    storage, dbutils, calls = setup
    flow = declare(storage, dbutils, eager=True)
    records = flow.history()
    assert [r.status.value for r in records] == ["succeeded", "succeeded"]
    assert len({r.run_id for r in records}) == 1 and all(r.fingerprint for r in records)
    calls.clear()
    assert {r.status.value for r in declare(storage, dbutils).run(lazy="auto")} == {"skipped"} and calls == []


def test_an_eager_failure_is_recorded_and_the_error_still_raised(setup):
    storage, dbutils, calls = setup
    with pytest.raises(NotebookRunError):
        declare(storage, dbutils, eager=True, fail="yes")
    records = declare(storage, dbutils).history()
    assert [(r.key, r.status.value) for r in records] == [
        ("project__ingest", "succeeded"),
        ("project__clean", "failed"),
    ]
    assert "asked to fail" in (records[-1].error or "")
    calls.clear()
    declare(storage, dbutils).run(lazy="auto")
    assert [c.path for c in calls] == ["clean"]  # the failed one re-runs, its current upstream does not


def test_the_same_flow_object_resumes_after_a_failure(setup):
    storage, dbutils, calls = setup
    flow = declare(storage, dbutils, fail="yes")
    with pytest.raises(FlowRunError):
        flow.run()
    calls.clear()

    def fixed(args):  # the callee is fixed: it ignores `fail` now
        write_parquet_stub(args["Clean_out"])

    dbutils.notebook.register("clean", fixed)
    result = flow.run(resume="last")
    assert result.ok and [c.path for c in calls] == ["clean"]
    assert [(r.notebook, r.status.value) for r in result] == [("ingest", "skipped"), ("clean", "succeeded")]
