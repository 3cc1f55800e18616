"""SQL-language notebooks, blank ``# MAGIC`` lines, notebook lookup and unsupported languages.

Fixtures in ``tests/fixtures`` are Databricks SOURCE exports: ``sql_project`` (a SQL notebook with
widgets, a SQL include and a Python driver) and ``magic_export`` (blank MAGIC lines before magics).
Only the last test needs Spark.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dtflw.cli import main as cli_main
from dtflw.emulated.errors import InputWidgetNotDefined
from dtflw.errors import DtflwError, NotebookRunError
from dtflw.local.runtime import NOTEBOOK_SUFFIXES, LocalRuntime, find_notebook_file
from dtflw.local.source import NotebookSourceError, UnsupportedLanguageError, parse_notebook_file
from dtflw.local.sqltext import WidgetStatement, bind_widgets, parse_widget_statement, split_sql

pytestmark = pytest.mark.engines  # make test runs this module on every Spark engine

FIXTURES = Path(__file__).parent / "fixtures"
SQL_PROJECT = FIXTURES / "sql_project"
MAGIC_EXPORT = FIXTURES / "magic_export"


def write(folder: Path, rel: str, text: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def runtime(tmp_path: Path) -> LocalRuntime:
    return LocalRuntime(dbfs_root=tmp_path / "run" / "dbfs", progress=False)


# ---- parsing ---------------------------------------------------------------------------------
def test_sql_export_parses_into_sql_md_and_python_cells() -> None:
    nb = parse_notebook_file(SQL_PROJECT / "create_sales.sql")
    assert nb.language == "sql"
    assert [(c.kind, c.magic, c.title) for c in nb.cells] == [
        ("md", "md", None),
        ("sql", None, None),
        ("sql", None, "Orders"),
        ("sql", None, "Summary table"),
        ("python", "python", None),
    ]
    assert nb.cells[0].source.startswith("# Sales summary\n\nBuilds")
    assert nb.cells[4].source.startswith("row = _sqldf.first()")
    assert nb.cells[4].first_line == 40


def test_blank_magic_lines_before_the_magic_are_skipped() -> None:
    nb = parse_notebook_file(MAGIC_EXPORT / "main.py")
    kinds = [(c.kind, c.source) for c in nb.cells]
    assert kinds[:4] == [
        ("md", "# Exported with blank MAGIC lines"),
        ("run", "./conf"),
        ("sql", "CREATE WIDGET TEXT greeting DEFAULT 'hello'"),
        ("sh", "echo not run locally"),
    ]
    assert nb.cells[1].title == "Config" and nb.cells[1].first_line == 10


@pytest.mark.parametrize(
    "name, text, kind",
    [
        ("q.sql", "-- Databricks notebook source\n-- MAGIC\n-- MAGIC %python\n-- MAGIC x = 1\n", "python"),
        ("q.sql", "-- Databricks notebook source\n-- MAGIC \n-- MAGIC %run ./x\n", "run"),
        ("p.py", "# Databricks notebook source\n# MAGIC \n# MAGIC %pip install x\n", "pip"),
    ],
)
def test_blank_magic_lines_for_every_prefix(tmp_path: Path, name: str, text: str, kind: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert [c.kind for c in parse_notebook_file(path).cells] == [kind]


@pytest.mark.parametrize(
    "name, text, language",
    [
        ("job.scala", "// Databricks notebook source\nval x = 1\n", "Scala"),
        ("job.r", "# Databricks notebook source\nx <- 1\n", "R"),
        ("job.R", "# Databricks notebook source\nx <- 1\n", "R"),
    ],
)
def test_scala_and_r_notebooks_fail_clearly(tmp_path: Path, name: str, text: str, language: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnsupportedLanguageError) as info:
        parse_notebook_file(path)
    assert str(info.value) == f"{language} notebooks are not supported by the local runtime: {path}"
    assert isinstance(info.value, DtflwError)


# ---- SQL text --------------------------------------------------------------------------------
def test_split_sql_ignores_semicolons_in_strings_and_comments() -> None:
    text = "SELECT 'a;b', \"c;d\", `e;f` -- x; y\n;\n/* g; h */ SELECT 'it\\'s;' /*+ hint */;\n-- only a comment;\n"
    assert split_sql(text) == ["SELECT 'a;b', \"c;d\", `e;f`", "/* g; h */ SELECT 'it\\'s;' /*+ hint */"]


def test_bind_widgets_markers_legacy_and_get_argument() -> None:
    widgets = {"region": "EMEA", "n": "10", "quote": "it's"}
    statement = (
        "SELECT :region, ':region', :unknown, x::int, ${n}, '${n}', ${missing}, "
        "getArgument('quote'), GETARGUMENT(\"n\"), getArgument('nope', 'dflt'), 'getArgument(\"n\")', :n"
    )
    assert bind_widgets(statement, widgets) == (
        "SELECT 'EMEA', ':region', :unknown, x::int, 10, '10', ${missing}, "
        "'it\\'s', '10', 'dflt', 'getArgument(\"n\")', '10'"
    )
    with pytest.raises(InputWidgetNotDefined, match="No input widget named nope"):
        bind_widgets("SELECT getArgument('nope')", widgets)


@pytest.mark.parametrize(
    "statement, expected",
    [
        ("CREATE WIDGET TEXT region DEFAULT 'EMEA'", WidgetStatement("text", "region", "EMEA")),
        ('create widget text `my name` default "a\\"b"', WidgetStatement("text", "my name", 'a"b')),
        ("CREATE WIDGET TEXT empty", WidgetStatement("text", "empty", "")),
        (
            "CREATE WIDGET DROPDOWN r DEFAULT 'a' CHOICES SELECT x FROM t",
            WidgetStatement("dropdown", "r", "a", "SELECT x FROM t"),
        ),
        ("REMOVE WIDGET region", WidgetStatement("remove", "region")),
        ("SELECT 'CREATE WIDGET TEXT x'", None),
        ("CREATE TABLE widget (x INT)", None),
    ],
)
def test_widget_statements(statement: str, expected: WidgetStatement | None) -> None:
    assert parse_widget_statement(statement) == expected


# ---- running without Spark -------------------------------------------------------------------
def test_magic_export_with_blank_magic_lines_runs_every_cell(runtime: LocalRuntime, capfd) -> None:
    assert runtime.run_notebook(MAGIC_EXPORT / "main.py") == "dev:hello"
    assert runtime.run_notebook(MAGIC_EXPORT / "main.py", {"greeting": "hi"}) == "dev:hi"
    cells = runtime.records[0].cells
    assert [c.status for c in cells] == ["ok", "ok", "ok", "ok", "exited"]
    warnings = [o.text for c in cells for o in c.outputs if o.kind == "warning"]
    assert warnings == ["main.py, cell 4 (line 22): %sh is not run by the local runtime; skipped: echo not run locally"]
    assert "[dtflw] warning: main.py, cell 4 (line 22): %sh is not run" in capfd.readouterr().err


def test_sql_notebook_found_by_notebook_run_and_percent_run(tmp_path: Path, runtime: LocalRuntime) -> None:
    project = tmp_path / "proj"
    write(
        project,
        "params.sql",
        """
        -- Databricks notebook source
        CREATE WIDGET TEXT who DEFAULT 'default';
        -- a comment-only statement is fine;
        CREATE WIDGET TEXT other DEFAULT 'x'

        -- COMMAND ----------

        -- MAGIC %python
        -- MAGIC seen = dbutils.widgets.get("who")
        """,
    )
    write(
        project,
        "child.sql",
        """
        -- Databricks notebook source
        CREATE WIDGET TEXT who DEFAULT 'nobody'

        -- COMMAND ----------

        -- MAGIC %python
        -- MAGIC dbutils.notebook.exit("child:" + dbutils.widgets.get("who"))
        """,
    )
    main = write(
        project,
        "main.py",
        """
        # Databricks notebook source
        # MAGIC %run ./params $who=include

        # COMMAND ----------

        first = dbutils.notebook.run("child", 0, {"who": "arg"})
        dbutils.notebook.exit(seen + "|" + first + "|" + dbutils.notebook.run("./child", 0))
        """,
    )
    assert runtime.run_notebook(main) == "include|child:arg|child:nobody"
    assert [Path(r.file).name for r in runtime.records] == ["main.py", "child.sql", "child.sql"]


def test_cli_runs_a_sql_notebook_file(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path / "proj",
        "only.sql",
        """
        -- Databricks notebook source
        CREATE WIDGET TEXT n DEFAULT '1'

        -- COMMAND ----------

        -- MAGIC %python
        -- MAGIC dbutils.notebook.exit("n=" + dbutils.widgets.get("n"))
        """,
    )
    common = ["--dbfs-root", str(tmp_path / "dbfs"), "--report", str(tmp_path / "rep"), "--quiet"]
    assert cli_main(["run", str(path), "-p", "n=7", *common]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "n=7"


def test_lookup_order_and_unsupported_languages(tmp_path: Path) -> None:
    assert NOTEBOOK_SUFFIXES == (".py", ".sql", ".ipynb", ".scala", ".r", ".R")
    for suffix in (".scala", ".ipynb", ".sql", ".py"):
        (tmp_path / f"nb{suffix}").write_text("-- Databricks notebook source\n", encoding="utf-8")
        assert find_notebook_file(tmp_path / "nb") == tmp_path / f"nb{suffix}"
    assert find_notebook_file(tmp_path / "nb.sql") == tmp_path / "nb.sql"
    assert find_notebook_file(tmp_path / "none") is None


def test_missing_notebooks_list_every_suffix_tried(tmp_path: Path, runtime: LocalRuntime) -> None:
    project = tmp_path / "proj"
    tried = "(tried .py, .sql, .ipynb, .scala, .r, .R)"
    by_run = write(project, "a.py", "# Databricks notebook source\n# MAGIC %run ./gone\n")
    by_call = write(project, "b.py", "# Databricks notebook source\ndbutils.notebook.run('gone', 0)\n")
    with pytest.raises(NotebookRunError) as info:
        runtime.run_notebook(by_run)
    assert info.value.reason == (
        f"NotebookSourceError: a.py: %run target './gone' not found: no file {project.resolve() / 'gone'} {tried}"
    )
    with pytest.raises(NotebookRunError) as info:
        runtime.run_notebook(by_call)
    assert f"not found: no file {project.resolve() / 'gone'} {tried}" in str(info.value)
    assert "registered notebooks" not in str(info.value) and ".." not in info.value.reason
    with pytest.raises(DtflwError, match=r"Notebook file '.*nowhere' not found \(tried .py, .sql, .ipynb"):
        runtime.run_notebook(project / "nowhere")


@pytest.mark.parametrize("magic, language", [("scala", "Scala"), ("r", "R")])
def test_scala_and_r_cells_fail_the_notebook(tmp_path: Path, runtime: LocalRuntime, magic: str, language: str) -> None:
    main = write(
        tmp_path / "proj",
        "main.py",
        f"""
        # Databricks notebook source
        x = 1

        # COMMAND ----------

        # MAGIC %{magic}
        # MAGIC val y = 2
        """,
    )
    with pytest.raises(NotebookRunError) as info:
        runtime.run_notebook(main)
    assert info.value.reason == (
        f"UnsupportedLanguageError: {language} cells are not supported by the local runtime: {main.resolve()}, "
        "cell 2, line 7"
    )
    assert isinstance(info.value.__cause__, NotebookSourceError)


def test_scala_notebook_run_from_python_fails_clearly(tmp_path: Path, runtime: LocalRuntime) -> None:
    project = tmp_path / "proj"
    write(project, "job.scala", "// Databricks notebook source\nval x = 1\n")
    main = write(project, "main.py", "# Databricks notebook source\ndbutils.notebook.run('job', 0)\n")
    with pytest.raises(NotebookRunError, match="Scala notebooks are not supported by the local runtime: .*job.scala"):
        runtime.run_notebook(main)


def test_magic_lines_without_a_magic_word_warn(tmp_path: Path, runtime: LocalRuntime) -> None:
    main = write(
        tmp_path / "proj",
        "main.py",
        """
        # Databricks notebook source
        # MAGIC
        # MAGIC SELECT 1

        # COMMAND ----------

        dbutils.notebook.exit("went on")
        """,
    )
    assert runtime.run_notebook(main) == "went on"
    [warning] = [o.text for o in runtime.records[0].cells[0].outputs]
    assert warning == "main.py, cell 1 (line 2): only MAGIC lines, no %magic word; nothing was run."


# ---- with Spark ------------------------------------------------------------------------------
@pytest.mark.spark
def test_sql_project_runs_unmodified(spark_session, tmp_path: Path) -> None:
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    assert runtime.run_notebook(SQL_PROJECT / "driver.py") == "EMEA:2:60:a;b|total=120"
    driver, child = runtime.records
    assert (Path(child.file).name, child.arguments, child.exit_value) == (
        "create_sales.sql",
        {"region": "EMEA"},
        "EMEA:2:60:a;b",
    )
    summary = child.cells[3].outputs[-1]
    assert "<td>EMEA</td><td>2</td><td>60</td><td>a;b</td>" in summary.data["text/html"]
    assert "| EMEA   | 2      | 60    | a;b  |" in summary.text
    rows = runtime.spark.table("dtflw_sql_sales").collect()
    assert [tuple(r) for r in rows] == [("EMEA", 2, 60, "a;b")]
    assert "<th>converted</th>" in driver.cells[3].outputs[-1].data["text/html"]
