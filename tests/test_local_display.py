"""`display()` of Python objects in the local runtime: tables, not reprs (no Spark needed)."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import Row

from dtflw.emulated.fs import FileInfo
from dtflw.local.interpreter import display
from dtflw.local.runtime import LocalRuntime
from dtflw.local.tabular import render_table, table_of

pytestmark = pytest.mark.engines  # make test runs this module on every Spark engine


class FakePandas:
    """Just what pandas offers to `display` (pandas is not a dependency)."""

    def __init__(self, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        self.columns, self.rows, self.dtypes = columns, rows, {}

    def head(self, n: int) -> FakePandas:
        return FakePandas(self.columns, self.rows[:n])

    def itertuples(self, index: bool = True, name: str | None = "Pandas") -> list[tuple[Any, ...]]:
        assert index is False and name is None
        return list(self.rows)

    def _repr_html_(self) -> str:
        return "<pandas/>"


@dataclasses.dataclass
class Point:
    x: int
    y: int


@pytest.mark.parametrize(
    "obj, names, rows",
    [
        ([FileInfo("dbfs:/a/", "a/", 0, 5)], ["path", "name", "size", "modificationTime"], [["dbfs:/a/", "a/", 0, 5]]),
        ([{"a": 1}, {"b": 2, "a": 3}], ["a", "b"], [[1, None], [3, 2]]),
        ({"k": "v", "n": 1}, ["key", "value"], [["k", "v"], ["n", 1]]),
        ([Row(id=1, s="x"), Row(id=2, s=None)], ["id", "s"], [[1, "x"], [2, None]]),
        (Row(id=1), ["id"], [[1]]),
        (FakePandas(["c1", "c2"], [(1, "a"), (2, "b")]), ["c1", "c2"], [[1, "a"], [2, "b"]]),
        ([Point(1, 2)], ["x", "y"], [[1, 2]]),
        ([1, "two"], ["value"], [[1], ["two"]]),
        ([], [], []),
    ],
)
def test_table_of_python_objects(obj: Any, names: list[str], rows: list[list[Any]]) -> None:
    assert table_of(obj, 100) == ((names, rows), False)


@pytest.mark.parametrize("obj", ["text", 42, 1.5, None, b"bytes"])
def test_scalars_are_not_tables(obj: Any) -> None:
    assert table_of(obj, 100) is None


def test_truncation_and_rendering() -> None:
    (names, rows), truncated = table_of([{"n": i, "s": "<b>"} for i in range(5)], 3)
    assert (len(rows), truncated) == (3, True)
    text, markup = render_table(names, rows, truncated, 3)
    assert text.splitlines()[:4] == ["+---+-----+", "| n | s   |", "+---+-----+", "| 0 | <b> |"]
    assert text.endswith("(first 3 rows)")
    assert "<th>n</th><th>s</th>" in markup and "<td>0</td><td>&lt;b&gt;</td>" in markup
    assert "Showing the first 3 rows." in markup


def test_display_outside_a_run_prints_a_text_table(capsys) -> None:
    display([Row(id=1, name=None)])
    assert capsys.readouterr().out.splitlines() == [
        "+----+------+",
        "| id | name |",
        "+----+------+",
        "| 1  | null |",
        "+----+------+",
    ]


def test_display_in_a_notebook_records_html_tables(tmp_path: Path) -> None:
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    (tmp_path / "dbfs" / "FileStore").mkdir(parents=True)
    (tmp_path / "dbfs" / "FileStore" / "f.csv").write_text("a,b\n")
    main = tmp_path / "proj" / "main.py"
    main.parent.mkdir()
    main.write_text(
        textwrap.dedent(
            """\
            # Databricks notebook source
            display(dbutils.fs.ls("/FileStore"))
            display([{"a": 1, "b": "x"}])
            display({"k": "v"})
            display("plain")
            """
        )
    )
    runtime.run_notebook(main)
    outputs = runtime.records[0].cells[0].outputs
    assert [o.kind for o in outputs] == ["html", "html", "html", "text"]
    listing = outputs[0].data["text/html"]
    assert "<th>path</th><th>name</th><th>size</th><th>modificationTime</th>" in listing
    assert "<td>dbfs:/FileStore/f.csv</td><td>f.csv</td><td>4</td>" in listing
    assert "| a | b |" in outputs[1].text and "<td>1</td><td>x</td>" in outputs[1].data["text/html"]
    assert "<td>k</td><td>v</td>" in outputs[2].data["text/html"]
    assert outputs[3].text == "'plain'"
