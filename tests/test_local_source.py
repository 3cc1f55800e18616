"""Tests for dtflw.local.source: Databricks SOURCE, ipynb and plain-Python notebook parsing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dtflw.errors import DtflwError
from dtflw.local.source import (
    Cell,
    Notebook,
    NotebookSourceError,
    RunDirective,
    is_databricks_source,
    notebook_to_ipynb_dict,
    parse_databricks_source,
    parse_ipynb,
    parse_notebook_file,
    parse_run_directive,
)

HEADER = "# Databricks notebook source\n"
SEP = "# COMMAND ----------"

SAMPLE = """# Databricks notebook source
import pyspark.sql.functions as F

# COMMAND ----------

# MAGIC %md
# MAGIC # Title
# MAGIC
# MAGIC Some *markdown*.

# COMMAND ----------

# DBTITLE 1,Load config
# MAGIC %run ./config $env="dev" $catalog=main

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT * FROM main.sales.orders WHERE id = :order_id

# COMMAND ----------

# MAGIC %pip install requests==2.32.3

# COMMAND ----------

# MAGIC %sh ls -la

# COMMAND ----------

df = spark.table("main.sales.orders")
"""


def src(*cells: str) -> str:
    """Build a SOURCE notebook from cell texts with the conventional blank lines."""
    return HEADER + f"\n\n{SEP}\n\n".join(cells) + "\n"


def only_cell(text: str) -> Cell:
    """Parse SOURCE text that must hold exactly one cell."""
    nb = parse_databricks_source(text, "nb.py")
    assert len(nb.cells) == 1
    return nb.cells[0]


def ipynb(*cells: dict[str, Any], metadata: dict[str, Any] | None = None) -> str:
    """Serialize an nbformat-4 notebook with the given cells."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 0, "metadata": metadata or {}, "cells": list(cells)})


def code(source: str | list[str], **metadata: Any) -> dict[str, Any]:
    """Build an nbformat code cell."""
    return {"cell_type": "code", "source": source, "metadata": metadata, "outputs": []}


def markdown(source: str | list[str]) -> dict[str, Any]:
    """Build an nbformat markdown cell."""
    return {"cell_type": "markdown", "source": source, "metadata": {}}


# --------------------------------------------------------------------------- SOURCE format


def test_reference_sample_parses_into_expected_cells() -> None:
    nb = parse_databricks_source(SAMPLE, "sample.py")
    assert nb.path == "sample.py"
    assert nb.format == "databricks-source"
    assert nb.language == "python"
    assert [(c.index, c.kind, c.magic, c.source, c.title, c.first_line) for c in nb.cells] == [
        (0, "python", None, "import pyspark.sql.functions as F", None, 2),
        (1, "md", "md", "# Title\n\nSome *markdown*.", None, 7),
        (2, "run", "run", './config $env="dev" $catalog=main', "Load config", 14),
        (3, "sql", "sql", "SELECT * FROM main.sales.orders WHERE id = :order_id", None, 19),
        (4, "pip", "pip", "install requests==2.32.3", None, 23),
        (5, "sh", "sh", "ls -la", None, 27),
        (6, "python", None, 'df = spark.table("main.sales.orders")', None, 31),
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("# Databricks notebook source\nx = 1\n", True),
        ("\ufeff# Databricks notebook source\nx = 1\n", True),
        ("# Databricks notebook source   \r\nx = 1\r\n", True),
        ("-- Databricks notebook source\nSELECT 1\n", True),
        ("// Databricks notebook source\nval x = 1\n", True),
        ("import os\n# Databricks notebook source\n", False),
        ("  # Databricks notebook source\n", False),
        ("# Databricks notebook", False),
        ("", False),
    ],
)
def test_is_databricks_source(text: str, expected: bool) -> None:
    assert is_databricks_source(text) is expected


def test_bom_and_header_are_not_part_of_first_cell() -> None:
    nb = parse_databricks_source("\ufeff# Databricks notebook source\nx = 1\n")
    assert nb.path == "<notebook>"
    assert nb.cells == (Cell(0, "python", "x = 1", None, None, 2),)


def test_separators_without_blank_lines() -> None:
    text = HEADER + f"a = 1\n{SEP}\nb = 2\n{SEP}\nc = 3"
    nb = parse_databricks_source(text)
    assert [(c.source, c.first_line) for c in nb.cells] == [
        ("a = 1", 2),
        ("b = 2", 4),
        ("c = 3", 6),
    ]


def test_separators_with_extra_blank_lines_and_indentation() -> None:
    text = HEADER + f"\n\n\na = 1\n\n\n   {SEP}   \n\n\nb = 2\n\n"
    nb = parse_databricks_source(text)
    assert [(c.source, c.first_line) for c in nb.cells] == [("a = 1", 5), ("b = 2", 11)]


def test_empty_cells_are_dropped_and_indices_stay_contiguous() -> None:
    segments = ["", "   ", "x = 1", "# DBTITLE 1,Nothing\n", "y = 2"]
    text = HEADER + f"\n{SEP}\n".join(segments) + "\n"
    nb = parse_databricks_source(text)
    assert [(c.index, c.source) for c in nb.cells] == [(0, "x = 1"), (1, "y = 2")]


def test_inner_blank_lines_and_indentation_are_kept() -> None:
    cell = only_cell(src("def f():\n    x = 1\n\n    return x"))
    assert cell.source == "def f():\n    x = 1\n\n    return x"


@pytest.mark.parametrize(
    "title_line, title",
    [
        ("# DBTITLE 1,Load config", "Load config"),
        ("# DBTITLE 0,Hidden title", "Hidden title"),
        ("# DBTITLE 1,  Spaced, with comma  ", "Spaced, with comma"),
        ("# DBTITLE 1,", None),
    ],
)
def test_dbtitle_becomes_title(title_line: str, title: str | None) -> None:
    cell = only_cell(src(f"{title_line}\nx = 1"))
    assert (cell.title, cell.source, cell.kind, cell.first_line) == (title, "x = 1", "python", 3)


def test_dbtitle_on_magic_cell() -> None:
    cell = only_cell(src("# DBTITLE 0,Query\n# MAGIC %sql\n# MAGIC SELECT 1"))
    assert (cell.kind, cell.title, cell.source, cell.first_line) == ("sql", "Query", "SELECT 1", 4)


def test_magic_prefix_with_and_without_trailing_space() -> None:
    cell = only_cell(src("# MAGIC %md\n# MAGIC line one\n# MAGIC\n# MAGIC \n# MAGIC line four"))
    assert cell.source == "line one\n\n\nline four"


def test_magic_cell_line_without_prefix_is_kept() -> None:
    cell = only_cell(src("# MAGIC %sql\n# MAGIC SELECT 1\nFROM t"))
    assert (cell.kind, cell.source) == ("sql", "SELECT 1\nFROM t")


def test_magic_prefix_keeps_indentation_after_single_space() -> None:
    cell = only_cell(src("# MAGIC %python\n# MAGIC if x:\n# MAGIC     y = 1"))
    assert (cell.kind, cell.magic, cell.source, cell.first_line) == (
        "python",
        "python",
        "if x:\n    y = 1",
        3,
    )


def test_md_with_text_on_magic_line() -> None:
    cell = only_cell(src("# MAGIC %md # Title\n# MAGIC\n# MAGIC Body"))
    assert (cell.kind, cell.magic, cell.first_line) == ("md", "md", 2)
    assert cell.source == "# Title\n\nBody"


def test_md_alone_on_magic_line_starts_on_next_line() -> None:
    cell = only_cell(src("# MAGIC %md\n# MAGIC ## Sub"))
    assert (cell.source, cell.first_line) == ("## Sub", 3)


def test_md_without_body_is_kept_with_empty_source() -> None:
    cell = only_cell(src("# MAGIC %md"))
    assert (cell.kind, cell.source, cell.first_line) == ("md", "", 2)


def test_md_sandbox() -> None:
    cell = only_cell(src("# MAGIC %md-sandbox\n# MAGIC <div>hi</div>"))
    assert (cell.kind, cell.magic, cell.source) == ("md", "md-sandbox", "<div>hi</div>")


def test_sql_multiline() -> None:
    cell = only_cell(src("# MAGIC %sql\n# MAGIC SELECT *\n# MAGIC FROM t;\n# MAGIC SELECT 2"))
    assert (cell.kind, cell.magic, cell.source, cell.first_line) == (
        "sql",
        "sql",
        "SELECT *\nFROM t;\nSELECT 2",
        3,
    )


@pytest.mark.parametrize(
    "cell_text, kind, magic, source",
    [
        ("# MAGIC %pip install requests==2.32.3 pd", "pip", "pip", "install requests==2.32.3 pd"),
        ("# MAGIC %sh ls -la\n# MAGIC echo done", "sh", "sh", "ls -la\necho done"),
        ("# MAGIC %sh\n# MAGIC pwd", "sh", "sh", "pwd"),
        ("# MAGIC %fs ls /tmp", "fs", "fs", "ls /tmp"),
        ("# MAGIC %scala\n# MAGIC val x = 1", "scala", "scala", "val x = 1"),
        ("# MAGIC %r\n# MAGIC x <- 1", "r", "r", "x <- 1"),
        ("# MAGIC %conda install numpy", "conda", "conda", "install numpy"),
        ("# MAGIC %lsmagic", "unknown", "lsmagic", ""),
        ("# MAGIC %time_it x\n# MAGIC y", "unknown", "time_it", "x\ny"),
    ],
)
def test_line_and_language_magics(cell_text: str, kind: str, magic: str, source: str) -> None:
    cell = only_cell(src(cell_text))
    assert (cell.kind, cell.magic, cell.source) == (kind, magic, source)


def test_magic_cell_without_percent_word_stays_python() -> None:
    cell = only_cell(src("# MAGIC just a comment\n# MAGIC another"))
    assert (cell.kind, cell.magic, cell.source) == (
        "python",
        None,
        "# MAGIC just a comment\n# MAGIC another",
    )


def test_plain_comments_stay_python() -> None:
    cell = only_cell(src("# %sql is mentioned here\n# MAGIC later\nx = 1  # comment"))
    assert (cell.kind, cell.magic) == ("python", None)
    assert cell.source == "# %sql is mentioned here\n# MAGIC later\nx = 1  # comment"


def test_percent_line_in_python_cell_is_not_a_magic_in_source_format() -> None:
    cell = only_cell(src("%sql\nSELECT 1"))
    assert (cell.kind, cell.source) == ("python", "%sql\nSELECT 1")


def test_crlf_line_endings() -> None:
    text = src("x = 1", "# MAGIC %md\n# MAGIC Hi", "# MAGIC %run ./a $k=v").replace("\n", "\r\n")
    nb = parse_databricks_source(text)
    assert [(c.kind, c.source, c.first_line) for c in nb.cells] == [
        ("python", "x = 1", 2),
        ("md", "Hi", 7),
        ("run", "./a $k=v", 11),
    ]
    assert all("\r" not in c.source for c in nb.cells)


def test_first_line_numbers_across_cells() -> None:
    text = src("a = 1\nb = 2", "# DBTITLE 1,T\n\n# MAGIC %sql\n# MAGIC SELECT 1", "\n\nc = 3")
    nb = parse_databricks_source(text)
    assert [c.first_line for c in nb.cells] == [2, 10, 16]
    lines = text.split("\n")
    assert [lines[c.first_line - 1] for c in nb.cells] == ["a = 1", "# MAGIC SELECT 1", "c = 3"]


def test_missing_header_is_tolerated() -> None:
    nb = parse_databricks_source(f"x = 1\n{SEP}\ny = 2\n")
    assert [(c.source, c.first_line) for c in nb.cells] == [("x = 1", 1), ("y = 2", 3)]


def test_sql_source_parses_as_sql_notebook() -> None:
    nb = parse_databricks_source("-- Databricks notebook source\nSELECT 1\n", "q.sql")
    assert (nb.language, [(c.kind, c.source) for c in nb.cells]) == ("sql", [("sql", "SELECT 1")])


def test_scala_source_is_rejected() -> None:
    expected = "Scala notebooks are not supported by the local runtime: q.scala"
    with pytest.raises(NotebookSourceError, match=expected):
        parse_databricks_source("// Databricks notebook source\nval x = 1\n", "q.scala")


# --------------------------------------------------------------------------- %run


@pytest.mark.parametrize(
    "text, path, params",
    [
        ("%run ./config", "./config", {}),
        ("%run ./config.py", "./config.py", {}),
        ("%run ../shared/utils", "../shared/utils", {}),
        ("%run /Workspace/Users/a@b.com/lib", "/Workspace/Users/a@b.com/lib", {}),
        ("%run ./x $a=\"b c\" $d=e $f='g'", "./x", {"a": "b c", "d": "e", "f": "g"}),
        ("./x $a=1", "./x", {"a": "1"}),
        ('%run "./my notebook" $k=v', "./my notebook", {"k": "v"}),
        ("%run './quoted.ipynb'", "./quoted.ipynb", {}),
        ('%run ./x   $empty=""   $bare=', "./x", {"empty": "", "bare": ""}),
        (
            '%run ./x $q="say \\"hi\\"" $b="a\\\\b" $w="C:\\dir"',
            "./x",
            {"q": 'say "hi"', "b": "a\\b", "w": "C:\\dir"},
        ),
        ("%run ./x $a=1 $a=2", "./x", {"a": "2"}),
        ("%run ./x $catalog=main $env=dev-1.2", "./x", {"catalog": "main", "env": "dev-1.2"}),
        ("  %run\t./x\t$a=b  ", "./x", {"a": "b"}),
    ],
)
def test_parse_run_directive(text: str, path: str, params: dict[str, str]) -> None:
    directive = parse_run_directive(text)
    assert directive == RunDirective(path=path, params=params)
    assert directive.params == params


@pytest.mark.parametrize(
    "text, detail",
    [
        ("%run", "missing notebook path"),
        ("%run   ", "missing notebook path"),
        ("", "missing notebook path"),
        ('%run ""', "empty notebook path"),
        ("%run $a=b", "missing notebook path"),
        ("%run ./x a=b", "expected \\$name=value"),
        ("%run ./x $a", "expected \\$name=value"),
        ("%run ./x $=b", "expected \\$name=value"),
        ('%run ./x $a="unterminated', 'unterminated " quote'),
        ("%run './x", "unterminated ' quote"),
        ('%run ./x $a="b"c', "unexpected text after closing quote"),
        ("%run ./x\n$a=b", "one line"),
    ],
)
def test_parse_run_directive_errors(text: str, detail: str) -> None:
    with pytest.raises(NotebookSourceError, match=detail) as info:
        parse_run_directive(text)
    assert "malformed %run directive" in str(info.value)
    assert isinstance(info.value, DtflwError)


def test_run_directive_is_hashable_and_copies_params() -> None:
    params = {"a": "1"}
    directive = RunDirective("./x", params)
    params["a"] = "changed"
    assert directive.params == {"a": "1"}
    assert hash(directive) == hash(RunDirective("./x", {"b": "2"}))
    assert directive != RunDirective("./x", {"b": "2"})


def test_run_cell_in_source_keeps_directive_text() -> None:
    cell = only_cell(src("# MAGIC %run ./lib/helpers $x='1 2'\n# MAGIC"))
    assert (cell.kind, cell.magic, cell.source, cell.first_line) == (
        "run",
        "run",
        "./lib/helpers $x='1 2'",
        2,
    )
    assert parse_run_directive(cell.source) == RunDirective("./lib/helpers", {"x": "1 2"})


def test_run_not_alone_in_cell_names_file_and_line() -> None:
    text = src("x = 1", "# MAGIC %run ./config\n# MAGIC\n# MAGIC print(1)")
    expected = r"nb\.py, line 8: %run must be alone in its cell; found 'print\(1\)'"
    with pytest.raises(NotebookSourceError, match=expected):
        parse_databricks_source(text, "nb.py")


def test_run_with_malformed_params_names_file_and_line() -> None:
    with pytest.raises(NotebookSourceError, match=r"nb\.py, line 2: malformed %run directive"):
        parse_databricks_source(src('# MAGIC %run ./x $a="open'), "nb.py")


def test_run_without_path_names_file_and_line() -> None:
    with pytest.raises(NotebookSourceError, match=r"nb\.py, line 2: %run needs a notebook path"):
        parse_databricks_source(src("# MAGIC %run\n# MAGIC ./x"), "nb.py")


# --------------------------------------------------------------------------- ipynb


def test_ipynb_list_and_string_sources() -> None:
    text = ipynb(code(["import os\n", "x = 1\n"]), code("y = 2\nz = 3"))
    nb = parse_ipynb(text, "nb.ipynb")
    assert (nb.path, nb.format, nb.language) == ("nb.ipynb", "ipynb", "python")
    assert nb.cells == (
        Cell(0, "python", "import os\nx = 1", None, None, 1),
        Cell(1, "python", "y = 2\nz = 3", None, None, 1),
    )


def test_ipynb_markdown_raw_and_empty_cells() -> None:
    text = ipynb(
        markdown(["# Title\n", "\n", "Text"]),
        {"cell_type": "raw", "source": "raw stuff", "metadata": {}},
        code([]),
        code("\n  \n"),
        markdown(""),
        code("\n\nx = 1\n\n"),
    )
    nb = parse_ipynb(text)
    assert [(c.index, c.kind, c.magic, c.source, c.first_line) for c in nb.cells] == [
        (0, "md", None, "# Title\n\nText", 1),
        (1, "python", None, "x = 1", 3),
    ]


@pytest.mark.parametrize(
    "source, kind, magic, body, first_line",
    [
        (["%sql\n", "SELECT 1"], "sql", "sql", "SELECT 1", 2),
        (["%%sql\n", "SELECT 2"], "sql", "sql", "SELECT 2", 2),
        (["%md # Heading\n", "text"], "md", "md", "# Heading\ntext", 1),
        (["%md-sandbox\n", "<b>x</b>"], "md", "md-sandbox", "<b>x</b>", 2),
        (["%python\n", "x = 1"], "python", "python", "x = 1", 2),
        (["%run ./project_config"], "run", "run", "./project_config", 1),
        (["%pip install requests"], "pip", "pip", "install requests", 1),
        (["%sh echo hi\n", "ls"], "sh", "sh", "echo hi\nls", 1),
        (["%fs ls /"], "fs", "fs", "ls /", 1),
        (["%scala\n", "val x = 1"], "scala", "scala", "val x = 1", 2),
        (["\n", "%sql\n", "SELECT 3"], "sql", "sql", "SELECT 3", 3),
        (["%matplotlib inline"], "unknown", "matplotlib", "inline", 1),
    ],
)
def test_ipynb_magic_code_cells(source: list[str], kind: str, magic: str, body: str, first_line: int) -> None:
    cell = parse_ipynb(ipynb(code(source))).cells[0]
    assert (cell.kind, cell.magic, cell.source, cell.first_line) == (kind, magic, body, first_line)


def test_ipynb_magic_later_in_cell_stays_python() -> None:
    cell = parse_ipynb(ipynb(code("x = 1\n%time y = 2"))).cells[0]
    assert (cell.kind, cell.magic, cell.source) == ("python", None, "x = 1\n%time y = 2")


def test_ipynb_crlf_sources() -> None:
    cell = parse_ipynb(ipynb(code(["%sql\r\n", "SELECT 1\r\n", "FROM t\r\n"]))).cells[0]
    assert (cell.kind, cell.source) == ("sql", "SELECT 1\nFROM t")


def test_ipynb_databricks_title_metadata() -> None:
    key = "application/vnd.databricks.v1+cell"
    titled = code("x = 1", **{key: {"title": "Setup", "showTitle": True}})
    untitled = code("y = 2", **{key: {"title": "", "nuid": "abc"}})
    nb = parse_ipynb(ipynb(titled, untitled))
    assert [c.title for c in nb.cells] == ["Setup", None]


def test_ipynb_databricks_python_language_accepted() -> None:
    metadata = {
        "application/vnd.databricks.v1+notebook": {"notebookName": "nb", "language": "python"},
        "language_info": {"name": "python"},
    }
    nb = parse_ipynb(ipynb(code("x = 1"), metadata=metadata))
    assert [c.source for c in nb.cells] == ["x = 1"]


def test_ipynb_scala_language_is_rejected() -> None:
    metadata = {"application/vnd.databricks.v1+notebook": {"language": "scala"}}
    with pytest.raises(NotebookSourceError, match=r"Scala notebooks are not supported by the local runtime: q\.ipynb"):
        parse_ipynb(ipynb(code("val x = 1"), metadata=metadata), "q.ipynb")


def test_ipynb_sql_language_has_sql_code_cells() -> None:
    metadata = {"application/vnd.databricks.v1+notebook": {"language": "sql"}}
    nb = parse_ipynb(ipynb(code("SELECT 1"), code(["%python\n", "x = 1"]), metadata=metadata), "q.ipynb")
    assert (nb.language, [c.kind for c in nb.cells]) == ("sql", ["sql", "python"])


@pytest.mark.parametrize(
    "text, detail",
    [
        ("{not json", "bad JSON"),
        ("[]", "no 'cells' list"),
        ('{"nbformat": 4}', "no 'cells' list"),
        ('{"cells": {}}', "no 'cells' list"),
        ('{"cells": [42]}', "cell 1: cell is not a JSON object"),
        ('{"cells": [{"cell_type": "code", "source": 5}]}', "cell 1: 'source' must be"),
        ('{"cells": [{"cell_type": "widget", "source": "x"}]}', "cell 1: unknown cell_type"),
    ],
)
def test_ipynb_bad_content_names_the_file(text: str, detail: str) -> None:
    with pytest.raises(NotebookSourceError, match=detail) as info:
        parse_ipynb(text, "broken.ipynb")
    assert str(info.value).startswith("broken.ipynb")


def test_ipynb_run_not_alone_names_cell_and_line() -> None:
    raw = {"cell_type": "raw", "source": "", "metadata": {}}
    text = ipynb(markdown("hi"), raw, code(["%run ./x\n", "y = 1"]))
    with pytest.raises(NotebookSourceError, match=r"nb\.ipynb, cell 3, line 2: %run must be alone"):
        parse_ipynb(text, "nb.ipynb")


# --------------------------------------------------------------------------- back to ipynb


def test_notebook_to_ipynb_dict_shape() -> None:
    nb = parse_databricks_source(SAMPLE, "/repo/etl/sample.py")
    data = notebook_to_ipynb_dict(nb)
    assert data["nbformat"] == 4
    assert data["metadata"]["application/vnd.databricks.v1+notebook"] == {
        "notebookName": "sample",
        "language": "python",
    }
    first, md, run = data["cells"][:3]
    assert first == {
        "cell_type": "code",
        "metadata": {},
        "source": ["import pyspark.sql.functions as F"],
        "outputs": [],
        "execution_count": None,
    }
    assert md == {
        "cell_type": "markdown",
        "metadata": {},
        "source": ["# Title\n", "\n", "Some *markdown*."],
    }
    assert run["source"] == ['%run ./config $env="dev" $catalog=main']
    assert run["metadata"] == {"application/vnd.databricks.v1+cell": {"title": "Load config", "showTitle": True}}
    assert data["cells"][3]["source"] == [
        "%sql\n",
        "SELECT * FROM main.sales.orders WHERE id = :order_id",
    ]
    json.dumps(data)


def test_notebook_to_ipynb_dict_round_trip() -> None:
    text = src(
        "# DBTITLE 1,Imports\nimport os",
        "# MAGIC %md # Heading\n# MAGIC text",
        "# MAGIC %md-sandbox\n# MAGIC <div/>",
        "# MAGIC %python\n# MAGIC y = 2",
        "# MAGIC %sql\n# MAGIC SELECT 1",
        "# MAGIC %run ./other $a='b c'",
        "# MAGIC %pip install x",
        "# MAGIC %sh ls\n# MAGIC pwd",
        "# MAGIC %fs ls /",
        "# MAGIC %scala\n# MAGIC val v = 1",
        "# MAGIC %conda list",
        "# MAGIC %weird arg",
        "# MAGIC %md",
    )
    original = parse_databricks_source(text, "rt.py")
    again = parse_ipynb(json.dumps(notebook_to_ipynb_dict(original)), "rt.ipynb")

    def shape(nb: Notebook) -> list[tuple[object, ...]]:
        return [(c.index, c.kind, c.magic, c.source, c.title) for c in nb.cells]

    expected = shape(original)
    expected[1] = (1, "md", None, "# Heading\ntext", None)  # a markdown cell carries no magic word
    assert len(expected) == 13
    assert shape(again) == expected
    assert again.cells[-1] == Cell(12, "md", "", "md", None, 1)


# --------------------------------------------------------------------------- files


def test_file_dispatch_databricks_source(tmp_path: Path) -> None:
    path = tmp_path / "etl.py"
    path.write_bytes(("\ufeff" + SAMPLE).encode("utf-8"))
    nb = parse_notebook_file(path)
    assert (nb.path, nb.format, len(nb.cells)) == (str(path), "databricks-source", 7)
    assert nb.cells[2].kind == "run"


def test_file_dispatch_plain_python(tmp_path: Path) -> None:
    path = tmp_path / "helpers.py"
    body = "# just a module\nimport os\n\n# COMMAND ----------\nx = 1"
    path.write_text(f"\n{body}\n\n", encoding="utf-8")
    nb = parse_notebook_file(str(path))
    assert nb.format == "plain-python"
    assert nb.cells == (Cell(0, "python", body, None, None, 2),)


def test_file_dispatch_empty_plain_python(tmp_path: Path) -> None:
    path = tmp_path / "empty.py"
    path.write_text("", encoding="utf-8")
    nb = parse_notebook_file(path)
    assert (nb.format, nb.cells) == ("plain-python", ())


def test_file_dispatch_ipynb(tmp_path: Path) -> None:
    path = tmp_path / "nb.IPYNB"
    path.write_text(ipynb(markdown("# T"), code(["%sql\n", "SELECT 1"])), encoding="utf-8")
    nb = parse_notebook_file(path)
    assert nb.format == "ipynb"
    assert [(c.kind, c.source) for c in nb.cells] == [("md", "# T"), ("sql", "SELECT 1")]


def test_file_dispatch_bad_ipynb_names_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(NotebookSourceError, match="bad.ipynb: not a valid .ipynb file"):
        parse_notebook_file(path)


@pytest.mark.parametrize(
    "filename, content",
    [
        ("s.scala", "// Databricks notebook source\nval x = 1\n"),
        ("r.r", "# Databricks notebook source\nx <- 1\n"),
        ("R.R", "# Databricks notebook source\nx <- 1\n"),
    ],
)
def test_file_dispatch_other_languages_rejected(tmp_path: Path, filename: str, content: str) -> None:
    path = tmp_path / filename
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NotebookSourceError, match="notebooks are not supported by the local runtime") as info:
        parse_notebook_file(path)
    assert filename in str(info.value)


def test_file_dispatch_by_content_without_extension(tmp_path: Path) -> None:
    source, notebook, sql, other = (tmp_path / n for n in ("a", "b", "c", "d"))
    source.write_text(HEADER + "x = 1\n", encoding="utf-8")
    notebook.write_text(ipynb(code("y = 2")), encoding="utf-8")
    sql.write_text("-- Databricks notebook source\nSELECT 1\n", encoding="utf-8")
    other.write_text("hello", encoding="utf-8")
    assert parse_notebook_file(source).format == "databricks-source"
    assert parse_notebook_file(notebook).cells[0].source == "y = 2"
    assert parse_notebook_file(sql).language == "sql"
    with pytest.raises(NotebookSourceError, match="unsupported notebook file"):
        parse_notebook_file(other)


def test_file_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = '\xe9'\n")
    with pytest.raises(NotebookSourceError, match="latin.py: not a UTF-8 text file"):
        parse_notebook_file(path)


def test_invalid_cell_kind_is_rejected() -> None:
    with pytest.raises(ValueError):
        Cell(0, "javascript", "x")
