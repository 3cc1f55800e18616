"""The fluent flow on FakeDbutils + LocalStorage: resolution, paths, runs, laziness, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import dtflw
from dtflw import (
    FlowDefinitionError,
    MissingInputError,
    MissingOutputError,
    NotebookRunError,
    init_flow,
)
from dtflw.plugin import FlowPluginBase, NotebookPluginBase
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub


def test_outputs_derive_from_notebook_path_and_inputs_resolve_to_latest_producer(
    local_flow, fake_dbutils, writes_outputs
):
    fake_dbutils.notebook.register("ingest", writes_outputs())
    fake_dbutils.notebook.register("clean", writes_outputs("done"))
    base = local_flow.ctx.storage.base_path

    local_flow.notebook("ingest").output("Orders").run()
    result = local_flow.notebook("clean").input("Orders").output("CleanOrders").run()

    assert result == "done"
    assert local_flow["Orders"] == f"{base}project/ingest/Orders.parquet"
    assert local_flow["CleanOrders"] == f"{base}project/clean/CleanOrders.parquet"
    call = fake_dbutils.notebook.calls[1]
    assert call.path == "clean"
    assert call.arguments == {
        "Orders_in": f"{base}project/ingest/Orders.parquet",
        "CleanOrders_out": f"{base}project/clean/CleanOrders.parquet",
    }


def test_args_timeout_and_widgets_are_passed(local_flow, fake_dbutils):
    seen = {}
    fake_dbutils.notebook.register("calc", lambda args: seen.update(args) or "ok")
    local_flow.notebook("calc").args({"year": "2022"}).timeout(30).run()
    assert seen == {"year": "2022"}
    assert fake_dbutils.notebook.calls[0].timeout_seconds == 30


def test_latest_declared_producer_wins_and_alias_and_source_table(local_flow, fake_dbutils, writes_outputs):
    for nb in ("a", "b", "c"):
        fake_dbutils.notebook.register(nb, writes_outputs())
    local_flow.notebook("a").output("T").run()
    local_flow.notebook("b").output("T2", alias="T").run()
    local_flow.notebook("c").input("Src", source_table="T").run()
    assert fake_dbutils.notebook.calls[-1].arguments["Src_in"].endswith("project/b/T2.parquet")
    assert local_flow["T"].endswith("project/b/T2.parquet")


def test_explicit_file_paths_are_relative_to_storage_base_and_globs_allowed(local_flow, fake_dbutils, writes_outputs):
    storage = local_flow.ctx.storage
    raw = Path(storage.base_path) / "raw"
    raw.mkdir(parents=True)
    (raw / "sales_2021.csv").write_text("a\n")
    (raw / "sales_2022.csv").write_text("a\n")
    fake_dbutils.notebook.register("ingest", writes_outputs())
    (
        local_flow.notebook("ingest")
        .input("SalesRaw", file_path="raw/sales_*.csv")
        .output("Sales", file_path="bronze/sales.parquet")
        .run()
    )
    args = fake_dbutils.notebook.calls[0].arguments
    assert args["SalesRaw_in"] == f"{storage.base_path}raw/sales_*.csv"
    assert args["Sales_out"] == f"{storage.base_path}bronze/sales.parquet"


def test_unresolvable_input_fails_before_anything_runs(local_flow, fake_dbutils):
    fake_dbutils.notebook.register("clean", lambda args: None)
    with pytest.raises(MissingInputError) as err:
        local_flow.notebook("clean").input("Orders")
    assert "clean" in str(err.value) and "'Orders'" in str(err.value)
    assert fake_dbutils.notebook.calls == []


def test_missing_input_file_fails_before_the_call(local_flow, fake_dbutils):
    fake_dbutils.notebook.register("clean", lambda args: None)
    with pytest.raises(MissingInputError, match="raw/none_\\*.csv.*matches no file"):
        local_flow.notebook("clean").input("Raw", file_path="raw/none_*.csv").run()
    with pytest.raises(MissingInputError, match="does not exist"):
        local_flow.notebook("clean").input("Raw", file_path="raw/x.csv").run()
    assert fake_dbutils.notebook.calls == []


def test_optional_inputs_that_do_not_exist_are_passed_empty(local_flow, fake_dbutils):
    fake_dbutils.notebook.register("nb", lambda args: None)
    local_flow.notebook("nb").input("Maybe", is_optional=True).input("File", "x/y.csv", is_optional=True).run()
    assert fake_dbutils.notebook.calls[0].arguments == {"Maybe_in": "", "File_in": ""}


def test_missing_output_raises_and_is_not_published(local_flow, fake_dbutils):
    fake_dbutils.notebook.register("lazy", lambda args: None)
    with pytest.raises(MissingOutputError) as err:
        local_flow.notebook("lazy").output("T").run()
    assert err.value.notebook == "lazy" and err.value.table == "T"
    assert local_flow["T"] is None


def test_lazy_run_skips_when_outputs_exist_and_still_publishes(local_flow, fake_dbutils, writes_outputs):
    fake_dbutils.notebook.register("ingest", writes_outputs())
    local_flow.notebook("ingest").output("T").run(is_lazy=True)
    assert len(fake_dbutils.notebook.calls) == 1
    flow2 = init_flow(local_flow.ctx.storage, dbutils=fake_dbutils)
    assert flow2.notebook("ingest").output("T").run(is_lazy=True) is None
    assert len(fake_dbutils.notebook.calls) == 1
    assert flow2["T"] == local_flow["T"]
    flow2.notebook("ingest").output("T").run(is_lazy=False)
    assert len(fake_dbutils.notebook.calls) == 2


def test_failed_notebook_leaves_no_output_a_lazy_run_trusts(local_flow, fake_dbutils, writes_outputs):
    def half_then_fail(args):
        write_parquet_stub(args["A_out"])  # first output written completely ...
        raise RuntimeError("boom")  # ... then the notebook dies

    fake_dbutils.notebook.register("nb", half_then_fail)
    with pytest.raises(NotebookRunError):
        local_flow.notebook("nb").output("A").output("B").run()
    storage = local_flow.ctx.storage
    a_path = local_flow.ctx.storage.derive_table_path("project/nb", "A")
    assert Path(a_path, "_SUCCESS").exists()
    assert storage.is_pending(a_path) and not storage.exists(a_path)

    fake_dbutils.notebook.register("nb", writes_outputs())
    local_flow.notebook("nb").output("A").output("B").run(is_lazy=True)
    assert len(fake_dbutils.notebook.calls) == 2  # re-ran instead of trusting A
    assert storage.exists(a_path) and not storage.is_pending(a_path)


def test_callee_failure_raises_notebook_run_error_with_path_args_and_message(local_flow, fake_dbutils):
    def fail(args):
        raise ValueError("bad year")

    fake_dbutils.notebook.register("calc", fail)
    with pytest.raises(NotebookRunError) as err:
        local_flow.notebook("calc").args({"year": "2022", "db_password": "hunter2"}).run()
    text = str(err.value)
    assert "calc" in text and "bad year" in text and "2022" in text
    assert "hunter2" not in text and "[REDACTED]" in text
    assert "com.databricks.WorkflowException" in text
    assert err.value.arguments["db_password"] == "[REDACTED]"
    assert err.value.__cause__ is not None


def test_fetched_secret_values_are_redacted_from_errors(tmp_path):
    dbutils = FakeDbutils(secrets={"kv": {"token": "s3cr3t-value"}}, fs_root=tmp_path / "dbfs")
    flow = init_flow(LocalStorage(tmp_path / "t"), dbutils=dbutils)
    token = dbutils.secrets.get("kv", "token")

    def fail(args):
        raise RuntimeError(f"could not log in with {args['conn']}")

    dbutils.notebook.register("nb", fail)
    with pytest.raises(NotebookRunError) as err:
        flow.notebook("nb").args({"conn": f"user:{token}"}).run()
    assert "s3cr3t-value" not in str(err.value)


def test_retries_rerun_a_failing_notebook(local_flow, fake_dbutils):
    attempts = []

    def flaky(args):
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("transient")
        return "ok"

    fake_dbutils.notebook.register("nb", flaky)
    assert local_flow.notebook("nb").retries(2).run() == "ok"
    assert len(attempts) == 3


@pytest.mark.parametrize("bad", ["", " x", "a b", "a/b", "..", "a..b", None, 3])
def test_bad_table_names_are_rejected(local_flow, bad):
    with pytest.raises(FlowDefinitionError):
        local_flow.notebook("nb").output(bad)
    with pytest.raises(FlowDefinitionError):
        local_flow.notebook("nb").input(bad, file_path="x")


@pytest.mark.parametrize("bad", ["", "a b", "dir//nb", "nb/", "a..b/nb", None])
def test_bad_notebook_paths_are_rejected(local_flow, bad):
    with pytest.raises(FlowDefinitionError):
        local_flow.notebook(bad)


def test_definition_errors_for_args_timeout_and_duplicates(local_flow):
    nb = local_flow.notebook("nb")
    with pytest.raises(FlowDefinitionError, match="argument 'year' must be a string"):
        nb.args({"year": 2022})
    with pytest.raises(FlowDefinitionError, match="timeout"):
        nb.timeout(-1)
    with pytest.raises(FlowDefinitionError, match="declared twice"):
        nb.output("T").output("T")
    with pytest.raises(FlowDefinitionError, match="widget 'T_out'"):
        local_flow.notebook("nb2").args({"T_out": "x"}).output("T").run()


def test_relative_and_absolute_notebook_paths(local_flow, fake_dbutils, writes_outputs):
    fake_dbutils.notebook.register("/Users/user@example.com/project/sub/nb", writes_outputs())
    b1 = local_flow.notebook("sub/nb").output("X")
    b2 = local_flow.notebook("./sub/../sub/nb")
    b3 = local_flow.notebook("/Repos/user@example.com/project/sub/nb").output("Y")
    assert b1.abs_path == b2.abs_path == "/Users/user@example.com/project/sub/nb"
    assert b1.get_outputs()["X"].path.endswith("project/sub/nb/X.parquet")
    assert b3.get_outputs()["Y"].path.endswith("/project/sub/nb/Y.parquet")
    b1.run()


def test_flow_show_and_builder_show(local_flow, fake_dbutils, writes_outputs, capsys):
    fake_dbutils.notebook.register("ingest", writes_outputs())
    nb = local_flow.notebook("ingest").args({"token": "abc", "year": "1"}).output("T")
    nb.show()
    nb.run()
    local_flow.show()
    out = capsys.readouterr().out
    assert "Notebook: 'ingest'" in out and "'year': '1'" in out and "abc" not in out
    assert "Evaluated tables:" in out and "'T'" in out and "'ingest'" in out
    assert nb.get_args() == {"token": "abc", "year": "1"}
    assert list(nb.get_outputs()) == ["T"] and nb.get_inputs() == {}


def test_flow_item_is_none_for_unknown_and_read_only(local_flow):
    assert local_flow["Nope"] is None
    with pytest.raises(TypeError):
        local_flow["X"] = "y"


def test_plugins_attach_actions(local_flow):
    class Hello(FlowPluginBase):
        action_name = "hello"

        def act(self, flow, who):
            return f"hello {who} from {type(flow).__name__}"

    class Where(NotebookPluginBase):
        action_name = "where"

        def act(self, notebook, flow, suffix=""):
            return notebook.rel_path + suffix + str(flow is local_flow)

    local_flow.install(Hello())
    local_flow.install(Where())
    assert local_flow.hello("me") == "hello me from Flow"
    assert local_flow.notebook("nb").where("!") == "nb!True"
    with pytest.raises(dtflw.InvalidArgumentError):
        local_flow.install(Where())
    with pytest.raises(dtflw.InvalidArgumentError):
        local_flow.install(object())


def test_logger_verbosity(local_flow, fake_dbutils, writes_outputs, capsys):
    fake_dbutils.notebook.register("ingest", writes_outputs())
    local_flow.ctx.logger.verbosity = "verbose"
    local_flow.notebook("ingest").output("T").run()
    out = capsys.readouterr().out
    assert "Running: '/Users/user@example.com/project/ingest'" in out and "Output 'T'" in out
    local_flow.ctx.logger.verbosity = "silent"
    local_flow.notebook("ingest").output("T").run(is_lazy=True)
    assert capsys.readouterr().out == ""
    with pytest.warns(UserWarning, match="'loud' is unknown; using 'default'"):
        local_flow.ctx.logger.verbosity = "loud"  # dtflw 0.6.x fell back to "default" too
    assert local_flow.ctx.logger.verbosity == "default"


def test_init_flow_validates_storage_and_finds_runtime_dbutils(fake_dbutils, tmp_path):
    with pytest.raises(dtflw.InvalidArgumentError, match="storage must be a dtflw Storage"):
        init_flow("dbfs:/x")
    flow = init_flow(LocalStorage(tmp_path))
    assert flow.ctx.dbutils is fake_dbutils


def test_init_flow_without_runtime_says_what_to_do(tmp_path):
    with pytest.raises(dtflw.RuntimeNotAvailableError, match="FakeDbutils"):
        init_flow(LocalStorage(tmp_path))


def test_run_flags_are_validated(local_flow):
    with pytest.raises(dtflw.InvalidArgumentError):
        local_flow.notebook("nb").run(is_lazy="yes")


def test_share_arguments_reaches_the_callee_opened_by_hand(local_flow, fake_dbutils):
    (local_flow.notebook("calc").args({"year": "2022"}).input("Raw", file_path="raw/x.csv").share_arguments())
    # The callee is now opened by hand: no arguments are passed.
    seen = {}

    def callee(_args):
        seen.update({k: v.value for k, v in dtflw.init_args("year", "other").items()})
        seen.update({k: v.value for k, v in dtflw.init_inputs("Raw").items()})

    fake_dbutils.notebook.register("calc", callee)
    fake_dbutils.notebook.run("calc", 0, {})
    assert seen == {"year": "2022", "other": "", "Raw": f"{local_flow.ctx.storage.base_path}raw/x.csv"}


@pytest.mark.parametrize("name", ["a\x00b", ".", "x" * 256, "tab\there"])
def test_odd_table_names_are_refused(local_flow, name):
    with pytest.raises(dtflw.FlowDefinitionError, match="Output name"):
        local_flow.notebook("nb").output(name)


@pytest.mark.parametrize("backoff", [float("nan"), float("inf"), -1, True])
def test_backoff_must_be_finite(local_flow, backoff):
    with pytest.raises(dtflw.FlowDefinitionError, match="backoff_seconds"):
        local_flow.notebook("nb").retries(1, backoff)


def test_timeout_fits_dbutils(local_flow):
    local_flow.notebook("nb").timeout(2**31 - 1)
    with pytest.raises(dtflw.FlowDefinitionError, match="32-bit"):
        local_flow.notebook("nb").timeout(10**12)


def test_relative_paths_stay_inside_the_storage(local_flow):
    with pytest.raises(dtflw.FlowDefinitionError, match="leaves the storage"):
        local_flow.notebook("nb").input("Raw", file_path="../../etc/passwd")
    with pytest.raises(dtflw.FlowDefinitionError, match="leaves the storage"):
        local_flow.notebook("nb").output("T", file_path="a/../../b")


def test_a_storage_root_with_brackets_is_not_a_pattern(fake_dbutils, tmp_path, writes_outputs):
    storage = LocalStorage(tmp_path / "data[1]")
    flow = init_flow(storage, dbutils=fake_dbutils)
    fake_dbutils.notebook.register("nb", writes_outputs())
    flow.notebook("nb").output("T").run()
    assert flow["T"].startswith(str(tmp_path / "data[1]")) and storage.exists(flow["T"])
    with pytest.raises(dtflw.FlowDefinitionError, match="must not be a pattern"):
        flow.notebook("nb2").output("U", file_path="out/*")
