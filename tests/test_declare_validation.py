"""Bad input to the declaring API fails at declaration, with a dtflw error naming what is wrong."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from dtflw import init_flow
from dtflw.errors import DtflwError, FlowDefinitionError, InvalidArgumentError, InvalidTypeError
from dtflw.storage.dbfs import DbfsStorage
from dtflw.storage.local import LocalStorage
from dtflw.storage.volumes import VolumeStorage
from dtflw.testing import FakeDbutils


@pytest.fixture
def flow(tmp_path: Path):
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.notebook.register("a", lambda args: "ran")  # never reached: every case fails before
    return init_flow(LocalStorage(tmp_path / "tables"), dbutils=dbutils)


@pytest.mark.parametrize("path", ["a\0b", "a\nb", "x/\x07", ".", "..", "x/..", "x/."])
def test_notebook_paths_with_control_characters_or_naming_a_folder_are_refused(flow, path: str) -> None:
    with pytest.raises(FlowDefinitionError, match="Notebook path"):
        flow.notebook(path)


@pytest.mark.parametrize("file_path", ["x\0y", "raw/\nsales.csv", "/abs/x\0"])
def test_file_paths_with_control_characters_are_refused_naming_the_notebook(flow, file_path: str) -> None:
    with pytest.raises(FlowDefinitionError, match="Notebook 'a'.*control characters"):
        flow.notebook("a").input("I", file_path=file_path)
    with pytest.raises(FlowDefinitionError, match="Notebook 'a'.*control characters"):
        flow.notebook("a").output("O", file_path=file_path)
    assert flow.ctx.dbutils.notebook.calls == []


def test_storage_roots_are_checked(tmp_path: Path) -> None:
    from dtflw.storage import storage_from_url

    with pytest.raises(InvalidArgumentError, match="NUL"):
        LocalStorage("/tmp/a\0b")
    with pytest.raises(InvalidArgumentError, match="NUL"):
        storage_from_url("file:///tmp/a\0b")
    for make in (
        lambda: LocalStorage(tmp_path, root_dir=5),  # type: ignore[arg-type]
        lambda: DbfsStorage(root_dir=5, dbutils=FakeDbutils()),  # type: ignore[arg-type]
        lambda: VolumeStorage("main", "s", "v", root_dir=5, dbutils=FakeDbutils()),  # type: ignore[arg-type]
        lambda: LocalStorage(tmp_path, root_dir="a\0b"),
    ):
        with pytest.raises(InvalidArgumentError, match="root_dir"):
            make()


@pytest.mark.parametrize(
    "count, backoff",
    [(1, 1e308), (1, 86_401), (10_001, 0), (1, math.nan), (1, math.inf), (-1, 0), (True, 0)],
)
def test_retries_and_backoff_are_bounded(flow, count: Any, backoff: Any) -> None:
    with pytest.raises(FlowDefinitionError, match="Notebook 'a'"):
        flow.notebook("a").retries(count, backoff_seconds=backoff)
    flow.notebook("b").retries(10_000, backoff_seconds=86_400)  # the limits themselves are fine


@pytest.mark.parametrize(
    "cols, found",
    [
        ("not ddl !!", "'ddl !!' is not a Spark type"),
        ([("a", "notatype")], "'notatype' is not a Spark type"),
        ("a INT, A STRING", "declared twice"),
        ([("x", "array<notype>")], "not a Spark type"),
        ([("x", "map<string>")], "not a Spark type"),
    ],
)
def test_bad_columns_fail_at_declaration_naming_the_output(flow, cols: Any, found: str) -> None:
    with pytest.raises(FlowDefinitionError, match=f"Notebook 'a': output 'O' cols: .*{found}"):
        flow.notebook("a").output("O", cols=cols)
    assert flow.ctx.dbutils.notebook.calls == []


@pytest.mark.parametrize(
    "cols",
    [
        "id INT, price DECIMAL(10,2), tags ARRAY<STRING>, m MAP<STRING, BIGINT>, s STRUCT<a: INT, b: STRING>",
        [("t", "timestamp_ntz"), ("i", "INTEGER"), ("l", "long"), ("v", "varchar(10)"), ("d", "decimal(10, 2)")],
        [("n", None), ("x", "array<struct<a:int>>"), ("y", "interval day to second"), ("z", "map<string,array<int>>")],
    ],
)
def test_spark_type_names_are_accepted(flow, cols: Any) -> None:
    flow.notebook("a").output("O", cols=cols)


def test_webhook_notifier_options_are_checked() -> None:
    from dtflw.run.notify import WebhookNotifier

    for bad in ({"on": 5}, {"on": None}, {"timeout_seconds": "x"}, {"timeout_seconds": -1},
                {"timeout_seconds": math.nan}, {"timeout_seconds": 0}):  # fmt: skip
        with pytest.raises(InvalidArgumentError, match="WebhookNotifier"):
            WebhookNotifier("https://hooks.example.invalid/x", **bad)


@pytest.mark.parametrize("dbutils", [5, "dbutils", True, [1]])
def test_init_flow_refuses_a_dbutils_that_is_a_plain_value(tmp_path: Path, dbutils: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="dbutils must be"):
        init_flow(LocalStorage(tmp_path), dbutils=dbutils)


@pytest.mark.parametrize(
    "kwargs",
    [{"secrets": 5}, {"fs_root": 5}, {"job_tags": 5}, {"widgets": {"a": 5}}, {"widgets": 5}, {"secrets": {"s": 5}}],
)
def test_fake_dbutils_arguments_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidTypeError) as info:
        FakeDbutils(**kwargs)
    assert isinstance(info.value, (DtflwError, TypeError))


def test_to_job_refuses_parameters_that_are_not_dicts(flow) -> None:
    flow.notebook("a").output("A").add()
    with pytest.raises(InvalidArgumentError, match="job_parameters"):
        flow.to_job("j", job_parameters=5)


def test_force_names_itself_when_it_matches_nothing(flow) -> None:
    flow.notebook("a").output("A").add()
    with pytest.raises(FlowDefinitionError, match="^force='zzz' matches no declared notebook"):
        flow.run(force="zzz")


@pytest.mark.parametrize("root", ["brace{x}", "a}b", "{day}"])
def test_storage_roots_with_braces_are_refused_since_braces_mark_templates(tmp_path: Path, root: str) -> None:
    with pytest.raises(InvalidArgumentError, match="template"):
        LocalStorage(tmp_path / root)
    with pytest.raises(InvalidArgumentError, match="template"):
        LocalStorage(tmp_path, root_dir=root)


@pytest.mark.parametrize("file_path", ["o/{ d }", "o/{é}", "o/{0}", "o/{dd", "o/d}"])
def test_a_brace_outside_a_placeholder_is_refused(flow, file_path: str) -> None:
    with pytest.raises(FlowDefinitionError, match="brace outside"):
        flow.notebook("a").output("O", file_path=file_path)
