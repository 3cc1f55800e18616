"""Code written the way dtflw 0.6.x users wrote it: imports, isinstance checks, loggers, plugins,
callee defaults, flow and notebook introspection. Nothing here uses a 0.7-only name."""

from __future__ import annotations

import pytest

from dtflw import init_args, init_flow, init_inputs, init_outputs
from dtflw.arguments import Argument, Input, Output
from dtflw.assertions import assert_schema_compatible
from dtflw.databricks import use_runtime
from dtflw.display import DisplayBase
from dtflw.flow import Flow
from dtflw.flow_context import FlowContext
from dtflw.input_table import InputTable
from dtflw.lazy_notebook import LazyNotebook
from dtflw.logger import DefaultLogger, LoggerBase
from dtflw.output_table import OutputTable
from dtflw.pipeline import NotebookRun, PipelineState
from dtflw.plugin import FlowPluginBase, NotebookPluginBase
from dtflw.storage.local import LocalStorage
from dtflw.tables_repo import TablesRepository
from dtflw.testing import FakeDbutils, write_outputs

DRIVER_DIR = "/Users/user@example.com/project"


class ListLogger(LoggerBase):
    """A 0.6.x custom logger: only `log` is implemented."""

    def __init__(self, verbosity: str = "default") -> None:
        super().__init__(verbosity)
        self.lines: list[str] = []

    def log(self, msg: str) -> None:
        self.lines.append(msg)


class ListDisplay(DisplayBase):
    def __init__(self) -> None:
        self.shown: list[str] = []

    def show(self, content: object) -> None:
        self.shown.append(str(content))


@pytest.fixture
def dbutils(tmp_path) -> FakeDbutils:
    fake = FakeDbutils(fs_root=tmp_path / "dbfs")
    fake.notebook.register("ingest", write_outputs("ingested"))
    fake.notebook.register("clean", write_outputs())
    return fake


@pytest.fixture
def storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "tables")


def test_what_dtflw_returns_is_an_instance_of_the_0_6_classes(storage, dbutils) -> None:
    flow = init_flow(storage, dbutils=dbutils)
    nb = flow.notebook("ingest").input("Raw", file_path="raw.csv", is_optional=True).output("Orders")
    assert isinstance(flow, Flow) and isinstance(flow.ctx, FlowContext) and isinstance(nb, LazyNotebook)
    assert isinstance(flow.ctx.tables_repo, TablesRepository) and isinstance(flow.ctx.pipeline, PipelineState)
    assert isinstance(nb.get_inputs()["Raw"], InputTable) and isinstance(nb.get_outputs()["Orders"], OutputTable)
    assert isinstance(flow.ctx.logger, DefaultLogger) and isinstance(flow.ctx.logger, LoggerBase)
    with use_runtime(dbutils=dbutils):
        args, ins, outs = init_args("year"), init_inputs("Orders"), init_outputs("Stats")
    assert isinstance(args["year"], Argument) and isinstance(ins["Orders"], Input)
    assert isinstance(outs["Stats"], Output) and not isinstance(outs["Stats"], Input)


def test_a_logger_that_only_implements_log_hears_every_line_at_its_verbosity(storage, dbutils) -> None:
    verbose, default = ListLogger("verbose"), ListLogger()
    flow = init_flow(storage, dbutils=dbutils, logger=verbose)
    flow.notebook("ingest").output("Orders").run()
    flow.ctx.logger = default
    flow.notebook("clean").input("Orders").output("Clean").run()
    orders = storage.get_abs_path("project/ingest/Orders.parquet")
    assert f"Running: '{DRIVER_DIR}/ingest'" in verbose.lines
    assert f"Output 'Orders': '{orders}'" in verbose.lines  # path lines reach log() at "verbose"
    assert default.lines == [f"Running: '{DRIVER_DIR}/clean'"]  # "default": one line per notebook


def test_unknown_verbosity_falls_back_to_default_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="'chatty' is unknown"):
        logger = DefaultLogger("chatty")
    assert logger.verbosity == "default" and DefaultLogger().verbosity == "default"
    with pytest.raises(TypeError):
        LoggerBase()  # type: ignore[abstract]  # still abstract: log() must be implemented


def test_a_logger_of_the_wrong_type_is_refused(storage, dbutils) -> None:
    flow = init_flow(storage, dbutils=dbutils)
    with pytest.raises(ValueError, match="LoggerBase"):
        flow.ctx.logger = print  # type: ignore[assignment]


class Lineage(FlowPluginBase):
    """A 0.6.x flow plugin that reads the published tables."""

    @property
    def action_name(self) -> str:
        return "lineage"

    def act(self, flow, *args, **kwargs):
        repo = flow.ctx.tables_repo
        return {name: dict(pubs) for name, pubs in repo.tables.items()}, repo.resolve("Orders")


class Describe(NotebookPluginBase):
    """A 0.6.x notebook plugin that reads the declared inputs and outputs with their 0.6.x names."""

    @property
    def action_name(self) -> str:
        return "describe"

    def act(self, notebook, flow, *args, **kwargs):
        ins = {n: (i.abs_file_path, i.source_table, i.is_optional) for n, i in notebook.get_inputs().items()}
        outs = {n: (o.abs_file_path, o.alias, o.cols) for n, o in notebook.get_outputs().items()}
        return notebook.rel_path, ins, outs, notebook.ctx is flow.ctx


def test_plugins_read_tables_repo_inputs_and_outputs(storage, dbutils) -> None:
    flow = init_flow(storage, dbutils=dbutils)
    flow.install(Lineage())
    flow.install(Describe())
    flow.notebook("ingest").output("Orders").run()
    orders = storage.get_abs_path("project/ingest/Orders.parquet")
    clean = (
        flow.notebook("clean").input("Src", source_table="Orders").output("Clean", cols=[("id", "bigint")], alias="C")
    )
    described = clean.describe()
    assert described == (
        "clean",
        {"Src": (orders, "Orders", False)},
        {"Clean": (storage.get_abs_path("project/clean/Clean.parquet"), "C", [("id", "bigint")])},
        True,
    )
    assert flow.lineage() == ({"Orders": {"ingest": orders}}, orders)


def test_pipeline_runs_and_published_tables(storage, dbutils) -> None:
    flow = init_flow(storage, dbutils=dbutils)
    assert flow.notebook("ingest").args({"year": "2022"}).output("Orders").run() == "ingested"
    flow.notebook("clean").input("Orders").output("Clean").run()
    runs = list(flow.ctx.pipeline.runs)
    assert [r.notebook_path for r in runs] == [f"{DRIVER_DIR}/ingest", f"{DRIVER_DIR}/clean"]
    assert isinstance(runs[0], NotebookRun) and dict(runs[0].args) == {"year": "2022"}
    assert dict(runs[1].inputs) == {"Orders": flow["Orders"]} and dict(runs[1].outputs) == {"Clean": flow["Clean"]}
    assert flow["Unknown"] is None
    assert flow.ctx.resolve_table("Orders") == flow["Orders"]


def test_run_return_values_and_lazy_runs(storage, dbutils) -> None:
    calls: list[str] = []
    dbutils.notebook.register("side", lambda args: calls.append("side") or "side done")
    flow = init_flow(storage, dbutils=dbutils)
    assert flow.notebook("ingest").output("Orders").run(is_lazy=True) == "ingested"  # outputs missing: runs
    assert flow.notebook("ingest").output("Orders").run(is_lazy=True) is None  # outputs exist: skipped
    assert flow.notebook("side").run(is_lazy=True) is None and calls == []  # no outputs: lazily skipped (0.6.x)
    assert flow.notebook("side").run() == "side done" and calls == ["side"]


def test_show_goes_through_the_display(storage, dbutils) -> None:
    flow = init_flow(storage, dbutils=dbutils)
    display = ListDisplay()
    flow.ctx.display = display
    storage.root.mkdir(parents=True, exist_ok=True)
    (storage.root / "raw.csv").write_text("id\n1\n")
    nb = flow.notebook("ingest").args({"year": "2022"}).input("Raw", file_path="raw.csv").output("Orders", alias="O")
    nb.show()
    nb.run()
    flow.show()
    raw, orders = storage.get_abs_path("raw.csv"), storage.get_abs_path("project/ingest/Orders.parquet")
    assert display.shown == [
        f"Notebook: 'ingest'\nArgs:\n\t'year': '2022'\nInputs:\n\t'Raw': '{raw}'\nOutputs:\n\t'Orders': '{orders}'",
        f"Evaluated tables:\n'O'\n  'ingest' : '{orders}'",
    ]


def test_callee_defaults_are_stringified_and_values_print_as_themselves(dbutils) -> None:
    with use_runtime(dbutils=dbutils):
        args = init_args({"a": 42, "b": "x"})
    assert args["a"].value == "42" and f"{args['a']}" == "42" and repr(args["b"]) == "x"
    assert args["a"].name == "a" and args["a"].has_value


def test_schema_assertions_as_in_0_6() -> None:
    assert_schema_compatible([("id", "int"), ("x", "string")], [("id", "bigint"), ("x", None)])
    with pytest.raises(AssertionError, match="Column 'y' is not present"):
        assert_schema_compatible([("id", "int")], [("y", "string")])
    with pytest.raises(AssertionError, match=r"Additional columns were present in the table. Columns: \['x'\]"):
        assert_schema_compatible([("id", "int"), ("x", "string")], [("id", "int")], is_strict=True)


def test_lazy_notebook_0_6_constructor_on_a_context(storage, dbutils) -> None:
    ctx = FlowContext(storage, None, dbutils, DefaultLogger())
    nb = LazyNotebook("ingest", ctx)
    assert isinstance(nb, LazyNotebook) and nb.rel_path == "ingest"
    assert nb.output("Orders").run() == "ingested"
    assert ctx.resolve_table("Orders") == storage.get_abs_path("project/ingest/Orders.parquet")
    clean = LazyNotebook("clean", ctx).input("Orders")  # resolved from the tables published on ctx
    assert clean.get_inputs()["Orders"].abs_file_path == ctx.resolve_table("Orders")


def test_a_context_finds_dbutils_only_when_it_needs_them(storage, dbutils) -> None:
    ctx = FlowContext(storage, None, None, DefaultLogger())  # no runtime here: still fine (as 0.6.x)
    with use_runtime(dbutils=dbutils):
        assert ctx.dbutils is dbutils


def test_notebook_runs_go_through_databricks_run_notebook(storage, dbutils) -> None:
    from unittest.mock import patch

    flow = init_flow(storage, dbutils=dbutils)
    with patch("dtflw.databricks.run_notebook", return_value="patched") as run_notebook:
        assert flow.notebook("side").args({"a": "1"}).timeout(30).run() == "patched"
    assert run_notebook.call_args.args == ("side", 30, {"a": "1"})


def test_empty_file_path_means_resolve_and_published_tables_resolve(storage, dbutils) -> None:
    flow = init_flow(storage, dbutils=dbutils)
    flow.ctx.publish_tables({"Manual": storage.get_abs_path("m.parquet")}, "elsewhere")
    nb = flow.notebook("clean").input("Manual", file_path="")
    assert nb.get_inputs()["Manual"].abs_file_path == storage.get_abs_path("m.parquet")
    assert flow["Manual"] == storage.get_abs_path("m.parquet")
